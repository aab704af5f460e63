//! The sites a cookie client visits while it is graded, served by the grader on 127.0.0.1:
//! the scripted cookie site, whose cookies and answers the grader chooses (so that a server
//! bug can never fail a client), and a relay to the student's own server. Both record every
//! request the client makes, with the `Cookie` header it carried.

use super::super::browser::{Browser, SharedClient};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::task::JoinSet;
use url::Url;

/// The path of the URL the client is given.
pub const START: &str = "/start";
/// The first redirect goes here: under `/private`, where [`Cookies::oscar`]'s path reaches.
pub const DOOR: &str = "/private/door";
/// The second redirect goes here, the page that sets the cookies.
pub const JAR: &str = "/jar";

/// The scripted cookies' lifetimes.
pub const COOKIEMONSTER_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);
const MAX_AGE_LIFETIME: u64 = 7 * 24 * 60 * 60;
const PRIVATE_LIFETIME: u64 = 24 * 60 * 60;

/// A cookie the scripted site sets: its name and this grading's value.
#[derive(Debug, Clone)]
pub struct Cookie {
    pub name: &'static str,
    pub value: String,
}

impl Cookie {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            value: random_value(),
        }
    }

    /// `name=value`, as a `Cookie` header carries it.
    pub fn pair(&self) -> String {
        format!("{}={}", self.name, self.value)
    }
}

/// The cookies of one grading, with values of its own: a client cannot know them in advance.
#[derive(Debug, Clone)]
pub struct Cookies {
    /// Set on the redirect from [`START`]: a session cookie the target must receive.
    pub telly: Cookie,
    /// A session cookie: no Expires, no Max-Age.
    pub grover: Cookie,
    /// Expires 30 days after the response, as an IMF-fixdate; deleted (`Max-Age=0`) in run 2.
    pub cookiemonster: Cookie,
    /// Max-Age only (7 days).
    pub bigbird: Cookie,
    /// `Path=/private`: sent to [`DOOR`], never to [`START`].
    pub oscar: Cookie,
    /// Expired when set: never stored.
    pub snuffy: Cookie,
    /// `Domain=example.com`: foreign to 127.0.0.1, never stored.
    pub ernie: Cookie,
    /// Written oddly but validly (a value with `=`, attributes in odd case and spacing, an
    /// attribute the client does not know): a hand-made parser that splits naively crashes.
    pub zoe: Cookie,
}

impl Cookies {
    fn new() -> Self {
        Self {
            telly: Cookie::new("telly"),
            grover: Cookie::new("grover"),
            cookiemonster: Cookie::new("cookiemonster"),
            bigbird: Cookie::new("bigbird"),
            oscar: Cookie::new("oscar"),
            snuffy: Cookie::new("snuffy"),
            ernie: Cookie::new("ernie"),
            zoe: Cookie {
                name: "zoe",
                value: format!("{}==", random_value()),
            },
        }
    }

    /// Every cookie the site sets, in the order it sets them.
    pub fn all(&self) -> [&Cookie; 8] {
        [
            &self.telly,
            &self.grover,
            &self.cookiemonster,
            &self.bigbird,
            &self.oscar,
            &self.snuffy,
            &self.ernie,
            &self.zoe,
        ]
    }

    /// The cookies a correct client holds after its first run.
    pub fn stored_after_first_run(&self) -> [&Cookie; 6] {
        [
            &self.telly,
            &self.grover,
            &self.cookiemonster,
            &self.bigbird,
            &self.oscar,
            &self.zoe,
        ]
    }
}

fn random_value() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// One request a client made.
#[derive(Debug, Clone)]
pub struct SiteVisit {
    /// Which run of the client made it (1 for the first).
    pub run: usize,
    pub path: String,
    /// The `Cookie` header it carried.
    pub cookie: Option<String>,
    /// The answer's status and the start of its body.
    pub status: u16,
    pub body: String,
}

impl SiteVisit {
    /// Whether the request carried `cookie` (its name and this grading's value).
    pub fn carries(&self, cookie: &Cookie) -> bool {
        self.pairs().any(|pair| pair == cookie.pair())
    }

    /// Whether the request carried a cookie named `name`, whatever its value.
    pub fn carries_name(&self, name: &str) -> bool {
        self.pairs()
            .any(|pair| pair.split('=').next().map(str::trim) == Some(name))
    }

    fn pairs(&self) -> impl Iterator<Item = &str> {
        self.cookie
            .as_deref()
            .unwrap_or_default()
            .split(';')
            .map(str::trim)
    }

