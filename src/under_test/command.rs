//! Any server program as a target: started in a scratch copy of its directory, in its own
//! process group, with its output captured to capped files. Nothing it starts outlives it.

use super::build::Build;
use super::process::{DEFAULT_OUTPUT_CAP, Output, Process, QueueWatch, RunFolder};
use super::{
    EXIT_DEADLINE, SECOND_SIGNAL_AFTER, ServerClock, ServerTarget, SetupError, StartError,
    StopError, Stopped, TargetError, free_port,
};
use crate::sandbox::{Program, Sandbox};
use crate::server::StopSignal;
use crate::submission::start::{NoStart, Start, StartSources};
use nix::sys::signal::Signal;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// How to run a server program.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// The instructor's program and its arguments (maybe none); `{port}` in any of them
    /// becomes the port. The submission may say otherwise, as `sources` allow.
    pub command: Vec<String>,
    /// Where the command may come from: the submission's Procfile, `command`, its files.
    pub sources: StartSources,
    /// How long a build the start asks for may take.
    pub build_timeout: Duration,
    /// The submission's directory, copied to a scratch directory the program runs in.
    pub dir: PathBuf,
    /// How long the program may take to accept connections.
    pub start_timeout: Duration,
    /// Bytes of stdout and of stderr kept on disk.
    pub output_cap: u64,
    /// What contains the program.
    pub sandbox: Sandbox,
    /// Its time zone and date.
    pub clock: ServerClock,
}

impl CommandSpec {
    pub fn new(command: Vec<String>, dir: impl Into<PathBuf>) -> Self {
        Self {
            command,
            sources: StartSources::default(),
            build_timeout: DEFAULT_BUILD_TIMEOUT,
            dir: dir.into(),
            start_timeout: Duration::from_secs(10),
            output_cap: DEFAULT_OUTPUT_CAP,
            sandbox: Sandbox::none(),
            clock: ServerClock::for_grading_at(std::time::SystemTime::now()),
        }
    }
}

/// How long a build may take unless the grading says otherwise: a cold `go build` or `javac`
/// of a small server takes seconds, more on a loaded machine.
pub const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(60);

/// A server program under test.
pub struct CommandTarget {
    spec: CommandSpec,
    /// The command that starts it, or why the submission settles none.
    start: Result<Start, NoStart>,
    build: Build,
    port: u16,
    base: Url,
    /// The program, while it runs; declared first so that it is killed before its folder goes.
    process: Option<Process>,
    /// The scratch copy it runs in and its capped `server.stdout` and `server.stderr`,
    /// removed with the target.
    folder: RunFolder,
    output: Arc<Output>,
}

