//! `session-lab grade-class` as instructors run it: a class of folders and zips, correct and
//! broken, graded in parallel; a CSV checked cell by cell against the students' own reports; an
//! overview that a real browser loads, lists and sorts; a run that resumes without regrading
//! and that Ctrl-C ends without losing a report or leaving a process. Also the course platforms:
//! GitHub Classroom's result, decoded field by field, and the Gradescope scripts.

use crate::support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_session-lab");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/submissions")
        .join(name)
}

/// A student whose `server.py` runs the threaded fixture with `mistake` switched on.
fn student_with_mistake(class: &Path, student: &str, mistake: &str) -> PathBuf {
    let folder = class.join(student);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(
        fixture("threaded").join("server.py"),
        folder.join("real.py"),
    )
    .unwrap();
    std::fs::write(
        folder.join("server.py"),
        format!(
            "import runpy, sys\nsys.argv = ['real.py', sys.argv[1], '--mistake', '{mistake}']\nrunpy.run_path('real.py', run_name='__main__')\n"
        ),
    )
    .unwrap();
    folder
}

fn correct_student(class: &Path, student: &str) -> PathBuf {
    let folder = class.join(student);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(
        fixture("threaded").join("server.py"),
        folder.join("server.py"),
    )
    .unwrap();
    folder
}

