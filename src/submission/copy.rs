//! Copying a submission into the scratch directory it runs in. Nothing in the folder is
//! trusted: a FIFO blocks whoever opens it (the copy, before any timeout runs), a socket or a
//! device means nothing in a copy, a symlink may point anywhere, and the folder may be huge.
//! So only regular files, folders and symlinks that stay inside are copied, within caps on
//! bytes and entries. A symlink that leads outside is left out (a `.venv` in the folder is
//! full of them, and a server that does not use it must still run); anything else refuses
//! the whole submission with what to do.

use nix::libc;
use std::fs::{self, FileType, OpenOptions, Permissions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// How much a submission may hold.
#[derive(Debug, Clone, Copy)]
pub struct CopyLimits {
    /// The bytes of all its regular files together.
    pub max_bytes: u64,
    /// Its files, folders and symlinks together.
    pub max_entries: u64,
}

impl Default for CopyLimits {
    /// Far more than a solution needs, its dependencies included (express and its
    /// `node_modules` take about 2 MiB in a few hundred files).
    fn default() -> Self {
        Self {
            max_bytes: 50 * 1024 * 1024,
            max_entries: 10_000,
        }
    }
}

/// Why a submission was not copied. Paths are relative to the submission.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "`{}` is {kind}: a submission may hold only regular files, folders and symlinks that stay inside it; remove it (a program that needs one can create it when it runs)",
        .path.display()
    )]
    NotAFileOrFolder { path: PathBuf, kind: &'static str },
    #[error(
        "the submission holds more than {} of files (the cap was reached at `{}`): leave out what the server does not need to run, such as data, build output or a virtual environment",
        size(*.limit),
        .path.display()
    )]
    TooManyBytes { limit: u64, path: PathBuf },
    #[error(
        "the submission holds more than {limit} files, folders and symlinks (the cap was reached at `{}`): leave out what the server does not need to run, such as build output or a virtual environment",
        .path.display()
    )]
    TooManyEntries { limit: u64, path: PathBuf },
    #[error(
        "cannot read `{}` in the submission: {source}; make it readable by the user running the grader",
        .path.display()
    )]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot copy `{}` to the scratch directory: {source}", .path.display())]
    Copy { path: PathBuf, source: io::Error },
}

/// `50 MiB` for a whole number of MiB, bytes otherwise.
fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Copies the submission at `from` into the empty folder `to`, leaving out `.git` folders.
pub fn copy_submission(from: &Path, to: &Path, limits: CopyLimits) -> Result<(), CopyError> {
    let mut copying = Copying::new(from, to, limits);
    // A work list rather than recursion: a deep tree cannot exhaust the copying thread's
    // stack. Every folder pushed was counted as an entry, so the cap bounds the loop.
    let mut folders = vec![PathBuf::new()];
    while let Some(folder) = folders.pop() {
        let read_error = |source| CopyError::Read {
            path: shown(&folder),
            source,
        };
        for entry in fs::read_dir(from.join(&folder)).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            let path = folder.join(entry.file_name());
            // Without following a symlink: the entry itself is what gets judged.
            let kind = entry.file_type().map_err(|source| CopyError::Read {
                path: path.clone(),
                source,
            })?;
            if kind.is_dir() && entry.file_name() == ".git" {
                continue;
            }
            copying.count_entry(&path)?;
            if kind.is_dir() {
                fs::create_dir(to.join(&path)).map_err(|source| CopyError::Copy {
                    path: path.clone(),
                    source,
                })?;
                folders.push(path);
            } else if kind.is_file() {
                copying.file(&path)?;
            } else if kind.is_symlink() {
                copying.symlink(&path)?;
            } else {
                return Err(CopyError::NotAFileOrFolder {
                    path,
                    kind: kind_name(kind),
                });
            }
        }
    }
    Ok(())
}

/// The submission's own folder reads `.`, not as an empty path.
fn shown(path: &Path) -> PathBuf {
    if path.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        path.to_owned()
    }
}

fn kind_name(kind: FileType) -> &'static str {
    if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a Unix socket"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_dir() {
        // Only a folder swapped in for a file after the listing gets here.
        "no longer a regular file"
    } else {
        "neither a regular file, a folder nor a symlink"
    }
}

/// One copy under way, with what it has used of its limits.
struct Copying<'a> {
    from: &'a Path,
    to: &'a Path,
    limits: CopyLimits,
    bytes: u64,
    entries: u64,
}

impl<'a> Copying<'a> {
    fn new(from: &'a Path, to: &'a Path, limits: CopyLimits) -> Self {
        Self {
            from,
            to,
            limits,
            bytes: 0,
            entries: 0,
        }
    }

