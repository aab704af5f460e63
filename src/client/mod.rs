//! `session-lab cookies`: a client that shows every cookie a site sets and keeps a jar.
//!
//! Redirects are followed here, one hop at a time, so that the cookies of every hop are seen
//! and each request carries exactly what the RFC 6265 store ([`cookie_store`]) says it should.
//! The jar on disk is a Netscape `cookies.txt` ([`netscape`]).

pub mod netscape;
pub mod render;

use cookie_store::{CookieDomain, CookieExpiration, CookieStore};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};
use url::Url;

/// How many redirects one visit follows before it gives up.
pub const MAX_REDIRECTS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    #[error("GET {url} failed: {cause}")]
    Request { url: Url, cause: String },
    #[error("{url} redirected more than {MAX_REDIRECTS} times; stopped there")]
    TooManyRedirects { url: Url },
    #[error(transparent)]
    Jar(#[from] netscape::JarError),
}

/// How a run prints what it saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CookiesFormat {
    /// A block per request, a row per cookie: for people.
    Table,
    /// Every hop and cookie as JSON: for scripts.
    Json,
}

/// What one run of the client does, as `session-lab cookies` and the grader's reference
/// client both run it.
#[derive(Debug, Clone)]
pub struct RunOptions<'a> {
    /// Where the jar is loaded from first and saved to at the end; none keeps no jar.
    pub jar: Option<&'a Path>,
    /// Save session cookies too (with expiry 0, as curl does).
    pub keep_session_cookies: bool,
    pub format: CookiesFormat,
    /// Host names mapped to addresses inside the client.
    pub resolve: &'a [(String, SocketAddr)],
}

/// What a run printed, and the visits that failed (the others still count).
#[derive(Debug)]
pub struct RunOutcome {
    pub output: String,
    pub errors: Vec<ClientError>,
}

/// Loads the jar, GETs each of `urls` in order with one cookie store, renders every hop, and
/// saves the jar. A visit that fails is recorded and the others still run; a jar that cannot be
/// read or written ends the run.
pub async fn run(urls: &[Url], options: &RunOptions<'_>) -> Result<RunOutcome, ClientError> {
    let jar = match options.jar {
        Some(path) => netscape::load(path)?,
        None => CookieStore::default(),
    };
    let mut client = CookieClient::new(jar, options.resolve)?;
    let mut hops = Vec::new();
    let mut errors = Vec::new();
    for url in urls {
        match client.visit(url.clone()).await {
            Ok(visit) => hops.extend(visit),
            Err(error) => errors.push(error),
        }
    }
    let output = match options.format {
        CookiesFormat::Table => render::table(&hops, SystemTime::now()),
        CookiesFormat::Json => render::json(&hops),
    };
    if let Some(path) = options.jar {
        netscape::save(path, client.jar(), options.keep_session_cookies)?;
    }
    Ok(RunOutcome { output, errors })
}

/// A cookie as one response set it, with the attributes that apply to it (RFC 6265 defaults
/// filled in: the default path, host-only when there is no Domain).
#[derive(Debug, Clone, Serialize)]
pub struct SeenCookie {
    pub name: String,
    pub value: String,
    pub domain: String,
    pub host_only: bool,
    pub path: String,
    /// `None` for a session cookie.
    #[serde(serialize_with = "serialize_time")]
    pub expires: Option<SystemTime>,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: Option<String>,
    /// Why the store refused it, when it did (a foreign Domain, an unparsable line …).
    pub rejected: Option<String>,
}

fn serialize_time<S: serde::Serializer>(
    time: &Option<SystemTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serializer.serialize_str(&render::utc(*time)),
        None => serializer.serialize_none(),
    }
}

/// One request of a visit and what came back.
#[derive(Debug, Clone, Serialize)]
pub struct Hop {
    pub url: Url,
    pub status: u16,
    /// The `Cookie` header sent, if any.
    pub sent: Option<String>,
    pub cookies: Vec<SeenCookie>,
    /// The start of a `text/plain` body: where a page like `/cookies` echoes what it received.
    pub text: Option<String>,
}

