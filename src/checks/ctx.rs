//! What a check works with ([`Ctx`]): the server and the cookie client under test, the
//! browsers' shared HTTP client, the account, the observer that reads the hit count across
//! checks, and the restarts observed so far, each made once and judged by several checks.

use super::browser::{Browser, SharedClient};
use super::hits::HitsReading;
use super::stage5::ClientUnderTest;
use super::{Credentials, Failure};
use crate::under_test::{ClientTarget, ServerTarget, StopSignal, Stopped, TargetError};
use std::collections::HashMap;
use url::Url;

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
    cookie_client: Option<ClientUnderTest>,
    client: SharedClient,
    pub credentials: Credentials,
    observer: Option<Browser>,
    restarts: HashMap<StopSignal, Result<ObservedRestart, Failure>>,
    note: Option<String>,
}

impl Ctx {
    /// A context for judging `server` (stages 1–4), `cookie_client` (stage 5), or both.
    pub fn new(
        server: Option<Box<dyn ServerTarget>>,
        cookie_client: Option<Box<dyn ClientTarget>>,
        credentials: Credentials,
    ) -> Self {
        Self {
            server,
            cookie_client: cookie_client.map(ClientUnderTest::new),
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

    /// The server under test. Only checks that judge a server run, and [`super::run`] runs
    /// them only when there is one.
    pub fn server(&mut self) -> &mut dyn ServerTarget {
        self.server
            .as_deref_mut()
            .expect("a check that judges a server runs only with one")
    }

    /// Where the server under test answers.
    fn server_url(&self) -> Url {
        self.server
            .as_deref()
            .expect("a check that judges a server runs only with one")
            .base_url()
    }

    /// The cookie client under test. Only checks that judge a client run, and only with one.
    pub(super) fn cookie_client(&mut self) -> &mut ClientUnderTest {
        self.cookie_client
            .as_mut()
            .expect("a check that judges a client runs only with one")
    }

    /// The HTTP client the checks' browsers share (stage 5 relays a client's requests with it).
    pub(super) fn shared_client(&self) -> SharedClient {
        self.client.clone()
    }

    /// The end of what the server printed, where it is a program that prints.
    pub(super) fn server_output_tail(&self) -> Option<String> {
        self.server.as_ref().and_then(|server| server.output_tail())
    }

    /// The cookie client under test, if this grading has one.
    pub(super) fn client_under_test(&self) -> Option<&ClientUnderTest> {
        self.cookie_client.as_ref()
    }

    /// The note the check that just ended left, if it left one.
    pub(super) fn take_note(&mut self) -> Option<String> {
        self.note.take()
    }

    /// The commands that start the server and the client, as their submission settled them.
    pub fn commands(&self) -> crate::submission::start::Commands {
        crate::submission::start::Commands {
            server: self
                .server
                .as_ref()
                .and_then(|server| server.started_with().cloned()),
            client: self
                .cookie_client
                .as_ref()
                .and_then(|client| client.started_with().cloned()),
        }
    }

    /// Runs the builds the programs' starts ask for, before any check: a build has a time limit
    /// of its own, and its time is no check's. A build that fails says so at the start of the
    /// program, as that check's failure.
    pub async fn build(&mut self) {
        if let Some(server) = self.server.as_mut() {
            let _ = server.build().await;
        }
        if let Some(client) = self.cookie_client.as_mut() {
            client.build().await;
        }
    }

    /// Whether there is a server under test.
    pub(super) fn has_server(&self) -> bool {
        self.server.is_some()
    }

    /// A fresh browser with an empty cookie jar.
    pub fn browser(&self) -> Browser {
        Browser::new(self.client.clone(), self.server_url())
    }

    /// Starts the target if it is not running (first check, or after a crash).
    pub async fn ensure_running(&mut self) -> Result<(), Failure> {
        if self.server().is_running() {
            return Ok(());
        }
        self.client.renew();
        let started = self.server().start().await;
        started.map_err(|error| {
            Failure::new(format!("the server did not start: {error}"))
                .expected(format!(
                    "a server accepting connections at {}",
                    self.server_url()
                ))
                .actual(error.to_string())
        })
    }

    /// Kills the server, if it runs, before a check that judges the client alone: the server
    /// shares the loopback with the grader's cookie site, and could otherwise find its port and
    /// visit it, sabotaging a correct client's runs or replaying a jar for a faulty one. Only
    /// the client's own requests reach the site; a later check that needs the server starts it
    /// again.
    pub(super) async fn stop_server_for_the_client(&mut self) {
        if let Some(server) = self.server.as_mut() {
            if server.is_running() {
                let _ = server.kill().await;
                self.client.renew();
            }
        }
    }

    /// Stops the target with `signal` (killing it after the deadline) and starts it again.
    pub async fn restart(&mut self, signal: StopSignal) -> Result<Stopped, Failure> {
        let restarted = self.server().restart(signal).await;
        // Nothing was sent since the stop: dropping the pool now leaves no connection to the
        // old process for a later request to pick up.
        self.client.renew();
        restarted.map_err(|error| match error {
            TargetError::Stop(error) => {
                Failure::new(format!("could not stop the server with {signal}: {error}"))
            }
            TargetError::Setup(_) | TargetError::Start(_) => Failure::new(format!(
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
        super::hits::read_hits(observer, &credentials).await
    }
}
