//! The sandbox a submission's command runs in. Student code is hostile until proven otherwise:
//! with bubblewrap (`bwrap`) it gets its own PID, IPC, UTS and user namespaces (nothing it
//! starts outlives the sandbox, and it cannot see or signal the grader), a root made of
//! read-only system directories and its interpreter's prefix, the scratch copy and private
//! copies of `/tmp`, `/var/tmp` and PHP's session folder as its only writable places, a cleared environment, an unprivileged uid of its own
//! even when the grader runs as root, and kernel limits on processes, memory, file size and
//! CPU time. The network namespace is the grader's: [`network`] gives the `grade` command one
//! with only loopback, so the submission reaches the grader and nothing else.
//!
//! [`Sandbox::none`] runs the command as it is, in its own process group, and says so in
//! every report.

mod cgroup;
pub mod init;
mod interpreter;
mod sized_folder;

pub use cgroup::Cgroup;
pub use sized_folder::{SizedFolder, unmount};
pub mod network;

use nix::libc;
use std::ffi::CString;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// How to contain the submission (`grade --sandbox`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SandboxMode {
    /// bubblewrap where it works here; otherwise none, with a warning in every report.
    Auto,
    /// bubblewrap, or the grading stops with an error.
    Bwrap,
    /// No containment: the command runs as the grader's user, in its own process group.
    None,
}

/// The kernel limits on a sandboxed command; each has a `grade` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Processes and threads together (RLIMIT_NPROC, per uid: each sandbox has its own uid).
    /// Applied only when the grader runs as root; otherwise it would count all the user's.
    pub processes: u64,
    /// Data memory in bytes (RLIMIT_DATA: the heap and private writable mappings), per
    /// process. Not the address space (RLIMIT_AS): Node's `fetch` reserves about 10 GiB of it
    /// (inaccessible, for WebAssembly) and would not start under any sensible cap.
    pub memory: u64,
    /// The largest file it may write, in bytes (RLIMIT_FSIZE).
    pub file_size: u64,
    /// CPU seconds (RLIMIT_CPU): SIGXCPU at the limit, SIGKILL 5 s later.
    pub cpu_seconds: u64,
    /// Files open at once, per process (RLIMIT_NOFILE, soft and hard: the JVM raises its
    /// soft limit to the hard one).
    pub open_files: u64,
    /// Memory in bytes for everything one grading's server (or client) starts, together: a
    /// memory cgroup, where the grader is root.
    pub grading_memory: u64,
    /// Bytes its run folder may hold (the scratch copy, its private `/tmp`, its output): a
    /// tmpfs of that size, where the grader is root.
    pub scratch: u64,
}

impl Default for Limits {
    /// What no correct solution meets: a Python or Node server uses a dozen threads, 100 MiB
    /// of memory, a state file of kilobytes and well under a second of CPU per grading.
    fn default() -> Self {
        Self {
            processes: 256,
            memory: 4 << 30,
            file_size: 64 << 20,
            cpu_seconds: 60,
            open_files: 1024,
            grading_memory: 1 << 30,
            scratch: 512 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "bubblewrap cannot run here ({0}): install it (Debian: apt-get install bubblewrap) and allow unprivileged user namespaces, or grade with --sandbox none"
    )]
    Unavailable(String),
    #[error(
        "{name} is missing (expected at {0}): every sandbox runs it as its first process; `cargo install` puts it beside session-lab, so copy it there too, or grade with --sandbox none", name = init::INIT_BINARY
    )]
    InitMissing(PathBuf),
    #[error(
        "the sandbox's user cannot pass through {path} (mode {mode:04o}), which holds the grader's run folders: set TMPDIR to a folder every user may pass through (mode 0711 or 1777, such as /tmp), or grade with --sandbox none"
    )]
    Unreachable { path: PathBuf, mode: u32 },
    #[error("cannot prepare the sandbox: {0}")]
    Prepare(#[from] std::io::Error),
}