/// Zips `folder` (as `name/…`, the way an LMS export wraps it) into `zip`, and removes it.
fn zip_folder(folder: &Path, zip: &Path) {
    let mut writer = zip::ZipWriter::new(std::fs::File::create(zip).unwrap());
    let name = folder.file_name().unwrap().to_str().unwrap();
    for entry in std::fs::read_dir(folder).unwrap() {
        let entry = entry.unwrap();
        writer
            .start_file(
                format!("{name}/{}", entry.file_name().to_str().unwrap()),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
        writer
            .write_all(&std::fs::read(entry.path()).unwrap())
            .unwrap();
    }
    writer.finish().unwrap();
    std::fs::remove_dir_all(folder).unwrap();
}

/// `grade-class CLASS --out OUT OPTIONS -- python3 server.py {port} EXTRA…`.
fn class_command(class: &Path, out: &Path, options: &[&str], extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("grade-class")
        .arg(class)
        .arg("--out")
        .arg(out)
        .args(options)
        .args(["--", "python3", "server.py", "{port}"])
        .args(extra);
    command
}

fn grade_class(class: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut options = vec!["--stage", "4", "--jobs", "4"];
    options.extend(extra);
    support::run_within(
        &mut class_command(class, out, &options, &[]),
        Duration::from_secs(300),
    )
}

fn report(out: &Path, student: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join(format!("{student}.json")))
        .unwrap_or_else(|e| panic!("no report for {student}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The mixed class: correct folders and zips, two mistakes, one that never starts, an unsafe
/// zip, and a stray file.
fn mixed_class(class: &Path) -> Vec<(&'static str, &'static str, Option<&'static str>)> {
    correct_student(class, "alice");
    zip_folder(&correct_student(class, "bob"), &class.join("bob.zip"));
    student_with_mistake(class, "carol", "hits-off-by-one");
    zip_folder(
        &student_with_mistake(class, "dave", "not-httponly"),
        &class.join("dave.zip"),
    );
    let erin = class.join("erin");
    std::fs::create_dir_all(&erin).unwrap();
    std::fs::write(erin.join("server.py"), "import sys\nsys.exit(3)\n").unwrap();
    let mut evil = zip::ZipWriter::new(std::fs::File::create(class.join("frank.zip")).unwrap());
    evil.start_file("../../escaped.py", zip::write::SimpleFileOptions::default())
        .unwrap();
    evil.write_all(b"print('out')").unwrap();
    evil.finish().unwrap();
    std::fs::write(class.join("notes.txt"), "not a submission").unwrap();
    // student, status in grades.csv, the one failing check where there is one
    vec![
        ("alice", "graded", None),
        ("bob", "graded", None),
        ("carol", "graded", Some("stage1.counts-this-request")),
        ("dave", "graded", Some("stage3.session-cookie-httponly")),
        ("erin", "did-not-start", Some("stage1.listens")),
        ("frank", "did-not-start", Some("grader.could-not-run")),
        ("notes.txt", "skipped", None),
    ]
}

#[test]
fn a_mixed_class_gets_a_report_each_a_csv_that_agrees_with_them_and_resumes_without_regrading() {
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let expected = mixed_class(class.path());

    let output = grade_class(class.path(), out.path(), &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // An entry that is no submission (notes.txt) is named, and the exit status says so.
    assert_eq!(output.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("warning: notes.txt was not graded: neither a folder nor a .zip"),
        "{stderr}"
    );
    assert!(!class.path().parent().unwrap().join("escaped.py").exists());

    let mut csv = csv::Reader::from_path(out.path().join("grades.csv")).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[..4], ["student", "score", "max_score", "status"]);
    let rows: Vec<Vec<String>> = csv
        .records()
        .map(|record| record.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let students: Vec<&str> = rows.iter().map(|row| row[0].as_str()).collect();
    assert_eq!(
        students,
        expected
            .iter()
            .map(|(student, ..)| *student)
            .collect::<Vec<_>>(),
        "one row per entry, sorted by id"
    );
    // After the checks: the commands, who the student is, and why an entry was not graded.
    let commands = header
        .iter()
        .position(|name| name == "server_command")
        .unwrap();
    assert_eq!(
        header[commands..],
        [
            "server_command",
            "client_command",
            "name",
            "email",
            "late",
            "commit",
            "not_graded_because"
        ]
    );
    for (row, (student, status, failing)) in rows.iter().zip(&expected) {
        assert_eq!(row[3], *status, "{student}: {row:?}");
        if *status == "skipped" {
            let (why, rest) = row.split_last().unwrap();
            assert!(
                rest[1..3].iter().chain(&rest[4..]).all(String::is_empty),
                "{row:?}"
            );
            assert!(!why.is_empty(), "{row:?}");
            continue;
        }
        let json = report(out.path(), student);
        assert_eq!(json["student"], *student);
        assert_eq!(json["submission_sha256"].as_str().unwrap().len(), 64);
        assert_eq!(row[1], json["score"].to_string(), "{student}");
        assert_eq!(row[2], json["max_score"].to_string(), "{student}");
        let checks = json["checks"].as_array().unwrap();
        for (column, cell) in header[4..commands].iter().zip(&row[4..commands]) {
            let status = checks
                .iter()
                .find(|check| check["id"] == column.as_str())
                .map(|check| check["status"].as_str().unwrap());
            let expected_cell = match status {
                Some("passed") => "1",
                Some("failed") => "0",
                _ => "",
            };
            assert_eq!(cell, expected_cell, "{student}, {column}");
        }
        let failed: Vec<&str> = checks
            .iter()
            .filter(|check| check["status"] == "failed")
            .map(|check| check["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            failed,
            failing.iter().copied().collect::<Vec<_>>(),
            "{student}"
        );
        assert!(out.path().join(format!("{student}.txt")).exists());
        assert!(
            out.path()
                .join("pages")
                .join(format!("{student}.html"))
                .exists()
        );
    }
    let frank = report(out.path(), "frank");
    assert!(
        frank["error"].as_str().unwrap().contains("leads outside"),
        "{frank}"
    );

    // Again: nothing changed, so nothing is graded again and every report stays as it was.
    let before: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|student| std::fs::read_to_string(out.path().join(format!("{student}.json"))).unwrap())
        .collect();
    std::fs::write(
        class.path().join("carol").join("server.py"),
        std::fs::read(fixture("threaded").join("server.py")).unwrap(),
    )
    .unwrap();
    let begun = Instant::now();
    let output = grade_class(class.path(), out.path(), &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(3),
        "notes.txt is still no submission: {stdout}"
    );
    // frank's zip could not be graded at all: a report that says so is tried again each run.
    assert_eq!(
        stdout.matches("report up to date, kept").count(),
        4,
        "{stdout}"
    );
    assert!(begun.elapsed() < Duration::from_secs(60));
    for (student, text) in ["alice", "bob"].iter().zip(&before) {
        assert_eq!(
            &std::fs::read_to_string(out.path().join(format!("{student}.json"))).unwrap(),
            text
        );
    }
    // carol fixed her server: she alone was graded again, and now passes.
    assert_ne!(
        std::fs::read_to_string(out.path().join("carol.json")).unwrap(),
        before[2]
    );
    assert_eq!(
        report(out.path(), "carol")["score"],
        report(out.path(), "carol")["max_score"]
    );

    let output = grade_class(class.path(), out.path(), &["--force"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout)
            .matches("kept")
            .count(),
        0,
        "--force grades everyone again"
    );
}

/// The overview in a real browser (Debian's chromium, headless): it loads without a console
/// message, shows one row per entry, and sorts by score and by id.
#[test]
fn the_overview_loads_in_a_browser_with_a_row_per_student_and_sorts() {
    let Some(chromium) = support::chromium() else {
        return;
    };
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    correct_student(class.path(), "zed");
    student_with_mistake(class.path(), "amy", "only-get-counted");
    // A student id a careless page would run as HTML.
    correct_student(class.path(), "<img src=x onerror=console.error(1)>");
    let erin = class.path().join("erin");
    std::fs::create_dir_all(&erin).unwrap();
    std::fs::write(
        erin.join("server.py"),
        "print('<script>console.error(2)</script>')\n",
    )
    .unwrap();
    std::fs::write(class.path().join("notes.txt"), "x").unwrap();
    let output = grade_class(class.path(), out.path(), &[]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "notes.txt is not graded: {output:?}"
    );

    let load = |page: &Path, hash: &str| {
        let url = format!("file://{}{hash}", page.display());
        let output = support::headless_dom(chromium, &["--enable-logging=stderr", "--v=0"], &url);
        let console: Vec<String> = String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|line| line.contains(":CONSOLE"))
            .map(str::to_owned)
            .collect();
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            console,
        )
    };
    // The check can fail: a page that logs is caught.
    let noisy = out.path().join("noisy.html");
    std::fs::write(&noisy, "<script>console.error('boom')</script>").unwrap();
    assert!(
        !load(&noisy, "").1.is_empty(),
        "console messages are not seen"
    );

    let index = out.path().join("index.html");
    let rows = |dom: &str| -> Vec<String> {
        dom.split("<tr data-student=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().to_owned())
            .collect()
    };
    let (dom, console) = load(&index, "");
    assert!(console.is_empty(), "{console:?}");
    assert_eq!(
        rows(&dom),
        [
            "&lt;img src=x onerror=console.error(1)&gt;",
            "amy",
            "erin",
            "notes.txt",
            "zed"
        ],
        "one row per entry, by id"
    );
    let (by_score, console) = load(&index, "#sort=score");
    assert!(console.is_empty(), "{console:?}");
    assert_eq!(
        rows(&by_score),
        [
            "&lt;img src=x onerror=console.error(1)&gt;",
            "zed",
            "amy",
            "erin",
            "notes.txt"
        ],
        "highest score first, ties by id"
    );
    let (by_id, _) = load(&index, "#sort=student");
    assert_eq!(rows(&by_id), rows(&dom));
    for student in ["erin", "<img src=x onerror=console.error(1)>"] {
        let (page, console) = load(
            &out.path().join("pages").join(format!("{student}.html")),
            "",
        );
        assert!(console.is_empty(), "{student}: {console:?}");
        assert!(page.contains("stage1.listens"), "{page}");
    }

    // At a glance: a title without the password's hash, the students who never started
    // counted apart, the charts, the failures most hit, the identical submissions (zed and
    // the img student hand in the same server.py), columns named by their checks; and at
    // 1280 and 1920 pixels the page is no wider than the window (the grid scrolls in its box).
    assert!(
        dom.contains("<h1>session-lab: stages 1–4, sandbox "),
        "{dom}"
    );
    assert!(
        !dom.contains("sha256"),
        "no password hash in the title: {dom}"
    );
    assert!(
        dom.contains(
            "<strong>3 graded</strong> (2 passing every check), <strong>1 never started</strong>"
        ),
        "{dom}"
    );
    for part in [
        "<svg class=\"hist\"",
        "<svg class=\"funnel\"",
        "id=\"failures\"",
        "id=\"identical\"",
        "<th class=\"checks\">",
    ] {
        assert!(dom.contains(part), "{part}: {dom}");
    }
    assert!(
        dom.contains("<li>&lt;img src=x onerror=console.error(1)&gt;, zed</li>"),
        "{dom}"
    );
    let mut browser = support::devtools::Browser::start(chromium);
    for width in [1280, 1920] {
        browser.command(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        );
        browser.command(
            "Page.navigate",
            serde_json::json!({"url": format!("file://{}", index.display())}),
        );
        let begun = Instant::now();
        while browser
            .evaluate("document.readyState === 'complete' && !!document.getElementById('grid')")
            != serde_json::json!(true)
        {
            assert!(
                begun.elapsed() < Duration::from_secs(30),
                "index.html did not load"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let (page, window) = (
            browser.evaluate("document.documentElement.scrollWidth"),
            browser.evaluate("window.innerWidth"),
        );
        assert!(
            page.as_u64() <= window.as_u64(),
            "at {width} px the page is {page} wide"
        );
    }
}

/// A server that answers every request 4 s late, just inside the checks' 5 s: each check waits
/// for it, so its grading outlasts any `--timeout` of a few seconds, however far the machine's
/// load stretches that (a server that never answers would fail its first check at once, and
/// end its grading before a stretched timeout).
const SLOW_SERVER: &str = "import http.server, sys, time
class Slow(http.server.BaseHTTPRequestHandler):
    def answer(self):
        time.sleep(4)
        body = b'<p>Hits: 1</p>'
        self.send_response(200)
        self.send_header('Content-Type', 'text/html')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Slow).serve_forever()
";

#[test]
fn ctrl_c_keeps_the_finished_reports_leaves_no_process_and_the_next_run_grades_the_rest() {
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let marker = format!("classmarker{}", std::process::id());
    // `a-quick` never starts; the others start and then answer too slowly to be done in time.
    let quick = class.path().join("a-quick");
    std::fs::create_dir_all(&quick).unwrap();
    std::fs::write(quick.join("server.py"), "import sys\nsys.exit(3)\n").unwrap();
    for student in ["b-slow", "c-slow", "d-slow"] {
        let folder = class.path().join(student);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("server.py"), SLOW_SERVER).unwrap();
    }
    let options = ["--stage", "1", "--sandbox", "none", "--timeout", "3"];
    let mut child = class_command(
        class.path(),
        out.path(),
        &[&options[..], &["--jobs", "2"]].concat(),
        &[&marker],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let begun = Instant::now();
    while !out.path().join("a-quick.json").exists() || support::processes_named(&marker).is_empty()
    {
        assert!(begun.elapsed() < Duration::from_secs(60), "nothing started");
        std::thread::sleep(Duration::from_millis(50));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let waited = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "Ctrl-C did not end the run"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        support::processes_named(&marker),
        Vec::<u32>::new(),
        "a process was left"
    );
    assert!(out.path().join("a-quick.json").exists());
    for student in ["b-slow", "c-slow", "d-slow"] {
        assert!(
            !out.path().join(format!("{student}.json")).exists(),
            "{student} was cut short by Ctrl-C: that is no verdict to keep"
        );
    }
    let quick_report = std::fs::read_to_string(out.path().join("a-quick.json")).unwrap();

    // Resumed, with a short limit: a-quick is kept, the others are graded (and time out).
    let output = support::run_within(
        &mut class_command(
            class.path(),
            out.path(),
            &[&options[..], &["--jobs", "3"]].concat(),
            &[&marker],
        ),
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("a-quick: 0/8 did-not-start, report up to date, kept"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("a-quick.json")).unwrap(),
        quick_report
    );
    let csv = std::fs::read_to_string(out.path().join("grades.csv")).unwrap();
    for student in ["b-slow", "c-slow", "d-slow"] {
        assert!(csv.contains(&format!("{student},")), "{csv}");
        let json = report(out.path(), student);
        assert!(
            json["checks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|check| check["id"] == "grader.did-not-finish"),
            "{json}"
        );
    }
    assert!(csv.contains("timed-out"), "{csv}");
    assert_eq!(
        support::processes_named(&marker),
        Vec::<u32>::new(),
        "a process was left"
    );
}

#[test]
fn the_github_classroom_result_decodes_to_what_the_reporter_reads() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let github_output = dir.path().join("github_output");
    std::fs::write(&github_output, "earlier=1\n").unwrap();
    let output = support::run_within(
        Command::new(BIN)
            .args([
                "grade",
                "--stage",
                "3",
                "--format",
                "github-classroom",
                "--dir",
            ])
            .arg(student_with_mistake(dir.path(), "s", "not-httponly"))
            .args(["--", "python3", "server.py", "{port}"])
            .env("GITHUB_OUTPUT", &github_output),
        Duration::from_secs(120),
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let written = std::fs::read_to_string(&github_output).unwrap();
    assert!(
        written.starts_with("earlier=1\nresult="),
        "appended: {written}"
    );
    let encoded = written
        .lines()
        .last()
        .unwrap()
        .strip_prefix("result=")
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let result: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(result["version"], 1);
    assert_eq!(result["status"], "fail");
    let tests = result["tests"].as_array().unwrap();
    assert_eq!(result["max_score"], tests.len());
    assert!(tests.len() > 20, "{}", tests.len());
    for test in tests {
        for field in ["name", "status", "message", "score", "execution_time"] {
            assert!(!test[field].is_null(), "{field} in {test}");
        }
        assert!(test["execution_time"].as_str().unwrap().ends_with('s'));
    }
    let failed: Vec<&serde_json::Value> = tests.iter().filter(|t| t["status"] == "fail").collect();
    assert_eq!(failed.len(), 1, "{result}");
    assert_eq!(failed[0]["score"], 0);
    assert!(
        failed[0]["name"]
            .as_str()
            .unwrap()
            .starts_with("stage3.session-cookie-httponly")
    );
    assert!(failed[0]["message"].as_str().unwrap().contains("HttpOnly"));
    let points: u64 = tests.iter().map(|t| t["score"].as_u64().unwrap()).sum();
    assert_eq!(
        points as usize,
        tests.len() - 1,
        "one point per check passed"
    );

    // The example workflow hands exactly this output to the reporter.
    let workflow = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/github-classroom/classroom.yml"),
    )
    .unwrap();
    assert!(workflow.contains("id: grade"));
    assert!(workflow.contains("--format github-classroom"));
    assert!(workflow.contains("GRADE_RESULTS: \"${{ steps.grade.outputs.result }}\""));
    assert!(workflow.contains("runners: grade"));
    assert!(
        workflow.contains("if: always()"),
        "the reporter must run when grading failed"
    );
}

#[test]
fn the_gradescope_scripts_grade_the_submission_into_results_json() {
    let root = tempfile::tempdir().unwrap();
    let submission = root.path().join("submission");
    std::fs::create_dir_all(&submission).unwrap();
    std::fs::copy(
        fixture("threaded").join("server.py"),
        submission.join("server.py"),
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gradescope/run_autograder");
    let output = support::run_within(
        Command::new(&script)
            .env("AUTOGRADER_ROOT", root.path())
            .env("SESSION_LAB", BIN)
            .env("STAGE", "4"),
        Duration::from_secs(120),
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.path().join("results/results.json")).unwrap(),
    )
    .unwrap();
    let tests = results["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 30);
    assert_eq!(results["score"], 30, "{results}");

    // A submission that is missing still gets a results.json that says why.
    std::fs::remove_dir_all(&submission).unwrap();
    let output = support::run_within(
        Command::new(&script)
            .env("AUTOGRADER_ROOT", root.path())
            .env("SESSION_LAB", BIN),
        Duration::from_secs(60),
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let results = std::fs::read_to_string(root.path().join("results/results.json")).unwrap();
    assert!(results.contains("does not exist"), "{results}");

    // Nor does a grader that cannot run at all leave Gradescope without a result.
    let output = support::run_within(
        Command::new(&script)
            .env("AUTOGRADER_ROOT", root.path())
            .env("SESSION_LAB", root.path().join("no-such-binary")),
        Duration::from_secs(60),
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.path().join("results/results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results["score"], 0);
    assert!(
        results["output"]
            .as_str()
            .unwrap()
            .contains("could not run"),
        "{results}"
    );
}

#[test]
fn a_class_folder_that_is_missing_is_the_graders_error_exit_2() {
    let out = tempfile::tempdir().unwrap();
    let output = grade_class(
        &out.path().join("no-such-class"),
        &out.path().join("results"),
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot read the class folder"), "{stderr}");
}

/// Entries a student (or an LMS export) makes awkward: a `--dir` that is a symlink to someone
/// else's code, an id too long for a file name, two entries with one id, and the results folder
/// itself inside the class folder. None escapes, none aborts the class, none is graded twice.
#[test]
fn awkward_entries_are_contained_and_the_class_still_gets_its_outputs() {
    let class = tempfile::tempdir().unwrap();
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(
        secret.path().join("server.py"),
        "print('the host secret')\n",
    )
    .unwrap();
    // eve's src is bob's; mallory's is a folder of the host's.
    let bob = class.path().join("bob");
    std::fs::create_dir_all(bob.join("src")).unwrap();
    std::fs::copy(
        fixture("threaded").join("server.py"),
        bob.join("src/server.py"),
    )
    .unwrap();
    std::fs::create_dir_all(class.path().join("eve")).unwrap();
    std::os::unix::fs::symlink("../bob/src", class.path().join("eve/src")).unwrap();
    std::fs::create_dir_all(class.path().join("mallory")).unwrap();
    std::os::unix::fs::symlink(secret.path(), class.path().join("mallory/src")).unwrap();
    let long = "l".repeat(250);
    std::fs::create_dir_all(class.path().join(&long).join("src")).unwrap();
    std::fs::copy(
        fixture("threaded").join("server.py"),
        class.path().join(&long).join("src/server.py"),
    )
    .unwrap();
    std::fs::create_dir_all(class.path().join("twin")).unwrap();
    std::fs::write(class.path().join("twin.zip"), b"").unwrap();
    let out = class.path().join("results");

    let output = support::run_within(
        &mut class_command(
            class.path(),
            &out,
            &["--stage", "1", "--sandbox", "none", "--dir", "src"],
            &[],
        ),
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The twins are not graded, and said to be.
    assert_eq!(
        output.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for student in ["eve", "mallory"] {
        let json = report(&out, student);
        assert!(
            json["error"].as_str().unwrap().contains("leads outside it"),
            "{student}: {json}"
        );
        assert!(
            !std::fs::read_to_string(out.join(format!("{student}.txt")))
                .unwrap()
                .contains("host secret")
        );
    }
    assert_eq!(report(&out, "bob")["score"], 8);
    let csv = std::fs::read_to_string(out.join("grades.csv")).unwrap();
    assert!(csv.contains(&format!("{long},8,8,graded")), "{csv}");
    assert_eq!(csv.matches("\ntwin,").count(), 2, "{csv}");
    assert!(
        !csv.contains("\nresults,"),
        "the results folder was graded: {csv}"
    );
}
