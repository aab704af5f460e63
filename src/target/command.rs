//! Any server program as a target: started in a scratch copy of its directory, in its own
//! process group, with its output captured to capped files. Nothing it starts outlives it.

use super::copy::{CopyLimits, copy_submission};
use super::{EXIT_DEADLINE, SECOND_SIGNAL_AFTER, Stopped, Target, TargetError, free_port};
use crate::sandbox::{Leader, Sandbox};
use crate::server::StopSignal;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use url::Url;

/// How much of each output stream is kept on disk.
pub const DEFAULT_OUTPUT_CAP: u64 = 1024 * 1024;
/// How much of the latest output is shown beside a failure.
const TAIL_BYTES: usize = 2048;

/// How to run a server program.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// The program and its arguments; `{port}` in any of them becomes the port.
    pub command: Vec<String>,
    /// The submission's directory, copied to a scratch directory the program runs in.
    pub dir: PathBuf,
    /// How long the program may take to accept connections.
    pub start_timeout: Duration,
    /// Bytes of stdout and of stderr kept on disk.
    pub output_cap: u64,
    /// What contains the program.
    pub sandbox: Sandbox,
}

impl CommandSpec {
    pub fn new(command: Vec<String>, dir: impl Into<PathBuf>) -> Self {
        Self {
            command,
            dir: dir.into(),
            start_timeout: Duration::from_secs(10),
            output_cap: DEFAULT_OUTPUT_CAP,
            sandbox: Sandbox::none(),
        }
    }
}

/// The program's output: capped files on disk and the latest bytes in memory.
#[derive(Debug)]
struct Output {
    stdout: Mutex<CappedFile>,
    stderr: Mutex<CappedFile>,
    tail: Mutex<VecDeque<u8>>,
}

#[derive(Debug)]
struct CappedFile {
    file: File,
    kept: u64,
    dropped: u64,
    cap: u64,
}

impl CappedFile {
    fn create(path: &Path, cap: u64) -> std::io::Result<Self> {
        Ok(Self {
            file: File::create(path)?,
            kept: 0,
            dropped: 0,
            cap,
        })
    }

    fn write(&mut self, bytes: &[u8]) {
        let room = usize::try_from(self.cap.saturating_sub(self.kept)).unwrap_or(usize::MAX);
        let (kept, dropped) = bytes.split_at(bytes.len().min(room));
        if self.file.write_all(kept).is_ok() {
            self.kept += kept.len() as u64;
        }
        self.dropped += dropped.len() as u64;
    }
}

impl Output {
    fn record(&self, stream: &Mutex<CappedFile>, bytes: &[u8]) {
        lock(stream).write(bytes);
        let mut tail = lock(&self.tail);
        tail.extend(bytes);
        let excess = tail.len().saturating_sub(TAIL_BYTES);
        tail.drain(..excess);
    }