/// How much of a text body a hop keeps.
const TEXT_LIMIT: usize = 1024;

/// A client with a cookie store.
pub struct CookieClient {
    http: reqwest::Client,
    jar: CookieStore,
}

impl CookieClient {
    /// `resolve` maps host names to addresses inside the client (no /etc/hosts needed).
    pub fn new(jar: CookieStore, resolve: &[(String, SocketAddr)]) -> Result<Self, ClientError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("session-lab/", env!("CARGO_PKG_VERSION")));
        for (host, addr) in resolve {
            builder = builder.resolve(host, *addr);
        }
        let http = builder
            .build()
            .map_err(|error| ClientError::Setup(error.to_string()))?;
        Ok(Self { http, jar })
    }

    pub fn jar(&self) -> &CookieStore {
        &self.jar
    }

    /// GETs `url`, following redirects, storing every cookie set along the way.
    pub async fn visit(&mut self, url: Url) -> Result<Vec<Hop>, ClientError> {
        let mut hops = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next.take() {
            if hops.len() > MAX_REDIRECTS {
                return Err(ClientError::TooManyRedirects { url });
            }
            let sent = self.cookie_header(&url);
            let mut request = self.http.get(url.clone());
            if let Some(cookie) = &sent {
                request = request.header(COOKIE, cookie);
            }
            let response = request.send().await.map_err(|error| ClientError::Request {
                url: url.clone(),
                cause: error_chain(&error),
            })?;
            let cookies = response
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .map(|line| self.store(&String::from_utf8_lossy(line.as_bytes()), &url))
                .collect();
            let status = response.status();
            if status.is_redirection() {
                next = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|location| location.to_str().ok())
                    .and_then(|location| url.join(location).ok());
            }
            let is_text = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.starts_with("text/plain"));
            let text = if is_text {
                let body = response.bytes().await.unwrap_or_default();
                let kept = &body[..body.len().min(TEXT_LIMIT)];
                Some(String::from_utf8_lossy(kept).into_owned())
            } else {
                None
            };
            hops.push(Hop {
                url,
                status: status.as_u16(),
                sent,
                cookies,
                text,
            });
        }
        Ok(hops)
    }

    /// The `Cookie` header the store holds for `url`, in RFC 6265 §5.4 order: longer paths
    /// first, then earlier-created first (the store keeps insertion order, and a replaced
    /// cookie keeps its place, as its creation time is kept).
    pub fn cookie_header(&self, url: &Url) -> Option<String> {
        let mut cookies = self.jar.matches(url);
        cookies.sort_by_key(|cookie| std::cmp::Reverse(String::from(&cookie.path).len()));
        let pairs: Vec<String> = cookies
            .iter()
            .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn store(&mut self, line: &str, url: &Url) -> SeenCookie {
        match cookie_store::Cookie::parse(line.to_owned(), url) {
            Ok(mut cookie) => {
                let refusal = domain_holds_spaces(&cookie)
                    .or_else(|| names_a_public_suffix(&mut cookie, url))
                    .or_else(|| breaks_its_name_prefix(&cookie));
                let mut seen = SeenCookie::from_stored(&cookie);
                if let Some(reason) = refusal {
                    seen.rejected = Some(reason);
                } else if let Err(error) = self.jar.insert(cookie.into_owned(), url) {
                    seen.rejected = Some(error.to_string());
                }
                seen
            }
            Err(error) => SeenCookie::unparsed(line, url, error.to_string()),
        }
    }
}

