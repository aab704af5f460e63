//! Removing a folder a submission wrote into, whatever it built there. A recursive removal (as
//! `std::fs::remove_dir_all`) takes a stack frame and a descriptor per level, so a tree tens
//! of thousands of levels deep overflows the thread's stack or runs out of descriptors, and
//! paths that deep are longer than the kernel takes. This one walks down and back up through
//! `openat` and `..` with one descriptor open at a time and a work list on the heap, and gives
//! back to itself folders the submission made unreadable.
//!
//! Call it only once nothing can write into the tree any more (the sandbox is gone): a folder
//! moved away meanwhile would be skipped, though never followed out of the tree, since the walk
//! goes back up exactly as many levels as it went down.

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{FchmodatFlags, Mode, fchmod, fchmodat};
use nix::unistd::{UnlinkatFlags, unlinkat};
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A folder on the way down: its name in its parent, and the subfolders still to remove.
struct Level {
    name: OsString,
    subfolders: Vec<OsString>,
}

/// Removes `root` and everything below it, at any depth, without following a symlink.
pub fn remove_tree(root: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(root) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
        Ok(metadata) if !metadata.is_dir() => return std::fs::remove_file(root),
        Ok(_) => {}
    }
    let mut folder = open_folder(None, root.as_os_str())?;
    let mut levels = vec![Level {
        name: OsString::new(),
        subfolders: empty_but_subfolders(&folder)?,
    }];
    while let Some(level) = levels.last_mut() {
        if let Some(name) = level.subfolders.pop() {
            match open_folder(Some(&folder), &name) {
                Ok(child) => {
                    folder = child;
                    let subfolders = empty_but_subfolders(&folder)?;
                    levels.push(Level { name, subfolders });
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        } else if levels.len() == 1 {
            break;
        } else {
            let done = levels.pop().map(|level| level.name).unwrap_or_default();
            folder = open_folder(Some(&folder), OsStr::new(".."))?;
            remove_entry(&folder, &done, UnlinkatFlags::RemoveDir)?;
        }
    }
    drop(folder);
    std::fs::remove_dir(root)
}

/// Opens the folder `name` (relative to `parent`, or as a path), never through a symlink;
/// one the submission made unreadable is made the owner's again first.
fn open_folder(parent: Option<&OwnedFd>, name: &OsStr) -> std::io::Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let dirfd = parent.map_or(nix::libc::AT_FDCWD, |fd| fd.as_raw_fd());
    let open = || openat(Some(dirfd), name, flags, Mode::empty());
    let fd = match open() {
        Err(Errno::EACCES) => {
            fchmodat(
                Some(dirfd),
                name,
                Mode::S_IRWXU,
                FchmodatFlags::NoFollowSymlink,
            )?;
            open()?
        }
        other => other?,
    };
    // SAFETY: openat just returned this descriptor, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Removes everything in `folder` but its subfolders, whose names it returns.
fn empty_but_subfolders(folder: &OwnedFd) -> std::io::Result<Vec<OsString>> {
    // The folder must let its owner remove what is in it, whatever the submission set.
    let _ = fchmod(folder.as_raw_fd(), Mode::S_IRWXU);
    // The listing closes its own copy of the descriptor.
    let mut entries = Dir::from_fd(folder.try_clone()?.into_raw_fd())?;
    let mut subfolders = Vec::new();
    let mut files = Vec::new();
    for entry in entries.iter() {
        let entry = entry?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name == "." || name == ".." {
            continue;
        }
        let is_folder = match entry.file_type() {
            Some(kind) => kind == nix::dir::Type::Directory,
            None => nix::sys::stat::fstatat(
                Some(folder.as_raw_fd()),
                name,
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .is_ok_and(|stat| stat.st_mode & nix::libc::S_IFMT == nix::libc::S_IFDIR),
        };
        if is_folder {
            subfolders.push(name.to_owned());
        } else {
            files.push(name.to_owned());
        }
    }
    for file in files {
        remove_entry(folder, &file, UnlinkatFlags::NoRemoveDir)?;
    }
    Ok(subfolders)
}

fn remove_entry(folder: &OwnedFd, name: &OsStr, how: UnlinkatFlags) -> std::io::Result<()> {
    match unlinkat(Some(folder.as_raw_fd()), name, how) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(errno) => Err(errno.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_tree_deeper_than_any_path_goes_in_bounded_stack_and_descriptors() {
        let root = tempfile::tempdir().unwrap().keep();
        // 30,000 levels: paths of 60,000 bytes, far past PATH_MAX; built through openat too.
        let mut folder = open_folder(None, root.as_os_str()).unwrap();
        for level in 0..30_000 {
            nix::sys::stat::mkdirat(Some(folder.as_raw_fd()), "d", Mode::S_IRWXU).unwrap();
            if level % 1000 == 0 {
                std::fs::write(format!("/proc/self/fd/{}/file", folder.as_raw_fd()), "x").unwrap();
            }
            folder = open_folder(Some(&folder), OsStr::new("d")).unwrap();
        }
        drop(folder);
        // On a thread with a small stack: recursion per level could not fit.
        let removing = root.clone();
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || remove_tree(&removing))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        assert!(!root.exists());
    }

    #[test]
    fn unreadable_folders_files_and_symlinks_go_and_a_symlink_is_not_followed() {
        let root = tempfile::tempdir().unwrap().keep();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), "mine").unwrap();
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        std::fs::write(root.join("a/b/c/file"), "x").unwrap();
        std::fs::write(root.join("a/file"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("a/link")).unwrap();
        for locked in ["a/b/c", "a/b", "a"] {
            std::fs::set_permissions(root.join(locked), std::fs::Permissions::from_mode(0o000))
                .unwrap();
        }
        remove_tree(&root).unwrap();
        assert!(!root.exists());
        assert!(
            outside.path().join("keep").exists(),
            "the link was followed"
        );
    }

    #[test]
    fn a_missing_folder_is_already_removed_and_a_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        remove_tree(&dir.path().join("never-made")).unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        remove_tree(&file).unwrap();
        assert!(!file.exists());
    }
}
