//! How long the grader waits for a submission, stretched by the machine's load. The contract's
//! limits (start within 10 s, exit within 5 s, answer within 5 s) are what a program needs on a
//! machine that runs it; a class graded 24 at a time on 2 cores gives each program a fraction
//! of a core, and a correct solution must not fail for that. So every wall-clock limit that
//! decides a verdict is multiplied by the load per core over the last minute (at least 1, at
//! most [`MOST_STRETCH`]), read when the wait begins.

use std::time::Duration;

/// The most a limit is stretched: a machine loaded more than this is not one to grade on.
pub const MOST_STRETCH: f64 = 10.0;

/// The machine's load: runnable tasks averaged over the last minute, per core.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load(f64);

impl Load {
    /// The load now, from `/proc/loadavg`; an idle machine where it cannot be read.
    pub fn now() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        let one_minute = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0);
        Self(one_minute / cores)
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
        assert_eq!(
            Load::per_core(3.0).stretched(five),
            Duration::from_secs(15)
        );
        assert_eq!(
            Load::per_core(39.0).stretched(five),
            Duration::from_secs(50)
        );
        assert_eq!(Load::per_core(f64::NAN).stretched(five), five);
    }

    #[test]
    fn the_load_is_read_from_the_machine() {
        let stretch = Load::now().stretch();
        assert!((1.0..=MOST_STRETCH).contains(&stretch), "{stretch}");
    }
}
