//! The request handler: counts the hit (stage 1), then routes by path, method and login.

use super::pages;
use super::respond::{self, Body};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HOST};
use hyper::{Method, Request, Response, StatusCode, Version};

#[cfg(feature = "stage1")]
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "stage3")]
use super::{login, sessions::SessionTable, users::Users};
#[cfg(feature = "stage3")]
use crate::clock::Clock;
#[cfg(feature = "stage3")]
use std::sync::Arc;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: u64 = 16 * 1024;

/// Everything a request can see and change.
#[derive(Debug)]
pub struct App {
    #[cfg(feature = "stage1")]
    hits: AtomicU64,
    #[cfg(feature = "stage3")]
    pub(super) sessions: SessionTable,
    #[cfg(feature = "stage3")]
    pub(super) users: Arc<Users>,
    #[cfg(feature = "stage3")]
    pub(super) secure_cookies: bool,
    #[cfg(feature = "stage3")]
    pub(super) clock: Arc<dyn Clock>,
    #[cfg(feature = "stage2")]
    pub(super) durability: super::persistence::Durability,
    #[cfg(feature = "stage3")]
    pub(super) password_checks: login::PasswordChecks,
    #[cfg(feature = "stage3")]
    pub(super) request_deadline: std::time::Duration,
    #[cfg(feature = "stage3")]
    pub(super) failed_logins: super::throttle::FailedLogins,
    #[cfg(feature = "stage3")]
    pub(super) session_caps: super::SessionCaps,
}

impl App {
    /// The app with the state restored from the store (stage 2), or a fresh one.
    pub fn new(config: &super::Config, restored: Option<crate::store::State>) -> Self {
        #[cfg(not(feature = "stage3"))]
        let _ = config;
        let state = restored.unwrap_or_default();
        #[cfg(not(feature = "stage1"))]
        let _ = state;
        Self {
            #[cfg(feature = "stage1")]
            hits: AtomicU64::new(state.hits),
            #[cfg(feature = "stage3")]
            sessions: SessionTable::from_records(
                config.session_idle.as_secs(),
                state.sessions,
                config.clock.unix_seconds(),
            ),
            #[cfg(feature = "stage3")]
            users: Arc::new(config.users.clone()),
            #[cfg(feature = "stage3")]
            secure_cookies: config.secure_cookies,
            #[cfg(feature = "stage3")]
            clock: config.clock.clone(),
            #[cfg(feature = "stage2")]
            durability: super::persistence::Durability::default(),
            #[cfg(feature = "stage3")]
            password_checks: login::PasswordChecks::new(config.login_checks),
            #[cfg(feature = "stage3")]
            request_deadline: config.request_deadline,
            #[cfg(feature = "stage3")]
            failed_logins: super::throttle::FailedLogins::new(config.failed_logins_per_minute),
            #[cfg(feature = "stage3")]
            session_caps: config.session_caps,
        }
    }

    /// Answers `request`, which came from `peer`.
    pub async fn handle(
        &self,
        request: Request<Incoming>,
        peer: std::net::IpAddr,
    ) -> Response<Body> {
        #[cfg(not(feature = "stage3"))]
        let _ = peer;
        let hits = self.count_hit();
        if let Some(problem) = host_problem(&request) {
            return respond::problem(StatusCode::BAD_REQUEST, problem);
        }
        if head_size(&request) > super::MAX_HEAD_BYTES {
            return respond::problem(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                &format!(
                    "Request heads are limited to {} KiB.",
                    super::MAX_HEAD_BYTES / 1024
                ),
            );
        }
        if declared_body_too_large(&request) {
            return respond::problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("Request bodies are limited to {MAX_BODY_BYTES} bytes."),
            );
        }
        // Public in the stage-3 sense: no login needed.
        #[cfg(feature = "stage4")]
        if request.uri().path() == "/cookies" {
            return super::cookies::respond(&request, self.clock.as_ref());
        }
        #[cfg(feature = "stage3")]
        {
            login::route(self, request, hits, peer).await
        }
        #[cfg(not(feature = "stage3"))]
        {
            public_route(&request, hits, None)
        }
    }

    /// Counts this request and returns its number (1 for the very first), or `None` before
    /// stage 1, when nothing is counted.
    fn count_hit(&self) -> Option<u64> {
        #[cfg(feature = "stage1")]
        {
            Some(self.hits.fetch_add(1, Ordering::AcqRel) + 1)
        }
        #[cfg(not(feature = "stage1"))]
        {
            None
        }
    }
}

#[cfg(feature = "stage2")]
impl App {
    /// How far the state has moved; persistence saves when this is past what it saved last.
    pub fn version(&self) -> super::persistence::StateVersion {
        super::persistence::StateVersion {
            hits: self.hits.load(Ordering::Acquire),
            #[cfg(feature = "stage3")]
            sessions: self.sessions.changes(),
            #[cfg(not(feature = "stage3"))]
            sessions: 0,
        }
    }

    pub fn snapshot(&self) -> crate::store::State {
        crate::store::State {
            hits: self.hits.load(Ordering::Acquire),
            #[cfg(feature = "stage3")]
            sessions: self.sessions.records(),
            #[cfg(not(feature = "stage3"))]
            sessions: Vec::new(),
        }
    }

    /// Saves now and waits for the save (within a bound): for the changes a SIGKILL a moment
    /// later must not undo, a login and a logout.
    #[cfg(feature = "stage3")]
    pub async fn save_now(&self) {
        self.durability.save_now(self.version()).await;
    }

    /// Housekeeping done at every flush tick.
    pub fn purge_expired(&self) {
        #[cfg(feature = "stage3")]
        self.sessions.purge_expired(self.clock.unix_seconds());
        #[cfg(feature = "stage3")]
        self.failed_logins.purge(self.clock.unix_seconds());
    }
}

/// Who is logged in, and the token their logout form carries (stage 3).
pub struct Visitor<'a> {
    pub user: &'a str,
    pub form_token: &'a str,
}

/// The routes anyone may use: `/` and, for anything else, 404.
pub fn public_route(
    request: &Request<Incoming>,
    hits: Option<u64>,
    visitor: Option<Visitor<'_>>,
) -> Response<Body> {
    if request.uri().path() != "/" {
        return respond::not_found();
    }
    match *request.method() {
        Method::GET | Method::HEAD => respond::html(
            StatusCode::OK,
            pages::home(hits, visitor.map(|v| (v.user, v.form_token))),
        ),
        _ => respond::method_not_allowed("GET, HEAD"),
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
