//! The file sink's tests: compliance for every policy and rotation, what
//! each fsync policy acknowledges, rotation, repair, reopening, stdout.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::model::Occurrence;
use crate::output::{OutputFormat, TableOptions, printer};
use crate::sink::compliance;
use crate::sink::compliance::Shared;
use crate::sink::{Batch, Delivery};

/// `n` realistic deliveries (kev_testkit's corpus), numbered from `first`.
fn deliveries(first: u64, n: usize) -> Vec<Delivery> {
    crate::testdata::corpus()
        .skip(first as usize)
        .take(n)
        .enumerate()
        .map(|(i, (event, context))| Delivery {
            seq: first + i as u64,
            occurrence: Arc::new(Occurrence::new(event, context)),
        })
        .collect()
}

fn batch(deliveries: Vec<Delivery>) -> Batch {
    Batch {
        deliveries,
        listing: false,
        encoded: None,
    }
}

/// The lines `deliveries` make, as `-o ndjson` prints them.
fn ndjson(deliveries: &[Delivery]) -> Vec<u8> {
    let mut p = printer(OutputFormat::Ndjson, TableOptions::default());
    let mut out = Vec::new();
    for d in deliveries {
        p.print_one(&mut out, &d.occurrence, chrono::Utc::now())
            .unwrap();
    }
    out
}

/// One file's bytes, gunzipped if need be. A `.N` that is gone was just
/// compressed: read `.N.gz`.
fn read_file(f: &Path) -> Vec<u8> {
    let gunzip = |f: &Path| {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(fs::File::open(f).unwrap())
            .read_to_end(&mut out)
            .unwrap();
        out
    };
    if f.extension().is_some_and(|e| e == "gz") {
        return gunzip(f);
    }
    match fs::read(f) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut gz = f.as_os_str().to_owned();
            gz.push(".gz");
            gunzip(Path::new(&gz))
        }
        Err(e) => panic!("{}: {e}", f.display()),
    }
}

/// The lines of every file of `path`'s rotation, per file, oldest first;
/// each file must hold whole lines only.
fn files_lines(path: &Path) -> Vec<(PathBuf, Vec<String>)> {
    rotate::Rotation::files_oldest_first(path)
        .into_iter()
        .filter(|f| f != path || f.exists())
        .map(|f| {
            let text = String::from_utf8(read_file(&f)).unwrap();
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "{} ends inside a line",
                f.display()
            );
            let lines = text.lines().map(str::to_string).collect();
            (f, lines)
        })
        .collect()
}

/// `(uid, resourceVersion)` of every line of every file, in order.
fn keys(path: &Path) -> Vec<(String, String)> {
    files_lines(path)
        .into_iter()
        .flat_map(|(_, lines)| lines)
        .map(|l| {
            let r: crate::model::record::Record =
                serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}"));
            (r.uid, r.resource_version)
        })
        .collect()
}

fn keys_of(ds: &[Delivery]) -> Vec<(String, String)> {
    ds.iter()
        .map(|d| {
            (
                d.occurrence.event.uid.clone(),
                d.occurrence.event.resource_version.clone(),
            )
        })
        .collect()
}

struct FileHarness {
    _dir: tempfile::TempDir,
    config: FileSinkConfig,
}

impl FileHarness {
    fn new(config: impl FnOnce(PathBuf) -> FileSinkConfig) -> FileHarness {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path().join("events.ndjson"));
        FileHarness { _dir: dir, config }
    }
}

#[async_trait]
impl compliance::Harness for FileHarness {
    async fn sink(&mut self) -> Box<dyn Sink> {
        Box::new(self.config.build("file").unwrap())
    }
    async fn delivered(&mut self) -> Vec<(String, String)> {
        keys(&self.config.path)
    }
}

#[tokio::test]
async fn the_file_sink_is_compliant_with_every_fsync_policy() {
    for policy in [
        FsyncPolicy::Never,
        FsyncPolicy::Batch,
        FsyncPolicy::Interval,
    ] {
        compliance::run(FileHarness::new(|p| FileSinkConfig::new(p).fsync(policy))).await;
    }
}

