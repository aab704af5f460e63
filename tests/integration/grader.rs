//! The grader against submissions nobody here has to trust: two correct Python solutions in
//! different styles, one classic mistake at a time, and programs that misbehave outright.
//! A grader that is too strict is as broken as one that is too lenient.

use crate::support;
use rstest::rstest;
use session_lab::checks::{Credentials, LAST_SERVER_STAGE, Selection, Stages, Status};
use session_lab::grade::{self, GradeOptions, Report, report};
use session_lab::under_test::CommandSpec;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::ids_with;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn submission(name: &str) -> PathBuf {
    fixtures().join("submissions").join(name)
}

fn command(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

async fn grade_command(words: Vec<String>, dir: PathBuf, start_timeout: Duration) -> Report {
    let mut spec = CommandSpec::new(words, dir);
    spec.start_timeout = start_timeout;
    let options = GradeOptions {
        selection: Selection::new(Stages::UpTo(LAST_SERVER_STAGE), true, false).unwrap(),
        server: Some(spec),
        client: None,
        credentials: Credentials::default(),
        sandbox: session_lab::sandbox::Sandbox::none(),
        rubric: Default::default(),
    };
    grade::grade(options, |_| {}).await
}

/// How many checks judge a server: every check of stages 1–4.
fn server_checks() -> usize {
    session_lab::checks::all()
        .iter()
        .filter(|check| check.judges == session_lab::checks::Judges::Server)
        .count()
}

fn recorded_pids(file: &Path) -> Vec<u32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

#[rstest]
#[case::threaded_http10_303_relative("threaded", &["python3", "server.py", "{port}"])]
#[case::keep_alive_302_absolute_csrf("keep-alive", &["python3", "server.py"])]
#[case::keep_alive_that_refuses_a_post_without_its_length("keep-alive", &["python3", "server.py", "--require-content-length"])]
#[case::flask_before_request_302_relative("flask", &["python3", "app.py", "{port}"])]
#[case::node_http("node", &["node", "server.js", "{port}"])]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_solution_passes_every_check(#[case] name: &str, #[case] words: &[&str]) {
    let report = grade_command(command(words), submission(name), Duration::from_secs(10)).await;
    assert!(
        report.all_passed(),
        "{}",
        report::render(&report, report::ReportFormat::Human)
    );
    assert_eq!(report.score(), report.max_score());
}

