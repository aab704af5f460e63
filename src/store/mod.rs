//! Where the server's state lives: the hit count and the sessions.
//!
//! The stages see the state only through two small traits, [`HitStore`] (stage 1) and
//! [`SessionStore`] (stage 3); which store stands behind them is chosen once, by
//! [`Backend`] (`serve --store`):
//! - [`MemoryStore`]: the state in this process, which stage 2 saves as a whole [`State`] to a
//!   [`SnapshotStore`] (the JSON file, [`JsonFileStore`]) and restores at start;
//! - `RedisStore` (feature `redis`): the state in Redis, shared by every instance that uses it,
//!   and kept by Redis's own persistence.

mod json_file;
mod memory;
// The Redis client is a dependency of the builds with the feature only.
#[cfg(feature = "redis")]
pub mod redis;
pub mod session_table;

pub use json_file::JsonFileStore;
pub use memory::{MemoryStore, Version as MemoryVersion};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// Which store keeps the state of a server.
#[derive(Clone)]
pub enum Backend {
    /// In memory, saved to (and restored from) a snapshot store by stage 2.
    Snapshots(Arc<dyn SnapshotStore>),
    /// In Redis, at this URL (`redis://HOST:PORT/DB`).
    // Only a build with the Redis store can be pointed at one (`serve` refuses the URL otherwise).
    #[cfg(feature = "redis")]
    Redis(url::Url),
}

impl Backend {
    /// The JSON state file at `path`, the default.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::Snapshots(Arc::new(JsonFileStore::new(path)))
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Snapshots(_) => f.write_str("Snapshots"),
            // Present when the variant is.
            #[cfg(feature = "redis")]
            Self::Redis(url) => write!(f, "Redis({})", redis::redacted(url)),
        }
    }
}

/// The store could not be reached or did not answer in time: the request is answered 503 and
/// may be tried again (only a shared store over the network can fail like this).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unavailable {
    /// The task counting the request's hit ended before it answered (stage 1).
    #[error("the session store is unavailable: the hit was not counted")]
    HitNotCounted(#[source] tokio::sync::oneshot::error::RecvError),
    /// Redis failed, or did not answer in time.
    // Only a build with the Redis store has the type of its failures.
    #[cfg(feature = "redis")]
    #[error("the session store is unavailable: {0}")]
    Redis(#[from] redis::Failure),
}

/// The hit counter of stage 1.
#[async_trait::async_trait]
pub trait HitStore: Send + Sync + 'static {
    /// Counts one hit and returns the count including it (1 for the very first).
    async fn count_hit(&self) -> Result<u64, Unavailable>;
}

/// A logged-in session, as the login gate sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user: String,
}

/// How many sessions a store may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCaps {
    pub total: usize,
    pub per_user: usize,
}

impl Default for SessionCaps {
    /// Far beyond a class (a million sessions take about 200 MB), and a user's browsers.
    fn default() -> Self {
        Self {
            total: 2_000_000,
            per_user: 100,
        }
    }
}

/// Why a session could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("the operating system's random source failed: {0}")]
    Random(getrandom::Error),
    #[error("the server holds as many sessions as it may")]
    Full,
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// The sessions of stage 3. Ids are the store's to make (from the OS CSPRNG); every method
/// takes the time from the caller, so a test can freeze it.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// The first of `ids` that names a live session, refreshing its idle timer.
    async fn find(&self, ids: &[&str], now: u64) -> Result<Option<Session>, Unavailable>;

    /// A new session for `user`, ending the sessions `replacing` (those the browser held
    /// before this login: an id planted before login must be worth nothing after it), within
    /// the store's [`SessionCaps`]: past the total a login is refused ([`CreateError::Full`]);
    /// past the user's share, their session unused longest ends. Returns its id. All of it is
    /// kept durably before this returns.
    async fn create(&self, user: &str, replacing: &[&str], now: u64)
    -> Result<String, CreateError>;

    /// Ends the sessions `ids` (unknown ones are ignored), durably before this returns.
    async fn remove(&self, ids: &[&str]) -> Result<(), Unavailable>;
}

/// Everything the server persists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Hits counted since the very first start.
    pub hits: u64,
    /// Logged-in sessions.
    pub sessions: Vec<SessionRecord>,
}

/// One logged-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The session id, exactly as sent in the cookie.
    pub id: String,
    pub user: String,
    /// When the session was last used, in seconds since the Unix epoch (for idle expiry).
    pub last_seen: u64,
}

/// A place that keeps the [`State`] of one [`MemoryStore`] across restarts (stage 2).
///
/// `save` replaces what was stored with a complete state: the implementation must make that
/// replacement atomic (a reader, or a crash, sees the old state or the new one, never a mix).
/// Whole snapshots suit one process only: several instances would overwrite each other's hits
/// and sessions, which is what [`Backend::Redis`] is for.
pub trait SnapshotStore: Send + Sync + 'static {
    /// The stored state, or `None` when nothing was ever saved (a fresh start).
    fn load(&self) -> Result<Option<State>, StoreError>;

    /// Replace the stored state with `state`, atomically.
    fn save(&self, state: &State) -> Result<(), StoreError>;

    /// Record a new hit count when nothing else changed: far cheaper than [`Self::save`] with a
    /// million sessions, and what a flush does when only hits came in. [`Self::load`] returns
    /// the larger of the two counts (both only ever grow), atomically replaced likewise.
    fn save_hits(&self, hits: u64) -> Result<(), StoreError>;

    /// Make ready to save, at start: clear what an earlier process killed mid-save left
    /// behind, and fail now if a later `save` could not possibly succeed.
    fn prepare_to_save(&self) -> Result<(), StoreError>;
}

/// The most hits a state file may hold: a billion a second for 290 years. Counting on from
/// more could wrap the counter to 0.
pub const MAX_HITS: u64 = 1 << 63;

/// Why the state could not be loaded or saved. Every variant names the file (or the Redis URL).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read the state file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is corrupt ({cause}); it was left untouched: {advice}")]
    Corrupt {
        path: PathBuf,
        cause: serde_json::Error,
        advice: String,
    },
    #[error(
        "{path} says {hits} hits, more than a server could count in centuries (at most {MAX_HITS}): it is damaged, and was left untouched: {advice}"
    )]
    ImplausibleHits {
        path: PathBuf,
        hits: u64,
        advice: String,
    },
    #[error(
        "{path} has format version {found}, this server reads version {expected}; it was left untouched: run the session-lab that wrote it, or {advice}"
    )]
    UnsupportedVersion {
        path: PathBuf,
        found: u64,
        expected: u64,
        advice: String,
    },
    #[error("cannot write the state file {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    // Only a build with the Redis store can fail to open one.
    #[cfg(feature = "redis")]
    #[error(
        "cannot use the Redis store at {url}: {cause}; check that Redis 7 or later runs there and that the URL's password and database are right"
    )]
    Redis { url: url::Url, cause: String },
}
