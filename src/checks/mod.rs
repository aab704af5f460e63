//! The conformance checks: the executable form of `exercises.md`.
//!
//! A [`Check`] has a stable id, a stage, a title, the checks it depends on, a hint pointing
//! to the rule it enforces, and what it judges: the server (stages 1–4), the cookie client
//! (stage 5), or both. It talks to a server only over HTTP and through the [`ServerTarget`]'s
//! lifecycle, and to a client only by running it ([`ClientTarget`]), so the same checks judge
//! the reference server and client and any student's programs.
//!
//! One concept per file: [`check`] what a check is and the list of all, [`selection`] which
//! of them a grading runs, [`runner`] running them in order, [`ctx`] what they work with,
//! [`hits`] reading the hit count, [`failure`] and [`check_report`] what a check ends with; the
//! rules themselves are in `stage1.rs` … `stage5/`, written as data.
//!
//! [`ServerTarget`]: crate::under_test::ServerTarget
//! [`ClientTarget`]: crate::under_test::ClientTarget

pub mod browser;
mod check;
mod check_report;
pub mod cookie_date;
mod ctx;
mod failure;
mod hits;
pub mod language;
pub mod page;
mod runner;
mod selection;
mod stage1;
mod stage2;
mod stage3;
mod stage4;
mod stage5;

pub(crate) use check::check;
pub use check::{Check, Judges, all};
pub use check_report::{CheckReport, Status};
pub use ctx::{Credentials, Ctx, ObservedRestart};
pub use failure::{Failure, ensure};
pub use hits::{HitsReading, expect_count, read_hits};
pub use runner::{CHECK_TIMEOUT, run};
pub use selection::{STARTS, Selection, SelectionError, Stages};

/// The highest stage any check belongs to.
pub const LAST_STAGE: u8 = 5;

/// The last stage whose checks judge the server alone.
pub const LAST_SERVER_STAGE: u8 = 4;

/// The stage that judges a cookie client.
pub const CLIENT_STAGE: u8 = 5;
