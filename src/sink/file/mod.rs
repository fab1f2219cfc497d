//! The NDJSON file sink: `kev/v1` records appended to a file, one per line,
//! exactly as `-o ndjson` prints them (docs/ndjson.md).
//!
//! Built from a [`FileSinkConfig`] (the daemon config's per-sink YAML).
//! What it promises:
//!
//! - **Whole lines only.** Each batch is encoded, then written with one
//!   `write_all` to a file opened with `O_APPEND`; rotation happens between
//!   batches. A kev killed mid-write can still leave a partial last line
//!   (the kernel stops copying at a fatal signal), so opening the file cuts
//!   a partial last line back to the last newline (the `open` module),
//!   and so does a failed write. Those bytes were never acknowledged, and
//!   the pipeline delivers them again.
//! - **Acknowledged means durable**, as [`FsyncPolicy`] defines it: `never`
//!   acknowledges a batch once written to the OS, `batch` once fsynced,
//!   `interval` (the default) on the tick whose fsync covered it.
//!   Acknowledgements are never ahead of what the policy makes durable;
//!   rotation and reopening fsync the old file first (except with `never`).
//! - **Rotation** by size and/or age, with `keep` rotated files, optionally
//!   gzipped off the write path (the `rotate` module).
//! - **SIGHUP reopens** the path, for an external logrotate that moved the
//!   file away: every file sink in the process listens (a small task sets a
//!   flag the sink checks before each batch and on each tick, so an idle
//!   sink reopens within a tick). [`FileSink::reopen`] is the same, directly.
//!   The listener needs a tokio runtime with its drivers enabled (kev's are);
//!   a sink built outside a runtime starts listening on its first call.
//! - Path `-` is stdout, through [`Stdout`] (a closed pipe ends delivery
//!   quietly, [`SinkError::Closed`]); no rotation, no fsync.
//!
//! The sink offers its [`Sink::encoder`], so a source that encodes on every
//! core (replay) hands it finished lines.

pub mod config;
mod open;
mod rotate;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

pub use config::{FileSinkConfig, FsyncPolicy, RotateConfig};

use super::{Acked, Batch, Encoder, Sink, SinkError};
use crate::model::Occurrence;
use crate::output::stdout::Stdout;
use rotate::Rotation;

/// How often a sink that does not fsync on an interval is ticked: to rotate
/// an idle file by age and to reopen an idle file on SIGHUP.
const HOUSEKEEPING_TICK: Duration = Duration::from_secs(1);

/// Appends `kev/v1` records to a file; see the module docs.
pub struct FileSink {
    name: String,
    out: Output,
    fsync: FsyncPolicy,
    fsync_interval: Duration,
    /// The encoded batch, reused.
    buf: Vec<u8>,
    /// The highest sequence number written to the OS.
    written: Option<u64>,
    /// The highest sequence number durable by the policy: what is acknowledged.
    durable: Option<u64>,
    hangup: Hangup,
    /// fsyncs of the file so far (tests count them).
    fsyncs: u64,
}

enum Output {
    Stdout(Stdout),
    File(Box<ActiveFile>),
}

/// The file being appended to.
struct ActiveFile {
    path: PathBuf,
    file: File,
    /// Its length as this sink knows it (re-read on each tick, in case
    /// something else truncated it).
    len: u64,
    /// When it was created, on the tokio clock (paused in tests).
    born: Instant,
    /// Written since the last fsync.
    dirty: bool,
    rotation: Option<Rotation>,
    /// The compression of rotated files in flight.
    compressing: Option<JoinHandle<()>>,
    /// Compress what a previous kev left uncompressed, on the first call.
    recover: bool,
}

/// Listening for SIGHUP.
enum Hangup {
    /// Not yet: built outside a runtime.
    NotYet,
    /// A task sets `requested` on each SIGHUP.
    Listening {
        requested: Arc<AtomicBool>,
        task: AbortHandle,
    },
    /// Stdout, or the signal could not be listened for (logged).
    Off,
}

impl Drop for Hangup {
    fn drop(&mut self) {
        if let Hangup::Listening { task, .. } = self {
            task.abort();
        }
    }
}

