//! Logged-in sessions: random ids, idle expiry, and the table that maps ids to users.
//!
//! Only a successful login creates a session, so anonymous traffic cannot grow this table.

use super::{CreateError, SessionCaps, SessionRecord};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dashmap::DashMap;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// 192 bits from the OS CSPRNG: well above the 128 the exercise demands.
const SESSION_ID_BYTES: usize = 24;
/// Their length in base64url without padding.
const SESSION_ID_CHARS: usize = SESSION_ID_BYTES * 4 / 3;

/// A fresh session id: random bytes from the OS, base64url without padding.
pub fn new_session_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; SESSION_ID_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A session id as stored: its bytes, not its text, so a session costs no heap for its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SessionKey([u8; SESSION_ID_BYTES]);

/// Keys come from the CSPRNG, but also from the state file at restore, which a person may have
/// written: hash all of each key with a seeded hash (foldhash: as sound as SipHash against
/// chosen keys for a map like this, and much faster on a million restores).
type SessionMap = DashMap<SessionKey, Session, foldhash::fast::RandomState>;

/// Whether `id` has the form of an id this server issues.
pub fn is_session_id(id: &str) -> bool {
    key(id).is_some()
}

/// The key of a session id as the cookie carries it; `None` for anything this server could not
/// have issued.
fn key(id: &str) -> Option<SessionKey> {
    let mut key = [0u8; SESSION_ID_BYTES];
    (id.len() == SESSION_ID_CHARS
        && URL_SAFE_NO_PAD.decode_slice(id, &mut key).ok() == Some(SESSION_ID_BYTES))
    .then_some(SessionKey(key))
}

#[derive(Debug)]
struct Session {
    /// Shared by all the sessions of one user (see [`SessionTable::name`]).
    user: Arc<str>,
    /// Seconds since the Unix epoch; atomic so a lookup can refresh it under a shared lock.
    last_seen: AtomicU64,
}

/// The live sessions, sharded so concurrent requests do not queue on one lock.
#[derive(Debug)]
pub struct SessionTable {
    sessions: SessionMap,
    /// One copy of each user name, however many sessions it has.
    names: Mutex<HashSet<Arc<str>>>,
    idle_limit_secs: u64,
    /// Bumped at every create, remove and purge: persistence compares it to know it is dirty.
    changes: AtomicU64,
}

impl SessionTable {
    pub fn new(idle_limit_secs: u64) -> Self {
        Self::from_records(idle_limit_secs, Vec::new(), 0)
    }

    /// A table of persisted sessions, leaving out those that expired meanwhile and any whose
    /// id this server could not have issued. Built at its final size: no rehashing.
    pub fn from_records(idle_limit_secs: u64, records: Vec<SessionRecord>, now: u64) -> Self {
        let table = Self {
            sessions: SessionMap::with_capacity_and_hasher(records.len(), Default::default()),
            names: Mutex::default(),
            idle_limit_secs,
            changes: AtomicU64::new(0),
        };
        let mut last_name: Option<Arc<str>> = None;
        for record in records {
            if let Some(key) = key(&record.id).filter(|_| !table.expired(record.last_seen, now)) {
                // Sessions come grouped by nothing in particular, but most share a few users:
                // reuse the last name before asking the shared set.
                let user = match &last_name {
                    Some(name) if **name == *record.user => name.clone(),
                    _ => last_name.insert(table.name(&record.user)).clone(),
                };
                table.sessions.insert(
                    key,
                    Session {
                        user,
                        last_seen: AtomicU64::new(record.last_seen),
                    },
                );
            }
        }
        table
    }

    /// The shared copy of a user name.
    fn name(&self, user: &str) -> Arc<str> {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(name) = names.get(user) {
            return name.clone();
        }
        let name: Arc<str> = user.into();
        names.insert(name.clone());
        name
    }

    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// How far a session's last use moves at least when it is used.
    fn refresh_step(&self) -> u64 {
        (self.idle_limit_secs / 60).max(1)
    }

    fn expired(&self, last_seen: u64, now: u64) -> bool {
        now.saturating_sub(last_seen) > self.idle_limit_secs
    }

    /// A new session for `user`. The table holds at most `caps.total` sessions (then a login is
    /// refused, [`CreateError::Full`]) and `caps.per_user` of one user's (then the one unused
    /// longest is ended): a flood of logins cannot grow it without bound.
    pub fn create(&self, user: &str, now: u64, caps: SessionCaps) -> Result<String, CreateError> {
        if self.sessions.len() >= caps.total {
            return Err(CreateError::Full);
        }
        let name = self.name(user);
        // Each of the user's sessions holds the shared name, as do the name set and `name`:
        // the count is there for free, and the table is searched only for a user at the cap.
        let sessions_of_user = Arc::strong_count(&name).saturating_sub(2);
        let per_user = caps.per_user.max(1);
        if sessions_of_user >= per_user {
            let mut theirs: Vec<(SessionKey, u64)> = self
                .sessions
                .iter()
                .filter(|entry| Arc::ptr_eq(&entry.user, &name))
                .map(|entry| (*entry.key(), entry.last_seen.load(Ordering::Relaxed)))
                .collect();
            theirs.sort_by_key(|(_, last_seen)| *last_seen);
            let surplus = (theirs.len() + 1).saturating_sub(per_user);
            for (key, _) in theirs.into_iter().take(surplus) {
                self.sessions.remove(&key);
            }
            self.changed();
        }
        let mut key = SessionKey([0u8; SESSION_ID_BYTES]);
        getrandom::fill(&mut key.0).map_err(CreateError::Random)?;
        self.sessions.insert(
            key,
            Session {
                user: name,
                last_seen: AtomicU64::new(now),
            },
        );
        self.changed();
        Ok(URL_SAFE_NO_PAD.encode(key.0))
    }

