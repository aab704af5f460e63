//! The cookie client against the reference's `/cookies`, and against tools nobody here wrote:
//! curl reads the jars we write and we read curl's; Python's `requests` sees the cookies the
//! exercise asks for, and Python's `MozillaCookieJar` loads our jar.
#![cfg(feature = "stage5")]

use session_lab::server::{self, Config, RunningServer};
use session_lab::store::Backend;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tempfile::TempDir;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_session-lab");
const THIRTY_DAYS: u64 = 30 * 24 * 60 * 60;

async fn reference() -> (RunningServer, TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    config.store = Backend::file(dir.path().join("sessions.json"));
    let running = server::start(config).await.unwrap();
    let url = format!("http://{}/cookies", running.addr());
    (running, dir, url)
}

/// Runs a program to completion (bounded) and returns its stdout; it must succeed.
async fn run(program: &str, args: &[&str]) -> String {
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(program).args(args).output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{program} {args:?} took over 30 s"))
    .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Our client's visit of `url` as JSON hops.
async fn client(url: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["cookies", "--format", "json"];
    args.extend(extra);
    args.push(url);
    serde_json::from_str(&run(BIN, &args).await).unwrap()
}

fn jar_arg(dir: &Path) -> String {
    dir.join("jar.txt").to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_shows_both_cookies_with_their_expiry() {
    let (_server, _dir, url) = reference().await;
    let hops = client(&url, &[]).await;
    let cookies = hops[0]["cookies"].as_array().unwrap();
    let grover = cookies.iter().find(|c| c["name"] == "grover").unwrap();
    assert_eq!(grover["value"], "zaq1234");
    assert!(grover["expires"].is_null(), "a session cookie: {grover}");
    let monster = cookies
        .iter()
        .find(|c| c["name"] == "cookiemonster")
        .unwrap();
    assert_eq!(monster["value"], "dsh93373");
    assert_eq!(monster["host_only"], true);
    assert_eq!(monster["http_only"], true);
    assert!(
        monster["expires"].as_str().unwrap().ends_with(" UTC"),
        "{monster}"
    );
    let table = run(BIN, &["cookies", &url]).await;
    assert!(
        table.contains("session") && table.contains("(in 30 days)"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_with_one_jar_sends_back_cookiemonster_but_not_grover() {
    let (_server, dir, url) = reference().await;
    let jar = jar_arg(dir.path());
    let first = client(&url, &["--jar", &jar]).await;
    assert!(first[0]["sent"].is_null(), "an empty jar sends nothing");
    let second = client(&url, &["--jar", &jar]).await;
    assert_eq!(second[0]["sent"], "cookiemonster=dsh93373");
    assert_eq!(
        second[0]["text"], "cookiemonster=dsh93373\n",
        "the server's echo"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_keep_session_cookies_grover_comes_back_too() {
    let (_server, dir, url) = reference().await;
    let jar = jar_arg(dir.path());
    client(&url, &["--jar", &jar, "--keep-session-cookies"]).await;
    let second = client(&url, &["--jar", &jar, "--keep-session-cookies"]).await;
    let echo = second[0]["text"].as_str().unwrap();
    assert!(
        echo.contains("grover=zaq1234\n") && echo.contains("cookiemonster=dsh93373\n"),
        "{echo}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_uses_the_jar_we_write() {
    let (_server, dir, url) = reference().await;
    let jar = jar_arg(dir.path());
    client(&url, &["--jar", &jar]).await;
    let echo = run(
        "curl",
        &["--silent", "--show-error", "--cookie", &jar, &url],
    )
    .await;
    assert_eq!(echo, "cookiemonster=dsh93373\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_use_the_jar_curl_writes() {
    let (_server, dir, url) = reference().await;
    let jar = jar_arg(dir.path());
    run(
        "curl",
        &[
            "--silent",
            "--show-error",
            "--cookie-jar",
            &jar,
            "--output",
            "/dev/null",
            &url,
        ],
    )
    .await;
    let hops = client(&url, &["--jar", &jar]).await;
    // curl keeps session cookies in its jar (expiry 0): they are sent within this session.
    let echo = hops[0]["text"].as_str().unwrap();
    assert!(
        echo.contains("cookiemonster=dsh93373\n") && echo.contains("grover=zaq1234\n"),
        "{echo}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_requests_sees_a_session_cookie_and_one_30_days_ahead() {
    let (_server, _dir, url) = reference().await;
    let script = "import requests, sys\n\
                  session = requests.Session()\n\
                  session.get(sys.argv[1])\n\
                  for cookie in session.cookies:\n    print(cookie.name, cookie.expires)\n";
    let printed = run("python3", &["-c", script, &url]).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut seen = 0;
    for line in printed.lines() {
        match line.split_once(' ') {
            Some(("grover", expires)) => {
                assert_eq!(expires, "None");
                seen += 1;
            }
            Some(("cookiemonster", expires)) => {
                let expires: u64 = expires.parse().unwrap();
                assert!(
                    expires.abs_diff(now + THIRTY_DAYS) <= 120,
                    "{expires} vs {now}"
                );
                seen += 1;
            }
            _ => panic!("unexpected line {line:?}"),
        }
    }
    assert_eq!(seen, 2, "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pythons_mozilla_cookie_jar_loads_our_jar() {
    let (_server, dir, url) = reference().await;
    let jar = jar_arg(dir.path());
    client(&url, &["--jar", &jar]).await;
    let script = "import http.cookiejar, sys\n\
                  jar = http.cookiejar.MozillaCookieJar(sys.argv[1])\n\
                  jar.load()\n\
                  for c in jar:\n    print(c.name, c.value, c.domain, c.path, c.expires, c.secure)\n";
    let printed = run("python3", &["-c", script, &jar]).await;
    let fields: Vec<&str> = printed.split_whitespace().collect();
    assert_eq!(
        fields[..4],
        ["cookiemonster", "dsh93373", "127.0.0.1", "/"],
        "{printed}"
    );
    assert_eq!(fields[5], "False");
    assert_eq!(fields.len(), 6, "only the persistent cookie: {printed}");
}
