//! The reference server as a target, running in this process: the checks judge it exactly as
//! they judge a student's program.

use super::{ServerTarget, StartError, StopError, Stopped, TargetError, free_port};
use crate::server::{self, Config, RunningServer, StopSignal};
use crate::store::Backend;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;
use tempfile::TempDir;
use url::Url;

pub struct ReferenceTarget {
    config: Config,
    running: Option<RunningServer>,
    /// Holds the state file, if it has one; removed with the target.
    _state_dir: Option<TempDir>,
}

impl ReferenceTarget {
    /// A reference server on a free loopback port, its state in a fresh temporary directory.
    pub fn new() -> std::io::Result<Self> {
        let state_dir = tempfile::tempdir()?;
        let store = Backend::file(state_dir.path().join("sessions.json"));
        let mut target = Self::with_store(store)?;
        target._state_dir = Some(state_dir);
        Ok(target)
    }

    /// A reference server on a free loopback port, its state in `store`, which the caller
    /// makes fresh (a Redis database of its own, say).
    pub fn with_store(store: Backend) -> std::io::Result<Self> {
        let mut config = Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?)));
        config.store = store;
        Ok(Self {
            config,
            running: None,
            _state_dir: None,
        })
    }
}

#[async_trait::async_trait]
impl ServerTarget for ReferenceTarget {
    async fn start(&mut self) -> Result<(), TargetError> {
        if self.running.is_some() {
            return Ok(());
        }
        let running = server::start(self.config.clone())
            .await
            .map_err(StartError::from)?;
        self.running = Some(running);
        Ok(())
    }

    async fn stop(&mut self, signal: StopSignal) -> Result<Stopped, TargetError> {
        let running = self.running.take().ok_or(StopError::ReferenceNotRunning)?;
        let begun = Instant::now();
        running.stop(signal).await.map_err(StopError::from)?;
        Ok(Stopped {
            exited_in_time: true,
            needed_second_signal: false,
            took: begun.elapsed(),
            status: None,
            left_running: Vec::new(),
            deadline: super::EXIT_DEADLINE,
            second_signal_after: super::SECOND_SIGNAL_AFTER,
            ended_by_signal: None,
        })
    }

    async fn kill(&mut self) -> Result<(), TargetError> {
        if let Some(running) = self.running.take() {
            running.kill().await;
        }
        Ok(())
    }

    fn is_running(&mut self) -> bool {
        self.running.is_some()
    }

    fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.config.addr))
            .expect("a socket address is a valid URL host")
    }
}
