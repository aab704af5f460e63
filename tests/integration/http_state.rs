//! The IETF http-state working group's cookie parser suite (`../shared/conformance/http-state`),
//! run through the cookie client against a local server that replays each case. Prints a
//! pass/fail line per case (`cargo test --all-features --test http_state -- --nocapture`).
//!
//! Every failure is listed in [`KNOWN_FAILURES`] with its reason (and in README.md); the test
//! fails when a case fails that is not listed, or passes that is, so the list stays true.
#![cfg(feature = "stage5")]

use crate::support;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{COOKIE, HeaderValue, LOCATION, SET_COOKIE};
use hyper::{Request, Response, StatusCode};
use session_lab::client::CookieClient;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

/// The suite lives in the project's shared folder, beside the checkout (CI places a copy there).
fn suite() -> PathBuf {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/http-state");
    assert!(
        suite.join("parser").is_dir(),
        "the http-state suite is expected at {}: the project's shared folder beside the checkout",
        suite.display()
    );
    suite
}

/// Cases that fail, and why. Keep README.md's table in step. Date-bound cases (see
/// [`date_bound`]) are reported apart and not listed: their outcome changes with the calendar.
const KNOWN_FAILURES: &[(&str, &str)] = &[
    (
        "disabled-chromium0022",
        "disabled in the suite itself: the Set-Cookie line holds a NUL byte, which an HTTP header cannot carry",
    ),
    (
        "disabled-chromium0023",
        "disabled in the suite itself: the Set-Cookie line holds a NUL byte, which an HTTP header cannot carry",
    ),
    (
        "disabled-path0029",
        "disabled in the suite itself: browsers disagree on whether %6F in a request path matches the cookie path o",
    ),
];

/// Serves `/cookie-parser?ID` from the case's `-test` file and echoes the `Cookie` header at
/// `/cookie-parser-result…`.
async fn replay(
    request: Request<Incoming>,
    port: u16,
    cases: Arc<PathBuf>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let id = request.uri().query().unwrap_or_default().to_owned();
    let mut response = Response::new(Full::new(Bytes::new()));
    if request.uri().path().starts_with("/cookie-parser-result") {
        let echo = request
            .headers()
            .get(COOKIE)
            .map(|v| v.as_bytes().to_vec())
            .unwrap_or_default();
        *response.body_mut() = Full::new(Bytes::from(echo));
        return Ok(response);
    }
    let lines = std::fs::read(cases.join(format!("{id}-test"))).unwrap_or_default();
    for line in lines.split(|&b| b == b'\n').filter(|line| !line.is_empty()) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(value) = line.strip_prefix(b"Set-Cookie:") {
            let value = value.strip_prefix(b" ").unwrap_or(value);
            match HeaderValue::from_bytes(value) {
                Ok(value) => {
                    response.headers_mut().append(SET_COOKIE, value);
                }
                Err(_) => eprintln!("{id}: a Set-Cookie line HTTP cannot carry was left out"),
            }
        } else if let Some(location) = line.strip_prefix(b"Location: ") {
            let location = String::from_utf8_lossy(location).replace(":8888", &format!(":{port}"));
            *response.status_mut() = StatusCode::FOUND;
            response
                .headers_mut()
                .insert(LOCATION, HeaderValue::try_from(location).unwrap());
        }
    }
    Ok(response)
}

async fn start_replay() -> u16 {
    let cases = Arc::new(suite().join("parser"));
    support::serve(move |port| move |request| replay(request, port, cases.clone())).await
}

/// The host names the suite uses, all sent to the replay server by the client itself.
fn resolve() -> Vec<(String, SocketAddr)> {
    std::fs::read_to_string(suite().join("hosts"))
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .map(|host| (host.to_owned(), SocketAddr::from((Ipv4Addr::LOCALHOST, 0))))
        .collect()
}

/// The `Cookie` header the client sent to the case's result page.
async fn run_case(id: &str, port: u16) -> Result<Option<String>, String> {
    let mut client =
        CookieClient::new(Default::default(), &resolve()).map_err(|e| e.to_string())?;
    let start = Url::parse(&format!(
        "http://home.example.org:{port}/cookie-parser?{id}"
    ))
    .unwrap();
    let hops = client.visit(start).await.map_err(|e| e.to_string())?;
    let last = hops.last().ok_or("no request was made")?;
    if last.url.path().starts_with("/cookie-parser-result") {
        return Ok(last.sent.clone());
    }
    let result = Url::parse(&format!(
        "http://home.example.org:{port}/cookie-parser-result?{id}"
    ))
    .unwrap();
    let hops = client.visit(result).await.map_err(|e| e.to_string())?;
    Ok(hops[0].sent.clone())
}

/// Cases whose outcome depends on today's date: they carry an Expires with a fixed year.
fn date_bound(id: &str) -> bool {
    let test = std::fs::read(suite().join("parser").join(format!("{id}-test"))).unwrap_or_default();
    let text = String::from_utf8_lossy(&test).to_ascii_lowercase();
    text.contains("expires=") && (1970..2100).any(|year| text.contains(&year.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_state_parser_suite() {
    let port = start_replay().await;
    let mut ids: Vec<String> = std::fs::read_dir(suite().join("parser"))
        .unwrap()
        .filter_map(|entry| {
            entry
                .ok()?
                .file_name()
                .to_str()?
                .strip_suffix("-test")
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    let mut failures = BTreeMap::new();
    let mut dated = Vec::new();
    for id in &ids {
        let expected =
            std::fs::read_to_string(suite().join("parser").join(format!("{id}-expected"))).unwrap();
        let expected = expected
            .trim_end_matches(['\r', '\n'])
            .strip_prefix("Cookie: ")
            .map(str::to_owned);
        let got = run_case(id, port).await;
        let passed = got.as_ref().is_ok_and(|sent| *sent == expected);
        let bound = date_bound(id);
        if bound {
            dated.push(id.clone());
        }
        println!(
            "{} {id}{}: expected {expected:?}, sent {got:?}",
            if passed { "pass" } else { "FAIL" },
            if bound { " (date-bound)" } else { "" }
        );
        if !passed {
            failures.insert(id.clone(), (expected, got));
        }
        if let (false, Some(reason)) =
            (passed, KNOWN_FAILURES.iter().find(|(known, _)| known == id))
        {
            println!("     known: {}", reason.1);
        }
    }
    println!(
        "\n{} of {} cases pass; date-bound cases (an Expires with a fixed year): {}",
        ids.len() - failures.len(),
        ids.len(),
        dated.join(", ")
    );
    let known: BTreeMap<&str, &str> = KNOWN_FAILURES.iter().copied().collect();
    failures.retain(|id, _| !dated.contains(id));
    let unexpected: Vec<_> = failures
        .keys()
        .filter(|id| !known.contains_key(id.as_str()))
        .collect();
    let now_passing: Vec<_> = known
        .keys()
        .filter(|id| !failures.contains_key(**id))
        .collect();
    assert!(
        unexpected.is_empty(),
        "failing and not in KNOWN_FAILURES: {unexpected:?}\n{failures:#?}"
    );
    assert!(
        now_passing.is_empty(),
        "in KNOWN_FAILURES but passing now: {now_passing:?}"
    );
}
