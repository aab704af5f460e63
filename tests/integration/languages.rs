//! The grader against solutions in the languages students write them in, through the `grade`
//! command as instructors run it, inside the sandbox and outside it: each correct server
//! (Java's `com.sun.net.httpserver`, Go's `net/http` built and through `go run`, Ruby's WEBrick,
//! PHP's `php -S` with `session_start()`, Express with express-session and a file store,
//! aiohttp) and client (Node's `http`, Go's cookiejar with a save of its own, curl, a table
//! whose columns touch) passes every check, and each mistake that used to slip through, or to
//! fail for the wrong reason, fails exactly its check with a message in the student's terms.
//! The Go fixture's unlocked `hits++` is a race caught by chance, most of the time: how often
//! is a figure, measured by `benches/race_detection.sh` on the release build, not a test.

use crate::support;

use rstest::rstest;
use std::path::{Path, PathBuf};
use support::{bwrap_works, check, grade};

fn submission(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/submissions")
        .join(name)
}

fn client_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/clients")
        .join(name)
}

/// The `--sandbox` values a correct solution must pass with: both, where bubblewrap works.
fn sandbox_option(sandbox: &str) -> Option<[&str; 2]> {
    (sandbox == "none" || bwrap_works()).then_some(["--sandbox", sandbox])
}

