//! The integration tests, in one binary as ripgrep has them (one link instead of one per file):
//! a module per part of the project, each gated by the stage feature it tests.
//!
//! - the reference server: [`server`] over HTTP, [`browser`] in a real browser, [`redis`] with
//!   its state in Redis, [`cli`] as the binary runs;
//! - the grader: [`grader`] and [`grade_client`] judging fixtures, [`languages`] every language
//!   students write in, [`sandbox`] hostile submissions, [`grade_class`] whole classes;
//! - the cookie client (stage 5): [`client`], [`http_state`] the IETF cookie suite, [`sites`]
//!   real sites' cookies.
//!
//! The checks themselves run against the reference in `tests/conformance.rs`, a binary of its
//! own since it makes a test per check at run time.

mod support;

mod browser;
mod cli;
mod client;
mod grade_class;
mod grade_client;
mod grader;
mod http_state;
mod languages;
mod platforms;
#[cfg(feature = "redis")]
mod redis;
mod sandbox;
mod server;
mod sites;
