//! The grading's time limit, kept by a thread of its own outside the async runtime: whatever
//! a submission does to the runtime's threads, the run ends at the limit with an honest report.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// Runs `on_expiry` after `limit`, unless dropped first.
pub struct Watchdog {
    _cancel: mpsc::Sender<()>,
}

impl Watchdog {
    pub fn start(limit: Duration, on_expiry: impl FnOnce() + Send + 'static) -> Self {
        let (cancel, cancelled) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("grading-watchdog".into())
            .spawn(move || {
                // Dropping the sender disconnects the channel: the grading ended in time.
                if cancelled.recv_timeout(limit) == Err(RecvTimeoutError::Timeout) {
                    on_expiry();
                }
            })
            .expect("a thread can be started at the beginning of a grading");
        Self { _cancel: cancel }
    }
}

/// SIGKILLs the process group of every child of this process: each submission runs as the
/// leader of its own group (or in a sandbox that dies with its leader), so this ends every
/// process a grading started, without the grader keeping a list that a stalled runtime could
/// not update.
pub fn kill_children() {
    use crate::procfs::{StatField, processes, stat};
    let me = std::process::id() as i32;
    for pid in processes() {
        if stat(pid, StatField::Parent) == Some(me) {
            let group = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn fires_after_the_limit() {
        let (fired, expired) = mpsc::channel();
        let _watchdog = Watchdog::start(Duration::from_millis(20), move || fired.send(()).unwrap());
        assert_eq!(expired.recv_timeout(Duration::from_secs(30)), Ok(()));
    }

    #[test]
    fn never_fires_once_dropped() {
        let fired = Arc::new(AtomicBool::new(false));
        let flag = fired.clone();
        drop(Watchdog::start(Duration::from_millis(50), move || {
            flag.store(true, Ordering::SeqCst)
        }));
        std::thread::sleep(Duration::from_millis(300));
        assert!(!fired.load(Ordering::SeqCst));
    }
}