#[tokio::test]
async fn the_file_sink_is_compliant_while_rotating() {
    for compress in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        compliance::run(FileHarness {
            _dir: tempfile::tempdir().unwrap(),
            config: FileSinkConfig::new(&path).rotate(
                RotateConfig::new()
                    .max_bytes(4096)
                    .keep(1000)
                    .compress(compress),
            ),
        })
        .await;
        let files = rotate::Rotation::files_oldest_first(&path);
        assert!(files.len() >= 4, "it rotated: {files:?}");
        assert_eq!(
            files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "gz"))
                .count(),
            if compress { files.len() - 1 } else { 0 }
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_sink_is_compliant_on_a_multi_threaded_runtime() {
    compliance::run(FileHarness::new(|p| {
        FileSinkConfig::new(p).rotate(
            RotateConfig::new()
                .max_bytes(8192)
                .keep(1000)
                .compress(true),
        )
    }))
    .await;
}

struct StdoutHarness(Shared);

#[async_trait]
impl compliance::Harness for StdoutHarness {
    async fn sink(&mut self) -> Box<dyn Sink> {
        Box::new(
            FileSinkConfig::new("-")
                .build("stdout-file")
                .unwrap()
                .writing_to(Box::new(self.0.clone())),
        )
    }
    async fn delivered(&mut self) -> Vec<(String, String)> {
        let text = String::from_utf8(self.0.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| {
                let r: crate::model::record::Record = serde_json::from_str(l).unwrap();
                (r.uid, r.resource_version)
            })
            .collect()
    }
}

#[tokio::test]
async fn the_file_sink_on_stdout_is_compliant() {
    compliance::run(StdoutHarness(Shared::default())).await;
}

#[tokio::test]
async fn dash_writes_to_stdout_exactly_what_ndjson_prints() {
    let out = Shared::default();
    let mut sink = FileSinkConfig::new("-")
        .build("out")
        .unwrap()
        .writing_to(Box::new(out.clone()));
    assert_eq!(sink.path(), None);
    assert_eq!(sink.tick_every(), None, "nothing to fsync or rotate");
    let ds = deliveries(1, 50);
    let a = sink.send(batch(ds.clone())).await.unwrap();
    assert_eq!(a.up_to, Some(50), "acknowledged once written and flushed");
    assert_eq!(*out.0.lock().unwrap(), ndjson(&ds));
}

#[test]
fn dash_is_stdout_itself_by_default() {
    let sink = FileSinkConfig::new("-").build("out").unwrap();
    assert!(matches!(sink.out, Output::Stdout(_)));
    assert_eq!(sink.name(), "out");
}

#[tokio::test]
async fn the_file_holds_exactly_what_ndjson_prints_and_the_encoder_agrees() {
    let h = FileHarness::new(FileSinkConfig::new);
    let mut sink = h.config.build("events").unwrap();
    assert_eq!(sink.name(), "events");
    assert_eq!(sink.path(), Some(h.config.path.as_path()));
    let ds = deliveries(1, 100);
    sink.send(batch(ds[..60].to_vec())).await.unwrap();
    // An encoded batch (the parallel replay reader) is written as is.
    let encoder = sink.encoder().expect("the file sink offers its encoder");
    let mut encoded = Vec::new();
    for d in &ds[60..] {
        encoder(&d.occurrence, &mut encoded).unwrap();
    }
    sink.send(Batch {
        deliveries: ds[60..].to_vec(),
        listing: false,
        encoded: Some(encoded),
    })
    .await
    .unwrap();
    sink.close().await.unwrap();
    assert_eq!(fs::read(&h.config.path).unwrap(), ndjson(&ds));
}

