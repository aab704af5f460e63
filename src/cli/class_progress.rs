//! How `grade-class` shows its progress: a bar on a terminal, else a line per student done
//! (what a CI log keeps), and how many passed every check.

use session_lab::class::Done;
use session_lab::class::outputs::Row;

pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    done: u64,
    passing: usize,
}

impl Progress {
    /// A bar where standard error is a terminal, else lines on standard output.
    pub fn new() -> Self {
        let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30.green/white} {pos}/{len} students, {msg}, {elapsed} (ETA {eta})",
                )
                .expect("a valid progress template"),
            );
            bar
        });
        Self {
            bar,
            done: 0,
            passing: 0,
        }
    }

    /// One more student done, of `total`.
    pub fn done(&mut self, done: &Done, total: usize) {
        self.done += 1;
        let (score, status) = match &done.row {
            Row::Graded(report) => {
                if report.score == report.max_score {
                    self.passing += 1;
                }
                (
                    format!("{}/{}", report.score, report.max_score),
                    done.row.standing().as_str(),
                )
            }
            Row::Skipped { why, .. } => (String::new(), why.as_str()),
        };
        match &self.bar {
            Some(bar) => {
                bar.set_length(total as u64);
                bar.set_position(self.done);
                bar.set_message(format!("{} passing every check", self.passing));
            }
            None => println!(
                "[{}/{total}] {}: {}{status}{} ({:.1} s)",
                self.done,
                session_lab::text::one_line(done.row.student()),
                if score.is_empty() {
                    String::new()
                } else {
                    format!("{score} ")
                },
                if done.kept {
                    ", report up to date, kept"
                } else {
                    ""
                },
                done.took.as_secs_f64()
            ),
        }
    }

    /// Clears the bar; says how many students passed every check.
    pub fn finish(self) -> usize {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.passing
    }
}
