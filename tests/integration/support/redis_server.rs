//! A real `redis-server` for the tests of the Redis store: on a free loopback port, its data in
//! a temporary folder, persisting with an append-only file synced every second (as the README
//! advises), stopped with SHUTDOWN and started again on the same file and port.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use url::Url;

pub struct RedisServer {
    port: u16,
    dir: TempDir,
    process: Option<Child>,
}

/// Databases the server offers: one per conformance check, so checks running at once never
/// see each other's hits.
pub const DATABASES: u32 = 256;

impl RedisServer {
    pub fn start() -> Self {
        let mut server = Self {
            port: session_lab::under_test::free_port().unwrap(),
            dir: tempfile::tempdir().unwrap(),
            process: None,
        };
        server.start_again();
        server
    }

    /// The store URL of database `db`.
    pub fn url(&self, db: u32) -> Url {
        Url::parse(&format!("redis://127.0.0.1:{}/{db}", self.port)).unwrap()
    }

    /// Starts redis-server (again) on its port and folder, and waits until it answers.
    pub fn start_again(&mut self) {
        assert!(self.process.is_none(), "redis-server is running already");
        let mut command = Command::new("redis-server");
        // It dies with the test, even one killed before it could stop it.
        // SAFETY: prctl is async-signal-safe, and nothing else runs between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)
            });
        }
        let process = command
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--dir", self.dir.path().to_str().unwrap()])
            .args(["--appendonly", "yes", "--appendfsync", "everysec"])
            .args(["--save", "", "--databases", &DATABASES.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed for the Redis store's tests (apt-get install redis-server; .ci/run does)");
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.command("PING").as_deref() != Some("+PONG") {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer on port {} within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SHUTDOWN (which syncs the append-only file) and waits for the process to end.
    pub fn shut_down(&mut self) {
        let _ = self.command("SHUTDOWN");
        let mut process = self.process.take().expect("redis-server is not running");
        let deadline = Instant::now() + Duration::from_secs(10);
        while process.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "redis-server did not shut down");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops (`SIGSTOP`) or resumes (`SIGCONT`) the server: a Redis that hangs.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let process = self.process.as_ref().expect("redis-server is not running");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(process.id() as i32), signal).unwrap();
    }

    /// Sends one inline command and returns the first line of the answer.
    pub fn command(&self, command: &str) -> Option<String> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        stream.write_all(format!("{command}\r\n").as_bytes()).ok()?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).ok()?;
        Some(line.trim_end().to_owned())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}
