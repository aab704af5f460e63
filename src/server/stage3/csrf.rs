//! Stage 3, defended: cross-site request forgery. The login and logout forms carry a token
//! that must equal the `csrf` cookie (a double submit: the cookie is `SameSite=Strict`, so a
//! POST another site makes carries none), and a POST whose `Origin` is not this server is
//! refused either way. Without this, a page elsewhere could log a visitor in as the attacker,
//! or log them out.

use crate::server::respond::Body;
use cookie::{Cookie, SameSite};
use hyper::header::{HOST, HeaderMap, ORIGIN};
use hyper::{Response, StatusCode};
use subtle::ConstantTimeEq;

/// The cookie and the form field that carry the token.
pub const NAME: &str = "csrf";

/// The token a response's forms carry: the request's own, or a fresh one the response sets.
pub struct FormToken {
    pub value: String,
    is_new: bool,
}

impl FormToken {
    /// The token of the request's `csrf` cookie (among its `cookies`), or a fresh one from
    /// the OS random source.
    pub fn for_cookies(cookies: &[(String, String)]) -> Result<Self, getrandom::Error> {
        if let Some(value) = tokens(cookies).next() {
            return Ok(Self {
                value: value.to_owned(),
                is_new: false,
            });
        }
        Ok(Self {
            value: crate::store::session_table::new_session_id()?,
            is_new: true,
        })
    }

    /// Sets the cookie on `response` when the token is new.
    pub fn set_on(&self, response: &mut Response<Body>, secure: bool) {
        if !self.is_new {
            return;
        }
        let cookie = Cookie::build((NAME, self.value.clone()))
            .http_only(true)
            .same_site(SameSite::Strict)
            .path("/")
            .secure(secure)
            .build();
        super::cookies::set_cookie(response, &cookie);
    }
}

/// Every `csrf` cookie among `cookies`: one planted for a narrower path (cookies ignore
/// ports, so a page on another port of the host can set one) comes first, and must not make
/// the site's own form fail.
fn tokens(cookies: &[(String, String)]) -> impl Iterator<Item = &str> {
    super::cookies::values(cookies, NAME).filter(|token| !token.is_empty())
}

/// Why a form POST is refused, if it is: an `Origin` that is not this server, or a token that
/// is missing or does not match a `csrf` cookie among `cookies` (compared in constant time).
pub fn refusal(
    headers: &HeaderMap,
    cookies: &[(String, String)],
    submitted: Option<&str>,
) -> Option<&'static str> {
    if let Some(origin) = headers.get(ORIGIN) {
        let host = headers.get(HOST).and_then(|host| host.to_str().ok());
        let same = origin.to_str().ok().is_some_and(|origin| {
            host.is_some_and(|host| {
                origin == format!("http://{host}") || origin == format!("https://{host}")
            })
        });
        if !same {
            return Some(
                "This form was sent from another site (its Origin is not this server), so it was refused.",
            );
        }
    }
    let matches = submitted.is_some_and(|submitted| {
        tokens(cookies).any(|cookie| bool::from(cookie.as_bytes().ct_eq(submitted.as_bytes())))
    });
    (!matches).then_some(
        "This form's security token is missing or out of date (it must come from a page of this site): load the page again and send the form from there.",
    )
}

/// The 403 answer for a refused form.
pub fn forbidden(reason: &str) -> Response<Body> {
    crate::server::respond::problem(StatusCode::FORBIDDEN, reason)
}

#[cfg(test)]
mod tests {
    use super::super::cookies::cookie_pairs;
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn a_form_passes_only_with_its_cookie_and_from_this_origin() {
        let ok = headers(&[("host", "127.0.0.1:8080"), ("cookie", "csrf=abc")]);
        assert_eq!(refusal(&ok, &cookie_pairs(&ok), Some("abc")), None);
        assert!(
            refusal(&ok, &cookie_pairs(&ok), Some("abd")).is_some(),
            "another token"
        );
        assert!(refusal(&ok, &cookie_pairs(&ok), None).is_some(), "no token");
        let no_cookie = headers(&[("host", "127.0.0.1:8080")]);
        assert!(refusal(&no_cookie, &cookie_pairs(&no_cookie), Some("abc")).is_some());
        let same_origin = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("cookie", "csrf=abc"),
        ]);
        assert_eq!(
            refusal(&same_origin, &cookie_pairs(&same_origin), Some("abc")),
            None
        );
        let other_port = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:9090"),
            ("cookie", "csrf=abc"),
        ]);
        assert!(
            refusal(&other_port, &cookie_pairs(&other_port), Some("abc")).is_some(),
            "same site, other origin"
        );
        let null = headers(&[("host", "h"), ("origin", "null"), ("cookie", "csrf=abc")]);
        assert!(refusal(&null, &cookie_pairs(&null), Some("abc")).is_some());
        let planted_first = headers(&[("host", "h"), ("cookie", "csrf=evil; csrf=abc")]);
        assert_eq!(
            refusal(&planted_first, &cookie_pairs(&planted_first), Some("abc")),
            None,
            "a planted cookie blocks nothing"
        );
    }
}