impl Hangup {
    /// Listen, if there is a runtime to listen on.
    fn start() -> Hangup {
        let Ok(handle) = Handle::try_current() else {
            return Hangup::NotYet;
        };
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(mut signal) => {
                let requested = Arc::new(AtomicBool::new(false));
                let flag = requested.clone();
                let task = handle.spawn(async move {
                    while signal.recv().await.is_some() {
                        flag.store(true, Ordering::Release);
                    }
                });
                Hangup::Listening {
                    requested,
                    task: task.abort_handle(),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP: files will not be reopened on it");
                Hangup::Off
            }
        }
    }

    /// Whether a SIGHUP came since the last call (starting to listen if
    /// not yet).
    fn take(&mut self) -> bool {
        if let Hangup::NotYet = self {
            *self = Hangup::start();
        }
        match self {
            Hangup::Listening { requested, .. } => requested.swap(false, Ordering::AcqRel),
            _ => false,
        }
    }
}

impl std::fmt::Debug for FileSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = match &self.out {
            Output::Stdout(_) => None,
            Output::File(a) => Some(&a.path),
        };
        f.debug_struct("FileSink")
            .field("name", &self.name)
            .field("path", &path)
            .field("fsync", &self.fsync)
            .field("written", &self.written)
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}

/// Encode one occurrence as its `kev/v1` line, as `-o ndjson` prints it.
pub fn encode_line(occ: &Occurrence, out: &mut Vec<u8>) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &occ.record())?;
    out.push(b'\n');
    Ok(())
}

/// Run blocking file work: on a multi-threaded runtime let it move other
/// tasks off this thread meanwhile (a current-thread runtime has nowhere to
/// move them).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl FileSink {
    /// Open the sink `config` describes (through [`FileSinkConfig::build`],
    /// which checks the values first).
    fn open(name: &str, config: &FileSinkConfig) -> Result<FileSink, SinkError> {
        let (out, hangup) = if config.is_stdout() {
            (Output::Stdout(Stdout::new()), Hangup::Off)
        } else {
            let rotation = config
                .rotate
                .as_ref()
                .map(|r| Rotation::new(&config.path, r));
            let recover = rotation.as_ref().is_some_and(Rotation::compresses);
            let active = ActiveFile::open(name, config.path.clone(), config.fsync, rotation)?;
            (
                Output::File(Box::new(ActiveFile { recover, ..active })),
                Hangup::start(),
            )
        };
        Ok(FileSink {
            name: name.to_string(),
            out,
            fsync: config.fsync,
            fsync_interval: config.fsync_interval.0,
            buf: Vec::with_capacity(1 << 20),
            written: None,
            durable: None,
            hangup,
            fsyncs: 0,
        })
    }

    /// Write to `out` instead, as path `-` writes to stdout (tests): no
    /// rotation, no fsync, acknowledged once written and flushed.
    #[must_use]
    pub fn writing_to(mut self, out: Box<dyn Write + Send>) -> FileSink {
        self.out = Output::Stdout(Stdout::to(out));
        self.hangup = Hangup::Off;
        self
    }

    /// The file being written (`None` for stdout).
    pub fn path(&self) -> Option<&std::path::Path> {
        match &self.out {
            Output::Stdout(_) => None,
            Output::File(a) => Some(&a.path),
        }
    }

    /// Reopen the path: what SIGHUP does, for an external rotation that
    /// moved the file away (kev then writes to a new file at the path).
    /// The old file is fsynced first (unless `fsync: never`); returns what
    /// is acknowledged now. For stdout, nothing to do.
    pub fn reopen(&mut self) -> Result<Acked, SinkError> {
        let Output::File(active) = &mut self.out else {
            return Ok(self.acked());
        };
        self.fsyncs += active.sync_if_dirty(&self.name, self.fsync)?;
        if self.fsync != FsyncPolicy::Never {
            self.durable = self.written;
        }
        let reopened = ActiveFile::open(
            &self.name,
            active.path.clone(),
            self.fsync,
            active.rotation.clone(),
        )?;
        // The compression in flight and a pending recovery carry over.
        **active = ActiveFile {
            compressing: active.compressing.take(),
            recover: active.recover,
            ..reopened
        };
        tracing::info!(sink = %self.name, path = %active.path.display(), "reopened");
        Ok(self.acked())
    }

    /// fsyncs so far (tests).
    #[cfg(test)]
    fn fsyncs(&self) -> u64 {
        self.fsyncs
    }

    fn acked(&self) -> Acked {
        Acked {
            up_to: self.durable,
        }
    }

    /// Housekeeping before a batch or on a tick: a requested reopen,
    /// leftover compression, rotation when due (`incoming` bytes about to
    /// be appended).
    async fn prepare(&mut self, incoming: u64) -> Result<(), SinkError> {
        if !matches!(self.out, Output::File(_)) {
            return Ok(());
        }
        if self.hangup.take() {
            self.reopen()?;
        }
        let Output::File(active) = &mut self.out else {
            return Ok(());
        };
        if std::mem::take(&mut active.recover) {
            active.start_compression();
        }
        let due = active
            .rotation
            .as_ref()
            .is_some_and(|r| r.due(active.len, active.born.elapsed(), incoming));
        if due {
            self.rotate().await?;
        }
        Ok(())
    }

    /// Rotate between batches: fsync what the old file holds (unless
    /// `never`), wait for the last compression, shift the files, open a new
    /// one at the path and start compressing the rotated one.
    async fn rotate(&mut self) -> Result<(), SinkError> {
        let Output::File(active) = &mut self.out else {
            return Ok(());
        };
        self.fsyncs += active.sync_if_dirty(&self.name, self.fsync)?;
        if self.fsync != FsyncPolicy::Never {
            self.durable = self.written;
        }
        if let Some(previous) = active.compressing.take() {
            // A compression that panicked lost nothing: its file stays
            // uncompressed and the next compression takes it.
            let _ = previous.await;
        }
        let Some(rotation) = active.rotation.clone() else {
            return Ok(());
        };
        let path = active.path.clone();
        blocking(|| rotation.shift())
            .map_err(|e| io_error(&self.name, format!("rotating {}", path.display()), e))?;
        let reopened = ActiveFile::open(&self.name, path, self.fsync, Some(rotation))?;
        **active = reopened;
        active.start_compression();
        tracing::debug!(sink = %self.name, path = %active.path.display(), "rotated");
        Ok(())
    }

    /// Write one batch's bytes (whole lines) in one go.
    fn append(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        match &mut self.out {
            Output::Stdout(out) => {
                let written = blocking(|| {
                    out.write_all(bytes)?;
                    out.flush()
                });
                written.map_err(|e| io_error(&self.name, "writing to stdout".to_string(), e))?;
                if out.is_closed() {
                    return Err(SinkError::Closed {
                        sink: self.name.clone(),
                    });
                }
            }
            Output::File(active) => active.append(&self.name, bytes)?,
        }
        Ok(())
    }
}