#[tokio::test]
async fn never_acknowledges_once_written_and_never_fsyncs() {
    let h = FileHarness::new(|p| FileSinkConfig::new(p).fsync(FsyncPolicy::Never));
    let mut sink = h.config.build("f").unwrap();
    assert_eq!(sink.tick_every(), Some(HOUSEKEEPING_TICK));
    let a = sink.send(batch(deliveries(1, 10))).await.unwrap();
    assert_eq!(a.up_to, Some(10));
    assert_eq!(keys(&h.config.path).len(), 10, "written to the OS");
    let a = sink.send(batch(vec![])).await.unwrap();
    assert_eq!(a.up_to, Some(10), "an empty batch changes nothing");
    assert_eq!(sink.tick().await.unwrap().up_to, Some(10));
    assert_eq!(sink.flush().await.unwrap().up_to, Some(10));
    assert_eq!(sink.close().await.unwrap().up_to, Some(10));
    assert_eq!(sink.fsyncs(), 0);
}

#[tokio::test]
async fn batch_fsyncs_each_batch_before_acknowledging_it() {
    let h = FileHarness::new(|p| FileSinkConfig::new(p).fsync(FsyncPolicy::Batch));
    let mut sink = h.config.build("f").unwrap();
    assert_eq!(
        sink.send(batch(deliveries(1, 10))).await.unwrap().up_to,
        Some(10)
    );
    assert_eq!(sink.fsyncs(), 1);
    assert_eq!(
        sink.send(batch(deliveries(11, 5))).await.unwrap().up_to,
        Some(15)
    );
    assert_eq!(sink.fsyncs(), 2);
    sink.send(batch(vec![])).await.unwrap();
    assert_eq!(sink.fsyncs(), 2, "nothing to sync for an empty batch");
    assert_eq!(sink.tick().await.unwrap().up_to, Some(15));
    assert_eq!(sink.flush().await.unwrap().up_to, Some(15));
    assert_eq!(sink.fsyncs(), 2, "nothing new to sync");
}

#[tokio::test]
async fn interval_acknowledges_nothing_until_a_tick_has_fsynced_it() {
    let h = FileHarness::new(|p| {
        FileSinkConfig::new(p)
            .fsync(FsyncPolicy::Interval)
            .fsync_interval(Duration::from_millis(250))
    });
    let mut sink = h.config.build("f").unwrap();
    assert_eq!(sink.tick_every(), Some(Duration::from_millis(250)));
    assert_eq!(sink.tick().await.unwrap(), Acked::NOTHING);
    assert_eq!(sink.fsyncs(), 0, "nothing written, nothing synced");
    assert_eq!(
        sink.send(batch(deliveries(1, 10))).await.unwrap(),
        Acked::NOTHING
    );
    assert_eq!(
        sink.send(batch(deliveries(11, 10))).await.unwrap(),
        Acked::NOTHING
    );
    assert_eq!(
        keys(&h.config.path).len(),
        20,
        "written, not yet acknowledged"
    );
    assert_eq!(sink.fsyncs(), 0);
    assert_eq!(sink.tick().await.unwrap().up_to, Some(20));
    assert_eq!(sink.fsyncs(), 1, "one fsync covers both batches");
    assert_eq!(sink.tick().await.unwrap().up_to, Some(20));
    assert_eq!(sink.fsyncs(), 1, "no new writes, no fsync");
    assert_eq!(
        sink.send(batch(deliveries(21, 5))).await.unwrap().up_to,
        Some(20),
        "what the last fsync covered, no more"
    );
    assert_eq!(sink.flush().await.unwrap().up_to, Some(25));
    assert_eq!(sink.fsyncs(), 2);
    sink.send(batch(deliveries(26, 5))).await.unwrap();
    assert_eq!(sink.close().await.unwrap().up_to, Some(30), "close syncs");
    assert_eq!(sink.fsyncs(), 3);
}

#[tokio::test]
async fn interval_is_the_default_every_second() {
    let h = FileHarness::new(FileSinkConfig::new);
    let sink = h.config.build("f").unwrap();
    assert_eq!(sink.fsync, FsyncPolicy::Interval);
    assert_eq!(sink.tick_every(), Some(Duration::from_secs(1)));
}

