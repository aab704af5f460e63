//! Stage 4: `GET /cookies` sets the exercise's two cookies — a session cookie and one that
//! expires 30 days from now — and echoes the cookies the request carried.

use super::layer::{Handler, Visit};
use super::respond::Body;
// Stage 4's feature implies stage 3's, whose `Set-Cookie` writer it shares.
use super::stage3::cookies::set_cookie;
use crate::clock::Clock;
use cookie::{Cookie, SameSite};
use hyper::body::Incoming;
use hyper::header::{COOKIE, DATE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use std::sync::Arc;
use std::time::Duration;

/// The session cookie: no Expires, no Max-Age, so it ends with the browser session.
pub const SESSION_COOKIE: (&str, &str) = ("grover", "zaq1234");
/// The persistent cookie, expiring [`PERSISTENT_LIFETIME`] after the response.
pub const PERSISTENT_COOKIE: (&str, &str) = ("cookiemonster", "dsh93373");
pub const PERSISTENT_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Answers `/cookies` (to anyone: the route is public), and hands the rest to `inner`.
pub struct CookieRoutes<H> {
    inner: H,
    clock: Arc<dyn Clock>,
}

impl<H> CookieRoutes<H> {
    pub fn new(inner: H, clock: Arc<dyn Clock>) -> Self {
        Self { inner, clock }
    }
}

impl<H: Handler> Handler for CookieRoutes<H> {
    async fn handle(&self, request: Request<Incoming>, visit: Visit) -> Response<Body> {
        if request.uri().path() == "/cookies" {
            return respond(&request, self.clock.as_ref());
        }
        self.inner.handle(request, visit).await
    }
}

fn respond(request: &Request<Incoming>, clock: &dyn Clock) -> Response<Body> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return super::respond::method_not_allowed("GET, HEAD");
    }
    // Whole seconds, so that Date, Expires and Max-Age agree exactly.
    let now = std::time::UNIX_EPOCH + Duration::from_secs(clock.unix_seconds());
    let echo: String = request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .map(|cookie| format!("{}={}\n", cookie.name(), cookie.value()))
        .collect();
    let mut response = super::respond::typed(StatusCode::OK, echo, "text/plain; charset=utf-8");
    // The clock's Date (hyper would use the system's): Expires is meant relative to it.
    if let Ok(date) = HeaderValue::try_from(httpdate::fmt_http_date(now)) {
        response.headers_mut().insert(DATE, date);
    }
    for cookie in exercise_cookies(now) {
        set_cookie(&mut response, &cookie);
    }
    response
}

/// The two cookies as set at `now`.
pub fn exercise_cookies(now: std::time::SystemTime) -> [Cookie<'static>; 2] {
    let lifetime = cookie::time::Duration::try_from(PERSISTENT_LIFETIME)
        .expect("thirty days fit in a time::Duration");
    let base = |(name, value): (&'static str, &'static str)| {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
    };
    [
        base(SESSION_COOKIE).build(),
        base(PERSISTENT_COOKIE)
            .max_age(lifetime)
            .expires(cookie::time::OffsetDateTime::from(
                now + PERSISTENT_LIFETIME,
            ))
            .build(),
    ]
}
