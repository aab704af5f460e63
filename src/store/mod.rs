//! Where the server's state lives between runs.
//!
//! The server keeps its state in memory and hands a complete [`State`] to a [`Store`] at every
//! flush and at shutdown; [`Store::load`] gives it back at start. The JSON file
//! ([`JsonFileStore`]) is the embedded default.

mod json_file;

pub use json_file::JsonFileStore;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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

/// A place that keeps [`State`] across restarts.
///
/// `save` replaces what was stored with a complete state: the implementation must make that
/// replacement atomic (a reader, or a crash, sees the old state or the new one, never a mix).
/// A store shared by several server instances cannot work from whole snapshots, since each
/// instance would overwrite the others' hits and sessions; it needs per-session writes and an
/// atomic hit increment, which is why [`Store::save`] takes the whole state only by reference
/// and the server never assumes it is the only writer of anything but its own snapshot.
pub trait Store: Send + Sync + 'static {
    /// The stored state, or `None` when nothing was ever saved (a fresh start).
    fn load(&self) -> Result<Option<State>, StoreError>;

    /// Replace the stored state with `state`, atomically.
    fn save(&self, state: &State) -> Result<(), StoreError>;

    /// Make ready to save, at start: clear what an earlier process killed mid-save left
    /// behind, and fail now if a later `save` could not possibly succeed.
    fn prepare_to_save(&self) -> Result<(), StoreError>;
}

/// The most hits a state file may hold: a billion a second for 290 years. Counting on from
/// more could wrap the counter to 0.
pub const MAX_HITS: u64 = 1 << 63;

/// Why the state could not be loaded or saved. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read the state file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "the state file {path} is corrupt ({cause}); it was left untouched: repair or move it away to start fresh"
    )]
    Corrupt {
        path: PathBuf,
        cause: serde_json::Error,
    },
    #[error(
        "the state file {path} says {hits} hits, more than a server could count in centuries (at most {MAX_HITS}): it is damaged, and was left untouched; repair or move it away to start fresh"
    )]
    ImplausibleHits { path: PathBuf, hits: u64 },
    #[error(
        "the state file {path} has format version {found}, this server reads version {expected}"
    )]
    UnsupportedVersion {
        path: PathBuf,
        found: u64,
        expected: u64,
    },
    #[error("cannot write the state file {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}
