//! The `session-lab` command line (the binary's, not the library's): the arguments of each
//! subcommand in its own file, each turning its arguments into one call of the library. This
//! is the one place where errors become messages and exit codes.

mod class_progress;
// The cookie client is stage 5's: only that build has its subcommand (and the TLS it needs).
#[cfg(feature = "stage5")]
mod cookies;
mod grade;
mod grade_class;
mod grading;
mod hash_password;
mod parse;
mod serve;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit status for anything that stops a command before it could do its work.
const EXIT_CANNOT_START: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "session-lab",
    version,
    about = "The executable specification of the HTTP-state exercise"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the reference server on 127.0.0.1 (its stages are the cargo features it was built with).
    Serve(serve::ServeArgs),
    /// Grade a submission: run the checks against the server command given after `--`.
    Grade(grade::GradeArgs),
    /// Grade a whole class: every folder or .zip in SUBMISSIONS, in parallel, with a CSV and
    /// an HTML overview.
    GradeClass(grade_class::GradeClassArgs),
    /// Show every cookie the sites set (following redirects), and keep them in a jar.
    #[cfg(feature = "stage5")]
    Cookies(cookies::CookiesArgs),
    /// Read a password on standard input and print its argon2id PHC string (for --users files).
    HashPassword,
}

impl Cli {
    /// Runs the subcommand; an error that stops it is printed, and exits with status 2.
    pub fn run(self) -> ExitCode {
        let outcome = match self.command {
            Command::Serve(args) => serve::serve(args),
            Command::Grade(args) => grade::grade(args),
            Command::GradeClass(args) => grade_class::grade_class(args),
            #[cfg(feature = "stage5")]
            Command::Cookies(args) => cookies::cookies(args),
            Command::HashPassword => hash_password::hash_password(),
        };
        match outcome {
            Ok(code) => code,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(EXIT_CANNOT_START)
            }
        }
    }
}

/// The async runtime a subcommand runs on.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Installs the SIGINT and SIGTERM handlers now; the future resolves at the first signal.
fn stop_signal()
-> anyhow::Result<impl std::future::Future<Output = session_lab::server::StopSignal>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => session_lab::server::StopSignal::Interrupt,
            _ = terminate.recv() => session_lab::server::StopSignal::Terminate,
        }
    })
}