impl ActiveFile {
    /// Open (create, repair) `path`.
    fn open(
        name: &str,
        path: PathBuf,
        fsync: FsyncPolicy,
        rotation: Option<Rotation>,
    ) -> Result<ActiveFile, SinkError> {
        let durable = fsync != FsyncPolicy::Never;
        let opened = blocking(|| open::open_append(&path, durable))
            .map_err(|e| io_error(name, format!("opening {}", path.display()), e))?;
        let now = Instant::now();
        Ok(ActiveFile {
            file: opened.file,
            len: opened.len,
            born: now.checked_sub(opened.age).unwrap_or(now),
            dirty: false,
            rotation,
            compressing: None,
            recover: false,
            path,
        })
    }

    /// Append `bytes`; after a failure, leave no partial line behind.
    fn append(&mut self, name: &str, bytes: &[u8]) -> Result<(), SinkError> {
        let ActiveFile {
            file, path, len, ..
        } = self;
        let written = blocking(|| (&*file).write_all(bytes));
        if let Err(e) = written {
            // A full disk may have taken part of the batch: cut it back (to
            // where the batch began when nothing else truncated the file,
            // and in any case to a whole line). The batch is not
            // acknowledged; it will be delivered again.
            let repaired = blocking(|| {
                if file.metadata()?.len() >= *len {
                    file.set_len(*len)?;
                }
                open::cut_partial_line(file, path)
            });
            match repaired {
                Ok(l) => *len = l,
                Err(e) => tracing::error!(
                    path = %path.display(), error = %e,
                    "cannot cut back a failed write: the file may end inside a line until kev reopens it"
                ),
            }
            return Err(io_error(name, format!("writing to {}", path.display()), e));
        }
        *len += bytes.len() as u64;
        self.dirty = true;
        Ok(())
    }

