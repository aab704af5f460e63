//! What every request must be before any stage looks at it: one `Host` (HTTP/1.1), a head of
//! at most [`MAX_HEAD_BYTES`], a declared body of at most [`MAX_BODY_BYTES`].

use super::layer::{Handler, Visit};
use super::respond::{self, Body};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HOST};
use hyper::{Request, Response, StatusCode, Version};

/// The largest request head (request line and headers) the server reads.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: u64 = 16 * 1024;

/// Refuses what breaks the limits, and hands the rest to `inner`.
pub struct RequestLimits<H> {
    inner: H,
}

impl<H> RequestLimits<H> {
    pub fn new(inner: H) -> Self {
        Self { inner }
    }
}

impl<H: Handler> Handler for RequestLimits<H> {
    async fn handle(&self, request: Request<Incoming>, visit: Visit) -> Response<Body> {
        if let Some(problem) = host_problem(&request) {
            return respond::problem(StatusCode::BAD_REQUEST, problem);
        }
        if head_size(&request) > MAX_HEAD_BYTES {
            return respond::problem(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                &format!(
                    "Request heads are limited to {} KiB.",
                    MAX_HEAD_BYTES / 1024
                ),
            );
        }
        if declared_body_too_large(&request) {
            return respond::problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("Request bodies are limited to {MAX_BODY_BYTES} bytes."),
            );
        }
        self.inner.handle(request, visit).await
    }
}

/// The size of the request's head as it came on the wire: its request line and its header
/// lines. hyper's read buffer stops a head well beyond the limit (it grows in steps, so heads
/// up to about 112 KiB get through it); this holds the limit exactly.
fn head_size(request: &Request<Incoming>) -> usize {
    const CRLF: usize = 2;
    let uri = request.uri();
    // Measured part by part: formatting the whole URI would allocate on every request.
    let target = uri
        .scheme_str()
        .map_or(0, |scheme| scheme.len() + "://".len())
        + uri
            .authority()
            .map_or(0, |authority| authority.as_str().len())
        + uri.path_and_query().map_or(1, |path| path.as_str().len());
    let line = request.method().as_str().len() + target + "  HTTP/1.1".len() + CRLF;
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + ": ".len() + value.len() + CRLF)
        .sum();
    line + headers + CRLF
}

/// RFC 9112 §3.2: an HTTP/1.1 request carries exactly one `Host` header (a 1.0 request may
/// carry none); anything else is answered 400.
fn host_problem(request: &Request<Incoming>) -> Option<&'static str> {
    match request.headers().get_all(HOST).iter().count() {
        1 => None,
        0 if request.version() < Version::HTTP_11 => None,
        0 => Some("An HTTP/1.1 request needs a Host header."),
        _ => Some("A request may carry only one Host header."),
    }
}

fn declared_body_too_large(request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .is_some_and(|length| length > MAX_BODY_BYTES)
}