impl SeenCookie {
    fn from_stored(cookie: &cookie_store::Cookie<'_>) -> Self {
        let (domain, host_only) = match &cookie.domain {
            CookieDomain::HostOnly(host) => (host.clone(), true),
            CookieDomain::Suffix(suffix) => (suffix.clone(), false),
            CookieDomain::NotPresent | CookieDomain::Empty => (String::new(), true),
        };
        Self {
            name: cookie.name().to_owned(),
            value: cookie.value().to_owned(),
            domain,
            host_only,
            path: String::from(&cookie.path),
            expires: match &cookie.expires {
                CookieExpiration::AtUtc(moment) => Some(SystemTime::from(*moment)),
                CookieExpiration::SessionEnd => None,
            },
            secure: cookie.secure().unwrap_or(false),
            http_only: cookie.http_only().unwrap_or(false),
            same_site: cookie.same_site().map(|same_site| same_site.to_string()),
            rejected: None,
        }
    }

    /// What can be said of a line the RFC 6265 parser refused (or of an expired cookie).
    fn unparsed(line: &str, url: &Url, reason: String) -> Self {
        let raw = cookie::Cookie::parse(line.to_owned()).ok();
        Self {
            name: raw
                .as_ref()
                .map_or_else(|| line.to_owned(), |c| c.name().to_owned()),
            value: raw
                .as_ref()
                .map(|c| c.value().to_owned())
                .unwrap_or_default(),
            domain: raw
                .as_ref()
                .and_then(|c| c.domain().map(str::to_owned))
                .unwrap_or_else(|| url.host_str().unwrap_or_default().to_owned()),
            host_only: raw.as_ref().is_none_or(|c| c.domain().is_none()),
            path: raw
                .as_ref()
                .and_then(|c| c.path().map(str::to_owned))
                .unwrap_or_default(),
            expires: raw
                .as_ref()
                .and_then(|c| match (c.max_age(), c.expires_datetime()) {
                    (Some(max_age), _) => {
                        let seconds = u64::try_from(max_age.whole_seconds()).unwrap_or(0);
                        Some(SystemTime::now() + Duration::from_secs(seconds))
                    }
                    (None, Some(expires)) => Some(SystemTime::from(expires)),
                    (None, None) => None,
                }),
            secure: raw.as_ref().and_then(|c| c.secure()).unwrap_or(false),
            http_only: raw.as_ref().and_then(|c| c.http_only()).unwrap_or(false),
            same_site: raw
                .as_ref()
                .and_then(|c| c.same_site())
                .map(|s| s.to_string()),
            rejected: Some(reason),
        }
    }
}

/// RFC 6265 §5.2.3 trims only the ends of the Domain value before dropping its leading dot, so
/// `Domain=  .  home.example.org` keeps the spaces after the dot and no host name can
/// domain-match it (§5.3 step 6). `cookie_store` trims once more and would accept it, so this
/// reads the value as the `cookie` crate parsed it, before that second trim.
fn domain_holds_spaces(cookie: &cookie_store::Cookie<'_>) -> Option<String> {
    let parsed: &cookie::Cookie<'_> = cookie;
    let domain = parsed.domain()?;
    domain.contains(char::is_whitespace).then(|| {
        format!("Domain={domain:?} holds spaces, so it matches no host name (RFC 6265 §5.2.3)")
    })
}

/// RFC 6265 §5.3 step 5: a Domain that is a public suffix (`co.nz`, `github.io`, `com`) would
/// reach every site under it, so the cookie is refused — unless the host *is* that suffix, which
/// then gets a host-only cookie. The list is the one browsers and curl use, compiled in by the
/// `psl` crate; a name it does not know falls under its default rule, so a Domain that is an
/// unknown top-level name is refused too.
fn names_a_public_suffix(cookie: &mut cookie_store::Cookie<'_>, url: &Url) -> Option<String> {
    let CookieDomain::Suffix(domain) = &cookie.domain else {
        return None;
    };
    let is_public_suffix =
        psl::suffix(domain.as_bytes()).is_some_and(|suffix| suffix.as_bytes() == domain.as_bytes());
    if !is_public_suffix {
        return None;
    }
    if url.host_str() == Some(domain.as_str()) {
        cookie.domain = CookieDomain::HostOnly(domain.clone());
        return None;
    }
    Some(format!(
        "Domain={domain} is a public suffix, which would reach every site under it"
    ))
}

