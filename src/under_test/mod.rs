//! What the checks run against: a server they can start, stop with a signal, kill and restart.
//!
//! [`ReferenceTarget`] is this crate's own server, in-process; [`CommandTarget`] is any program
//! (a student's solution in any language) run as a child process in a scratch directory.
//! Stage 5's cookie clients are [`ClientTarget`]s: run to the end once per visit, a student's
//! program ([`CommandClient`]) or the reference client in-process (`ReferenceClient`).

mod build;
mod client;
mod command;
mod error;
mod process;
mod reference;
// The reference client exists in the stage-5 build only, as the cookie client does.
#[cfg(feature = "stage5")]
mod reference_client;
mod submission_clock;

pub use crate::server::StopSignal;
pub use client::{ClientRun, ClientSpec, ClientTarget, CommandClient};
pub use command::{CommandSpec, CommandTarget, DEFAULT_BUILD_TIMEOUT};
pub use error::{BuildFailure, SetupError, StartError, StopError, TargetError};
pub use reference::ReferenceTarget;
#[cfg(feature = "stage5")]
pub use reference_client::ReferenceClient;
pub use submission_clock::{ServerClock, TIME_ZONE_OFFSET, day_of_month, submission_time_zone};

use crate::submission::start::Start;
use std::time::Duration;
use url::Url;

/// How long a server may take to exit after SIGINT or SIGTERM before it is killed.
pub const EXIT_DEADLINE: Duration = Duration::from_secs(5);

/// When a server that is still running gets the same signal once more, as a person at the
/// terminal would press Ctrl-C again: a signal can be lost in a race inside the program
/// (Python may swallow the exception a handler raises), and that is not the student's mistake.
pub const SECOND_SIGNAL_AFTER: Duration = Duration::from_secs(2);

/// How a stop went.
#[derive(Debug, Clone)]
pub struct Stopped {
    /// Whether it exited by itself within [`EXIT_DEADLINE`] (otherwise it was killed).
    pub exited_in_time: bool,
    /// Whether it took the second signal, sent [`SECOND_SIGNAL_AFTER`] the first, to exit.
    pub needed_second_signal: bool,
    /// From the signal to the exit.
    pub took: Duration,
    /// How long it was given: [`EXIT_DEADLINE`], stretched by the machine's load.
    pub deadline: Duration,
    /// When the signal was sent again: [`SECOND_SIGNAL_AFTER`], stretched likewise.
    pub second_signal_after: Duration,
    /// The exit status as the OS reports it, where there is one.
    pub status: Option<String>,
    /// The programs (by name) still running at the deadline, killed then.
    pub left_running: Vec<String>,
    /// The signal that ended the program, where one did: the stop signal itself means it had
    /// no handler for it (nor saved anything).
    pub ended_by_signal: Option<i32>,
}

/// A server under test.
#[async_trait::async_trait]
pub trait ServerTarget: Send {
    /// Runs the build its start asks for, if it has not run (a start does it first too): the
    /// grading builds before its checks, so that a build's time is no check's.
    async fn build(&mut self) -> Result<(), TargetError> {
        Ok(())
    }

    /// Starts the server and waits until it accepts connections.
    async fn start(&mut self) -> Result<(), TargetError>;

    /// Sends `signal` (again after [`SECOND_SIGNAL_AFTER`]), waits up to [`EXIT_DEADLINE`]
    /// for the exit, then kills what is left.
    async fn stop(&mut self, signal: StopSignal) -> Result<Stopped, TargetError>;

    /// Kills at once (SIGKILL): nothing gets a chance to save.
    async fn kill(&mut self) -> Result<(), TargetError>;

    /// Whether the server is (still) running.
    fn is_running(&mut self) -> bool;

    /// Where to send requests, e.g. `http://127.0.0.1:8123/`.
    fn base_url(&self) -> Url;

    /// The end of what the server printed, to show beside a failure.
    fn output_tail(&self) -> Option<String> {
        None
    }

    /// The command that started it and where that came from, for a program of a submission.
    fn started_with(&self) -> Option<&Start> {
        None
    }

    /// How far ahead of the grader's clock the server's is meant to run ([`ServerClock`]).
    fn clock_shift(&self) -> Duration {
        Duration::ZERO
    }

    /// Stops with `signal` (as [`ServerTarget::stop`]) and starts again.
    async fn restart(&mut self, signal: StopSignal) -> Result<Stopped, TargetError> {
        let stopped = self.stop(signal).await?;
        self.start().await?;
        Ok(stopped)
    }
}

/// A port on the loopback interface that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
