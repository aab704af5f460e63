//! The `session-lab` command line: the one place where errors become messages and exit codes.

use anyhow::Context;
use clap::{Parser, Subcommand};
use session_lab::checks::{
    CLIENT_STAGE, CheckReport, Credentials, LAST_SERVER_STAGE, LAST_STAGE, Selection, Stages,
};
use session_lab::grade::report::{self, Format};
use session_lab::grade::watchdog::{Watchdog, kill_children};
use session_lab::grade::{GradeOptions, Report};
use session_lab::sandbox::{Limits, Sandbox, SandboxMode, network};
use session_lab::server::{self, Config, StopSignal, users::Users};
use session_lab::store::Backend;
use session_lab::submission::remove_stale_run_folders;
use session_lab::under_test::{ClientSpec, CommandSpec};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Exit status for anything that stops a command before it could do its work.
const EXIT_CANNOT_START: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "session-lab",
    version,
    about = "The executable specification of the HTTP-state exercise"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the reference server on 127.0.0.1 (its stages are the cargo features it was built with).
    Serve(ServeArgs),
    /// Grade a submission: run the checks against the server command given after `--`.
    Grade(GradeArgs),
    /// Grade a whole class: every folder or .zip in SUBMISSIONS, in parallel, with a CSV and
    /// an HTML overview.
    GradeClass(GradeClassArgs),
    /// Show every cookie the sites set (following redirects), and keep them in a jar.
    #[cfg(feature = "stage5")]
    Cookies(CookiesArgs),
    /// Read a password on standard input and print its argon2id PHC string (for --users files).
    HashPassword,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Port to listen on; 0 picks a free one (the address is printed either way).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Where the hits and sessions are kept between runs (stage 2) [default: sessions.json].
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Keep the hits and sessions in Redis 7+ instead, at redis://[:PASSWORD@]HOST:PORT/DB (in
    /// a build with the `redis` feature; give a URL with a password in SESSION_LAB_STORE to
    /// keep it out of `ps`): several servers may share one store. The server then saves
    /// nothing itself, at stop or ever: the data lasts as long as Redis keeps it (configure
    /// Redis's AOF or RDB persistence, and `maxmemory-policy noeviction`), and --state and
    /// --flush-interval do not apply.
    #[arg(long, value_name = "URL", conflicts_with_all = ["state", "flush_interval"])]
    store: Option<String>,
    /// Seconds between saves of changed state, bounding what a SIGKILL can lose (stage 2).
    #[arg(long, default_value = "1", value_parser = parse_seconds)]
    flush_interval: Duration,
    /// Seconds a session may stay unused before it expires (stage 3).
    #[arg(long, default_value = "3600", value_parser = parse_seconds)]
    session_idle: Duration,
    /// JSON object of username to argon2 PHC string, replacing the built-in alice (stage 3).
    #[arg(long)]
    users: Option<PathBuf>,
    /// Mark the session cookie Secure (when a TLS proxy sits in front).
    #[arg(long)]
    secure: bool,
    /// Print each exchange: the request line and its Cookie, the status and its Set-Cookie
    /// lines (what a browser's developer tools show).
    #[arg(long)]
    show_headers: bool,
    /// Connections served at once; one more is answered 503 and closed. It is lowered to fit
    /// the open-file limit (whose soft value is raised to the hard one at start).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_connections: usize,
    /// Sessions at most; a login beyond is answered 503 (stage 3).
    #[arg(long, value_name = "N", default_value_t = server::SessionCaps::default().total)]
    max_sessions: usize,
    /// Sessions of one user at most; a login beyond ends their session unused longest (stage 3).
    #[arg(long, value_name = "N", default_value_t = server::SessionCaps::default().per_user)]
    max_sessions_per_user: usize,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  session-lab grade --stage 3 --dir submission -- python3 server.py {port}\n  \
