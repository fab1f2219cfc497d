//! [`Follower`]: a running `kev -w`, read line by line, and stopped by a
//! signal ([`Follower::stop`], [`Follower::kill`]) into a [`Stopped`].
//!
//! A reader thread forwards stdout lines over a bounded channel and another
//! collects stderr, so the test can wait for expected output with a deadline
//! ([`super::PATIENCE`]) instead of sleeping: every wait returns as soon as
//! what it waits for has been printed, and fails with everything kev printed
//! if it never is. Stopping waits the same way, for kev to close its output
//! (it exits), within [`STOP_PATIENCE`].

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long kev may take to exit after SIGTERM or SIGKILL before a test
/// fails. kev promises to stop "well within 2 s" after SIGTERM; this only
/// bounds how long a hang takes to be reported, with room for a loaded
/// 2-core machine.
pub const STOP_PATIENCE: Duration = Duration::from_secs(10);

/// kev's stderr so far, with a condition variable signalled on every write
/// and when it closes.
#[derive(Default)]
struct Stderr {
    buf: Mutex<StderrText>,
    grew: Condvar,
}

#[derive(Default)]
struct StderrText {
    text: String,
    /// kev closed it (it exited).
    closed: bool,
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
    pub fn spawn(cmd: Command) -> Follower {
        Follower::spawn_buffered(cmd, 1024)
    }

    /// Spawn `cmd`, holding at most `lines` stdout lines that the test has
    /// not read yet. With 0, kev's stdout is read only while the test waits
    /// for lines, so a test that does not read makes kev's writes block once
    /// the pipe is full: back-pressure through kev's whole pipeline.
    pub fn spawn_buffered(mut cmd: Command, lines: usize) -> Follower {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let (tx, lines) = sync_channel(lines);
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
                sink.buf
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .text
                    .push_str(&text);
                sink.grew.notify_all();
            }
            sink.buf.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
            sink.grew.notify_all();
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
            .buf
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .text
            .clone()
    }

    /// How many bytes kev has written to stderr so far: an offset for
    /// [`Follower::wait_stderr_from`].
    pub fn stderr_len(&self) -> usize {
        self.stderr
            .buf
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .text
            .len()
    }

    /// Wait until kev's stderr contains `needle` (a `-v` log line, say);
    /// panics with all output after [`super::PATIENCE`].
    pub fn wait_stderr(&self, needle: &str) {
        self.wait_stderr_from(0, needle);
    }

    /// Wait until kev's stderr after the first `offset` bytes (see
    /// [`Follower::stderr_len`]) contains `needle`; panics with all output
    /// after [`super::PATIENCE`].
    pub fn wait_stderr_from(&self, offset: usize, needle: &str) {
        let deadline = Instant::now() + super::PATIENCE;
        let mut text = self.stderr.buf.lock().unwrap_or_else(|e| e.into_inner());
        while !text.text.get(offset..).is_some_and(|t| t.contains(needle)) {
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

    /// SIGTERM kev (a graceful stop: flush, final checkpoint, exit 0) and
    /// wait for it to exit; panics if it has not closed its output within
    /// [`STOP_PATIENCE`].
    pub fn stop(self) -> Stopped {
        self.signal_and_wait(libc::SIGTERM, "SIGTERM")
    }

    /// SIGKILL kev (no final checkpoint) and wait for it to be gone.
    pub fn kill(self) -> Stopped {
        self.signal_and_wait(libc::SIGKILL, "SIGKILL")
    }

    /// Wait for kev to exit by itself (a refusal at start, say), within
    /// [`STOP_PATIENCE`].
    pub fn wait_exit(self) -> Stopped {
        self.finish(Instant::now(), "its start")
    }

    fn signal_and_wait(mut self, signal: libc::c_int, name: &str) -> Stopped {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            panic!(
                "kev exited ({status}) before it was sent {name}\n{}",
                self.report()
            );
        }
        // Our own child, by pid; it has not been reaped (try_wait above), so
        // the pid is still its.
        // SAFETY: kill(2) takes plain integers and touches no memory.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, {name}): {}",
            std::io::Error::last_os_error()
        );
        self.finish(Instant::now(), name)
    }

    /// Read what is left of kev's output until it closes (it exited),
    /// within [`STOP_PATIENCE`] of `since`.
    fn finish(mut self, since: Instant, after: &str) -> Stopped {
        let deadline = since + STOP_PATIENCE;
        // kev's exit closes stdout (the reader thread ends: the channel
        // disconnects) and stderr; waiting for both is waiting for the exit.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.history.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "kev did not exit within {STOP_PATIENCE:?} of {after}\n{}",
                    self.report()
                ),
            }
        }
        {
            let mut text = self.stderr.buf.lock().unwrap_or_else(|e| e.into_inner());
            while !text.closed {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    drop(text);
                    panic!(
                        "kev did not close stderr within {STOP_PATIENCE:?} of {after}\n{}",
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
        let took = since.elapsed();
        // Both pipes are closed: the process has ended or is ending now.
        let status = self.child.wait().expect("wait for kev");
        Stopped {
            status,
            lines: std::mem::take(&mut self.history),
            stderr: self.stderr(),
            took,
        }
    }
}

/// A kev that has exited (stopped by a signal, or by itself): everything it
/// printed over its whole run, and how it ended.
#[derive(Debug)]
pub struct Stopped {
    /// How it exited.
    pub status: ExitStatus,
    /// Every stdout line, from its start.
    pub lines: Vec<String>,
    /// Its stderr.
    pub stderr: String,
    /// From the signal to its output closing.
    pub took: Duration,
}

impl Stopped {
    /// The `-o ndjson` records it printed.
    pub fn records(&self) -> Vec<Value> {
        super::records(&self.lines.join("\n"))
    }

    /// Panics unless it exited with code 0 (a graceful stop).
    pub fn assert_exit_0(&self, what: &str) {
        assert_eq!(
            self.status.code(),
            Some(0),
            "{what}: kev should exit 0 after SIGTERM, got {}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.lines.join("\n"),
            self.stderr
        );
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        // Our own child, by handle: nothing else is touched.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
