//! Why a program under test could not be prepared, started or stopped, each with its cause.
//! A [`SetupError`] means no check can run (the grader's error to report); a [`StartError`]
//! or a [`StopError`] is the failure of the check that asked for the start or the stop.

use crate::sandbox::SandboxError;
use crate::server::ServerError;
use crate::submission::CopyError;
use crate::submission::start::NoStart;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Stop(#[from] StopError),
}

/// The program cannot even be prepared: no check can run.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("no command to run was given: put it after `--`")]
    NoCommand,
    #[error("cannot {what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("cannot copy the submission directory {}: {source}", .dir.display())]
    Copy { dir: PathBuf, source: CopyError },
    #[error("cannot read the submission directory {}: {source}", .dir.display())]
    UnreadableFolder {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("the submission directory {} {problem}: give --dir the folder that holds the submission", .dir.display())]
    NoFolder { dir: PathBuf, problem: &'static str },
    #[error(
        "the command `{program}` is not an executable file in the submission directory {}: check its name, or run it through its interpreter (e.g. `sh {program}`)",
        .dir.display()
    )]
    NotExecutable { program: String, dir: PathBuf },
    #[error("the command `{program}` was not found on PATH: install it, or give its full path")]
    NotOnPath { program: String },
}

impl SetupError {
    /// `what` (a phrase after "cannot") failed with `source`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}

/// The program did not start, or did not come to listen.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Supervisor(#[from] tokio::task::JoinError),
    #[error("the sandbox did not start: {0}")]
    SandboxDidNotStart(#[source] std::io::Error),
    #[error("`{program}` exited ({status}) before it listened on port {port}{}", .why.as_deref().map(|why| format!(": {why}")).unwrap_or_default())]
    ExitedEarly {
        program: String,
        status: ExitStatus,
        port: u16,
        /// What the sandbox's limits tell of the exit, where they tell something.
        why: Option<String>,
    },
    #[error("`{program}` did not listen on 127.0.0.1:{port} within {given:?}{}; it was killed", listened_instead(.elsewhere))]
    NeverListened {
        program: String,
        port: u16,
        given: Duration,
        /// The ports it listened on instead, if any.
        elsewhere: Vec<u16>,
    },
    #[error(transparent)]
    Reference(#[from] ServerError),
    /// The submission says nothing that starts it, or says it in two ways.
    #[error(transparent)]
    NoStart(#[from] NoStart),
    #[error(transparent)]
    Build(#[from] BuildFailure),
}

fn listened_instead(ports: &[u16]) -> String {
    if ports.is_empty() {
        return String::new();
    }
    format!(
        "; it listened on port {} instead: take the port from the command line (where the command says {{port}}) or from the PORT environment variable",
        ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The program could not be stopped as asked.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error("`{program}` is not running (it exited earlier)")]
    NotRunning { program: String },
    #[error("the reference server is not running")]
    ReferenceNotRunning,
    #[error(transparent)]
    Reference(#[from] ServerError),
}

/// A build that did not succeed: its command, and what happened, with what it printed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the build `{command}` failed: {why}")]
pub struct BuildFailure {
    pub command: String,
    pub why: String,
}