session-lab grade --stage 5 --client 'python3 client.py {url}' -- python3 server.py {port}\n  \
session-lab grade --only 5 --client 'python3 client.py {url}'\n\n\
`{port}` in the server's command becomes a free port, also exported as PORT; `{url}` in the \
client's becomes the URL it must fetch, also exported as URL. Exit status: 0 every check \
passed, 1 a check failed, 2 the grader could not run."
)]
struct GradeArgs {
    /// The report's format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write the report here (progress still goes to the terminal); otherwise to stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    grading: GradingArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: session-lab grade-class submissions/ --out results/ --stage 4 -- python3 server.py {port}\n\n\
Each folder or .zip in SUBMISSIONS is one student, named by it; --dir and --client-dir are \
taken inside each submission. RESULTS gets STUDENT.json, STUDENT.txt, pages/STUDENT.html, \
grades.csv and index.html. A student whose report is up to date is not graded again. Exit \
status: 0 every submission has a report (whatever its score), 2 the grader could not run, \
130 interrupted."
)]
struct GradeClassArgs {
    /// The class folder: one folder or .zip per student.
    #[arg(value_name = "SUBMISSIONS")]
    submissions: PathBuf,
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

/// What one submission is graded with: `grade` and `grade-class` alike.
#[derive(Debug, clap::Args)]
struct GradingArgs {
    /// Grade stages 1 to N [default: 5 with --client, else 4].
    #[arg(long, value_name = "N", conflicts_with = "only", value_parser = clap::value_parser!(u8).range(1..=i64::from(LAST_STAGE)))]
    stage: Option<u8>,
    /// Grade stage N alone.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=i64::from(LAST_STAGE)))]
    only: Option<u8>,
    /// The submission's directory; the command runs in a scratch copy of it.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// The cookie client's command, graded in stage 5 (quoted as one argument, split as a
    /// shell would); `{url}` in it becomes the URL it must fetch.
    #[arg(long, value_name = "CMD", value_parser = parse_command)]
    client: Option<Words>,
    /// The client's directory, if not --dir; all its runs share one scratch copy of it, so the
    /// jar it keeps there lasts from run to run.
    #[arg(long, value_name = "DIR")]
    client_dir: Option<PathBuf>,
    /// Seconds one run of the client may take before it is killed.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    client_timeout: Duration,
    /// The account the checks log in with.
    #[arg(long, default_value = "alice")]
    username: String,
    #[arg(long, default_value = "wonderland")]
    password: String,
    /// Seconds the server may take to accept connections.
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    start_timeout: Duration,
    /// Seconds the whole grading (of one submission) may take; then it ends with a failing
    /// report, whatever the submission does.
    #[arg(long, default_value = "120", value_parser = parse_seconds)]
    timeout: Duration,
    /// How to contain the submission: bubblewrap where it works (auto), always (bwrap, or an
    /// error), or not at all (none).
    #[arg(long, value_enum, default_value_t = SandboxMode::Auto)]
    sandbox: SandboxMode,
    /// Processes and threads the submission may run at once (sandbox, as root).
    #[arg(long, value_name = "N", default_value_t = Limits::default().processes)]
    process_limit: u64,
    /// MiB of data memory (heap and private writable mappings) each of its processes may use
    /// (sandbox).
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().memory >> 20)]
    memory_limit: u64,
    /// MiB the largest file it writes may hold (sandbox).
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().file_size >> 20)]
    file_size_limit: u64,
    /// CPU seconds each of its processes may use (sandbox).
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().cpu_seconds)]
    cpu_limit: u64,
    /// Files each of its processes may hold open at once (sandbox).
    #[arg(long, value_name = "N", default_value_t = Limits::default().open_files)]
    open_file_limit: u64,
    /// MiB of memory for everything the server (or the client) starts, together: a memory
    /// cgroup (sandbox, as root). `grade-class` runs no more gradings at once than the
    /// machine's memory holds.
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().grading_memory >> 20)]
    grading_memory: u64,
    /// MiB its run folder may hold: the scratch copy, its private /tmp, its output (a tmpfs
    /// of that size; sandbox, as root).
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().scratch >> 20)]
    scratch_limit: u64,
    /// An environment variable for the submission (repeatable); the sandbox passes no other
    /// than PATH, HOME, LANG, and PORT, TZ and the moved clock for a server (URL and TZ for a
    /// client).
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// The command that starts the server (not needed for `--only 5 --client CMD`).
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

