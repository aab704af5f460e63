//! A submission's program as a process: its run folder (a scratch copy of the submission and
//! its capped output), started in its sandbox and its own process group, and everything it
//! started killed with it. Servers ([`super::CommandTarget`]) and clients
//! ([`super::CommandClient`]) both run this way.

use super::EXIT_DEADLINE;
use super::{SetupError, StartError, TargetError};
use crate::sandbox::{Cgroup, Leader, Program, Sandbox, SizedFolder};
use crate::submission::start::{NoStart, Start};
use crate::submission::{CopyLimits, RunDir, copy_submission};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

/// How much of each output stream is kept on disk.
pub const DEFAULT_OUTPUT_CAP: u64 = 1024 * 1024;
/// How much of the first and of the latest output is shown beside a failure: where a program
/// failed to start, the cause is at the top (a Java exception's first lines), where it failed
/// later, at the bottom.
const HEAD_BYTES: usize = 1024;
const TAIL_BYTES: usize = 2048;
/// How long the last of a program's output may take to arrive once it is gone.
const OUTPUT_DRAIN: std::time::Duration = std::time::Duration::from_secs(1);

/// One run folder: the scratch copy of the submission the program runs in (and may write
/// to), a `logs` folder for its output, and what the sandbox needs; removed when dropped.
#[derive(Debug)]
pub struct RunFolder {
    /// The memory cgroup of every program run here, where one can be made: dropped first,
    /// killing what is left in it, before the folder goes.
    memory: Option<Cgroup>,
    /// The tmpfs `root` is, where it is one: unmounted before the folder goes.
    _sized: Option<SizedFolder>,
    /// Where the run's files are: `work`, or the tmpfs inside it.
    root: PathBuf,
    /// The locked folder itself, removed last.
    _work: RunDir,
    scratch: PathBuf,
}

impl RunFolder {
    /// Copies the submission in `dir` for its programs to run in; starts nothing yet. Every
    /// error is a [`SetupError`] that says what to do.
    pub fn new(dir: &Path, sandbox: &Sandbox) -> Result<Self, TargetError> {
        check_submission_dir(dir)?;
        let scratch_error = |e| SetupError::io("create a scratch directory", e);
        let work = RunDir::new().map_err(scratch_error)?;
        let prepared = sandbox.prepare(work.path()).map_err(scratch_error)?;
        let scratch = prepared.scratch;
        copy_submission(dir, &scratch, CopyLimits::default()).map_err(|source| {
            SetupError::Copy {
                dir: dir.to_owned(),
                source,
            }
        })?;
        sandbox
            .hand_over(&scratch)
            .map_err(|e| SetupError::io("hand the scratch copy to the sandbox's user", e))?;
        std::fs::create_dir(prepared.root.join("logs"))
            .map_err(|e| SetupError::io("create a directory for the program's output", e))?;
        let name = work
            .path()
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Self {
            memory: sandbox.memory_group(&name),
            _sized: prepared.sized,
            root: prepared.root,
            _work: work,
            scratch,
        })
    }

    /// The command that starts a program of the submission copied from `dir`, as `choose`
    /// picks it from the copy (its Procfile, its files), with its program found: a command
    /// the submission does not settle is the program's failure to start, kept for its start.
    pub fn start(
        &self,
        dir: &Path,
        choose: impl FnOnce(&Path) -> Result<Start, NoStart>,
    ) -> Result<Result<Start, NoStart>, TargetError> {
        let start = match choose(&self.scratch) {
            Ok(start) => start,
            Err(no_start) => return Ok(Err(no_start)),
        };
        // A program the build makes (a path into the copy) is there only after it.
        let built = |program: &str| start.build.is_some() && program.contains('/');
        let steps = start
            .build
            .iter()
            .map(|build| (&build.command[0], build.origin))
            .chain([(&start.command[0], start.origin)]);
        for (program, origin) in steps {
            if built(program) {
                continue;
            }
            match find_program(program, dir, &self.scratch) {
                Ok(()) => {}
                // The student's own command names the program: theirs to fix.
                Err(error) if !origin.is_the_graders() => {
                    return Ok(Err(NoStart::ProgramNotFound(error.to_string())));
                }
                Err(error) => return Err(error),
            }
        }
        Ok(Ok(start))
    }

    /// The scratch copy the program runs in.
    pub fn scratch(&self) -> &Path {
        &self.scratch
    }

    /// Whether the kernel killed one of its programs for the grading's memory limit.
    pub fn memory_exceeded(&self) -> bool {
        self.memory.as_ref().is_some_and(Cgroup::oom_killed)
    }

    /// Output files for a run named `name`: `logs/NAME.stdout` and `logs/NAME.stderr`.
    pub fn output(&self, name: &str, cap: u64) -> Result<Arc<Output>, TargetError> {
        let logs = self.root.join("logs");
        let file = |stream: &str| {
            CappedFile::create(&logs.join(format!("{name}.{stream}")), cap)
                .map_err(|e| SetupError::io(format!("create {name}.{stream}"), e))
        };
        Ok(Arc::new(Output {
            stdout: Mutex::new(file("stdout")?),
            stderr: Mutex::new(file("stderr")?),
            head: Mutex::new(Vec::new()),
            tail: Mutex::new(VecDeque::new()),
            recorded: std::sync::atomic::AtomicUsize::new(0),
        }))
    }
}

