//! How long `index.html` takes to build for a class of 5,000 students, each with a report of
//! every check (a third passing all, a third failing a stage-3 check, a third never started),
//! and the page itself, written to `target/overview-5000.html` for a browser to be timed on:
//!
//! ```sh
//! cargo bench --bench overview
//! time chromium --headless --disable-gpu --dump-dom file://$PWD/target/overview-5000.html > /dev/null
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use session_lab::checks::{self, Check};
use session_lab::class::outputs::{Row, SavedReport};
use session_lab::class::overview::{Heading, render};

const STUDENTS: usize = 5_000;

fn class(checks: &[&'static Check]) -> Vec<Row> {
    (0..STUDENTS)
        .map(|index| {
            let kind = index % 3;
            let entries: Vec<serde_json::Value> = checks
                .iter()
                .enumerate()
                .map(|(position, check)| {
                    let status = match kind {
                        0 => "passed",
                        1 if check.id == "stage3.logout-ends-session" => "failed",
                        1 => "passed",
                        _ if position == 0 => "failed",
                        _ => "skipped",
                    };
                    serde_json::json!({
                        "id": check.id, "title": check.title, "status": status,
                        "message": (status != "passed").then(|| format!("{} went wrong for student {index}", check.id)),
                        "hint": check.hint,
                    })
                })
                .collect();
            let passed = entries.iter().filter(|entry| entry["status"] == "passed").count();
            let report = serde_json::json!({
                "student": format!("s{index:05}"), "name": format!("Student Number {index}"),
                "submission_sha256": format!("{:064x}", index % 4_000),
                "graded_with": "bench", "score": passed, "max_score": checks.len(),
                "checks": entries,
            });
            let saved: SavedReport = serde_json::from_value(report).expect("a saved report");
            Row::Graded(Box::new(saved))
        })
        .collect()
}

fn overview(c: &mut Criterion) {
    let checks: Vec<&'static Check> = checks::all()
        .into_iter()
        .filter(|check| check.stage <= 4)
        .collect();
    let rows = class(&checks);
    let heading = Heading {
        stages: "stages 1–4".into(),
        sandbox: "bwrap",
        date: "Fri, 04 Dec 2026 20:00:00 GMT".into(),
    };
    let page = render(&heading, &checks, &rows);
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/overview-5000.html");
    std::fs::write(&target, &page).expect("the page is written");
    println!("{} ({} KiB)", target.display(), page.len() >> 10);
    c.bench_function("index.html of 5,000 students", |b| {
        b.iter(|| render(&heading, &checks, &rows).len())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = overview
}
criterion_main!(benches);