    /// `GET /jar with Cookie: a=1; b=2 (200)`, for messages.
    pub fn describe(&self) -> String {
        match &self.cookie {
            Some(cookie) => format!(
                "GET {} with `Cookie: {cookie}` ({})",
                self.path, self.status
            ),
            None => format!(
                "GET {} without a Cookie header ({})",
                self.path, self.status
            ),
        }
    }
}

/// What a site answers.
enum Behaviour {
    Scripted(Cookies),
    /// Forwards every request to the server at this base URL.
    Relay(Browser),
}

struct State {
    visits: Vec<SiteVisit>,
    /// Per run, the visits beyond [`MAX_VISITS_PER_RUN`]: counted, not kept.
    uncounted: std::collections::HashMap<usize, usize>,
    /// When the first run's cookiemonster expires, as the site wrote it.
    cookiemonster_expires: Option<SystemTime>,
}

/// The visits kept per run: a client makes a handful; one that floods the site must not fill
/// the grader's memory or its report.
const MAX_VISITS_PER_RUN: usize = 100;
/// The bytes of a `Cookie` header a visit keeps.
const MAX_COOKIE_KEPT: usize = 4096;

/// A site on 127.0.0.1 that records every visit; stopped when dropped. Each run of the client
/// gets a port of its own (cookies do not depend on the port), so a request that a process of
/// an earlier run makes late is counted in the run it belongs to.
pub struct Site {
    state: Arc<Mutex<State>>,
    behaviour: Arc<Behaviour>,
    cookies: Option<Cookies>,
    serving: Vec<tokio::task::JoinHandle<()>>,
}

impl Site {
    /// The scripted cookie site, with cookie values of its own.
    pub fn scripted() -> Self {
        let cookies = Cookies::new();
        Self::new(Behaviour::Scripted(cookies.clone()), Some(cookies))
    }

    /// A relay to the server at `server` (the student's).
    pub fn relay(client: SharedClient, server: Url) -> Self {
        Self::new(Behaviour::Relay(Browser::new(client, server)), None)
    }