    fn tail(&self) -> Option<String> {
        let tail = lock(&self.tail);
        if tail.is_empty() {
            return None;
        }
        let (front, back) = tail.as_slices();
        let mut text = String::from_utf8_lossy(&[front, back].concat()).into_owned();
        let dropped = lock(&self.stdout).dropped + lock(&self.stderr).dropped;
        if dropped > 0 {
            text.push_str(&format!(
                "\n[output capped: {dropped} more bytes were not kept]"
            ));
        }
        Some(text)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A server program under test.
pub struct CommandTarget {
    spec: CommandSpec,
    port: u16,
    base: Url,
    /// This run's folder: the scratch copy, the capped `stdout.log` and `stderr.log`, and what
    /// the sandbox needs; removed with the target.
    work: TempDir,
    scratch: PathBuf,
    output: Arc<Output>,
    child: Option<Child>,
    group: Option<Pid>,
    /// The sandbox the program runs in, while it runs (none without a sandbox).
    sandbox: Option<RunningSandbox>,
}

/// What the grader holds of a running sandbox: its init, readable once it and so every
/// process of the sandbox is gone, and bwrap's status pipe, held open (see [`Leader`]).
struct RunningSandbox {
    init_gone: Option<AsyncFd<OwnedFd>>,
    _status: Leader,
}

/// The prefix of every run folder; the grader's pid follows, so a later run can tell the
/// folders of a grader that was killed from those of one still running.
const RUN_FOLDER_PREFIX: &str = "session-lab-run-";

/// Removes the run folders that graders killed before they could clean up left behind.
pub fn remove_stale_run_folders() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(RUN_FOLDER_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let owner_gone =
            nix::sys::signal::kill(Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH);
        if owner_gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl CommandTarget {
    /// Prepares the scratch copy of the submission and the log files, and finds the program;
    /// starts nothing yet. Every error here is a [`TargetError::Setup`] that says what to do.
    pub fn new(spec: CommandSpec) -> Result<Self, TargetError> {
        if spec.command.is_empty() {
            return Err(TargetError::Setup(
                "no command to run was given: put it after `--`".into(),
            ));
        }
        check_submission_dir(&spec.dir)?;
        let setup = |what: &str, error: std::io::Error| {
            TargetError::Setup(format!("cannot {what}: {error}"))
        };
        let work = tempfile::Builder::new()
            .prefix(&format!("{RUN_FOLDER_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(|e| setup("create a scratch directory", e))?;
        let scratch = spec
            .sandbox
            .prepare(work.path())
            .map_err(|e| setup("create a scratch directory", e))?;
        copy_submission(&spec.dir, &scratch, CopyLimits::default()).map_err(|error| {
            TargetError::Setup(format!(
                "cannot copy the submission directory {}: {error}",
                spec.dir.display()
            ))
        })?;
        find_program(&spec.command[0], &spec.dir, &scratch)?;
        spec.sandbox
            .hand_over(&scratch)
            .map_err(|e| setup("hand the scratch copy to the sandbox's user", e))?;
        let logs = work.path().join("logs");
        std::fs::create_dir(&logs)
            .map_err(|e| setup("create a directory for the program's output", e))?;
        let output = Arc::new(Output {
            stdout: Mutex::new(
                CappedFile::create(&logs.join("stdout.log"), spec.output_cap)
                    .map_err(|e| setup("create stdout.log", e))?,
            ),
            stderr: Mutex::new(
                CappedFile::create(&logs.join("stderr.log"), spec.output_cap)
                    .map_err(|e| setup("create stderr.log", e))?,
            ),
            tail: Mutex::new(VecDeque::new()),
        });
        let port = free_port().map_err(|e| setup("find a free port", e))?;
        Ok(Self {
            base: loopback_url(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
            spec,
            port,
            work,
            scratch,
            output,
            child: None,
            group: None,
            sandbox: None,
        })
    }

    fn program(&self) -> &str {
        &self.spec.command[0]
    }

    /// bwrap exits with its command; the sandbox's init, and whatever the command left
    /// running, are killed by the kernel a moment later. A restart waits for that, so that
    /// nothing of the old sandbox can still hold the port the new one must listen on.
    async fn wait_until_sandbox_gone(&mut self) {
        if let Some(init) = self.sandbox.take().and_then(|sandbox| sandbox.init_gone) {
            let _ = tokio::time::timeout(EXIT_DEADLINE, init.readable()).await;
        }
    }

    fn signal_group(&self, signal: Signal) {
        if let Some(group) = self.group {
            // ESRCH means the whole group is already gone, which is what we want.
            let _ = killpg(group, signal);
        }
    }

    async fn wait_until_listening(&mut self) -> Result<(), TargetError> {
        let deadline = Instant::now() + self.spec.start_timeout;
        let candidates = [
            SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, self.port)),
        ];
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    let limit = self
                        .spec
                        .sandbox
                        .explain_exit(status.code())
                        .map(|why| format!(": {why}"))
                        .unwrap_or_default();
                    return Err(TargetError::Start(format!(
                        "`{}` exited ({status}) before it listened on port {}{limit}",
                        self.program(),
                        self.port
                    )));
                }
            }
            for addr in candidates {
                let attempt = tokio::net::TcpStream::connect(addr);
                if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(250), attempt).await {
                    self.base = loopback_url(addr);
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                self.kill().await?;
                return Err(TargetError::Start(format!(
                    "`{}` did not listen on 127.0.0.1:{} within {:?}; it was killed",
                    self.program(),
                    self.port,
                    self.spec.start_timeout
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
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

async fn capture(mut pipe: impl AsyncRead + Unpin, output: Arc<Output>, stderr: bool) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                let stream = if stderr {
                    &output.stderr
                } else {
                    &output.stdout
                };
                output.record(stream, &buffer[..read]);
            }
        }
    }
}

#[async_trait::async_trait]
impl Target for CommandTarget {
    async fn start(&mut self) -> Result<(), TargetError> {
        if self.is_running() {
            return Ok(());
        }
        let port = self.port.to_string();
        let args: Vec<String> = self
            .spec
            .command
            .iter()
            .map(|arg| arg.replace("{port}", &port))
            .collect();
        let launch = self
            .spec
            .sandbox
            .launch(&args, &self.scratch, self.work.path(), self.port)
            .map_err(|error| TargetError::Start(error.to_string()))?;
        let mut command = Command::from(launch.command);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // SAFETY: prctl is async-signal-safe, and the closure touches no memory of the parent.
        // A grader killed outright takes the program with it, rather than leaving it running.
        // It runs after the sandbox's own setup, since a change of uid clears it.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
            });
        }
        let spawned = command.spawn();
        // The command holds the write end of bwrap's status pipe: drop it before reading.
        drop(command);
        let mut child = spawned.map_err(|error| {
            TargetError::Start(format!("cannot run `{}`: {error}", self.program()))
        })?;
        let pid = child.id().unwrap_or_default();
        let leader = tokio::task::spawn_blocking(move || {
            let read = launch.leader.read(pid);
            read.map(|leader| (leader, launch.leader))
        })
        .await
        .map_err(|error| TargetError::Start(error.to_string()))
        .and_then(|read| {
            read.map_err(|error| TargetError::Start(format!("the sandbox did not start: {error}")))
        });
        let (leader, status) = match leader {
            Ok(read) => read,
            Err(error) => {
                let _ = child.kill().await;
                return Err(error);
            }
        };
        self.group = i32::try_from(leader).ok().map(Pid::from_raw);
        self.sandbox = (leader != pid).then(|| RunningSandbox {
            // SAFETY: an OwnedFd keeps its descriptor open and unchanged until it is dropped.
            init_gone: crate::sandbox::pidfd(leader)
                .ok()
                .and_then(|init| unsafe { AsyncFd::register(init) }.ok()),
            _status: status,
        });
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(capture(stdout, self.output.clone(), false));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(capture(stderr, self.output.clone(), true));
        }
        self.child = Some(child);
        self.wait_until_listening().await
    }