/// How submissions run: contained by bubblewrap, or not at all.
#[derive(Debug, Clone)]
pub struct Sandbox {
    bwrap: bool,
    /// The `session-lab-init` binary each sandbox runs as its first process.
    init: PathBuf,
    limits: Limits,
    env: Vec<(String, String)>,
    /// Why `auto` fell back to no sandbox, for the reports.
    fallback_reason: Option<String>,
    /// Why a grading's memory is not bounded as a whole, where it is not.
    memory_unbounded: Option<String>,
    /// What a command a submission wrote gets mounted: the runtimes of the grader's table,
    /// found at the first such launch and shared by every clone of this sandbox.
    runtime_mounts: Arc<OnceLock<interpreter::Mounts>>,
}

/// The folder of a run folder that is its tmpfs, as root.
pub const SIZED_FOLDER: &str = "sized";

/// A run folder made ready by [`Sandbox::prepare`].
#[derive(Debug)]
pub struct Prepared {
    /// Where the run's files go: the scratch copy, the private places, the output.
    pub root: PathBuf,
    /// The scratch directory in `root` the submission is copied to.
    pub scratch: PathBuf,
    /// The tmpfs `root` is, where it is one.
    pub sized: Option<SizedFolder>,
}

/// A place outside the submission's folder where programs keep state by default, which
/// every sandbox has as a private, writable copy: made empty for each grading, kept across
/// its restarts (as the machine's own would be), removed with its run folder. So a verdict is
/// the same in and out of the sandbox.
struct WritablePlace {
    /// The copy's name in the run folder's [`PLACES`].
    name: &'static str,
    /// Where the sandbox sees it.
    path: &'static str,
    /// Its mode, as Debian makes the original.
    mode: u32,
}

/// The folder of a run folder that holds the copies of the [`WRITABLE_PLACES`].
const PLACES: &str = "places";

const WRITABLE_PLACES: [WritablePlace; 3] = [
    WritablePlace {
        name: "tmp",
        path: "/tmp",
        mode: 0o1777,
    },
    WritablePlace {
        name: "var-tmp",
        path: "/var/tmp",
        mode: 0o1777,
    },
    // PHP's `session_start()` keeps its sessions there (Debian's session.save_path).
    WritablePlace {
        name: "php-sessions",
        path: "/var/lib/php/sessions",
        mode: 0o1733,
    },
];

/// The file descriptor bwrap writes its JSON status to, in the child.
const STATUS_FD: RawFd = 9;

/// A command ready to spawn, and how to learn which process leads it once it runs.
pub struct Launch {
    pub command: std::process::Command,
    pub leader: Leader,
}

/// What a sandbox runs: the command, and what the grader makes of it.
#[derive(Debug, Clone, Copy)]
pub struct Program<'a> {
    pub argv: &'a [String],
    /// Whether the grader wrote the command (after `--`, or its table of runtimes): then the
    /// installations of the programs it names are mounted. A command the submission wrote
    /// gets only the runtimes of the grader's table.
    pub trusted: bool,
    /// Whether the sandbox ends when the command exits, killing what it left running (a
    /// build); otherwise it lives until its last process is gone (a server a launcher started).
    pub ends_with_command: bool,
}

/// Where bwrap reports the sandbox's init (nothing without a sandbox). Keep it while the
/// sandbox runs: bwrap writes its exit status there at the end, and dies of SIGPIPE, its
/// command's status lost, if nobody holds the pipe open.
pub struct Leader(Option<OwnedFd>);

impl Leader {
    /// The process to signal as a group: the sandbox's init (bwrap's `--new-session` makes it
    /// the leader of the command's group), or the command itself without a sandbox. Blocks
    /// until bwrap reports it, which it does right after starting the sandbox, or exits; call
    /// it once the command that holds the pipe's other end is dropped.
    pub fn read(&self, spawned: u32) -> std::io::Result<u32> {
        let Some(status) = &self.0 else {
            return Ok(spawned);
        };
        let mut status = std::fs::File::from(status.try_clone()?);
        let mut text = Vec::new();
        let mut byte = [0u8; 1];
        while text.len() < 4096 && status.read(&mut byte)? == 1 {
            text.push(byte[0]);
            if byte[0] == b'}' {
                break;
            }
        }
        let first: serde_json::Value = serde_json::from_slice(&text).map_err(|_| {
            std::io::Error::other(format!(
                "bubblewrap did not start the sandbox (it said {:?})",
                String::from_utf8_lossy(&text)
            ))
        })?;
        first["child-pid"]
            .as_u64()
            .and_then(|pid| u32::try_from(pid).ok())
            .ok_or_else(|| std::io::Error::other("bubblewrap did not report the sandbox's pid"))
    }
}

