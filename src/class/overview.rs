//! `index.html`, the class at a glance: a title that says what was graded (stages, sandbox,
//! date), how many students were graded, never started, timed out or could not be graded, a
//! histogram of the scores, the share that passed each stage in turn, the failures most
//! students hit, identical submissions to look at, what the class passed check by check, and
//! the grid of students × checks (named, not numbered). One self-contained file: the charts
//! are inline SVG and every part is there without its script, which only sorts the grid.

use super::outputs::{Row, STYLE, SavedReport, Standing, WriteError, command_line, href, write};
use crate::checks::Check;
use crate::html::escape;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// What the page's title says of the grading.
pub struct Heading<'a> {
    /// `stages 1–4`.
    pub stages: String,
    /// `bwrap` or `none`.
    pub sandbox: &'a str,
    /// When the class was graded.
    pub date: String,
}

/// The most failures, and of a failure's message, a page shows: a class of thousands stays
/// quick.
const TOP_FAILURES: usize = 10;
const TOP_IDENTICAL: usize = 20;
const TIP: usize = 160;

/// Writes `index.html` for `rows`.
pub fn write_index(
    out: &Path,
    heading: &Heading<'_>,
    checks: &[&Check],
    rows: &[Row],
) -> Result<(), WriteError> {
    write(&out.join("index.html"), &render(heading, checks, rows))
}

/// The page for `rows`, as `index.html` holds it.
pub fn render(heading: &Heading<'_>, checks: &[&Check], rows: &[Row]) -> String {
    let graded = super::outputs::graded(rows);
    let count = |standing| rows.iter().filter(|row| row.standing() == standing).count();
    let title = format!(
        "session-lab: {}, sandbox {}, graded {}",
        heading.stages, heading.sandbox, heading.date
    );
    let mut html = String::with_capacity(1024 + rows.len() * (checks.len() * 48 + 256));
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title><style>{STYLE}{OVERVIEW_STYLE}</style></head><body>\n<h1>{title}</h1>\n",
        title = escape(&title)
    );
    let passing = graded
        .iter()
        .filter(|report| report.standing() == Standing::Graded && report.score >= report.max_score)
        .count();
    let _ = writeln!(
        html,
        "<p id=\"counts\">{} entries: <strong>{} graded</strong> ({passing} passing every check), <strong>{} never started</strong>, {} timed out, {} not graded.</p>",
        rows.len(),
        count(Standing::Graded),
        count(Standing::DidNotStart),
        count(Standing::TimedOut),
        count(Standing::Skipped),
    );
    histogram(&mut html, &graded);
    funnel(&mut html, checks, &graded);
    failures(&mut html, checks, &graded);
    identical(&mut html, &graded);
    shares(&mut html, checks, &graded);
    grid(&mut html, checks, rows);
    html.push_str("<script>\n");
    html.push_str(SORT_SCRIPT);
    html.push_str("</script>\n</body></html>\n");
    html
}

const OVERVIEW_STYLE: &str = "\
.scroll{overflow-x:auto;max-width:100%}\
#grid path.p{fill:#2e9d4a}#grid path.f{fill:#d23c3c}#grid path.s{fill:#bbb}td.marks,th.checks{padding:0 4px;vertical-align:bottom}\
svg text{font-size:11px;fill:#222}.hist rect{fill:#2e9d4a}.funnel rect{fill:#3b6fb6}\
td.n{text-align:right}";

/// Ten bins from 0 to the highest possible score, a bar each with its count.
fn histogram(html: &mut String, graded: &[&SavedReport]) {
    const BINS: usize = 10;
    let started: Vec<&&SavedReport> = graded
        .iter()
        .filter(|report| report.standing() == Standing::Graded)
        .collect();
    let max = graded
        .iter()
        .map(|report| report.max_score.value())
        .fold(0.0, f64::max);
    let mut bins = [0usize; BINS];
    for report in &started {
        let share = if max > 0.0 {
            report.score.value() / max
        } else {
            0.0
        };
        bins[((share * BINS as f64) as usize).min(BINS - 1)] += 1;
    }
    let tallest = bins.iter().copied().max().unwrap_or(0).max(1);
    html.push_str("<h2>Scores of the students who started</h2>\n<svg class=\"hist\" role=\"img\" width=\"520\" height=\"160\" viewBox=\"0 0 520 160\">");
    for (index, &students) in bins.iter().enumerate() {
        let height = 120.0 * students as f64 / tallest as f64;
        let x = 10 + index * 50;
        let low = max * index as f64 / BINS as f64;
        let high = max * (index + 1) as f64 / BINS as f64;
        let _ = write!(
            html,
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"44\" height=\"{height:.1}\"><title>{low:.0}–{high:.0}: {students} students</title></rect><text x=\"{}\" y=\"{:.1}\" text-anchor=\"middle\">{students}</text><text x=\"{}\" y=\"155\" text-anchor=\"middle\">{low:.0}–</text>",
            135.0 - height,
            x + 22,
            130.0 - height,
            x + 22,
        );
    }
    html.push_str("</svg>\n");
}