#[rstest]
#[case::counter_per_handler("counter-per-handler", &["stage1.hits-consecutive"])]
#[case::only_root_counted("only-root-counted", &["stage1.any-path-counts", "stage1.post-counts"])]
#[case::only_get_counted("only-get-counted", &["stage1.post-counts"])]
#[case::hits_off_by_one("hits-off-by-one", &["stage1.counts-this-request"])]
#[case::hits_plus_one("hits-plus-one", &["stage1.counts-this-request"])]
#[case::lost_updates("lost-updates", &["stage1.concurrent-exact"])]
#[case::no_save_on_sigterm("no-save-on-sigterm", &["stage2.restores-after-sigterm"])]
#[case::never_exits_on_sigterm("never-exits-on-sigterm", &["stage2.exits-on-sigterm"])]
#[case::no_restore(
    "no-restore",
    &["stage2.restores-after-sigint", "stage2.restores-after-sigterm", "stage3.login-survives-restart"]
)]
#[case::sessions_not_persisted("sessions-not-persisted", &["stage3.login-survives-restart"])]
#[case::login_page_200("login-page-200", &["stage3.redirects-home"])]
#[case::any_password("any-password", &["stage3.wrong-password"])]
#[case::http_auth("http-auth", &["stage3.no-http-auth"])]
#[case::not_httponly("not-httponly", &["stage3.session-cookie-httponly"])]
#[case::predictable_session_id("predictable-session-id", &["stage3.session-id-random"])]
#[case::logout_clears_cookie_only("logout-clears-cookie-only", &["stage3.logout-ends-session"])]
#[case::crash_on_odd_cookie("crash-on-odd-cookie", &["stage3.odd-cookie-header"])]
#[case::cookies_behind_login("cookies-behind-login", &["stage4.cookies-public"])]
#[case::grover_max_age("grover-max-age", &["stage4.grover-session-cookie"])]
#[case::expires_rfc850("expires-rfc850", &["stage4.cookiemonster-expires"])]
#[case::expires_asctime("expires-asctime", &["stage4.cookiemonster-expires"])]
#[case::expires_dashed("expires-dashed", &["stage4.cookiemonster-expires"])]
#[case::expires_iso8601("expires-iso8601", &["stage4.cookiemonster-expires"])]
#[case::expires_local_time("expires-local-time", &["stage4.cookiemonster-expires"])]
#[case::expires_7_days("expires-7-days", &["stage4.cookiemonster-expires"])]
#[case::max_age_disagrees("max-age-disagrees", &["stage4.max-age-agrees"])]
#[case::no_echo("no-echo", &["stage4.cookies-echo"])]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_classic_mistake_fails_exactly_its_check(
    #[case] mistake: &str,
    #[case] expected: &[&str],
) {
    let words = command(&["python3", "server.py", "{port}", "--mistake", mistake]);
    let report = grade_command(words, submission("threaded"), Duration::from_secs(10)).await;
    let rendered = report::render(&report, report::ReportFormat::Human);
    assert_eq!(ids_with(&report, Status::Failed), expected, "{rendered}");
    let first_stage = report
        .checks
        .iter()
        .find(|check| check.id == expected[0])
        .map(|check| check.stage)
        .unwrap();
    for check in report
        .checks
        .iter()
        .filter(|check| check.stage < first_stage)
    {
        assert_eq!(
            check.status,
            Status::Passed,
            "{} of an earlier stage: {rendered}",
            check.id
        );
    }
    for check in report
        .checks
        .iter()
        .filter(|check| check.status == Status::Failed)
    {
        let failure = check.failure.as_ref().unwrap();
        assert!(
            !failure.message.is_empty() && check.hint.contains("exercises.md"),
            "{rendered}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grader_run_leaves_no_process_behind_not_even_a_grandchild() {
    let scratch = tempfile::tempdir().unwrap();
    let pid_file = scratch.path().join("pids");
    let words = command(&[
        "python3",
        "server.py",
        "{port}",
        "--spawn-child",
        "--pid-file",
        pid_file.to_str().unwrap(),
    ]);
    let report = grade_command(words, submission("threaded"), Duration::from_secs(10)).await;
    assert!(
        report.all_passed(),
        "{}",
        report::render(&report, report::ReportFormat::Human)
    );
    let pids = recorded_pids(&pid_file);
    assert!(
        pids.len() >= 2 * 2,
        "the start and the restarts each recorded a pid and a child's: {pids:?}"
    );
    let survivors = support::survivors(pids);
    assert!(
        survivors.is_empty(),
        "still running after grading: {survivors:?}"
    );
}

/// A misbehaving program, and words the failure must contain. Each runs behind a wrapper that
/// records its pid (`exec` keeps it), so the test can prove nothing survives the run.
#[rstest]
#[case::never_listens(&["python3", "-c", "import time; time.sleep(600)"], "did not listen on 127.0.0.1")]
#[case::exits_at_once(&["python3", "-c", "print('bye'); raise SystemExit(3)"], "exited (exit status: 3) before it listened")]
#[case::hangs_on_every_request(
    &["python3", "-c", "import socket,sys\ns=socket.create_server(('127.0.0.1', int(sys.argv[1])))\nc=[s.accept() for _ in range(99)]", "{port}"],
    "got no answer within 5 s"
)]
#[case::floods_its_output(&["yes", "flooding the grader"], "did not listen on 127.0.0.1")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_submission_fails_with_a_reason_and_leaves_nothing(
    #[case] words: &[&str],
    #[case] reason: &str,
) {
    let scratch = tempfile::tempdir().unwrap();
    let pid_file = scratch.path().join("pids");
    let wrapper = format!("echo $$ >> '{}'; exec \"$@\"", pid_file.display());
    let mut wrapped = command(&["sh", "-c", &wrapper, "sh"]);
    wrapped.extend(command(words));
    let report = grade_command(wrapped, submission("threaded"), Duration::from_secs(2)).await;
    let rendered = report::render(&report, report::ReportFormat::Human);
    assert!(report.error.is_none(), "the grader itself ran: {rendered}");
    assert_eq!(
        ids_with(&report, Status::Failed),
        ["stage1.listens"],
        "{rendered}"
    );
    assert_eq!(
        ids_with(&report, Status::Passed),
        Vec::<&str>::new(),
        "{rendered}"
    );
    let listens = &report.checks[0];
    let message = &listens.failure.as_ref().unwrap().message;
    assert!(
        message.contains(reason),
        "{message:?} should say {reason:?}"
    );
    if words[0] == "yes" {
        let tail = listens.output_tail.as_deref().unwrap_or_default();
        assert!(
            tail.contains("flooding the grader") && tail.contains("[output capped:"),
            "{tail}"
        );
        assert!(
            tail.len() < 4096,
            "the tail shown is bounded: {} bytes",
            tail.len()
        );
    }
    for format in [
        report::ReportFormat::Json,
        report::ReportFormat::Junit,
        report::ReportFormat::Gradescope,
    ] {
        assert!(report::render(&report, format).contains("stage1.listens"));
    }
    let pids = recorded_pids(&pid_file);
    assert!(!pids.is_empty(), "the wrapper ran");
    let survivors = support::survivors(pids);
    assert!(
        survivors.is_empty(),
        "still running after grading: {survivors:?}"
    );
}