/// One record's line length, for sizing rotations.
fn line_len() -> u64 {
    ndjson(&deliveries(1, 1)).len() as u64
}

#[tokio::test]
async fn rotates_by_size_between_batches_and_never_splits_a_line() {
    // About three records a file, batches of two: a batch that would take
    // the file past maxBytes goes to the next one, whole.
    let max = line_len() * 3;
    let h = FileHarness::new(|p| {
        FileSinkConfig::new(p).rotate(RotateConfig::new().max_bytes(max).keep(100))
    });
    let mut sink = h.config.build("f").unwrap();
    let ds = deliveries(1, 40);
    for pair in ds.chunks(2) {
        sink.send(batch(pair.to_vec())).await.unwrap();
    }
    sink.close().await.unwrap();
    let files = files_lines(&h.config.path);
    assert!(files.len() >= 10, "{} files", files.len());
    for (f, lines) in &files {
        let size = fs::metadata(f).unwrap().len();
        assert!(size <= max * 13 / 10, "{}: {size} bytes", f.display());
        // Batches are pairs 2k-1, 2k: a file starts at a batch boundary.
        let first: crate::model::record::Record = serde_json::from_str(&lines[0]).unwrap();
        let at = ds
            .iter()
            .position(|d| d.occurrence.event.uid == first.uid)
            .unwrap();
        assert_eq!(at % 2, 0, "{} starts inside a batch", f.display());
        assert_eq!(lines.len() % 2, 0, "{} splits a batch", f.display());
    }
    assert_eq!(
        keys(&h.config.path),
        keys_of(&ds),
        "every line once, in order"
    );
}

#[tokio::test]
async fn a_batch_larger_than_max_bytes_fills_a_file_by_itself() {
    let h = FileHarness::new(|p| {
        FileSinkConfig::new(p).rotate(RotateConfig::new().max_bytes(100).keep(10))
    });
    let mut sink = h.config.build("f").unwrap();
    let ds = deliveries(1, 30);
    for b in ds.chunks(10) {
        sink.send(batch(b.to_vec())).await.unwrap();
    }
    sink.close().await.unwrap();
    let files = files_lines(&h.config.path);
    let counts: Vec<usize> = files.iter().map(|(_, l)| l.len()).collect();
    assert_eq!(counts, [10, 10, 10]);
    assert_eq!(keys(&h.config.path), keys_of(&ds));
}

#[tokio::test(start_paused = true)]
async fn rotates_by_age_before_a_batch_and_on_a_tick() {
    let h = FileHarness::new(|p| {
        FileSinkConfig::new(p)
            .fsync(FsyncPolicy::Never)
            .rotate(RotateConfig::new().max_age(Duration::from_secs(3600)))
    });
    let mut sink = h.config.build("f").unwrap();
    let rotated = h.config.path.with_extension("ndjson.1");
    sink.send(batch(deliveries(1, 3))).await.unwrap();
    tokio::time::advance(Duration::from_secs(3599)).await;
    sink.send(batch(deliveries(4, 3))).await.unwrap();
    sink.tick().await.unwrap();
    assert!(!rotated.exists(), "not an hour old yet");
    tokio::time::advance(Duration::from_secs(1)).await;
    sink.send(batch(deliveries(7, 3))).await.unwrap();
    assert_eq!(keys(&rotated), keys_of(&deliveries(1, 6)));
    assert_eq!(
        keys(&h.config.path)[6..],
        keys_of(&deliveries(7, 3))[..],
        "the new file holds the batch after the rotation"
    );
    // An idle file is rotated on a tick.
    tokio::time::advance(Duration::from_secs(3600)).await;
    sink.tick().await.unwrap();
    assert_eq!(
        files_lines(&h.config.path)
            .iter()
            .map(|(_, l)| l.len())
            .collect::<Vec<_>>(),
        [6, 3, 0]
    );
    // An empty file is not rotated, however old.
    tokio::time::advance(Duration::from_secs(7200)).await;
    sink.tick().await.unwrap();
    assert_eq!(files_lines(&h.config.path).len(), 3);
}

