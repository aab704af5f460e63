//! The grader against hostile submissions (`tests/fixtures/hostile/`), through the `grade`
//! command as instructors run it, sandbox on: each attack is contained, the verdict and the
//! report are honest, no process of the submission is left and nothing outside its scratch
//! copy changed. Where bubblewrap cannot work on the machine, each test says so and checks
//! that `--sandbox auto` falls back with a warning instead.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{bwrap_works, check, grade, processes_named};

fn marker(what: &str) -> String {
    format!("sl{what}{}", std::process::id() % 100_000)
}

const BIN: &str = env!("CARGO_BIN_EXE_session-lab");

fn hostile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile")
}

#[test]
fn a_spy_reads_writes_forges_and_signals_nothing_outside_its_copy() {
    if !bwrap_works() {
        return;
    }
    let submission = tempfile::tempdir().unwrap();
    std::fs::copy(hostile().join("spy.py"), submission.path().join("spy.py")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let report_path = out.path().join("report.json");
    let host_service = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host_port = host_service.local_addr().unwrap().port().to_string();
    let begun = Instant::now();
    let mut child = Command::new(BIN)
        .args([
            "grade",
            "--stage",
            "1",
            "--sandbox",
            "bwrap",
            "--env",
            "GIVEN=1",
        ])
        .args(["--format", "json", "--output"])
        .arg(&report_path)
        .arg("--dir")
        .arg(submission.path())
        .args(["--", "python3", "spy.py"])
        .arg(submission.path())
        .arg(&report_path)
        .arg(&host_port)
        .env("GRADER_SECRET_TOKEN", "do-not-leak")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(begun.elapsed() < Duration::from_secs(30));
    assert_eq!(status.code(), Some(1), "a failed check, honestly");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["sandbox"], "bwrap");
    assert_eq!(report["score"], 0, "{report}");
    let listens = check(&report, "stage1.listens");
    assert_eq!(listens["status"], "failed");
    let output = listens["output_tail"].as_str().unwrap_or_default();
    for attempt in [
        "read-shadow",
        "read-original",
        "write-original",
        "forge-report",
        "host-service",
    ] {
        assert!(
            output.contains(&format!("ATTEMPT {attempt}: refused")),
            "{attempt} was not refused:\n{output}"
        );
    }
    // /root holds nothing but the mount point of pyenv's Python, where that is the one used.
    assert!(
        output.contains("ATTEMPT list-root: refused")
            || output.contains("ATTEMPT list-root: DONE []")
            || output.contains("ATTEMPT list-root: DONE ['.pyenv']"),
        "{output}"
    );
    assert!(!output.contains("do-not-leak"), "{output}");
    // The server's clock: its zone, and its date moved where libfaketime is installed.
    let faketime = Path::new("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1").exists();
    let given = if faketime {
        // libfaketime tells the processes it is loaded in where its shared clock is.
        "ENV FAKETIME FAKETIME_SHARED GIVEN HOME LANG LD_PRELOAD PATH PORT PWD TZ\n"
    } else {
        "ENV GIVEN HOME LANG PATH PORT PWD TZ\n"
    };
    assert!(output.contains(given), "{output}");
    assert!(!output.contains("UID 0\n"), "{output}");
    assert_eq!(
        std::fs::read_dir(submission.path()).unwrap().count(),
        1,
        "nothing was written into the original folder"
    );
}

