//! Where a grading's progress and report go: each check's line to the terminal as it ends, and
//! the report once, to a file (replaced atomically), to stdout, or appended to
//! `$GITHUB_OUTPUT`. Whichever comes first writes it: the grading, or the watchdog (or Ctrl-C)
//! with the checks that had ended; a placeholder stands in the file before anything runs.

use super::Report;
use super::report::{self, ReportFormat};
use super::rubric::Rubric;
use crate::checks::{CheckReport, Selection};
use crate::sandbox::Sandbox;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the progress and the report go. The report is written once: by the grading, or by
/// the watchdog (or Ctrl-C) with the checks that had ended, whichever comes first. A file is
/// replaced atomically, so no reader ever sees half a report.
#[derive(Clone)]
pub struct ReportSink {
    output: Option<PathBuf>,
    format: ReportFormat,
    show_progress: bool,
    selection: Selection,
    sandbox: Sandbox,
    rubric: Arc<Rubric>,
    completed: Arc<Mutex<Vec<CheckReport>>>,
    written: Arc<Mutex<bool>>,
}

impl ReportSink {
    pub fn new(
        output: Option<PathBuf>,
        format: ReportFormat,
        show_progress: bool,
        selection: Selection,
        sandbox: Sandbox,
        rubric: Arc<Rubric>,
    ) -> Self {
        Self {
            output,
            format,
            show_progress,
            selection,
            sandbox,
            rubric,
            completed: Arc::new(Mutex::new(Vec::new())),
            written: Arc::new(Mutex::new(false)),
        }
    }

    /// A check ended: its line goes to the terminal, and it is kept for an unfinished report.
    pub fn record(&self, check: &CheckReport) {
        if self.show_progress {
            let _ = writeln!(anstream::stdout(), "{}", report::human_line(check));
        }
        lock(&self.completed).push(check.clone());
    }

    /// The report of a grading that ends now, for `reason`: the checks that ended, then why.
    pub fn unfinished(&self, reason: String, took: Duration) -> Report {
        let completed = lock(&self.completed).clone();
        Report::unfinished(self.selection, completed, reason, took)
            .contained_by(&self.sandbox)
            .scored_by(&self.rubric)
    }

    /// A failing report in the output file before anything runs: a grader that is killed
    /// leaves that, never no report or one that something else wrote.
    pub fn placeholder(&self) -> Result<(), ReportWriteError> {
        let Some(path) = &self.output else {
            return Ok(());
        };
        let report = self.unfinished(
            "the grader did not finish: it was stopped or killed before it wrote its report".into(),
            Duration::ZERO,
        );
        write_report(path, &report::render(&report, self.format))
    }

    /// Writes `report` unless one was written already; says whether it wrote it.
    pub fn finish(&self, report: &Report) -> bool {
        let mut written = lock(&self.written);
        if *written {
            return false;
        }
        *written = true;
        if self.show_progress {
            let _ = write!(anstream::stdout(), "{}", report::human_summary(report));
        }
        let github_output = (self.format == ReportFormat::GithubClassroom)
            .then(|| std::env::var_os("GITHUB_OUTPUT"))
            .flatten();
        match (&self.output, github_output) {
            (_, Some(path)) => {
                // Appended, as every step's outputs are: the reporter action reads `result`.
                let line = format!("result={}", report::render(report, self.format));
                let appended = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&path)
                    .and_then(|mut file| file.write_all(line.as_bytes()));
                if let Err(error) = appended {
                    eprintln!(
                        "error: cannot append the result to $GITHUB_OUTPUT ({}): {error}",
                        PathBuf::from(path).display()
                    );
                }
            }
            (Some(path), None) => {
                if let Err(error) = write_report(path, &report::render(report, self.format)) {
                    eprintln!("error: {error}");
                }
            }
            (None, None) if self.format != ReportFormat::Human => {
                print!("{}", report::render(report, self.format));
            }
            (None, None) => {}
        }
        let _ = std::io::stdout().flush();
        true
    }
}

/// A lock that a panic elsewhere does not make unusable: the report must still be written.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The report could not be written where it was asked for.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the report to {}: {cause}", .path.display())]
pub struct ReportWriteError {
    path: PathBuf,
    // Shown in the message rather than chained as a source: the CLI prints the chain too.
    cause: std::io::Error,
}

fn write_report(path: &Path, text: &str) -> Result<(), ReportWriteError> {
    crate::atomic_file::replace(path, |writer| writer.write_all(text.as_bytes())).map_err(|cause| {
        ReportWriteError {
            path: path.to_owned(),
            cause,
        }
    })
}
