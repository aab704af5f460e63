//! Which command starts a submission's programs, and where it came from: its `Procfile`, the
//! instructor's command (after `--`, or `--client`), or its files ([`super::detect`]), tried
//! in that order among the sources the grading allows (`--command-from`). A Procfile runs in
//! the same sandbox as anything else the student wrote, so it grants nothing new.

use super::detect::{self, Detection, RULES};
use super::procfile::{self, Procfile, ProcfileError};
use std::path::Path;

/// Where a command may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum StartSource {
    /// The submission's `Procfile` (`web:`, `client:`, `build:`).
    Procfile,
    /// The grader's own: the command after `--`, and `--client`.
    Instructor,
    /// The submission's files, by the table of `detect.rs` (the server only).
    Detect,
}

impl StartSource {
    /// Its name, as `--command-from` takes it and a report shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Procfile => "procfile",
            Self::Instructor => "instructor",
            Self::Detect => "detect",
        }
    }
}

/// The sources a grading allows, tried in the order procfile, instructor, detect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartSources(Vec<StartSource>);

impl Default for StartSources {
    fn default() -> Self {
        Self(vec![
            StartSource::Procfile,
            StartSource::Instructor,
            StartSource::Detect,
        ])
    }
}

impl StartSources {
    /// `sources` in their order of trial, each once; none is none allowed.
    pub fn new(sources: &[StartSource]) -> Self {
        let mut sources = sources.to_vec();
        sources.sort();
        sources.dedup();
        Self(sources)
    }

    pub fn allows(&self, source: StartSource) -> bool {
        self.0.contains(&source)
    }

    /// `procfile, instructor, detect`, as `--command-from` takes them.
    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|source| source.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A program's command, ready to run, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// The words to run; `{port}` (server) or `{url}` (client) in them is filled in.
    pub command: Vec<String>,
    /// What runs once before the first start, in the same folder.
    pub build: Option<BuildCommand>,
    pub origin: Origin,
}

/// A build's command, and where it came from (a Procfile's `build:`, or the table's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildCommand {
    pub command: Vec<String>,
    pub origin: Origin,
}

/// The commands a grading ran, each as the submission or the grader settled it: what a report
/// shows, so that a student sees how their programs were started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commands {
    pub server: Option<Start>,
    pub client: Option<Start>,
}

/// Where a command came from, as a report says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Procfile,
    Instructor,
    /// By the table, from this file.
    Detected(&'static str),
}

impl Origin {
    /// Whether the grader wrote the command (after `--`, or in its table), rather than the
    /// submission: only then does the sandbox mount what it names.
    pub fn is_the_graders(self) -> bool {
        self != Self::Procfile
    }

    /// The kind of source it is.
    pub fn source(self) -> StartSource {
        match self {
            Self::Procfile => StartSource::Procfile,
            Self::Instructor => StartSource::Instructor,
            Self::Detected(_) => StartSource::Detect,
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Procfile => f.write_str("the Procfile"),
            Self::Instructor => f.write_str("the grader's command"),
            Self::Detected(file) => write!(f, "found {file}"),
        }
    }
}

/// Why a submission has no command to start: the student's to fix, as the message says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoStart {
    #[error(transparent)]
    Procfile(#[from] ProcfileError),
    #[error("found {}: add a Procfile saying which one starts (`web: COMMAND`, with $PORT for the port)", names(.0))]
    Ambiguous(Vec<&'static str>),
    #[error("found nothing that shows how the server starts: the submission holds {}, and the grader looks for {}; add a Procfile with `web: COMMAND` (with $PORT for the port)", shown_names(.held), names(&RULES.iter().map(|rule| rule.file).collect::<Vec<_>>()))]
    NothingFound {
        /// What the submission's folder holds (the first few names), to show it.
        held: Vec<String>,
    },
    #[error(
        "no command starts the server: add a Procfile with `web: COMMAND` (with $PORT for the port)"
    )]
    NoServerCommand,
    #[error("no command starts the cookie client: add `client: COMMAND $URL` to the Procfile")]
    NoClientCommand,
    /// A program the Procfile names is not there.
    #[error("the Procfile's command cannot run: {0}")]
    ProgramNotFound(String),
}

