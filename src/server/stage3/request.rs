//! Reading what a request sends to stage 3: its cookies, its query, its form.

use super::csrf;
use crate::server::request_limits::MAX_BODY_BYTES;
use crate::server::respond::{self, Body};
use cookie::Cookie;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, COOKIE, HeaderMap};
use hyper::{Request, Response, StatusCode};
use percent_encoding::percent_decode;
use std::time::Duration;

/// A submitted form, once it is whole, valid and sent from this site.
pub struct Submitted {
    form: Vec<(String, String)>,
}

impl Submitted {
    pub fn field(&self, name: &str) -> Option<String> {
        self.form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }
}

/// Reads a form POST: form-encoded (415), at most [`MAX_BODY_BYTES`] (413), whole within the
/// request deadline (408), valid (400), and sent from a page of this site (403, see [`csrf`]).
pub async fn read_form(
    deadline: Duration,
    request: Request<Incoming>,
    cookies: &[(String, String)],
) -> Result<Submitted, Response<Body>> {
    if !is_form(request.headers()) {
        return Err(respond::problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the form as application/x-www-form-urlencoded.",
        ));
    }
    let (parts, body) = request.into_parts();
    // The whole body within the deadline: a client that sends it a byte at a time must not
    // hold the connection (and a file descriptor) for ever.
    let body = Limited::new(body, MAX_BODY_BYTES as usize).collect();
    let Ok(body) = tokio::time::timeout(deadline, body).await else {
        return Err(respond::problem(
            StatusCode::REQUEST_TIMEOUT,
            "The request body did not arrive in time.",
        ));
    };
    let body = match body {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(respond::problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("Request bodies are limited to {MAX_BODY_BYTES} bytes."),
            ));
        }
        Err(_) => {
            return Err(respond::problem(
                StatusCode::BAD_REQUEST,
                "The request body was cut short.",
            ));
        }
    };
    let Ok(form) = parse_form(&body) else {
        return Err(respond::problem(
            StatusCode::BAD_REQUEST,
            "The form is not valid application/x-www-form-urlencoded UTF-8.",
        ));
    };
    let submitted = Submitted { form };
    match csrf::refusal(
        &parts.headers,
        cookies,
        submitted.field(csrf::NAME).as_deref(),
    ) {
        Some(reason) => Err(csrf::forbidden(reason)),
        None => Ok(submitted),
    }
}

/// The request's cookies as name and value, in order, read once per request. Each pair is
/// read on its own: a malformed pair, or a byte that is not ASCII elsewhere in the header,
/// never hides a good one (any client may send any `Cookie` header).
pub fn cookie_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|value| {
            String::from_utf8_lossy(value.as_bytes())
                .split(';')
                .filter_map(|pair| Cookie::parse(pair.trim().to_owned()).ok())
                .map(|cookie| (cookie.name().to_owned(), cookie.value().to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The values of the cookie `name` among `cookies`, in order.
pub fn values<'a>(cookies: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    cookies
        .iter()
        .filter(move |(cookie, _)| cookie == name)
        .map(|(_, value)| value.as_str())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A path on this site and nothing else: one leading `/`, no `//` or `\` (which browsers read
/// as another host), no control characters. Anything else would make login an open redirect.
pub fn is_local_path(target: &str) -> bool {
    target.starts_with('/')
        && !target.starts_with("//")
        && !target.contains('\\')
        && !target.chars().any(char::is_control)
}

pub fn query_param(request: &Request<Incoming>, name: &str) -> Option<String> {
    let query = request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

#[derive(Debug, PartialEq, Eq)]
pub struct InvalidForm;

/// Strict `application/x-www-form-urlencoded`: unlike a lossy decoder, text that does not
/// decode to UTF-8 is an error (400), not silently replaced.
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, InvalidForm> {
    let decode = |part: &[u8]| -> Result<String, InvalidForm> {
        let spaced: Vec<u8> = part
            .iter()
            .map(|&byte| if byte == b'+' { b' ' } else { byte })
            .collect();
        percent_decode(&spaced)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| InvalidForm)
    };
    body.split(|&byte| byte == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut halves = pair.splitn(2, |&byte| byte == b'=');
            let key = decode(halves.next().unwrap_or_default())?;
            let value = decode(halves.next().unwrap_or_default())?;
            Ok((key, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::stage3::SESSION_COOKIE;
    use hyper::header::HeaderValue;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        for good in ["/", "/a/b?c=d", "/%2F%2Fx"] {
            assert!(is_local_path(good), "{good}");
        }
        for bad in [
            "//evil.example",
            "https://evil.example/",
            "/\\evil.example",
            "evil",
            "",
            "/a\r\nSet-Cookie: x",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn forms_decode_plus_and_percent_and_refuse_invalid_utf8() {
        assert_eq!(
            parse_form(b"username=alice&password=a+b%26c&empty=&flag").unwrap(),
            vec![
                ("username".into(), "alice".into()),
                ("password".into(), "a b&c".into()),
                ("empty".into(), String::new()),
                ("flag".into(), String::new()),
            ]
        );
        assert_eq!(parse_form(b"username=%FF%FE"), Err(InvalidForm));
    }

    #[test]
    fn malformed_cookie_headers_are_skipped_not_errors() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("theme; a=b=c; =; ;;"));
        assert_eq!(
            values(&cookie_pairs(&headers), SESSION_COOKIE).collect::<Vec<_>>(),
            Vec::<String>::new()
        );
        headers.append(COOKIE, HeaderValue::from_bytes(b"sid=\xff").unwrap());
        headers.append(COOKIE, HeaderValue::from_static("x=1; sid=abc"));
        assert_eq!(
            values(&cookie_pairs(&headers), SESSION_COOKIE).collect::<Vec<_>>(),
            ["\u{fffd}", "abc"]
        );
    }

    #[test]
    fn a_byte_that_is_not_ascii_in_another_pair_does_not_hide_the_sid() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_bytes(b"name=caf\xc3\xa9; sid=abc").unwrap(),
        );
        assert_eq!(
            values(&cookie_pairs(&headers), SESSION_COOKIE).collect::<Vec<_>>(),
            ["abc"]
        );
    }
}
