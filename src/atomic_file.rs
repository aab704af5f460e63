//! Replacing a file atomically: what the state file and the grader's report both need, so that
//! a reader, a crash or a kill at any moment finds the old file or the new one, never half.
//! The temp file is named after the file it replaces (`.sessions.json.XXXXXX.tmp`), so that one
//! a kill left behind can be recognised and removed ([`remove_stale_temp_files`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes a temp file in `path`'s directory with `write`, fsyncs it, renames it over `path`
/// and fsyncs the directory.
pub fn replace(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let directory = directory_of(path);
    let mut temp = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(directory)?;
    {
        let mut writer = BufWriter::new(temp.as_file_mut());
        write(&mut writer)?;
        writer.flush()?;
    }
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|error| error.error)?;
    File::open(directory).and_then(|dir| dir.sync_all())
}

/// The directory `path` is in (`.` for a bare file name), where its temp file must be made
/// for the rename to be atomic.
pub fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

const TEMP_SUFFIX: &str = ".tmp";

/// `.NAME.`: what every temp file for `path` starts with.
fn temp_prefix(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!(".{name}.")
}

/// Removes the temp files that replacing `path` left behind when a kill interrupted it (they
/// hold a copy of the data, live session ids included); returns how many it removed and the
/// names of those it could not (another user's, in a shared directory). Call it while no other
/// process is replacing `path`.
pub fn remove_stale_temp_files(path: &Path) -> std::io::Result<(usize, Vec<String>)> {
    let prefix = temp_prefix(path);
    let (mut removed, mut left) = (0, Vec::new());
    for entry in std::fs::read_dir(directory_of(path))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|kind| kind.is_file());
        if name.starts_with(&prefix) && name.ends_with(TEMP_SUFFIX) && is_file {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(_) => left.push(name),
            }
        }
    }
    Ok((removed, left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temp_file_left_by_a_kill_is_recognised_and_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.json");
        replace(&path, |w| w.write_all(b"{}")).unwrap();
        // What a SIGKILL between the write and the rename leaves.
        let stale = tempfile::Builder::new()
            .prefix(&temp_prefix(&path))
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir.path())
            .unwrap()
            .keep()
            .unwrap()
            .1;
        std::fs::write(dir.path().join("other.json"), "{}").unwrap();
        std::fs::write(dir.path().join(".other.json.abc.tmp"), "{}").unwrap();
        assert_eq!(remove_stale_temp_files(&path).unwrap(), (1, Vec::new()));
        assert!(!stale.exists());
        assert!(path.exists());
        assert!(dir.path().join("other.json").exists());
        assert!(
            dir.path().join(".other.json.abc.tmp").exists(),
            "another file's temp stays"
        );
    }
}
