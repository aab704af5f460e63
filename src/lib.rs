//! session-lab: the executable specification of a staged HTTP-state exercise.
//!
//! - [`checks`]: the conformance checks, the contract of `exercises.md` in executable form.
//! - [`server`]: the reference server, one cargo feature per stage (`stage1` … `stage3`).
//! - [`store`]: where the server's state lives between runs.
//! - [`target`]: a server under test, in-process or a child process, that can be restarted.
//! - [`clock`]: the time source, injectable so tests can freeze it.

pub mod checks;
pub mod clock;
pub mod server;
pub mod store;
pub mod target;
