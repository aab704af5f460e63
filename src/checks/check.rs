//! What a check is: one rule of the contract with a stable id, its stage, its dependencies,
//! the hint a student reads, and what it judges; the [`check!`] macro the stage files write
//! their checks with, as data; and [`all`], every check in the order they run.

use super::{Ctx, Failure};
use futures_util::future::BoxFuture;

type RunFn = for<'a> fn(&'a mut Ctx) -> BoxFuture<'a, Result<(), Failure>>;

/// One rule of the contract, checked over HTTP.
pub struct Check {
    /// Stable, e.g. `stage1.hits-consecutive`: reports and course platforms key on it.
    pub id: &'static str,
    pub stage: u8,
    pub title: &'static str,
    /// Checks that must pass first; outside the selection they are not required.
    pub depends_on: &'static [&'static str],
    /// Where in exercises.md the rule is, and what usually goes wrong.
    pub hint: &'static str,
    pub judges: Judges,
    /// Called by the runner only: a check runs after its dependencies, bounded in time.
    pub(super) run: RunFn,
}

/// What a check runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judges {
    /// The server under test (stages 1–4).
    Server,
    /// The cookie client under test, against the grader's own scripted site (stage 5).
    Client,
    /// The cookie client against the server under test.
    ClientAndServer,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

macro_rules! check {
    ($id:literal, $stage:literal, $title:literal, [$($dep:literal),*], $hint:expr, $run:path) => {
        $crate::checks::check!(
            Server: $id, $stage, $title, [$($dep),*], $hint, $run
        )
    };
    ($judges:ident: $id:literal, $stage:literal, $title:literal, [$($dep:literal),*], $hint:expr, $run:path) => {
        $crate::checks::Check {
            id: $id,
            stage: $stage,
            title: $title,
            depends_on: &[$($dep),*],
            hint: $hint,
            judges: $crate::checks::Judges::$judges,
            run: |ctx| Box::pin($run(ctx)),
        }
    };
}
pub(crate) use check;

/// Every check, in the order they run: each after its dependencies, grouped so that
/// restarts come together and no check's requests fall between another's readings.
pub fn all() -> Vec<&'static Check> {
    super::stage1::CHECKS
        .iter()
        .chain(super::stage2::CHECKS)
        .chain(super::stage3::CHECKS)
        .chain(super::stage4::CHECKS)
        .chain(super::stage5::CHECKS)
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