/// The ids of the checks of a JSON report that ended with `status`.
fn ids_with<'a>(report: &'a serde_json::Value, status: &str) -> Vec<&'a str> {
    report["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .filter(|check| check["status"] == status)
                .filter_map(|check| check["id"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

/// What a fixture needs installed by `.ci/run` (npm or pip packages), said when it is missing.
fn require(path: &Path, install: &str) {
    assert!(
        path.exists(),
        "{} is missing: run `{install}` (.ci/run does)",
        path.display()
    );
}

#[rstest]
#[case::java_httpserver("java", &["java", "Server.java", "{port}"])]
#[case::go_run("go", &["go", "run", ".", "{port}"])]
#[case::go_built("go", &["sh", "-c", "go build -o server . && exec ./server \"$PORT\""])]
#[case::ruby_webrick("ruby-webrick", &["ruby", "server.rb", "{port}"])]
#[case::php_session_start("php", &["php", "-S", "127.0.0.1:{port}", "index.php"])]
#[case::express_session_file_store("express", &["node", "server.js", "{port}"])]
#[case::aiohttp("aiohttp", &["python3", "server.py", "{port}"])]
fn a_correct_server_in_any_language_passes_in_and_out_of_the_sandbox(
    #[case] name: &str,
    #[case] command: &[&str],
    #[values("none", "bwrap")] sandbox: &str,
) {
    if name == "express" {
        require(
            &submission(name).join("node_modules/express-session"),
            "npm ci --prefix tests/fixtures/submissions/express",
        );
    }
    let Some(sandbox) = sandbox_option(sandbox) else {
        return;
    };
    let (output, report) = grade(
        &[&["--stage", "4"][..], &sandbox].concat(),
        &submission(name),
        command,
    );
    assert_eq!(report["score"], 30, "{report}\n{output:?}");
    assert_eq!(report["max_score"], 30);
    assert_eq!(output.status.code(), Some(0));
}

#[rstest]
#[case::node_http("node-http", "node client.js {url}")]
#[case::go_cookiejar_with_its_own_save("go-cookiejar", "go run . {url}")]
#[case::curl("curl", "./client.sh {url}")]
#[case::a_table_whose_columns_touch("touching-columns", "python3 client.py {url}")]
fn a_correct_client_in_any_language_passes_in_and_out_of_the_sandbox(
    #[case] name: &str,
    #[case] client: &str,
    #[values("none", "bwrap")] sandbox: &str,
) {
    let Some(sandbox) = sandbox_option(sandbox) else {
        return;
    };
    let (output, report) = grade(
        &[&["--only", "5", "--client", client][..], &sandbox].concat(),
        &client_dir(name),
        &[],
    );
    assert_eq!(report["score"], 8, "{report}\n{output:?}");
    assert_eq!(report["max_score"], 8);
}

/// A mistake the grader's clock used to hide: each fails exactly its check, on any day, and
/// says what it is.
#[rstest]
#[case::java_simple_date_format_in_local_time(
    "java",
    &["java", "Server.java", "{port}", "--mistake", "local-time-gmt"],
    "local time labelled GMT"
)]
#[case::python_localtime_with_a_literal_gmt(
    "threaded",
    &["python3", "server.py", "{port}", "--mistake", "expires-localtime-labelled-gmt"],
    "local time labelled GMT"
)]
#[case::java_rfc_1123_formatter_writes_one_digit_days(
    "java",
    &["java", "Server.java", "{port}", "--mistake", "rfc1123-formatter"],
    "one-digit day"
)]
fn a_date_mistake_fails_on_any_day_and_says_what_it_is(
    #[case] name: &str,
    #[case] command: &[&str],
    #[case] says: &str,
) {
    let (_, report) = grade(&["--stage", "4"], &submission(name), command);
    assert_eq!(
        ids_with(&report, "failed"),
        ["stage4.cookiemonster-expires"],
        "{report}"
    );
    let message = check(&report, "stage4.cookiemonster-expires")["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains(says), "{message:?} should say {says:?}");
}

/// A server whose launcher exits at once on SIGTERM (as `go run`, `npm start` and `sh -c` do)
/// while the server it started takes a second to save: the stop waits for every process of
/// the submission, so the save is not cut short. Through a shell that traps the signal, so
/// that the launcher surely goes first.
#[rstest]
#[case::sandboxed("bwrap")]
#[case::unsandboxed("none")]
fn a_launcher_that_exits_first_does_not_cut_its_server_s_save_short(#[case] sandbox: &str) {
    let Some(sandbox) = sandbox_option(sandbox) else {
        return;
    };
    let launcher = "trap 'exit 0' TERM INT; python3 server.py \"$1\" --save-delay 1 & wait";
    let (_, report) = grade(
        &[&["--stage", "2"][..], &sandbox].concat(),
        &submission("threaded"),
        &["sh", "-c", launcher, "sh", "{port}"],
    );
    assert_eq!(report["score"], report["max_score"], "{report}");
}

/// A grader started from a script with `&` inherits "ignore SIGINT"; the JVM then never
/// installs its own handler and ignores Ctrl-C. The submission gets every signal the contract
/// uses at its default, as a program started from a terminal would.
#[test]
fn a_grader_that_inherited_an_ignored_sigint_still_stops_a_java_server_with_it() {
    use std::os::unix::process::CommandExt;
    let out = tempfile::tempdir().unwrap();
    let report_path = out.path().join("report.json");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_session-lab"));
    command
        .args(["grade", "--stage", "2", "--format", "json", "--output"])
        .arg(&report_path)
        .arg("--dir")
        .arg(submission("java"))
        .args(["--", "java", "Server.java", "{port}"]);
    // SAFETY: signal is async-signal-safe; it only changes the child's disposition.
    unsafe {
        command.pre_exec(|| {
            nix::libc::signal(nix::libc::SIGINT, nix::libc::SIG_IGN);
            Ok(())
        });
    }
    support::run_within(&mut command, std::time::Duration::from_secs(240));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(
        check(&report, "stage2.exits-on-sigint")["status"],
        "passed",
        "{report}"
    );
    assert_eq!(report["score"], report["max_score"], "{report}");
}

/// PHP keeps its sessions in /var/lib/php/sessions: a grading has a private copy of it that
/// lasts across the grading's restarts (a login survives one) and is gone with the grading.
#[test]
fn php_sessions_last_across_a_grading_s_restarts_and_not_beyond_it() {
    if !bwrap_works() {
        return;
    }
    let machine_s = Path::new("/var/lib/php/sessions");
    let before = std::fs::read_dir(machine_s).map_or(0, Iterator::count);
    let (_, report) = grade(
        &["--stage", "3", "--sandbox", "bwrap"],
        &submission("php"),
        &["php", "-S", "127.0.0.1:{port}", "index.php"],
    );
    assert_eq!(
        check(&report, "stage3.login-survives-restart")["status"],
        "passed",
        "{report}"
    );
    let after = std::fs::read_dir(machine_s).map_or(0, Iterator::count);
    assert_eq!(
        before, after,
        "the grading wrote into the machine's session folder"
    );
}

/// Messages in the student's terms: where the server listened instead, and that SIGTERM itself
/// killed it. Through `grade`, whose network of its own lets the fixture take port 8000.
#[test]
fn a_server_on_a_port_of_its_own_is_told_which_port_it_took() {
    let (_, report) = grade(
        &["--stage", "1", "--start-timeout", "3"],
        &submission("threaded"),
        &["python3", "server.py", "{port}", "--mistake", "own-port"],
    );
    let message = check(&report, "stage1.listens")["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("it listened on port 8000 instead"),
        "{message}"
    );
}

#[test]
fn a_server_without_a_sigterm_handler_is_told_sigterm_killed_it_unsaved() {
    let (_, report) = grade(
        &["--stage", "2"],
        &submission("threaded"),
        &[
            "python3",
            "server.py",
            "{port}",
            "--mistake",
            "no-save-on-sigterm",
        ],
    );
    assert_eq!(
        ids_with(&report, "failed"),
        ["stage2.restores-after-sigterm"],
        "{report}"
    );
    let message = check(&report, "stage2.restores-after-sigterm")["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("killed by signal 15 (SIGTERM) itself, so it saved nothing"),
        "{message}"
    );
}

/// A client that keeps no jar is told how in its own language.
#[rstest]
#[case::node(
    "node-http",
    "node client.js {url} --mistake no-jar",
    "fs.writeFileSync"
)]
#[case::go(
    "go-cookiejar",
    "go run . -mistake no-jar {url}",
    "net/http/cookiejar keeps nothing on disk"
)]
fn a_client_without_a_jar_gets_a_hint_in_its_own_language(
    #[case] name: &str,
    #[case] client: &str,
    #[case] says: &str,
) {
    let (_, report) = grade(&["--only", "5", "--client", client], &client_dir(name), &[]);
    let jar = check(&report, "stage5.jar-sends-back");
    assert_eq!(jar["status"], "failed", "{report}");
    let hint = jar["hint"].as_str().unwrap_or_default();
    assert!(hint.contains(says), "{hint}");
    assert!(!hint.contains("MozillaCookieJar"), "{hint}");
}

