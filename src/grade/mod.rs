//! `session-lab grade`: runs the checks against a submission and produces a [`Report`] that
//! [`report`] writes for people, scripts, CI systems and Gradescope.
//!
//! A report exists whatever happens: a submission that never starts fails its checks, and
//! an error of the grader itself is recorded in the report rather than leaving none.

pub mod report;

use crate::checks::{self, CheckReport, Credentials, Ctx, Failure, Stages, Status};
use crate::target::{CommandSpec, CommandTarget, Target};
use std::time::{Duration, Instant};

/// What to grade and how.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    pub stages: Stages,
    pub spec: CommandSpec,
    pub credentials: Credentials,
}

/// The outcome of grading one submission.
#[derive(Debug, Clone)]
pub struct Report {
    pub stages: Stages,
    pub checks: Vec<CheckReport>,
    /// Set when the grader itself could not do its work; [`Report::checks`] then holds one
    /// entry, [`GRADER_ERROR_ID`], that says so.
    pub error: Option<String>,
    pub duration: Duration,
}

/// The id of the one entry of a report whose grading could not start.
pub const GRADER_ERROR_ID: &str = "grader.could-not-run";

impl Report {
    pub fn score(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Passed)
            .count()
    }

    /// The number of checks selected, whether or not they could run.
    pub fn max_score(&self) -> usize {
        checks::select(self.stages).len()
    }

    pub fn all_passed(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(|c| c.status == Status::Passed)
    }

    /// The report of a grading that stopped before any check ran: its single entry fails
    /// with the grader's own `error`, which says what to do.
    pub fn grader_error(stages: Stages, error: String, duration: Duration) -> Self {
        let entry = CheckReport {
            id: GRADER_ERROR_ID,
            stage: 0,
            title: "the grader could not run, so no check ran",
            hint: "the message says what was missing; fix it and grade again (the checks themselves are in exercises.md)",
            status: Status::Failed,
            failure: Some(Failure::new(error.clone())),
            duration: Duration::ZERO,
            output_tail: None,
            note: None,
        };
        Self {
            stages,
            checks: vec![entry],
            error: Some(error),
            duration,
        }
    }
}

/// Grades the program `options.spec` describes, calling `on_check` as each check ends.
pub async fn grade(options: GradeOptions, on_check: impl FnMut(&CheckReport)) -> Report {
    let begun = Instant::now();
    let target = match CommandTarget::new(options.spec) {
        Ok(target) => Box::new(target) as Box<dyn Target>,
        Err(error) => {
            return Report::grader_error(options.stages, error.to_string(), begun.elapsed());
        }
    };
    let mut ctx = Ctx::new(target, options.credentials);
    let checks = checks::run(&mut ctx, &checks::select(options.stages), on_check).await;
    // Leave nothing running. No graceful stop: what the program would save goes to a scratch
    // copy that is deleted next, and waiting for its exit would only lengthen every grading.
    let _ = ctx.target().kill().await;
    Report {
        stages: options.stages,
        checks,
        error: None,
        duration: begun.elapsed(),
    }
}
