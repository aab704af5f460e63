//! Where stage 3 sends a browser: `303 See Other` to the login page (remembering where a GET
//! was going), and back from it to that `next`, which must be a path on this site.

use crate::server::respond::Body;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, LOCATION};
use hyper::{Method, Request, Response, StatusCode};

/// `303 See Other`: the client follows with a GET whatever method it used.
pub fn see_other(location: HeaderValue) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    response.headers_mut().insert(LOCATION, location);
    response
}

/// `303` to `/login`, remembering where a GET was going so login can return there.
pub fn to_login(request: &Request<Incoming>) -> Response<Body> {
    let wanted = request
        .uri()
        .path_and_query()
        .map_or("/", |target| target.as_str());
    let remember = matches!(*request.method(), Method::GET | Method::HEAD) && wanted != "/";
    let location = if remember {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", wanted)
            .finish();
        format!("/login?{query}")
    } else {
        "/login".to_owned()
    };
    see_other(HeaderValue::try_from(location).unwrap_or(HeaderValue::from_static("/login")))
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
