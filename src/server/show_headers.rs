//! `serve --show-headers`: what the exercise asks students to look at in a browser, printed by
//! the server itself: each exchange's request line and `Cookie`, then the response's status and
//! `Set-Cookie` lines, one block per exchange, written whole so concurrent ones never mix.

use super::respond::Body;
use hyper::body::Incoming;
use hyper::header::{COOKIE, SET_COOKIE};
use hyper::{HeaderMap, Request, Response};
use std::io::Write;

/// What is shown of a request, taken before the handler consumes it.
pub struct RequestHead {
    line: String,
    cookies: Vec<String>,
}

impl RequestHead {
    pub fn of(request: &Request<Incoming>) -> Self {
        Self {
            line: format!(
                "{} {} {:?}",
                request.method(),
                request.uri(),
                request.version()
            ),
            cookies: lines(request.headers(), COOKIE),
        }
    }
}

fn lines(headers: &HeaderMap, name: hyper::header::HeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect()
}

/// The block for one exchange.
pub fn block(request: &RequestHead, response: &Response<Body>) -> String {
    let mut text = format!("→ {}\n", request.line);
    for cookie in &request.cookies {
        text.push_str(&format!("    Cookie: {cookie}\n"));
    }
    text.push_str(&format!("← {}\n", response.status()));
    for cookie in lines(response.headers(), SET_COOKIE) {
        text.push_str(&format!("    Set-Cookie: {cookie}\n"));
    }
    text
}

/// Prints `block` to stdout in one write.
pub fn print(block: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(block.as_bytes());
    let _ = stdout.flush();
}