/// Per stage, how many of the students who started passed every check of it and of every
/// stage before: where the class falls away.
fn funnel(html: &mut String, checks: &[&Check], graded: &[&SavedReport]) {
    let started: Vec<&&SavedReport> = graded
        .iter()
        .filter(|report| report.standing() == Standing::Graded)
        .collect();
    let mut stages: Vec<u8> = checks.iter().map(|check| check.stage).collect();
    stages.dedup();
    let _ = write!(
        html,
        "<h2>Stage by stage</h2>\n<svg class=\"funnel\" role=\"img\" width=\"520\" height=\"{}\">",
        stages.len() * 24 + 8
    );
    for (index, &stage) in stages.iter().enumerate() {
        let through = started
            .iter()
            .filter(|report| {
                checks
                    .iter()
                    .filter(|check| check.stage <= stage)
                    .all(|check| {
                        report
                            .status_of(check.id)
                            .is_some_and(|saved| saved.status == "passed")
                    })
            })
            .count();
        let width = if started.is_empty() {
            0.0
        } else {
            360.0 * through as f64 / started.len() as f64
        };
        let y = 4 + index * 24;
        let _ = write!(
            html,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"90\" y=\"{y}\" width=\"{width:.1}\" height=\"18\"></rect><text x=\"{:.1}\" y=\"{}\">{through}/{}</text>",
            y + 13,
            if index == 0 {
                format!("stage {stage}")
            } else {
                format!("stages 1–{stage}")
            },
            width + 96.0,
            y + 13,
            started.len()
        );
    }
    html.push_str("</svg>\n");
}

/// The checks most students failed (a skipped check is not counted), with how many and what
/// the first of them was told.
fn failures(html: &mut String, checks: &[&Check], graded: &[&SavedReport]) {
    let mut hit: BTreeMap<&str, (usize, Option<&str>)> = BTreeMap::new();
    for report in graded {
        for saved in report
            .checks
            .iter()
            .filter(|saved| saved.status == "failed")
        {
            let entry = hit.entry(saved.id.as_str()).or_insert((0, None));
            entry.0 += 1;
            entry.1 = entry.1.or(saved.message.as_deref());
        }
    }
    let mut ranked: Vec<(&str, usize, Option<&str>)> = hit
        .into_iter()
        .map(|(id, (students, message))| (id, students, message))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    html.push_str("<h2>The failures most students hit</h2>\n");
    if ranked.is_empty() {
        html.push_str("<p>None.</p>\n");
        return;
    }
    html.push_str("<table id=\"failures\"><tr><th>check</th><th>students</th><th>what the first was told</th></tr>\n");
    for (id, students, message) in ranked.into_iter().take(TOP_FAILURES) {
        let title = checks
            .iter()
            .find(|check| check.id == id)
            .map_or("", |check| check.title);
        let message = crate::text::cut(message.unwrap_or_default().to_owned(), TIP);
        let _ = writeln!(
            html,
            "<tr><td title=\"{}\">{}</td><td class=\"n\">{students}</td><td>{}</td></tr>",
            escape(title),
            escape(id),
            escape(&message)
        );
    }
    html.push_str("</table>\n");
}

/// Students whose submissions are the same, byte for byte: worth a look.
fn identical(html: &mut String, graded: &[&SavedReport]) {
    let mut by_hash: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for report in graded {
        if !report.submission_sha256.is_empty() {
            by_hash
                .entry(report.submission_sha256.as_str())
                .or_default()
                .push(report.student.as_str());
        }
    }
    let groups: Vec<&Vec<&str>> = by_hash
        .values()
        .filter(|students| students.len() > 1)
        .collect();
    html.push_str("<h2>Identical submissions</h2>\n");
    if groups.is_empty() {
        html.push_str("<p>None.</p>\n");
        return;
    }
    let _ = writeln!(
        html,
        "<p>{} groups of students handed in the same files:</p>\n<ul id=\"identical\">",
        groups.len()
    );
    for students in groups.iter().take(TOP_IDENTICAL) {
        let names: Vec<String> = students.iter().map(|student| escape(student)).collect();
        let _ = writeln!(html, "<li>{}</li>", names.join(", "));
    }
    if groups.len() > TOP_IDENTICAL {
        let _ = writeln!(
            html,
            "<li>and {} more groups</li>",
            groups.len() - TOP_IDENTICAL
        );
    }
    html.push_str("</ul>\n");
}

/// Per check, the share of the students it ran for that passed it; how many it never ran for
/// (a check skipped after an earlier failure) is said apart.
fn shares(html: &mut String, checks: &[&Check], graded: &[&SavedReport]) {
    html.push_str("<h2>What the class passed</h2>\n<table id=\"shares\"><tr><th>check</th><th>passed</th><th></th><th>never ran</th></tr>\n");
    for check in checks {
        let statuses: Vec<&str> = graded
            .iter()
            .map(|report| {
                report
                    .status_of(check.id)
                    .map_or("absent", |saved| saved.status.as_str())
            })
            .collect();
        let ran = statuses
            .iter()
            .filter(|status| matches!(**status, "passed" | "failed"))
            .count();
        let passed = statuses
            .iter()
            .filter(|status| **status == "passed")
            .count();
        let share = if ran == 0 {
            0.0
        } else {
            passed as f64 * 100.0 / ran as f64
        };
        let _ = writeln!(
            html,
            "<tr><td title=\"{}\">{}</td><td>{passed}/{ran} ({share:.0} %)</td><td><div class=\"barbox\"><div class=\"bar\" style=\"width:{share:.1}%\"></div></div></td><td class=\"n\">{}</td></tr>",
            escape(check.title),
            escape(check.id),
            graded.len() - ran
        );
    }
    html.push_str("</table>\n");
}

