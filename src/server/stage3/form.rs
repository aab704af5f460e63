//! The forms stage 3 is sent (login, logout): a POST body read whole, bounded in size and
//! time, and decoded strictly as `application/x-www-form-urlencoded` UTF-8. Whether a form
//! came from a page of this site is not this file's to say: the login gate asks [`super::csrf`].

use crate::server::request_limits::MAX_BODY_BYTES;
use crate::server::respond::{self, Body};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap};
use hyper::{Response, StatusCode};
use percent_encoding::percent_decode;
use std::time::Duration;

/// A submitted form, once it is whole and valid.
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

/// Reads the `body` of a form POST whose head has `headers`: form-encoded (415), at most
/// [`MAX_BODY_BYTES`] (413), whole within the request deadline (408), valid (400).
pub async fn read_form(
    deadline: Duration,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<Submitted, Response<Body>> {
    if !is_form(headers) {
        return Err(respond::problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the form as application/x-www-form-urlencoded.",
        ));
    }
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
    match parse_form(&body) {
        Ok(form) => Ok(Submitted { form }),
        Err(InvalidForm) => Err(respond::problem(
            StatusCode::BAD_REQUEST,
            "The form is not valid application/x-www-form-urlencoded UTF-8.",
        )),
    }
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
}
