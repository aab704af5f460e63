//! Stage 3, defended: password checks. argon2 takes 19 MiB and tens of milliseconds per check,
//! so a flood of logins must neither run them all at once nor take the CPU from the requests
//! of visitors who are logged in already.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The `nice` value of the checking threads (the server's own run at 0, unless it was started
/// niced): during a flood of logins, a logged-in `GET /` is answered before the next check
/// goes on.
const CHECK_NICENESS: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// The password checks of the server: they run on threads of their own, one per core and at a
/// lower priority; a few more logins wait their turn, and a login beyond that is turned away at
/// once instead of piling up memory and latency.
#[derive(Debug)]
pub struct PasswordChecks {
    /// Closed when this is dropped, which ends the threads.
    jobs: Sender<Job>,
    /// Logins being checked or waiting for a check.
    admitted: Arc<AtomicUsize>,
    limit: usize,
}

impl PasswordChecks {
    pub fn new(checks: crate::server::LoginChecks) -> Self {
        let at_once = checks.at_once.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..at_once {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name("password-check".into())
                .spawn(move || check_in_turn(&queue));
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password-checking thread");
            }
        }
        Self {
            jobs,
            admitted: Arc::default(),
            limit: at_once + checks.waiting,
        }
    }

    /// Runs `check` on a checking thread when its turn comes; `None` when too many logins are
    /// ahead of it (or the check failed without a verdict). The place goes with the check: a
    /// client that hangs up does not free it while its check is waiting or running (it would
    /// let checks pile up unbounded).
    pub async fn run(&self, check: impl FnOnce() -> bool + Send + 'static) -> Option<bool> {
        let admitted = Admitted::enter(self.admitted.clone(), self.limit)?;
        let (verdict, checked) = oneshot::channel();
        let job: Job = Box::new(move || {
            // A check that panics must not take its thread with it (the pool would shrink
            // until every login is turned away); it sends no verdict. The place is given back
            // before the verdict goes, so whoever learns it can be admitted at once.
            let checked = std::panic::catch_unwind(AssertUnwindSafe(check));
            drop(admitted);
            match checked {
                Ok(checked) => {
                    let _ = verdict.send(checked);
                }
                Err(_) => tracing::error!("a password check panicked"),
            }
        });
        self.jobs.send(job).ok()?;
        // A check that panicked sent nothing: no verdict, not a wrong password.
        checked.await.ok()
    }
}

/// A checking thread: lowers its own priority, then runs checks until the server is gone.
fn check_in_turn(queue: &Mutex<Receiver<Job>>) {
    // On Linux, PRIO_PROCESS with 0 names the calling thread alone.
    // SAFETY: setpriority only changes this thread's scheduling priority.
    if unsafe { nix::libc::setpriority(nix::libc::PRIO_PROCESS, 0, CHECK_NICENESS) } != 0 {
        tracing::debug!("cannot lower the priority of a password-checking thread");
    }
    loop {
        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// A login counted as being checked or waiting for a check, until dropped.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::LoginChecks;

    #[tokio::test]
    async fn a_check_that_panics_gives_no_verdict_and_keeps_its_thread() {
        let checks = PasswordChecks::new(LoginChecks {
            at_once: 1,
            waiting: 0,
        });
        assert_eq!(checks.run(|| panic!("a broken hash")).await, None);
        assert_eq!(
            checks.run(|| true).await,
            Some(true),
            "the thread checks on"
        );
    }

    #[tokio::test]
    async fn beyond_the_checks_and_the_queue_a_login_is_turned_away() {
        let checks = Arc::new(PasswordChecks::new(LoginChecks {
            at_once: 1,
            waiting: 1,
        }));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Mutex::new(released);
        let slow = {
            let checks = checks.clone();
            tokio::spawn(async move {
                checks
                    .run(move || released.lock().unwrap().recv().is_ok())
                    .await
            })
        };
        let queued = {
            let checks = checks.clone();
            tokio::spawn(async move { checks.run(|| true).await })
        };
        // Both admitted (one running, one waiting) before the third asks.
        while checks.admitted.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(checks.run(|| true).await, None);
        release.send(()).unwrap();
        assert_eq!(slow.await.unwrap(), Some(true));
        assert_eq!(queued.await.unwrap(), Some(true));
    }
}