impl Sandbox {
    /// No containment.
    pub fn none() -> Self {
        Self {
            bwrap: false,
            init: PathBuf::new(),
            limits: Limits::default(),
            env: Vec::new(),
            fallback_reason: None,
            memory_unbounded: Some("no sandbox".to_owned()),
            runtime_mounts: Arc::default(),
        }
    }

    /// The sandbox `mode` asks for, with `limits` and the instructor's extra `env`. `Auto`
    /// tries bubblewrap once and falls back to none, keeping the reason.
    pub fn new(
        mode: SandboxMode,
        limits: Limits,
        env: Vec<(String, String)>,
    ) -> Result<Self, SandboxError> {
        let mut sandbox = Self {
            bwrap: mode != SandboxMode::None,
            init: PathBuf::new(),
            limits,
            env,
            fallback_reason: None,
            memory_unbounded: None,
            runtime_mounts: Arc::default(),
        };
        if sandbox.bwrap {
            if let Err(error) = sandbox.probe() {
                if mode == SandboxMode::Bwrap {
                    return Err(error);
                }
                sandbox.bwrap = false;
                sandbox.fallback_reason = Some(error.to_string());
            }
        }
        sandbox.memory_unbounded = if !sandbox.bwrap {
            Some("no sandbox".to_owned())
        } else if !is_root() {
            Some("a memory cgroup takes root".to_owned())
        } else {
            let probe = format!("session-lab-probe-{}", std::process::id());
            cgroup::Cgroup::create(&probe, limits.grading_memory)
                .err()
                .map(|error| format!("no memory cgroup can be made here ({error})"))
        };
        Ok(sandbox)
    }

    /// Whether submissions run in bubblewrap.
    pub fn is_bwrap(&self) -> bool {
        self.bwrap
    }