    /// fsync if written since the last one and the policy syncs at all;
    /// the number of fsyncs done (0 or 1).
    fn sync_if_dirty(&mut self, name: &str, fsync: FsyncPolicy) -> Result<u64, SinkError> {
        if !self.dirty || fsync == FsyncPolicy::Never {
            return Ok(0);
        }
        let synced = blocking(|| self.file.sync_data());
        synced.map_err(|e| io_error(name, format!("fsync of {}", self.path.display()), e))?;
        self.dirty = false;
        Ok(1)
    }

    /// Compress rotated files in the background, when configured.
    fn start_compression(&mut self) {
        let Some(rotation) = self.rotation.clone().filter(Rotation::compresses) else {
            return;
        };
        let compress = move || {
            if let Err(e) = rotation.compress_pending() {
                // Nothing is lost: the rotated file stays uncompressed, and
                // the next rotation tries again.
                tracing::warn!(error = %e, "compressing a rotated file failed");
            }
        };
        match Handle::try_current() {
            Ok(h) => self.compressing = Some(h.spawn_blocking(compress)),
            Err(_) => compress(),
        }
    }

    /// Wait for the compression in flight.
    async fn finish_compression(&mut self) {
        if let Some(c) = self.compressing.take() {
            let _ = c.await;
        }
    }
}

fn io_error(sink: &str, what: String, source: io::Error) -> SinkError {
    SinkError::Io {
        sink: sink.to_string(),
        what,
        source,
    }
}

#[async_trait]
impl Sink for FileSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&mut self, batch: Batch) -> Result<Acked, SinkError> {
        let Some(last) = batch.deliveries.iter().map(|d| d.seq).max() else {
            return Ok(self.acked());
        };
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let bytes: &[u8] = match &batch.encoded {
            // Lines from this sink's encoder; a missing final newline would
            // glue the next batch's first line to the last one.
            Some(encoded) if encoded.ends_with(b"\n") || encoded.is_empty() => encoded,
            Some(encoded) => {
                buf.extend_from_slice(encoded);
                buf.push(b'\n');
                &buf
            }
            None => {
                for d in &batch.deliveries {
                    encode_line(&d.occurrence, &mut buf)
                        .map_err(|e| io_error(&self.name, "encoding a record".to_string(), e))?;
                }
                &buf
            }
        };
        let result = async {
            self.prepare(bytes.len() as u64).await?;
            self.append(bytes)
        }
        .await;
        self.buf = buf;
        result?;
        self.written = Some(last);
        match (&mut self.out, self.fsync) {
            (Output::Stdout(_), _) | (_, FsyncPolicy::Never) => self.durable = self.written,
            (Output::File(active), FsyncPolicy::Batch) => {
                self.fsyncs += active.sync_if_dirty(&self.name, self.fsync)?;
                self.durable = self.written;
            }
            (Output::File(_), FsyncPolicy::Interval) => {}
        }
        Ok(self.acked())
    }

    async fn flush(&mut self) -> Result<Acked, SinkError> {
        if let Output::File(active) = &mut self.out {
            self.fsyncs += active.sync_if_dirty(&self.name, self.fsync)?;
        }
        self.durable = self.written;
        Ok(self.acked())
    }

    fn tick_every(&self) -> Option<Duration> {
        match (&self.out, self.fsync) {
            (Output::Stdout(_), _) => None,
            (Output::File(_), FsyncPolicy::Interval) => Some(self.fsync_interval),
            (Output::File(_), _) => Some(HOUSEKEEPING_TICK),
        }
    }

    async fn tick(&mut self) -> Result<Acked, SinkError> {
        if let Output::File(active) = &mut self.out {
            // Something else may have truncated the file (copytruncate).
            if let Ok(m) = active.file.metadata() {
                active.len = m.len();
            }
        }
        self.prepare(0).await?;
        if let (Output::File(active), FsyncPolicy::Interval) = (&mut self.out, self.fsync) {
            self.fsyncs += active.sync_if_dirty(&self.name, self.fsync)?;
            self.durable = self.written;
        }
        Ok(self.acked())
    }

    async fn close(&mut self) -> Result<Acked, SinkError> {
        let acked = self.flush().await?;
        if let Output::File(active) = &mut self.out {
            active.finish_compression().await;
        }
        self.hangup = Hangup::Off;
        Ok(acked)
    }

    fn encoder(&self) -> Option<Encoder> {
        Some(Arc::new(encode_line))
    }
}
