//! The grader's report formats: human (streamed as checks end), JSON, JUnit XML,
//! Gradescope's `results.json` and GitHub Classroom's autograding result.

use super::Report;
use super::rubric::Points;
use crate::checks::{CheckReport, Stages, Status};
use crate::submission::start::Start;
use anstyle::{AnsiColor, Style};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Human,
    Json,
    Junit,
    Gradescope,
    /// What GitHub Classroom's autograding reporter reads: base64 of its result JSON, one
    /// point per check (written to `$GITHUB_OUTPUT` as `result=…` when that is set).
    GithubClassroom,
}

/// `text` with its lines after the first indented by `width`, to stay under their label.
fn indented(text: &str, width: usize) -> String {
    text.replace('\n', &format!("\n{}", " ".repeat(width)))
}

/// Whose output a check's failure shows: the cookie client's in stage 5, else the server's.
fn program(check: &CheckReport) -> &'static str {
    if check.stage == crate::checks::CLIENT_STAGE {
        "client"
    } else {
        "server"
    }
}

/// `stages 1–4`, `stage 5 only`.
pub fn stages_label(stages: Stages) -> String {
    match stages {
        Stages::UpTo(1) => "stage 1".into(),
        Stages::UpTo(last) => format!("stages 1–{last}"),
        Stages::Only(only) => format!("stage {only} only"),
    }
}

const PASSED: Style = AnsiColor::Green.on_default();
const FAILED: Style = AnsiColor::Red.on_default().bold();
const SKIPPED: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();

/// One line per check, as it ends: mark, id, title, time, and its note on a line of its own.
/// ANSI styles are added here and stripped by the writer when it is not a terminal.
pub fn human_line(check: &CheckReport) -> String {
    let (mark, style) = match check.status {
        Status::Passed => ("✓", PASSED),
        Status::Failed => ("✗", FAILED),
        Status::Skipped => ("-", SKIPPED),
    };
    let time = if check.status == Status::Skipped {
        "skipped".to_owned()
    } else {
        format!("{} ms", check.duration.as_millis())
    };
    let mut line = format!(
        "{style}{mark}{style:#} {:<34} {} {DIM}({time}){DIM:#}",
        check.id, check.title
    );
    if let Some(note) = &check.note {
        let _ = write!(line, "\n  {SKIPPED}note:{SKIPPED:#} {note}");
    }
    line
}

/// What follows the per-check lines: each failure in full, then the score.
pub fn human_summary(report: &Report) -> String {
    let mut out = String::new();
    if report.sandbox == "none" {
        let why = match &report.sandbox_warning {
            Some(reason) => format!("--sandbox auto found no working sandbox: {reason}"),
            None => "--sandbox none".to_owned(),
        };
        let _ = writeln!(
            out,
            "\n{FAILED}warning:{FAILED:#} the submission ran WITHOUT a sandbox ({why}): it could read and change whatever this user can, and outlive the run"
        );
    }
    if let Some(bounds) = &report.bounds {
        let _ = writeln!(out, "\n{DIM}bounds: {bounds}{DIM:#}");
    }
    for (program, start) in [
        ("server", &report.commands.server),
        ("client", &report.commands.client),
    ] {
        if let Some(start) = start {
            let _ = writeln!(out, "{DIM}{program}: {}{DIM:#}", command_line(start));
        }
    }
    if let Some(error) = &report.error {
        let _ = writeln!(
            out,
            "\n{FAILED}error:{FAILED:#} the grader could not run: {error}"
        );
        let _ = writeln!(
            out,
            "\n{FAILED}Score: 0/{}{FAILED:#} ({}: no check ran)",
            report.max_score(),
            stages_label(report.selection.stages())
        );
        return out;
    }
    let failures: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Failed)
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nFailures:");
    }
    for check in failures {
        let failure = check.failure.clone().unwrap_or_default();
        let _ = writeln!(out, "\n{FAILED}✗ {}{FAILED:#}: {}", check.id, check.title);
        let _ = writeln!(out, "  {}", indented(&failure.message, 2));
        if let Some(expected) = &failure.expected {
            let _ = writeln!(out, "  expected: {}", indented(expected, 12));
        }
        if let Some(actual) = &failure.actual {
            let _ = writeln!(out, "  actual:   {}", indented(actual, 12));
        }
        let _ = writeln!(out, "  hint:     {}", check.hint);
        if let Some(tail) = &check.output_tail {
            let _ = writeln!(out, "  the {}'s last output:", program(check));
            for line in tail.lines() {
                let _ = writeln!(out, "  | {line}");
            }
        }
    }
    let skipped = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Skipped)
        .count();
    let failed = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Failed)
        .count();
    let style = if report.all_passed() { PASSED } else { FAILED };
    let _ = writeln!(
        out,
        "\n{style}Score: {}/{}{style:#} ({}: {} passed, {failed} failed, {skipped} skipped, in {:.2} s)",
        report.score(),
        report.max_score(),
        stages_label(report.selection.stages()),
        report.score(),
        report.duration.as_secs_f64()
    );
    out
}

