//! The `session-lab` binary as users meet it: exit codes, messages, and the report that is
//! written whatever happens.

use crate::support;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{alive, run_within, spawn_serve};

const BIN: &str = env!("CARGO_BIN_EXE_session-lab");

/// Runs the binary to completion, killing it if it takes longer than `limit`.
fn run(args: &[&str], limit: Duration) -> Output {
    support::run_within(Command::new(BIN).args(args), limit)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn grading_without_a_command_is_a_usage_error() {
    let output = run(&["grade"], Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn a_missing_submission_directory_still_writes_a_report_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let output = run(
        &[
            "grade",
            "--format",
            "json",
            "--output",
            report.to_str().unwrap(),
            "--dir",
            "/no/such/submission",
            "--",
            "python3",
            "server.py",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(output.status.code(), Some(2));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("/no/such/submission"),
        "{json}"
    );
    assert_eq!(json["score"], 0);
    assert!(json["max_score"].as_u64().unwrap() > 0);
    let entries = json["checks"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "one entry says why nothing ran: {json}");
    assert_eq!(entries[0]["id"], "grader.could-not-run");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        printed
            .matches("/no/such/submission does not exist")
            .count(),
        1,
        "one message, not one per check: {printed}"
    );
    assert!(printed.contains("give --dir the folder"), "{printed}");
}

#[test]
fn a_submission_that_never_starts_fails_with_exit_1_and_a_junit_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("junit.xml");
    let output = run(
        &[
            "grade",
            "--stage",
            "1",
            "--format",
            "junit",
            "--output",
            report.to_str().unwrap(),
            "--dir",
            dir.path().to_str().unwrap(),
            "--",
            "python3",
            "-c",
            "raise SystemExit(1)",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(
        xml.contains("stage1.listens") && xml.contains("<failure"),
        "{xml}"
    );
    let progress = String::from_utf8_lossy(&output.stdout);
    assert!(
        progress.contains("✗ stage1.listens"),
        "progress goes to stdout: {progress}"
    );
    assert!(
        !progress.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn hash_password_prints_an_argon2id_string_the_users_file_accepts() {
    let mut child = Command::new(BIN)
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"tea party\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let hash = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    std::fs::write(&users, serde_json::json!({ "hatter": hash }).to_string()).unwrap();
    let accounts = session_lab::server::users::Users::from_file(&users).unwrap();
    assert!(accounts.verify("hatter", "tea party"));
    assert!(!accounts.verify("hatter", "tea party\n"));
}

#[test]
fn a_users_file_with_a_plain_password_stops_serve_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    std::fs::write(&users, r#"{"alice": "wonderland"}"#).unwrap();
    let output = run(
        &["serve", "--port", "0", "--users", users.to_str().unwrap()],
        Duration::from_secs(10),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(users.to_str().unwrap()),
        "{}",
        stderr(&output)
    );
}

#[test]
fn serve_prints_its_address_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_serve(&[], dir.path());
    assert!(addr.starts_with("http://127.0.0.1:"), "{addr}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 5 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status}");
}

/// `serve --show-headers` shows students the headers the exercise asks them to look at.
#[cfg(feature = "stage4")]
#[test]
fn show_headers_prints_each_exchange_with_its_cookies() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0", "--show-headers"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("session-lab listening on http://")
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"GET /cookies HTTP/1.1\r\nHost: x\r\nCookie: grover=zaq1234\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut shown = String::new();
    stdout.read_to_string(&mut shown).unwrap();
    child.wait().unwrap();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[0], "→ GET /cookies HTTP/1.1", "{shown}");
    assert_eq!(lines[1], "    Cookie: grover=zaq1234", "{shown}");
    assert_eq!(lines[2], "← 200 OK", "{shown}");
    assert!(
        lines[3].starts_with("    Set-Cookie: grover=zaq1234"),
        "{shown}"
    );
    assert!(
        lines[4].starts_with("    Set-Cookie: cookiemonster=dsh93373; "),
        "{shown}"
    );
}

#[cfg(feature = "stage2")]
mod persistence_failures {
    use super::*;

    #[test]
    fn a_corrupt_state_file_stops_the_server_naming_it_and_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("sessions.json");
        let corrupt = b"{\"version\": 1, \"hits\": 12, \"sessi";
        std::fs::write(&state, corrupt).unwrap();
        let output = run(
            &["serve", "--port", "0", "--state", state.to_str().unwrap()],
            Duration::from_secs(10),
        );
        assert_eq!(output.status.code(), Some(2));
        let message = stderr(&output);
        assert!(
            message.contains(state.to_str().unwrap()) && message.contains("corrupt"),
            "{message}"
        );
        assert!(
            message.contains("line 1 column"),
            "the parse error is given: {message}"
        );
        assert_eq!(std::fs::read(&state).unwrap(), corrupt);
    }

    #[test]
    fn an_unwritable_state_path_is_an_error_at_start() {
        let dir = tempfile::tempdir().unwrap();
        for state in [
            dir.path().join("missing-dir/sessions.json"),
            dir.path().to_owned(),
        ] {
            let output = run(
                &["serve", "--port", "0", "--state", state.to_str().unwrap()],
                Duration::from_secs(10),
            );
            assert_eq!(output.status.code(), Some(2), "{state:?}");
            let message = stderr(&output);
            assert!(
                message.contains("the state file") && message.contains(state.to_str().unwrap()),
                "{message}"
            );
            assert_eq!(
                message.matches("(os error").count(),
                1,
                "the cause once: {message}"
            );
        }
    }
}

/// The binary is graded like any submission, and passes every check of its stages: as the
/// server, and with stage 5 as the cookie client too (against the scripted site and itself).
#[cfg(feature = "stage1")]
#[test]
fn the_reference_binary_passes_the_grader() {
    let dir = tempfile::tempdir().unwrap();
    let stage = session_lab::server::STAGE.to_string();
    let client = format!("{BIN} cookies --jar cookies.txt {{url}}");
    let mut args = vec!["grade", "--stage", &stage, "--format", "json"];
    if cfg!(feature = "stage5") {
        args.extend(["--client", &client]);
    }
    let dir_path = dir.path().to_str().unwrap();
    args.extend(["--dir", dir_path, "--", BIN, "serve", "--port", "{port}"]);
    let output = run(&args, Duration::from_secs(60));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{json:#}");
    assert_eq!(json["score"], json["max_score"]);
    let graded_the_client = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|check| check["id"] == "stage5.client-against-your-server");
    assert_eq!(graded_the_client, cfg!(feature = "stage5"), "{json:#}");
}

/// Stage 5 judges a client and stages 1–4 a server: a grading missing the one it needs, where
/// the submission cannot say it either (`--command-from instructor`), says so, as a usage
/// error, before anything runs.
#[rstest::rstest]
#[case::stage_5_without_a_client(&["--stage", "5", "--command-from", "instructor", "--", "true"], "--client")]
#[case::a_client_alone_outside_stage_5(&["--stage", "3", "--command-from", "instructor", "--client", "true"], "the server's command")]
#[case::a_client_outside_stage_5(&["--stage", "3", "--client", "true", "--", "true"], "--client is graded in stage 5")]
#[case::a_client_outside_stage_5_with_a_server_the_files_show(&["--stage", "3", "--client", "true"], "--client is graded in stage 5")]
#[case::nothing_to_grade(&["--only", "5", "--command-from", "instructor"], "--client")]
#[case::an_unclosed_quote(&["--only", "5", "--client", "python3 'client.py"], "unclosed quote")]
fn a_grading_without_what_its_stages_judge_is_a_usage_error(
    #[case] args: &[&str],
    #[case] says: &str,
) {
    let mut all = vec!["grade"];
    all.extend(args);
    let output = run(&all, Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
}

#[test]
fn a_grading_that_outlives_its_timeout_ends_with_an_honest_report_and_no_process_left() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let pid_file = dir.path().join("pid");
    let begun = Instant::now();
    let output = run(
        &[
            "grade",
            "--format",
            "json",
            "--output",
            report.to_str().unwrap(),
            "--timeout",
            "2",
            "--sandbox",
            "none",
            "--start-timeout",
            "30",
            "--dir",
            dir.path().to_str().unwrap(),
            "--",
            "sh",
            "-c",
            &format!("echo $$ > '{}'; exec sleep 600", pid_file.display()),
        ],
        Duration::from_secs(20),
    );
    assert!(
        begun.elapsed() < Duration::from_secs(15),
        "ended at the limit"
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let entries = json["checks"].as_array().unwrap();
    let last = entries.last().unwrap();
    assert_eq!(last["id"], "grader.did-not-finish", "{json}");
    assert!(
        last["message"].as_str().unwrap().contains("within 2 s"),
        "{json}"
    );
    assert_eq!(json["score"], 0);
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid), "the submission was killed with the run");
}