/// The most resident memory this test process has used so far.
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|value| value.trim().parse().ok())
        .expect("Linux reports VmHWM in kB");
    kib * 1024
}

/// A server whose answer is an endless body, or a 20 MiB page: the grader reads 1 MiB of it
/// and says so, and neither its memory nor the run's length grows with what is sent. The
/// peak RSS is the whole test process's, other tests included: the bound leaves them room,
/// and a grader that read a 20 MiB page whole would still exceed it several times over.
#[rstest]
#[case::endless_chunked_body("endless")]
#[case::page_of_20_mib("20MiB")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_too_big_is_cut_at_1_mib_and_costs_the_grader_little(#[case] size: &str) {
    let peak_before = peak_rss_bytes();
    let begun = Instant::now();
    let words = command(&["python3", "huge_body.py", "{port}", size]);
    let report = grade_command(words, fixtures().join("hostile"), Duration::from_secs(10)).await;
    let took = begun.elapsed();
    let growth = peak_rss_bytes().saturating_sub(peak_before);
    eprintln!(
        "{size}: the peak RSS grew by {} KiB; grading took {took:?}",
        growth >> 10
    );
    let rendered = report::render(&report, report::ReportFormat::Human);
    assert_eq!(
        ids_with(&report, Status::Failed),
        ["stage1.listens"],
        "{rendered}"
    );
    let message = &report.checks[0].failure.as_ref().unwrap().message;
    assert!(
        message.contains("GET / sent more than 1 MiB of body, so the grader cut it at 1 MiB"),
        "{message}"
    );
    assert!(growth < 32 << 20, "the peak RSS grew by {growth} bytes");
    assert!(took < Duration::from_secs(20), "grading took {took:?}");
}

/// A server that loses the first stop signal (as Python can, when the exception a handler
/// raises is swallowed) exits on the second: it passes, and the report says what happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_loses_the_first_signal_passes_with_a_note() {
    let words = command(&["python3", "server.py", "{port}", "--lose-first-signal"]);
    let report = grade_command(words, submission("threaded"), Duration::from_secs(10)).await;
    let rendered = report::render(&report, report::ReportFormat::Human);
    assert!(report.all_passed(), "{rendered}");
    for id in ["stage2.exits-on-sigint", "stage2.exits-on-sigterm"] {
        let check = report.checks.iter().find(|c| c.id == id).unwrap();
        let note = check.note.as_deref().unwrap_or_default();
        assert!(note.contains("only on a second one"), "{id}: {rendered}");
    }
    assert!(
        rendered.contains("note: the server did not exit on the first SIGINT"),
        "{rendered}"
    );
    let json = report::render(&report, report::ReportFormat::Json);
    assert_eq!(json.matches("\"note\"").count(), 2, "{json}");
}

/// Nothing can be graded: one entry that says what to do, no list of checks that never ran.
#[rstest]
#[case::no_such_command(&["no-such-program-session-lab", "{port}"], "threaded", "`no-such-program-session-lab` was not found on PATH")]
#[case::no_such_script(&["./no-such-script.sh"], "threaded", "`./no-such-script.sh` is not an executable file in the submission directory")]
#[case::no_such_directory(&["python3", "server.py"], "no-such-submission", "does not exist: give --dir the folder")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grading_that_cannot_start_is_one_grader_error(
    #[case] words: &[&str],
    #[case] dir: &str,
    #[case] reason: &str,
) {
    let report = grade_command(command(words), submission(dir), Duration::from_secs(2)).await;
    let error = report.error.as_deref().unwrap_or_default();
    assert!(error.contains(reason), "{error:?} should say {reason:?}");
    assert_eq!(ids_with(&report, Status::Failed), [grade::GRADER_ERROR_ID]);
    assert_eq!(report.score().value(), 0.0);
    assert_eq!(report.max_score().value(), server_checks() as f64);
    let human = report::render(&report, report::ReportFormat::Human);
    assert_eq!(human.matches(reason).count(), 1, "one message: {human}");
    assert!(!human.contains("stage1."), "{human}");
}

/// A FIFO in the submission once blocked the copy forever, before any timeout ran. The
/// grading runs on a thread of its own: a copy blocked in `open` would hold up any runtime
/// it ran on, its timers included, and the wait here must end all the same.
#[test]
fn a_fifo_in_the_submission_is_one_grader_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("server.py"), "").unwrap();
    nix::unistd::mkfifo(
        &dir.path().join("requests.fifo"),
        nix::sys::stat::Mode::S_IRWXU,
    )
    .unwrap();
    let words = command(&["python3", "server.py", "{port}"]);
    let submission = dir.path().to_owned();
    let (done, report) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let report = runtime.block_on(grade_command(words, submission, Duration::from_secs(2)));
        let _ = done.send(report);
    });
    let report = report
        .recv_timeout(Duration::from_secs(10))
        .expect("the grading ends, although the submission holds a FIFO");
    let error = report.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("`requests.fifo` is a FIFO (named pipe)"),
        "{error}"
    );
    assert_eq!(ids_with(&report, Status::Failed), [grade::GRADER_ERROR_ID]);
}