impl GradingArgs {
    /// Which checks run; a usage error (clap's, exit 2) when a stage lacks what it judges.
    fn selection(&self) -> Selection {
        let stages = match (self.stage, self.only) {
            (_, Some(only)) => Stages::Only(only),
            (stage, None) => Stages::UpTo(stage.unwrap_or(if self.client.is_some() {
                CLIENT_STAGE
            } else {
                LAST_SERVER_STAGE
            })),
        };
        let selection = Selection {
            stages,
            server: !self.command.is_empty(),
            client: self.client.is_some(),
        };
        if let Err(problem) = check_grade_usage(selection) {
            use clap::CommandFactory;
            Cli::command()
                .error(clap::error::ErrorKind::MissingRequiredArgument, problem)
                .exit();
        }
        selection
    }

    /// The sandbox asked for; with bubblewrap, this process enters a network of its own
    /// (before its runtime starts a thread: a namespace is per thread, inherited by the
    /// threads and children started after it).
    fn sandbox(&self) -> anyhow::Result<Sandbox> {
        let limits = Limits {
            processes: self.process_limit,
            memory: self.memory_limit << 20,
            file_size: self.file_size_limit << 20,
            cpu_seconds: self.cpu_limit,
            open_files: self.open_file_limit,
            grading_memory: self.grading_memory << 20,
            scratch: self.scratch_limit << 20,
        };
        let sandbox = Sandbox::new(self.sandbox, limits, self.env.clone())?;
        if sandbox.is_bwrap() {
            network::enter_private_network().context(
                "cannot give the sandbox a network of its own (only loopback); grade with --sandbox none to run without one",
            )?;
        }
        Ok(sandbox)
    }

    fn options(self, stages: Stages, sandbox: &Sandbox) -> GradeOptions {
        let server = (!self.command.is_empty()).then(|| {
            let mut spec = CommandSpec::new(self.command, &self.dir);
            spec.start_timeout = self.start_timeout;
            spec
        });
        let client = self.client.map(|Words(command)| {
            let mut spec = ClientSpec::new(command, self.client_dir.as_ref().unwrap_or(&self.dir));
            spec.run_timeout = self.client_timeout;
            spec
        });
        GradeOptions {
            stages,
            server,
            client,
            credentials: Credentials {
                username: self.username,
                password: self.password,
            },
            sandbox: sandbox.clone(),
        }
    }
}

#[cfg(feature = "stage5")]
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: session-lab cookies --jar cookies.txt http://127.0.0.1:8080/cookies\n\n\
The jar is a Netscape cookies.txt, as curl -b/-c, wget and Python's MozillaCookieJar use."
)]
struct CookiesArgs {
    /// The pages to GET, in order, with one cookie store.
    #[arg(required = true, value_name = "URL")]
    urls: Vec<url::Url>,
    /// Load cookies from this jar first, send back those that match, and save the jar after.
    #[arg(long, value_name = "FILE")]
    jar: Option<PathBuf>,
    /// Save session cookies too (with expiry 0, as curl does); by default they end with the run.
    #[arg(long)]
    keep_session_cookies: bool,
    #[arg(long, value_enum, default_value_t = CookiesFormat::Table)]
    format: CookiesFormat,
    /// Send requests for HOST to IP instead of looking it up (repeatable).
    #[arg(long, value_name = "HOST=IP", value_parser = parse_resolve)]
    resolve: Vec<(String, SocketAddr)>,
}

#[cfg(feature = "stage5")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CookiesFormat {
    Table,
    Json,
}

#[cfg(feature = "stage5")]
fn parse_resolve(text: &str) -> Result<(String, SocketAddr), String> {
    let (host, ip) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not HOST=IP"))?;
    let ip: std::net::IpAddr = ip
        .parse()
        .map_err(|_| format!("{ip:?} is not an IP address"))?;
    // The port is ignored: requests go to the port of their URL.
    Ok((host.to_owned(), SocketAddr::new(ip, 0)))
}

/// A command given as one argument, split into words.
#[derive(Debug, Clone)]
struct Words(Vec<String>);

fn parse_command(text: &str) -> Result<Words, String> {
    shlex::split(text)
        .filter(|words| !words.is_empty())
        .map(Words)
        .ok_or_else(|| format!("{text:?} is not a command (an unclosed quote?)"))
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))?;
    Ok((name.to_owned(), value.to_owned()))
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| format!("{text:?} must be a positive number of seconds"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "session_lab=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let outcome = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Grade(args) => grade(args),
        Command::GradeClass(args) => grade_class(args),
        #[cfg(feature = "stage5")]
        Command::Cookies(args) => cookies(args),
        Command::HashPassword => hash_password(),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_CANNOT_START)
        }
    }
}

