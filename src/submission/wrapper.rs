//! A submission wrapped in one folder, as people zip or upload a project (`solution/…`, and
//! Gradescope's `/autograder/submission/NAME/…`): the folder that holds nothing but one folder
//! (hidden names and macOS's `__MACOSX` aside) is a wrapper, and the submission is inside it.
//! Likewise a folder that holds nothing but one `.zip` (a zip uploaded to Moodle) holds the
//! submission in that zip.

use std::path::{Path, PathBuf};

/// The folder the submission in `folder` is: `folder`, or the one folder it wraps.
pub fn unwrapped(folder: &Path) -> PathBuf {
    match alone(folder) {
        // A real folder, not a link: what it leads to is no part of the submission.
        Some(only) if only.file_type().is_ok_and(|kind| kind.is_dir()) => only.path(),
        _ => folder.to_owned(),
    }
}

/// The one `.zip` `folder` holds, when it holds nothing else.
pub fn lone_zip(folder: &Path) -> Option<PathBuf> {
    let only = alone(folder)?;
    let is_zip = only.file_type().is_ok_and(|kind| kind.is_file())
        && only
            .file_name()
            .to_string_lossy()
            .to_ascii_lowercase()
            .ends_with(".zip");
    is_zip.then(|| only.path())
}

/// The one entry of `folder` that shows (hidden names and `__MACOSX` aside), if it has one.
fn alone(folder: &Path) -> Option<std::fs::DirEntry> {
    let entries = std::fs::read_dir(folder).ok()?;
    let mut shown = entries.flatten().filter(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        !name.starts_with('.') && name != "__MACOSX"
    });
    match (shown.next(), shown.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_folder_alone_is_a_wrapper_and_anything_beside_it_is_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("solution/src")).unwrap();
        std::fs::create_dir(dir.path().join("__MACOSX")).unwrap();
        std::fs::write(dir.path().join(".DS_Store"), "").unwrap();
        assert_eq!(unwrapped(dir.path()), dir.path().join("solution"));
        std::fs::write(dir.path().join("README.md"), "").unwrap();
        assert_eq!(unwrapped(dir.path()), dir.path());
        let linked = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dir.path(), linked.path().join("elsewhere")).unwrap();
        assert_eq!(unwrapped(linked.path()), linked.path());
    }
}
