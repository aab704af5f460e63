//! `grade-class` on the downloads the course platforms hand out, built here as each platform
//! builds them, with the names people have (spaces, accents, two students of one name, a late
//! one, a resubmission, a zip inside a folder, a macOS zip): each student known by the
//! platform's own id and name, every verdict right, what is no submission left out, and what
//! cannot be graded named.

use crate::support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn correct_server() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/submissions/threaded/server.py")
}

/// A zip holding `files` (name, bytes), as a student or a platform makes one.
fn zip(path: &Path, files: &[(&str, Vec<u8>)]) {
    let mut writer = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in files {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap();
}

/// What a class grading left: its exit status, stderr, each student's JSON report by id,
/// and the results folder.
struct Graded {
    status: Option<i32>,
    stderr: String,
    reports: std::collections::BTreeMap<String, serde_json::Value>,
    out: tempfile::TempDir,
}

impl Graded {
    /// The rows of the results folder's CSV `name`, header first.
    fn csv(&self, name: &str) -> Vec<Vec<String>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(self.out.path().join(name))
            .unwrap_or_else(|error| panic!("no {name}: {error}"));
        reader
            .records()
            .map(|record| record.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }
}

/// Grades `class` (stage 1, no command, no sandbox: the layouts are under test).
fn grade(class: &Path) -> Graded {
    let out = tempfile::tempdir().unwrap();
    let output = support::run_within(
        Command::new(env!("CARGO_BIN_EXE_session-lab"))
            .arg("grade-class")
            .arg(class)
            .arg("--out")
            .arg(out.path())
            .args(["--stage", "1", "--sandbox", "none", "--jobs", "4"]),
        Duration::from_secs(300),
    );
    let reports = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "json"))
        .map(|entry| {
            let json: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
            (json["student"].as_str().unwrap().to_owned(), json)
        })
        .collect();
    Graded {
        status: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        reports,
        out,
    }
}

#[test]
fn moodle_s_download_in_folders_and_as_its_zip() {
    let class = tempfile::tempdir().unwrap();
    let server = std::fs::read(correct_server()).unwrap();
    let folder = |name: &str| {
        let path = class.path().join(name);
        std::fs::create_dir_all(&path).unwrap();
        path
    };
    std::fs::write(
        folder("Zoë Ångström_104211_assignsubmission_file_").join("server.py"),
        &server,
    )
    .unwrap();
    std::fs::write(
        folder("Zoë Ångström_104211_assignsubmission_onlinetext_").join("onlinetext.html"),
        "<p>see my code</p>",
    )
    .unwrap();
    // A zip uploaded to Moodle, made on a Mac.
    zip(
        &folder("Wei Li_104212_assignsubmission_file_").join("solution.zip"),
        &[
            ("solution/server.py", server.clone()),
            ("__MACOSX/solution/._server.py", b"\0\x05\x16\x07".to_vec()),
        ],
    );
    // Another Wei Li, who handed in no server.
    std::fs::write(
        folder("Wei Li_104219_assignsubmission_file_").join("report.pdf"),
        "%PDF",
    )
    .unwrap();

    let graded = grade(class.path());
    let (status, stderr, reports) = (graded.status, &graded.stderr, &graded.reports);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(stderr.contains("laid out as moodle"), "{stderr}");
    assert!(
        stderr.contains("left out Zoë Ångström_104211_assignsubmission_onlinetext_"),
        "{stderr}"
    );
    assert_eq!(
        reports.keys().collect::<Vec<_>>(),
        ["104211", "104212", "104219"]
    );
    assert_eq!(reports["104211"]["name"], "Zoë Ångström");
    assert_eq!(reports["104211"]["score"], 8);
    assert_eq!(reports["104212"]["score"], 8, "{}", reports["104212"]);
    let held = support::check(&reports["104219"], "stage1.listens")["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(held.contains("the submission holds report.pdf"), "{held}");
    // The grading worksheet Moodle's upload takes: its three required columns, and feedback.
    let sheet = graded.csv("moodle-grading-worksheet.csv");
    assert_eq!(
        sheet[0],
        [
            "Identifier",
            "Full name",
            "Grade",
            "Maximum Grade",
            "Last modified (grade)",
            "Feedback comments"
        ]
    );
    assert_eq!(
        sheet[1][..4],
        ["Participant 104211", "Zoë Ångström", "8", "8"]
    );
    assert!(
        httpdate::parse_http_date(&sheet[1][4]).is_ok(),
        "{:?}",
        sheet[1]
    );
    assert_eq!(sheet[3][..3], ["Participant 104219", "Wei Li", "0"]);
    assert!(
        sheet[3][5].contains("stage1.listens failed"),
        "{:?}",
        sheet[3]
    );
    // The feedback files, named as Moodle's feedback upload parses them.
    let feedback =
        std::fs::File::open(graded.out.path().join("moodle-feedback-files.zip")).unwrap();
    let mut feedback = zip::ZipArchive::new(feedback).unwrap();
    let mut report = String::new();
    std::io::Read::read_to_string(
        &mut feedback
            .by_name("Zoë Ångström_104211_assignfeedback_file_/session-lab-report.txt")
            .unwrap(),
        &mut report,
    )
    .unwrap();
    assert!(report.contains("Score: 8/8"), "{report}");
    assert_eq!(feedback.len(), 3);

    // The same download as the zip Moodle hands out.
    let download = tempfile::tempdir().unwrap();
    let zipped = download.path().join("Class-HW3-12345.zip");
    let mut files = Vec::new();
    for entry in walk(class.path()) {
        let name = entry
            .strip_prefix(class.path())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        files.push((name, std::fs::read(&entry).unwrap()));
    }
    let files: Vec<(&str, Vec<u8>)> = files
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.clone()))
        .collect();
    zip(&zipped, &files);
    let graded = grade(&zipped);
    let (status, stderr, reports) = (graded.status, &graded.stderr, &graded.reports);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(reports["104212"]["score"], 8);
}