/// Where `serve` finds the Redis store's URL when `--store` is not given.
const STORE_VARIABLE: &str = "SESSION_LAB_STORE";

/// The URL of `--store`; a message that never repeats it (it may hold a password).
fn redis_url(text: &str) -> anyhow::Result<url::Url> {
    let url = url::Url::parse(text).map_err(|error| {
        anyhow::anyhow!("--store: not a URL ({error}); expected redis://HOST:PORT/DB")
    })?;
    if url.scheme() != "redis" {
        anyhow::bail!(
            "--store: expected redis://HOST:PORT/DB, got a URL of the scheme {}:",
            url.scheme()
        );
    }
    Ok(url)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    return_large_allocations_to_the_os();
    let mut config = Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)));
    // Read here rather than by clap, so that an empty variable counts as unset and the message
    // of a conflict never shows its value.
    let store = args
        .store
        .or_else(|| std::env::var(STORE_VARIABLE).ok())
        .filter(|store| !store.is_empty());
    if let (Some(_), Some(state)) = (&store, &args.state) {
        anyhow::bail!(
            "--state {} and a Redis store (from {STORE_VARIABLE}) cannot both keep the state: unset {STORE_VARIABLE}, or leave out --state",
            state.display()
        );
    }
    config.store = match store.as_deref().map(redis_url).transpose()? {
        None => Backend::file(args.state.unwrap_or_else(|| "sessions.json".into())),
        #[cfg(feature = "redis")]
        Some(url) => Backend::Redis(url),
        #[cfg(not(feature = "redis"))]
        Some(_) => anyhow::bail!(
            "--store: this build has no Redis store; build it with `cargo build --release --features redis` (or --all-features)"
        ),
    };
    config.flush_interval = args.flush_interval;
    config.session_idle = args.session_idle;
    config.secure_cookies = args.secure;
    config.show_headers = args.show_headers;
    config.session_caps = server::SessionCaps {
        total: args.max_sessions,
        per_user: args.max_sessions_per_user,
    };
    config.max_connections = args
        .max_connections
        .min(connections_the_open_file_limit_allows());
    if let Some(path) = &args.users {
        config.users = Users::from_file(path)?;
    }
    runtime()?.block_on(async {
        // Listen for the signals before anyone can learn the address: a SIGTERM sent the
        // moment the port opens must still mean a graceful stop, not the default death.
        let stop_signal = stop_signal()?;
        let running = server::start(config).await?;
        println!("session-lab listening on http://{}", running.addr());
        std::io::stdout().flush().ok();
        let signal = stop_signal.await;
        match running.stop(signal).await {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(error) => {
                eprintln!("error: the state could not be saved at shutdown: {error}");
                Ok(ExitCode::FAILURE)
            }
        }
    })
}

/// Every argon2 check allocates 19 MiB. glibc keeps freed blocks of that size in its arenas,
/// so after a flood of logins the server would hold hundreds of MiB for good; served by mmap
/// instead (from 1 MiB up), they go back to the OS when the check ends.
fn return_large_allocations_to_the_os() {
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread starts.
    unsafe {
        nix::libc::mallopt(nix::libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Raises the soft open-file limit to the hard one, and says how many connections fit in it
/// with room for the state file, the logs and the runtime's own descriptors.
fn connections_the_open_file_limit_allows() -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    const SPARE: u64 = 64;
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return usize::MAX;
    };
    let limit = if setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    usize::try_from(limit.saturating_sub(SPARE).max(1)).unwrap_or(usize::MAX)
}

/// Installs the SIGINT and SIGTERM handlers now; the future resolves at the first signal.
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = StopSignal>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => StopSignal::Interrupt,
            _ = terminate.recv() => StopSignal::Terminate,
        }
    })
}

/// Exit status when a check failed.
const EXIT_CHECK_FAILED: u8 = 1;

