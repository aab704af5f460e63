//! Stage 3, defended: password checks. argon2 takes 19 MiB and tens of milliseconds per check,
//! so a flood of logins must not run them all at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

/// The password checks of the server: argon2 takes 19 MiB and tens of milliseconds each, so
/// they run one per core on the blocking pool, a few more logins wait their turn, and a login
/// beyond that is turned away at once instead of piling up memory and latency.
#[derive(Debug)]
pub struct PasswordChecks {
    running: Arc<Semaphore>,
    /// Logins holding or waiting for a permit.
    admitted: Arc<AtomicUsize>,
    limit: usize,
}

impl PasswordChecks {
    pub fn new(checks: crate::server::LoginChecks) -> Self {
        let at_once = checks.at_once.max(1);
        Self {
            running: Arc::new(Semaphore::new(at_once)),
            admitted: Arc::default(),
            limit: at_once + checks.waiting,
        }
    }

    /// Runs `check` on the blocking pool when its turn comes; `None` when too many logins are
    /// ahead of it. The place and the permit go with the check: a client that hangs up does
    /// not free them while its check still runs (it would let checks pile up unbounded).
    pub async fn run(&self, check: impl FnOnce() -> bool + Send + 'static) -> Option<bool> {
        let admitted = Admitted::enter(self.admitted.clone(), self.limit)?;
        let permit = self.running.clone().acquire_owned().await.ok()?;
        let checked = tokio::task::spawn_blocking(move || {
            let _held = (admitted, permit);
            check()
        });
        Some(checked.await.unwrap_or(false))
    }
}

/// A login counted as holding or waiting for a check, until dropped.
struct Admitted(Arc<AtomicUsize>);

impl Admitted {
    fn enter(count: Arc<AtomicUsize>, limit: usize) -> Option<Self> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |admitted| {
                (admitted < limit).then_some(admitted + 1)
            })
            .ok()?;
        Some(Self(count))
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
