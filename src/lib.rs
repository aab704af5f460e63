//! session-lab: the executable specification of a staged HTTP-state exercise.
//!
//! - [`checks`]: the conformance checks, the contract of `exercises.md` in executable form.
//! - [`client`]: `session-lab cookies`, a client that shows cookies and keeps a jar.
//! - [`grade`]: `session-lab grade`, the checks run against a submission, and its reports.
//! - [`class`]: `session-lab grade-class`, a whole class graded at once, and its overview.
//! - [`server`]: the reference server, one cargo feature per stage (`stage1` … `stage3`).
//! - [`sandbox`]: what contains a submission's command (bubblewrap and kernel limits).
//! - [`store`]: where the server's state lives between runs.
//! - [`under_test`]: the server and the cookie client under test, in-process or a student's
//!   program run as a child process, that the checks start, stop, restart and run.
//! - [`submission`]: a submission on disk, copied or unzipped safely into run folders.
//! - [`clock`]: the time source, injectable so tests can freeze it.
//! - [`html`]: text made safe for HTML pages.
//! - [`text`]: text a submission wrote or named, shown as itself on a terminal, in a file or a cell.
//! - [`procfs`]: the machine's processes, their parents and groups, as `/proc` tells.
//! - [`patience`]: the grader's time limits, stretched by the machine's load.
//! - [`atomic_file`]: files replaced whole or not at all (the state file, the grader's report).
//! - [`remove_tree`]: a folder a submission wrote into removed, however deep its tree.

pub mod atomic_file;
pub mod checks;
pub mod class;
// Stage 5's cookie client: only that build pulls in reqwest's TLS for it.
#[cfg(feature = "stage5")]
pub mod client;
pub mod clock;
pub mod grade;
pub mod html;
pub mod patience;
pub mod procfs;
pub mod remove_tree;
pub mod sandbox;
pub mod server;
pub mod store;
pub mod submission;
pub mod text;
pub mod under_test;
