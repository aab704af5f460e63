//! The `session-lab` command line: the one place where errors become messages and exit codes.

use anyhow::Context;
use clap::{Parser, Subcommand};
use session_lab::server::{self, Config, StopSignal, users::Users};
use session_lab::store::JsonFileStore;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Exit status for anything that stops a command before it could do its work.
const EXIT_CANNOT_START: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "session-lab",
    version,
    about = "The executable specification of the HTTP-state exercise"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the reference server on 127.0.0.1 (its stages are the cargo features it was built with).
    Serve(ServeArgs),
    /// Read a password on standard input and print its argon2id PHC string (for --users files).
    HashPassword,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Port to listen on; 0 picks a free one (the address is printed either way).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Where the hits and sessions are kept between runs (stage 2).
    #[arg(long, default_value = "sessions.json")]
    state: PathBuf,
    /// Seconds between saves of changed state, bounding what a SIGKILL can lose (stage 2).
    #[arg(long, default_value = "1", value_parser = parse_seconds)]
    flush_interval: Duration,
    /// Seconds a session may stay unused before it expires (stage 3).
    #[arg(long, default_value = "3600", value_parser = parse_seconds)]
    session_idle: Duration,
    /// JSON object of username to argon2 PHC string, replacing the built-in alice (stage 3).
    #[arg(long)]
    users: Option<PathBuf>,
    /// Mark the session cookie Secure (when a TLS proxy sits in front).
    #[arg(long)]
    secure: bool,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| format!("{text:?} must be a positive number of seconds"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "session_lab=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let outcome = match cli.command {
        Command::Serve(args) => serve(args),
        Command::HashPassword => hash_password(),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_CANNOT_START)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)));
    config.store = Arc::new(JsonFileStore::new(args.state));
    config.flush_interval = args.flush_interval;
    config.session_idle = args.session_idle;
    config.secure_cookies = args.secure;
    if let Some(path) = &args.users {
        config.users = Users::from_file(path)?;
    }
    runtime()?.block_on(async {
        let running = server::start(config).await?;
        println!("session-lab listening on http://{}", running.addr());
        std::io::stdout().flush().ok();
        let signal = wait_for_stop_signal().await?;
        match running.stop(signal).await {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(error) => {
                eprintln!("error: the state could not be saved at shutdown: {error}");
                Ok(ExitCode::FAILURE)
            }
        }
    })
}

async fn wait_for_stop_signal() -> anyhow::Result<StopSignal> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(tokio::select! {
        _ = interrupt.recv() => StopSignal::Interrupt,
        _ = terminate.recv() => StopSignal::Terminate,
    })
}

fn hash_password() -> anyhow::Result<ExitCode> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from standard input")?;
    let password = input.strip_suffix('\n').unwrap_or(&input);
    let password = password.strip_suffix('\r').unwrap_or(password);
    anyhow::ensure!(
        !password.is_empty(),
        "the password on standard input is empty"
    );
    let hash = session_lab::server::users::hash_password(password)
        .map_err(|error| anyhow::anyhow!("cannot hash the password: {error}"))?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
}
