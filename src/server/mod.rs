//! The reference server: hyper 1 on tokio, one cargo feature and one module per stage of the
//! exercise (`stage1.rs` … `stage4/`), put together in `compose.rs`.
//!
//! [`start`] opens the store, binds and returns a [`RunningServer`], which stops gracefully
//! ([`RunningServer::stop`]) or is killed ([`RunningServer::kill`]) the way a process would be.
//! The binary's `serve` and the in-process tests both use this. This file owns the connections
//! (their limits, timeouts and graceful end); the stages own what a request is answered.

mod compose;
mod layer;
mod pages;
mod request_limits;
mod respond;
mod show_headers;
#[cfg(feature = "stage1")]
mod stage1;
#[cfg(feature = "stage2")]
mod stage2;
// Without stage 2 its twin stands in: the same calls, saving nothing (see compose.rs).
#[cfg(not(feature = "stage2"))]
#[path = "stage2_disabled.rs"]
mod stage2;
#[cfg(feature = "stage3")]
pub mod stage3;
#[cfg(feature = "stage4")]
pub mod stage4;
pub mod tuning;
pub mod users;

use crate::clock::{Clock, SystemClock};
pub use crate::store::SessionCaps;
use crate::store::{Backend, StoreError};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use layer::{Handler, Visit};
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use users::Users;

pub use request_limits::MAX_BODY_BYTES;

/// The last stage this build implements (the highest `stageN` feature enabled), 0 for none.
pub const STAGE: u8 = if cfg!(feature = "stage5") {
    5
} else if cfg!(feature = "stage4") {
    4
} else if cfg!(feature = "stage3") {
    3
} else if cfg!(feature = "stage2") {
    2
} else if cfg!(feature = "stage1") {
    1
} else {
    0
};

use request_limits::MAX_HEAD_BYTES;

/// How the server is set up. [`Config::new`] gives the defaults of `session-lab serve`.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// Where the state is kept: the JSON file (persisted by stage 2) or Redis.
    pub store: Backend,
    /// How often changed state is written (stage 2).
    pub flush_interval: Duration,
    /// How long an unused session lives (stage 3).
    pub session_idle: Duration,
    /// Who may log in (stage 3).
    pub users: Users,
    /// Whether the session cookie carries `Secure` (behind a TLS proxy).
    pub secure_cookies: bool,
    pub clock: Arc<dyn Clock>,
    /// How long a graceful stop waits for requests in flight.
    pub shutdown_grace: Duration,
    /// Print each exchange's request line, `Cookie`, status and `Set-Cookie` on stdout.
    pub show_headers: bool,
    /// Password checks (argon2, 19 MiB and tens of milliseconds each) at once, and how many
    /// more may wait; a login beyond both is answered 503 at once (stage 3).
    pub login_checks: LoginChecks,
    /// How long a request may take to arrive whole, head and body: a client that sends it
    /// slower is answered 408 and its connection closed.
    pub request_deadline: Duration,
    /// Connections served at once; one beyond is answered 503 and closed.
    pub max_connections: usize,
    /// Failed logins a minute per client address and username before 429 (0: no limit).
    pub failed_logins_per_minute: u32,
    /// Sessions at most, in all and per user (stage 3).
    pub session_caps: SessionCaps,
}

/// How many password checks run at once, and how many logins may wait for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginChecks {
    pub at_once: usize,
    pub waiting: usize,
}

impl Default for LoginChecks {
    /// One check per core (argon2 is CPU-bound), and a short queue: a flood of logins then
    /// costs a few dozen MiB and a little CPU, never the machine.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            at_once: cores,
            waiting: 4 * cores,
        }
    }
}

impl Config {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            store: Backend::file("sessions.json"),
            flush_interval: Duration::from_secs(1),
            session_idle: Duration::from_secs(60 * 60),
            users: Users::default(),
            secure_cookies: false,
            clock: Arc::new(SystemClock),
            shutdown_grace: Duration::from_secs(3),
            show_headers: false,
            login_checks: LoginChecks::default(),
            request_deadline: Duration::from_secs(10),
            max_connections: 1000,
            failed_logins_per_minute: 10,
            session_caps: SessionCaps::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {cause}; choose another --port (0 picks a free one)")]
    Bind {
        addr: SocketAddr,
        cause: std::io::Error,
    },
}

/// What asked the server to stop; both mean the same graceful shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopSignal {
    Interrupt,
    Terminate,
}

impl StopSignal {
    /// The signal's number, as an exit status reports it.
    pub fn number(self) -> i32 {
        match self {
            Self::Interrupt => nix::libc::SIGINT,
            Self::Terminate => nix::libc::SIGTERM,
        }
    }
}