/// How many names of a folder a message shows.
const SHOWN: usize = 8;

/// What a folder holds, as a message says it: `nothing`, or its first names and how many more.
fn shown_names(names: &[String]) -> String {
    if names.is_empty() {
        return "nothing".into();
    }
    let shown: Vec<&str> = names.iter().take(SHOWN).map(String::as_str).collect();
    let more = names.len().saturating_sub(SHOWN);
    let mut text = crate::text::one_line(&shown.join(", ")).into_owned();
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

/// The names at the root of `folder`, sorted (hidden ones aside), folders marked with a `/`.
fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let folder = entry.file_type().is_ok_and(|kind| kind.is_dir());
                    (!name.starts_with('.')).then(|| if folder { format!("{name}/") } else { name })
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `a`, `a and b`, `a, b and c`.
fn names(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The Procfile of `folder`, where the grading reads one.
fn procfile(folder: &Path, sources: &StartSources) -> Result<Option<Procfile>, NoStart> {
    if !sources.allows(StartSource::Procfile) {
        return Ok(None);
    }
    Ok(Procfile::read(folder)?)
}

/// The Procfile's `build:`, as a command.
fn procfile_build(procfile: &Procfile) -> Option<BuildCommand> {
    procfile.build.as_deref().map(|build| BuildCommand {
        command: procfile::words(build),
        origin: Origin::Procfile,
    })
}

/// The program the Procfile's `line` names (`web:` or `client:`), else the instructor's
/// `command` where it is given and allowed; each after the Procfile's `build:`. `None` when
/// neither says anything.
fn said(
    procfile: &Procfile,
    line: Option<&String>,
    command: &[String],
    sources: &StartSources,
) -> Option<Start> {
    let build = procfile_build(procfile);
    let (command, origin) = match line {
        Some(line) => (procfile::words(line), Origin::Procfile),
        None if sources.allows(StartSource::Instructor) && !command.is_empty() => {
            (command.to_vec(), Origin::Instructor)
        }
        None => return None,
    };
    Some(Start {
        command,
        build,
        origin,
    })
}

/// The command that starts the server of the submission in `folder`: its Procfile's `web:`,
/// else the instructor's `command` (when given), else what its files show.
pub fn server(folder: &Path, command: &[String], sources: &StartSources) -> Result<Start, NoStart> {
    let procfile = procfile(folder, sources)?.unwrap_or_default();
    if let Some(start) = said(&procfile, procfile.web.as_ref(), command, sources) {
        return Ok(start);
    }
    if !sources.allows(StartSource::Detect) {
        return Err(NoStart::NoServerCommand);
    }
    let words = |words: &[&str]| words.iter().map(|word| (*word).to_owned()).collect();
    match detect::detect(folder) {
        Detection::Found(rule) => Ok(Start {
            command: words(rule.run),
            // A Procfile's `build:` comes before the table's.
            build: procfile_build(&procfile).or_else(|| {
                rule.build.map(|build| BuildCommand {
                    command: words(build),
                    origin: Origin::Detected(rule.file),
                })
            }),
            origin: Origin::Detected(rule.file),
        }),
        Detection::Ambiguous(rules) => Err(NoStart::Ambiguous(
            rules.iter().map(|rule| rule.file).collect(),
        )),
        Detection::Nothing => Err(NoStart::NothingFound {
            held: names_in(folder),
        }),
    }
}

/// The command that runs the cookie client of the submission in `folder`: its Procfile's
/// `client:`, else the instructor's `command` (when given). Files show no client.
pub fn client(folder: &Path, command: &[String], sources: &StartSources) -> Result<Start, NoStart> {
    let procfile = procfile(folder, sources)?.unwrap_or_default();
    said(&procfile, procfile.client.as_ref(), command, sources).ok_or(NoStart::NoClientCommand)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submission::tests::folder;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn a_procfile_comes_first_then_the_instructor_then_the_files() {
        let all = StartSources::default();
        let instructor = words("python3 main.py {port}");
        let with_procfile = folder(&[("Procfile", "web: node app.js $PORT\n"), ("server.py", "")]);
        let start = server(with_procfile.path(), &instructor, &all).unwrap();
        assert_eq!(
            (start.command, start.origin),
            (words("node app.js {port}"), Origin::Procfile)
        );
        let without = folder(&[("server.py", "")]);
        let start = server(without.path(), &instructor, &all).unwrap();
        assert_eq!(start.origin, Origin::Instructor);
        let start = server(without.path(), &[], &all).unwrap();
        assert_eq!(
            (start.command, start.origin),
            (
                words("python3 server.py {port}"),
                Origin::Detected("server.py")
            )
        );
    }

    #[test]
    fn only_the_sources_allowed_are_read() {
        let dir = folder(&[("Procfile", "web: node app.js $PORT\n"), ("server.py", "")]);
        let instructor_only = StartSources::new(&[StartSource::Instructor]);
        let start = server(dir.path(), &words("java Server {port}"), &instructor_only).unwrap();
        assert_eq!(start.origin, Origin::Instructor);
        assert_eq!(
            server(dir.path(), &[], &instructor_only),
            Err(NoStart::NoServerCommand)
        );
        let detect_only = StartSources::new(&[StartSource::Detect]);
        let start = server(dir.path(), &words("java Server {port}"), &detect_only).unwrap();
        assert_eq!(start.origin, Origin::Detected("server.py"));
    }

    #[test]
    fn a_build_comes_from_the_procfile_or_the_runtime_that_compiles() {
        let all = StartSources::default();
        let go = folder(&[("go.mod", "module x\n")]);
        let start = server(go.path(), &[], &all).unwrap();
        assert_eq!(
            start.build.map(|build| build.command),
            Some(words("go build -o ./.session-lab-server ."))
        );
        let made = folder(&[("go.mod", ""), ("Procfile", "build: make\n")]);
        assert_eq!(
            server(made.path(), &[], &all)
                .unwrap()
                .build
                .map(|build| build.command),
            Some(words("make"))
        );
        let python = folder(&[("server.py", "")]);
        assert_eq!(server(python.path(), &[], &all).unwrap().build, None);
    }

    #[test]
    fn no_guess_is_made_and_the_message_says_what_to_add() {
        let all = StartSources::default();
        let two = folder(&[("server.py", ""), ("server.js", "")]);
        let error = server(two.path(), &[], &all).unwrap_err();
        assert_eq!(
            error.to_string(),
            "found server.py and server.js: add a Procfile saying which one starts (`web: COMMAND`, with $PORT for the port)"
        );
        let none = folder(&[("notes.txt", ""), ("report.pdf", "")]);
        let error = server(none.path(), &[], &all).unwrap_err();
        assert!(error.to_string().contains("server.py, app.py"), "{error}");
        assert!(
            error.to_string().contains("holds notes.txt, report.pdf,"),
            "{error}"
        );
        let broken = folder(&[("Procfile", "web python3 server.py\n"), ("server.py", "")]);
        assert_eq!(
            server(broken.path(), &[], &all),
            Err(NoStart::Procfile(ProcfileError::NotALine { line: 1 }))
        );
    }

    #[test]
    fn a_client_comes_from_the_procfile_or_the_instructor_never_from_files() {
        let all = StartSources::default();
        let dir = folder(&[
            ("Procfile", "client: python3 client.py $URL\n"),
            ("client.py", ""),
        ]);
        let start = client(dir.path(), &[], &all).unwrap();
        assert_eq!(
            (start.command, start.origin),
            (words("python3 client.py {url}"), Origin::Procfile)
        );
        let bare = folder(&[("client.py", "")]);
        assert_eq!(
            client(bare.path(), &[], &all),
            Err(NoStart::NoClientCommand)
        );
        let start = client(bare.path(), &words("python3 client.py {url}"), &all).unwrap();
        assert_eq!(start.origin, Origin::Instructor);
    }
}