/// Copies the folder `from` (recursively, as `cp -r`) to `to`.
fn copy_folder(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cp -r {} {}",
        from.display(),
        to.display()
    );
}

/// A class in every language, graded by one `grade-class` with no command: each student's
/// server starts as its Procfile says or its files show, a submission that shows two ways or
/// fails its build fails its start with what to fix, and JSON, CSV and `index.html` say per
/// student which command ran and where it came from.
#[test]
fn a_class_in_every_language_is_graded_in_one_run_without_a_command() {
    require(
        &submission("express").join("node_modules/express-session"),
        "npm ci --prefix tests/fixtures/submissions/express",
    );
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let correct = [
        ("alice-python", "threaded", "found server.py"),
        ("bob-flask", "flask", "found app.py"),
        ("carol-node", "node", "found server.js"),
        ("dan-express", "express", "found package.json"),
        ("erin-go", "go", "found go.mod"),
        ("femi-java", "java", "found Server.java"),
        ("gus-ruby", "ruby-webrick", "found server.rb"),
        ("hana-php", "php", "the Procfile"),
    ];
    for (student, fixture, _) in correct {
        copy_folder(&submission(fixture), &class.path().join(student));
    }
    std::fs::write(
        class.path().join("hana-php/Procfile"),
        "# php's own server, with the router that counts every hit\nweb: php -S 127.0.0.1:$PORT index.php\n",
    )
    .unwrap();
    // Wrapped in one folder, as an upload often is.
    let wrapped = class.path().join("ivy-wrapped");
    std::fs::create_dir(&wrapped).unwrap();
    copy_folder(&submission("threaded"), &wrapped.join("my-solution"));
    let two = class.path().join("jo-two-ways");
    copy_folder(&submission("threaded"), &two);
    std::fs::copy(submission("node").join("server.js"), two.join("server.js")).unwrap();
    let broken = class.path().join("kim-broken-build");
    copy_folder(&submission("go"), &broken);
    let mut main = std::fs::OpenOptions::new()
        .append(true)
        .open(broken.join("main.go"))
        .unwrap();
    std::io::Write::write_all(&mut main, b"\nfunc broken( {\n").unwrap();

    let output = support::run_within(
        std::process::Command::new(env!("CARGO_BIN_EXE_session-lab"))
            .arg("grade-class")
            .arg(class.path())
            .arg("--out")
            .arg(out.path())
            .args(["--stage", "4", "--jobs", "6"]),
        std::time::Duration::from_secs(600),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let report = |student: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(out.path().join(format!("{student}.json"))).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    for (student, _, from) in
        correct
            .iter()
            .copied()
            .chain([("ivy-wrapped", "", "found server.py")])
    {
        let json = report(student);
        assert_eq!(json["score"], 30, "{student}: {json}");
        assert_eq!(json["commands"]["server"]["from"], from, "{student}");
    }
    assert_eq!(
        report("hana-php")["commands"]["server"]["command"],
        "php -S 127.0.0.1:{port} index.php"
    );
    assert_eq!(
        report("erin-go")["commands"]["server"]["build"],
        "go build -o ./.session-lab-server ."
    );
    let started = |student: &str| {
        let json = report(student);
        assert_eq!(json["score"], 0, "{student}: {json}");
        support::check(&json, "stage1.listens")["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        started("jo-two-ways")
            .contains("found server.py and server.js: add a Procfile saying which one starts"),
        "{}",
        started("jo-two-ways")
    );
    let build = started("kim-broken-build");
    assert!(
        build.contains("the build `go build -o ./.session-lab-server .` failed")
            && build.contains("syntax error"),
        "{build}"
    );

    let mut csv = csv::Reader::from_path(out.path().join("grades.csv")).unwrap();
    let header = csv.headers().unwrap().clone();
    let column = header
        .iter()
        .position(|name| name == "server_command")
        .unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    let cell = |student: &str| {
        rows.iter()
            .find(|row| &row[0] == student)
            .map(|row| row[column].to_owned())
            .unwrap()
    };
    assert_eq!(
        cell("carol-node"),
        "node server.js {port} (found server.js)"
    );
    assert_eq!(
        cell("hana-php"),
        "php -S 127.0.0.1:{port} index.php (the Procfile)"
    );
    let index = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(
        index.contains("<code>java Server.java {port} (found Server.java)</code>"),
        "{index}"
    );
}

/// `grade --dir` with no command follows the same rules as `grade-class`: a Procfile, in a
/// submission wrapped in one folder, starts it.
#[test]
fn grade_with_no_command_starts_what_the_submission_says_inside_its_wrapper() {
    let dir = tempfile::tempdir().unwrap();
    let inside = dir.path().join("solution");
    copy_folder(&submission("threaded"), &inside);
    std::fs::rename(inside.join("server.py"), inside.join("counter.py")).unwrap();
    std::fs::write(inside.join("Procfile"), "web: python3 counter.py $PORT\n").unwrap();
    let (output, report) = grade(&["--stage", "4"], dir.path(), &[]);
    assert_eq!(report["score"], 30, "{report}\n{output:?}");
    assert_eq!(
        report["commands"]["server"]["command"],
        "python3 counter.py {port}"
    );
    assert_eq!(report["commands"]["server"]["source"], "procfile");
    assert_eq!(output.status.code(), Some(0));
}

/// A Procfile naming a program that is not there is the student's mistake, said as such: the
/// start fails with what is wrong, and the grader itself ran (exit 1, not 2).
#[test]
fn a_procfile_that_names_no_program_fails_the_start_not_the_grader() {
    let dir = tempfile::tempdir().unwrap();
    copy_folder(&submission("threaded"), &dir.path().join("s"));
    std::fs::write(
        dir.path().join("s/Procfile"),
        "web: pyhton3 server.py $PORT\n",
    )
    .unwrap();
    let (output, report) = grade(&["--stage", "1"], &dir.path().join("s"), &[]);
    assert_eq!(output.status.code(), Some(1), "{report}");
    let message = support::check(&report, "stage1.listens")["message"]
        .as_str()
        .unwrap();
    assert!(
        message.contains("the Procfile's command cannot run: the command `pyhton3` was not found"),
        "{message}"
    );
}
