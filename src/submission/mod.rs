//! What a submission becomes on disk before any of it runs: a folder copied
//! ([`copy_submission`]) or a zip unpacked ([`unzip`]), both within [`CopyLimits`], into
//! temporary folders a grading holds ([`RunDir`]) and that no killed grader leaves behind.
//! Nothing a submission holds is trusted: not its file types, its links, its sizes or its names.

mod copy;
mod run_dir;
mod unzip;

pub use copy::{CopyError, CopyLimits, copy_submission};
pub use run_dir::{RunDir, remove_stale_run_folders};
pub use unzip::{UnzipError, unzip};