    /// The user of a live session, refreshing its idle timer; an expired one is removed.
    ///
    /// The name is copied out rather than shared: the shared copy's reference count would be
    /// one cache line that every request of every session of that user writes to.
    pub fn user(&self, id: &str, now: u64) -> Option<String> {
        let key = key(id)?;
        {
            let session = self.sessions.get(&key)?;
            let last_seen = session.last_seen.load(Ordering::Relaxed);
            if !self.expired(last_seen, now) {
                // Moved in steps of a sixtieth of the idle limit, not at every request: each
                // step is a change that the next flush saves (a session in use must not expire
                // after a restart), and that few steps keep the flushes of a busy server
                // rare. A session may so expire up to one step early.
                if now >= last_seen + self.refresh_step()
                    && session.last_seen.fetch_max(now, Ordering::Relaxed) < now
                {
                    self.changed();
                }
                return Some(session.user.to_string());
            }
        }
        if self
            .sessions
            .remove_if(&key, |_, s| {
                self.expired(s.last_seen.load(Ordering::Relaxed), now)
            })
            .is_some()
        {
            self.changed();
        }
        None
    }

    pub fn remove(&self, id: &str) -> bool {
        let removed = key(id).is_some_and(|key| self.sessions.remove(&key).is_some());
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
                id: URL_SAFE_NO_PAD.encode(entry.key().0),
                user: entry.user.to_string(),
                last_seen: entry.last_seen.load(Ordering::Relaxed),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_keeps_the_newest_sessions_and_a_full_table_refuses_more() {
        let table = SessionTable::new(3600);
        let caps = SessionCaps {
            total: 3,
            per_user: 2,
        };
        let first = table.create("alice", 100, caps).unwrap();
        let second = table.create("alice", 200, caps).unwrap();
        let third = table.create("alice", 300, caps).unwrap();
        assert_eq!(
            table.user(&first, 301),
            None,
            "the one unused longest was ended"
        );
        assert!(table.user(&second, 301).is_some());
        assert!(table.user(&third, 301).is_some());
        table.create("bob", 300, caps).unwrap();
        assert!(matches!(
            table.create("carol", 300, caps),
            Err(CreateError::Full)
        ));
    }

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
        let id = table.create("alice", 1000, SessionCaps::default()).unwrap();
        assert_eq!(table.user(&id, 1060).as_deref(), Some("alice"));
        assert_eq!(table.user(&id, 1120).as_deref(), Some("alice"));
        assert_eq!(table.user(&id, 1181), None);
        assert!(table.is_empty(), "an expired session is removed when seen");
    }

    /// A use that moves the last use by a step is a change the next flush saves; uses in
    /// between change nothing.
    #[test]
    fn a_use_marks_a_change_once_a_step() {
        let table = SessionTable::new(600);
        let id = table.create("alice", 1000, SessionCaps::default()).unwrap();
        let created = table.changes();
        assert!(table.user(&id, 1009).is_some());
        assert_eq!(table.changes(), created, "within the 10 s step");
        assert!(table.user(&id, 1590).is_some());
        assert_eq!(table.changes(), created + 1);
        assert_eq!(table.records()[0].last_seen, 1590);
        assert!(table.user(&id, 1599).is_some());
        assert_eq!(table.changes(), created + 1);
    }

    #[test]
    fn purge_removes_only_expired_sessions_and_marks_a_change() {
        let table = SessionTable::new(60);
        table.create("old", 1000, SessionCaps::default()).unwrap();
        let fresh = table.create("new", 1100, SessionCaps::default()).unwrap();
        let before = table.changes();
        assert_eq!(table.purge_expired(1100 + 30), 1);
        assert!(table.changes() > before);
        assert_eq!(table.records().len(), 1);
        assert_eq!(table.records()[0].id, fresh);
    }

    #[test]
    fn restoring_skips_expired_sessions_and_ids_this_server_never_issued() {
        let (live, stale) = (new_session_id().unwrap(), new_session_id().unwrap());
        let record = |id: &str, last_seen| SessionRecord {
            id: id.into(),
            user: "alice".into(),
            last_seen,
        };
        let table = SessionTable::from_records(
            60,
            vec![
                record(&live, 100),
                record(&stale, 10),
                record("not-an-id", 100),
            ],
            150,
        );
        assert_eq!(table.len(), 1);
        assert!(table.user(&live, 150).is_some());
        assert_eq!(
            table.records()[0].id,
            live,
            "ids round-trip through their bytes"
        );
    }

    #[test]
    fn sessions_of_one_user_share_one_name() {
        let table = SessionTable::new(60);
        let (a, b) = (
            table.create("alice", 1, SessionCaps::default()).unwrap(),
            table.create("alice", 1, SessionCaps::default()).unwrap(),
        );
        let shared = |id: &str| table.sessions.get(&key(id).unwrap()).unwrap().user.clone();
        assert!(Arc::ptr_eq(&shared(&a), &shared(&b)));
        assert_eq!(table.user(&a, 1).as_deref(), Some("alice"));
        assert_eq!(table.user("garbage that is not base64!", 1), None);
    }
}