    fn new(behaviour: Behaviour, cookies: Option<Cookies>) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                visits: Vec::new(),
                uncounted: std::collections::HashMap::new(),
                cookiemonster_expires: None,
            })),
            behaviour: Arc::new(behaviour),
            cookies,
            serving: Vec::new(),
        }
    }

    /// Opens run `run` on a port of its own and returns the URL of `path` there.
    pub async fn open_run(&mut self, run: usize, path: &str) -> std::io::Result<Url> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (state, behaviour) = (self.state.clone(), self.behaviour.clone());
        self.serving.push(tokio::spawn(async move {
            // Dropped with this task when the site stops: every connection ends with it.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let (state, behaviour) = (state.clone(), behaviour.clone());
                let service = hyper::service::service_fn(move |request| {
                    let (state, behaviour) = (state.clone(), behaviour.clone());
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            answer(&behaviour, &state, run, addr, request).await,
                        )
                    }
                });
                connections.spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
                while connections.try_join_next().is_some() {}
            }
        }));
        Ok(Url::parse(&format!("http://{addr}{path}")).expect("a loopback URL"))
    }

    /// The scripted site's cookies (none for a relay).
    pub fn cookies(&self) -> Option<&Cookies> {
        self.cookies.as_ref()
    }

    /// The requests run `run` made, in order (the first [`MAX_VISITS_PER_RUN`]), and how many
    /// more it made.
    pub fn visits(&self, run: usize) -> (Vec<SiteVisit>, usize) {
        let state = lock(&self.state);
        let visits = state
            .visits
            .iter()
            .filter(|visit| visit.run == run)
            .cloned()
            .collect();
        (visits, state.uncounted.get(&run).copied().unwrap_or(0))
    }

    /// When cookiemonster expires, as the site set it in the first run.
    pub fn cookiemonster_expires(&self) -> Option<SystemTime> {
        lock(&self.state).cookiemonster_expires
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        for serving in &self.serving {
            serving.abort();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How much of an answer's body a visit keeps.
const BODY_KEPT: usize = 4096;

async fn answer(
    behaviour: &Behaviour,
    state: &Mutex<State>,
    run: usize,
    addr: SocketAddr,
    request: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), ToString::to_string);
    let cookie = request
        .headers()
        .get_all(COOKIE)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .reduce(|all, more| format!("{all}; {more}"));
    let response = match behaviour {
        Behaviour::Scripted(cookies) => scripted(cookies, state, run, request.uri().path()),
        Behaviour::Relay(browser) => relay(browser, addr, &path, cookie.as_deref()).await,
    };
    let body = response.body().clone();
    let mut body = http_body_util::BodyExt::collect(body)
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    body.truncate(BODY_KEPT);
    let mut state = lock(state);
    let kept = state.visits.iter().filter(|visit| visit.run == run).count();
    if kept >= MAX_VISITS_PER_RUN {
        *state.uncounted.entry(run).or_default() += 1;
    } else {
        state.visits.push(SiteVisit {
            run,
            path: crate::text::cut(path, MAX_COOKIE_KEPT),
            cookie: cookie.map(|cookie| crate::text::cut(cookie, MAX_COOKIE_KEPT)),
            status: response.status().as_u16(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    drop(state);
    response
}

/// The scripted site: [`START`] redirects to [`DOOR`] (setting telly), which redirects to
/// [`JAR`]; in the first run `JAR` sets every other cookie, in the second it deletes
/// cookiemonster, later it sets nothing.
fn scripted(
    cookies: &Cookies,
    state: &Mutex<State>,
    run: usize,
    path: &str,
) -> Response<Full<Bytes>> {
    let redirect = |to: &str, set: Vec<String>| {
        let mut response = Response::builder()
            .status(StatusCode::FOUND)
            .header(LOCATION, to);
        for line in set {
            response = response.header(SET_COOKIE, line);
        }
        response.body(Full::default()).expect("a valid response")
    };
    match path {
        START => redirect(DOOR, vec![format!("{}; Path=/", cookies.telly.pair())]),
        DOOR => redirect(JAR, Vec::new()),
        JAR => {
            let set = match run {
                1 => {
                    let expires = SystemTime::now() + COOKIEMONSTER_LIFETIME;
                    lock(state).cookiemonster_expires = Some(expires);
                    vec![
                        format!("{}; Path=/", cookies.grover.pair()),
                        format!(
                            "{}; Expires={}; Path=/",
                            cookies.cookiemonster.pair(),
                            httpdate::fmt_http_date(expires)
                        ),
                        format!(
                            "{}; Max-Age={MAX_AGE_LIFETIME}; Path=/",
                            cookies.bigbird.pair()
                        ),
                        format!(
                            "{}; Path=/private; Max-Age={PRIVATE_LIFETIME}",
                            cookies.oscar.pair()
                        ),
                        format!(
                            "{}; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Path=/",
                            cookies.snuffy.pair()
                        ),
                        format!(
                            "{}; Domain=example.com; Path=/; Max-Age={PRIVATE_LIFETIME}",
                            cookies.ernie.pair()
                        ),
                        format!(
                            "{};path=/;  MAX-AGE={PRIVATE_LIFETIME} ;Priority=High;SameSite=Lax",
                            cookies.zoe.pair()
                        ),
                    ]
                }
                2 => vec![format!(
                    "{}=; Max-Age=0; Path=/",
                    cookies.cookiemonster.name
                )],
                _ => Vec::new(),
            };
            let mut response = Response::builder()
                .status(StatusCode::OK)
                .header(CONTENT_TYPE, "text/plain; charset=utf-8");
            for line in set {
                response = response.header(SET_COOKIE, line);
            }
            response
                .body(Full::from("Cookies are set here.\n"))
                .expect("a valid response")
        }
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Full::from(format!(
                "Nothing at {path}: fetch the URL you were given.\n"
            )))
            .expect("a valid response"),
    }
}

/// Forwards a GET to the server, with exactly the client's `Cookie` header, and hands back
/// its status, cookies, redirect (pointed at the relay when it named the server) and body.
async fn relay(
    server: &Browser,
    addr: SocketAddr,
    path: &str,
    cookie: Option<&str>,
) -> Response<Full<Bytes>> {
    // A browser of its own per request: its jar must add nothing to what the client sent.
    let mut browser = Browser::new(server.client().clone(), server.base().clone());
    let reply = match cookie {
        Some(cookie) => {
            browser
                .with_cookie_header(reqwest::Method::GET, path, cookie)
                .await
        }
        None => browser.get(path).await,
    };
    let reply = match reply {
        Ok(reply) => reply,
        Err(failure) => {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .header(CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(Full::from(format!(
                    "The server under test did not answer: {}\n",
                    failure.message
                )))
                .expect("a valid response");
        }
    };
    let mut response = Response::builder().status(reply.status.as_u16());
    for line in reply.set_cookies() {
        response = response.header(SET_COOKIE, line);
    }
    if let Some(location) = reply.location() {
        let mut location = location;
        if location.origin() == server.base().origin() {
            let _ = location.set_port(Some(addr.port()));
        }
        response = response.header(LOCATION, location.as_str());
    }
    if let Some(content_type) = reply.header("content-type") {
        response = response.header(CONTENT_TYPE, content_type);
    }
    response
        .body(Full::from(reply.body))
        .unwrap_or_else(|_| Response::new(Full::default()))
}
