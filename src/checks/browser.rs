//! A small browser for the checks: real HTTP through reqwest, cookies kept by RFC 6265 rules
//! (`cookie_store`), redirects not followed so every check can look at them.

use super::Failure;
use super::page::{self, Form};
use cookie_store::CookieStore;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// How long one request may take before the check fails: from the connect to the last byte
/// of the body, so a server that sends slowly without end is bounded too.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of an answer's body the grader reads. A page of the exercise needs a few
/// kilobytes; a server that sends without end must not exhaust the grader's memory.
/// (Headers are bounded by hyper: at most 100 of them, in at most about 400 KiB.)
pub const MAX_BODY: usize = 1024 * 1024;

/// An HTTP client for the checks: no redirects, no cookies of its own, bounded waits.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(crate::patience::stretched(REQUEST_TIMEOUT))
        .connect_timeout(crate::patience::stretched(REQUEST_TIMEOUT))
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .expect("a client without TLS or proxies always builds")
}

/// The client the browsers of one run share. A restart renews it: a pooled connection (or a
/// connect still under way) to the server that was stopped must never carry a request to the
/// one that replaced it, where it would only be reset.
///
/// It also counts the requests sent through it, across renewals: on a server started fresh,
/// every one of them is a hit, so the count a page shows can be judged absolutely.
#[derive(Clone)]
pub struct SharedClient {
    client: Arc<Mutex<reqwest::Client>>,
    sent: Arc<AtomicU64>,
}

