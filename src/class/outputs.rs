//! What a class grading leaves in its results folder: per student `STUDENT.json` (the `grade`
//! JSON report with `student`, `submission_sha256` and `graded_with`), `STUDENT.txt` (the human
//! report) and `pages/STUDENT.html`; for the class `grades.csv` and `index.html`. The class
//! outputs are built from the saved JSON reports, so a resumed run shows the students it did not
//! regrade exactly as they were. Everything a submission printed is untrusted: escaped in
//! HTML, and a CSV cell that a spreadsheet would run as a formula is quoted.

use crate::atomic_file;
use crate::checks::Check;
use crate::class::entry::Student;
use crate::grade::rubric::Points;
use crate::grade::{GRADER_ERROR_ID, Report, UNFINISHED_ID, report};
use crate::html::escape;
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A student's saved report, as the class outputs read it.
#[derive(Debug, Clone, Deserialize)]
pub struct SavedReport {
    pub student: String,
    /// Who the student is, where their platform says (`grade-class` adds it).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub late: bool,
    /// The commit graded, for a repository.
    #[serde(default)]
    pub commit: Option<String>,
    pub submission_sha256: String,
    pub graded_with: String,
    pub score: Points,
    pub max_score: Points,
    #[serde(default)]
    pub error: Option<String>,
    /// How the programs were started (absent in a report of a grading that started none).
    #[serde(default)]
    pub commands: SavedCommands,
    pub checks: Vec<SavedCheck>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SavedCommands {
    #[serde(default)]
    pub server: Option<SavedCommand>,
    #[serde(default)]
    pub client: Option<SavedCommand>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SavedCommand {
    pub command: String,
    pub from: String,
}

impl SavedCommand {
    /// `python3 server.py {port} (found server.py)`.
    pub fn line(&self) -> String {
        format!("{} ({})", self.command, self.from)
    }
}

/// The line of a command, or nothing where there was none.
pub(super) fn command_line(command: &Option<SavedCommand>) -> String {
    command.as_ref().map(SavedCommand::line).unwrap_or_default()
}

#[derive(Debug, Clone, Deserialize)]
pub struct SavedCheck {
    pub id: String,
    pub title: String,
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub expected: Option<String>,
    #[serde(default)]
    pub actual: Option<String>,
    pub hint: String,
    #[serde(default)]
    pub output_tail: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// What the check is worth (a point, in a report written before rubrics).
    #[serde(default)]
    pub points: Option<Points>,
}

/// Where a student ended up, as `grades.csv` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Graded,
    DidNotStart,
    TimedOut,
    Skipped,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Graded => "graded",
            Self::DidNotStart => "did-not-start",
            Self::TimedOut => "timed-out",
            Self::Skipped => "skipped",
        }
    }
}

/// The checks that start a server or a client: when they fail, nothing was graded.
const STARTS: [&str; 2] = ["stage1.listens", "stage5.client-runs"];

impl SavedReport {
    pub fn standing(&self) -> Standing {
        let failed = |id: &str| {
            self.checks
                .iter()
                .any(|check| check.id == id && check.status == "failed")
        };
        if failed(UNFINISHED_ID) {
            Standing::TimedOut
        } else if self.error.is_some()
            || failed(GRADER_ERROR_ID)
            || STARTS.iter().any(|id| failed(id))
        {
            Standing::DidNotStart
        } else {
            Standing::Graded
        }
    }

    pub(super) fn status_of(&self, id: &str) -> Option<&SavedCheck> {
        self.checks.iter().find(|check| check.id == id)
    }
}

/// The saved reports among `rows`: the entries that were graded.
pub fn graded(rows: &[Row]) -> Vec<&SavedReport> {
    rows.iter()
        .filter_map(|row| match row {
            Row::Graded(report) => Some(report.as_ref()),
            Row::Skipped { .. } => None,
        })
        .collect()
}

/// One line of the class: a saved report, or an entry that is no submission.
#[derive(Debug, Clone)]
pub enum Row {
    Graded(Box<SavedReport>),
    Skipped { student: String, why: String },
}

impl Row {
    pub fn student(&self) -> &str {
        match self {
            Self::Graded(report) => &report.student,
            Self::Skipped { student, .. } => student,
        }
    }

