//! `session-lab grade`: one submission graded, its report written once whatever happens (the
//! watchdog writes it at the time limit, Ctrl-C writes what had ended).

use super::grading::GradingArgs;
use session_lab::grade::report::ReportFormat;
use session_lab::grade::watchdog::{Watchdog, kill_children};
use session_lab::grade::{Report, ReportSink};
use session_lab::sandbox::Sandbox;
use session_lab::submission::remove_stale_run_folders;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  session-lab grade --dir my-solution\n  \
session-lab grade --stage 3 --dir submission -- python3 server.py {port}\n  \
session-lab grade --stage 5 --client 'python3 client.py {url}' -- python3 server.py {port}\n  \
session-lab grade --only 5 --client 'python3 client.py {url}'\n\n\
Without a command, the submission's Procfile says how it starts (`web: CMD $PORT`, \
`client: CMD $URL`, `build: CMD`), else its files show it (server.py, package.json, go.mod, \
Server.java, server.rb, …); a Procfile comes before the command given. `{port}` in the server's \
command becomes a free port, also exported as PORT; `{url}` in the client's becomes the URL it \
must fetch, also exported as URL. Exit status: 0 every check passed, 1 a check failed, 2 the \
grader could not run.")]
pub struct GradeArgs {
    /// The report's format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    format: ReportFormat,
    /// Write the report here (progress still goes to the terminal); otherwise to stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    grading: GradingArgs,
}

/// Exit status when a check failed.
const EXIT_CHECK_FAILED: u8 = 1;

pub fn grade(args: GradeArgs) -> anyhow::Result<ExitCode> {
    let selection = args.grading.selection();
    let rubric = std::sync::Arc::new(args.grading.rubric()?);
    // Progress goes to the terminal unless the report itself (not human) takes stdout.
    let show_progress = args.format == ReportFormat::Human || args.output.is_some();
    let sandbox = match args.grading.sandbox() {
        Ok(sandbox) => sandbox,
        Err(error) => {
            // Still a report, so that none from an earlier run is taken for this one.
            let sink = ReportSink::new(
                args.output,
                args.format,
                show_progress,
                selection,
                Sandbox::none(),
                rubric.clone(),
            );
            sink.finish(
                &Report::grader_error(selection, format!("{error:#}"), Duration::ZERO)
                    .scored_by(&rubric),
            );
            return Ok(ExitCode::from(super::EXIT_CANNOT_START));
        }
    };
    remove_stale_run_folders();
    let timeout = args.grading.timeout;
    let options = args.grading.options(selection, &sandbox, rubric.clone());
    let sink = ReportSink::new(
        args.output,
        args.format,
        show_progress,
        selection,
        sandbox,
        rubric,
    );
    sink.placeholder()?;
    let begun = std::time::Instant::now();
    let _watchdog = Watchdog::start(timeout, {
        let sink = sink.clone();
        move || {
            kill_children();
            let reason = format!(
                "the grading did not finish within {} s (--timeout): the submission stalled the grader, and the checks that had not ended were not run",
                timeout.as_secs()
            );
            // Unless the grading wrote its own report a moment before: then it exits itself.
            if sink.finish(&sink.unfinished(reason, begun.elapsed())) {
                std::process::exit(EXIT_CHECK_FAILED.into());
            }
        }
    });
    let report = super::runtime()?.block_on(async {
        tokio::select! {
            report = session_lab::grade::grade(options, |check| sink.record(check)) => report,
            _ = tokio::signal::ctrl_c() => sink.unfinished(
                "interrupted (SIGINT) before the grading finished: grade again".into(),
                begun.elapsed(),
            ),
        }
    });
    if !sink.finish(&report) {
        // The watchdog is writing its report and ending the run.
        loop {
            std::thread::park();
        }
    }
    Ok(ExitCode::from(if report.error.is_some() {
        super::EXIT_CANNOT_START
    } else if report.all_passed() {
        0
    } else {
        EXIT_CHECK_FAILED
    }))
}
