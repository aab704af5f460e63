//! `session-lab serve`: the reference server, with the store and the limits asked for.

use super::parse;
use session_lab::server::{self, Config, users::Users};
use session_lab::store::Backend;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Port to listen on; 0 picks a free one (the address is printed either way).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Where the hits and sessions are kept between runs (stage 2) [default: sessions.json].
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Keep the hits and sessions in Redis 7+ instead, at redis://[:PASSWORD@]HOST:PORT/DB (in
    /// a build with the `redis` feature; give a URL with a password in SESSION_LAB_STORE to
    /// keep it out of `ps`): several servers may share one store. The server then saves
    /// nothing itself, at stop or ever: the data lasts as long as Redis keeps it (configure
    /// Redis's AOF or RDB persistence, and `maxmemory-policy noeviction`), and --state and
    /// --flush-interval do not apply.
    #[arg(long, value_name = "URL", conflicts_with_all = ["state", "flush_interval"])]
    store: Option<String>,
    /// Seconds between saves of changed state, bounding what a SIGKILL can lose (stage 2).
    #[arg(long, default_value = "1", value_parser = parse::parse_seconds)]
    flush_interval: Duration,
    /// Seconds a session may stay unused before it expires (stage 3).
    #[arg(long, default_value = "3600", value_parser = parse::parse_seconds)]
    session_idle: Duration,
    /// JSON object of username to argon2 PHC string, replacing the built-in alice (stage 3).
    #[arg(long)]
    users: Option<PathBuf>,
    /// Mark the session cookie Secure (when a TLS proxy sits in front).
    #[arg(long)]
    secure: bool,
    /// Print each exchange: the request line and its Cookie, the status and its Set-Cookie
    /// lines (what a browser's developer tools show).
    #[arg(long)]
    show_headers: bool,
    /// Connections served at once; one more is answered 503 and closed. It is lowered to fit
    /// the open-file limit (whose soft value is raised to the hard one at start).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_connections: usize,
    /// Sessions at most; a login beyond is answered 503 (stage 3).
    #[arg(long, value_name = "N", default_value_t = server::SessionCaps::default().total)]
    max_sessions: usize,
    /// Sessions of one user at most; a login beyond ends their session unused longest (stage 3).
    #[arg(long, value_name = "N", default_value_t = server::SessionCaps::default().per_user)]
    max_sessions_per_user: usize,
}

/// Where `serve` finds the Redis store's URL when `--store` is not given.
const STORE_VARIABLE: &str = "SESSION_LAB_STORE";

/// The URL of `--store`; a message that never repeats it (it may hold a password).
fn redis_url(text: &str) -> anyhow::Result<url::Url> {
    let url = url::Url::parse(text).map_err(|error| {
        anyhow::anyhow!("--store: not a URL ({error}); expected redis://HOST:PORT/DB")
    })?;
    if url.scheme() != "redis" {
        anyhow::bail!(
            "--store: expected redis://HOST:PORT/DB, got a URL of the scheme {}:",
            url.scheme()
        );
    }
    Ok(url)
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    server::tuning::return_large_allocations_to_the_os();
    let mut config = Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)));
    // Read here rather than by clap, so that an empty variable counts as unset and the message
    // of a conflict never shows its value.
    let store = args
        .store
        .or_else(|| std::env::var(STORE_VARIABLE).ok())
        .filter(|store| !store.is_empty());
    if let (Some(_), Some(state)) = (&store, &args.state) {
        anyhow::bail!(
            "--state {} and a Redis store (from {STORE_VARIABLE}) cannot both keep the state: unset {STORE_VARIABLE}, or leave out --state",
            state.display()
        );
    }
    config.store = match store.as_deref().map(redis_url).transpose()? {
        None => Backend::file(args.state.unwrap_or_else(|| "sessions.json".into())),
        // Only a build with the `redis` feature has the Redis client; another says how to get it.
        #[cfg(feature = "redis")]
        Some(url) => Backend::Redis(url),
        #[cfg(not(feature = "redis"))]
        Some(_) => anyhow::bail!(
            "--store: this build has no Redis store; build it with `cargo build --release --features redis` (or --all-features)"
        ),
    };
    config.flush_interval = args.flush_interval;
    config.session_idle = args.session_idle;
    config.secure_cookies = args.secure;
    config.show_headers = args.show_headers;
    config.session_caps = server::SessionCaps {
        total: args.max_sessions,
        per_user: args.max_sessions_per_user,
    };
    config.max_connections = args
        .max_connections
        .min(server::tuning::connections_the_open_file_limit_allows());
    if let Some(path) = &args.users {
        config.users = Users::from_file(path)?;
    }
    super::runtime()?.block_on(async {
        // Listen for the signals before anyone can learn the address: a SIGTERM sent the
        // moment the port opens must still mean a graceful stop, not the default death.
        let stop_signal = super::stop_signal()?;
        let running = server::start(config).await?;
        println!("session-lab listening on http://{}", running.addr());
        std::io::stdout().flush().ok();
        let signal = stop_signal.await;
        match running.stop(signal).await {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(error) => {
                eprintln!("error: the state could not be saved at shutdown: {error}");
                Ok(ExitCode::FAILURE)
            }
        }
    })
}
