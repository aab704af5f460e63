//! The reference server beyond what the conformance checks demand of students, a file per
//! concept: request limits ([`limits`]), persistence under restarts and kills
//! ([`persistence`]), the login gate and its defences ([`login`]), a model of it all under
//! random steps ([`model`]), the exercise's cookies ([`cookies`]). This file holds what they
//! share: a reference server on a free port with its own folder and client.
// The helpers serve modules gated on later stages; a lower stage's build leaves some unused.
#![cfg_attr(not(feature = "stage3"), allow(dead_code))]

use crate::support;

use reqwest::StatusCode;
use session_lab::server::{self, Config, RunningServer, StopSignal};
use session_lab::store::Backend;
#[cfg(feature = "stage2")]
use session_lab::store::{JsonFileStore, SnapshotStore};
use std::net::{Ipv4Addr, SocketAddr};
#[cfg(feature = "stage3")]
use std::sync::Arc;
use std::time::Duration;
#[cfg(feature = "stage3")]
use support::session_id;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A client for one run of the server (see [`support::http_client`]).
fn client() -> reqwest::Client {
    support::http_client(Duration::from_secs(5))
}

/// A reference server on a free port with its state in a temporary directory.
struct Reference {
    running: Option<RunningServer>,
    config: Config,
    dir: TempDir,
    client: reqwest::Client,
}

impl Reference {
    async fn start(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        config.store = Backend::file(dir.path().join("sessions.json"));
        adjust(&mut config);
        let running = server::start(config.clone()).await.unwrap();
        config.addr = running.addr();
        let client = client();
        Self {
            running: Some(running),
            config,
            dir,
            client,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.config.addr)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    fn server(&self) -> &RunningServer {
        self.running.as_ref().unwrap()
    }

    async fn stop(&mut self, signal: StopSignal) {
        self.running.take().unwrap().stop(signal).await.unwrap();
        self.client = client();
    }

    async fn kill(&mut self) {
        self.running.take().unwrap().kill().await;
        self.client = client();
    }

    async fn restart_after_stop(&mut self) {
        self.running = Some(server::start(self.config.clone()).await.unwrap());
    }

    /// A SIGKILL, then a start on what it left.
    async fn kill_and_restart(&mut self) {
        self.kill().await;
        self.restart_after_stop().await;
    }

    /// Sends raw bytes and returns everything the server answered before closing.
    async fn raw(&self, request: &[u8]) -> String {
        let mut stream = tokio::net::TcpStream::connect(self.config.addr)
            .await
            .unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .expect("the server answered and closed")
            .unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    }
}

#[cfg(feature = "stage4")]
mod cookies;
mod limits;
#[cfg(feature = "stage3")]
mod login;
#[cfg(feature = "stage3")]
mod model;
#[cfg(feature = "stage2")]
mod persistence;
