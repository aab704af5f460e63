//! Stage 3: form login. Anonymous visitors are sent to `/login`; a right password creates a
//! session and sets the `sid` cookie; `POST /logout` ends the session on the server.

use super::app::{App, MAX_BODY_BYTES, Visitor, public_route};
use super::csrf;
use super::pages;
use super::respond::{self, Body};
use cookie::{Cookie, SameSite};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, COOKIE, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "sid";

const WRONG_CREDENTIALS: &str = "Wrong username or password.";

pub async fn route(
    app: &App,
    request: Request<Incoming>,
    hits: Option<u64>,
    peer: std::net::IpAddr,
) -> Response<Body> {
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
                token.set_on(&mut page, app.secure_cookies);
                page
            }
            Method::POST => log_in(app, request, &cookies, peer).await,
            _ => respond::method_not_allowed("GET, HEAD, POST"),
        };
    }
    let now = app.clock.unix_seconds();
    // The first `sid` that names a live session: a stale or planted one before it (another
    // path's cookie, a leftover) must not hide it.
    let session = values(&cookies, SESSION_COOKIE)
        .find_map(|id| app.sessions.user(id, now).map(|user| (id.to_owned(), user)));
    let Some((session_id, user)) = session else {
        return redirect_to_login(&request);
    };
    match (path, request.method()) {
        ("/logout", &Method::POST) => match read_form(app, request, &cookies).await {
            Ok(_) => log_out(app, &session_id).await,
            Err(refused) => refused,
        },
        ("/logout", _) => respond::method_not_allowed("POST"),
        _ => {
            let Ok(token) = csrf::FormToken::for_cookies(&cookies) else {
                return no_randomness();
            };
            let visitor = Visitor {
                user: &user,
                form_token: &token.value,
            };
            let mut page = public_route(&request, hits, Some(visitor));
            token.set_on(&mut page, app.secure_cookies);
            page
        }
    }
}

/// `303` to `/login`, remembering where a GET was going so login can return there.
fn redirect_to_login(request: &Request<Incoming>) -> Response<Body> {
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
    respond::see_other(
        HeaderValue::try_from(location).unwrap_or(HeaderValue::from_static("/login")),
    )
}

/// A submitted form, once it is whole, valid and sent from this site.
struct Submitted {
    form: Vec<(String, String)>,
}

impl Submitted {
    fn field(&self, name: &str) -> Option<String> {
        self.form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }
}

/// Reads a form POST: form-encoded (415), at most [`MAX_BODY_BYTES`] (413), whole within the
/// request deadline (408), valid (400), and sent from a page of this site (403, see [`csrf`]).
async fn read_form(
    app: &App,
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
    let Ok(body) = tokio::time::timeout(app.request_deadline, body).await else {
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

async fn log_in(
    app: &App,
    request: Request<Incoming>,
    cookies: &[(String, String)],
    peer: std::net::IpAddr,
) -> Response<Body> {
    let submitted = match read_form(app, request, cookies).await {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
    let field = |name: &str| submitted.field(name);
    // Valid: read_form compared it with the cookie.
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
    if let Some(wait) = app
        .failed_logins
        .wait(peer, &username, app.clock.unix_seconds())
    {
        let message = format!(
            "Too many failed logins as {username} from your address: try again in {wait} s."
        );
        return respond::retry_after(again(StatusCode::TOO_MANY_REQUESTS, &message), wait);
    }

    let users = app.users.clone();
    let user = username.clone();
    let Some(accepted) = app
        .password_checks
        .run(move || users.verify(&user, &password))
        .await
    else {
        return respond::retry_after(again(StatusCode::SERVICE_UNAVAILABLE, BUSY), 1);
    };
    if !accepted {
        app.failed_logins
            .record(peer, &username, app.clock.unix_seconds());
        return again(StatusCode::UNAUTHORIZED, WRONG_CREDENTIALS);
    }

    // A fresh id at every login: a session id planted before login is worth nothing after it.
    for previous in values(cookies, SESSION_COOKIE) {
        app.sessions.remove(previous);
    }
    let id = match app
        .sessions
        .create(&username, app.clock.unix_seconds(), app.session_caps)
    {
        Ok(id) => id,
        Err(super::sessions::CreateError::Random(_)) => return no_randomness(),
        Err(super::sessions::CreateError::Full) => {
            return respond::retry_after(again(StatusCode::SERVICE_UNAVAILABLE, FULL), 60);
        }
    };
    // Saved before the answer: the session the browser is about to hold survives a crash.
    app.save_now().await;
    let location = next
        .and_then(|next| HeaderValue::try_from(next).ok())
        .unwrap_or(HeaderValue::from_static("/"));
    let mut response = respond::see_other(location);
    respond::set_cookie(&mut response, &session_set_cookie(&id, app.secure_cookies));
    response
}

async fn log_out(app: &App, session_id: &str) -> Response<Body> {
    app.sessions.remove(session_id);
    // Saved before the answer: a crash a moment later must not bring the session back.
    app.save_now().await;
    let mut response = respond::see_other(HeaderValue::from_static("/login"));
    let mut expired = session_set_cookie("", app.secure_cookies);
    expired.set_max_age(cookie::time::Duration::ZERO);
    respond::set_cookie(&mut response, &expired);
    response
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

/// The password checks of the server: argon2 takes 19 MiB and tens of milliseconds each, so
/// they run one per core on the blocking pool, a few more logins wait their turn, and a login
/// beyond that is turned away at once instead of piling up memory and latency.
#[derive(Debug)]
pub struct PasswordChecks {
    running: std::sync::Arc<tokio::sync::Semaphore>,
    /// Logins holding or waiting for a permit.
    admitted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    limit: usize,
}

impl PasswordChecks {
    pub fn new(checks: super::LoginChecks) -> Self {
        let at_once = checks.at_once.max(1);
        Self {
            running: std::sync::Arc::new(tokio::sync::Semaphore::new(at_once)),
            admitted: std::sync::Arc::default(),
            limit: at_once + checks.waiting,
        }
    }

    /// Runs `check` on the blocking pool when its turn comes; `None` when too many logins are
    /// ahead of it. The place and the permit go with the check: a client that hangs up does
    /// not free them while its check still runs (it would let checks pile up unbounded).
    async fn run(&self, check: impl FnOnce() -> bool + Send + 'static) -> Option<bool> {
        let admitted = Admitted::enter(self.admitted.clone(), self.limit)?;
        let permit = self.running.clone().acquire_owned().await.ok()?;
        let checked = tokio::task::spawn_blocking(move || {
            let _held = (admitted, permit);
            check()
        });
        Some(checked.await.unwrap_or(false))
    }
}

/// A login counted as holding or waiting for a check, until dropped.
struct Admitted(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Admitted {
    fn enter(count: std::sync::Arc<std::sync::atomic::AtomicUsize>, limit: usize) -> Option<Self> {
        use std::sync::atomic::Ordering;
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |admitted| {
                (admitted < limit).then_some(admitted + 1)
            })
            .ok()?;
        Some(Self(count))
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
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

fn query_param(request: &Request<Incoming>, name: &str) -> Option<String> {
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
