//! The clock a submission runs with (its time zone; for a server, its date too), chosen so that the classic date mistakes show on
//! whatever day and on whatever machine the grading runs:
//!
//! - a time zone far from UTC ([`submission_time_zone`], as for clients), so that local time
//!   labelled `GMT` is hours off the response's `Date`;
//! - where Debian's libfaketime can shift a program's clock (one linked to the C library, which
//!   is every runtime but Go's), a date some days ahead of today, on which the cookie that
//!   expires in 30 days falls on a one-digit day of a month, so that a formatter writing
//!   `Sun, 3 Jan 2027` instead of `Sun, 03 Jan 2027` fails today too, not only on nine days a
//!   month. Where the shift cannot be made, the check says so in its note.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The time zone a submission runs in: not UTC (so that a local time printed as if it were
/// UTC shows), half an hour off the hour (so that no whole-hour mistake lands on it by chance).
/// By name where the time-zone database has it (Node reads only names); otherwise written
/// the POSIX way, which C libraries read without the database.
pub fn submission_time_zone() -> &'static str {
    if Path::new("/usr/share/zoneinfo/Asia/Kolkata").exists() {
        "Asia/Kolkata"
    } else {
        "<+0530>-5:30"
    }
}

/// How far east of UTC [`submission_time_zone`] is.
pub const TIME_ZONE_OFFSET: Duration = Duration::from_secs(5 * 3600 + 30 * 60);

/// Where Debian's libfaketime is (package `libfaketime`), for the programs that use threads.
const FAKETIME_LIBRARIES: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
];

const DAY: Duration = Duration::from_secs(86_400);

/// How a server's clock is set for one grading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerClock {
    /// How far ahead of the grader's clock the server's runs, where it can be shifted.
    shift: Option<(Duration, PathBuf)>,
}

impl ServerClock {
    /// The clock for a grading that starts at `now`: shifted by whole days, so that `now` plus
    /// the shift plus 30 days is on day 2 to 8 of its month (a day of margin on either side
    /// for the grading's length and the server's time of day); unshifted where libfaketime is
    /// not installed.
    pub fn for_grading_at(now: SystemTime) -> Self {
        let library = FAKETIME_LIBRARIES
            .iter()
            .map(PathBuf::from)
            .find(|path| path.is_file());
        Self {
            shift: library.map(|library| (days_to_one_digit_expiry(now), library)),
        }
    }

    /// A clock left as it is.
    pub fn unshifted() -> Self {
        Self { shift: None }
    }

    /// How far ahead of the grader's clock the server's clock is meant to run (zero when it is
    /// not shifted). A program whose clock libfaketime cannot reach (Go's) runs on time all
    /// the same: judge by the response's `Date` where there is one.
    pub fn shift(&self) -> Duration {
        self.shift
            .as_ref()
            .map_or(Duration::ZERO, |(shift, _)| *shift)
    }

    /// The environment that sets it, for the server's processes.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![("TZ", submission_time_zone().to_owned())];
        if let Some((shift, library)) = &self.shift {
            vars.extend([
                ("LD_PRELOAD", library.to_string_lossy().into_owned()),
                // The monotonic clock moves by as much: left alone (FAKETIME_DONT_FAKE_MONOTONIC),
                // libfaketime 0.9.10 makes Python's time.sleep fail with EINVAL.
                ("FAKETIME", format!("+{}d", shift.as_secs() / DAY.as_secs())),
            ]);
        }
        vars
    }

    /// For the reports: how the server's clock is set (the same line on every day, since what
    /// it judges does not change with the day).
    pub fn describe(&self) -> String {
        let date = if self.shift.is_some() {
            "their date moved ahead so that 30 days on is a one-digit day of a month (libfaketime)"
        } else {
            "their date today's (libfaketime is not installed)"
        };
        format!("servers run with TZ={}, {date}", submission_time_zone())
    }
}

/// Whole days from `now` until a moment whose 30-day expiry falls on day 2 to 8 of a month.
fn days_to_one_digit_expiry(now: SystemTime) -> Duration {
    (0..40)
        .map(|days| DAY * days)
        .find(|shift| (2..=8).contains(&day_of_month(now + *shift + DAY * 30)))
        .unwrap_or_default()
}

/// The day of the month of `moment`, in UTC.
pub fn day_of_month(moment: SystemTime) -> u32 {
    // `Sun, 06 Nov 1994 08:49:37 GMT`: the day is always two digits at the same place.
    let date = httpdate::fmt_http_date(moment);
    date[5..7].parse().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn the_shift_puts_the_expiry_on_a_one_digit_day_whatever_day_it_is() {
        // Every day of four years, leap day included.
        let start = UNIX_EPOCH + DAY * 20_000;
        for day in 0..(4 * 366) {
            let now = start + DAY * day + Duration::from_secs(u64::from(day) * 3_607 % 86_400);
            let shift = days_to_one_digit_expiry(now);
            assert!(shift < DAY * 40, "{shift:?}");
            let expiry_day = day_of_month(now + shift + DAY * 30);
            assert!((2..=8).contains(&expiry_day), "{expiry_day} for day {day}");
        }
    }

    #[test]
    fn the_environment_names_the_zone_and_the_shift() {
        let clock = ServerClock {
            shift: Some((DAY * 12, PathBuf::from("/lib/faketime.so"))),
        };
        let vars = clock.vars();
        assert!(vars.contains(&("FAKETIME", "+12d".to_owned())), "{vars:?}");
        assert!(vars.contains(&("LD_PRELOAD", "/lib/faketime.so".to_owned())));
        assert_eq!(clock.shift(), DAY * 12);
        let vars = ServerClock::unshifted().vars();
        assert_eq!(vars, [("TZ", submission_time_zone().to_owned())]);
    }
}
