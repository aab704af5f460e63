//! `session-lab grade`: runs the checks against a submission and produces a [`Report`] that
//! [`report`] writes for people, scripts, CI systems and Gradescope.
//!
//! A report exists whatever happens: a submission that never starts fails its checks, and
//! an error of the grader itself is recorded in the report rather than leaving none.

pub mod report;
mod report_sink;
pub mod rubric;
pub mod watchdog;

pub use report_sink::{ReportSink, ReportWriteError};

use crate::checks::{CheckReport, Credentials, Ctx, Failure, Selection, Status};
use crate::sandbox::Sandbox;
pub use crate::submission::start::Commands;
use crate::submission::start::{StartSource, StartSources};
use crate::under_test::{
    ClientSpec, ClientTarget, CommandClient, CommandSpec, CommandTarget, ServerTarget,
};
use rubric::{Points, Rubric};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to grade and how.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// Which checks run: validated once, where the options are made, against the programs
    /// below (a server for stages 1–4, a client for stage 5).
    pub selection: Selection,
    /// The server to grade (stages 1–4, and stage 5's check of client and server together).
    pub server: Option<CommandSpec>,
    /// The cookie client to grade (stage 5).
    pub client: Option<ClientSpec>,
    pub credentials: Credentials,
    /// What contains the programs: both of them, whatever their specs say.
    pub sandbox: Sandbox,
    /// What each check is worth.
    pub rubric: Arc<Rubric>,
}

impl GradeOptions {
    /// The same grading for the submission in `root`: the server's and the client's folders
    /// are taken inside it, and must stay inside it: a folder that is a symlink out of the
    /// submission (to another student's, or to the host's files) is refused.
    pub fn within(&self, root: &std::path::Path) -> Result<Self, String> {
        let inside = |dir: &std::path::Path| -> Result<std::path::PathBuf, String> {
            let joined = root.join(dir);
            let (Ok(root), Ok(resolved)) = (root.canonicalize(), joined.canonicalize()) else {
                return Ok(joined);
            };
            if resolved.starts_with(&root) {
                Ok(joined)
            } else {
                Err(format!(
                    "`{}` in the submission leads outside it (a symlink?): the folder graded must be the submission's own",
                    dir.display()
                ))
            }
        };
        let mut options = self.clone();
        if let Some(server) = &mut options.server {
            server.dir = inside(&server.dir)?;
        }
        if let Some(client) = &mut options.client {
            client.dir = inside(&client.dir)?;
        }
        Ok(options)
    }

    /// What is graded and how, in one line: the stages, the commands, their folders and time
    /// limits, the account (the password as a short hash), the sandbox and its limits, and the
    /// grader's version. Two gradings that print the same line judge the same way.
    pub fn describe(&self) -> String {
        use sha2::Digest;
        let mut text = format!(
            "session-lab {}; {}",
            env!("CARGO_PKG_VERSION"),
            report::stages_label(self.selection.stages())
        );
        if let Some(server) = &self.server {
            text.push_str(&format!(
                "; server {} in {} (start within {:?}, a build within {:?}; {})",
                command_sources(&server.command, &server.sources),
                server.dir.display(),
                server.start_timeout,
                server.build_timeout,
                server.clock.describe()
            ));
        }
        if let Some(client) = &self.client {
            text.push_str(&format!(
                "; client {} in {} ({:?} a run)",
                command_sources(&client.command, &client.sources),
                client.dir.display(),
                client.run_timeout
            ));
        }
        let password = sha2::Sha256::digest(self.credentials.password.as_bytes());
        text.push_str(&format!(
            "; as {} (password sha256 {:02x}{:02x}{:02x}{:02x}…); {}",
            self.credentials.username,
            password[0],
            password[1],
            password[2],
            password[3],
            self.sandbox.describe()
        ));
        text.push_str(&format!("; {}", self.rubric.describe()));
        text
    }
}

/// Where a program's command comes from: `python3 server.py {port}` when only the grader's
/// command is allowed, else the sources in their order (`command from procfile, instructor
/// (`…`), detect`).
fn command_sources(command: &[String], sources: &StartSources) -> String {
    let given = crate::text::shell_line(command);
    if *sources == StartSources::new(&[StartSource::Instructor]) {
        return format!("`{given}`");
    }
    let listed = sources.describe();
    if command.is_empty() || !sources.allows(StartSource::Instructor) {
        format!("command from {listed}")
    } else {
        format!(
            "command from {}",
            listed.replace("instructor", &format!("instructor (`{given}`)"))
        )
    }
}

/// The outcome of grading one submission.
#[derive(Debug, Clone)]
pub struct Report {
    pub selection: Selection,
    pub checks: Vec<CheckReport>,
    /// Set when the grader itself could not do its work; [`Report::checks`] then holds one
    /// entry, [`GRADER_ERROR_ID`], that says so.
    pub error: Option<String>,
    pub duration: Duration,
    /// What contained the submission: `bwrap` or `none`.
    pub sandbox: &'static str,
    /// Why there was no sandbox although one was asked for (`--sandbox auto`).
    pub sandbox_warning: Option<String>,
    /// The bounds in force on the submission: the sandbox and each of its limits.
    pub bounds: Option<String>,
    /// The commands that started the programs, and where each came from.
    pub commands: Commands,
    /// What each check is worth.
    pub rubric: Arc<Rubric>,
}

/// The id of the one entry of a report whose grading could not start.
pub const GRADER_ERROR_ID: &str = "grader.could-not-run";