    /// `bwrap` or `none`, as every report format states it.
    pub fn label(&self) -> &'static str {
        if self.bwrap { "bwrap" } else { "none" }
    }

    /// Everything about it that can change a verdict, in one line: the sandbox, its limits and
    /// the names of the extra environment variables (not their values, which may be secrets).
    pub fn describe(&self) -> String {
        let names: Vec<&str> = self.env.iter().map(|(name, _)| name.as_str()).collect();
        format!(
            "sandbox {} ({} processes, {} MiB data, {} MiB files, {} s CPU, {} open files, {}{})",
            self.label(),
            self.limits.processes,
            self.limits.memory >> 20,
            self.limits.file_size >> 20,
            self.limits.cpu_seconds,
            self.limits.open_files,
            match &self.memory_unbounded {
                None => format!(
                    "{} MiB a grading, {} MiB written a grading",
                    self.limits.grading_memory >> 20,
                    self.limits.scratch >> 20
                ),
                Some(why) => format!("memory and writes not bounded a grading: {why}"),
            },
            if names.is_empty() {
                String::new()
            } else {
                format!("; env {}", names.join(", "))
            }
        )
    }

    /// A memory cgroup for the programs of one run folder (named `name`), where a grading's
    /// memory can be bounded here.
    pub fn memory_group(&self, name: &str) -> Option<cgroup::Cgroup> {
        if self.memory_unbounded.is_some() {
            return None;
        }
        cgroup::Cgroup::create(name, self.limits.grading_memory)
            .inspect_err(|error| tracing::warn!("no memory cgroup for {name}: {error}"))
            .ok()
    }

    /// How many gradings at once the machine's memory holds, each with its memory bound, where
    /// gradings are bounded so: more at once could run the machine out of memory before any
    /// grading reached its own limit.
    pub fn gradings_that_fit(&self) -> Option<usize> {
        if self.memory_unbounded.is_some() {
            return None;
        }
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
        let total_kib: u64 = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()?;
        usize::try_from((total_kib << 10) / self.limits.grading_memory.max(1)).ok()
    }

    /// What a failure says when the kernel killed a process of the grading for its memory.
    pub fn memory_exceeded(&self) -> String {
        format!(
            "the kernel killed a process of the submission: together its processes reached the grading's memory limit of {} MiB (--grading-memory)",
            self.limits.grading_memory >> 20
        )
    }

    /// Why `--sandbox auto` runs without one, when it does.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback_reason.as_deref()
    }

    /// Finds the init, then runs `true` in a sandbox, to learn whether bubblewrap works on
    /// this machine.
    fn probe(&mut self) -> Result<(), SandboxError> {
        self.init = find_init()?;
        if is_root() {
            reachable_by_others(&std::env::temp_dir())?;
        }
        let work = tempfile::Builder::new()
            .prefix("session-lab-probe-")
            .tempdir()?;
        let prepared = self.prepare(work.path())?;
        let mut launch = self.launch(
            &Program {
                argv: &["true".to_owned()],
                trusted: true,
                ends_with_command: false,
            },
            &prepared.scratch,
            &prepared.root,
            &[],
            None,
        )?;
        let output = launch
            .command
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|error| SandboxError::Unavailable(format!("cannot run bwrap: {error}")))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(SandboxError::Unavailable(
                String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            ))
        }
    }

    /// Makes `work` (a fresh directory of the grader's, locked by it) ready for a sandboxed
    /// run: returns the folder to keep the run's files in (as root, a tmpfs of
    /// [`Limits::scratch`] bytes mounted inside `work`, held by the [`SizedFolder`] until the
    /// run ends; `work` itself otherwise) and the scratch directory in it that the submission
    /// is to be copied to. The tmpfs goes inside, not on `work`: the lock that tells a live
    /// grader's folder is on `work`'s own directory.
    pub fn prepare(&self, work: &Path) -> std::io::Result<Prepared> {
        if self.bwrap {
            // The sandbox's user must reach its scratch copy and the prefix mounts: traverse,
            // never list.
            std::fs::set_permissions(work, std::fs::Permissions::from_mode(0o711))?;
        }
        let (root, sized) = if self.bwrap && is_root() {
            let root = work.join(SIZED_FOLDER);
            std::fs::create_dir(&root)?;
            let sized = SizedFolder::mount(&root, self.limits.scratch)?;
            (root, Some(sized))
        } else {
            (work.to_owned(), None)
        };
        let scratch = root.join("submission");
        std::fs::create_dir(&scratch)?;
        if self.bwrap {
            let work = &root;
            let places = work.join(PLACES);
            std::fs::create_dir(&places)?;
            std::fs::set_permissions(&places, std::fs::Permissions::from_mode(0o711))?;
            for place in WRITABLE_PLACES {
                let copy = places.join(place.name);
                std::fs::create_dir(&copy)?;
                std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(place.mode))?;
            }
        }
        Ok(Prepared {
            root,
            scratch,
            sized,
        })
    }

    /// After the copy: the scratch copy becomes the sandbox user's.
    pub fn hand_over(&self, scratch: &Path) -> std::io::Result<()> {
        if self.bwrap && is_root() {
            let uid = sandbox_uid(scratch);
            chown_tree(scratch, uid)?;
        }
        Ok(())
    }

    /// The command that runs `program` in `scratch` (prepared in `work`) with the run's own
    /// environment variables `vars` (`PORT` for a server, `URL` and `TZ` for a client).
    pub fn launch(
        &self,
        program: &Program<'_>,
        scratch: &Path,
        work: &Path,
        vars: &[(&str, String)],
        memory: Option<&cgroup::Cgroup>,
    ) -> Result<Launch, SandboxError> {
        let argv = program.argv;
        if !self.bwrap {
            let mut command = std::process::Command::new(&argv[0]);
            command
                .args(&argv[1..])
                .current_dir(scratch)
                .envs(vars.iter().map(|(k, v)| (k, v)))
                .envs(self.env.iter().map(|(k, v)| (k, v)));
            // SAFETY: reset_signal_dispositions is async-signal-safe.
            unsafe {
                command.pre_exec(init::reset_signal_dispositions);
            }
            return Ok(Launch {
                command,
                leader: Leader(None),
            });
        }
        let mut environment = vec![
            ("HOME".to_owned(), scratch.to_string_lossy().into_owned()),
            ("LANG".to_owned(), "C.UTF-8".to_owned()),
        ];
        environment.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        environment.extend(self.env.iter().cloned());
        // What is mounted follows the grader's words only: a command the submission wrote (its
        // Procfile) gets the runtimes of the grader's table, whatever programs it names. Those
        // are the grader's alone, so they are found once, not at every start.
        let found;
        let interpreter::Mounts {
            prefixes,
            configuration: configurations,
        } = if program.trusted {
            found = interpreter::Mounts::of(&[argv.to_vec()], scratch);
            &found
        } else {
            self.runtime_mounts.get_or_init(|| {
                let runtimes: Vec<Vec<String>> = interpreter::RUNTIME_PROGRAMS
                    .iter()
                    .map(|runtime| vec![(*runtime).to_owned()])
                    .collect();
                interpreter::Mounts::of(&runtimes, scratch)
            })
        };
        let mut path: Vec<String> = prefixes
            .iter()
            .map(|prefix| prefix.join("bin").to_string_lossy().into_owned())
            .collect();
        path.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(String::from));
        environment.push(("PATH".to_owned(), path.join(":")));

        let root = is_root();
        let uid = if root {
            sandbox_uid(scratch)
        } else {
            nix::unistd::getuid().as_raw()
        };
        let etc = work.join("etc");
        std::fs::create_dir_all(&etc)?;
        std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o755))?;
        std::fs::write(
            etc.join("passwd"),
            format!(
                "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nsandbox:x:{uid}:{uid}:sandbox:{}:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                scratch.display()
            ),
        )?;
        std::fs::write(
            etc.join("group"),
            format!("root:x:0:\nsandbox:x:{uid}:\nnogroup:x:65534:\n"),
        )?;

        // A prefix under a directory the sandbox's user cannot traverse (pyenv's, under the
        // 0700 /root) is bind-mounted by root, in the child's own mount namespace, onto a
        // directory it can reach; bwrap then binds that at the prefix's own path.
        let mut staged = Vec::new();
        let mut args: Vec<String> = [
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--as-pid-1",
            "--hostname",
            "sandbox",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/sbin",
            "/sbin",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
        ]
        .map(String::from)
        .to_vec();
        for place in WRITABLE_PLACES {
            args.extend([
                "--bind".to_owned(),
                work.join(PLACES)
                    .join(place.name)
                    .to_string_lossy()
                    .into_owned(),
                place.path.to_owned(),
            ]);
        }
        for file in [
            "hosts",
            "nsswitch.conf",
            "host.conf",
            "gai.conf",
            "services",
            "protocols",
            "ld.so.cache",
            "ld.so.conf",
            "ld.so.conf.d",
            "localtime",
            "mime.types",
            "ssl",
            "ca-certificates",
            "alternatives",
        ] {
            args.extend(bind("--ro-bind-try", &Path::new("/etc").join(file)));
        }
        for configuration in configurations {
            args.extend(bind("--ro-bind", configuration));
        }
        for file in ["passwd", "group"] {
            args.extend([
                "--ro-bind".to_owned(),
                etc.join(file).to_string_lossy().into_owned(),
                format!("/etc/{file}"),
            ]);
        }
        for (index, prefix) in prefixes.iter().enumerate() {
            let source = if root {
                let stage = work.join(format!("prefix-{index}"));
                std::fs::create_dir_all(&stage)?;
                std::fs::set_permissions(&stage, std::fs::Permissions::from_mode(0o755))?;
                staged.push((c_path(prefix)?, c_path(&stage)?));
                stage
            } else {
                prefix.clone()
            };
            args.extend([
                "--ro-bind".to_owned(),
                source.to_string_lossy().into_owned(),
                prefix.to_string_lossy().into_owned(),
            ]);
        }
        // The grader's own binary is no solution, wherever it is installed.
        if let Ok(grader) = std::env::current_exe() {
            if grader.starts_with("/usr") {
                args.extend([
                    "--ro-bind".to_owned(),
                    "/dev/null".to_owned(),
                    grader.to_string_lossy().into_owned(),
                ]);
            }
        }
        // Staged as a prefix is: `cargo install` as root puts it under the 0700 /root.
        let init_source = if root {
            let stage = work.join("init");
            std::fs::write(&stage, "")?;
            std::fs::set_permissions(&stage, std::fs::Permissions::from_mode(0o755))?;
            staged.push((c_path(&self.init)?, c_path(&stage)?));
            stage
        } else {
            self.init.clone()
        };
        args.extend([
            "--ro-bind".to_owned(),
            init_source.to_string_lossy().into_owned(),
            init::INIT_IN_SANDBOX.to_owned(),
        ]);
        args.extend(bind("--bind", scratch));
        args.extend(["--chdir".to_owned(), scratch.to_string_lossy().into_owned()]);
        args.extend(["--json-status-fd".to_owned(), STATUS_FD.to_string()]);
        args.extend(["--".to_owned(), init::INIT_IN_SANDBOX.to_owned()]);
        if program.ends_with_command {
            args.push(init::END_WITH_COMMAND.to_owned());
        }
        args.extend(argv.iter().cloned());

        let (status_read, status_write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
        let mut command = std::process::Command::new("bwrap");
        // Cleared before bwrap: its init keeps its environment readable at /proc/1/environ.
        command.args(&args).env_clear().envs(environment);
        let limits = self.limits;
        let status_fd = status_write.as_raw_fd();
        let memory = memory.map(cgroup::Cgroup::procs_fd);
        // SAFETY: between fork and exec only async-signal-safe calls, on memory prepared
        // before the fork (the C strings), and no allocation.
        unsafe {
            command.pre_exec(move || {
                // First, as root: everything it starts is in the grading's memory cgroup.
                if let Some(procs) = memory {
                    cgroup::join(procs)?;
                }
                init::reset_signal_dispositions()?;
                let _keep_open = &status_write;
                if status_fd == STATUS_FD {
                    check(libc::fcntl(STATUS_FD, libc::F_SETFD, 0))?;
                } else {
                    check(libc::dup2(status_fd, STATUS_FD))?;
                }
                if root {
                    if !staged.is_empty() {
                        private_mount_namespace()?;
                    }
                    for (prefix, stage) in &staged {
                        bind_read_only(prefix, stage)?;
                    }
                    check(libc::setgroups(0, std::ptr::null()))?;
                    check(libc::setresgid(uid, uid, uid))?;
                    check(libc::setresuid(uid, uid, uid))?;
                    set_limit(libc::RLIMIT_NPROC, limits.processes, limits.processes)?;
                }
                set_limit(libc::RLIMIT_DATA, limits.memory, limits.memory)?;
                set_limit(libc::RLIMIT_FSIZE, limits.file_size, limits.file_size)?;
                set_limit(libc::RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 5)?;
                set_limit(libc::RLIMIT_CORE, 0, 0)?;
                set_limit(libc::RLIMIT_NOFILE, limits.open_files, limits.open_files)?;
                check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
                Ok(())
            });
        }
        Ok(Launch {
            command,
            leader: Leader(Some(status_read)),
        })
    }

    /// What a sandboxed command's exit status and `output` say about the limits: bwrap exits
    /// 128 + N when the command dies of signal N; the limits that show only as an error inside
    /// the program (memory, processes, a file-size error it caught) are named when its output
    /// shows one.
    pub fn explain_exit(&self, code: Option<i32>, output: &str) -> Option<String> {
        if !self.bwrap {
            return None;
        }
        match code.filter(|code| *code != 0)? - 128 {
            signal if signal == libc::SIGXCPU => Some(format!(
                "it used up the sandbox's CPU time limit ({} s, --cpu-limit) and was killed by SIGXCPU",
                self.limits.cpu_seconds
            )),
            signal if signal == libc::SIGXFSZ => Some(format!(
                "it wrote a file larger than the sandbox's file size limit ({} MiB, --file-size-limit) and was killed by SIGXFSZ",
                self.limits.file_size >> 20
            )),
            _ if LIMIT_ERRORS.iter().any(|error| output.contains(error)) => Some(format!(
                "its output shows that it reached a limit of the sandbox: {} processes and threads (--process-limit), {} MiB of data memory per process (--memory-limit), {} MiB per file (--file-size-limit), {} open files per process (--open-file-limit), {} MiB written in all (--scratch-limit)",
                self.limits.processes,
                self.limits.memory >> 20,
                self.limits.file_size >> 20,
                self.limits.open_files,
                self.limits.scratch >> 20
            )),
            _ => None,
        }
    }
}

