//! [`Follower`]: a running `kev -w`, read line by line.
//!
//! A reader thread forwards stdout lines over a bounded channel and another
//! collects stderr, so the test can wait for expected output with a deadline
//! ([`super::PATIENCE`]) instead of sleeping: every wait returns as soon as
//! what it waits for has been printed, and fails with everything kev printed
//! if it never is.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use serde_json::Value;

/// kev's stderr so far, with a condition variable signalled on every write.
#[derive(Default)]
struct Stderr {
    text: Mutex<String>,
    grew: Condvar,
}

/// A running kev with piped output; killed when dropped.
pub struct Follower {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Stderr>,
    /// Every stdout line so far.
    history: Vec<String>,
}

impl Follower {
    /// Spawn `cmd` (a kev command with `-w`).
    pub fn spawn(mut cmd: Command) -> Follower {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let (tx, lines) = sync_channel(1024);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Stderr::default());
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]);
                sink.text
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_str(&text);
                sink.grew.notify_all();
            }
        });
        Follower {
            child,
            lines,
            stderr,
            history: Vec::new(),
        }
    }

    /// What kev has written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .text
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Wait until kev's stderr contains `needle` (a `-v` log line, say);
    /// panics with all output after [`super::PATIENCE`].
    pub fn wait_stderr(&self, needle: &str) {
        let deadline = Instant::now() + super::PATIENCE;
        let mut text = self.stderr.text.lock().unwrap_or_else(|e| e.into_inner());
        while !text.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(text);
                panic!(
                    "timed out waiting for {needle:?} on stderr\n{}",
                    self.report()
                );
            }
            text = self
                .stderr
                .grew
                .wait_timeout(text, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn report(&self) -> String {
        format!(
            "kev stdout so far:\n{}\nkev stderr so far:\n{}",
            self.history.join("\n"),
            self.stderr()
        )
    }

    /// Read stdout lines until `done` holds for the lines read by this call;
    /// returns them. Panics (with all output) if kev exits or
    /// [`super::PATIENCE`] runs out first.
    pub fn lines_until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&[String]) -> bool,
    ) -> Vec<String> {
        let deadline = Instant::now() + super::PATIENCE;
        let mut got = Vec::new();
        while !done(&got) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.history.push(line.clone());
                    got.push(line);
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "timed out after {:?} waiting for {what}\nlines read while waiting:\n{}\n{}",
                    super::PATIENCE,
                    got.join("\n"),
                    self.report()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    panic!(
                        "kev ended ({status:?}) while waiting for {what}\n{}",
                        self.report()
                    )
                }
            }
        }
        got
    }

    /// Like [`Follower::lines_until`], for `-o ndjson`: reads records until
    /// `done` holds for the records read by this call.
    pub fn records_until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&[Value]) -> bool,
    ) -> Vec<Value> {
        let mut records = Vec::new();
        self.lines_until(what, |lines| {
            if let Some(last) = lines.last() {
                records.extend(super::records(last));
            }
            done(&records)
        });
        records
    }

    /// Read records until one for `uid` at `resource_version` arrives;
    /// returns every record read, that one included.
    pub fn records_through(&mut self, occ: &super::Occ) -> Vec<Value> {
        self.records_until(&format!("occurrence {occ:?}"), |rs| {
            rs.last().is_some_and(|r| super::occ(r) == *occ)
        })
    }

    /// Panics unless kev is still running.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            panic!(
                "kev exited ({status}) but should still be following\n{}",
                self.report()
            );
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        // Our own child, by handle: nothing else is touched.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