/// The files below `folder`, at any depth.
fn walk(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            files.extend(walk(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files
}

#[test]
fn canvas_s_flat_download_with_a_late_one_a_resubmission_and_a_zip() {
    let class = tempfile::tempdir().unwrap();
    let server = std::fs::read(correct_server()).unwrap();
    let file = |name: &str, bytes: &[u8]| std::fs::write(class.path().join(name), bytes).unwrap();
    file("anasilva_LATE_12349_6789017_server-1.py", &server);
    file(
        "anasilva_LATE_12349_6789017_server.py",
        b"import sys\nsys.exit(3)\n",
    );
    zip(
        &class.path().join("weili_12348_6789016_solution.zip"),
        &[("solution/server.py", server.clone())],
    );
    file("jdoe_12350_6789018_notes.txt", b"I ran out of time");

    let graded = grade(class.path());
    let (status, stderr, reports) = (graded.status, &graded.stderr, &graded.reports);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(stderr.contains("laid out as canvas"), "{stderr}");
    assert_eq!(
        reports.keys().collect::<Vec<_>>(),
        ["12348", "12349", "12350"]
    );
    assert_eq!(reports["12349"]["name"], "anasilva");
    assert_eq!(reports["12349"]["late"], true);
    assert_eq!(
        reports["12349"]["score"], 8,
        "the resubmitted server.py is graded"
    );
    assert_eq!(reports["12348"]["score"], 8, "{}", reports["12348"]);
    assert_eq!(reports["12350"]["score"], 0);
    // Canvas's gradebook import: its columns, a row of points possible, a row per user id.
    let import = graded.csv("canvas-gradebook-import.csv");
    assert_eq!(
        import[0],
        [
            "Student",
            "ID",
            "SIS User ID",
            "SIS Login ID",
            "Section",
            "session-lab"
        ]
    );
    assert_eq!(import[1][0], "    Points Possible");
    assert_eq!(import[1][5], "8");
    assert_eq!(
        import[2..]
            .iter()
            .map(|row| (row[1].as_str(), row[5].as_str()))
            .collect::<Vec<_>>(),
        [("12348", "8"), ("12349", "8"), ("12350", "0")]
    );
}

#[test]
fn gradescope_s_export_names_students_by_sid() {
    let class = tempfile::tempdir().unwrap();
    for id in ["100", "200"] {
        let folder = class.path().join(format!("submission_{id}"));
        std::fs::create_dir(&folder).unwrap();
        std::fs::copy(correct_server(), folder.join("server.py")).unwrap();
    }
    std::fs::write(
        class.path().join("submission_metadata.yml"),
        "submission_100:\n  :submitters:\n  - :name: José Núñez\n    :sid: '2024001'\n    :email: jose@example.edu\nsubmission_200:\n  :submitters:\n  - :name: Kim Lee\n    :sid: '2024002'\n    :email: kim@example.edu\n",
    )
    .unwrap();
    let graded = grade(class.path());
    let (status, stderr, reports) = (graded.status, &graded.stderr, &graded.reports);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(reports.keys().collect::<Vec<_>>(), ["2024001", "2024002"]);
    assert_eq!(reports["2024001"]["name"], "José Núñez");
    assert_eq!(reports["2024001"]["email"], "jose@example.edu");
    assert_eq!(reports["2024002"]["score"], 8);
    let scores = graded.csv("gradescope-scores.csv");
    assert_eq!(scores[0], ["Name", "SID", "Email", "Score", "Max Score"]);
    assert_eq!(
        scores[1],
        ["José Núñez", "2024001", "jose@example.edu", "8", "8"]
    );
}

#[test]
fn classroom_clones_are_users_with_the_commit_graded() {
    let class = tempfile::tempdir().unwrap();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    for user in ["alice", "bob-smith"] {
        let clone = class.path().join(format!("http-state-{user}"));
        std::fs::create_dir_all(clone.join(".git/refs/heads")).unwrap();
        std::fs::write(clone.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(clone.join(".git/refs/heads/main"), format!("{commit}\n")).unwrap();
        std::fs::copy(correct_server(), clone.join("server.py")).unwrap();
    }
    let graded = grade(class.path());
    let (status, stderr, reports) = (graded.status, &graded.stderr, &graded.reports);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(reports.keys().collect::<Vec<_>>(), ["alice", "bob-smith"]);
    assert_eq!(reports["alice"]["commit"], commit);
    assert_eq!(reports["bob-smith"]["score"], 8);
}