impl Report {
    /// The points of the checks passed.
    pub fn score(&self) -> Points {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Passed)
            .map(|c| self.points(c))
            .sum()
    }

    /// The points of every check selected, whether or not they could run.
    pub fn max_score(&self) -> Points {
        self.selection
            .checks()
            .iter()
            .map(|check| self.rubric.points(check.id))
            .sum()
    }

    /// What `check` is worth: the grader's own entries nothing.
    pub fn points(&self, check: &CheckReport) -> Points {
        if check.stage == 0 {
            Points::default()
        } else {
            self.rubric.points(check.id)
        }
    }

    /// The report, scored by `rubric`.
    pub fn scored_by(mut self, rubric: &Arc<Rubric>) -> Self {
        self.rubric = rubric.clone();
        self
    }

    /// The report, saying what contained the submission.
    pub fn contained_by(mut self, sandbox: &Sandbox) -> Self {
        self.sandbox = sandbox.label();
        self.sandbox_warning = sandbox.fallback_reason().map(str::to_owned);
        self.bounds = Some(sandbox.describe());
        self
    }

    pub fn all_passed(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(|c| c.status == Status::Passed)
    }

    /// The report of a grading that stopped before any check ran: its single entry fails
    /// with the grader's own `error`, which says what to do.
    pub fn grader_error(selection: Selection, error: String, duration: Duration) -> Self {
        // It names the submission's files, which may be named anything.
        let error = crate::text::visible(&error).into_owned();
        let entry = grader_entry(
            GRADER_ERROR_ID,
            "the grader could not run, so no check ran",
            "the message says what was missing; fix it and grade again (the checks themselves are in exercises.md)",
            error.clone(),
        );
        Self {
            selection,
            checks: vec![entry],
            error: Some(error),
            duration,
            sandbox: "none",
            sandbox_warning: None,
            bounds: None,
            commands: Commands::default(),
            rubric: Arc::default(),
        }
    }

    /// The report of a grading that did not finish: the checks that ended, then a failing
    /// entry, [`UNFINISHED_ID`], that says why. Written before the grading starts (so a
    /// grader killed by anyone leaves a failing report, never a missing or forged one) and by
    /// the watchdog at the time limit.
    pub fn unfinished(
        selection: Selection,
        completed: Vec<CheckReport>,
        reason: String,
        duration: Duration,
    ) -> Self {
        let mut checks = completed;
        checks.push(grader_entry(
            UNFINISHED_ID,
            "the grading finished",
            "a submission that stalls or exhausts the grader fails here; run the checks on your own machine to see which one does not end",
            reason,
        ));
        Self {
            selection,
            checks,
            error: None,
            duration,
            sandbox: "none",
            sandbox_warning: None,
            bounds: None,
            commands: Commands::default(),
            rubric: Arc::default(),
        }
    }
}

/// The id of the entry that says a grading did not finish.
pub const UNFINISHED_ID: &str = "grader.did-not-finish";

/// A failing entry of the grader's own, outside every stage.
fn grader_entry(
    id: &'static str,
    title: &'static str,
    hint: &'static str,
    message: String,
) -> CheckReport {
    CheckReport {
        id,
        stage: 0,
        title,
        hint: hint.into(),
        status: Status::Failed,
        failure: Some(Failure::new(message).bounded()),
        duration: Duration::ZERO,
        output_tail: None,
        note: None,
    }
}

/// Grades the programs `options` describes, calling `on_check` as each check ends.
pub async fn grade(options: GradeOptions, on_check: impl FnMut(&CheckReport)) -> Report {
    let begun = Instant::now();
    let selection = options.selection;
    let programs = prepare(&options);
    let (server, client) = match programs {
        Ok(programs) => programs,
        Err(error) => {
            return Report::grader_error(selection, error.to_string(), begun.elapsed())
                .contained_by(&options.sandbox)
                .scored_by(&options.rubric);
        }
    };
    let mut ctx = Ctx::new(server, client, options.credentials);
    ctx.build().await;
    let checks = crate::checks::run(&mut ctx, &selection.checks(), on_check).await;
    // Leave nothing running. No graceful stop: what the program would save goes to a scratch
    // copy that is deleted next, and waiting for its exit would only lengthen every grading.
    if selection.has_server() {
        let _ = ctx.server().kill().await;
    }
    let commands = ctx.commands();
    Report {
        selection,
        checks,
        error: None,
        duration: begun.elapsed(),
        sandbox: "none",
        sandbox_warning: None,
        bounds: None,
        commands,
        rubric: options.rubric.clone(),
    }
    .contained_by(&options.sandbox)
}

type Programs = (Option<Box<dyn ServerTarget>>, Option<Box<dyn ClientTarget>>);

/// The scratch copies of the server and the client, ready to run in the grading's sandbox: each
/// from its folder, or the one folder that folder wraps.
fn prepare(options: &GradeOptions) -> Result<Programs, crate::under_test::TargetError> {
    let server = match &options.server {
        Some(spec) => {
            let spec = CommandSpec {
                sandbox: options.sandbox.clone(),
                dir: crate::submission::unwrapped(&spec.dir),
                ..spec.clone()
            };
            Some(Box::new(CommandTarget::new(spec)?) as Box<dyn ServerTarget>)
        }
        None => None,
    };
    let client = match &options.client {
        Some(spec) => {
            let spec = ClientSpec {
                sandbox: options.sandbox.clone(),
                dir: crate::submission::unwrapped(&spec.dir),
                ..spec.clone()
            };
            Some(Box::new(CommandClient::new(spec)?) as Box<dyn ClientTarget>)
        }
        None => None,
    };
    Ok((server, client))
}
