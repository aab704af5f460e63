//! The reference server against a real browser (Debian's chromium, headless): a person's
//! whole visit, driven over the DevTools protocol (log in through the form, the session cookie
//! out of the page's reach, the two cookies of `/cookies` kept as they should be, log out);
//! and a page on another origin that auto-posts the login form must not log the browser in.
#![cfg(feature = "stage3")]

use crate::support;

use bytes::Bytes;
use http_body_util::Full;
use session_lab::server::{self, Config};
use session_lab::store::Backend;
use std::net::{Ipv4Addr, SocketAddr};

/// The reference server on a free port, its state in `state`.
async fn reference(state: &tempfile::TempDir) -> server::RunningServer {
    let mut config = Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    config.store = Backend::file(state.path().join("sessions.json"));
    server::start(config).await.unwrap()
}

/// Loads `url` in headless chromium, lets it run its scripts and follow where they lead, and
/// returns the final page's DOM.
fn final_dom(chromium: &str, url: &str) -> String {
    let output = support::headless_dom(chromium, &["--virtual-time-budget=5000"], url);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_origin_page_cannot_log_the_browser_in() {
    let Some(chromium) = support::chromium() else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let running = reference(&state).await;
    let target = running.addr();
    // The attacker's page, on another port of the same host: same site, another origin.
    let attacker = support::serve(move |_| {
        move |_request| async move {
            let page = format!(
                "<!DOCTYPE html><html><body><form method=\"post\" action=\"http://{target}/login\">\
                 <input name=\"username\" value=\"alice\"><input name=\"password\" value=\"wonderland\">\
                 </form><script>document.forms[0].submit()</script></body></html>"
            );
            Ok(hyper::Response::builder()
                .header("content-type", "text/html; charset=utf-8")
                .body(Full::new(Bytes::from(page)))
                .unwrap())
        }
    })
    .await;

    let dom = tokio::task::spawn_blocking(move || {
        final_dom(chromium, &format!("http://127.0.0.1:{attacker}/"))
    })
    .await
    .unwrap();
    assert!(
        dom.contains("Forbidden") && dom.contains("another site"),
        "the forged login was not refused: {dom}"
    );
    running.wait_for_flush().await;
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(state.path().join("sessions.json"))
            .unwrap_or_else(|_| r#"{"sessions": []}"#.to_owned()),
    )
    .unwrap();
    assert_eq!(
        saved["sessions"],
        serde_json::json!([]),
        "a session was made"
    );
}

#[cfg(feature = "stage4")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_logs_in_through_the_form_keeps_the_cookies_right_and_logs_out() {
    let Some(chromium) = support::chromium() else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let running = reference(&state).await;
    let base = format!("http://{}", running.addr());
    tokio::task::spawn_blocking(move || {
        let mut browser = support::devtools::Browser::start(chromium);
        // `/` sends a visitor who is not logged in to the login page.
        browser.open(&format!("{base}/"));
        assert_eq!(browser.evaluate("location.pathname"), "/login");
        browser.run_and_wait_for_load(
            "document.querySelector('[name=username]').value = 'alice';\
             document.querySelector('[name=password]').value = 'wonderland';\
             document.forms[0].submit()",
        );
        let text = browser.evaluate("document.body.innerText");
        assert!(
            text.as_str().unwrap().contains("Logged in as alice"),
            "{text}"
        );
        assert_eq!(
            browser.evaluate("document.cookie"),
            "",
            "sid (and csrf) are HttpOnly: no script may read them"
        );
        let cookies = browser.cookies(&base);
        let sid = cookies
            .iter()
            .find(|c| c["name"] == "sid")
            .expect("a sid cookie");
        assert_eq!(sid["httpOnly"], true);
        assert_eq!(sid["sameSite"], "Lax");

        browser.open(&format!("{base}/cookies"));
        let cookies = browser.cookies(&base);
        let named = |name: &str| cookies.iter().find(|c| c["name"] == name).cloned();
        let grover = named("grover").expect("grover");
        assert_eq!(
            grover["session"], true,
            "grover lives until the browser closes"
        );
        let cookiemonster = named("cookiemonster").expect("cookiemonster");
        assert_eq!(cookiemonster["session"], false);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let days = (cookiemonster["expires"].as_f64().unwrap() - now) / 86_400.0;
        assert!(
            (29.99..30.01).contains(&days),
            "cookiemonster expires in {days} days"
        );

        browser.open(&format!("{base}/"));
        browser
            .run_and_wait_for_load("document.querySelector('form[action=\\'/logout\\']').submit()");
        assert_eq!(browser.evaluate("location.pathname"), "/login");
        assert!(
            browser.cookies(&base).iter().all(|c| c["name"] != "sid"),
            "the session cookie was deleted at logout"
        );
        browser.open(&format!("{base}/"));
        assert_eq!(
            browser.evaluate("location.pathname"),
            "/login",
            "logged out"
        );
    })
    .await
    .unwrap();
}
