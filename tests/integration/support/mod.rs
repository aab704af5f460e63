//! What several test files share: a throwaway HTTP server on a free loopback port, for
//! replaying what other sites send, running the binary within a time limit, `grade` run as
//! instructors run it (and whether its sandbox works here), a look at whether a process is
//! still running, and the checks of a report that ended one way.
//!
//! Each test module is gated by the stage it tests: in a build of fewer stages, some of these
//! helpers have no test left to use them.
#![cfg_attr(not(feature = "stage5"), allow(dead_code))]

pub mod devtools;
#[cfg(feature = "redis")]
pub mod redis_server;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::future::Future;
use std::net::Ipv4Addr;
use std::path::Path;

/// Serves `handler` on a free loopback port for the rest of the test; `handler` is made from
/// the port, for answers that must name it (a redirect's `Location`).
pub async fn serve<H, F>(make_handler: impl FnOnce(u16) -> H) -> u16
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let handler = make_handler(port);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
                hyper_util::rt::TokioIo::new(stream),
                hyper::service::service_fn(handler),
            ));
        }
    });
    port
}

/// Whether a process is still there (a zombie no longer counts: it has exited).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// Those of `pids` still alive once the processes a grading killed have had a moment to die:
/// SIGKILL is sent before the grading returns, but on a busy machine a killed process may take
/// a few milliseconds to be gone. Waits at most two seconds.
pub fn survivors(pids: Vec<u32>) -> Vec<u32> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|pid| alive(*pid)).collect();
        if left.is_empty() || std::time::Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Runs `command` to completion with its output captured, killing it past `limit`.
pub fn run_within(
    command: &mut std::process::Command,
    limit: std::time::Duration,
) -> std::process::Output {
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{command:?} ran longer than {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The ids of the checks of `report` that ended with `status`, in order.
pub fn ids_with(
    report: &session_lab::grade::Report,
    status: session_lab::checks::Status,
) -> Vec<&'static str> {
    report
        .checks
        .iter()
        .filter(|check| check.status == status)
        .map(|check| check.id)
        .collect()
}

/// The pids of processes whose name or command line holds `marker`.
pub fn processes_named(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let read =
                |file: &str| std::fs::read(format!("/proc/{pid}/{file}")).unwrap_or_default();
            let holds = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).contains(marker);
            alive(*pid) && (holds(read("comm")) || holds(read("cmdline")))
        })
        .collect()
}

/// Debian's chromium (or another name for it), or `None` where it is missing: then the test
/// says so and passes, except in CI, where `.ci/run` installs it and a missing one fails.
pub fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| which::which(name).is_ok());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing: .ci/run installs it (apt-get install chromium)"
        );
        eprintln!("chromium is not installed here: skipping the browser test");
    }
    found
}

/// Headless `chromium` with `options`, dumping the DOM of `url` once loaded.
pub fn headless_dom(chromium: &str, options: &[&str], url: &str) -> std::process::Output {
    run_within(
        std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .args(options)
            .arg("--dump-dom")
            .arg(url)
            .stdin(std::process::Stdio::null()),
        std::time::Duration::from_secs(60),
    )
}

/// Starts the built binary's `serve --port 0 ARGS` in `dir`, and returns it with the address
/// it printed (`http://127.0.0.1:PORT/`). It dies with the test thread that started it, even
/// one that fails before it could stop it.
pub fn spawn_serve(args: &[&str], dir: &std::path::Path) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_session-lab"));
    command
        .args(["serve", "--port", "0"])
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    // SAFETY: prctl is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)
        });
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("session-lab listening on ")
        .unwrap_or_else(|| panic!("serve did not start: its first line was {line:?}"))
        .to_owned();
    (child, addr)
}

/// An HTTP client that shows redirects instead of following them, and gives up on a request
/// after `timeout`. Each has its own connection pool: after a stop or a kill, no pooled
/// connection may carry a request to the server that replaced the one it was made to.
pub fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .unwrap()
}

/// The session id a login answer set.
pub fn session_id(reply: &reqwest::Response) -> String {
    let set_cookie = reply.headers()["set-cookie"].to_str().unwrap();
    set_cookie
        .strip_prefix("sid=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned()
}

/// Whether bubblewrap works here; if not, says so and proves the honest fallback.
pub fn bwrap_works() -> bool {
    let hostile = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let (output, report) = grade(&["--stage", "1", "--sandbox", "bwrap"], &hostile, &["true"]);
    let error = report["error"].as_str().unwrap_or_default();
    if output.status.code() == Some(2) && error.contains("bubblewrap cannot run here") {
        eprintln!("bubblewrap cannot run on this machine: checking the fallback instead");
        let (output, report) = grade(&["--stage", "1"], &hostile, &["true"]);
        assert_eq!(report["sandbox"], "none", "{output:?}");
        assert!(!report["sandbox_warning"].is_null(), "{report}");
        return false;
    }
    true
}

/// Runs `grade` (JSON report to a file) on `dir`, killing it past four minutes (a Java
/// solution's eight starts take half a minute on a busy machine).
pub fn grade(
    options: &[&str],
    dir: &Path,
    command: &[&str],
) -> (std::process::Output, serde_json::Value) {
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("report.json");
    let output = run_within(
        std::process::Command::new(env!("CARGO_BIN_EXE_session-lab"))
            .arg("grade")
            .args(options)
            .args(["--format", "json", "--output"])
            .arg(&report)
            .arg("--dir")
            .arg(dir)
            .arg("--")
            .args(command),
        std::time::Duration::from_secs(240),
    );
    let json = std::fs::read_to_string(&report)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(serde_json::Value::Null);
    (output, json)
}

/// The check `id` of a JSON report.
pub fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report}"))
}