/// A program's output: capped files on disk and the latest bytes in memory.
#[derive(Debug)]
pub struct Output {
    stdout: Mutex<CappedFile>,
    stderr: Mutex<CappedFile>,
    head: Mutex<Vec<u8>>,
    tail: Mutex<VecDeque<u8>>,
    /// Bytes recorded so far, of both streams.
    recorded: std::sync::atomic::AtomicUsize,
}

#[derive(Debug)]
struct CappedFile {
    path: PathBuf,
    file: File,
    kept: u64,
    dropped: u64,
    cap: u64,
}

impl CappedFile {
    fn create(path: &Path, cap: u64) -> std::io::Result<Self> {
        Ok(Self {
            path: path.to_owned(),
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
        let mut head = lock(&self.head);
        let room = HEAD_BYTES.saturating_sub(head.len());
        head.extend_from_slice(&bytes[..bytes.len().min(room)]);
        drop(head);
        self.recorded
            .fetch_add(bytes.len(), std::sync::atomic::Ordering::Relaxed);
        let mut tail = lock(&self.tail);
        tail.extend(bytes);
        let excess = tail.len().saturating_sub(TAIL_BYTES);
        tail.drain(..excess);
    }

    /// The first and the latest output of both streams (all of it when it is short), saying
    /// how much was left out between them and how much the cap left out.
    pub fn excerpt(&self) -> Option<String> {
        let recorded = self.recorded.load(std::sync::atomic::Ordering::Relaxed);
        if recorded == 0 {
            return None;
        }
        let tail = lock(&self.tail);
        let (front, back) = tail.as_slices();
        let tail = [front, back].concat();
        let head = lock(&self.head).clone();
        let mut text = if recorded <= head.len() + tail.len() {
            // They overlap or meet: the tail holds everything after the first bytes.
            let from_head = recorded - tail.len();
            String::from_utf8_lossy(&[&head[..from_head], &tail[..]].concat()).into_owned()
        } else {
            format!(
                "{}\n[… {} bytes left out …]\n{}",
                String::from_utf8_lossy(&head),
                recorded - head.len() - tail.len(),
                String::from_utf8_lossy(&tail)
            )
        };
        let dropped = lock(&self.stdout).dropped + lock(&self.stderr).dropped;
        if dropped > 0 {
            text.push_str(&format!(
                "\n[output capped: {dropped} more bytes were not kept]"
            ));
        }
        Some(text)
    }

    /// What the program wrote to stdout, as far as the cap kept it.
    pub fn stdout(&self) -> String {
        let path = lock(&self.stdout).path.clone();
        String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// A running program: the child the grader waits on, the process group every signal goes
/// to, and its sandbox. Dropped, it kills the group.
pub struct Process {
    pub child: Child,
    group: Option<Pid>,
    sandbox: Option<RunningSandbox>,
    /// The tasks copying its output; done once every process holding its pipes is gone.
    capturing: Vec<tokio::task::JoinHandle<()>>,
    /// Without a sandbox, the command's pid: libfaketime names the shared memory it makes in
    /// the machine's `/dev/shm` after it, and a program killed outright leaves it there (a
    /// sandbox has a `/dev/shm` of its own).
    host_shm_of: Option<u32>,
}

/// What the grader holds of a running sandbox: its init, readable once it and so every
/// process of the sandbox is gone, and bwrap's status pipe, held open (see [`Leader`]).
struct RunningSandbox {
    init_gone: Option<AsyncFd<OwnedFd>>,
    _status: Leader,
}

impl Process {
    /// Starts `args` in `folder`'s scratch copy, contained by `sandbox`, with the run's own
    /// environment `vars`, copying its output to `output`.
    pub async fn spawn(
        sandbox: &Sandbox,
        program: &Program<'_>,
        folder: &RunFolder,
        vars: &[(&str, String)],
        output: &Arc<Output>,
    ) -> Result<Self, TargetError> {
        let launch = sandbox
            .launch(
                program,
                &folder.scratch,
                &folder.root,
                vars,
                folder.memory.as_ref(),
            )
            .map_err(StartError::from)?;
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
        let mut child = spawned.map_err(|source| StartError::Spawn {
            program: program.argv[0].clone(),
            source,
        })?;
        let pid = child.id().unwrap_or_default();
        let leader = tokio::task::spawn_blocking(move || {
            let read = launch.leader.read(pid);
            read.map(|leader| (leader, launch.leader))
        })
        .await
        .map_err(StartError::from)
        .and_then(|read| read.map_err(StartError::SandboxDidNotStart));
        let (leader, status) = match leader {
            Ok(read) => read,
            Err(error) => {
                let _ = child.kill().await;
                return Err(error.into());
            }
        };
        let sandbox = (leader != pid).then(|| RunningSandbox {
            // SAFETY: an OwnedFd keeps its descriptor open and unchanged until it is dropped.
            init_gone: crate::sandbox::pidfd(leader)
                .ok()
                .and_then(|init| unsafe { AsyncFd::register(init) }.ok()),
            _status: status,
        });
        let mut capturing = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            capturing.push(tokio::spawn(capture(stdout, output.clone(), false)));
        }
        if let Some(stderr) = child.stderr.take() {
            capturing.push(tokio::spawn(capture(stderr, output.clone(), true)));
        }
        let host_shm_of = sandbox.is_none().then_some(pid);
        Ok(Self {
            child,
            group: i32::try_from(leader).ok().map(Pid::from_raw),
            sandbox,
            capturing,
            host_shm_of,
        })
    }

    /// Waits until the command has exited and every process of the submission is gone: in a
    /// sandbox its init exits only then; without one, the rest of its process group is waited
    /// for (a launcher such as `go run` exits on SIGTERM before the server it started has
    /// saved). Returns the command's own exit status.
    pub async fn wait_for_all(&mut self) -> std::io::Result<std::process::ExitStatus> {
        let status = self.child.wait().await?;
        if self.sandbox.is_none() {
            if let Some(group) = self.group {
                while killpg(group, None).is_ok() {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
        Ok(status)
    }

    /// The signal that ended the command, from its exit `status`: in a sandbox, where the
    /// init reports a death by signal N as 128 + N, as a shell does.
    pub fn ended_by_signal(&self, status: std::process::ExitStatus) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        status.signal().or_else(|| {
            let code = status.code()?;
            (self.sandbox.is_some() && (129..=192).contains(&code)).then(|| code - 128)
        })
    }

    /// The names of the submission's processes still running: in a sandbox, every process
    /// below its init (orphans are the init's children); without one, the process group's.
    pub fn still_running(&self) -> Vec<String> {
        self.pids()
            .into_iter()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).ok())
            .map(|name| name.trim_end().to_owned())
            .collect()
    }

    /// The TCP ports the submission's processes listen on.
    pub fn listening_ports(&self) -> Vec<u16> {
        let mut sockets = Vec::new();
        for pid in self.pids().into_iter().chain(self.group.map(Pid::as_raw)) {
            let Ok(descriptors) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                continue;
            };
            for descriptor in descriptors.flatten() {
                let target = std::fs::read_link(descriptor.path()).unwrap_or_default();
                let inode = target
                    .to_str()
                    .and_then(|link| link.strip_prefix("socket:["))
                    .and_then(|rest| rest.strip_suffix(']'))
                    .map(str::to_owned);
                sockets.extend(inode);
            }
        }
        let mut ports: Vec<u16> = ["/proc/net/tcp", "/proc/net/tcp6"]
            .iter()
            .filter_map(|table| std::fs::read_to_string(table).ok())
            .flat_map(|table| listening(&table, &sockets))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// The submission's processes but its sandbox's init: in a sandbox, every process below
    /// the init (orphans are the init's children); without one, the process group's.
    fn pids(&self) -> Vec<i32> {
        submission_pids(self.group, self.sandbox.is_some())
    }

    /// A watch, from now, on how long its threads wait for a core.
    pub fn queue_watch(&self) -> QueueWatch {
        let sandboxed = self.sandbox.is_some();
        QueueWatch {
            group: self.group,
            sandboxed,
            baseline: queue_delays(self.group, sandboxed),
        }
    }

    /// Sends `signal` to the whole group, as Ctrl-C in a terminal would: a wrapper script and
    /// its server alike.
    pub fn signal(&self, signal: Signal) {
        if let Some(group) = self.group {
            // ESRCH means the whole group is already gone, which is what we want.
            let _ = killpg(group, signal);
        }
    }

    /// Kills whatever is left of the group and waits until the sandbox is gone.
    ///
    /// bwrap exits with its command; the sandbox's init, and whatever the command left
    /// running, are killed by the kernel a moment later. This waits for that, so that nothing
    /// of the old sandbox can still hold a port or a file the next run needs.
    pub async fn end(mut self) {
        self.signal(Signal::SIGKILL);
        let _ = self.child.kill().await;
        self.group = None;
        if let Some(init) = self.sandbox.take().and_then(|sandbox| sandbox.init_gone) {
            let _ =
                tokio::time::timeout(crate::patience::stretched(EXIT_DEADLINE), init.readable())
                    .await;
        }
    }

    /// [`Process::end`], then waits (briefly) for the last of its output: complete, unless a
    /// process that left the group (possible only without a sandbox) still holds its pipes.
    pub async fn end_with_output(mut self) {
        let capturing = std::mem::take(&mut self.capturing);
        self.end().await;
        for task in capturing {
            let _ = tokio::time::timeout(OUTPUT_DRAIN, task).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
        if let Some(pid) = self.host_shm_of {
            for name in [
                format!("/dev/shm/faketime_shm_{pid}"),
                format!("/dev/shm/sem.faketime_sem_{pid}"),
            ] {
                let _ = std::fs::remove_file(name);
            }
        }
    }
}

/// How long a submission's threads have waited, runnable, for a core since the watch began:
/// the time an overloaded machine took from it. A wait for the submission (to listen, to
/// exit) is extended by as much, so that a correct program is given the time the contract
/// states however busy the machine, while one that sleeps, or ignores its signal, waits for
/// nothing and gets nothing more. Read from each thread's `schedstat` (its second field is the
/// time it spent runnable on a run queue); a thread that started meanwhile counts all of it.
pub struct QueueWatch {
    group: Option<Pid>,
    sandboxed: bool,
    baseline: HashMap<i32, u64>,
}

impl QueueWatch {
    /// The longest any of its threads has waited for a core since the watch began.
    pub fn extra(&self) -> Duration {
        let most = queue_delays(self.group, self.sandboxed)
            .into_iter()
            .map(|(thread, waited)| {
                waited.saturating_sub(self.baseline.get(&thread).copied().unwrap_or(0))
            })
            .max()
            .unwrap_or(0);
        Duration::from_nanos(most)
    }
}

/// The time each thread of the submission has spent waiting for a core, in nanoseconds.
fn queue_delays(group: Option<Pid>, sandboxed: bool) -> HashMap<i32, u64> {
    let mut delays = HashMap::new();
    for pid in submission_pids(group, sandboxed) {
        let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for thread in threads.flatten() {
            let Some(tid) = thread.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            let waited = std::fs::read_to_string(thread.path().join("schedstat"))
                .ok()
                .and_then(|stat| stat.split_whitespace().nth(1)?.parse().ok());
            if let Some(waited) = waited {
                delays.insert(tid, waited);
            }
        }
    }
    delays
}

/// The submission's processes but a sandbox's init, as [`Process::pids`] finds them.
fn submission_pids(group: Option<Pid>, sandboxed: bool) -> Vec<i32> {
    let Some(group) = group else {
        return Vec::new();
    };
    if sandboxed {
        descendants(group.as_raw())
    } else {
        processes_in_group(group.as_raw())
    }
}

/// Every process below `pid`, from the kernel's lists of children (bounded: a fork flood is
/// capped by the sandbox's process limit).
fn descendants(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                if found.len() < 4096 && !found.contains(&child) {
                    found.push(child);
                    parents.push(child);
                }
            }
        }
    }
    found
}

/// The local ports of the listening sockets of a `/proc/net/tcp` table whose inodes are among
/// `sockets` (`sl local_address rem_address st … inode`, the port in hex, LISTEN as `0A`).
fn listening(table: &str, sockets: &[String]) -> Vec<u16> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
            if *state != "0A" || !sockets.iter().any(|socket| socket == inode) {
                return None;
            }
            u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()
        })
        .collect()
}