/// What runtimes print when a limit of the sandbox stops them.
const LIMIT_ERRORS: [&str; 9] = [
    "Too many open files",
    "No space left on device",
    "MemoryError",
    "OutOfMemoryError",
    "Cannot allocate memory",
    "out of memory",
    "Resource temporarily unavailable",
    "File too large",
    "unable to create native thread",
];

/// Whether every folder from `/` down to `folder` lets other users through: the sandbox's user
/// (a uid of its own, when the grader is root) must reach its run folder inside it.
fn reachable_by_others(folder: &Path) -> Result<(), SandboxError> {
    let folder = std::fs::canonicalize(folder)?;
    for ancestor in folder.ancestors() {
        let mode = std::fs::metadata(ancestor)?.permissions().mode();
        if mode & 0o001 == 0 {
            return Err(SandboxError::Unreachable {
                path: ancestor.to_owned(),
                mode: mode & 0o7777,
            });
        }
    }
    Ok(())
}

/// The init beside the running binary; for a test binary (in Cargo's `deps/`), beside the
/// binaries one folder up.
fn find_init() -> Result<PathBuf, SandboxError> {
    let exe = std::env::current_exe()?;
    let beside = exe.parent().map(|dir| dir.join(init::INIT_BINARY));
    let above = exe
        .parent()
        .filter(|dir| dir.ends_with("deps"))
        .and_then(Path::parent)
        .map(|dir| dir.join(init::INIT_BINARY));
    [beside.clone(), above]
        .into_iter()
        .flatten()
        .find(|path| path.is_file())
        .ok_or_else(|| SandboxError::InitMissing(beside.unwrap_or_default()))
}

