//! A size for everything one grading's programs may write: its run folder (the scratch copy,
//! the private `/tmp`, `/var/tmp` and session folder, the captured output) is a tmpfs of its own
//! with that size, where the grader is root. A submission that fills it gets "No space left on
//! device", and nothing else on the machine does; its pages count against the grading's memory
//! cgroup too, and unmounting it frees all of it at once, however many files it made.

use nix::mount::{MntFlags, MsFlags};
use std::path::{Path, PathBuf};

/// A tmpfs mounted on a run folder; unmounted when dropped.
#[derive(Debug)]
pub struct SizedFolder {
    path: PathBuf,
}

impl SizedFolder {
    /// Mounts a tmpfs of `bytes` on the empty folder `path`, keeping its mode 0711 (the
    /// sandbox's user passes through, never lists).
    pub fn mount(path: &Path, bytes: u64) -> std::io::Result<Self> {
        let options = format!("size={bytes},mode=0711");
        nix::mount::mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(options.as_str()),
        )?;
        Ok(Self {
            path: path.to_owned(),
        })
    }
}

impl Drop for SizedFolder {
    fn drop(&mut self) {
        unmount(&self.path);
    }
}

/// Unmounts whatever is mounted on `path` (a run folder of a grader killed before it could),
/// lazily: a program that still holds a file there cannot keep the folder mounted.
pub fn unmount(path: &Path) {
    let _ = nix::mount::umount2(path, MntFlags::MNT_DETACH);
}
