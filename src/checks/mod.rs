//! The conformance checks: the executable form of `exercises.md`.
//!
//! A [`Check`] has a stable id, a stage, a title, the checks it depends on, a hint pointing
//! to the rule it enforces, and what it judges: the server (stages 1–4), the cookie client
//! (stage 5), or both. It talks to a server only over HTTP and through the [`ServerTarget`]'s
//! lifecycle, and to a client only by running it ([`ClientTarget`]), so the same checks judge
//! the reference server and client and any student's programs.
//! [`run`] runs a selection in order: a check whose dependency did not pass is skipped, a panic
//! or a timeout is that check's failure, never the end of the run.

pub mod browser;
pub mod cookie_date;
pub mod language;
pub mod page;
mod stage1;
mod stage2;
mod stage3;
mod stage4;
mod stage5;

use crate::under_test::{ClientTarget, ServerTarget, StopSignal, Stopped, TargetError};
use browser::{Browser, Reply, SharedClient};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

/// The most one check may take: enough for a restart that waits out every deadline.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(40);

/// The highest stage any check belongs to.
pub const LAST_STAGE: u8 = 5;

/// The last stage whose checks judge the server alone.
pub const LAST_SERVER_STAGE: u8 = 4;

/// The stage that judges a cookie client.
pub const CLIENT_STAGE: u8 = 5;

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
    run: RunFn,
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

/// Why a check failed: what happened, and where it helps, what was expected and what came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub fn actual(mut self, actual: impl Into<String>) -> Self {
        self.actual = Some(actual.into());
        self
    }

    /// The failure with each of its texts cut to [`Failure::MAX_TEXT`] bytes and shown as text
    /// ([`crate::text::visible`]): whatever a submission sends or prints, a report stays small
    /// enough to read and to write quickly, and nothing in it acts on a terminal.
    pub fn bounded(self) -> Self {
        let cut = |text: String| crate::text::visible(&cut_text(text, Self::MAX_TEXT)).into_owned();
        Self {
            message: cut(self.message),
            expected: self.expected.map(cut),
            actual: self.actual.map(cut),
        }
    }

    /// The most bytes of one text of a failure that a report keeps.
    pub const MAX_TEXT: usize = 8 * 1024;

    /// "expected X, got <the reply>": the most common failure.
    pub fn unexpected(what: &str, expected: impl Into<String>, reply: &Reply) -> Self {
        let expected = expected.into();
        Self::new(format!(
            "{what}: expected {expected}, got {}",
            reply.summary()
        ))
        .expected(expected)
        .actual(reply.describe())
    }
}

/// `text` cut to at most `limit` bytes (at a character boundary), saying how much was cut.
pub(crate) fn cut_text(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} more bytes]", &text[..end], text.len() - end)
}

/// Fails with `failure` unless `condition` holds.
pub fn ensure(condition: bool, failure: impl FnOnce() -> Failure) -> Result<(), Failure> {
    if condition { Ok(()) } else { Err(failure()) }
}

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

/// The account the checks log in with.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            username: "alice".into(),
            password: "wonderland".into(),
        }
    }
}

/// A hit count as read from `/`, and how many requests reading it took (1, or more when it
/// had to log in first): every request counts, so expectations must add these.
#[derive(Debug, Clone)]
pub struct HitsReading {
    pub hits: u64,
    pub requests: u64,
    /// Whether reading it took a login: `/` sent the browser to the login page first.
    pub logged_in_again: bool,
    /// The answer to the GET / the count was read from.
    pub reply: Reply,
}

/// One graceful restart as the observer saw it: how the stop went, and the hit count read
/// just before and just after. Several checks judge the same restart (the exit, the count,
/// the login), so a run restarts the server once per signal rather than once per rule.
#[derive(Debug, Clone)]
pub struct ObservedRestart {
    pub stopped: Stopped,
    pub before: Result<HitsReading, Failure>,
    pub after: Result<HitsReading, Failure>,
}

/// What a check works with: the server and the cookie client under test (either may be
/// absent), a shared HTTP client, the account, an observer browser that stays logged in
/// across checks to read the hit count, the restarts observed so far, and the note the
/// running check leaves for its report.
pub struct Ctx {
    server: Option<Box<dyn ServerTarget>>,
    cookie_client: Option<stage5::ClientUnderTest>,
    client: SharedClient,
    pub credentials: Credentials,
    observer: Option<Browser>,
    restarts: HashMap<StopSignal, Result<ObservedRestart, Failure>>,
    note: Option<String>,
}