    pub fn standing(&self) -> Standing {
        match self {
            Self::Graded(report) => report.standing(),
            Self::Skipped { .. } => Standing::Skipped,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", .path.display())]
pub struct WriteError {
    path: PathBuf,
    source: std::io::Error,
}

impl WriteError {
    pub(super) fn new(path: PathBuf, source: std::io::Error) -> Self {
        Self { path, source }
    }
}

pub(super) fn write(path: &Path, text: &str) -> Result<(), WriteError> {
    atomic_file::replace(path, |file| file.write_all(text.as_bytes())).map_err(|source| {
        WriteError {
            path: path.to_owned(),
            source,
        }
    })
}

/// The name a student's files take: the id itself, or for an id too long for a file name its
/// start and a hash of the whole (the outputs still show the whole id).
fn stem(student: &str) -> String {
    const LONGEST: usize = 180;
    if student.len() <= LONGEST {
        return student.to_owned();
    }
    let mut cut = LONGEST;
    while !student.is_char_boundary(cut) {
        cut -= 1;
    }
    use sha2::Digest;
    let hash = sha2::Sha256::digest(student.as_bytes());
    format!(
        "{}-{:02x}{:02x}{:02x}{:02x}",
        &student[..cut],
        hash[0],
        hash[1],
        hash[2],
        hash[3]
    )
}

fn json_path(out: &Path, student: &str) -> PathBuf {
    out.join(format!("{}.json", stem(student)))
}

pub(super) fn text_path(out: &Path, student: &str) -> PathBuf {
    out.join(format!("{}.txt", stem(student)))
}

/// The saved report of `student` when it is whole and what this grader wrote: its own
/// student id, its score agreeing with its checks, a grading that ran (a grader error is
/// tried again), and its text and page beside it. Anything else is graded again.
pub fn load(out: &Path, student: &str) -> Option<SavedReport> {
    let text = std::fs::read_to_string(json_path(out, student)).ok()?;
    let saved: SavedReport = serde_json::from_str(&text).ok()?;
    let passed: Points = saved
        .checks
        .iter()
        .filter(|check| check.status == "passed")
        .map(|check| check.points.unwrap_or(Points::new(1.0)))
        .sum();
    let whole = saved.student == student
        && (saved.score.value() - passed.value()).abs() < 0.005
        && saved.score <= saved.max_score
        && saved.error.is_none()
        && text_path(out, student).is_file()
        && page_path(out, student).is_file();
    whole.then_some(saved)
}

/// Writes the student's JSON, text and HTML reports; returns the saved report.
pub fn save_student(
    out: &Path,
    who: &Student,
    fingerprint: &str,
    graded_with: &str,
    report: &Report,
) -> Result<SavedReport, WriteError> {
    let student = who.id.as_str();
    let mut json: serde_json::Value =
        serde_json::from_str(&report::render(report, report::ReportFormat::Json))
            .expect("the JSON report parses");
    if let Some(object) = json.as_object_mut() {
        object.insert("student".into(), student.into());
        for (key, value) in [
            ("name", &who.name),
            ("email", &who.email),
            ("commit", &who.commit),
        ] {
            if let Some(value) = value {
                object.insert(key.into(), value.as_str().into());
            }
        }
        if who.late {
            object.insert("late".into(), true.into());
        }
        object.insert("submission_sha256".into(), fingerprint.into());
        object.insert("graded_with".into(), graded_with.into());
    }
    let saved: SavedReport =
        serde_json::from_value(json.clone()).expect("a JSON report reads back");
    write(
        &text_path(out, student),
        &report::render(report, report::ReportFormat::Human),
    )?;
    write(&page_path(out, student), &student_page(&saved))?;
    // Last: a report in place means the student is done, for a resumed run.
    write(
        &json_path(out, student),
        &(serde_json::to_string_pretty(&json).expect("JSON serialises") + "\n"),
    )?;
    Ok(saved)
}

fn page_path(out: &Path, student: &str) -> PathBuf {
    out.join("pages").join(format!("{}.html", stem(student)))
}

/// `grades.csv`: a row per entry, sorted by student id: student, score, max_score, status,
/// then `1`, `0` or empty (skipped) per check, then the server's and the client's command (with
/// where each came from), who the student is where their platform says (name, email, late,
/// commit), and why an entry was not graded: last, so that the columns before keep their places.
pub fn write_csv(out: &Path, checks: &[&Check], rows: &[Row]) -> Result<(), WriteError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["student", "score", "max_score", "status"];
    header.extend(checks.iter().map(|check| check.id));
    header.extend([
        "server_command",
        "client_command",
        "name",
        "email",
        "late",
        "commit",
        "not_graded_because",
    ]);
    writer.write_record(&header).expect("writing to memory");
    for row in rows {
        let mut record = vec![spreadsheet_safe(row.student())];
        match row {
            Row::Graded(report) => {
                record.push(report.score.to_string());
                record.push(report.max_score.to_string());
                record.push(row.standing().as_str().into());
                for check in checks {
                    record.push(
                        match report.status_of(check.id).map(|c| c.status.as_str()) {
                            Some("passed") => "1".into(),
                            Some("failed") => "0".into(),
                            _ => String::new(),
                        },
                    );
                }
                record.push(spreadsheet_safe(&command_line(&report.commands.server)));
                record.push(spreadsheet_safe(&command_line(&report.commands.client)));
                let text =
                    |cell: &Option<String>| spreadsheet_safe(cell.as_deref().unwrap_or_default());
                record.push(text(&report.name));
                record.push(text(&report.email));
                record.push(if report.late { "late" } else { "" }.into());
                record.push(text(&report.commit));
                record.push(String::new());
            }
            Row::Skipped { why, .. } => {
                record.extend([String::new(), String::new(), row.standing().as_str().into()]);
                record.extend(checks.iter().map(|_| String::new()));
                record.extend([(); 6].map(|()| String::new()));
                record.push(spreadsheet_safe(why));
            }
        }
        writer.write_record(&record).expect("writing to memory");
    }
    let bytes = writer.into_inner().expect("writing to memory");
    write(&out.join("grades.csv"), &String::from_utf8_lossy(&bytes))
}

/// A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR) gets a leading `'`.
/// A cell that a spreadsheet shows as text: no formula, and nothing that acts on a terminal
/// that prints the file (a folder name may hold ESC or BEL).
pub(super) fn spreadsheet_safe(text: &str) -> String {
    let text = crate::text::one_line(text);
    if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.into_owned()
    }
}

pub(super) fn href(student: &str) -> String {
    format!(
        "pages/{}.html",
        percent_encoding::utf8_percent_encode(&stem(student), percent_encoding::NON_ALPHANUMERIC)
    )
}

pub(super) const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse}th,td{padding:2px 6px;text-align:left}\
th.sortable{cursor:pointer;text-decoration:underline dotted}\
td.c{width:14px;height:14px;padding:0;border:1px solid #fff}\
td.passed{background:#2e9d4a}td.failed{background:#d23c3c}td.skipped,td.absent{background:#bbb}\
.bar{background:#2e9d4a;height:12px}.barbox{width:240px;background:#eee}\
pre{background:#f6f6f6;padding:8px;white-space:pre-wrap}";

fn student_page(report: &SavedReport) -> String {
    let mut html = String::new();
    let student = escape(&report.student);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{student}</title><style>{STYLE}</style></head><body>\n<p><a href=\"../index.html\">← the class</a></p>\n<h1>{student}: {}/{} ({})</h1>\n<p>submission sha256 {}; graded with {}</p>\n",
        report.score,
        report.max_score,
        report.standing().as_str(),
        escape(&report.submission_sha256),
        escape(&report.graded_with)
    );
    for (program, command) in [
        ("server", &report.commands.server),
        ("client", &report.commands.client),
    ] {
        if let Some(command) = command {
            let _ = writeln!(
                html,
                "<p>{program}: <code>{}</code></p>",
                escape(&command.line())
            );
        }
    }
    if let Some(error) = &report.error {
        let _ = writeln!(
            html,
            "<p><strong>The grader could not run:</strong> {}</p>",
            escape(error)
        );
    }
    html.push_str("<table>\n");
    for check in &report.checks {
        let _ = write!(
            html,
            "<tr><td class=\"c {}\"></td><td><strong>{}</strong> {} ({})",
            escape(&check.status),
            escape(&check.id),
            escape(&check.title),
            escape(&check.status)
        );
        for (label, text) in [
            ("", &check.message),
            ("expected: ", &check.expected),
            ("actual: ", &check.actual),
            ("note: ", &check.note),
        ] {
            if let Some(text) = text {
                let _ = write!(html, "<pre>{}{}</pre>", label, escape(text));
            }
        }
        if check.status == "failed" {
            let _ = write!(html, "<p>hint: {}</p>", escape(&check.hint));
        }
        if let Some(tail) = &check.output_tail {
            let _ = write!(
                html,
                "<p>the program's last output:</p><pre>{}</pre>",
                escape(tail)
            );
        }
        html.push_str("</td></tr>\n");
    }
    html.push_str("</table>\n</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_spreadsheets_get_nothing_they_would_run() {
        assert_eq!(
            escape(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("alice"), "alice");
        assert_eq!(href("a b/<c>"), "pages/a%20b%2F%3Cc%3E.html");
    }

    #[test]
    fn an_id_too_long_for_a_file_name_gets_a_short_distinct_stem() {
        let long = "x".repeat(300);
        let other = format!("{}y", "x".repeat(299));
        assert!(stem(&long).len() < 200);
        assert_ne!(stem(&long), stem(&other));
        assert_eq!(stem("alice"), "alice");
    }
}