/// The whole human report, for a file.
pub fn human(report: &Report) -> String {
    let mut out: String = report.checks.iter().map(|c| human_line(c) + "\n").collect();
    out.push_str(&human_summary(report));
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    stage: u8,
    score: Points,
    max_score: Points,
    sandbox: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sandbox_warning: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bounds: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    /// How the programs were started, where they were.
    #[serde(skip_serializing_if = "JsonCommands::is_empty")]
    commands: JsonCommands,
    checks: Vec<JsonCheck<'a>>,
}

#[derive(Serialize)]
struct JsonCommands {
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<JsonCommand>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<JsonCommand>,
}

impl JsonCommands {
    fn is_empty(&self) -> bool {
        self.server.is_none() && self.client.is_none()
    }
}

/// A command as the report shows it: the words as a shell would read them, where they came
/// from, and the build before it.
#[derive(Serialize)]
struct JsonCommand {
    command: String,
    /// `procfile`, `instructor` or `detect`, as `--command-from` names them.
    source: &'static str,
    from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    build: Option<String>,
}

impl JsonCommand {
    fn of(start: &Start) -> Self {
        Self {
            command: crate::text::cut(crate::text::shell_line(&start.command), MAX_COMMAND),
            source: start.origin.source().name(),
            from: start.origin.to_string(),
            build: start
                .build
                .as_ref()
                .map(|build| crate::text::shell_line(&build.command)),
        }
    }
}

/// The most of a command a report shows: a Procfile's line may be of any length.
const MAX_COMMAND: usize = 1024;

/// `python3 server.py {port} (found server.py)`: a command and where it came from, on one line.
pub fn command_line(start: &Start) -> String {
    crate::text::one_line(&format!(
        "{} ({})",
        crate::text::shell_line(&start.command),
        start.origin
    ))
    .into_owned()
}

#[derive(Serialize)]
struct JsonCheck<'a> {
    id: &'a str,
    stage: u8,
    /// What the check is worth (the score has it where the check passed).
    points: Points,
    title: &'a str,
    status: Status,
    message: Option<&'a str>,
    expected: Option<&'a str>,
    actual: Option<&'a str>,
    hint: &'a str,
    duration_ms: u128,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_tail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

pub fn json(report: &Report) -> String {
    let checks = report
        .checks
        .iter()
        .map(|check| {
            let failure = check.failure.as_ref();
            JsonCheck {
                id: check.id,
                stage: check.stage,
                points: report.points(check),
                title: check.title,
                status: check.status,
                message: failure.map(|f| f.message.as_str()),
                expected: failure.and_then(|f| f.expected.as_deref()),
                actual: failure.and_then(|f| f.actual.as_deref()),
                hint: &check.hint,
                duration_ms: check.duration.as_millis(),
                output_tail: check.output_tail.as_deref(),
                note: check.note.as_deref(),
            }
        })
        .collect();
    let json = JsonReport {
        stage: report.selection.stages().last(),
        score: report.score(),
        max_score: report.max_score(),
        sandbox: report.sandbox,
        sandbox_warning: report.sandbox_warning.as_deref(),
        bounds: report.bounds.as_deref(),
        error: report.error.as_deref(),
        commands: JsonCommands {
            server: report.commands.server.as_ref().map(JsonCommand::of),
            client: report.commands.client.as_ref().map(JsonCommand::of),
        },
        checks,
    };
    serde_json::to_string_pretty(&json).expect("the report serialises") + "\n"
}

/// What a check's entry says: its note, or its failure in full (message, expected, actual,
/// hint and the server's output).
fn entry_text(check: &CheckReport) -> String {
    let Some(failure) = &check.failure else {
        return check
            .note
            .as_ref()
            .map(|note| format!("note: {note}"))
            .unwrap_or_default();
    };
    let mut text = failure.message.clone();
    if let Some(expected) = &failure.expected {
        let _ = write!(text, "\nexpected: {expected}");
    }
    if let Some(actual) = &failure.actual {
        let _ = write!(text, "\nactual: {actual}");
    }
    let _ = write!(text, "\nhint: {}", check.hint);
    if let Some(tail) = &check.output_tail {
        let _ = write!(text, "\nthe {}'s last output:\n{tail}", program(check));
    }
    text
}

