//! The build a submission's start asks for (`go build`, a Procfile's `build:`), run once before
//! the first start: in the same sandbox and scratch folder the program then runs in, with no
//! network, bounded by its own time limit (a cold compile takes seconds that the start limit
//! must not swallow) and by the grading's memory. A build that fails is the student's failure,
//! with the compiler's first lines.

use super::BuildFailure;
use super::process::{DEFAULT_OUTPUT_CAP, Process, RunFolder};
use crate::sandbox::{Program, Sandbox};
use crate::submission::start::{BuildCommand, NoStart, Start};
use std::time::Duration;

/// Whether the build still has to run, ran, or failed (and why, said again at every start).
#[derive(Debug, Clone)]
pub enum Build {
    Pending(BuildCommand),
    Done,
    Failed(BuildFailure),
}

impl Build {
    /// The build `start` asks for, yet to run (nothing to run where it asks for none, or
    /// where there is no start at all).
    pub fn of(start: &Result<Start, NoStart>) -> Self {
        match start {
            Ok(Start {
                build: Some(build), ..
            }) => Self::Pending(build.clone()),
            _ => Self::Done,
        }
    }

    /// Runs the build if it has not run yet, with `fill` making its words (`{port}` filled
    /// in); an error if it failed, now or before.
    pub async fn ensure(
        &mut self,
        sandbox: &Sandbox,
        folder: &RunFolder,
        vars: &[(&str, String)],
        timeout: Duration,
        fill: impl Fn(&str) -> String,
    ) -> Result<(), BuildFailure> {
        let outcome = match self {
            Self::Done => return Ok(()),
            Self::Failed(error) => return Err(error.clone()),
            Self::Pending(build) => {
                let command: Vec<String> = build.command.iter().map(|word| fill(word)).collect();
                let program = Program {
                    argv: &command,
                    trusted: build.origin.is_the_graders(),
                    ends_with_command: true,
                };
                run(&program, sandbox, folder, vars, timeout).await
            }
        };
        *self = match &outcome {
            Ok(()) => Self::Done,
            Err(error) => Self::Failed(error.clone()),
        };
        outcome
    }
}

async fn run(
    program: &Program<'_>,
    sandbox: &Sandbox,
    folder: &RunFolder,
    vars: &[(&str, String)],
    timeout: Duration,
) -> Result<(), BuildFailure> {
    let shown = crate::text::shell_line(program.argv);
    let output = folder
        .output("build", DEFAULT_OUTPUT_CAP)
        .map_err(|error| BuildFailure {
            command: shown.clone(),
            why: error.to_string(),
        })?;
    let mut process = Process::spawn(sandbox, program, folder, vars, &output)
        .await
        .map_err(|error| BuildFailure {
            command: shown.clone(),
            why: error.to_string(),
        })?;
    let limit = crate::patience::stretched(timeout);
    let waited = tokio::time::timeout(limit, process.child.wait()).await;
    // Whatever the build left running goes too, before its output is read.
    process.end_with_output().await;
    let printed = output.excerpt().unwrap_or_default();
    let why = match waited {
        Ok(Ok(status)) if status.success() => return Ok(()),
        Ok(Ok(status)) => format!(
            "it {}{}",
            match status.code() {
                Some(code) => format!("exited with status {code}"),
                None => format!("was killed ({status})"),
            },
            sandbox
                .explain_exit(status.code(), &printed)
                .map(|why| format!(" ({why})"))
                .unwrap_or_default()
        ),
        Ok(Err(error)) => format!("waiting for it failed: {error}"),
        Err(_) => format!(
            "it did not end within {limit:?} (--build-timeout, stretched for the machine's load) and was killed"
        ),
    };
    Err(BuildFailure {
        command: shown,
        why: if printed.trim().is_empty() {
            why
        } else {
            format!("{why}; it printed:\n{printed}")
        },
    })
}
