//! Stage 3: form login. Anonymous visitors are sent to `/login`; a right password creates a
//! session and sets the `sid` cookie; `POST /logout` ends the session on the server. The
//! sessions live in the injected [`SessionStore`]; this stage owns the routes, the cookie and
//! the defences around them (CSRF, throttled failures, bounded password checks).

pub(super) mod cookies;
mod csrf;
mod form;
mod pages;
mod password_checks;
mod redirect;
mod throttle;

use super::layer::{Handler, Visit, Visitor};
use super::respond::{self, Body};
use super::users::Users;
use crate::clock::Clock;
use crate::store::{CreateError, SessionStore};
use cookie::{Cookie, SameSite};
use cookies::{cookie_pairs, set_cookie, values};
use form::{Submitted, read_form};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use password_checks::PasswordChecks;
use redirect::{is_local_path, query_param, see_other};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use throttle::FailedLogins;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "sid";

const WRONG_CREDENTIALS: &str = "Wrong username or password.";

/// Answers `/login` and `/logout`, and lets through to `inner` only visitors who are logged in
/// (with [`Visit::visitor`] set); the others are sent to the login page.
pub struct LoginGate<H> {
    inner: H,
    sessions: Arc<dyn SessionStore>,
    users: Arc<Users>,
    secure_cookies: bool,
    clock: Arc<dyn Clock>,
    password_checks: PasswordChecks,
    request_deadline: Duration,
    failed_logins: FailedLogins,
}

impl<H> LoginGate<H> {
    pub fn new(inner: H, sessions: Arc<dyn SessionStore>, config: &super::Config) -> Self {
        Self {
            inner,
            sessions,
            users: Arc::new(config.users.clone()),
            secure_cookies: config.secure_cookies,
            clock: config.clock.clone(),
            password_checks: PasswordChecks::new(config.login_checks),
            request_deadline: config.request_deadline,
            failed_logins: FailedLogins::new(config.failed_logins_per_minute),
        }
    }
}

impl<H: Handler> Handler for LoginGate<H> {
    async fn handle(&self, request: Request<Incoming>, mut visit: Visit) -> Response<Body> {
        let path = request.uri().path();
        let cookies = cookie_pairs(request.headers());
        if path == "/login" {
            return match *request.method() {
                Method::GET | Method::HEAD => {
                    let next = query_param(&request, "next");
                    let next = next.as_deref().filter(|next| is_local_path(next));
                    let Ok(token) = csrf::FormToken::for_cookies(&cookies) else {
                        return no_randomness();
                    };
                    let mut page =
                        respond::html(StatusCode::OK, pages::login(next, None, &token.value));
                    token.set_on(&mut page, self.secure_cookies);
                    page
                }
                Method::POST => self.log_in(request, &cookies, visit.peer).await,
                _ => respond::method_not_allowed("GET, HEAD, POST"),
            };
        }
        // The first `sid` that names a live session: a stale or planted one before it (another
        // path's cookie, a leftover) must not hide it.
        let ids: Vec<&str> = values(&cookies, SESSION_COOKIE).collect();
        let session = if ids.is_empty() {
            None
        } else {
            match self.sessions.find(&ids, self.clock.unix_seconds()).await {
                Ok(session) => session,
                Err(unavailable) => return respond::store_unavailable(&unavailable),
            }
        };
        let Some(session) = session else {
            return redirect::to_login(&request);
        };
        match (path, request.method()) {
            ("/logout", &Method::POST) => match self.form_from_this_site(request, &cookies).await {
                Ok(_) => self.log_out(&session.id).await,
                Err(refused) => refused,
            },
            ("/logout", _) => respond::method_not_allowed("POST"),
            _ => {
                let Ok(token) = csrf::FormToken::for_cookies(&cookies) else {
                    return no_randomness();
                };
                visit.visitor = Some(Visitor {
                    user: session.user,
                    form_token: token.value.clone(),
                });
                let mut page = self.inner.handle(request, visit).await;
                token.set_on(&mut page, self.secure_cookies);
                page
            }
        }
    }
}

