//! The cookies of stage 3 on the wire: those a request's `Cookie` headers carry, read pair by
//! pair, and the `Set-Cookie` lines its answers (and stage 4's) add.

use crate::server::respond::Body;
use cookie::Cookie;
use hyper::Response;
use hyper::header::{COOKIE, HeaderMap, HeaderValue, SET_COOKIE};

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

/// Adds `cookie` to `response` as a `Set-Cookie` line.
pub fn set_cookie(response: &mut Response<Body>, cookie: &Cookie<'_>) {
    if let Ok(value) = HeaderValue::try_from(cookie.to_string()) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::stage3::SESSION_COOKIE;

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