#[test]
fn a_grader_killed_mid_run_leaves_a_failing_report_not_none() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let pid_file = dir.path().join("pid");
    let mut child = Command::new(BIN)
        .args(["grade", "--format", "json", "--output"])
        .arg(&report)
        .args(["--start-timeout", "30", "--sandbox", "none", "--dir"])
        .arg(dir.path())
        .args(["--", "sh", "-c"])
        .arg(format!(
            "echo $$ > '{}'; exec sleep 600",
            pid_file.display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(report.exists() && pid_file.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["score"], 0);
    assert_eq!(json["checks"][0]["id"], "grader.did-not-finish", "{json}");
    assert_eq!(json["checks"][0]["status"], "failed");
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(pid), "the submission died with the grader");
}

/// `SESSION_LAB_STORE` names a Redis store for `serve`: set but empty it counts as unset, and
/// beside an explicit `--state` it is refused without its value (which may hold a password)
/// being shown.
#[test]
fn the_store_variable_is_ignored_when_empty_and_refused_beside_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0", "--state", state.to_str().unwrap()])
        .env("SESSION_LAB_STORE", "")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(line.starts_with("session-lab listening on "), "{line:?}");

    let output = run_within(
        Command::new(BIN)
            .args(["serve", "--port", "0", "--state", state.to_str().unwrap()])
            .env("SESSION_LAB_STORE", "redis://:hunter2@127.0.0.1:1/0"),
        Duration::from_secs(10),
    );
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("SESSION_LAB_STORE"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}
