//! The outcome of one check as a report shows it: passed, failed or skipped, why, how long it
//! took, and what the program printed when it failed.

use super::Failure;
use std::borrow::Cow;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

/// The outcome of one check.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub id: &'static str,
    pub stage: u8,
    pub title: &'static str,
    /// The check's hint, in the words of the submission's language where it has some.
    pub hint: Cow<'static, str>,
    pub status: Status,
    pub failure: Option<Failure>,
    pub duration: Duration,
    /// The end of the server's output when the check failed, where the target has one.
    pub output_tail: Option<String>,
    /// Something the student should know although the check passed (a lenient verdict).
    pub note: Option<String>,
}
