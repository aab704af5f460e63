//! What a submission becomes on disk before any of it runs: a folder copied
//! ([`copy_submission`]) or a zip unpacked ([`unzip`]), both within [`CopyLimits`], into
//! temporary folders a grading holds ([`RunDir`]) and that no killed grader leaves behind.
//! How its programs start is its to say ([`start`]: a [`procfile`], or what its files show,
//! [`detect`]), and a submission wrapped in one folder is the folder inside ([`unwrapped`]).
//! Nothing a submission holds is trusted: not its file types, its links, its sizes or its names.

mod copy;
pub mod detect;
pub mod procfile;
mod run_dir;
pub mod start;
mod unzip;
mod wrapper;

pub use copy::{CopyError, CopyLimits, copy_submission};
pub use run_dir::{RunDir, remove_stale_run_folders};
pub use unzip::{UnzipError, unzip, unzip_within};
pub use wrapper::{lone_zip, unwrapped};

#[cfg(test)]
pub(crate) mod tests {
    /// A folder holding `files` (name, text), as a submission hands them in.
    pub(crate) fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }
}