#[test]
fn an_escaped_daemon_neither_survives_nor_fakes_persistence() {
    if !bwrap_works() {
        return;
    }
    let marker = marker("esc");
    let (output, report) = grade(
        &["--stage", "2", "--sandbox", "bwrap"],
        &hostile(),
        &["python3", "escape.py", "{port}", &marker],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    // The stop waits for every process of the submission: the daemon is one, still running
    // when the deadline comes, and named.
    for signal in ["sigint", "sigterm"] {
        let exits = check(&report, &format!("stage2.exits-on-{signal}"));
        assert_eq!(exits["status"], "failed", "{report}");
        let actual = exits["actual"].as_str().unwrap_or_default();
        assert!(actual.starts_with("still running: "), "{report}");
        assert_eq!(
            check(&report, &format!("stage2.restores-after-{signal}"))["status"],
            "skipped",
            "{report}"
        );
    }
    assert_eq!(processes_named(&marker), Vec::<u32>::new(), "left running");
}

#[test]
fn a_fork_flood_is_bounded_and_leaves_nothing() {
    if !bwrap_works() {
        return;
    }
    let marker = marker("fork");
    let (output, report) = grade(
        &["--stage", "1", "--sandbox", "bwrap", "--start-timeout", "3"],
        &hostile(),
        &["python3", "exhaust.py", "fork", &marker],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let listens = check(&report, "stage1.listens");
    assert!(
        listens["output_tail"]
            .as_str()
            .unwrap_or_default()
            .contains("fork refused after"),
        "{report}"
    );
    assert_eq!(processes_named(&marker), Vec::<u32>::new(), "left running");
}

#[test]
fn a_busy_loop_is_stopped_by_the_cpu_limit_which_the_failure_names() {
    if !bwrap_works() {
        return;
    }
    let (output, report) = grade(
        &[
            "--stage",
            "1",
            "--sandbox",
            "bwrap",
            "--cpu-limit",
            "1",
            "--start-timeout",
            "30",
        ],
        &hostile(),
        &["python3", "exhaust.py", "cpu", "busy"],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let message = check(&report, "stage1.listens")["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("CPU time limit (1 s, --cpu-limit)"),
        "{message}"
    );
}

/// The sandbox costs a correct solution nothing: every style still passes every check.
#[rstest::rstest]
#[case::threaded("threaded", &["python3", "server.py", "{port}"])]
#[case::keep_alive("keep-alive", &["python3", "server.py"])]
#[case::flask("flask", &["python3", "app.py", "{port}"])]
#[case::node("node", &["node", "server.js", "{port}"])]
fn a_correct_solution_passes_every_check_inside_the_sandbox(
    #[case] name: &str,
    #[case] command: &[&str],
) {
    if !bwrap_works() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/submissions")
        .join(name);
    let (output, report) = grade(&["--sandbox", "bwrap"], &dir, command);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert_eq!(report["sandbox"], "bwrap");
    assert_eq!(report["score"], report["max_score"], "{report}");
}

/// Clients run in the sandbox too, with the jar kept in their scratch copy between runs: every
/// style still passes every stage-5 check.
#[rstest::rstest]
#[case::requests("requests", "python3 client.py {url}")]
#[case::urllib("urllib", "python3 client.py {url}")]
#[case::curl("curl", "./client.sh {url}")]
#[case::handmade("handmade", "python3 client.py {url}")]
#[case::node_fetch("node-fetch", "node client.js {url}")]
fn a_correct_client_passes_every_check_inside_the_sandbox(
    #[case] name: &str,
    #[case] client: &str,
) {
    if !bwrap_works() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/clients")
        .join(name);
    let (output, report) = grade(
        &["--only", "5", "--sandbox", "bwrap", "--client", client],
        &dir,
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert_eq!(report["sandbox"], "bwrap");
    assert_eq!(report["score"], report["max_score"], "{report}");
}

/// A submission that builds a 16,000-level tree in its scratch folder, beside a student whose
/// folder is named with terminal escapes: the class still gets every report and its
/// `grades.csv`, the tree is gone afterwards, and no control character reaches the CSV or the
/// terminal.
#[test]
fn a_deep_tree_is_removed_and_escapes_in_names_stay_text_and_the_class_gets_its_outputs() {
    let class = tempfile::tempdir().unwrap();
    // The run folders go here, where the test can see that none is left; the sandbox's user
    // must be able to pass through it.
    let temp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let deep = class.path().join("deep");
    std::fs::create_dir(&deep).unwrap();
    std::fs::copy(hostile().join("deep_tree.py"), deep.join("server.py")).unwrap();
    let named = class.path().join("\x1b]0;pwned\x07\x1b[2Jeve\r");
    std::fs::create_dir(&named).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/submissions/threaded/server.py"),
        named.join("server.py"),
    )
    .unwrap();
    let out = class.path().join("results");
    let output = support::run_within(
        Command::new(BIN)
            .arg("grade-class")
            .arg(class.path())
            .arg("--out")
            .arg(&out)
            .args([
                "--stage",
                "1",
                "--jobs",
                "2",
                "--",
                "python3",
                "server.py",
                "{port}",
            ])
            .env("TMPDIR", temp.path()),
        Duration::from_secs(240),
    );
    let printed = [output.stdout.as_slice(), output.stderr.as_slice()].concat();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&printed)
    );
    let csv = std::fs::read_to_string(out.join("grades.csv")).unwrap();
    assert!(csv.contains("\ndeep,8,8,graded"), "{csv}");
    assert!(
        csv.contains("\\x1b]0;pwned\\x07\\x1b[2Jeve\\r,8,8,graded"),
        "{csv}"
    );
    for text in [csv.as_bytes(), &printed] {
        for control in [0x1b, 0x07, b'\r'] {
            assert!(
                !text.contains(&control),
                "{control:#x} in {}",
                String::from_utf8_lossy(text)
            );
        }
    }
    let left: Vec<_> = std::fs::read_dir(temp.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A server that prints terminal escapes (clear screen, cursor home, a window title, a forged
/// score) and fails a check: `grade` shows its output as text, on a terminal or in a file.
#[test]
fn a_server_s_terminal_escapes_are_shown_as_text_not_obeyed() {
    let forged = r#"printf '\033[2J\033[H\033]0;pwned\007\342\234\223 Score: 30/30\r\342\200\256'"#;
    let launcher = format!("{forged}; exec python3 server.py \"$1\" --mistake not-httponly");
    let output = support::run_within(
        Command::new(BIN)
            .args(["grade", "--stage", "3", "--dir"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/submissions/threaded"))
            .args(["--", "sh", "-c", &launcher, "sh", "{port}"]),
        Duration::from_secs(240),
    );
    let stdout = &output.stdout;
    for control in [0x1b, 0x07, b'\r'] {
        assert!(
            !stdout.contains(&control),
            "{control:#x} in {}",
            String::from_utf8_lossy(stdout)
        );
    }
    let shown = String::from_utf8_lossy(stdout);
    assert!(!shown.contains('\u{202e}'), "{shown}");
    assert!(
        shown.contains(r"| \x1b[2J\x1b[H\x1b]0;pwned\x07✓ Score: 30/30\r\u{202e}"),
        "{shown}"
    );
    assert!(shown.contains("passed, 1 failed, 0 skipped"), "{shown}");
}

/// A `TMPDIR` that only root may enter: the sandbox's user could not reach its run folder, and
/// the grader says which folder, and what to do, rather than that bubblewrap cannot run.
#[test]
fn a_temporary_folder_the_sandbox_cannot_reach_is_named() {
    if !nix::unistd::geteuid().is_root() || !bwrap_works() {
        return;
    }
    let closed = tempfile::tempdir().unwrap();
    std::fs::set_permissions(closed.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let temp = closed.path().join("tmp");
    std::fs::create_dir(&temp).unwrap();
    std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let output = support::run_within(
        Command::new(BIN)
            .args(["grade", "--stage", "1", "--sandbox", "bwrap", "--dir"])
            .arg(hostile())
            .args(["--", "true"])
            .env("TMPDIR", &temp),
        Duration::from_secs(60),
    );
    let printed = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{printed}");
    assert!(
        printed.contains(&format!(
            "the sandbox's user cannot pass through {} (mode 0700)",
            closed.path().display()
        )),
        "{printed}"
    );
    assert!(!printed.contains("install it"), "{printed}");
}

/// `cargo install` as root puts the binaries under the 0700 /root: the sandbox's first process
/// is reached all the same.
#[test]
fn a_grader_installed_where_only_root_may_enter_still_sandboxes() {
    if !nix::unistd::geteuid().is_root() || !bwrap_works() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let installed = home.path().join("bin");
    std::fs::create_dir(&installed).unwrap();
    for binary in [BIN, env!("CARGO_BIN_EXE_session-lab-init")] {
        let name = Path::new(binary).file_name().unwrap();
        std::fs::copy(binary, installed.join(name)).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("report.json");
    let output = support::run_within(
        Command::new(installed.join("session-lab"))
            .args([
                "grade",
                "--stage",
                "1",
                "--sandbox",
                "bwrap",
                "--format",
                "json",
                "--output",
            ])
            .arg(&report)
            .arg("--dir")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/submissions/threaded"))
            .args(["--", "python3", "server.py", "{port}"]),
        Duration::from_secs(120),
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(json["sandbox"], "bwrap", "{output:?}");
    assert_eq!(json["score"], 8, "{json}");
}

/// A server that visits every port listening on loopback, the grader's cookie site among them:
/// it is stopped before the checks that judge the client alone, so a correct client still
/// passes every one of them.
#[test]
fn a_server_that_visits_the_cookie_site_cannot_sway_the_client_s_verdict() {
    let (_, report) = grade(
        &[
            "--stage",
            "5",
            "--client",
            "python3 client.py {url}",
            "--client-dir",
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/clients/requests")
                .to_string_lossy(),
        ],
        &hostile(),
        &["python3", "poke_site.py", "{port}"],
    );
    for id in [
        "stage5.client-runs",
        "stage5.client-follows-redirects",
        "stage5.client-lists-cookies",
        "stage5.client-shows-expiry",
        "stage5.jar-sends-back",
        "stage5.jar-drops-session-cookies",
        "stage5.jar-matches-path-and-domain",
        "stage5.jar-honours-deletion",
    ] {
        assert_eq!(check(&report, id)["status"], "passed", "{id}: {report}");
    }
}

/// How much `exhaust.py` got before the system refused it, as its output says after `words`.
fn refused_after(report: &serde_json::Value, words: &str) -> u64 {
    check(report, "stage1.listens")["output_tail"]
        .as_str()
        .unwrap_or_default()
        .split(words)
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no {words:?} in {report}"))
}

/// The failure to start names the limit the program met.
fn assert_names_the_limit(report: &serde_json::Value, limit: &str) {
    let message = check(report, "stage1.listens")["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains(limit), "{message}");
}

/// Open files are bounded per process, and the failure names the limit it met.
#[test]
fn open_files_are_bounded_and_the_failure_names_the_limit() {
    if !bwrap_works() {
        return;
    }
    let (_, report) = grade(
        &[
            "--stage",
            "1",
            "--sandbox",
            "bwrap",
            "--open-file-limit",
            "256",
        ],
        &hostile(),
        &["python3", "exhaust.py", "files", "files"],
    );
    let opened = refused_after(&report, "open refused after ");
    assert!(opened < 256, "{opened} files were opened");
    assert_names_the_limit(&report, "256 open files per process (--open-file-limit)");
}

/// Eight processes of 256 MiB each, every one within the per-process limit: together they meet
/// the grading's memory limit, the kernel kills within that grading only, the failure says so,
/// and the report names the bounds in force.
#[test]
fn a_grading_s_memory_is_bounded_as_a_whole_and_the_failure_says_so() {
    if !nix::unistd::geteuid().is_root() || !bwrap_works() {
        return;
    }
    let (_, report) = grade(
        &[
            "--stage",
            "1",
            "--sandbox",
            "bwrap",
            "--grading-memory",
            "512",
            "--start-timeout",
            "4",
        ],
        &hostile(),
        &["python3", "exhaust.py", "memory", "memory"],
    );
    let bounds = report["bounds"].as_str().unwrap_or_default();
    if bounds.contains("memory not bounded") {
        eprintln!("no memory cgroup can be made on this machine, and the report says so: {bounds}");
        return;
    }
    assert!(bounds.contains("512 MiB a grading"), "{report}");
    let tail = check(&report, "stage1.listens")["output_tail"]
        .as_str()
        .unwrap_or_default();
    assert!(
        tail.contains("reached the grading's memory limit of 512 MiB (--grading-memory)"),
        "{report}"
    );
}

/// Files of 32 MiB each, every one within the per-file limit, into the folder and `/tmp`: what
/// a grading writes is bounded as a whole, the failure names the limit, and nothing stays
/// mounted or written.
#[test]
fn what_a_grading_writes_is_bounded_as_a_whole_and_the_failure_says_so() {
    if !nix::unistd::geteuid().is_root() || !bwrap_works() {
        return;
    }
    // Its run folders go here, where the test can see that nothing is left.
    let temp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let report_path = out.path().join("report.json");
    support::run_within(
        Command::new(BIN)
            .args([
                "grade",
                "--stage",
                "1",
                "--sandbox",
                "bwrap",
                "--scratch-limit",
                "128",
            ])
            .args(["--start-timeout", "4", "--format", "json", "--output"])
            .arg(&report_path)
            .arg("--dir")
            .arg(hostile())
            .args(["--", "python3", "exhaust.py", "disk", "disk"])
            .env("TMPDIR", temp.path()),
        Duration::from_secs(120),
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let written = refused_after(&report, "write refused after ");
    assert!(written < 128, "{written} MiB were written");
    assert_names_the_limit(&report, "128 MiB written in all (--scratch-limit)");
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let here = temp.path().to_string_lossy().into_owned();
    assert!(
        !mounts.contains(&here),
        "a tmpfs was left mounted: {mounts}"
    );
    let left: Vec<_> = std::fs::read_dir(temp.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A folder holding the correct Python server, for a test to add a Procfile to.
fn threaded_submission() -> tempfile::TempDir {
    let submission = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/submissions/threaded/server.py"),
        submission.path().join("server.py"),
    )
    .unwrap();
    submission
}

/// A command the submission wrote (its Procfile) decides nothing of what the sandbox mounts:
/// naming a program of the host's, outside the standard tree, mounts neither the program nor
/// its folder (an instructor's command would have the folder it lives in).
#[test]
fn a_procfile_naming_a_host_program_mounts_nothing_of_the_host() {
    if !bwrap_works() {
        return;
    }
    let host = Path::new(env!("CARGO_TARGET_TMPDIR")).join(marker("host-tool"));
    std::fs::create_dir_all(host.join("bin")).unwrap();
    std::fs::write(host.join("secret-course-key"), "the answers").unwrap();
    let tool = host.join("bin/peek");
    std::fs::write(&tool, format!("#!/bin/sh\nls {}\nexit 1\n", host.display())).unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let submission = threaded_submission();
    std::fs::write(
        submission.path().join("Procfile"),
        format!("build: {}\nweb: python3 server.py $PORT\n", tool.display()),
    )
    .unwrap();
    let (output, report) = grade(
        &["--stage", "1", "--sandbox", "bwrap"],
        submission.path(),
        &[],
    );
    let text = report.to_string();
    assert!(!text.contains("secret-course-key"), "{text}\n{output:?}");
    let failure = check(&report, "stage1.listens")["message"]
        .as_str()
        .unwrap();
    assert!(failure.contains("the build"), "{failure}");
    std::fs::remove_dir_all(&host).unwrap();
}

/// A build ends when its command does: what it left running (a compiler's daemon) is killed
/// then, and the server starts.
#[test]
fn a_build_that_leaves_a_process_behind_ends_with_its_command() {
    let Some(sandbox) = ["bwrap", "none"]
        .into_iter()
        .find(|sandbox| *sandbox == "none" || bwrap_works())
    else {
        return;
    };
    let submission = threaded_submission();
    let daemon = marker("build-daemon");
    std::fs::write(
        submission.path().join("Procfile"),
        format!("build: sh -c 'exec -a {daemon} sleep 1000' > /dev/null 2>&1 &\nweb: python3 server.py $PORT\n"),
    )
    .unwrap();
    let begun = Instant::now();
    let (output, report) = grade(
        &[
            "--stage",
            "1",
            "--sandbox",
            sandbox,
            "--build-timeout",
            "30",
        ],
        submission.path(),
        &[],
    );
    assert_eq!(report["score"], 8, "{report}\n{output:?}");
    assert!(
        begun.elapsed() < Duration::from_secs(25),
        "{:?}",
        begun.elapsed()
    );
    assert_eq!(processes_named(&daemon), Vec::<u32>::new());
}
