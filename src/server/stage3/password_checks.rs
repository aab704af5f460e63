//! Stage 3, defended: password checks. argon2 takes 19 MiB and tens of milliseconds per check,
//! so a flood of logins must neither run them all at once nor take the CPU from the requests
//! of visitors who are logged in already.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// How much lower than the server's threads the checking threads run (a `nice` increment):
/// during a flood of logins, a logged-in `GET /` is answered before the next check goes on.
const CHECK_NICENESS: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// The password checks of the server: they run on threads of their own, one per core and at a
/// lower priority; a few more logins wait their turn, and a login beyond that is turned away at
/// once instead of piling up memory and latency.
#[derive(Debug)]
pub struct PasswordChecks {
    /// Closed when this is dropped, which ends the threads.
    jobs: Mutex<Sender<Job>>,
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
            jobs: Mutex::new(jobs),
            admitted: Arc::default(),
            limit: at_once + checks.waiting,
        }
    }

    /// Runs `check` on a checking thread when its turn comes; `None` when too many logins are
    /// ahead of it. The place goes with the check: a client that hangs up does not free it
    /// while its check is waiting or running (it would let checks pile up unbounded).
    pub async fn run(&self, check: impl FnOnce() -> bool + Send + 'static) -> Option<bool> {
        let admitted = Admitted::enter(self.admitted.clone(), self.limit)?;
        let (verdict, checked) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _held = admitted;
            let _ = verdict.send(check());
        });
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .send(job)
            .ok()?;
        Some(checked.await.unwrap_or(false))
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