impl Ctx {
    /// `check`'s hint, with the library calls of the client's language where stage 5 has them
    /// (a Go student is told about net/http/cookiejar, not MozillaCookieJar).
    fn hint(&self, check: &'static Check) -> Cow<'static, str> {
        let language = self
            .cookie_client
            .as_ref()
            .and_then(stage5::ClientUnderTest::language);
        match (check.judges, language) {
            (Judges::Server, _) | (_, None) => Cow::Borrowed(check.hint),
            (_, Some(language)) => Cow::Borrowed(stage5::hint(check, language)),
        }
    }

    /// A context for judging `server` (stages 1–4), `cookie_client` (stage 5), or both.
    pub fn new(
        server: Option<Box<dyn ServerTarget>>,
        cookie_client: Option<Box<dyn ClientTarget>>,
        credentials: Credentials,
    ) -> Self {
        Self {
            server,
            cookie_client: cookie_client.map(stage5::ClientUnderTest::new),
            client: SharedClient::new(),
            credentials,
            observer: None,
            restarts: HashMap::new(),
            note: None,
        }
    }

    /// How many requests the checks' browsers have sent to the target since it first started.
    pub fn requests_sent(&self) -> u64 {
        self.client.requests_sent()
    }

    /// Leaves a note in the running check's report: it passed, but not quite as asked.
    pub fn note(&mut self, note: impl Into<String>) {
        self.note = Some(note.into());
    }

    /// The server under test. Only checks that judge a server run, and [`run`] runs them
    /// only when there is one.
    pub fn target(&mut self) -> &mut dyn ServerTarget {
        self.server
            .as_deref_mut()
            .expect("a check that judges a server runs only with one")
    }

    fn server(&self) -> &dyn ServerTarget {
        self.server
            .as_deref()
            .expect("a check that judges a server runs only with one")
    }

    /// Whether there is a server or a client to judge for a check that judges `judges`.
    fn has(&self, judges: Judges) -> bool {
        match judges {
            Judges::Server => self.server.is_some(),
            Judges::Client => self.cookie_client.is_some(),
            Judges::ClientAndServer => self.server.is_some() && self.cookie_client.is_some(),
        }
    }

    /// A fresh browser with an empty cookie jar.
    pub fn browser(&self) -> Browser {
        Browser::new(self.client.clone(), self.server().base_url())
    }

    /// Starts the target if it is not running (first check, or after a crash).
    pub async fn ensure_running(&mut self) -> Result<(), Failure> {
        if self.target().is_running() {
            return Ok(());
        }
        self.client.renew();
        let started = self.target().start().await;
        started.map_err(|error| {
            Failure::new(format!("the server did not start: {error}"))
                .expected(format!(
                    "a server accepting connections at {}",
                    self.server().base_url()
                ))
                .actual(error.to_string())
        })
    }

    /// Kills the server, if it runs, before a check that judges the client alone: the server
    /// shares the loopback with the grader's cookie site, and could otherwise find its port and
    /// visit it, sabotaging a correct client's runs or replaying a jar for a faulty one. Only
    /// the client's own requests reach the site; a later check that needs the server starts it
    /// again.
    async fn stop_server_for_the_client(&mut self) {
        if let Some(server) = self.server.as_mut() {
            if server.is_running() {
                let _ = server.kill().await;
                self.client.renew();
            }
        }
    }

    /// Stops the target with `signal` (killing it after the deadline) and starts it again.
    pub async fn restart(&mut self, signal: StopSignal) -> Result<Stopped, Failure> {
        let restarted = self.target().restart(signal).await;
        // Nothing was sent since the stop: dropping the pool now leaves no connection to the
        // old process for a later request to pick up.
        self.client.renew();
        restarted.map_err(|error| match error {
            TargetError::Stop(error) => {
                Failure::new(format!("could not stop the server with {signal}: {error}"))
            }
            TargetError::Setup(error) | TargetError::Start(error) => Failure::new(format!(
                "the server did not start again after {signal}: {error}"
            )),
        })
    }

    /// The restart by `signal`, made (and observed) by the first check that asks for it.
    pub async fn observed_restart(
        &mut self,
        signal: StopSignal,
    ) -> Result<ObservedRestart, Failure> {
        if let Some(observed) = self.restarts.get(&signal) {
            return observed.clone();
        }
        let before = self.read_hits().await;
        let observed = match self.restart(signal).await {
            Ok(stopped) => Ok(ObservedRestart {
                stopped,
                before,
                after: self.read_hits().await,
            }),
            Err(failure) => Err(failure),
        };
        self.restarts.insert(signal, observed.clone());
        observed
    }

    /// Reads `Hits: N` from `/` with the observer, logging it in first if `/` sends it to
    /// the login page.
    pub async fn read_hits(&mut self) -> Result<HitsReading, Failure> {
        let credentials = self.credentials.clone();
        let observer = match &mut self.observer {
            Some(observer) => observer,
            empty => empty.insert(Browser::new(
                self.client.clone(),
                self.server
                    .as_deref()
                    .expect("reading the hit count judges a server")
                    .base_url(),
            )),
        };
        read_hits(observer, &credentials).await
    }
}

/// The count `after` must show, given `before` and the requests made between the readings
/// (every request counts, the readings' own too).
pub fn expect_count(
    what: &str,
    before: &HitsReading,
    between: u64,
    after: &HitsReading,
) -> Result<(), Failure> {
    let expected = before.hits + between + after.requests;
    ensure(after.hits == expected, || {
        let detail = if after.hits < expected {
            format!(" ({} hits missing)", expected - after.hits)
        } else {
            String::new()
        };
        Failure::new(format!(
            "{what}: expected Hits: {expected}, got Hits: {}{detail}",
            after.hits
        ))
        .expected(format!("Hits: {expected}"))
        .actual(format!("Hits: {}", after.hits))
    })
}

/// Reads `Hits: N` from `/` with `browser`, logging in first when `/` sends it to the login
/// page (by a redirect, or by showing the login form in place of the page).
pub async fn read_hits(
    browser: &mut Browser,
    credentials: &Credentials,
) -> Result<HitsReading, Failure> {
    let mut requests = 1;
    let mut reply = browser.get("/").await?;
    let shows_login_form = || {
        page::hits(&reply.body).is_none()
            && page::forms(&reply.body)
                .iter()
                .any(page::Form::has_password_field)
    };
    if reply.redirects_to("/login") || shows_login_form() {
        let login = browser
            .log_in(&credentials.username, &credentials.password)
            .await?;
        if !login.is_redirect() {
            return Err(Failure::new(format!(
                "cannot read the hit count: GET / sends a visitor to log in, and logging in as {} got {}",
                credentials.username,
                login.summary()
            ))
            .actual(login.describe()));
        }
        reply = browser.get("/").await?;
        requests += 3;
    }
    let logged_in_again = requests > 1;
    if reply.status != reqwest::StatusCode::OK {
        return Err(Failure::unexpected(
            "GET /",
            "200 OK with the hit count",
            &reply,
        ));
    }
    let hits = page::hits(&reply.body).ok_or_else(|| {
        Failure::new("GET / answered 200 OK but its page has no `Hits: N`")
            .expected("a page containing `Hits: N`")
            .actual(reply.describe())
    })?;
    Ok(HitsReading {
        hits,
        requests,
        logged_in_again,
        reply,
    })
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
    stage1::CHECKS
        .iter()
        .chain(stage2::CHECKS)
        .chain(stage3::CHECKS)
        .chain(stage4::CHECKS)
        .chain(stage5::CHECKS)
        .collect()
}

/// The check that starts the server; every selection includes it.
pub const STARTS: &str = "stage1.listens";

/// Which stages to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stages {
    /// Stages 1 to N.
    UpTo(u8),
    /// Stage N alone (plus the start-up check).
    Only(u8),
}

