//! How long the grader waits for a submission, stretched by the machine's load. The contract's
//! limits (start within 10 s, exit within 5 s, answer within 5 s) are what a program needs on a
//! machine that runs it; a class graded 24 at a time on 2 cores gives each program a fraction
//! of a core, and a correct solution must not fail for that. The waits for a server to listen
//! and to exit are extended by exactly the time its threads waited for a core
//! (`under_test::process::QueueWatch`), so that a server that never listens or never exits costs
//! no more on a busy machine; the other limits that decide a verdict (a request, a client's
//! run, a check, a class's per-student timeout), which the grader cannot follow thread by
//! thread, are multiplied by the load per core over the last minute (at least 1, at most
//! [`MOST_STRETCH`]), read when the wait begins.

use std::time::Duration;

/// The most a limit is stretched: a machine loaded more than this is not one to grade on.
pub const MOST_STRETCH: f64 = 10.0;

/// The machine's load: runnable tasks averaged over the last minute, per core.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load(f64);

impl Load {
    /// The load now, from `/proc/loadavg`: the average over the last minute, or the tasks
    /// runnable at this moment (but the one reading) where there are more, since the average
    /// takes a minute to catch up with a machine that has just become busy. An idle machine
    /// where it cannot be read.
    pub fn now() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        Self(Self::from_loadavg(&text) / cores)
    }

    /// The runnable tasks `/proc/loadavg` tells of (`0.52 0.58 0.59 3/467 12345`).
    fn from_loadavg(text: &str) -> f64 {
        let mut fields = text.split_whitespace();
        let one_minute = fields
            .next()
            .and_then(|field| field.parse::<f64>().ok())
            .unwrap_or(0.0);
        let runnable_now = fields
            .nth(2)
            .and_then(|field| field.split_once('/')?.0.parse::<f64>().ok())
            .map_or(0.0, |runnable| runnable - 1.0);
        one_minute.max(runnable_now)
    }

    /// A load of `per_core` runnable tasks per core, for tests.
    pub fn per_core(per_core: f64) -> Self {
        Self(per_core)
    }

    /// How much longer than on an idle machine a wait is allowed to take.
    pub fn stretch(self) -> f64 {
        if self.0.is_finite() {
            self.0.clamp(1.0, MOST_STRETCH)
        } else {
            1.0
        }
    }

    /// `limit`, stretched.
    pub fn stretched(self, limit: Duration) -> Duration {
        limit.mul_f64(self.stretch())
    }
}

/// `limit` stretched by the load now.
pub fn stretched(limit: Duration) -> Duration {
    Load::now().stretched(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_grows_with_the_load_within_bounds() {
        let five = Duration::from_secs(5);
        assert_eq!(Load::per_core(0.3).stretched(five), five);
        assert_eq!(Load::per_core(1.0).stretched(five), five);
        assert_eq!(Load::per_core(3.0).stretched(five), Duration::from_secs(15));
        assert_eq!(
            Load::per_core(39.0).stretched(five),
            Duration::from_secs(50)
        );
        assert_eq!(Load::per_core(f64::NAN).stretched(five), five);
    }

    #[test]
    fn a_machine_that_has_just_become_busy_counts_as_busy() {
        assert_eq!(Load::from_loadavg("0.52 0.58 0.59 3/467 12345"), 2.0);
        assert_eq!(Load::from_loadavg("7.50 3.00 1.00 1/467 12345"), 7.5);
        assert_eq!(Load::from_loadavg(""), 0.0);
    }

    #[test]
    fn the_load_is_read_from_the_machine() {
        let stretch = Load::now().stretch();
        assert!((1.0..=MOST_STRETCH).contains(&stretch), "{stretch}");
    }
}
