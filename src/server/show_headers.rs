//! `serve --show-headers`: what the exercise asks students to look at in a browser, printed by
//! the server itself: each exchange's request line and `Cookie`, then the response's status and
//! `Set-Cookie` lines, one block per exchange, written whole so concurrent ones never mix, by a
//! thread of its own: a terminal that stops reading (a paused pager, Ctrl-S) drops blocks
//! instead of stalling every request.

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
                request.uri().to_string().replace(char::is_control, "?"),
                request.version()
            ),
            cookies: lines(request.headers(), COOKIE),
        }
    }
}

/// Header values as a terminal may show them: control characters (which could move the
/// cursor or retitle the window) become `?`.
fn lines(headers: &HeaderMap, name: hyper::header::HeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|value| {
            String::from_utf8_lossy(value.as_bytes())
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect()
        })
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

/// Blocks waiting to be printed at most; beyond, a block is dropped.
const QUEUED: usize = 1024;

/// Where blocks go: a thread that writes them to stdout, one at a time.
#[derive(Debug, Clone)]
pub struct Printer(std::sync::mpsc::SyncSender<String>);

impl Printer {
    pub fn start() -> Self {
        let (blocks, printing) = std::sync::mpsc::sync_channel::<String>(QUEUED);
        std::thread::spawn(move || {
            for block in printing {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(block.as_bytes());
                let _ = stdout.flush();
            }
        });
        Self(blocks)
    }

    /// Queues `block`, or drops it when the terminal has fallen that far behind.
    pub fn print(&self, block: String) {
        let _ = self.0.try_send(block);
    }
}
