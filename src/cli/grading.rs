//! What one submission is graded with, `grade` and `grade-class` alike: the stages, the
//! programs and their folders, the account, the time limits, and the sandbox with its limits.

use super::parse;
use anyhow::Context;
use session_lab::checks::{CLIENT_STAGE, Credentials, LAST_STAGE, Selection};
use session_lab::grade::GradeOptions;
use session_lab::grade::rubric::Rubric;
use session_lab::sandbox::{Limits, Sandbox, SandboxMode, network};
use session_lab::submission::start::{StartSource, StartSources};
use session_lab::under_test::{ClientSpec, CommandSpec};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What one submission is graded with: `grade` and `grade-class` alike.
#[derive(Debug, clap::Args)]
pub struct GradingArgs {
    /// Grade stages 1 to N [default: 5 with --client, else 4].
    #[arg(long, value_name = "N", conflicts_with = "only", value_parser = clap::value_parser!(u8).range(1..=i64::from(LAST_STAGE)))]
    stage: Option<u8>,
    /// Grade stage N alone.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=i64::from(LAST_STAGE)))]
    only: Option<u8>,
    /// The submission's directory; the command runs in a scratch copy of it.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// The cookie client's command, graded in stage 5 (quoted as one argument, split as a
    /// shell would); `{url}` in it becomes the URL it must fetch.
    #[arg(long, value_name = "CMD", value_parser = parse::parse_command)]
    client: Option<parse::Words>,
    /// The client's directory, if not --dir; all its runs share one scratch copy of it, so the
    /// jar it keeps there lasts from run to run.
    #[arg(long, value_name = "DIR")]
    client_dir: Option<PathBuf>,
    /// Seconds one run of the client may take before it is killed.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse::parse_seconds)]
    client_timeout: Duration,
    /// The account the checks log in with.
    #[arg(long, default_value = "alice")]
    username: String,
    #[arg(long, default_value = "wonderland")]
    password: String,
    /// Where the programs' commands may come from, in this order: the submission's Procfile
    /// (`web:`, `client:`, `build:`), the grader's (after `--`, and --client), what the
    /// submission's files show (the server only: server.py, package.json, go.mod, …).
    #[arg(
        long,
        value_name = "SOURCES",
        value_enum,
        value_delimiter = ',',
        default_value = "procfile,instructor,detect"
    )]
    command_from: Vec<StartSource>,
    /// Seconds a build the start asks for (`go build`, a Procfile's `build:`) may take, before
    /// the start limit begins.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse::parse_seconds)]
    build_timeout: Duration,
    /// Points per stage and per check, in TOML (`[points]`, `stage3 = 40`,
    /// `"stage3.session-id-random" = 8`; `[visibility]` for Gradescope) [default: a point a
    /// check].
    #[arg(long, value_name = "FILE")]
    rubric: Option<PathBuf>,
    /// Seconds the server may take to accept connections.
    #[arg(long, default_value = "10", value_parser = parse::parse_seconds)]
    start_timeout: Duration,
    /// Seconds the whole grading (of one submission) may take; then it ends with a failing
    /// report, whatever the submission does.
    #[arg(long, default_value = "120", value_parser = parse::parse_seconds)]
    pub(super) timeout: Duration,
    /// How to contain the submission: bubblewrap where it works (auto), always (bwrap, or an
    /// error), or not at all (none).
    #[arg(long, value_enum, default_value_t = SandboxMode::Auto)]
    sandbox: SandboxMode,
    /// Processes and threads the submission may run at once (sandbox, as root).
    #[arg(long, value_name = "N", default_value_t = Limits::default().processes)]
    process_limit: u64,
    /// MiB of data memory (heap and private writable mappings) each of its processes may use
    /// (sandbox).
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().memory >> 20)]
    memory_limit: u64,
    /// MiB the largest file it writes may hold (sandbox).
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().file_size >> 20)]
    file_size_limit: u64,
    /// CPU seconds each of its processes may use (sandbox).
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().cpu_seconds)]
    cpu_limit: u64,
    /// Files each of its processes may hold open at once (sandbox).
    #[arg(long, value_name = "N", default_value_t = Limits::default().open_files)]
    open_file_limit: u64,
    /// MiB of memory for everything the server (or the client) starts, together: a memory
    /// cgroup (sandbox, as root). `grade-class` runs no more gradings at once than the
    /// machine's memory holds.
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().grading_memory >> 20)]
    pub(super) grading_memory: u64,
    /// MiB its run folder may hold: the scratch copy, its private /tmp, its output (a tmpfs
    /// of that size; sandbox, as root).
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().scratch >> 20)]
    scratch_limit: u64,
    /// An environment variable for the submission (repeatable); the sandbox passes no other
    /// than PATH, HOME, LANG, and PORT, TZ and the moved clock for a server (URL and TZ for a
    /// client).
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse::parse_env)]
    env: Vec<(String, String)>,
    /// The command that starts the server of a submission that says nothing (its Procfile) of
    /// how it starts; without one, what its files show (--command-from).
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

