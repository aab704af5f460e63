//! The cookie client under test and its runs against the grader's scripted site: each run made
//! once, in order, and kept, so that every check of stage 5 judges the same runs.

use super::site::{self, Cookies, Site, SiteVisit};
use crate::checks::Failure;
use crate::checks::language::Language;
use crate::submission::start::Start;
use crate::under_test::{ClientRun, ClientTarget, TargetError};
use std::time::SystemTime;

/// The cookie client under test and what it did: the scripted site it visits and the runs
/// made so far (each made once, in order).
pub struct ClientUnderTest {
    target: Box<dyn ClientTarget>,
    site: Site,
    runs: Vec<Result<Run, Failure>>,
}

/// What one run against the scripted site did.
#[derive(Debug, Clone)]
pub(super) struct Run {
    pub(super) output: ClientRun,
    /// The URL it was given.
    pub(super) url: url::Url,
    /// The requests it made (the first of them, if it made very many), and how many more.
    pub(super) visits: Vec<SiteVisit>,
    pub(super) more: usize,
    pub(super) cookies: Cookies,
    pub(super) cookiemonster_expires: Option<SystemTime>,
}

impl ClientUnderTest {
    pub fn new(target: Box<dyn ClientTarget>) -> Self {
        Self {
            target,
            site: Site::scripted(),
            runs: Vec::new(),
        }
    }

    /// The language of the client's command, where it tells.
    pub fn language(&self) -> Option<Language> {
        self.target
            .started_with()
            .and_then(|start| Language::of(&start.command))
    }

    /// The command that runs the client and where it came from, for a student's program.
    pub fn started_with(&self) -> Option<&Start> {
        self.target.started_with()
    }

    pub fn output_tail(&self) -> Option<String> {
        self.target.output_tail()
    }

    /// Runs the build the client's start asks for (its failure shows at its first run).
    pub async fn build(&mut self) {
        let _ = self.target.build().await;
    }

    /// A fresh folder for the client, as if it had never run: its jar is gone.
    pub(super) fn reset(&mut self) -> Result<(), TargetError> {
        self.target.reset()
    }

    /// One run at `url`, outside the scripted site's runs (against the student's own server).
    pub(super) async fn run_at(&mut self, url: &url::Url) -> Result<ClientRun, TargetError> {
        self.target.run(url).await
    }

    /// Run `run` (1, 2, 3) against the scripted site, making the runs before it first.
    pub(super) async fn run(&mut self, run: usize) -> Result<Run, Failure> {
        while self.runs.len() < run {
            let number = self.runs.len() + 1;
            let url = self
                .site
                .open_run(number, site::START)
                .await
                .map_err(|error| {
                    Failure::new(format!(
                        "internal error: the grader cannot serve its cookie site: {error}"
                    ))
                })?;
            let outcome = match self.target.run(&url).await {
                Ok(output) if output.succeeded() => {
                    let (visits, more) = self.site.visits(number);
                    Ok(Run {
                        output,
                        url,
                        visits,
                        more,
                        cookies: self.site.cookies().expect("the scripted site").clone(),
                        cookiemonster_expires: self.site.cookiemonster_expires(),
                    })
                }
                Ok(output) => Err(Failure::new(format!(
                    "the client's {} run failed: {}",
                    ordinal(number),
                    output.problem.unwrap_or_default()
                ))
                .expected("exit status 0 within the time limit")),
                Err(error) => Err(Failure::new(format!(
                    "the client's {} run could not start: {error}",
                    ordinal(number)
                ))),
            };
            self.runs.push(outcome);
        }
        self.runs[run - 1].clone()
    }
}

pub(super) fn ordinal(run: usize) -> &'static str {
    match run {
        1 => "first",
        2 => "second",
        3 => "third",
        _ => "next",
    }
}
