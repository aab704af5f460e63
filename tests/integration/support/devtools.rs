//! Headless chromium driven over the DevTools protocol through `--remote-debugging-pipe`: the
//! browser reads commands on its fd 3 and writes answers and events on its fd 4, each a JSON
//! message ended by a NUL byte. No websocket, no driver binary: a test can click through a site
//! as a person would and read what the browser holds.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Browser {
    child: Child,
    commands: std::fs::File,
    messages: BufReader<std::fs::File>,
    next_id: u64,
    session: String,
}

impl Browser {
    /// Starts headless `chromium` with one empty page to drive.
    pub fn start(chromium: &str) -> Self {
        let (to_browser_read, to_browser_write) = nix::unistd::pipe().unwrap();
        let (from_browser_read, from_browser_write) = nix::unistd::pipe().unwrap();
        let mut command = Command::new(chromium);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-pipe",
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let (read_fd, write_fd) = (to_browser_read.as_raw_fd(), from_browser_write.as_raw_fd());
        // SAFETY: dup2 is async-signal-safe; the descriptors stay open until after the spawn.
        unsafe {
            command.pre_exec(move || {
                if nix::libc::dup2(read_fd, 3) == -1 || nix::libc::dup2(write_fd, 4) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        drop((to_browser_read, from_browser_write));
        let mut browser = Self {
            child,
            commands: std::fs::File::from(to_browser_write),
            messages: BufReader::new(std::fs::File::from(from_browser_read)),
            next_id: 0,
            session: String::new(),
        };
        let target = browser.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let attached = browser.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.command("Page.enable", json!({}));
        browser.command("Network.enable", json!({}));
        browser
    }

    fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> u64 {
        self.next_id += 1;
        let mut message = json!({"id": self.next_id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).unwrap();
        self.next_id
    }

    fn receive(&mut self) -> Value {
        let mut bytes = Vec::new();
        self.messages.read_until(0, &mut bytes).unwrap();
        assert_eq!(bytes.pop(), Some(0), "the browser closed its pipe");
        serde_json::from_slice(&bytes).unwrap()
    }

    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.send(session, method, params);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "no answer to {method}");
            let message = self.receive();
            if message["id"] == id {
                assert!(message["error"].is_null(), "{method}: {message}");
                return message["result"].clone();
            }
        }
    }

    /// Calls `method` on the page and returns its result.
    pub fn command(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call(Some(&session), method, params)
    }

    /// Runs `script` in the page and waits for the load of the page it leads to.
    pub fn run_and_wait_for_load(&mut self, script: &str) {
        let session = self.session.clone();
        let id = self.send(
            Some(&session),
            "Runtime.evaluate",
            json!({"expression": script}),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let (mut answered, mut loaded) = (false, false);
        while !(answered && loaded) {
            assert!(Instant::now() < deadline, "{script} did not lead to a page");
            let message = self.receive();
            answered |= message["id"] == id;
            loaded |= message["method"] == "Page.loadEventFired";
        }
    }

    /// Opens `url` and waits for it to load.
    pub fn open(&mut self, url: &str) {
        self.run_and_wait_for_load(&format!("location.href = {}", json!(url)));
    }

    /// The value of `expression` in the page.
    pub fn evaluate(&mut self, expression: &str) -> Value {
        self.command(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        )["result"]["value"]
            .clone()
    }

    /// Every cookie the browser holds for `url`.
    pub fn cookies(&mut self, url: &str) -> Vec<Value> {
        self.command("Network.getCookies", json!({"urls": [url]}))["cookies"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
