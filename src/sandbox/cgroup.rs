//! A memory cgroup for the programs of one run folder, so that a grading's memory is bounded as
//! a whole: every process it starts (a fork flood of 256 included) and what they keep in
//! memory for it (pipes, sockets, the page cache of what they write) count against one limit,
//! and reaching it kills a process of that grading only, which the failure then names. The
//! group is made below the grader's own (with cgroup v1's `memory` controller, as on these
//! machines, or cgroup v2's unified tree), and removed, with whatever is left in it killed, when
//! it is dropped. Making it takes root; without, the grading runs unbounded and says so.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

/// A memory cgroup of this grader's making.
#[derive(Debug)]
pub struct Cgroup {
    path: PathBuf,
    version: Version,
    /// `cgroup.procs`, open for a child to add itself before it runs the submission.
    procs: File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    /// The `memory` hierarchy of cgroup v1.
    V1,
    /// The unified hierarchy of cgroup v2.
    V2,
}

impl Cgroup {
    /// Makes a group named `name` below this process's own, limited to `memory` bytes (no
    /// swap). The error says why it cannot be made here.
    pub fn create(name: &str, memory: u64) -> std::io::Result<Self> {
        let (version, own) = own_memory_cgroup()?;
        let path = own.join(name);
        std::fs::create_dir(&path)?;
        let made = Self::limit(&path, version, memory).and_then(|()| {
            OpenOptions::new()
                .write(true)
                .open(path.join("cgroup.procs"))
        });
        match made {
            Ok(procs) => Ok(Self {
                path,
                version,
                procs,
            }),
            Err(error) => {
                let _ = std::fs::remove_dir(&path);
                Err(error)
            }
        }
    }

    fn limit(path: &Path, version: Version, memory: u64) -> std::io::Result<()> {
        match version {
            Version::V1 => {
                std::fs::write(path.join("memory.limit_in_bytes"), memory.to_string())?;
                // Where swap is accounted, memory and swap together get the same limit.
                let _ =
                    std::fs::write(path.join("memory.memsw.limit_in_bytes"), memory.to_string());
                Ok(())
            }
            Version::V2 => {
                std::fs::write(path.join("memory.max"), memory.to_string())?;
                let _ = std::fs::write(path.join("memory.swap.max"), "0");
                Ok(())
            }
        }
    }

    /// The descriptor a child writes its own pid to, between fork and exec, to join the group
    /// before it can start anything.
    pub fn procs_fd(&self) -> RawFd {
        self.procs.as_raw_fd()
    }

    /// Whether the kernel killed a process of the group for reaching its limit.
    pub fn oom_killed(&self) -> bool {
        let (file, key) = match self.version {
            Version::V1 => ("memory.oom_control", "oom_kill "),
            Version::V2 => ("memory.events", "oom_kill "),
        };
        let counted = std::fs::read_to_string(self.path.join(file))
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix(key)?.trim().parse::<u64>().ok());
        match counted {
            Some(kills) => kills > 0,
            // Older v1 kernels count no kills: the limit's failures tell.
            None => std::fs::read_to_string(self.path.join("memory.failcnt"))
                .ok()
                .and_then(|count| count.trim().parse::<u64>().ok())
                .is_some_and(|failures| failures > 0),
        }
    }

    /// Kills every process left in the group, until it is empty (or after a bounded number of
    /// rounds: a process that forks as it is killed is caught in the next).
    fn kill_all(&self) {
        for _ in 0..100 {
            let pids = std::fs::read_to_string(self.path.join("cgroup.procs")).unwrap_or_default();
            let pids: Vec<i32> = pids.lines().filter_map(|pid| pid.parse().ok()).collect();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        self.kill_all();
        // The kernel removes a group only once its last process is reaped.
        for _ in 0..200 {
            if std::fs::remove_dir(&self.path).is_ok() || !self.path.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        tracing::warn!("cannot remove the cgroup {}", self.path.display());
    }
}

/// Where this process's memory cgroup is, and in which hierarchy.
fn own_memory_cgroup() -> std::io::Result<(Version, PathBuf)> {
    let own = std::fs::read_to_string("/proc/self/cgroup")?;
    let v1 = own.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        controllers
            .split(',')
            .any(|controller| controller == "memory")
            .then(|| path.to_owned())
    });
    let root = Path::new("/sys/fs/cgroup");
    if let Some(path) = v1 {
        let hierarchy = root.join("memory");
        if hierarchy.join("memory.limit_in_bytes").exists() || hierarchy.is_dir() {
            return Ok((Version::V1, hierarchy.join(path.trim_start_matches('/'))));
        }
    }
    let unified = own
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .ok_or_else(|| std::io::Error::other("this process is in no memory cgroup"))?;
    let path = root.join(unified.trim_start_matches('/'));
    let controllers = std::fs::read_to_string(path.join("cgroup.subtree_control"))?;
    if !controllers.split_whitespace().any(|c| c == "memory") {
        // A group with processes of its own cannot hand the controller down (cgroup v2's
        // rule for every group but the root); the root can.
        let mut control = OpenOptions::new()
            .write(true)
            .open(path.join("cgroup.subtree_control"))?;
        control.write_all(b"+memory")?;
    }
    Ok((Version::V2, path))
}

/// In a child between fork and exec: joins the group whose `cgroup.procs` is `procs`.
/// Async-signal-safe: the pid is written out by hand, without allocating.
pub fn join(procs: RawFd) -> std::io::Result<()> {
    let mut pid = std::process::id();
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (pid % 10) as u8;
        pid /= 10;
        if pid == 0 {
            break;
        }
    }
    let text = &digits[start..];
    // SAFETY: write reads `text.len()` bytes of a live buffer.
    let written = unsafe { nix::libc::write(procs, text.as_ptr().cast(), text.len()) };
    if written == text.len() as isize {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