fn grade(args: GradeArgs) -> anyhow::Result<ExitCode> {
    let selection = args.grading.selection();
    // Progress goes to the terminal unless the report itself (not human) takes stdout.
    let show_progress = args.format == Format::Human || args.output.is_some();
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
            );
            sink.finish(&Report::grader_error(
                selection,
                format!("{error:#}"),
                Duration::ZERO,
            ));
            return Ok(ExitCode::from(EXIT_CANNOT_START));
        }
    };
    remove_stale_run_folders();
    let timeout = args.grading.timeout;
    let options = args.grading.options(selection.stages, &sandbox);
    let sink = ReportSink::new(args.output, args.format, show_progress, selection, sandbox);
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
    let report = runtime()?.block_on(async {
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
        EXIT_CANNOT_START
    } else if report.all_passed() {
        0
    } else {
        EXIT_CHECK_FAILED
    }))
}

/// Exit status of a class grading that Ctrl-C ended (128 + SIGINT, as a shell reports it).
const EXIT_INTERRUPTED: u8 = 130;

fn grade_class(args: GradeClassArgs) -> anyhow::Result<ExitCode> {
    use session_lab::class::{self, ClassOptions, outputs::Row};
    use std::sync::atomic::{AtomicBool, Ordering};
    let selection = args.grading.selection();
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
        grading: args.grading.options(selection.stages, &sandbox),
        timeout,
        isolate_workers,
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
                if let Ok(signal) = waiter.block_on(async { stop_signal() }) {
                    waiter.block_on(signal);
                    stop.store(true, Ordering::SeqCst);
                }
            }
        }
    });
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
    let (mut done_count, mut passing) = (0, 0);
    let summary = class::grade_class(&options, &stop, |done, total| {
        done_count += 1;
        let (score, status) = match &done.row {
            Row::Graded(report) => {
                if report.score == report.max_score {
                    passing += 1;
                }
                (
                    format!("{}/{}", report.score, report.max_score),
                    done.row.standing().as_str(),
                )
            }
            Row::Skipped { why, .. } => (String::new(), why.as_str()),
        };
        match &bar {
            Some(bar) => {
                bar.set_length(total as u64);
                bar.set_position(done_count);
                bar.set_message(format!("{passing} passing every check"));
            }
            None => println!(
                "[{done_count}/{total}] {}: {}{status}{} ({:.1} s)",
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
    })?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let count = |standing| {
        summary
            .rows
            .iter()
            .filter(|row| row.standing() == standing)
            .count()
    };
    use session_lab::class::outputs::Standing;
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
    Ok(if summary.unwritten.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_CANNOT_START)
    })
}

/// Default gradings at once per core: a grading mostly waits (on starts, restarts and the 5 s
/// stop deadline of a server that ignores its signal), so it takes many to keep a core busy.
/// Measured with benches/class.py (README, "Speed"): 200 students on 2 cores took 65.8 s with
/// 8 jobs, 37.9 s with 16, 37.1 s with 24 and 39.5 s with 32.
const JOBS_PER_CORE: usize = 12;

/// What a grading needs besides its stages: a server for stages 1–4, a client for stage 5.
fn check_grade_usage(selection: Selection) -> Result<(), String> {
    let Selection {
        stages,
        server,
        client,
    } = selection;
    let client_alone = stages == Stages::Only(CLIENT_STAGE);
    if !server && !client_alone {
        return Err("give the server's command after `--` (only `--only 5 --client CMD` grades a client alone)".into());
    }
    if stages.contains(CLIENT_STAGE) && !client {
        return Err("stage 5 grades a cookie client: give its command with --client 'CMD {url}', or grade --stage 4".into());
    }
    if client && !stages.contains(CLIENT_STAGE) {
        return Err(format!(
            "--client is graded in stage 5: add --stage 5 (or --only 5), or leave --client out to grade stages 1–{}",
            stages.last()
        ));
    }
    Ok(())
}

/// Where the progress and the report go. The report is written once: by the grading, or by
/// the watchdog (or Ctrl-C) with the checks that had ended, whichever comes first. A file is
/// replaced atomically, so no reader ever sees half a report.
#[derive(Clone)]
struct ReportSink {
    output: Option<PathBuf>,
    format: Format,
    show_progress: bool,
    selection: Selection,
    sandbox: Sandbox,
    completed: Arc<Mutex<Vec<CheckReport>>>,
    written: Arc<Mutex<bool>>,
}

