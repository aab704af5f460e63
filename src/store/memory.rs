//! The state in this process: an atomic hit counter and the [`SessionTable`]. Alone it forgets
//! everything at exit; stage 2 snapshots it to a [`super::SnapshotStore`].

use super::session_table::SessionTable;
use super::{CreateError, HitStore, Session, SessionCaps, SessionStore, State, Unavailable};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug)]
pub struct MemoryStore {
    hits: AtomicU64,
    sessions: SessionTable,
    caps: SessionCaps,
}

/// How far a [`MemoryStore`] has moved since it began: both parts only ever grow, so a saved
/// version covers a change when both its parts are at least as far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Version {
    pub hits: u64,
    pub sessions: u64,
}

impl Version {
    pub fn covers(&self, other: &Self) -> bool {
        self.hits >= other.hits && self.sessions >= other.sessions
    }
}

impl MemoryStore {
    /// A store holding `restored` (or nothing), leaving out sessions idle longer than
    /// `idle_secs` at `now`.
    pub fn new(restored: Option<State>, idle_secs: u64, caps: SessionCaps, now: u64) -> Self {
        let state = restored.unwrap_or_default();
        Self {
            hits: AtomicU64::new(state.hits),
            sessions: SessionTable::from_records(idle_secs, state.sessions, now),
            caps,
        }
    }

    pub fn version(&self) -> Version {
        Version {
            hits: self.hits.load(Ordering::Acquire),
            sessions: self.sessions.changes(),
        }
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Acquire)
    }

    /// A copy of everything, for a snapshot.
    pub fn state(&self) -> State {
        State {
            hits: self.hits(),
            sessions: self.sessions.records(),
        }
    }

    pub fn purge_expired(&self, now: u64) -> usize {
        self.sessions.purge_expired(now)
    }
}

#[async_trait::async_trait]
impl HitStore for MemoryStore {
    async fn count_hit(&self) -> Result<u64, Unavailable> {
        Ok(self.hits.fetch_add(1, Ordering::AcqRel) + 1)
    }
}

#[async_trait::async_trait]
impl SessionStore for MemoryStore {
    async fn find(&self, ids: &[&str], now: u64) -> Result<Option<Session>, Unavailable> {
        Ok(ids.iter().find_map(|id| {
            self.sessions.user(id, now).map(|user| Session {
                id: (*id).to_owned(),
                user,
            })
        }))
    }

    async fn create(
        &self,
        user: &str,
        replacing: &[&str],
        now: u64,
    ) -> Result<String, CreateError> {
        for id in replacing {
            self.sessions.remove(id);
        }
        self.sessions.create(user, now, self.caps)
    }

    async fn remove(&self, ids: &[&str]) -> Result<(), Unavailable> {
        for id in ids {
            self.sessions.remove(id);
        }
        Ok(())
    }
}
