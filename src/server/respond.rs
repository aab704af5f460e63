//! Building responses: one helper per kind of answer any stage may give. What only one stage
//! answers (stage 3's redirects and cookies, stage 4's plain text) is built in that stage.

use super::pages;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

pub type Body = Full<Bytes>;

pub fn html(status: StatusCode, page: String) -> Response<Body> {
    typed(status, page, "text/html; charset=utf-8")
}

/// `body` as a response of `content_type`.
pub fn typed(status: StatusCode, body: String, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Answers show per-session data: no shared cache may keep them.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub fn problem(status: StatusCode, detail: &str) -> Response<Body> {
    let title = status.canonical_reason().unwrap_or("Error");
    html(status, pages::problem(title, detail))
}

pub fn not_found() -> Response<Body> {
    problem(StatusCode::NOT_FOUND, "There is nothing at this path.")
}

pub fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("This path answers only {allow}."),
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// `response`, asking the client to try again after `seconds`.
pub fn retry_after(mut response: Response<Body>, seconds: u64) -> Response<Body> {
    response
        .headers_mut()
        .insert(hyper::header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// `503` with `Retry-After`: the store of the state could not be reached (a shared store over
/// the network; the request may simply be tried again).
pub fn store_unavailable(unavailable: &crate::store::Unavailable) -> Response<Body> {
    tracing::debug!(%unavailable, "answered 503");
    retry_after(
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server cannot reach its session store at the moment: try again in a second.",
        ),
        1,
    )
}