impl ReportSink {
    fn new(
        output: Option<PathBuf>,
        format: Format,
        show_progress: bool,
        selection: Selection,
        sandbox: Sandbox,
    ) -> Self {
        Self {
            output,
            format,
            show_progress,
            selection,
            sandbox,
            completed: Arc::new(Mutex::new(Vec::new())),
            written: Arc::new(Mutex::new(false)),
        }
    }

    /// A check ended: its line goes to the terminal, and it is kept for an unfinished report.
    fn record(&self, check: &CheckReport) {
        if self.show_progress {
            let _ = writeln!(anstream::stdout(), "{}", report::human_line(check));
        }
        lock(&self.completed).push(check.clone());
    }

    /// The report of a grading that ends now, for `reason`: the checks that ended, then why.
    fn unfinished(&self, reason: String, took: Duration) -> Report {
        let completed = lock(&self.completed).clone();
        Report::unfinished(self.selection, completed, reason, took).contained_by(&self.sandbox)
    }

    /// A failing report in the output file before anything runs: a grader that is killed
    /// leaves that, never no report or one that something else wrote.
    fn placeholder(&self) -> anyhow::Result<()> {
        let Some(path) = &self.output else {
            return Ok(());
        };
        let report = self.unfinished(
            "the grader did not finish: it was stopped or killed before it wrote its report".into(),
            Duration::ZERO,
        );
        write_report(path, &report::render(&report, self.format))
    }

    /// Writes `report` unless one was written already; says whether it wrote it.
    fn finish(&self, report: &Report) -> bool {
        let mut written = lock(&self.written);
        if *written {
            return false;
        }
        *written = true;
        if self.show_progress {
            let _ = write!(anstream::stdout(), "{}", report::human_summary(report));
        }
        let github_output = (self.format == Format::GithubClassroom)
            .then(|| std::env::var_os("GITHUB_OUTPUT"))
            .flatten();
        match (&self.output, github_output) {
            (_, Some(path)) => {
                // Appended, as every step's outputs are: the reporter action reads `result`.
                let line = format!("result={}", report::render(report, self.format));
                let appended = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&path)
                    .and_then(|mut file| file.write_all(line.as_bytes()));
                if let Err(error) = appended {
                    eprintln!(
                        "error: cannot append the result to $GITHUB_OUTPUT ({}): {error}",
                        PathBuf::from(path).display()
                    );
                }
            }
            (Some(path), None) => {
                if let Err(error) = write_report(path, &report::render(report, self.format)) {
                    eprintln!("error: {error:#}");
                }
            }
            (None, None) if self.format != Format::Human => {
                print!("{}", report::render(report, self.format));
            }
            (None, None) => {}
        }
        let _ = std::io::stdout().flush();
        true
    }
}

/// A lock that a panic elsewhere does not make unusable: the report must still be written.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_report(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    session_lab::atomic_file::replace(path, |writer| writer.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write the report to {}", path.display()))
}

#[cfg(feature = "stage5")]
fn cookies(args: CookiesArgs) -> anyhow::Result<ExitCode> {
    use session_lab::client::{self, Format, RunOptions};
    let options = RunOptions {
        jar: args.jar.as_deref(),
        keep_session_cookies: args.keep_session_cookies,
        format: match args.format {
            CookiesFormat::Table => Format::Table,
            CookiesFormat::Json => Format::Json,
        },
        resolve: &args.resolve,
    };
    let outcome = runtime()?.block_on(client::run(&args.urls, &options))?;
    print!("{}", outcome.output);
    for error in &outcome.errors {
        eprintln!("error: {error}");
    }
    Ok(if outcome.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn hash_password() -> anyhow::Result<ExitCode> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from standard input")?;
    let password = input.strip_suffix('\n').unwrap_or(&input);
    let password = password.strip_suffix('\r').unwrap_or(password);
    anyhow::ensure!(
        !password.is_empty(),
        "the password on standard input is empty"
    );
    let hash = session_lab::server::users::hash_password(password)
        .map_err(|error| anyhow::anyhow!("cannot hash the password: {error}"))?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
}
