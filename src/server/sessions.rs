//! Logged-in sessions: random ids, idle expiry, and the table that maps ids to users.
//!
//! Only a successful login creates a session, so anonymous traffic cannot grow this table.

use crate::store::SessionRecord;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dashmap::DashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// 192 bits from the OS CSPRNG: well above the 128 the exercise demands.
const SESSION_ID_BYTES: usize = 24;

/// A fresh session id: random bytes from the OS, base64url without padding.
pub fn new_session_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; SESSION_ID_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[derive(Debug)]
struct Session {
    user: Arc<str>,
    /// Seconds since the Unix epoch; atomic so a lookup can refresh it under a shared lock.
    last_seen: AtomicU64,
}

/// The live sessions, sharded so concurrent requests do not queue on one lock.
#[derive(Debug)]
pub struct SessionTable {
    sessions: DashMap<String, Session>,
    idle_limit_secs: u64,
    /// Bumped at every create, remove and purge: persistence compares it to know it is dirty.
    changes: AtomicU64,
}

impl SessionTable {
    pub fn new(idle_limit_secs: u64) -> Self {
        Self {
            sessions: DashMap::new(),
            idle_limit_secs,
            changes: AtomicU64::new(0),
        }
    }

    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    fn expired(&self, last_seen: u64, now: u64) -> bool {
        now.saturating_sub(last_seen) > self.idle_limit_secs
    }

    pub fn create(&self, user: &str, now: u64) -> Result<String, getrandom::Error> {
        let id = new_session_id()?;
        self.sessions.insert(
            id.clone(),
            Session {
                user: user.into(),
                last_seen: AtomicU64::new(now),
            },
        );
        self.changed();
        Ok(id)
    }

    /// The user of a live session, refreshing its idle timer; an expired one is removed.
    pub fn user(&self, id: &str, now: u64) -> Option<Arc<str>> {
        {
            let session = self.sessions.get(id)?;
            let last_seen = session.last_seen.load(Ordering::Relaxed);
            if !self.expired(last_seen, now) {
                session.last_seen.fetch_max(now, Ordering::Relaxed);
                return Some(session.user.clone());
            }
        }
        if self
            .sessions
            .remove_if(id, |_, s| {
                self.expired(s.last_seen.load(Ordering::Relaxed), now)
            })
            .is_some()
        {
            self.changed();
        }
        None
    }

    pub fn remove(&self, id: &str) -> bool {
        let removed = self.sessions.remove(id).is_some();
        if removed {
            self.changed();
        }
        removed
    }

    pub fn purge_expired(&self, now: u64) -> usize {
        let before = self.sessions.len();
        self.sessions
            .retain(|_, s| !self.expired(s.last_seen.load(Ordering::Relaxed), now));
        let purged = before.saturating_sub(self.sessions.len());
        if purged > 0 {
            self.changed();
        }
        purged
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    pub fn records(&self) -> Vec<SessionRecord> {
        self.sessions
            .iter()
            .map(|entry| SessionRecord {
                id: entry.key().clone(),
                user: entry.user.to_string(),
                last_seen: entry.last_seen.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Replaces the table with persisted sessions, dropping those that expired meanwhile.
    pub fn restore(&self, records: Vec<SessionRecord>, now: u64) {
        self.sessions.clear();
        for record in records {
            if !self.expired(record.last_seen, now) {
                self.sessions.insert(
                    record.id,
                    Session {
                        user: record.user.into(),
                        last_seen: AtomicU64::new(record.last_seen),
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_long_random_and_url_safe() {
        let a = new_session_id().unwrap();
        let b = new_session_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn a_session_expires_after_its_idle_limit_and_use_refreshes_it() {
        let table = SessionTable::new(60);
        let id = table.create("alice", 1000).unwrap();
        assert_eq!(table.user(&id, 1060).as_deref(), Some("alice"));
        assert_eq!(table.user(&id, 1120).as_deref(), Some("alice"));
        assert_eq!(table.user(&id, 1181), None);
        assert!(table.is_empty(), "an expired session is removed when seen");
    }

    #[test]
    fn purge_removes_only_expired_sessions_and_marks_a_change() {
        let table = SessionTable::new(60);
        table.create("old", 1000).unwrap();
        let fresh = table.create("new", 1100).unwrap();
        let before = table.changes();
        assert_eq!(table.purge_expired(1100 + 30), 1);
        assert!(table.changes() > before);
        assert_eq!(table.records().len(), 1);
        assert_eq!(table.records()[0].id, fresh);
    }

    #[test]
    fn restore_skips_sessions_that_expired_while_stopped() {
        let table = SessionTable::new(60);
        table.restore(
            vec![
                SessionRecord {
                    id: "a".into(),
                    user: "alice".into(),
                    last_seen: 100,
                },
                SessionRecord {
                    id: "b".into(),
                    user: "alice".into(),
                    last_seen: 10,
                },
            ],
            150,
        );
        assert_eq!(table.len(), 1);
        assert!(table.user("a", 150).is_some());
    }
}