impl GradingArgs {
    /// Which checks run; a usage error (clap's, exit 2) when a stage lacks what it judges.
    /// With no command given, a server is graded where the submission may say or show how it
    /// starts (and stage 5 alone grades a client alone); a client, where stage 5 is asked and its
    /// Procfile may name one.
    pub(super) fn selection(&self) -> Selection {
        let sources = self.sources();
        let server = !self.command.is_empty()
            || (self.only != Some(CLIENT_STAGE)
                && (sources.allows(StartSource::Procfile) || sources.allows(StartSource::Detect)));
        let asks_stage_5 = self.only == Some(CLIENT_STAGE) || self.stage == Some(CLIENT_STAGE);
        let client =
            self.client.is_some() || (asks_stage_5 && sources.allows(StartSource::Procfile));
        Selection::asked(self.stage, self.only, server, client).unwrap_or_else(|problem| {
            use clap::CommandFactory;
            super::Cli::command()
                .error(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    problem.to_string(),
                )
                .exit()
        })
    }

    /// The sandbox asked for; with bubblewrap, this process enters a network of its own
    /// (before its runtime starts a thread: a namespace is per thread, inherited by the
    /// threads and children started after it).
    pub(super) fn sandbox(&self) -> anyhow::Result<Sandbox> {
        let limits = Limits {
            processes: self.process_limit,
            memory: self.memory_limit << 20,
            file_size: self.file_size_limit << 20,
            cpu_seconds: self.cpu_limit,
            open_files: self.open_file_limit,
            grading_memory: self.grading_memory << 20,
            scratch: self.scratch_limit << 20,
        };
        let sandbox = Sandbox::new(self.sandbox, limits, self.env.clone())?;
        if sandbox.is_bwrap() {
            network::enter_private_network().context(
                "cannot give the sandbox a network of its own (only loopback); grade with --sandbox none to run without one",
            )?;
        }
        Ok(sandbox)
    }

    fn sources(&self) -> StartSources {
        StartSources::new(&self.command_from)
    }

    /// The rubric asked for, read and checked against the checks there are.
    pub(super) fn rubric(&self) -> anyhow::Result<Rubric> {
        let Some(path) = &self.rubric else {
            return Ok(Rubric::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the rubric {}", path.display()))?;
        Rubric::from_toml(&text, &session_lab::checks::all())
            .with_context(|| format!("the rubric {} cannot be used", path.display()))
    }

    /// What one submission is graded with, for the checks `selection` names.
    pub(super) fn options(
        self,
        selection: Selection,
        sandbox: &Sandbox,
        rubric: Arc<Rubric>,
    ) -> GradeOptions {
        let sources = self.sources();
        let server = selection.has_server().then(|| {
            let mut spec = CommandSpec::new(self.command, &self.dir);
            spec.start_timeout = self.start_timeout;
            spec.sources = sources.clone();
            spec.build_timeout = self.build_timeout;
            spec
        });
        let client = selection.has_client().then(|| {
            let command = self.client.map(|parse::Words(command)| command);
            let mut spec = ClientSpec::new(
                command.unwrap_or_default(),
                self.client_dir.as_ref().unwrap_or(&self.dir),
            );
            spec.run_timeout = self.client_timeout;
            spec.sources = sources;
            spec.build_timeout = self.build_timeout;
            spec
        });
        GradeOptions {
            selection,
            server,
            client,
            credentials: Credentials {
                username: self.username,
                password: self.password,
            },
            sandbox: sandbox.clone(),
            rubric,
        }
    }
}
