//! `session-lab grade-class`: a class folder graded, as many at once as the cores and the
//! memory allow, with its progress shown and a summary at the end.

use super::class_progress::Progress;
use super::grading::GradingArgs;
use session_lab::class::layout::Layout;
use session_lab::sandbox::network;
use session_lab::submission::remove_stale_run_folders;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  session-lab grade-class submissions/ --out results/ --stage 4\n  \
session-lab grade-class submissions/ --out results/ --stage 4 -- python3 server.py {port}\n\n\
Each submission starts as its Procfile says, else as the command given, else as its files show \
(--command-from). Each folder or .zip in SUBMISSIONS is one student, named by it; --dir and --client-dir are \
taken inside each submission. RESULTS gets STUDENT.json, STUDENT.txt, pages/STUDENT.html, \
grades.csv and index.html. A student whose report is up to date is not graded again. Exit \
status: 0 every entry has a report (whatever its score), 2 the grader could not run, 3 an \
entry could not be graded (each is named), 130 interrupted."
)]
pub struct GradeClassArgs {
    /// The class: a folder (or a platform's .zip of one) of one folder or .zip per student, or
    /// as Moodle, Canvas, Gradescope or GitHub Classroom lay out their downloads.
    #[arg(value_name = "SUBMISSIONS")]
    submissions: PathBuf,
    /// How the class is laid out [default: told from its names].
    #[arg(long, value_enum, value_name = "LAYOUT")]
    layout: Option<Layout>,
    /// The assignment's column in Canvas's gradebook, as its export names it (`HW3 (4567)`),
    /// for the gradebook import file of a Canvas class.
    #[arg(long, value_name = "COLUMN", default_value = "session-lab")]
    canvas_assignment: String,
    /// Where the reports and the class overview go.
    #[arg(long, value_name = "RESULTS")]
    out: PathBuf,
    /// Gradings at once [default: 12 per core: a grading mostly waits for its programs].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Grade every student again, even those whose report is up to date.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    grading: GradingArgs,
}

/// Default gradings at once per core: a grading mostly waits (on starts, restarts and the 5 s
/// stop deadline of a server that ignores its signal), so it takes many to keep a core busy.
/// Measured with benches/class.py (README, "Speed"): 200 students on 2 cores took 65.8 s with
/// 8 jobs, 37.9 s with 16, 37.1 s with 24 and 39.5 s with 32.
const JOBS_PER_CORE: usize = 12;

/// Exit status of a class grading in which an entry could not be graded (each is named).
const EXIT_ENTRY_NOT_GRADED: u8 = 3;

/// Exit status of a class grading that Ctrl-C ended (128 + SIGINT, as a shell reports it).
const EXIT_INTERRUPTED: u8 = 130;

pub fn grade_class(args: GradeClassArgs) -> anyhow::Result<ExitCode> {
    use session_lab::class::{self, ClassOptions};
    use std::sync::atomic::{AtomicBool, Ordering};
    let selection = args.grading.selection();
    let rubric = Arc::new(args.grading.rubric()?);
    let sandbox = args.grading.sandbox()?;
    if let Some(reason) = sandbox.fallback_reason() {
        eprintln!("warning: the submissions run WITHOUT a sandbox: {reason}");
    }
    // A loopback per worker, sandbox or not, so that no student's program reaches another's
    // server: the process needs a network namespace of its own first (the sandbox made one).
    let isolate_workers = sandbox.is_bwrap() || network::enter_private_network().is_ok();
    if !isolate_workers {
        eprintln!(
            "warning: the gradings share this machine's loopback (no network namespace could be made): a student's program could reach another's server"
        );
    }
    remove_stale_run_folders();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let timeout = args.grading.timeout;
    let asked = args.jobs.map_or(JOBS_PER_CORE * cores, usize::from);
    let jobs = match sandbox.gradings_that_fit() {
        Some(fit) if fit < asked => {
            eprintln!(
                "note: {asked} gradings at once could take more memory than this machine has ({} MiB each, --grading-memory): grading {} at once",
                args.grading.grading_memory,
                fit.max(1)
            );
            fit.max(1)
        }
        _ => asked,
    };
    let options = ClassOptions {
        submissions: args.submissions,
        out: args.out,
        jobs,
        force: args.force,
        grading: args.grading.options(selection, &sandbox, rubric),
        timeout,
        isolate_workers,
        layout: args.layout,
        canvas_assignment: args.canvas_assignment,
        clock: Arc::new(session_lab::clock::SystemClock),
    };
    let stop = Arc::new(AtomicBool::new(false));
    std::thread::spawn({
        let stop = stop.clone();
        move || {
            let waiter = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(waiter) = waiter {
                // SIGINT (Ctrl-C) or SIGTERM (a CI job cancelled): stop the same way.
                if let Ok(signal) = waiter.block_on(async { super::stop_signal() }) {
                    waiter.block_on(signal);
                    stop.store(true, Ordering::SeqCst);
                }
            }
        }
    });
    let mut progress = Progress::new();
    let summary = class::grade_class(&options, &stop, |done, total| progress.done(done, total))?;
    let passing = progress.finish();
    let count = |standing| {
        summary
            .rows
            .iter()
            .filter(|row| row.standing() == standing)
            .count()
    };
    use session_lab::class::outputs::{Row, Standing};
    eprintln!("note: the class is laid out as {}", summary.layout.name());
    for ignored in &summary.ignored {
        eprintln!(
            "note: left out {}: {}",
            session_lab::text::one_line(&ignored.name),
            ignored.what
        );
    }
    let skipped: Vec<(&str, &str)> = summary
        .rows
        .iter()
        .filter_map(|row| match row {
            Row::Skipped { student, why } => Some((student.as_str(), why.as_str())),
            Row::Graded(_) => None,
        })
        .collect();
    for (student, why) in &skipped {
        eprintln!(
            "warning: {} was not graded: {why}",
            session_lab::text::one_line(student)
        );
    }
    println!(
        "{} of {} entries done: {passing} passing every check, {} graded, {} did not start, {} timed out, {} skipped. Reports in {} (grades.csv, index.html).",
        summary.rows.len(),
        summary.entries,
        count(Standing::Graded),
        count(Standing::DidNotStart),
        count(Standing::TimedOut),
        count(Standing::Skipped),
        options.out.display()
    );
    if let Some(import) = &summary.import_file {
        println!(
            "Grades for the platform's import in {}.",
            session_lab::text::one_line(&import.display().to_string())
        );
    }
    for unwritten in &summary.unwritten {
        eprintln!(
            "error: the report of {}",
            session_lab::text::one_line(unwritten)
        );
    }
    if summary.interrupted {
        eprintln!(
            "interrupted: the reports of the students done are kept; run the same command again to grade the rest"
        );
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    Ok(if !summary.unwritten.is_empty() {
        ExitCode::from(super::EXIT_CANNOT_START)
    } else if !skipped.is_empty() {
        ExitCode::from(EXIT_ENTRY_NOT_GRADED)
    } else {
        ExitCode::SUCCESS
    })
}
