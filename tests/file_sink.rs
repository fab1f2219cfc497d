//! The NDJSON file sink against real processes: examples/file_sink_writer
//! writes through `FileSink` as fast as it can and is killed with SIGKILL
//! mid-write, sent SIGHUP after its files were moved away, or kept from
//! growing its file past a size (a full disk, in small).
//!
//! The writer is an example binary, which plain `cargo test` builds before
//! running tests (into `target/<profile>/examples/`). `cargo test --test
//! file_sink` alone does not build examples: run `cargo build --examples`
//! first.

use std::fs;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;

use kev::model::record::{Record, SCHEMA_V1};
use kev::model::{Event, Occurrence, RecordContext};
use kev::sink::file::FsyncPolicy;
use kev::sink::{Batch, Delivery, FileSinkConfig, Sink};

/// The writer example, next to this test's binary.
fn writer_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/file_sink-HASH → target/<profile>/examples/
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .join("examples")
        .join("file_sink_writer");
    assert!(
        path.exists(),
        "{} is missing: plain `cargo test` builds it, or `cargo build --examples`",
        path.display()
    );
    path
}

/// A running writer, its stdout read line by line.
struct Writer {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Writer {
    fn start(args: &[&str], paths: &[&Path]) -> Writer {
        let mut child = Command::new(writer_binary())
            .args(args)
            .args(paths)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the writer");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Writer { child, lines }
    }

    /// Wait for the next line starting with `prefix`.
    fn wait_for(&mut self, prefix: &str) {
        for line in self.lines.by_ref() {
            if line.expect("the writer's stdout").starts_with(prefix) {
                return;
            }
        }
        panic!("the writer ended before printing {prefix:?}");
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) with our own child's pid and a valid signal.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {signal}");
    }

    fn kill_9(mut self) {
        self.signal(libc::SIGKILL);
        let status = self.child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL)
        );
    }
}

/// A file's whole lines after its first `skip` bytes, each checked to be a
/// kev/v1 record: (the whole lines' bytes, from the start; how many lines
/// after `skip`; what follows the last newline, a partial line or nothing).
fn whole_lines_after(path: &Path, skip: usize) -> (Vec<u8>, usize, Vec<u8>) {
    let mut bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let tail = bytes.split_off(end);
    let mut n = 0;
    for line in bytes[skip.min(end)..]
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
    {
        let r: Record = serde_json::from_slice(line).unwrap_or_else(|e| {
            panic!(
                "{}: line {} after byte {skip} is not a record ({e}): {:.200}",
                path.display(),
                n + 1,
                String::from_utf8_lossy(line)
            )
        });
        assert_eq!(r.schema, SCHEMA_V1);
        n += 1;
    }
    (bytes, n, tail)
}

fn whole_lines(path: &Path) -> (Vec<u8>, usize, Vec<u8>) {
    whole_lines_after(path, 0)
}