impl CommandTarget {
    /// Prepares the scratch copy of the submission and the log files, and finds the program;
    /// starts nothing yet. Every error here is a [`TargetError::Setup`] that says what to do.
    pub fn new(spec: CommandSpec) -> Result<Self, TargetError> {
        let folder = RunFolder::new(&spec.dir, &spec.sandbox)?;
        let start = folder.start(&spec.dir, |copy| {
            crate::submission::start::server(copy, &spec.command, &spec.sources)
        })?;
        let build = Build::of(&start);
        let output = folder.output("server", spec.output_cap)?;
        let port = free_port().map_err(|e| SetupError::io("find a free port", e))?;
        Ok(Self {
            base: loopback_url(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
            spec,
            start,
            build,
            port,
            folder,
            output,
            process: None,
        })
    }

    fn program(&self) -> &str {
        self.start
            .as_ref()
            .map_or("the server", |start| start.command[0].as_str())
    }

    async fn wait_until_listening(&mut self) -> Result<(), TargetError> {
        let begun = Instant::now();
        let watch = self.process.as_ref().map(Process::queue_watch);
        let given =
            || self.spec.start_timeout + watch.as_ref().map_or(Duration::ZERO, QueueWatch::extra);
        let candidates = [
            SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, self.port)),
        ];
        loop {
            if let Some(process) = self.process.as_mut() {
                if let Ok(Some(status)) = process.child.try_wait() {
                    if let Some(process) = self.process.take() {
                        process.end().await;
                    }
                    let why = self
                        .spec
                        .sandbox
                        .explain_exit(status.code(), &self.output.excerpt().unwrap_or_default());
                    return Err(StartError::ExitedEarly {
                        program: self.program().to_owned(),
                        status,
                        port: self.port,
                        why,
                    }
                    .into());
                }
            }
            for addr in candidates {
                let attempt = tokio::net::TcpStream::connect(addr);
                if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(250), attempt).await {
                    self.base = loopback_url(addr);
                    return Ok(());
                }
            }
            let start_timeout = given();
            if begun.elapsed() >= start_timeout {
                let elsewhere = self
                    .process
                    .as_ref()
                    .map(Process::listening_ports)
                    .unwrap_or_default();
                self.kill().await?;
                return Err(StartError::NeverListened {
                    program: self.program().to_owned(),
                    port: self.port,
                    given: start_timeout,
                    elsewhere,
                }
                .into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Waits until every process of the submission is gone, or until `limit` (and the time the
/// machine kept its threads waiting for a core, [`QueueWatch`]) has passed since `begun`.
async fn wait_within(
    process: &mut Process,
    watch: &QueueWatch,
    begun: Instant,
    limit: Duration,
) -> Option<std::io::Result<std::process::ExitStatus>> {
    loop {
        tokio::select! {
            status = process.wait_for_all() => return Some(status),
            () = tokio::time::sleep(Duration::from_millis(50)) => {
                if begun.elapsed() >= limit + watch.extra() {
                    return None;
                }
            }
        }
    }
}

/// The output shown beside a failure, and, where the grading's memory limit killed a process
/// of it, a line that says so (a server killed that way just stops answering).
pub(super) fn with_memory_note(
    excerpt: Option<String>,
    folder: &RunFolder,
    sandbox: &Sandbox,
) -> Option<String> {
    if !folder.memory_exceeded() {
        return excerpt;
    }
    let note = format!("[{}]", sandbox.memory_exceeded());
    Some(match excerpt {
        Some(excerpt) => format!("{excerpt}\n{note}"),
        None => note,
    })
}

fn loopback_url(addr: SocketAddr) -> Url {
    Url::parse(&format!("http://{addr}/")).expect("a socket address is a valid URL host")
}

fn nix_signal(signal: StopSignal) -> Signal {
    match signal {
        StopSignal::Interrupt => Signal::SIGINT,
        StopSignal::Terminate => Signal::SIGTERM,
    }
}

#[async_trait::async_trait]
impl ServerTarget for CommandTarget {
    async fn build(&mut self) -> Result<(), TargetError> {
        let port = self.port.to_string();
        let mut vars = vec![("PORT", port.clone())];
        vars.extend(self.spec.clock.vars());
        self.build
            .ensure(
                &self.spec.sandbox,
                &self.folder,
                &vars,
                self.spec.build_timeout,
                |word| word.replace("{port}", &port),
            )
            .await
            .map_err(|failure| StartError::from(failure).into())
    }

    async fn start(&mut self) -> Result<(), TargetError> {
        if self.is_running() {
            return Ok(());
        }
        let start = self.start.clone().map_err(StartError::from)?;
        self.build().await?;
        let port = self.port.to_string();
        let args: Vec<String> = start
            .command
            .iter()
            .map(|arg| arg.replace("{port}", &port))
            .collect();
        let mut vars = vec![("PORT", port)];
        vars.extend(self.spec.clock.vars());
        let program = Program {
            argv: &args,
            trusted: start.origin.is_the_graders(),
            ends_with_command: false,
        };
        let process = Process::spawn(
            &self.spec.sandbox,
            &program,
            &self.folder,
            &vars,
            &self.output,
        )
        .await?;
        self.process = Some(process);
        self.wait_until_listening().await
    }

    async fn stop(&mut self, signal: StopSignal) -> Result<Stopped, TargetError> {
        let Some(mut process) = self.process.take() else {
            return Err(StopError::NotRunning {
                program: self.program().to_owned(),
            }
            .into());
        };
        let watch = process.queue_watch();
        let begun = Instant::now();
        process.signal(nix_signal(signal));
        let mut needed_second_signal = false;
        let mut second_signal_after = SECOND_SIGNAL_AFTER;
        let status = match wait_within(&mut process, &watch, begun, SECOND_SIGNAL_AFTER).await {
            Some(status) => Some(status),
            None => {
                second_signal_after = begun.elapsed();
                process.signal(nix_signal(signal));
                needed_second_signal = true;
                wait_within(&mut process, &watch, begun, EXIT_DEADLINE).await
            }
        };
        let deadline = EXIT_DEADLINE + watch.extra();
        let mut left_running = Vec::new();
        let (exited_in_time, status) = match status {
            Some(status) => (true, status.ok()),
            None => {
                left_running = process.still_running();
                process.signal(Signal::SIGKILL);
                needed_second_signal = false;
                (false, process.child.wait().await.ok())
            }
        };
        let ended_by_signal = status.and_then(|status| process.ended_by_signal(status));
        let took = begun.elapsed();
        // Whatever the program started and left behind goes too.
        process.end().await;
        Ok(Stopped {
            exited_in_time,
            needed_second_signal,
            took,
            status: status.map(|status| status.to_string()),
            left_running,
            ended_by_signal,
            deadline,
            second_signal_after,
        })
    }

    async fn kill(&mut self) -> Result<(), TargetError> {
        if let Some(process) = self.process.take() {
            process.end().await;
        }
        Ok(())
    }

    fn is_running(&mut self) -> bool {
        match self
            .process
            .as_mut()
            .map(|process| process.child.try_wait())
        {
            Some(Ok(None)) => true,
            Some(_) => {
                // Dropping it kills whatever it left running.
                self.process = None;
                false
            }
            None => false,
        }
    }

    fn base_url(&self) -> Url {
        self.base.clone()
    }

    fn output_tail(&self) -> Option<String> {
        with_memory_note(self.output.excerpt(), &self.folder, &self.spec.sandbox)
    }

    fn clock_shift(&self) -> Duration {
        self.spec.clock.shift()
    }

    fn started_with(&self) -> Option<&Start> {
        self.start.as_ref().ok()
    }
}
