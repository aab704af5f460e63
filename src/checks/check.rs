//! What a check is: one rule of the contract with a stable id, its stage, its dependencies,
//! the hint a student reads, and what it judges; the [`check!`] macro the stage files write
//! their checks with, as data. [`all`](super::all) lists them.

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