impl<H> LoginGate<H> {
    /// Reads a form POST (see [`read_form`]) and refuses it (403) unless it was sent from a
    /// page of this site: checked here, after the form is whole, since the token is a field.
    async fn form_from_this_site(
        &self,
        request: Request<Incoming>,
        cookies: &[(String, String)],
    ) -> Result<Submitted, Response<Body>> {
        let (head, body) = request.into_parts();
        let submitted = read_form(self.request_deadline, &head.headers, body).await?;
        match csrf::refusal(
            &head.headers,
            cookies,
            submitted.field(csrf::NAME).as_deref(),
        ) {
            Some(reason) => Err(csrf::forbidden(reason)),
            None => Ok(submitted),
        }
    }

    async fn log_in(
        &self,
        request: Request<Incoming>,
        cookies: &[(String, String)],
        peer: IpAddr,
    ) -> Response<Body> {
        let submitted = match self.form_from_this_site(request, cookies).await {
            Ok(submitted) => submitted,
            Err(refused) => return refused,
        };
        let field = |name: &str| submitted.field(name);
        // Valid: `form_from_this_site` compared it with the cookie.
        let token = field(csrf::NAME).unwrap_or_default();
        let (Some(username), Some(password)) = (field("username"), field("password")) else {
            return respond::problem(
                StatusCode::BAD_REQUEST,
                "The login form needs the fields username and password.",
            );
        };
        let next = field("next").filter(|next| is_local_path(next));
        // The login page again, saying why.
        let again = |status, message: &str| {
            respond::html(status, pages::login(next.as_deref(), Some(message), &token))
        };
        if let Some(wait) = self
            .failed_logins
            .wait(peer, &username, self.clock.unix_seconds())
        {
            let message = format!(
                "Too many failed logins as {username} from your address: try again in {wait} s."
            );
            return respond::retry_after(again(StatusCode::TOO_MANY_REQUESTS, &message), wait);
        }

        let users = self.users.clone();
        let user = username.clone();
        let Some(accepted) = self
            .password_checks
            .run(move || users.verify(&user, &password))
            .await
        else {
            return respond::retry_after(again(StatusCode::SERVICE_UNAVAILABLE, BUSY), 1);
        };
        if !accepted {
            self.failed_logins
                .record(peer, &username, self.clock.unix_seconds());
            return again(StatusCode::UNAUTHORIZED, WRONG_CREDENTIALS);
        }

        // A fresh id at every login: a session id planted before login is worth nothing after
        // it. The store keeps the new session durably before it answers: the session the
        // browser is about to hold survives a crash.
        let previous: Vec<&str> = values(cookies, SESSION_COOKIE).collect();
        let id = match self
            .sessions
            .create(&username, &previous, self.clock.unix_seconds())
            .await
        {
            Ok(id) => id,
            Err(CreateError::Random(_)) => return no_randomness(),
            Err(CreateError::Full) => {
                return respond::retry_after(again(StatusCode::SERVICE_UNAVAILABLE, FULL), 60);
            }
            Err(CreateError::Unavailable(unavailable)) => {
                return respond::store_unavailable(&unavailable);
            }
        };
        let location = next
            .and_then(|next| HeaderValue::try_from(next).ok())
            .unwrap_or(HeaderValue::from_static("/"));
        let mut response = see_other(location);
        set_cookie(&mut response, &session_set_cookie(&id, self.secure_cookies));
        response
    }

    /// Ends the session, durably before the answer: a crash a moment later must not bring it
    /// back.
    async fn log_out(&self, session_id: &str) -> Response<Body> {
        if let Err(unavailable) = self.sessions.remove(&[session_id]).await {
            return respond::store_unavailable(&unavailable);
        }
        let mut response = see_other(HeaderValue::from_static("/login"));
        let mut expired = session_set_cookie("", self.secure_cookies);
        expired.set_max_age(cookie::time::Duration::ZERO);
        set_cookie(&mut response, &expired);
        response
    }
}

/// The session cookie: HttpOnly, SameSite=Lax, whole site, Secure when served over TLS.
pub fn session_set_cookie(id: &str, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, id.to_owned()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
        .build()
}

fn no_randomness() -> Response<Body> {
    respond::problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "The operating system's random source failed; try again.",
    )
}

/// What the login page says when the server holds as many sessions as it may.
const FULL: &str = "The server holds as many sessions as it may: try again later.";

/// What the login page says when too many logins are being checked already.
const BUSY: &str = "The server is checking many logins at the moment: try again in a second.";
