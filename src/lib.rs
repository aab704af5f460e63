//! session-lab: the executable specification of a staged HTTP-state exercise.
//!
//! - [`server`]: the reference server, one cargo feature per stage (`stage1` … `stage3`).
//! - [`store`]: where the server's state lives between runs.
//! - [`clock`]: the time source, injectable so tests can freeze it.

pub mod clock;
pub mod server;
pub mod store;
