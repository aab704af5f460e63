//! Replacing a file atomically: what the state file and the grader's report both need, so that
//! a reader, a crash or a kill at any moment finds the old file or the new one, never half.

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
    let mut temp = tempfile::NamedTempFile::new_in(directory)?;
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
