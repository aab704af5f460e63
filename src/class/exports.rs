//! The grades back into the course platform the class came from, as its import takes them:
//! Moodle's grading worksheet (`Identifier` = `Participant N`, `Grade`, `Last modified
//! (grade)`, the three columns its upload requires, and `Feedback comments`), Canvas's
//! gradebook import (`Student`, `ID`, `SIS User ID`, `SIS Login ID`, `Section`, then the
//! assignment's column, `Name (id)`), and a Gradescope roster's keys (`Name`, `SID`,
//! `Email`). Each is written only for a class laid out by that platform, from the saved
//! reports, so a resumed run writes the same files.

use super::layout::Layout;
use super::outputs::{Row, SavedReport, WriteError};
use std::path::{Path, PathBuf};

/// The file each platform's import reads, in the results folder.
pub fn file_name(layout: Layout) -> Option<&'static str> {
    match layout {
        Layout::Moodle => Some("moodle-grading-worksheet.csv"),
        Layout::Canvas => Some("canvas-gradebook-import.csv"),
        Layout::Gradescope => Some("gradescope-scores.csv"),
        Layout::Plain | Layout::Classroom => None,
    }
}

/// How the grades go back: the platform, when it is the assignment's column in Canvas, and
/// the moment the grades were made (Moodle refuses a worksheet older than a grade it holds).
#[derive(Debug, Clone)]
pub struct Export<'a> {
    pub layout: Layout,
    /// Canvas's column for the assignment, `HW3 (4567)` as its gradebook export names it.
    pub canvas_assignment: &'a str,
    /// `Fri, 04 Dec 2026 19:50:00 GMT`, which Moodle's upload reads with `strtotime`.
    pub graded_at: String,
}

/// Moodle's "Upload multiple feedback files in a zip": a folder per participant, named as
/// its importer parses it (`Full Name_123456_assignfeedback_file_`), holding the report.
pub const MOODLE_FEEDBACK: &str = "moodle-feedback-files.zip";

/// Writes the import file of `export.layout` (if it has one) for the graded `rows`, and for
/// Moodle the feedback files; returns the import file's path.
pub fn write(out: &Path, export: &Export<'_>, rows: &[Row]) -> Result<Option<PathBuf>, WriteError> {
    let Some(name) = file_name(export.layout) else {
        return Ok(None);
    };
    let graded = super::outputs::graded(rows);
    let text = match export.layout {
        Layout::Moodle => moodle(&graded, &export.graded_at),
        Layout::Canvas => canvas(&graded, export.canvas_assignment),
        Layout::Gradescope => gradescope(&graded),
        Layout::Plain | Layout::Classroom => unreachable!("no import file"),
    };
    let path = out.join(name);
    super::outputs::write(&path, &text)?;
    if export.layout == Layout::Moodle {
        moodle_feedback(out, &graded)?;
    }
    Ok(Some(path))
}

/// The zip of each participant's report (`STUDENT.txt`), for Moodle's feedback upload.
fn moodle_feedback(out: &Path, reports: &[&SavedReport]) -> Result<(), WriteError> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for report in reports {
        let Ok(text) = std::fs::read(super::outputs::text_path(out, &report.student)) else {
            continue;
        };
        // Moodle splits the folder's name at its underscores: a name may hold none.
        let name = report
            .name
            .as_deref()
            .unwrap_or("student")
            .replace(['_', '/'], " ");
        let entry = format!(
            "{name}_{}_assignfeedback_file_/session-lab-report.txt",
            report.student
        );
        let written = zip
            .start_file(entry, zip::write::SimpleFileOptions::default())
            .map_err(std::io::Error::other)
            .and_then(|()| zip.write_all(&text));
        if let Err(source) = written {
            return Err(WriteError::new(out.join(MOODLE_FEEDBACK), source));
        }
    }
    let bytes = zip
        .finish()
        .map_err(|error| WriteError::new(out.join(MOODLE_FEEDBACK), std::io::Error::other(error)))?
        .into_inner();
    crate::atomic_file::replace(&out.join(MOODLE_FEEDBACK), |file| file.write_all(&bytes))
        .map_err(|source| WriteError::new(out.join(MOODLE_FEEDBACK), source))
}

/// What a student reads beside their grade: the score, then each failed check and why.
fn feedback(report: &SavedReport) -> String {
    let mut text = format!("session-lab: {}/{}.", report.score, report.max_score);
    for check in report
        .checks
        .iter()
        .filter(|check| check.status == "failed")
    {
        let message = check.message.as_deref().unwrap_or_default();
        let message = crate::text::cut(crate::text::one_line(message).into_owned(), 300);
        text.push_str(&format!(" {} failed: {message}", check.id));
    }
    text
}

fn csv(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header).expect("writing to memory");
    for row in rows {
        // A cell a spreadsheet would run as a formula is quoted as text, as in grades.csv.
        let row: Vec<String> = row
            .iter()
            .map(|cell| super::outputs::spreadsheet_safe(cell))
            .collect();
        writer.write_record(&row).expect("writing to memory");
    }
    String::from_utf8_lossy(&writer.into_inner().expect("writing to memory")).into_owned()
}

fn moodle(reports: &[&SavedReport], graded_at: &str) -> String {
    csv(
        &[
            "Identifier",
            "Full name",
            "Grade",
            "Maximum Grade",
            "Last modified (grade)",
            "Feedback comments",
        ],
        reports
            .iter()
            .map(|report| {
                vec![
                    format!("Participant {}", report.student),
                    report.name.clone().unwrap_or_default(),
                    report.score.to_string(),
                    report.max_score.to_string(),
                    graded_at.to_owned(),
                    feedback(report),
                ]
            })
            .collect(),
    )
}

fn canvas(reports: &[&SavedReport], assignment: &str) -> String {
    let mut rows = vec![vec![
        "    Points Possible".to_owned(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        reports
            .first()
            .map(|report| report.max_score.to_string())
            .unwrap_or_default(),
    ]];
    rows.extend(reports.iter().map(|report| {
        vec![
            report.name.clone().unwrap_or_default(),
            report.student.clone(),
            String::new(),
            String::new(),
            String::new(),
            report.score.to_string(),
        ]
    }));
    csv(
        &[
            "Student",
            "ID",
            "SIS User ID",
            "SIS Login ID",
            "Section",
            assignment,
        ],
        rows,
    )
}

fn gradescope(reports: &[&SavedReport]) -> String {
    csv(
        &["Name", "SID", "Email", "Score", "Max Score"],
        reports
            .iter()
            .map(|report| {
                vec![
                    report.name.clone().unwrap_or_default(),
                    report.student.clone(),
                    report.email.clone().unwrap_or_default(),
                    report.score.to_string(),
                    report.max_score.to_string(),
                ]
            })
            .collect(),
    )
}
