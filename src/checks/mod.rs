//! The conformance checks: the executable form of `exercises.md`.
//!
//! A [`Check`] has a stable id, a stage, a title, the checks it depends on, a hint pointing
//! to the rule it enforces, and what it judges: the server (stages 1–4), the cookie client
//! (stage 5), or both. It talks to a server only over HTTP and through the [`ServerTarget`]'s
//! lifecycle, and to a client only by running it ([`ClientTarget`]), so the same checks judge
//! the reference server and client and any student's programs.
//!
//! One concept per file: [`check`] what a check is ([`all`] below lists them), [`selection`] which
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
mod credentials;
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
pub use check::{Check, Judges};
pub use check_report::{CheckReport, Status};
pub use credentials::Credentials;
pub use ctx::{Ctx, ObservedRestart};
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

/// Every check, in the order they run: each after its dependencies, grouped so that
/// restarts come together and no check's requests fall between another's readings.
pub fn all() -> Vec<&'static Check> {
    stage1::CHECKS
        .iter()
        .chain(stage2::CHECKS)
        .chain(stage3::CHECKS)
        .chain(stage4::CHECKS)
        .chain(stage5::CHECKS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_dependencies_come_first() {
        let mut seen = HashSet::new();
        for check in all() {
            for dependency in check.depends_on {
                assert!(
                    seen.contains(dependency),
                    "{} depends on {dependency}, which is not before it",
                    check.id
                );
            }
            assert!(seen.insert(check.id), "duplicate id {}", check.id);
            assert!(
                check.id.starts_with(&format!("stage{}.", check.stage)),
                "{}",
                check.id
            );
            assert!(
                check.hint.contains("exercises.md"),
                "{} has no pointer to exercises.md",
                check.id
            );
        }
    }

    /// exercises.md and the checks never disagree: every check is named there, and every
    /// section a hint points to exists.
    #[test]
    fn exercises_md_names_every_check_and_every_section_hints_point_to() {
        let exercises = include_str!("../../exercises.md");
        for check in all() {
            assert!(
                exercises.contains(&format!("`{}`", check.id)),
                "exercises.md does not name {}",
                check.id
            );
            for section in check
                .hint
                .split('“')
                .skip(1)
                .filter_map(|rest| rest.split('”').next())
            {
                assert!(
                    exercises.contains(&format!("\n## {section}\n")),
                    "{} points to a missing section “{section}”",
                    check.id
                );
            }
        }
    }
}