/// A uid of the scratch copy's own, so that two gradings at once never share a process limit
/// (RLIMIT_NPROC counts per uid). It need not exist in /etc/passwd.
fn sandbox_uid(scratch: &Path) -> u32 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    scratch.hash(&mut hasher);
    200_000 + (hasher.finish() % 1_000_000) as u32
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn bind(option: &str, path: &Path) -> [String; 3] {
    let path = path.to_string_lossy().into_owned();
    [option.to_owned(), path.clone(), path]
}

fn c_path(path: &Path) -> std::io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)
}

/// A work list rather than recursion: the copy's depth is bounded only by its entry cap.
fn chown_tree(root: &Path, uid: u32) -> std::io::Result<()> {
    let mut paths = vec![root.to_owned()];
    while let Some(path) = paths.pop() {
        std::os::unix::fs::lchown(&path, Some(uid), Some(uid))?;
        if std::fs::symlink_metadata(&path)?.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                paths.push(entry?.path());
            }
        }
    }
    Ok(())
}

fn check(result: libc::c_int) -> std::io::Result<()> {
    if result == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> std::io::Result<()> {
    // SAFETY: setrlimit reads the struct it is given and nothing else.
    check(unsafe {
        libc::setrlimit(
            resource,
            &libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            },
        )
    })
}

/// In the child, as root: a mount namespace of its own, so that its mounts never reach the
/// host's.
fn private_mount_namespace() -> std::io::Result<()> {
    // SAFETY: plain syscalls on static C strings.
    unsafe {
        check(libc::unshare(libc::CLONE_NEWNS))?;
        check(libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))
    }
}

/// `prefix` bound read-only onto `stage`.
fn bind_read_only(prefix: &CString, stage: &CString) -> std::io::Result<()> {
    // SAFETY: plain syscalls on C strings made before the fork.
    unsafe {
        check(libc::mount(
            prefix.as_ptr(),
            stage.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        ))?;
        check(libc::mount(
            std::ptr::null(),
            stage.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
            std::ptr::null(),
        ))
    }
}

/// Opens `pid` as a pidfd, to learn when it is gone without racing a reused pid.
pub fn pidfd(pid: u32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just made and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}