#[test]
fn kill_9_mid_write_leaves_whole_lines_and_the_next_sink_appends_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.ndjson");
    let policies = ["never", "batch", "interval"];
    let mut kept: Vec<u8> = Vec::new();
    let mut partial = 0;
    let rounds = 12;
    for round in 0..rounds {
        let mut args = vec!["--fsync", policies[round % 4 % 3]];
        if round % 4 != 3 {
            // Encoded once, in 16 MiB batches: the loop is nearly all
            // writes, so the kill often lands inside one. The others are
            // killed while encoding, mostly.
            args.extend(["--encoded", "--batch", "1024"]);
        }
        let mut w = Writer::start(&args, &[&path]);
        // Killed inside the first, second or third batch of this run.
        for _ in 0..=(round % 3) {
            w.wait_for("writing");
        }
        w.kill_9();
        // Only the lines this run added need parsing: the earlier ones are
        // what the last round checked, byte for byte.
        let (whole, _, tail) = whole_lines_after(&path, kept.len());
        assert!(
            whole.starts_with(&kept),
            "round {round}: what the last run left whole is still there"
        );
        if !tail.is_empty() {
            // The kernel stopped the write at the kill: a partial line,
            // never acknowledged, which the next open cuts back.
            partial += 1;
            let head = format!("{{\"schema\":\"{SCHEMA_V1}\"");
            assert!(
                tail.starts_with(head.as_bytes()) || head.as_bytes().starts_with(&tail),
                "round {round}: the tail is the start of a record: {:.100}",
                String::from_utf8_lossy(&tail)
            );
        }
        kept = whole;
    }
    eprintln!("{partial} of {rounds} kills left a partial last line (cut back by the next open)");

    // A sink opened on what the last kill left repairs it and appends whole lines.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut sink = FileSinkConfig::new(&path)
            .fsync(FsyncPolicy::Batch)
            .build("after-kill")
            .unwrap();
        let event = Event {
            uid: "after-the-kills".to_string(),
            resource_version: "1".to_string(),
            name: "last".to_string(),
            ..Default::default()
        };
        let acked = sink
            .send(Batch {
                deliveries: vec![Delivery {
                    seq: 1,
                    occurrence: Arc::new(Occurrence::new(event, RecordContext::default())),
                }],
                listing: false,
                encoded: None,
            })
            .await
            .unwrap();
        assert_eq!(acked.up_to, Some(1));
        sink.close().await.unwrap();
    });
    let (whole, _, tail) = whole_lines_after(&path, kept.len());
    assert!(tail.is_empty(), "the file ends with a newline");
    assert!(whole.starts_with(&kept));
    let last: Record = serde_json::from_slice(&whole[kept.len()..]).unwrap();
    assert_eq!(last.uid, "after-the-kills");
}

#[test]
fn sighup_reopens_every_file_sink_in_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.ndjson");
    let b = dir.path().join("b.ndjson");
    let mut w = Writer::start(
        &[
            "--fsync",
            "never",
            "--record-bytes",
            "1024",
            "--batch",
            "16",
        ],
        &[&a, &b],
    );
    w.wait_for("wrote");
    // logrotate moves the files away, then sends SIGHUP.
    let moved = |p: &Path| p.with_extension("ndjson.rotated");
    fs::rename(&a, moved(&a)).unwrap();
    fs::rename(&b, moved(&b)).unwrap();
    w.signal(libc::SIGHUP);
    // Both sinks write new files at their paths within a few batches.
    let mut batches = 0;
    while !(a.exists() && b.exists() && whole_lines(&a).1 > 0 && whole_lines(&b).1 > 0) {
        w.wait_for("wrote");
        batches += 1;
        assert!(batches < 10_000, "the sinks did not reopen on SIGHUP");
    }
    w.kill_9();
    for p in [&a, &b] {
        let (_, old, tail) = whole_lines(&moved(p));
        assert!(old > 0 && tail.is_empty(), "{}: closed whole", p.display());
        assert!(whole_lines(p).1 > 0, "{}: new lines", p.display());
    }
}

#[test]
fn a_write_that_fails_halfway_is_cut_back_to_whole_lines() {
    use std::os::unix::process::CommandExt;
    // A full disk, in small: the writer may not grow files past 10 MiB
    // (RLIMIT_FSIZE), so its third 4 MiB batch is written in part, then
    // fails (EFBIG; SIGXFSZ ignored so the failure is an error, not a kill).
    const LIMIT: u64 = 10 << 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.ndjson");
    let mut cmd = Command::new(writer_binary());
    cmd.args(["--fsync", "never", "--encoded", "--batches", "5"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec, only async-signal-safe calls
    // (signal, setrlimit) on values made before the fork.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("run the writer");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the write must fail: {stderr}");
    assert!(
        stderr.contains(&format!("file-0: writing to {}", path.display())),
        "{stderr}"
    );
    let (whole, lines, tail) = whole_lines(&path);
    assert!(tail.is_empty(), "no partial line left behind");
    assert_eq!(
        lines,
        2 * 256,
        "the two batches that fit, and nothing of the third"
    );
    assert!((whole.len() as u64) < LIMIT);
}