#[tokio::test]
async fn keep_is_enforced() {
    let h = FileHarness::new(|p| {
        FileSinkConfig::new(p).rotate(RotateConfig::new().max_bytes(1).keep(2))
    });
    let mut sink = h.config.build("f").unwrap();
    for i in 0..6 {
        sink.send(batch(deliveries(1 + i * 2, 2))).await.unwrap();
    }
    sink.close().await.unwrap();
    let dir = h.config.path.parent().unwrap();
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["events.ndjson", "events.ndjson.1", "events.ndjson.2"]
    );
    assert_eq!(
        keys(&h.config.path),
        keys_of(&deliveries(7, 6)),
        "the newest three batches"
    );
}

#[tokio::test]
async fn compressed_rotated_files_decompress_to_whole_lines() {
    let max = line_len() * 5;
    let h = FileHarness::new(|p| {
        FileSinkConfig::new(p).rotate(RotateConfig::new().max_bytes(max).keep(50).compress(true))
    });
    let mut sink = h.config.build("f").unwrap();
    let ds = deliveries(1, 60);
    for b in ds.chunks(3) {
        sink.send(batch(b.to_vec())).await.unwrap();
    }
    sink.close().await.unwrap();
    let files = rotate::Rotation::files_oldest_first(&h.config.path);
    assert!(files.len() > 5);
    for f in &files[..files.len() - 1] {
        assert!(
            f.extension().is_some_and(|e| e == "gz"),
            "{}: close waits for the compression",
            f.display()
        );
        let text = String::from_utf8(read_file(f)).unwrap();
        assert!(text.ends_with('\n'));
        assert_eq!(text.lines().count() % 3, 0, "whole batches");
    }
    assert!(
        !fs::read_dir(h.config.path.parent().unwrap())
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".tmp")),
        "no temporaries left"
    );
    assert_eq!(keys(&h.config.path), keys_of(&ds));
}

#[tokio::test]
async fn a_rotated_file_left_uncompressed_by_a_killed_kev_is_compressed() {
    let h = FileHarness::new(|p| {
        FileSinkConfig::new(p).rotate(RotateConfig::new().max_bytes(1 << 20).compress(true))
    });
    let old = deliveries(1, 4);
    let rotated = h.config.path.with_extension("ndjson.1");
    fs::write(&rotated, ndjson(&old)).unwrap();
    fs::write(
        h.config.path.with_extension("ndjson.1.gz.tmp"),
        b"half a gzip",
    )
    .unwrap();
    let mut sink = h.config.build("f").unwrap();
    sink.send(batch(deliveries(5, 2))).await.unwrap();
    sink.close().await.unwrap();
    assert!(!rotated.exists());
    let gz = h.config.path.with_extension("ndjson.1.gz");
    assert_eq!(read_file(&gz), ndjson(&old));
    assert_eq!(keys(&h.config.path), keys_of(&deliveries(1, 6)));
}

#[tokio::test]
async fn rotation_under_interval_fsyncs_the_old_file_and_acknowledges_it() {
    let h = FileHarness::new(|p| {
        FileSinkConfig::new(p)
            .fsync(FsyncPolicy::Interval)
            .rotate(RotateConfig::new().max_bytes(1))
    });
    let mut sink = h.config.build("f").unwrap();
    assert_eq!(
        sink.send(batch(deliveries(1, 2))).await.unwrap(),
        Acked::NOTHING
    );
    // This batch rotates first: the old file is synced on its way out.
    let a = sink.send(batch(deliveries(3, 2))).await.unwrap();
    assert_eq!(a.up_to, Some(2));
    assert_eq!(sink.fsyncs(), 1);
    assert_eq!(sink.tick().await.unwrap().up_to, Some(4));
}