/// The width of a check's mark in the grid.
const MARK: usize = 16;

/// A student's checks as one row of marks: green passed, red failed (its message the mark's
/// tooltip), grey skipped or not run.
fn marks(html: &mut String, checks: &[&Check], report: &SavedReport) {
    let mut passed = String::new();
    let mut other = String::new();
    let mut failed = Vec::new();
    for (index, check) in checks.iter().enumerate() {
        let square = format!("M{} 1h14v14h-14z", index * MARK);
        match report
            .status_of(check.id)
            .map(|saved| saved.status.as_str())
        {
            Some("passed") => passed.push_str(&square),
            Some("failed") => failed.push((square, check.id, report.status_of(check.id))),
            _ => other.push_str(&square),
        }
    }
    let _ = write!(
        html,
        "<td class=\"marks\"><svg width=\"{}\" height=\"16\"><path class=\"p\" d=\"{passed}\"/><path class=\"s\" d=\"{other}\"/>",
        checks.len() * MARK
    );
    for (square, id, saved) in failed {
        let message = saved
            .and_then(|saved| saved.message.as_deref())
            .unwrap_or("failed");
        let _ = write!(
            html,
            "<path class=\"f\" d=\"{square}\"><title>{}: {}</title></path>",
            escape(id),
            escape(&crate::text::cut(message.to_owned(), TIP))
        );
    }
    html.push_str("</svg></td>");
}

/// Students × checks, each column named by its check.
fn grid(html: &mut String, checks: &[&Check], rows: &[Row]) {
    // A row's checks are one picture (a mark a check, named in the header above it), not a
    // cell each: a class of thousands stays a page a browser lays out in moments.
    html.push_str("<h2>Students</h2>\n<div class=\"scroll\"><table id=\"grid\"><thead><tr><th class=\"sortable\" data-sort=\"student\">student</th><th class=\"sortable\" data-sort=\"score\">score</th><th>status</th><th>command</th><th class=\"checks\">");
    let _ = write!(
        html,
        "<svg width=\"{}\" height=\"190\" role=\"img\"><title>the checks, in order</title>",
        checks.len() * MARK
    );
    for (index, check) in checks.iter().enumerate() {
        let _ = write!(
            html,
            "<text transform=\"translate({} 186) rotate(-90)\">{}<title>{}</title></text>",
            index * MARK + 11,
            escape(check.id),
            escape(check.title)
        );
    }
    html.push_str("</svg></th>");
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        let student = escape(row.student());
        match row {
            Row::Graded(report) => {
                let _ = write!(
                    html,
                    "<tr data-student=\"{student}\" data-score=\"{}\"><td><a href=\"{}\">{student}</a>{}</td><td>{}/{}</td><td>{}{}</td>",
                    report.score,
                    escape(&href(row.student())),
                    report
                        .name
                        .as_deref()
                        .filter(|name| *name != row.student())
                        .map(|name| format!(" ({})", escape(name)))
                        .unwrap_or_default(),
                    report.score,
                    report.max_score,
                    row.standing().as_str(),
                    if report.late { ", late" } else { "" }
                );
                let _ = write!(
                    html,
                    "<td title=\"{}\"><code>{}</code></td>",
                    escape(&command_line(&report.commands.client)),
                    escape(&command_line(&report.commands.server))
                );
                marks(html, checks, report);
            }
            Row::Skipped { why, .. } => {
                let _ = write!(
                    html,
                    "<tr data-student=\"{student}\" data-score=\"-1\"><td>{student}</td><td></td><td>not graded</td><td>{}</td>",
                    escape(why)
                );
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table></div>\n");
}

const SORT_SCRIPT: &str = r#"(function () {
  var body = document.querySelector('#grid tbody');
  var direction = {};
  function compare(x, y) { return x < y ? -1 : x > y ? 1 : 0; }
  function sortBy(key) {
    // First click: the highest score first, or the ids from A; each click after turns it.
    direction[key] = key in direction ? -direction[key] : (key === 'score' ? -1 : 1);
    var sign = direction[key];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var result = key === 'score'
        ? Number(a.dataset.score) - Number(b.dataset.score)
        : compare(a.dataset.student, b.dataset.student);
      return sign * result || compare(a.dataset.student, b.dataset.student);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll('th.sortable').forEach(function (th) {
    th.addEventListener('click', function () { sortBy(th.dataset.sort); });
  });
  var asked = /^#sort=(score|student)$/.exec(location.hash);
  if (asked) { sortBy(asked[1]); }
})();
"#;
