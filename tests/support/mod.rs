//! Shared support for integration tests: running the real `kev` binary.
#![allow(dead_code)]

pub mod receiver;

use std::path::Path;
use std::process::{Command, Stdio};

/// The result of running kev.
#[derive(Debug)]
pub struct Run {
    /// Exit code (None if killed by a signal).
    pub code: Option<i32>,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
}

/// A `kev` command with a clean environment: no ambient kubeconfig, no colour
/// settings, HOME pointed somewhere empty, so tests see only what they set.
pub fn kev(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kev"));
    cmd.env_remove("KUBECONFIG")
        .env_remove("NO_COLOR")
        .env_remove("KEV_LOG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HOME", home)
        .stdin(Stdio::null());
    cmd
}

/// Run to completion, capturing output.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("spawn kev");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `kev -w`, its stdout read line by line on a thread.
pub struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl Follower {
    /// Spawn `cmd` with stdout and stderr piped.
    pub fn spawn(cmd: &mut Command) -> Follower {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kev");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Follower {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Wait until `n` lines in total have been read, or panic after `within`.
    pub fn wait_lines(&mut self, n: usize, within: Duration) -> &[String] {
        let deadline = Instant::now() + within;
        while self.seen.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => {
                    let _ = self.child.kill();
                    let stderr = self.stderr_now();
                    panic!(
                        "expected {n} lines within {within:?}, got {}:\n{}\nstderr:\n{stderr}",
                        self.seen.len(),
                        self.seen.join("\n")
                    );
                }
            }
        }
        &self.seen
    }

    /// Lines that arrive within `window` (for checking that nothing more comes:
    /// a bounded wait, never an assertion about time).
    pub fn drain_for(&mut self, window: Duration) -> Vec<String> {
        let deadline = Instant::now() + window;
        let mut more = Vec::new();
        while let Ok(l) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            more.push(l.clone());
            self.seen.push(l);
        }
        more
    }

    /// Whether kev is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn stderr_now(&mut self) -> String {
        use std::io::Read;
        let _ = self.child.wait();
        let mut s = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }

    /// Send `signal` (`TERM`, `INT`, `KILL`) and wait for kev to exit;
    /// returns its exit code (`None` if killed by the signal) and stderr.
    /// Lines printed before it exited are collected into `seen`.
    pub fn signal(&mut self, signal: &str) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} {pid}");
        let status = self.child.wait().expect("wait for kev");
        // The reader thread ends at EOF; take what it read.
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.seen.push(l);
        }
        (status.code(), self.stderr_now())
    }

    /// Send `signal` (`HUP`, …) and go on: kev keeps running.
    pub fn send(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} {pid}");
    }

    /// kev's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stop kev and return its stderr.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        self.stderr_now()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