pub fn junit(report: &Report) -> String {
    use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};
    let mut junit = JunitReport::new("session-lab");
    junit.set_time(report.duration);
    let mut stages: Vec<u8> = report.checks.iter().map(|c| c.stage).collect();
    stages.dedup();
    for stage in stages {
        let suite_name = match stage {
            0 => "grader".to_owned(),
            stage => format!("stage{stage}"),
        };
        let mut suite = TestSuite::new(suite_name.clone());
        suite.add_property(("sandbox", report.sandbox));
        // The stage's points, earned and possible: JUnit has no score of its own.
        let of_stage = || report.checks.iter().filter(|c| c.stage == stage);
        let earned: Points = of_stage()
            .filter(|c| c.status == Status::Passed)
            .map(|c| report.points(c))
            .sum();
        let possible: Points = of_stage().map(|c| report.points(c)).sum();
        suite.add_property(("score", earned.to_string().as_str()));
        suite.add_property(("max_score", possible.to_string().as_str()));
        for check in report.checks.iter().filter(|c| c.stage == stage) {
            let mut status = match check.status {
                Status::Passed => TestCaseStatus::success(),
                Status::Failed => TestCaseStatus::non_success(NonSuccessKind::Failure),
                Status::Skipped => TestCaseStatus::skipped(),
            };
            if let Some(failure) = &check.failure {
                status.set_message(failure.message.clone());
                status.set_description(entry_text(check));
            }
            let mut case = TestCase::new(check.id, status);
            if let Some(note) = &check.note {
                case.set_system_out(format!("note: {note}"));
            }
            case.set_classname(format!("session-lab.{suite_name}"))
                .set_time(check.duration);
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().expect("the JUnit report serialises")
}

#[derive(Serialize)]
struct GradescopeResults {
    score: Points,
    execution_time: u64,
    output: String,
    tests: Vec<GradescopeTest>,
}

#[derive(Serialize)]
struct GradescopeTest {
    name: String,
    number: String,
    score: Points,
    max_score: Points,
    status: &'static str,
    output: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    visibility: Option<String>,
}

/// GitHub Classroom's autograding result: a test per check, worth its points.
#[derive(Serialize)]
struct ClassroomResult {
    version: u8,
    status: &'static str,
    max_score: Points,
    tests: Vec<ClassroomTest>,
}

#[derive(Serialize)]
struct ClassroomTest {
    name: String,
    status: &'static str,
    message: String,
    score: Points,
    execution_time: String,
}

/// The result GitHub Classroom's autograding reporter decodes (the shape its command and
/// I/O graders write): `{"version": 1, "status", "max_score", "tests": [...]}`, base64, one
/// line. A check is a test worth its points (one without a rubric), so partial credit
/// reaches the gradebook.
pub fn github_classroom(report: &Report) -> String {
    use base64::Engine;
    let tests = report
        .checks
        .iter()
        .map(|check| ClassroomTest {
            name: format!("{}: {}", check.id, check.title),
            status: match check.status {
                Status::Passed => "pass",
                _ if check.stage == 0 => "error",
                _ => "fail",
            },
            message: entry_text(check),
            score: if check.status == Status::Passed {
                report.points(check)
            } else {
                Points::default()
            },
            execution_time: format!("{:.3}s", check.duration.as_secs_f64()),
        })
        .collect();
    let result = ClassroomResult {
        version: 1,
        status: if report.error.is_some() {
            "error"
        } else if report.all_passed() {
            "pass"
        } else {
            "fail"
        },
        max_score: report.max_score(),
        tests,
    };
    let json = serde_json::to_string(&result).expect("the result serialises");
    base64::engine::general_purpose::STANDARD.encode(json) + "\n"
}

pub fn gradescope(report: &Report) -> String {
    let mut index_in_stage = 0;
    let mut last_stage = 0;
    let tests = report
        .checks
        .iter()
        .map(|check| {
            if check.stage != last_stage {
                last_stage = check.stage;
                index_in_stage = 0;
            }
            index_in_stage += 1;
            let passed = check.status == Status::Passed;
            let worth = report.points(check);
            GradescopeTest {
                name: format!("{}: {}", check.id, check.title),
                number: format!("{}.{index_in_stage}", check.stage),
                score: if passed { worth } else { Points::default() },
                max_score: worth,
                status: if passed { "passed" } else { "failed" },
                output: entry_text(check),
                visibility: report.rubric.visibility(check.id).map(str::to_owned),
            }
        })
        .collect();
    let results = GradescopeResults {
        score: report.score(),
        execution_time: report.duration.as_secs(),
        output: match &report.error {
            Some(error) => format!("The grader could not run: {error}"),
            None => format!(
                "{}/{} points ({}). Sandbox: {}.",
                report.score(),
                report.max_score(),
                stages_label(report.selection.stages()),
                report.sandbox
            ),
        },
        tests,
    };
    serde_json::to_string_pretty(&results).expect("the results serialise") + "\n"
}

/// The report in `format`, as text without terminal styles.
pub fn render(report: &Report, format: ReportFormat) -> String {
    match format {
        ReportFormat::Human => anstream::adapter::strip_str(&human(report)).to_string(),
        ReportFormat::Json => json(report),
        ReportFormat::Junit => junit(report),
        ReportFormat::Gradescope => gradescope(report),
        ReportFormat::GithubClassroom => github_classroom(report),
    }
}