impl fmt::Display for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        })
    }
}

/// A server that is listening.
pub struct RunningServer {
    addr: SocketAddr,
    stop_accepting: watch::Sender<bool>,
    serving: JoinHandle<()>,
    stores: compose::Stores,
}

/// Opens the store (restoring the state, stage 2), binds `config.addr` and starts serving.
pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
    let stores = compose::open_stores(&config).await?;
    let handler = Arc::new(compose::handler(&config, &stores));
    let bound = async {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        Ok((listener, addr))
    };
    let (listener, addr) = match bound.await {
        Ok(bound) => bound,
        Err(cause) => {
            RunningServer::abandon(stores).await;
            return Err(ServerError::Bind {
                addr: config.addr,
                cause,
            });
        }
    };
    let (stop_accepting, stop_rx) = watch::channel(false);
    let serving = tokio::spawn(serve(
        listener,
        handler,
        stop_rx,
        config.shutdown_grace,
        config.show_headers,
        config.max_connections,
    ));
    tracing::info!(%addr, "listening");
    Ok(RunningServer {
        addr,
        stop_accepting,
        serving,
        stores,
    })
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Graceful stop: no new connections, requests in flight finish (within the grace
    /// period), then the state is saved (stage 2; a shared store keeps it itself).
    pub async fn stop(self, signal: StopSignal) -> Result<(), ServerError> {
        tracing::info!(%signal, "shutting down");
        self.stop_accepting.send_replace(true);
        let _ = self.serving.await;
        if let Some(persistence) = self.stores.persistence {
            persistence.shut_down().await?;
        }
        tracing::info!("stopped");
        Ok(())
    }

    /// Stops at once without saving, as SIGKILL would: only what was flushed survives.
    pub async fn kill(self) {
        self.serving.abort();
        let _ = self.serving.await;
        Self::abandon(self.stores).await;
    }

    async fn abandon(stores: compose::Stores) {
        if let Some(persistence) = stores.persistence {
            persistence.abandon().await;
        }
    }

    /// Resolves once the periodic flush has saved everything received so far (at once when
    /// nothing in this process saves: a shared store has it already, a build before stage 2
    /// saves nothing).
    pub async fn wait_for_flush(&self) {
        if let Some(persistence) = &self.stores.persistence {
            persistence.wait_for_flush().await;
        }
    }
}

/// What a connection beyond [`Config::max_connections`] is told before it is closed.
fn too_many_connections() -> String {
    const BODY: &str = "Too many connections: try again in a second.\n";
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    )
}

async fn serve(
    listener: TcpListener,
    handler: Arc<impl Handler>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
    show_headers: bool,
    max_connections: usize,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    let printer = show_headers.then(show_headers::Printer::start);
    let graceful = GracefulShutdown::new();
    // Owning the connections here means aborting this task (a kill) aborts them all.
    let mut connections = JoinSet::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .max_buf_size(MAX_HEAD_BYTES)
        .header_read_timeout(Duration::from_secs(10));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok((stream, peer)) => (stream, peer.ip()),
                    Err(error) => {
                        // Usually out of file descriptors: wait instead of spinning.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    // Refused cleanly, and at once: it holds no slot and no timer.
                    connections.spawn(async move {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut stream = stream;
                        let refuse = async {
                            stream.write_all(too_many_connections().as_bytes()).await?;
                            stream.shutdown().await?;
                            // Read what the client sent meanwhile: closing a socket with
                            // unread data resets it, and the client would lose the answer.
                            let mut sink = [0u8; 4096];
                            while stream.read(&mut sink).await? > 0 {}
                            Ok::<_, std::io::Error>(())
                        };
                        let _ = tokio::time::timeout(Duration::from_secs(1), refuse).await;
                    });
                    continue;
                };
                let handler = handler.clone();
                let printer = printer.clone();
                let service = service_fn(move |request| {
                    let handler = handler.clone();
                    let printer = printer.clone();
                    async move {
                        let head = printer.as_ref().map(|_| show_headers::RequestHead::of(&request));
                        let response = handler.handle(request, Visit::new(peer)).await;
                        if let (Some(printer), Some(head)) = (&printer, head) {
                            printer.print(show_headers::block(&head, &response));
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                connections.spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                    drop(slot);
                });
                while connections.try_join_next().is_some() {}
            }
            // Only `true` is ever sent; a dropped sender means stop too.
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?grace,
            "requests still in flight after the grace period were cut"
        );
    }
}