#[tokio::test]
async fn opening_cuts_a_partial_last_line_and_appends_whole_lines_after_it() {
    let h = FileHarness::new(FileSinkConfig::new);
    let before = ndjson(&deliveries(1, 3));
    let mut killed = before.clone();
    killed.extend_from_slice(&ndjson(&deliveries(4, 1))[..100]);
    fs::write(&h.config.path, &killed).unwrap();
    let mut sink = h.config.build("f").unwrap();
    assert_eq!(fs::read(&h.config.path).unwrap(), before, "cut on open");
    sink.send(batch(deliveries(4, 2))).await.unwrap();
    sink.close().await.unwrap();
    assert_eq!(keys(&h.config.path), keys_of(&deliveries(1, 5)));
}

#[tokio::test]
async fn reopen_writes_to_a_new_file_after_an_external_rotation() {
    let h = FileHarness::new(|p| FileSinkConfig::new(p).fsync(FsyncPolicy::Interval));
    let mut sink = h.config.build("f").unwrap();
    sink.send(batch(deliveries(1, 3))).await.unwrap();
    // logrotate moves the file away, then signals kev.
    let moved = h.config.path.with_extension("ndjson-20261128");
    fs::rename(&h.config.path, &moved).unwrap();
    sink.send(batch(deliveries(4, 1))).await.unwrap();
    let a = sink.reopen().unwrap();
    assert_eq!(
        a.up_to,
        Some(4),
        "the old file is synced before it is let go"
    );
    assert_eq!(sink.fsyncs(), 1);
    assert!(h.config.path.exists(), "a new file at the path");
    sink.send(batch(deliveries(5, 2))).await.unwrap();
    sink.close().await.unwrap();
    assert_eq!(keys(&moved), keys_of(&deliveries(1, 4)));
    assert_eq!(keys(&h.config.path), keys_of(&deliveries(5, 2)));
}

#[tokio::test]
async fn a_hangup_reopens_before_the_next_batch() {
    let h = FileHarness::new(|p| FileSinkConfig::new(p).fsync(FsyncPolicy::Never));
    let mut sink = h.config.build("f").unwrap();
    sink.send(batch(deliveries(1, 2))).await.unwrap();
    let moved = h.config.path.with_extension("old");
    fs::rename(&h.config.path, &moved).unwrap();
    // What the SIGHUP task does.
    let Hangup::Listening { requested, .. } = &sink.hangup else {
        panic!("a sink built on a runtime listens for SIGHUP");
    };
    requested.store(true, Ordering::Release);
    sink.send(batch(deliveries(3, 2))).await.unwrap();
    assert_eq!(keys(&moved), keys_of(&deliveries(1, 2)));
    assert_eq!(keys(&h.config.path), keys_of(&deliveries(3, 2)));
    // And on a tick, for an idle sink.
    fs::rename(&h.config.path, &moved).unwrap();
    let Hangup::Listening { requested, .. } = &sink.hangup else {
        unreachable!()
    };
    requested.store(true, Ordering::Release);
    sink.tick().await.unwrap();
    assert!(h.config.path.exists());
}

#[test]
fn a_sink_built_outside_a_runtime_listens_once_it_runs() {
    let h = FileHarness::new(FileSinkConfig::new);
    let mut sink = h.config.build("f").unwrap();
    assert!(matches!(sink.hangup, Hangup::NotYet));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sink.send(batch(deliveries(1, 1))).await.unwrap();
        assert!(matches!(sink.hangup, Hangup::Listening { .. }));
        sink.close().await.unwrap();
    });
}

#[tokio::test]
async fn an_unopenable_path_is_an_io_error_saying_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("events.ndjson");
    let err = FileSinkConfig::new(&path).build("f").unwrap_err();
    let SinkError::Io { what, source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*what, format!("opening {}", path.display()));
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().starts_with("f: opening "), "{err}");
}

#[test]
fn build_rejects_what_check_rejects() {
    let err = FileSinkConfig::new("/tmp/x.ndjson")
        .fsync_interval(Duration::ZERO)
        .build("f")
        .unwrap_err();
    assert!(err.to_string().contains("invalid configuration"), "{err}");
}