#[test]
fn reports_follow_their_formats() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let words = command(&[
        "python3",
        "server.py",
        "{port}",
        "--mistake",
        "not-httponly",
    ]);
    let report = runtime.block_on(grade_command(
        words,
        submission("threaded"),
        Duration::from_secs(10),
    ));

    let json: serde_json::Value =
        serde_json::from_str(&report::render(&report, report::ReportFormat::Json)).unwrap();
    let checks = server_checks();
    assert_eq!(report.max_score().value(), checks as f64);
    assert_eq!(json["stage"], LAST_SERVER_STAGE);
    assert_eq!(json["max_score"], checks);
    assert_eq!(json["score"], checks - 1);
    let failed = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "failed")
        .unwrap();
    assert_eq!(failed["id"], "stage3.session-cookie-httponly");
    for field in [
        "stage",
        "title",
        "message",
        "expected",
        "actual",
        "hint",
        "duration_ms",
    ] {
        assert!(!failed[field].is_null(), "{field} in {failed}");
    }

    let gradescope: serde_json::Value =
        serde_json::from_str(&report::render(&report, report::ReportFormat::Gradescope)).unwrap();
    assert_eq!(gradescope["score"], checks - 1);
    let tests = gradescope["tests"].as_array().unwrap();
    assert_eq!(tests.len(), checks);
    for test in tests {
        for field in ["name", "number", "score", "max_score", "status", "output"] {
            assert!(!test[field].is_null(), "{field} in {test}");
        }
    }
    assert_eq!(tests.iter().filter(|t| t["status"] == "failed").count(), 1);

    let junit = report::render(&report, report::ReportFormat::Junit);
    assert_eq!(junit.matches("<testcase ").count(), checks);
    assert_eq!(
        junit.matches("<testsuite ").count(),
        usize::from(LAST_SERVER_STAGE)
    );
    assert_eq!(junit.matches("<failure").count(), 1);
    assert!(junit.contains("lacks HttpOnly"));
}

/// A rubric weighs stages and checks: the score is in points in every format, a stage's
/// points not named are shared by its other checks, and Gradescope gets each test's points
/// and visibility.
#[test]
fn a_rubric_scores_in_points_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let rubric = dir.path().join("rubric.toml");
    std::fs::write(
        &rubric,
        "[points]\nstage1 = 10\nstage2 = 20\nstage3 = 40\nstage4 = 30\n\"stage3.logout-ends-session\" = 8\n\n[visibility]\ndefault = \"after_published\"\n",
    )
    .unwrap();
    let rubric = rubric.to_str().unwrap();
    let (_, report) = support::grade(
        &["--stage", "4", "--sandbox", "none", "--rubric", rubric],
        &submission("threaded"),
        &[
            "python3",
            "server.py",
            "{port}",
            "--mistake",
            "logout-clears-cookie-only",
        ],
    );
    assert_eq!(report["max_score"], 100, "{report}");
    assert_eq!(report["score"], 92, "{report}");
    assert_eq!(
        support::check(&report, "stage3.logout-ends-session")["points"],
        8
    );
    let gradescope = Command::new(env!("CARGO_BIN_EXE_session-lab"))
        .args([
            "grade",
            "--stage",
            "4",
            "--sandbox",
            "none",
            "--format",
            "gradescope",
            "--rubric",
            rubric,
        ])
        .arg("--dir")
        .arg(submission("threaded"))
        .args(["--", "python3", "server.py", "{port}"])
        .output()
        .unwrap();
    let results: serde_json::Value = serde_json::from_slice(&gradescope.stdout).unwrap();
    assert_eq!(results["score"], 100, "{results}");
    let tests = results["tests"].as_array().unwrap();
    let total: f64 = tests
        .iter()
        .map(|test| test["max_score"].as_f64().unwrap())
        .sum();
    assert!((total - 100.0).abs() < 0.05, "{total}");
    assert!(
        tests
            .iter()
            .all(|test| test["visibility"] == "after_published")
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[points]\n\"stage3.no-such-check\" = 1\n").unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_session-lab"))
        .args([
            "grade",
            "--stage",
            "1",
            "--rubric",
            bad.to_str().unwrap(),
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("`stage3.no-such-check`, which is neither a stage")
    );
}