impl SharedClient {
    pub fn new() -> Self {
        Self {
            client: Arc::new(Mutex::new(http_client())),
            sent: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn current(&self) -> reqwest::Client {
        self.client
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Drops every pooled connection by replacing the client.
    pub fn renew(&self) {
        *self.client.lock().unwrap_or_else(|p| p.into_inner()) = http_client();
    }

    /// How many requests the browsers have sent through this client.
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Default for SharedClient {
    fn default() -> Self {
        Self::new()
    }
}

// Made here rather than in failure.rs: a failure knows nothing of replies, the browser both.
impl Failure {
    /// "expected X, got <the reply>": the most common failure.
    pub fn unexpected(what: &str, expected: impl Into<String>, reply: &Reply) -> Self {
        let expected = expected.into();
        Self::new(format!(
            "{what}: expected {expected}, got {}",
            reply.summary()
        ))
        .expected(expected)
        .actual(reply.describe())
    }
}

/// One answer, read whole (it is at most [`MAX_BODY`]).
#[derive(Debug, Clone)]
pub struct Reply {
    pub method: Method,
    pub url: Url,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// `303 See Other → /login`, `200 OK`: how the answer reads in a failure message.
    pub fn summary(&self) -> String {
        let status = self.status.to_string();
        match self.headers.get(LOCATION).and_then(|v| v.to_str().ok()) {
            Some(location) => format!("{status} → {location}"),
            None => status,
        }
    }

    /// The summary and, for a non-redirect, an excerpt of the page.
    pub fn describe(&self) -> String {
        if self.status.is_redirection() {
            self.summary()
        } else {
            format!("{} with {}", self.summary(), page::excerpt(&self.body))
        }
    }

    pub fn is_redirect(&self) -> bool {
        matches!(
            self.status,
            StatusCode::FOUND | StatusCode::SEE_OTHER | StatusCode::TEMPORARY_REDIRECT
        )
    }

    /// The `Location` resolved against the request, if it stays on the same server.
    pub fn location(&self) -> Option<Url> {
        let location = self.headers.get(LOCATION)?.to_str().ok()?;
        let resolved = self.url.join(location).ok()?;
        (resolved.origin() == self.url.origin()).then_some(resolved)
    }

    /// A 302, 303 or 307 whose `Location` is `path` on this server (any query).
    pub fn redirects_to(&self, path: &str) -> bool {
        self.is_redirect() && self.location().is_some_and(|url| url.path() == path)
    }

    /// The raw `Set-Cookie` lines.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A client with its own cookie jar, like one browser profile.
pub struct Browser {
    client: SharedClient,
    base: Url,
    jar: CookieStore,
}

impl Browser {
    pub fn new(client: SharedClient, base: Url) -> Self {
        Self {
            client,
            base,
            jar: CookieStore::default(),
        }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The connections it shares with the other browsers.
    pub fn client(&self) -> &SharedClient {
        &self.client
    }

    /// The `Cookie` header this browser would send to `/`, to replay it elsewhere.
    pub fn cookie_header(&self) -> Option<String> {
        cookie_header(&self.jar, &self.base)
    }

    pub async fn get(&mut self, path: &str) -> Result<Reply, Failure> {
        self.send(Method::GET, path, None, None).await
    }

    pub async fn post_form(
        &mut self,
        path: &str,
        fields: &[(String, String)],
    ) -> Result<Reply, Failure> {
        self.send(Method::POST, path, Some(fields), None).await
    }

    /// A request that carries exactly `cookie` as its `Cookie` header, whatever the jar holds.
    pub async fn with_cookie_header(
        &mut self,
        method: Method,
        path: &str,
        cookie: &str,
    ) -> Result<Reply, Failure> {
        self.send(method, path, None, Some(cookie)).await
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(String, String)]>,
        cookie_override: Option<&str>,
    ) -> Result<Reply, Failure> {
        let url = self.base.join(path).map_err(|error| {
            Failure::new(format!("internal error: {path:?} is not a path: {error}"))
        })?;
        let mut request = self.client.current().request(method.clone(), url.clone());
        match cookie_override {
            Some(cookie) => request = request.header(COOKIE, cookie),
            None => {
                if let Some(cookie) = cookie_header(&self.jar, &url) {
                    request = request.header(COOKIE, cookie);
                }
            }
        }
        // Every POST says its length, `Content-Length: 0` too, as a browser does (RFC 9110
        // §8.6): without it, some servers (Ruby's WEBrick) answer 411 and close a kept-alive
        // connection, and hyper leaves the header out of an empty body.
        if let Some(fields) = form {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish();
            request = request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .header(reqwest::header::CONTENT_LENGTH, body.len())
                .body(body);
        } else if method == Method::POST {
            request = request.header(reqwest::header::CONTENT_LENGTH, "0");
        }
        let what = format!("{method} {}", url.path());
        let response = request
            .send()
            .await
            .map_err(|error| no_answer(&what, &error))?;
        // Counted once answered: a request that never reached the server is no hit.
        self.client.sent.fetch_add(1, Ordering::Relaxed);
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = read_capped_body(response, &what).await?;
        for line in headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            // A cookie the RFC rules refuse is simply not stored, as in a browser.
            let _ = self.jar.parse(line, &url);
        }
        Ok(Reply {
            method,
            url,
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// Logs in as a browser would: loads `/login`, fills in its form (keeping any hidden
    /// fields, such as a CSRF token) and submits it. Returns the submission's answer.
    pub async fn log_in(&mut self, username: &str, password: &str) -> Result<Reply, Failure> {
        let page = self.get("/login").await?;
        let form = page::forms(&page.body)
            .into_iter()
            .find(Form::has_password_field);
        let action = form
            .as_ref()
            .and_then(|form| form.action.clone())
            .filter(|action| !action.is_empty())
            .unwrap_or_else(|| "/login".into());
        let mut fields: Vec<(String, String)> = form
            .iter()
            .flat_map(|form| &form.inputs)
            .filter(|input| input.kind == "hidden")
            .map(|input| (input.name.clone(), input.value.clone()))
            .collect();
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), password.into()));
        self.post_form(&action, &fields).await
    }
}

fn cookie_header(jar: &CookieStore, url: &Url) -> Option<String> {
    let pairs: Vec<String> = jar
        .get_request_values(url)
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    (!pairs.is_empty()).then(|| pairs.join("; "))
}

/// Reads a body of at most [`MAX_BODY`]; a longer one is a failure, and dropping the
/// response then closes the connection instead of reading the rest.
async fn read_capped_body(mut response: reqwest::Response, what: &str) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| no_answer(what, &error))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            let cap = format!("{} MiB", MAX_BODY >> 20);
            return Err(Failure::new(format!(
                "{what} sent more than {cap} of body, so the grader cut it at {cap}: a page of this exercise needs a few kilobytes, so look for a write in a loop that never ends, or a big file sent as the page"
            ))
            .expected(format!("a body of at most {cap}"))
            .actual(format!("{} with a body cut at {cap}", response.status())));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A request that got no answer: which one, and why, in words a student can act on.
fn no_answer(what: &str, error: &reqwest::Error) -> Failure {
    // reqwest's own message names only the URL; the innermost cause says what went wrong.
    let cause = std::iter::successors(Some(error as &dyn std::error::Error), |e| e.source())
        .last()
        .map(ToString::to_string)
        .unwrap_or_default();
    let message = if error.is_timeout() {
        format!(
            "{what} got no answer within {} s",
            REQUEST_TIMEOUT.as_secs()
        )
    } else if error.is_connect() {
        format!("{what} could not connect: {cause}")
    } else {
        format!("{what} got no complete answer (the connection was dropped?): {cause}")
    };
    Failure::new(message).actual("no HTTP response")
}