/// The cookie-name prefixes of RFC 6265bis §4.1.3: `__Secure-` needs Secure; `__Host-` needs
/// Secure, no Domain and `Path=/`. A cookie that claims a prefix and breaks it is refused.
fn breaks_its_name_prefix(cookie: &cookie_store::Cookie<'_>) -> Option<String> {
    let name = cookie.name();
    let secure = cookie.secure().unwrap_or(false);
    if name.starts_with("__Secure-") && !secure {
        return Some("a __Secure- cookie must be Secure".into());
    }
    if name.starts_with("__Host-") {
        let host_only = matches!(cookie.domain, CookieDomain::HostOnly(_));
        if !secure || !host_only || String::from(&cookie.path) != "/" {
            return Some("a __Host- cookie must be Secure, have no Domain and Path=/".into());
        }
    }
    None
}

fn error_chain(error: &dyn std::error::Error) -> String {
    std::iter::successors(Some(error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn client() -> CookieClient {
        CookieClient::new(CookieStore::default(), &[]).unwrap()
    }

    fn url(host: &str) -> Url {
        Url::parse(&format!("https://{host}/")).unwrap()
    }

    #[rstest]
    #[case::a_second_level_suffix("www.nzherald.co.nz", "co.nz", "co.nz")]
    #[case::with_the_old_leading_dot("www.nzherald.co.nz", ".co.nz", "co.nz")]
    #[case::a_private_suffix("x.github.io", "github.io", "github.io")]
    #[case::a_top_level_domain("www.google.com", "com", "com")]
    fn a_public_suffix_domain_is_refused_with_the_reason(
        #[case] host: &str,
        #[case] attribute: &str,
        #[case] suffix: &str,
    ) {
        let mut client = client();
        let seen = client.store(&format!("id=1; Domain={attribute}; Path=/"), &url(host));
        assert_eq!(
            seen.rejected.as_deref(),
            Some(
                format!(
                    "Domain={suffix} is a public suffix, which would reach every site under it"
                )
                .as_str()
            )
        );
        assert_eq!(client.cookie_header(&url(host)), None);
    }

    #[test]
    fn a_registrable_domain_is_accepted_and_reaches_only_its_own_subdomains() {
        let mut client = client();
        let seen = client.store(
            "id=1; Domain=nzherald.co.nz; Path=/",
            &url("www.nzherald.co.nz"),
        );
        assert_eq!(seen.rejected, None);
        assert_eq!(
            (seen.domain.as_str(), seen.host_only),
            ("nzherald.co.nz", false)
        );
        assert_eq!(
            client
                .cookie_header(&url("video.nzherald.co.nz"))
                .as_deref(),
            Some("id=1")
        );
        assert_eq!(client.cookie_header(&url("www.stuff.co.nz")), None);
    }

    #[test]
    fn the_public_suffix_itself_gets_a_host_only_cookie() {
        let mut client = client();
        let seen = client.store("id=1; Domain=github.io; Path=/", &url("github.io"));
        assert_eq!(seen.rejected, None);
        assert_eq!((seen.domain.as_str(), seen.host_only), ("github.io", true));
        assert_eq!(
            client.cookie_header(&url("github.io")).as_deref(),
            Some("id=1")
        );
        assert_eq!(client.cookie_header(&url("x.github.io")), None);
    }

    #[test]
    fn a_domain_with_spaces_after_its_dot_is_refused() {
        let mut client = client();
        let home = url("home.example.org");
        let seen = client.store("foo=bar; domain=  .  home.example.org", &home);
        assert_eq!(
            seen.rejected.as_deref(),
            Some(
                r#"Domain="  home.example.org" holds spaces, so it matches no host name (RFC 6265 §5.2.3)"#
            )
        );
        assert_eq!(client.cookie_header(&home), None);
        // Spaces before the dot are the value's own ends, which RFC 6265 trims.
        let seen = client.store("foo=bar; domain=  .home.example.org", &home);
        assert_eq!(seen.rejected, None);
    }
}
