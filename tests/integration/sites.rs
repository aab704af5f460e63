//! The cookie client's table for what real sites send, replayed by a local server from the
//! fixtures in `tests/fixtures/sites/` (each says where its lines come from, and when).
//!
//! Each fixture records the `Date` of its capture; the replay moves every `Expires` forward by
//! the time since then, in its original format, so that lifetimes stay as recorded while the
//! cookies are not yet expired. Absolute dates and the port are redacted in the snapshots.
#![cfg(feature = "stage5")]

use crate::support;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{DATE, HeaderValue, SET_COOKIE};
use hyper::{Request, Response};
use regex::Regex;
use session_lab::client::{CookieClient, render};
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, SystemTime};
use url::Url;

struct Fixture {
    captured: SystemTime,
    set_cookies: Vec<String>,
}

fn fixture(site: &str) -> Fixture {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/sites/{site}.txt"));
    let text = std::fs::read_to_string(path).unwrap();
    let captured = text
        .lines()
        .find_map(|line| line.strip_prefix("Date: "))
        .map(|date| httpdate::parse_http_date(date).unwrap())
        .expect("every fixture records the Date of its capture");
    let set_cookies = text
        .lines()
        .filter_map(|line| line.strip_prefix("Set-Cookie: "))
        .map(str::to_owned)
        .collect();
    Fixture {
        captured,
        set_cookies,
    }
}

/// Moves every `expires=` date of `line` by `shift`, keeping its format (IMF-fixdate, or the
/// dashed `Sun, 05-Nov-2023 14:10:54 GMT`).
fn shift_expires(line: &str, shift: Duration) -> String {
    let date = Regex::new(
        r"(?i)(expires=)([A-Za-z]{3}, \d{2}[ -][A-Za-z]{3}[ -]\d{4} \d{2}:\d{2}:\d{2} GMT)",
    )
    .unwrap();
    date.replace_all(line, |captures: &regex::Captures<'_>| {
        let original = &captures[2];
        let dashed = original.as_bytes()[7] == b'-';
        let moment = httpdate::parse_http_date(&original.replace('-', " ")).unwrap() + shift;
        let mut moved = httpdate::fmt_http_date(moment);
        if dashed {
            // "Sun, 05 Nov 2023 14:10:54 GMT": the date part is bytes 5..16.
            let date_part = moved[5..16].replace(' ', "-");
            moved.replace_range(5..16, &date_part);
        }
        format!("{}{moved}", &captures[1])
    })
    .into_owned()
}

async fn replay(
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let host = request
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let site = match host.split(':').next().unwrap_or_default() {
        "www.google.com" => "google",
        "www.wikipedia.org" => "wikipedia",
        _ => "nzherald",
    };
    let fixture = fixture(site);
    let now = SystemTime::now();
    let shift = now.duration_since(fixture.captured).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from_static(b"<!doctype html>")));
    response.headers_mut().insert(
        DATE,
        HeaderValue::try_from(httpdate::fmt_http_date(now)).unwrap(),
    );
    for line in &fixture.set_cookies {
        response.headers_mut().append(
            SET_COOKIE,
            HeaderValue::try_from(shift_expires(line, shift)).unwrap(),
        );
    }
    Ok(response)
}

async fn table_for(host: &str) -> String {
    let port = support::serve(|_| replay).await;
    let resolve = [(host.to_owned(), SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))];
    let mut client = CookieClient::new(Default::default(), &resolve).unwrap();
    let hops = client
        .visit(Url::parse(&format!("http://{host}:{port}/")).unwrap())
        .await
        .unwrap();
    render::table(&hops, SystemTime::now()).replace(&format!(":{port}/"), ":[port]/")
}

macro_rules! snapshot_table {
    ($name:literal, $table:expr) => {
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            filters => vec![(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", "[date]")],
        }, {
            insta::assert_snapshot!($name, $table);
        });
    };
}

#[test]
fn dashed_and_imf_dates_shift_in_their_own_format() {
    let day = Duration::from_secs(86_400);
    assert_eq!(
        shift_expires("a=b; expires=Sun, 05-Nov-2023 14:10:54 GMT; path=/", day),
        "a=b; expires=Mon, 06-Nov-2023 14:10:54 GMT; path=/"
    );
    assert_eq!(
        shift_expires("a=b;Expires=Mon, 28 Mar 2022 00:00:00 GMT", day),
        "a=b;Expires=Tue, 29 Mar 2022 00:00:00 GMT"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google() {
    let table = table_for("www.google.com").await;
    snapshot_table!("site_google", table);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wikipedia() {
    let table = table_for("www.wikipedia.org").await;
    snapshot_table!("site_wikipedia", table);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nzherald_synthetic() {
    let table = table_for("www.nzherald.co.nz").await;
    snapshot_table!("site_nzherald_synthetic", table);
}
