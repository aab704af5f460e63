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
    /// Set when the grader itself could not do its work (the checks then say why too).
    pub error: Option<String>,
    pub duration: Duration,
}

impl Report {
    pub fn score(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Passed)
            .count()
    }

    pub fn max_score(&self) -> usize {
        self.checks.len()
    }

    pub fn all_passed(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(|c| c.status == Status::Passed)
    }

    /// A report in which every selected check failed for the grader's own `error`.
    pub fn grader_error(stages: Stages, error: String, duration: Duration) -> Self {
        let checks = checks::select(stages)
            .into_iter()
            .map(|check| CheckReport {
                id: check.id,
                stage: check.stage,
                title: check.title,
                hint: check.hint,
                status: Status::Failed,
                failure: Some(Failure::new(format!(
                    "not run: the grader could not run: {error}"
                ))),
                duration: Duration::ZERO,
                output_tail: None,
            })
            .collect();
        Self {
            stages,
            checks,
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
    // Leave nothing running: stop gracefully so the program can clean up, then kill the rest.
    let target = ctx.target();
    if target.is_running() {
        let _ = target.stop(crate::target::StopSignal::Terminate).await;
    }
    let _ = target.kill().await;
    Report {
        stages: options.stages,
        checks,
        error: None,
        duration: begun.elapsed(),
    }
}
