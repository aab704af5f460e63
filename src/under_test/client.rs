//! A cookie client under test (stage 5): a program run once per visit, to the end, with a URL.
//!
//! Its runs share one folder, so the jar it keeps there (whatever its name) carries cookies
//! from one run to the next, as it would on a student's machine.

use super::build::Build;
use super::process::{DEFAULT_OUTPUT_CAP, Output, Process, RunFolder};
use super::submission_clock::submission_time_zone;
use super::{StartError, TargetError};
use crate::sandbox::{Program, Sandbox};
use crate::submission::start::{NoStart, Start, StartSources};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// How one run of a client ended.
#[derive(Debug, Clone)]
pub struct ClientRun {
    /// What went wrong, if it did not exit with status 0 within its time limit: the exit
    /// status, or the limit it ran out.
    pub problem: Option<String>,
    /// What it printed on stdout (as much as the output cap keeps).
    pub stdout: String,
}

impl ClientRun {
    /// Whether it exited with status 0 within its time limit.
    pub fn succeeded(&self) -> bool {
        self.problem.is_none()
    }
}

/// A cookie client under test.
#[async_trait::async_trait]
pub trait ClientTarget: Send {
    /// Runs the client once against `url` and waits for it to end (or kills it at its limit).
    async fn run(&mut self, url: &Url) -> Result<ClientRun, TargetError>;

    /// Runs the build its start asks for, if it has not run (every run does it first too).
    async fn build(&mut self) -> Result<(), TargetError> {
        Ok(())
    }

    /// Starts afresh: the next run finds its folder as handed in, without the jar of earlier
    /// runs.
    fn reset(&mut self) -> Result<(), TargetError>;

    /// The end of what the last run printed, to show beside a failure.
    fn output_tail(&self) -> Option<String> {
        None
    }

    /// The command it runs and where that came from, for a student's program (what language
    /// a hint should speak, and what the report shows).
    fn started_with(&self) -> Option<&Start> {
        None
    }
}

/// How to run a client program.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// The instructor's program and its arguments (maybe none); `{url}` in any of them becomes
    /// the URL to fetch. The submission's Procfile may say otherwise, as `sources` allow.
    pub command: Vec<String>,
    /// Where the command may come from: the submission's Procfile, `command`.
    pub sources: StartSources,
    /// How long a build the Procfile asks for may take.
    pub build_timeout: Duration,
    /// The client's directory, copied to the scratch directory its runs share.
    pub dir: PathBuf,
    /// How long one run may take before it is killed.
    pub run_timeout: Duration,
    /// Bytes of stdout and of stderr kept per run.
    pub output_cap: u64,
    pub sandbox: Sandbox,
}

impl ClientSpec {
    pub fn new(command: Vec<String>, dir: impl Into<PathBuf>) -> Self {
        Self {
            command,
            sources: StartSources::default(),
            build_timeout: super::DEFAULT_BUILD_TIMEOUT,
            dir: dir.into(),
            run_timeout: Duration::from_secs(10),
            output_cap: DEFAULT_OUTPUT_CAP,
            sandbox: Sandbox::none(),
        }
    }
}

/// A client program, run in its sandbox in a scratch copy of its directory.
pub struct CommandClient {
    spec: ClientSpec,
    /// The command that runs it, or why the submission settles none.
    start: Result<Start, NoStart>,
    build: Build,
    folder: RunFolder,
    runs: usize,
    last_output: Option<std::sync::Arc<Output>>,
}

impl CommandClient {
    /// Prepares the scratch copy and finds the program; runs nothing yet.
    pub fn new(spec: ClientSpec) -> Result<Self, TargetError> {
        let folder = RunFolder::new(&spec.dir, &spec.sandbox)?;
        let start = folder.start(&spec.dir, |copy| {
            crate::submission::start::client(copy, &spec.command, &spec.sources)
        })?;
        Ok(Self {
            build: Build::of(&start),
            start,
            spec,
            folder,
            runs: 0,
            last_output: None,
        })
    }
}

#[async_trait::async_trait]
impl ClientTarget for CommandClient {
    async fn run(&mut self, url: &Url) -> Result<ClientRun, TargetError> {
        self.runs += 1;
        let output = self
            .folder
            .output(&format!("client-{}", self.runs), self.spec.output_cap)?;
        self.last_output = Some(output.clone());
        let start = self.start.clone().map_err(StartError::from)?;
        let args: Vec<String> = start
            .command
            .iter()
            .map(|arg| arg.replace("{url}", url.as_str()))
            .collect();
        let vars = [
            ("URL", url.to_string()),
            ("TZ", submission_time_zone().to_owned()),
        ];
        if !self.folder.scratch().is_dir() {
            return Ok(ClientRun {
                problem: Some(
                    "its folder is gone: an earlier run deleted or moved it (a client keeps its jar in its folder, and leaves the folder itself alone)".into(),
                ),
                stdout: String::new(),
            });
        }
        self.build().await?;
        let program = Program {
            argv: &args,
            trusted: start.origin.is_the_graders(),
            ends_with_command: false,
        };
        let mut process =
            Process::spawn(&self.spec.sandbox, &program, &self.folder, &vars, &output).await?;
        let run_timeout = crate::patience::stretched(self.spec.run_timeout);
        let waited = tokio::time::timeout(run_timeout, process.child.wait()).await;
        // Whatever it left running goes too, before its output is read.
        process.end_with_output().await;
        let problem = match waited {
            Ok(Ok(status)) if status.success() => None,
            Ok(Ok(status)) => Some(format!(
                "it {}{}",
                match status.code() {
                    Some(code) => format!("exited with status {code}"),
                    None => format!("was killed ({status})"),
                },
                self.spec
                    .sandbox
                    .explain_exit(status.code(), &output.excerpt().unwrap_or_default())
                    .map(|why| format!(" ({why})"))
                    .unwrap_or_default()
            )),
            Ok(Err(error)) => Some(format!("waiting for it failed: {error}")),
            Err(_) => Some(format!(
                "it did not end within {:?} (--client-timeout, stretched for the machine's load) and was killed",
                run_timeout
            )),
        };
        Ok(ClientRun {
            problem,
            stdout: output.stdout(),
        })
    }

    async fn build(&mut self) -> Result<(), TargetError> {
        let vars = [("TZ", submission_time_zone().to_owned())];
        self.build
            .ensure(
                &self.spec.sandbox,
                &self.folder,
                &vars,
                self.spec.build_timeout,
                str::to_owned,
            )
            .await
            .map_err(|failure| StartError::from(failure).into())
    }

    fn reset(&mut self) -> Result<(), TargetError> {
        self.folder = RunFolder::new(&self.spec.dir, &self.spec.sandbox)?;
        // A fresh copy holds nothing the build made.
        self.build = Build::of(&self.start);
        Ok(())
    }

    fn output_tail(&self) -> Option<String> {
        super::command::with_memory_note(
            self.last_output
                .as_ref()
                .and_then(|output| output.excerpt()),
            &self.folder,
            &self.spec.sandbox,
        )
    }

    fn started_with(&self) -> Option<&Start> {
        self.start.as_ref().ok()
    }
}
