//! `session-lab grade-class`: a whole class graded at once. Each entry of the class folder (a
//! folder, a `.zip`, or loose files, as the course platform laid them out: [`layout`]) is one
//! student, graded like `grade` grades one submission: its own
//! scratch copy, its own sandbox, and, when sandboxed, a loopback of its own, so no grading
//! can reach another's server. Gradings run on worker threads, `jobs` at a time; a student
//! whose saved report matches their submission and the grading's options is not graded
//! again. The results folder gets per-student reports and the class outputs ([`outputs`]).

pub mod entry;
pub mod exports;
pub mod layout;
pub mod outputs;
pub mod overview;

use crate::checks::CheckReport;
use crate::grade::{self, GradeOptions, Report};
use crate::sandbox::network;
use entry::{Entry, LooseFile, Material};
use outputs::{Row, SavedReport};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// What to grade and how.
#[derive(Debug, Clone)]
pub struct ClassOptions {
    /// The class folder: one entry per student.
    pub submissions: PathBuf,
    /// Where the reports and the class outputs go.
    pub out: PathBuf,
    /// Gradings at once.
    pub jobs: usize,
    /// Grade every student again, even those whose report is up to date.
    pub force: bool,
    /// How each student is graded; its folders are taken inside each submission.
    pub grading: GradeOptions,
    /// How long one student's grading may take.
    pub timeout: Duration,
    /// Whether each worker gets a loopback of its own, so that no student's program can reach
    /// another's server (the process must be in a network namespace of its own already).
    pub isolate_workers: bool,
    /// How the class folder is laid out; `None` tells it from its names.
    pub layout: Option<layout::Layout>,
    /// Canvas's column for the assignment in its gradebook import, `HW3 (4567)`.
    pub canvas_assignment: String,
    /// When the grades are made, as the platforms' imports are told.
    pub clock: Arc<dyn crate::clock::Clock>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClassError {
    #[error("cannot read the class folder {}: {source}; give the folder that holds one folder or .zip per student", .path.display())]
    Submissions {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot unpack the class's zip {}: {source}", .path.display())]
    ClassZip {
        path: PathBuf,
        source: crate::submission::UnzipError,
    },
    #[error("cannot create the results folder {}: {source}", .path.display())]
    Out {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] outputs::WriteError),
}

/// One entry done.
#[derive(Debug, Clone)]
pub struct Done {
    pub row: Row,
    /// Whether its report was up to date and kept, rather than graded now.
    pub kept: bool,
    pub took: Duration,
    /// Why its report could not be written, when it could not (its row says so too).
    pub unwritten: Option<String>,
}

/// How a class grading ended.
#[derive(Debug, Clone)]
pub struct ClassSummary {
    /// Every entry that has a row, sorted by student id.
    pub rows: Vec<Row>,
    pub entries: usize,
    /// Whether `stop` ended it before every entry was done.
    pub interrupted: bool,
    /// The reports that could not be written, each saying whose and why.
    pub unwritten: Vec<String>,
    /// How the class folder was laid out, and what in it was no submission.
    pub layout: layout::Layout,
    pub ignored: Vec<layout::Ignored>,
    /// The file the platform's grade import reads, where the layout has one.
    pub import_file: Option<PathBuf>,
}

/// The most a class's own zip (Moodle's or Canvas's download) may unpack to.
const CLASS_ZIP: crate::submission::CopyLimits = crate::submission::CopyLimits {
    max_bytes: 16 << 30,
    max_entries: 2_000_000,
};

/// Grades every entry of the class folder, calling `on_done` (on this thread) as each ends,
/// then writes `grades.csv` and `index.html`. When `stop` becomes true, every running grading
/// is killed and nothing more is written but the class outputs of the entries already done.
pub fn grade_class(
    options: &ClassOptions,
    stop: &Arc<AtomicBool>,
    mut on_done: impl FnMut(&Done, usize),
) -> Result<ClassSummary, ClassError> {
    for folder in [options.out.clone(), options.out.join("pages")] {
        std::fs::create_dir_all(&folder).map_err(|source| ClassError::Out {
            path: folder.clone(),
            source,
        })?;
    }
    // A platform's download as a zip is unpacked first, into a folder that lives as long as
    // the grading.
    let (class_folder, _unpacked) = if options.submissions.is_file() {
        let folder =
            crate::submission::RunDir::new().map_err(|source| ClassError::Submissions {
                path: options.submissions.clone(),
                source,
            })?;
        crate::submission::unzip_within(&options.submissions, folder.path(), CLASS_ZIP).map_err(
            |source| ClassError::ClassZip {
                path: options.submissions.clone(),
                source,
            },
        )?;
        // A class zipped as its folder is that folder.
        (crate::submission::unwrapped(folder.path()), Some(folder))
    } else {
        (options.submissions.clone(), None)
    };
    let listing =
        layout::list(&class_folder, options.layout, Some(&options.out)).map_err(|source| {
            ClassError::Submissions {
                path: options.submissions.clone(),
                source,
            }
        })?;
    let entries = listing.entries;
    let total = entries.len();
    let queue = Arc::new(Mutex::new(VecDeque::from(entries)));
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let isolate = options.isolate_workers;
    for index in 0..options.jobs.clamp(1, total.max(1)) {
        let (queue, done_tx, options, stop) = (
            queue.clone(),
            done_tx.clone(),
            options.clone(),
            stop.clone(),
        );
        std::thread::Builder::new()
            .name(format!("grade-class-{index}"))
            .spawn(move || work(&queue, &done_tx, &options, &stop, isolate))
            .expect("a worker thread starts");
    }
    drop(done_tx);
    let mut rows = Vec::with_capacity(total);
    let mut unwritten = Vec::new();
    loop {
        match done_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(done) => {
                on_done(&done, total);
                if let Some(error) = &done.unwritten {
                    unwritten.push(format!("{}: {error}", done.row.student()));
                }
                rows.push(done.row);
            }
            Err(mpsc::RecvTimeoutError::Timeout) if stop.load(Ordering::SeqCst) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let interrupted = stop.load(Ordering::SeqCst) && rows.len() < total;
    if interrupted {
        grade::watchdog::kill_children();
    }
    rows.sort_by(|a, b| a.student().cmp(b.student()));
    let checks = options.grading.selection.checks();
    outputs::write_csv(&options.out, &checks, &rows)?;
    let heading = overview::Heading {
        stages: grade::report::stages_label(options.grading.selection.stages()),
        sandbox: options.grading.sandbox.label(),
        date: httpdate::fmt_http_date(options.clock.now()),
    };
    overview::write_index(&options.out, &heading, &checks, &rows)?;
    let export = exports::Export {
        layout: listing.layout,
        canvas_assignment: &options.canvas_assignment,
        graded_at: heading.date.clone(),
    };
    let import_file = exports::write(&options.out, &export, &rows)?;
    Ok(ClassSummary {
        rows,
        entries: total,
        interrupted,
        unwritten,
        layout: listing.layout,
        ignored: listing.ignored,
        import_file,
    })
}

/// A worker: takes entries off the queue until it is empty or the run is stopped.
fn work(
    queue: &Mutex<VecDeque<Entry>>,
    done: &mpsc::Sender<Done>,
    options: &ClassOptions,
    stop: &AtomicBool,
    isolate: bool,
) {
    // A loopback of this thread's own, inherited by every program it starts: a submission
    // reaches neither the host nor another student's server.
    let isolation = if isolate {
        network::enter_private_network_of_thread().err()
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime starts");
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Some(entry) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else {
            return;
        };
        let begun = Instant::now();
        let outcome = runtime.block_on(grade_entry(&entry, options, stop, isolation.as_ref()));
        let Some(outcome) = outcome else {
            return;
        };
        let sent = done.send(match outcome {
            Ok((row, kept)) => Done {
                row,
                kept,
                took: begun.elapsed(),
                unwritten: None,
            },
            Err(error) => Done {
                row: Row::Skipped {
                    student: entry.student().to_owned(),
                    why: format!("its report could not be written: {error}"),
                },
                kept: false,
                took: begun.elapsed(),
                unwritten: Some(error.to_string()),
            },
        });
        if sent.is_err() {
            return;
        }
    }
}

/// The grading of `entry`, ready to run: the options within its folder, and the folders made
/// for it (a zip unpacked, loose files gathered), removed when dropped. A folder that holds
/// nothing but a zip (one uploaded to Moodle) is graded inside the zip.
fn prepare(
    entry: &Entry,
    grading: &GradeOptions,
    isolation: Option<&std::io::Error>,
) -> Result<(GradeOptions, Vec<crate::submission::RunDir>), String> {
    use crate::submission::{RunDir, lone_zip, unwrapped, unzip};
    if let Some(error) = isolation {
        return Err(format!(
            "cannot give this grading a network of its own: {error}; grade with --sandbox none to run without one"
        ));
    }
    // Run folders: one that a killed grader leaves is removed by the next.
    let mut made = Vec::new();
    let mut folder = || {
        let folder = RunDir::new()
            .map_err(|error| format!("cannot make a folder for the submission: {error}"))?;
        let path = folder.path().to_owned();
        made.push(folder);
        Ok::<_, String>(path)
    };
    let mut root = match &entry.what {
        Material::Folder(path) => path.clone(),
        Material::Zip(path) => {
            let into = folder()?;
            unzip(path, &into).map_err(|error| error.to_string())?;
            into
        }
        Material::Files(files) => gather(files, &folder()?)?,
        Material::Unusable(why) => return Err(why.clone()),
    };
    if let Some(zip) = lone_zip(&unwrapped(&root)) {
        root = folder()?;
        unzip(&zip, &root).map_err(|error| error.to_string())?;
    }
    Ok((grading.within(&root)?, made))
}

/// Copies loose `files` into `folder` under the names they were handed in with, within a
/// submission's caps; returns the folder.
fn gather(files: &[LooseFile], folder: &std::path::Path) -> Result<PathBuf, String> {
    let limits = crate::submission::CopyLimits::default();
    let mut bytes = 0;
    for file in files {
        let metadata = std::fs::symlink_metadata(&file.path)
            .map_err(|error| format!("cannot read {}: {error}", file.path.display()))?;
        bytes += metadata.len();
        let name = std::path::Path::new(&file.name);
        let plain = name.components().count() == 1
            && matches!(
                name.components().next(),
                Some(std::path::Component::Normal(_))
            );
        if !metadata.is_file() || !plain {
            return Err(format!(
                "{} is not a plain file: only files can be gathered",
                file.path.display()
            ));
        }
        if bytes > limits.max_bytes {
            return Err(format!(
                "the files hold more than {} MiB: leave out what the server does not need to run",
                limits.max_bytes >> 20
            ));
        }
        std::fs::copy(&file.path, folder.join(name))
            .map_err(|error| format!("cannot gather {}: {error}", file.name))?;
    }
    Ok(folder.to_owned())
}

/// Grades one entry and saves its reports; `None` when the run was stopped meanwhile (a
/// grading cut short by the stop is no verdict, and must not be kept as one).
async fn grade_entry(
    entry: &Entry,
    options: &ClassOptions,
    stop: &AtomicBool,
    isolation: Option<&std::io::Error>,
) -> Option<Result<(Row, bool), outputs::WriteError>> {
    if let Material::Unusable(why) = &entry.what {
        return Some(Ok((
            Row::Skipped {
                student: entry.student().to_owned(),
                why: why.clone(),
            },
            false,
        )));
    }
    let student = entry.student();
    let grading = &options.grading;
    let graded_with = format!(
        "{}; at most {:?} a student",
        grading.describe(),
        options.timeout
    );
    let selection = grading.selection;
    let fingerprint = entry::fingerprint(entry);
    if let Ok(fingerprint) = &fingerprint {
        let up_to_date = |saved: &SavedReport| {
            saved.submission_sha256 == *fingerprint && saved.graded_with == graded_with
        };
        if let Some(saved) = outputs::load(&options.out, student).filter(up_to_date) {
            if !options.force {
                return Some(Ok((Row::Graded(Box::new(saved)), true)));
            }
        }
    }
    let begun = Instant::now();
    let prepared = fingerprint
        .as_ref()
        .map_err(|error| format!("cannot read the submission of {student}: {error}"))
        .and_then(|_| prepare(entry, grading, isolation));
    let report = match prepared {
        Err(error) => Report::grader_error(selection, error, begun.elapsed()),
        // The unpacked folder of a zip lives until the grading ends.
        Ok((within, _unpacked)) => {
            let completed: RefCell<Vec<CheckReport>> = RefCell::new(Vec::new());
            let graded = grade::grade(within, |check| {
                completed.borrow_mut().push(check.clone());
            });
            match tokio::time::timeout(crate::patience::stretched(options.timeout), graded).await {
                Ok(report) => report,
                Err(_) => Report::unfinished(
                    selection,
                    completed.take(),
                    format!(
                        "the grading did not finish within {} s (--timeout): the submission stalled the grader, and the checks that had not ended were not run",
                        options.timeout.as_secs()
                    ),
                    begun.elapsed(),
                ),
            }
        }
    }
    .contained_by(&grading.sandbox)
    .scored_by(&grading.rubric);
    if stop.load(Ordering::SeqCst) {
        return None;
    }
    let fingerprint = fingerprint.unwrap_or_default();
    Some(
        outputs::save_student(
            &options.out,
            &entry.who,
            &fingerprint,
            &graded_with,
            &report,
        )
        .map(|saved| (Row::Graded(Box::new(saved)), false)),
    )
}