    fn count_entry(&mut self, path: &Path) -> Result<(), CopyError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(CopyError::TooManyEntries {
                limit: self.limits.max_entries,
                path: path.to_owned(),
            });
        }
        Ok(())
    }

    fn file(&mut self, path: &Path) -> Result<(), CopyError> {
        let read_error = |source| CopyError::Read {
            path: path.to_owned(),
            source,
        };
        let copy_error = |source| CopyError::Copy {
            path: path.to_owned(),
            source,
        };
        // It was a regular file when listed, but may have been swapped since: a FIFO must not
        // block the open, and a symlink must not be followed.
        let source = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(self.from.join(path))
            .map_err(read_error)?;
        let metadata = source.metadata().map_err(read_error)?;
        if !metadata.is_file() {
            return Err(CopyError::NotAFileOrFolder {
                path: path.to_owned(),
                kind: kind_name(metadata.file_type()),
            });
        }
        let mut destination = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.to.join(path))
            .map_err(copy_error)?;
        // One byte more than the room left shows the cap is exceeded without copying the rest
        // (the size the file claims is not trusted: it may grow while it is read).
        let room = self.limits.max_bytes.saturating_sub(self.bytes);
        self.bytes += io::copy(&mut source.take(room + 1), &mut destination).map_err(copy_error)?;
        if self.bytes > self.limits.max_bytes {
            return Err(CopyError::TooManyBytes {
                limit: self.limits.max_bytes,
                path: path.to_owned(),
            });
        }
        // The executable bits matter (`./server.sh`); set-user-ID and the like are not kept.
        let mode = metadata.permissions().mode() & 0o777;
        destination
            .set_permissions(Permissions::from_mode(mode))
            .map_err(copy_error)
    }

    fn symlink(&self, path: &Path) -> Result<(), CopyError> {
        let target = fs::read_link(self.from.join(path)).map_err(|source| CopyError::Read {
            path: path.to_owned(),
            source,
        })?;
        if !stays_inside(path, &target) {
            tracing::debug!(
                "left out the symlink {} -> {}: it leads outside the submission",
                path.display(),
                target.display()
            );
            return Ok(());
        }
        std::os::unix::fs::symlink(&target, self.to.join(path)).map_err(|source| CopyError::Copy {
            path: path.to_owned(),
            source,
        })
    }
}