/// The processes whose process group is `group`.
fn processes_in_group(group: i32) -> Vec<i32> {
    use crate::procfs::{StatField, processes, stat};
    processes()
        .filter(|pid| stat(*pid, StatField::Group) == Some(group))
        .collect()
}

fn check_submission_dir(dir: &Path) -> Result<(), TargetError> {
    let problem = match std::fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => return Ok(()),
        Ok(_) => "is not a directory",
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => "does not exist",
        Err(error) => {
            return Err(SetupError::UnreadableFolder {
                dir: dir.to_owned(),
                source: error,
            }
            .into());
        }
    };
    Err(SetupError::NoFolder {
        dir: dir.to_owned(),
        problem,
    }
    .into())
}

/// Finds `program` as the shell would from the scratch copy: a path (with a `/`) is taken
/// relative to it, a bare name is looked up on `PATH`.
fn find_program(program: &str, dir: &Path, scratch: &Path) -> Result<(), TargetError> {
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    which::which_in(program, Some(&search_path), scratch)
        .map(drop)
        .map_err(|_| {
            if program.contains('/') {
                SetupError::NotExecutable {
                    program: program.to_owned(),
                    dir: dir.to_owned(),
                }
            } else {
                SetupError::NotOnPath {
                    program: program.to_owned(),
                }
            }
            .into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(dir: &Path) -> Output {
        Output {
            stdout: Mutex::new(CappedFile::create(&dir.join("out"), 1 << 20).unwrap()),
            stderr: Mutex::new(CappedFile::create(&dir.join("err"), 1 << 20).unwrap()),
            head: Mutex::new(Vec::new()),
            tail: Mutex::new(VecDeque::new()),
            recorded: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    #[test]
    fn an_excerpt_keeps_the_first_lines_where_a_start_failure_names_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        let long = output(dir.path());
        long.record(
            &long.stderr,
            b"Exception in thread \"main\" java.lang.InternalError: Error loading java.security file\n",
        );
        for frame in 0..200 {
            long.record(
                &long.stderr,
                format!("\tat frame{frame}(Server.java)\n").as_bytes(),
            );
        }
        let excerpt = long.excerpt().unwrap();
        assert!(excerpt.starts_with("Exception in thread"), "{excerpt}");
        assert!(excerpt.contains("bytes left out"), "{excerpt}");
        assert!(excerpt.ends_with("at frame199(Server.java)\n"), "{excerpt}");
        assert!(excerpt.len() < HEAD_BYTES + TAIL_BYTES + 100);

        let short = output(dir.path());
        short.record(&short.stdout, b"listening\n");
        short.record(&short.stderr, b"bye\n");
        assert_eq!(short.excerpt().unwrap(), "listening\nbye\n");
        // Longer than the tail, shorter than head and tail: all of it, once.
        let middle = output(dir.path());
        let text: String = (0..2500u32)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        middle.record(&middle.stdout, text.as_bytes());
        assert_eq!(middle.excerpt().unwrap(), text);
        assert_eq!(output(dir.path()).excerpt(), None);
    }

    #[test]
    fn a_listening_socket_s_port_is_read_from_the_kernel_s_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0
   1: 0100007F:1F41 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4243 1 0 100 0 0 10 0
   2: 0100007F:1F42 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9999 1 0 100 0 0 10 0
";
        let mine = ["4242".to_owned(), "4243".to_owned()];
        assert_eq!(listening(table, &mine), [8000]);
    }
}
