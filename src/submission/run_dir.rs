//! The temporary folders a grading works in (a run folder, a zip unpacked), and the sweep that
//! removes those a killed grader left behind. A live grader holds an exclusive `flock` on each
//! of its folders for as long as the folder exists, so the sweep of another grader, started at
//! any moment, can tell a folder in use from a stale one without guessing from a pid.

use crate::remove_tree::remove_tree;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The start of every such folder's name, in the system's temporary directory.
const PREFIX: &str = "session-lab-run-";

/// How old an unlocked folder must be before the sweep takes it: a folder is locked a moment
/// after it is made, and the sweep must not take one in that moment.
const STALE_AFTER: Duration = Duration::from_secs(60);

/// A temporary folder of this grader's, locked while it exists and removed when dropped.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    _lock: Flock<File>,
}

impl RunDir {
    /// Makes and locks a new folder.
    pub fn new() -> std::io::Result<Self> {
        let path = tempfile::Builder::new().prefix(PREFIX).tempdir()?.keep();
        let lock = File::open(&path).and_then(lock_exclusive);
        match lock {
            Ok(lock) => Ok(Self { path, _lock: lock }),
            Err(error) => {
                let _ = std::fs::remove_dir(&path);
                Err(error)
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunDir {
    /// Removes the folder however deep its tree; the lock goes after it.
    fn drop(&mut self) {
        if let Err(error) = remove_tree(&self.path) {
            tracing::warn!("cannot remove {}: {error}", self.path.display());
        }
    }
}

/// Takes an exclusive lock on `file` without waiting; an error when someone holds it.
fn lock_exclusive(file: File) -> std::io::Result<Flock<File>> {
    Flock::lock(file, FlockArg::LockExclusiveNonblock)
        .map_err(|(_, errno)| std::io::Error::from(errno))
}

/// Removes the folders that graders killed before they could clean up left behind: those no
/// grader holds a lock on, made over a minute ago.
pub fn remove_stale_run_folders() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let is_ours = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(PREFIX));
        let is_old = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .is_ok_and(|modified| modified.elapsed().unwrap_or_default() > STALE_AFTER);
        if !is_ours || !is_old {
            continue;
        }
        // Held until the folder is gone, so that no grader starting meanwhile sees it free.
        if let Ok(_held) = File::open(entry.path()).and_then(lock_exclusive) {
            // A killed grader's tmpfs is still mounted in it.
            crate::sandbox::unmount(&entry.path().join(crate::sandbox::SIZED_FOLDER));
            let _ = remove_tree(&entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(path: &Path, by: Duration) {
        let then = std::time::SystemTime::now() - by;
        File::open(path).unwrap().set_modified(then).unwrap();
    }

    #[test]
    fn stale_folders_are_removed_and_locked_or_new_ones_kept() {
        let left_behind = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir()
            .unwrap()
            .keep();
        std::fs::write(left_behind.join("state"), "left").unwrap();
        age(&left_behind, STALE_AFTER * 2);
        let in_use = RunDir::new().unwrap();
        age(in_use.path(), STALE_AFTER * 2);
        let just_made = tempfile::Builder::new().prefix(PREFIX).tempdir().unwrap();

        remove_stale_run_folders();

        assert!(!left_behind.exists(), "{left_behind:?} was left");
        assert!(in_use.path().exists(), "a live grader's folder was removed");
        assert!(just_made.path().exists(), "a folder being made was removed");
    }

    #[test]
    fn a_folder_is_locked_until_it_is_gone() {
        let dir = RunDir::new().unwrap();
        let path = dir.path().to_owned();
        let other = File::open(&path).unwrap();
        assert!(lock_exclusive(other).is_err(), "a second lock was granted");
        drop(dir);
        assert!(!path.exists());
    }
}