/// Whether `target`, the target of the symlink at `link` (both relative to the submission),
/// stays inside the submission, resolved lexically from the link's folder. That folder is
/// reached through real folders only, so a leading `..` climbs where it seems to; after a
/// named component it would not: that component may itself be a link (`here -> .`, then
/// `here/here/..` climbs above the submission), so `..` is accepted only at the start.
fn stays_inside(link: &Path, target: &Path) -> bool {
    let mut depth = link
        .parent()
        .map_or(0, |folder| folder.components().count());
    let mut named = false;
    for component in target.components() {
        match component {
            Component::Normal(_) => named = true,
            Component::CurDir => {}
            Component::ParentDir if !named && depth > 0 => depth -= 1,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::stat::Mode;
    use rstest::rstest;
    use std::os::unix::net::UnixListener;
    use tempfile::TempDir;

    /// A submission folder and an empty folder to copy it to.
    fn folders() -> (TempDir, TempDir) {
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap())
    }

    fn copy(from: &TempDir, to: &TempDir, limits: CopyLimits) -> Result<(), CopyError> {
        copy_submission(from.path(), to.path(), limits)
    }

    fn write(root: &TempDir, path: &str, text: &str) {
        let path = root.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_folders_and_inner_symlinks_are_copied_with_their_executable_bits() {
        let (from, to) = folders();
        write(&from, "server.py", "print('hi')");
        write(&from, "static/style.css", "body {}");
        write(&from, "run.sh", "exec python3 server.py");
        write(&from, ".git/HEAD", "ref: refs/heads/main");
        fs::set_permissions(from.path().join("run.sh"), Permissions::from_mode(0o750)).unwrap();
        std::os::unix::fs::symlink("server.py", from.path().join("app.py")).unwrap();
        std::os::unix::fs::symlink("../server.py", from.path().join("static/server.py")).unwrap();

        copy(&from, &to, CopyLimits::default()).unwrap();

        let copied = |path: &str| to.path().join(path);
        assert_eq!(
            fs::read_to_string(copied("static/style.css")).unwrap(),
            "body {}"
        );
        assert_eq!(mode(&copied("run.sh")), 0o750);
        assert_eq!(mode(&copied("server.py")) & 0o111, 0, "not made executable");
        assert_eq!(
            fs::read_link(copied("app.py")).unwrap(),
            Path::new("server.py")
        );
        assert_eq!(
            fs::read_to_string(copied("static/server.py")).unwrap(),
            "print('hi')"
        );
        assert!(!copied(".git").exists(), "version control data is left out");
    }

    #[test]
    fn a_fifo_is_refused_without_being_opened() {
        let (from, to) = folders();
        write(&from, "server.py", "");
        fs::create_dir(from.path().join("sub")).unwrap();
        nix::unistd::mkfifo(&from.path().join("sub/requests.fifo"), Mode::S_IRWXU).unwrap();
        let error = copy(&from, &to, CopyLimits::default()).unwrap_err();
        assert!(
            matches!(&error, CopyError::NotAFileOrFolder { path, .. } if path == Path::new("sub/requests.fifo")),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with("`sub/requests.fifo` is a FIFO (named pipe)"),
            "{error}"
        );
    }

    #[test]
    fn a_fifo_swapped_in_after_the_listing_is_refused_without_blocking() {
        let (from, to) = folders();
        nix::unistd::mkfifo(&from.path().join("server.py"), Mode::S_IRWXU).unwrap();
        let mut copying = Copying::new(from.path(), to.path(), CopyLimits::default());
        let error = copying.file(Path::new("server.py")).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`server.py` is a FIFO (named pipe)"),
            "{error}"
        );
    }

    #[test]
    fn a_unix_socket_is_refused() {
        let (from, to) = folders();
        let _listener = UnixListener::bind(from.path().join("app.sock")).unwrap();
        let error = copy(&from, &to, CopyLimits::default()).unwrap_err();
        assert!(
            error.to_string().starts_with("`app.sock` is a Unix socket"),
            "{error}"
        );
    }

    #[rstest]
    #[case::absolute("app.py", "/etc/passwd")]
    #[case::up_from_the_top("app.py", "../outside.py")]
    #[case::up_too_far_from_a_folder("static/app.py", "../../outside.py")]
    #[case::up_after_a_name("app.py", "here/../outside.py")]
    fn a_symlink_that_leaves_the_submission_is_left_out(#[case] link: &str, #[case] target: &str) {
        let (from, to) = folders();
        write(&from, "static/style.css", "");
        std::os::unix::fs::symlink(".", from.path().join("here")).unwrap();
        std::os::unix::fs::symlink(target, from.path().join(link)).unwrap();
        copy(&from, &to, CopyLimits::default()).unwrap();
        assert!(
            to.path().join(link).symlink_metadata().is_err(),
            "{link} -> {target} was copied"
        );
        assert!(to.path().join("static/style.css").is_file());
    }

    #[rstest]
    #[case::sibling("app.py", "server.py", true)]
    #[case::own_folder("here", ".", true)]
    #[case::up_then_down("a/b/link", "../../c/d", true)]
    #[case::absolute("link", "/srv/server.py", false)]
    #[case::above_the_top("a/link", "../../x", false)]
    #[case::up_after_a_name("a/link", "b/../x", false)]
    fn symlink_targets_are_judged_lexically(
        #[case] link: &str,
        #[case] target: &str,
        #[case] inside: bool,
    ) {
        assert_eq!(stays_inside(Path::new(link), Path::new(target)), inside);
    }

    #[test]
    fn a_file_over_the_size_cap_is_refused_without_being_copied_whole() {
        let (from, to) = folders();
        let limits = CopyLimits {
            max_bytes: 1024 * 1024,
            ..CopyLimits::default()
        };
        // Sparse: a gibibyte the disk never holds.
        fs::File::create(from.path().join("data.bin"))
            .unwrap()
            .set_len(1024 * 1024 * 1024)
            .unwrap();
        let error = copy(&from, &to, limits).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "the submission holds more than 1 MiB of files (the cap was reached at `data.bin`)"
            ),
            "{error}"
        );
        let copied = fs::metadata(to.path().join("data.bin")).unwrap().len();
        assert!(copied <= limits.max_bytes + 1, "{copied} bytes copied");
    }

    #[test]
    fn too_many_entries_are_refused() {
        let (from, to) = folders();
        for n in 0..6 {
            write(&from, &format!("static/{n}.css"), "");
        }
        let limits = CopyLimits {
            max_entries: 6,
            ..CopyLimits::default()
        };
        let error = copy(&from, &to, limits).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the submission holds more than 6 files, folders and symlinks"),
            "{error}"
        );
    }
}