impl Stages {
    pub fn contains(self, stage: u8) -> bool {
        match self {
            Self::UpTo(last) => stage <= last,
            Self::Only(only) => stage == only,
        }
    }

    pub fn last(self) -> u8 {
        match self {
            Self::UpTo(stage) | Self::Only(stage) => stage,
        }
    }
}

/// What one grading judges: which stages, and whether it has a server and a cookie client to
/// run them against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub stages: Stages,
    pub server: bool,
    pub client: bool,
}

impl Selection {
    /// The checks of the stages that judge what there is, in the order they run; with a
    /// server, always the one that starts it.
    pub fn checks(self) -> Vec<&'static Check> {
        all()
            .into_iter()
            .filter(|check| {
                let in_stages = self.stages.contains(check.stage);
                match check.judges {
                    Judges::Server => self.server && (check.id == STARTS || in_stages),
                    Judges::Client => self.client && in_stages,
                    Judges::ClientAndServer => self.client && self.server && in_stages,
                }
            })
            .collect()
    }
}

/// Runs `checks` in order against `ctx`'s target, calling `on_report` as each one ends.
pub async fn run(
    ctx: &mut Ctx,
    checks: &[&'static Check],
    mut on_report: impl FnMut(&CheckReport),
) -> Vec<CheckReport> {
    let mut reports: Vec<CheckReport> = Vec::with_capacity(checks.len());
    for check in checks {
        let blocked_by = check.depends_on.iter().find_map(|dependency| {
            reports
                .iter()
                .find(|report| report.id == *dependency && report.status != Status::Passed)
        });
        let report = match blocked_by {
            Some(dependency) => CheckReport {
                id: check.id,
                stage: check.stage,
                title: check.title,
                hint: ctx.hint(check),
                status: Status::Skipped,
                failure: Some(Failure::new(format!(
                    "skipped: it depends on {}, which {}",
                    dependency.id,
                    if dependency.status == Status::Failed {
                        "failed"
                    } else {
                        "was skipped"
                    }
                ))),
                duration: Duration::ZERO,
                output_tail: None,
                note: None,
            },
            None => run_one(ctx, check).await,
        };
        on_report(&report);
        reports.push(report);
    }
    reports
}

async fn run_one(ctx: &mut Ctx, check: &'static Check) -> CheckReport {
    let begun = Instant::now();
    let attempt = async {
        if !ctx.has(check.judges) {
            return Err(Failure::new(match check.judges {
                Judges::Server => "there is no server to check: give its command",
                Judges::Client => "there is no cookie client to check: give its command",
                Judges::ClientAndServer => {
                    "this check runs the cookie client against the server: give both commands"
                }
            }));
        }
        if check.judges == Judges::Client {
            ctx.stop_server_for_the_client().await;
        } else {
            ctx.ensure_running().await?;
        }
        (check.run)(ctx).await
    };
    let outcome = match tokio::time::timeout(
        crate::patience::stretched(CHECK_TIMEOUT),
        AssertUnwindSafe(attempt).catch_unwind(),
    )
    .await
    {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(Failure::new(format!(
            "internal error in the check (please report it): {}",
            panic_message(panic.as_ref())
        ))),
        Err(_) => Err(Failure::new(format!(
            "the check did not finish within {} s",
            CHECK_TIMEOUT.as_secs()
        ))),
    };
    let failed = outcome.is_err();
    let outcome = outcome.map_err(Failure::bounded);
    CheckReport {
        id: check.id,
        stage: check.stage,
        title: check.title,
        hint: ctx.hint(check),
        status: if failed {
            Status::Failed
        } else {
            Status::Passed
        },
        failure: outcome.err(),
        duration: begun.elapsed(),
        output_tail: if failed {
            match (check.judges, &ctx.cookie_client) {
                (Judges::Server, _) | (_, None) => {
                    ctx.server.as_ref().and_then(|s| s.output_tail())
                }
                (_, Some(client)) => client.output_tail(),
            }
            .map(|tail| crate::text::visible(&tail).into_owned())
        } else {
            None
        },
        note: ctx
            .note
            .take()
            .map(|note| crate::text::visible(&note).into_owned()),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
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

    fn ids(stages: Stages, server: bool, client: bool) -> Vec<&'static str> {
        let selection = Selection {
            stages,
            server,
            client,
        };
        selection.checks().iter().map(|c| c.id).collect()
    }

    #[test]
    fn only_selects_one_stage_plus_the_start() {
        let ids = ids(Stages::Only(2), true, false);
        assert_eq!(ids[0], STARTS);
        assert!(
            ids[1..].iter().all(|id| id.starts_with("stage2.")),
            "{ids:?}"
        );
    }

    #[test]
    fn a_client_alone_gets_the_client_checks_and_nothing_that_needs_a_server() {
        let ids = ids(Stages::Only(CLIENT_STAGE), false, true);
        assert!(!ids.is_empty());
        assert!(
            ids.iter()
                .all(|id| id.starts_with("stage5.") && *id != "stage5.client-against-your-server"),
            "{ids:?}"
        );
    }

    #[test]
    fn a_server_and_a_client_get_every_stage_and_the_check_of_both() {
        let ids = ids(Stages::UpTo(CLIENT_STAGE), true, true);
        assert_eq!(ids.len(), all().len());
        assert_eq!(ids.last(), Some(&"stage5.client-against-your-server"));
        let without_client = self::ids(Stages::UpTo(CLIENT_STAGE), true, false);
        assert!(
            without_client.iter().all(|id| !id.starts_with("stage5.")),
            "{without_client:?}"
        );
    }
}