    async fn stop(&mut self, signal: StopSignal) -> Result<Stopped, TargetError> {
        let Some(mut child) = self.child.take() else {
            return Err(TargetError::Stop(format!(
                "`{}` is not running (it exited earlier)",
                self.program()
            )));
        };
        let begun = Instant::now();
        // The whole group, as Ctrl-C in a terminal would: a wrapper script and its server alike.
        self.signal_group(nix_signal(signal));
        let mut needed_second_signal = false;
        let status = match tokio::time::timeout(SECOND_SIGNAL_AFTER, child.wait()).await {
            Ok(status) => Some(status),
            Err(_) => {
                self.signal_group(nix_signal(signal));
                needed_second_signal = true;
                let rest = EXIT_DEADLINE.saturating_sub(begun.elapsed());
                tokio::time::timeout(rest, child.wait()).await.ok()
            }
        };
        let (exited_in_time, status) = match status {
            Some(status) => (true, status.ok()),
            None => {
                self.signal_group(Signal::SIGKILL);
                needed_second_signal = false;
                (false, child.wait().await.ok())
            }
        };
        let took = begun.elapsed();
        // Whatever the program started and left behind goes too.
        self.signal_group(Signal::SIGKILL);
        self.group = None;
        self.wait_until_sandbox_gone().await;
        Ok(Stopped {
            exited_in_time,
            needed_second_signal,
            took,
            status: status.map(|status| status.to_string()),
        })
    }

    async fn kill(&mut self) -> Result<(), TargetError> {
        self.signal_group(Signal::SIGKILL);
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
        self.group = None;
        self.wait_until_sandbox_gone().await;
        Ok(())
    }

    fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                self.child = None;
                self.signal_group(Signal::SIGKILL);
                self.group = None;
                false
            }
            None => false,
        }
    }

    fn base_url(&self) -> Url {
        self.base.clone()
    }

    fn output_tail(&self) -> Option<String> {
        self.output.tail()
    }
}

impl Drop for CommandTarget {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.signal_group(Signal::SIGKILL);
        }
    }
}

fn check_submission_dir(dir: &Path) -> Result<(), TargetError> {
    let problem = match std::fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => return Ok(()),
        Ok(_) => "is not a directory",
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => "does not exist",
        Err(error) => {
            return Err(TargetError::Setup(format!(
                "cannot read the submission directory {}: {error}",
                dir.display()
            )));
        }
    };
    Err(TargetError::Setup(format!(
        "the submission directory {} {problem}: give --dir the folder that holds the submission",
        dir.display()
    )))
}

/// Finds `program` as the shell would from the scratch copy: a path (with a `/`) is taken
/// relative to it, a bare name is looked up on `PATH`.
fn find_program(program: &str, dir: &Path, scratch: &Path) -> Result<(), TargetError> {
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    which::which_in(program, Some(&search_path), scratch).map(drop).map_err(|_| {
        TargetError::Setup(if program.contains('/') {
            format!(
                "the command `{program}` is not an executable file in the submission directory {}: check its name, or run it through its interpreter (e.g. `sh {program}`)",
                dir.display()
            )
        } else {
            format!(
                "the command `{program}` was not found on PATH: install it, or give its full path"
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_folders_of_a_grader_that_is_gone_are_removed_and_others_kept() {
        // The largest pid Linux hands out is 2^22: this one belongs to no process.
        let gone = tempfile::Builder::new()
            .prefix(&format!("{RUN_FOLDER_PREFIX}2147483646-"))
            .tempdir()
            .unwrap()
            .keep();
        std::fs::write(gone.join("left-behind"), "state").unwrap();
        let mine = tempfile::Builder::new()
            .prefix(&format!("{RUN_FOLDER_PREFIX}{}-", std::process::id()))
            .tempdir()
            .unwrap();
        remove_stale_run_folders();
        assert!(!gone.exists(), "{gone:?} was left");
        assert!(
            mine.path().exists(),
            "a running grader's folder was removed"
        );
    }
}
