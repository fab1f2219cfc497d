//! The webhook sink's disk spool: batches wait here, bounded and fsynced,
//! while the endpoint is slow or down, and survive a restart of kev.
//!
//! With a spool, a batch is acknowledged to the pipeline once it is safely
//! on disk, and a task owned by the sink delivers the spool in order with
//! the retry policy ([`super::deliver`]). A new sink on the same directory
//! delivers what the spool holds before anything sent to it.
//!
//! # Format
//!
//! A directory of append-only **segment** files and one **acknowledged
//! offset** file. Offsets are global byte positions; each segment is named
//! after the offset of its first byte (`00000000000000000000.seg`, …), and
//! the next segment starts where the previous one ends. A segment holds
//! **frames**, one per batch:
//!
//! ```text
//! u32 LE  payload length
//! u32 LE  number of records
//! u32 LE  CRC-32 of the payload
//! payload the batch's kev/v1 records, one per line (NDJSON)
//! ```
//!
//! `acked` says where the first undelivered frame starts:
//! `kev-spool v1 acked <offset>\n`, replaced atomically (written to
//! `acked.tmp`, fsynced, renamed, directory fsynced) after each delivered
//! frame. Segments wholly before it are deleted. `lock` is held (flock)
//! by the sink that uses the directory and its delivery task, until both
//! are gone (after `close`, once the sink is dropped), so two sinks or two
//! kev processes cannot share a spool.
//!
//! # Bound
//!
//! `maxBytes` bounds the bytes of the segment files on disk. A segment is
//! closed at an eighth of it (between 64 KiB and 64 MiB), so delivered
//! frames are released in steps of at most that much. A batch larger than
//! the whole spool is still accepted when the spool is empty. When a batch
//! does not fit, `whenFull` decides: `block` (the default) waits until
//! delivery makes room, which back-pressures the pipeline as a sink without
//! a spool would; `dropNewest` drops the batch, acknowledges it, and counts
//! and logs the drop.
//!
//! # Crash semantics
//!
//! Nothing acknowledged is lost, and something may be delivered twice:
//!
//! - A frame is written and fsynced before its batch is acknowledged: a
//!   `kill -9` or a power cut mid-write leaves at most a torn last frame,
//!   which was never acknowledged (the pipeline sends its records again) and
//!   which the next start detects (length or CRC) and truncates.
//! - `acked` advances only after the endpoint answered 2xx (or the batch was
//!   dead-lettered). A crash between the answer and the rename delivers that
//!   frame again at the next start: receivers dedupe with the idempotency
//!   keys. A crash between the rename and deleting a segment leaves a
//!   segment that the next start deletes.
//! - A frame that fails its CRC *before* the last one (the disk corrupted
//!   it) cannot be read back: the segment is cut there, and the records
//!   lost are logged as an error and counted as dropped.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::WebhookStats;
use super::config::SpoolWhenFull;
use super::format::Item;
use crate::model::{Occurrence, Record};

const HEADER: usize = 12;
const ACKED: &str = "acked";
const ACKED_TMP: &str = "acked.tmp";
const LOCK: &str = "lock";
const ACKED_PREFIX: &str = "kev-spool v1 acked ";

/// A segment file: the global offset of its first byte, and its length.
#[derive(Clone, Copy, Debug)]
struct Segment {
    start: u64,
    len: u64,
}

impl Segment {
    fn end(&self) -> u64 {
        self.start + self.len
    }
}

#[derive(Debug)]
struct State {
    /// Oldest first; the last is the one being written.
    segments: VecDeque<Segment>,
    /// Where the first undelivered frame starts.
    acked: u64,
    /// After the last fsynced frame.
    end: u64,
}

impl State {
    fn disk_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.len).sum()
    }

    /// The segment holding `offset` (or starting at it), skipping a segment
    /// that ends there.
    fn locate(&self, offset: u64) -> Option<Segment> {
        self.segments
            .iter()
            .find(|s| offset >= s.start && offset < s.end())
            .copied()
    }
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    max_bytes: u64,
    state: Mutex<State>,
    /// A frame was appended.
    data: Notify,
    /// Room was made.
    space: Notify,
    stats: Arc<WebhookStats>,
    /// Held for as long as the spool is open.
    _lock: File,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn segment_path(&self, start: u64) -> PathBuf {
        segment_path(&self.dir, start)
    }

    fn publish_bytes(&self, st: &State) {
        self.stats.set_spool_bytes(st.end.saturating_sub(st.acked));
    }

    /// Delete the segments wholly before `acked`, except the one being written.
    fn reclaim(&self, st: &mut State) {
        while st.segments.len() > 1 && st.segments[0].end() <= st.acked {
            let Some(seg) = st.segments.pop_front() else {
                break;
            };
            if let Err(e) = std::fs::remove_file(self.segment_path(seg.start))
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(error = %e, dir = %self.dir.display(), "cannot delete a delivered spool segment");
            }
        }
    }
}

/// The writing side, owned by the sink.
#[derive(Debug)]
pub(crate) struct Spool {
    shared: Arc<Shared>,
    file: File,
    segment_max: u64,
    when_full: SpoolWhenFull,
    name: String,
}

/// The reading side, owned by the delivery task.
#[derive(Debug)]
pub(crate) struct SpoolReader {
    shared: Arc<Shared>,
    open: Option<(u64, File)>,
}

/// What became of an appended batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Appended {
    /// On disk.
    Stored,
    /// The spool was full and the policy is `dropNewest`.
    Dropped,
}

/// A frame read back: its records, and where the next frame starts.
#[derive(Debug)]
pub(crate) struct Frame {
    pub items: Vec<Item>,
    next: u64,
}

fn segment_path(dir: &Path, start: u64) -> PathBuf {
    dir.join(format!("{start:020}.seg"))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Check that `dir` can hold a spool: it exists (or can be made) and is
/// writable. For `kev run --check`; makes the directory if missing.
pub(crate) fn check_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    check_writable(dir)
}

/// Check that files can be made in the directory `dir` (a probe file,
/// removed again).
pub(crate) fn check_writable(dir: &Path) -> Result<(), String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let probe = dir.join(".kev-check");
    File::create(&probe)
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| format!("{} is not writable: {e}", dir.display()))
}

impl Spool {
    /// Open (or create) the spool in `dir`, recovering what a previous run
    /// left; see the module docs.
    pub fn open(
        dir: &Path,
        max_bytes: u64,
        when_full: SpoolWhenFull,
        stats: Arc<WebhookStats>,
        name: &str,
    ) -> Result<(Spool, SpoolReader), String> {
        let at = |e: io::Error, what: &str| format!("spool {}: {what}: {e}", dir.display());
        std::fs::create_dir_all(dir).map_err(|e| at(e, "cannot create the directory"))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK))
            .map_err(|e| at(e, "cannot open the lock file"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "spool {}: in use by another kev (or another sink)",
                    dir.display()
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(at(e, "cannot lock")),
        }
        let mut starts = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| at(e, "cannot list"))? {
            let entry = entry.map_err(|e| at(e, "cannot list"))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name.strip_suffix(".seg")
                && let Ok(start) = n.parse::<u64>()
            {
                starts.push(start);
            }
        }
        starts.sort_unstable();
        let mut segments = VecDeque::new();
        for start in starts {
            let len = std::fs::metadata(segment_path(dir, start))
                .map_err(|e| at(e, "cannot read a segment"))?
                .len();
            segments.push_back(Segment { start, len });
        }
        let first = segments.front().map_or(0, |s| s.start);
        let mut acked = match std::fs::read_to_string(dir.join(ACKED)) {
            Ok(text) => text
                .strip_prefix(ACKED_PREFIX)
                .and_then(|rest| rest.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    format!(
                        "spool {}: {ACKED} is not a kev spool offset ({:?}); move the directory away to start over",
                        dir.display(),
                        text.chars().take(60).collect::<String>()
                    )
                })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => first,
            Err(e) => return Err(at(e, "cannot read the acknowledged offset")),
        };
        acked = acked.max(first);
        let segment_max = (max_bytes / 8).clamp(64 << 10, 64 << 20);
        let mut dropped = 0u64;
        // Validate every frame not yet delivered; cut a segment at the first
        // bad one (a torn write at the tail, or corruption).
        for seg in segments.iter_mut() {
            if seg.end() <= acked {
                continue;
            }
            let path = segment_path(dir, seg.start);
            let from = acked.saturating_sub(seg.start);
            let (good, lost) = validate(&path, from).map_err(|e| at(e, "cannot read a segment"))?;
            if good < seg.len {
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| {
                        f.set_len(good)?;
                        f.sync_all()
                    })
                    .map_err(|e| at(e, "cannot truncate a damaged segment"))?;
                if lost > 0 {
                    tracing::error!(
                        sink = name,
                        spool = %dir.display(),
                        segment = %path.display(),
                        records = lost,
                        "spool segment damaged: records after the damage are lost"
                    );
                    dropped += lost;
                } else {
                    tracing::warn!(
                        sink = name,
                        spool = %dir.display(),
                        bytes = seg.len - good,
                        "spool: dropped an unfinished write (never acknowledged; it is sent again)"
                    );
                }
                seg.len = good;
            }
        }
        stats.add_dropped(dropped);
        // Start a new segment for this run: appends never go after a cut.
        let end = segments.back().map_or(0, Segment::end).max(acked);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(segment_path(dir, end))
            .map_err(|e| at(e, "cannot create a segment"))?;
        sync_dir(dir).map_err(|e| at(e, "cannot sync the directory"))?;
        if segments.back().map(|s| s.start) != Some(end) {
            segments.push_back(Segment { start: end, len: 0 });
        }
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            max_bytes,
            state: Mutex::new(State {
                segments,
                acked,
                end,
            }),
            data: Notify::new(),
            space: Notify::new(),
            stats,
            _lock: lock,
        });
        {
            let mut st = shared.state();
            // Frames between acked and `end` count from acked (gaps from
            // cuts are not pending bytes).
            st.end = end;
            shared.reclaim(&mut st);
            shared.publish_bytes(&st);
            let pending = st.end.saturating_sub(st.acked);
            if pending > 0 {
                tracing::info!(sink = name, spool = %dir.display(), bytes = pending, "spool holds undelivered batches from an earlier run: sending them first");
            }
        }
        Ok((
            Spool {
                shared: shared.clone(),
                file,
                segment_max,
                when_full,
                name: name.to_string(),
            },
            SpoolReader { shared, open: None },
        ))
    }

    /// Append `items` as one frame, fsynced; waits for room when full
    /// (`block`), or drops them (`dropNewest`).
    pub async fn append(&mut self, items: &[Item]) -> io::Result<Appended> {
        let frame = encode(items);
        let len = frame.len() as u64;
        let mut told = false;
        let shared = self.shared.clone();
        loop {
            let space = shared.space.notified();
            let (disk, drained) = {
                let st = self.shared.state();
                (st.disk_bytes(), st.acked >= st.end)
            };
            if disk + len <= self.shared.max_bytes || disk == 0 {
                break;
            }
            if drained && self.current_len() > 0 {
                // Everything is delivered but the segment being written
                // still takes the room: start the next one, the old go.
                self.roll()?;
                continue;
            }
            match self.when_full {
                SpoolWhenFull::DropNewest => {
                    self.shared
                        .stats
                        .dropped
                        .fetch_add(items.len() as u64, Ordering::Relaxed);
                    tracing::warn!(sink = %self.name, events = items.len(), max_bytes = self.shared.max_bytes, "spool full: batch dropped (whenFull: dropNewest)");
                    return Ok(Appended::Dropped);
                }
                SpoolWhenFull::Block => {
                    if !told {
                        told = true;
                        tracing::warn!(sink = %self.name, max_bytes = self.shared.max_bytes, "spool full: waiting for delivery to make room");
                    }
                    space.await;
                }
            }
        }
        if self.current_len() >= self.segment_max {
            self.roll()?;
        }
        let file = &mut self.file;
        super::blocking(|| {
            file.write_all(&frame)?;
            file.sync_data()
        })?;
        {
            let mut st = self.shared.state();
            if let Some(seg) = st.segments.back_mut() {
                seg.len += len;
            }
            st.end += len;
            self.shared.publish_bytes(&st);
        }
        self.shared.data.notify_one();
        Ok(Appended::Stored)
    }

    fn current_len(&self) -> u64 {
        self.shared.state().segments.back().map_or(0, |s| s.len)
    }

    /// Close the segment being written and start the next.
    fn roll(&mut self) -> io::Result<()> {
        let end = self.shared.state().end;
        let dir = self.shared.dir.clone();
        let file = super::blocking(|| {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(segment_path(&dir, end))?;
            sync_dir(&dir)?;
            Ok::<File, io::Error>(f)
        })?;
        self.file = file;
        let mut st = self.shared.state();
        st.segments.push_back(Segment { start: end, len: 0 });
        self.shared.reclaim(&mut st);
        Ok(())
    }
}

impl SpoolReader {
    /// The next undelivered frame, waiting for one; `None` once `closing`
    /// is cancelled and nothing is left.
    pub async fn next(
        &mut self,
        closing: &tokio_util::sync::CancellationToken,
    ) -> io::Result<Option<Frame>> {
        let shared = self.shared.clone();
        loop {
            let data = shared.data.notified();
            let at = {
                let st = self.shared.state();
                (st.acked < st.end).then(|| {
                    // Past a segment's end (or a cut), the next segment.
                    let offset = match st.locate(st.acked) {
                        Some(_) => st.acked,
                        None => st
                            .segments
                            .iter()
                            .find(|s| s.start >= st.acked && s.len > 0)
                            .map_or(st.end, |s| s.start),
                    };
                    (offset, st.locate(offset))
                })
            };
            match at {
                Some((offset, Some(seg))) => return self.read(seg, offset).map(Some),
                Some((offset, None)) => {
                    // Nothing readable up to the end: only empty segments.
                    let mut st = self.shared.state();
                    st.acked = offset.max(st.acked);
                    continue;
                }
                None if closing.is_cancelled() => return Ok(None),
                None => {
                    tokio::select! {
                        () = data => {}
                        () = closing.cancelled() => {}
                    }
                }
            }
        }
    }

    fn read(&mut self, seg: Segment, offset: u64) -> io::Result<Frame> {
        if self.open.as_ref().map(|(s, _)| *s) != Some(seg.start) {
            self.open = Some((seg.start, File::open(self.shared.segment_path(seg.start))?));
        }
        let Some((_, file)) = self.open.as_mut() else {
            return Err(io::Error::other("no segment open"));
        };
        let (frame, count) = super::blocking(|| read_frame(file, offset - seg.start))?;
        let next = offset + frame.len_on_disk;
        let Some(payload) = frame.payload else {
            // Damaged since it was written (validated at start or written
            // by this run): cannot be delivered.
            tracing::error!(spool = %self.shared.dir.display(), records = count, "spool frame damaged: its records are lost");
            self.shared
                .stats
                .dropped
                .fetch_add(u64::from(count), Ordering::Relaxed);
            return Ok(Frame {
                items: Vec::new(),
                next,
            });
        };
        let mut items = Vec::with_capacity(count as usize);
        for line in payload.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<Record>(line) {
                Ok(rec) => {
                    let (event, context) = rec.into_parts();
                    items.push(Item {
                        occ: Arc::new(Occurrence::new(event, context)),
                        json: line.to_vec(),
                    });
                }
                Err(e) => {
                    tracing::error!(spool = %self.shared.dir.display(), error = %e, "a spooled record does not read back: dropped");
                    self.shared.stats.add_dropped(1);
                }
            }
        }
        Ok(Frame { items, next })
    }

    /// `frame` is delivered (or dead-lettered): advance `acked` past it.
    pub fn ack(&mut self, frame: &Frame) -> io::Result<()> {
        let dir = self.shared.dir.clone();
        let next = frame.next;
        super::blocking(|| write_acked(&dir, next))?;
        let mut st = self.shared.state();
        st.acked = st.acked.max(next);
        self.shared.reclaim(&mut st);
        if self
            .open
            .as_ref()
            .is_some_and(|(s, _)| !st.segments.iter().any(|seg| seg.start == *s))
        {
            self.open = None;
        }
        self.shared.publish_bytes(&st);
        drop(st);
        self.shared.space.notify_one();
        Ok(())
    }
}

fn write_acked(dir: &Path, offset: u64) -> io::Result<()> {
    let tmp = dir.join(ACKED_TMP);
    let mut f = File::create(&tmp)?;
    f.write_all(format!("{ACKED_PREFIX}{offset}\n").as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(ACKED))?;
    sync_dir(dir)
}

fn encode(items: &[Item]) -> Vec<u8> {
    let size: usize = items.iter().map(|i| i.json.len() + 1).sum();
    let mut payload = Vec::with_capacity(size);
    for item in items {
        payload.extend_from_slice(&item.json);
        payload.push(b'\n');
    }
    let mut frame = Vec::with_capacity(HEADER + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&(items.len() as u32).to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    frame.extend_from_slice(&payload);
    frame
}

struct RawFrame {
    len_on_disk: u64,
    /// `None` if the CRC does not match.
    payload: Option<Vec<u8>>,
}

fn read_frame(file: &mut File, pos: u64) -> io::Result<(RawFrame, u32)> {
    file.seek(SeekFrom::Start(pos))?;
    let mut header = [0u8; HEADER];
    file.read_exact(&mut header)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let count = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let crc = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    let mut payload = vec![0u8; len as usize];
    file.read_exact(&mut payload)?;
    let ok = crc32fast::hash(&payload) == crc;
    Ok((
        RawFrame {
            len_on_disk: HEADER as u64 + u64::from(len),
            payload: ok.then_some(payload),
        },
        count,
    ))
}

/// Scan `path` from `from`: the length of its valid prefix, and how many
/// records lie in complete frames after the first bad one (lost, as
/// opposed to a torn tail, which holds none).
fn validate(path: &Path, from: u64) -> io::Result<(u64, u64)> {
    let bytes = std::fs::read(path)?;
    let mut pos = from as usize;
    while pos < bytes.len() {
        let Some(header) = bytes.get(pos..pos + HEADER) else {
            return Ok((pos as u64, 0));
        };
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
        let Some(payload) = bytes.get(pos + HEADER..pos + HEADER + len) else {
            return Ok((pos as u64, 0));
        };
        if crc32fast::hash(payload) != crc {
            // Whatever follows cannot be trusted to be frames; count the
            // records by their lines, as a best estimate of the loss.
            let lost = bytes[pos..].iter().filter(|b| **b == b'\n').count() as u64;
            return Ok((pos as u64, lost.max(1)));
        }
        pos += HEADER + len;
    }
    Ok((bytes.len() as u64, 0))
}

/// The records the spool in `dir` holds undelivered, read from disk
/// without the sink (tests: the compliance suite's read-back).
#[cfg(test)]
pub(crate) fn pending_keys(dir: &Path) -> Vec<(String, String)> {
    let acked = std::fs::read_to_string(dir.join(ACKED))
        .ok()
        .and_then(|t| t.strip_prefix(ACKED_PREFIX)?.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let mut starts: Vec<u64> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".seg")?
                .parse()
                .ok()
        })
        .collect();
    starts.sort_unstable();
    let mut keys = Vec::new();
    for start in starts {
        let Ok(bytes) = std::fs::read(segment_path(dir, start)) else {
            continue;
        };
        let mut pos = acked.saturating_sub(start) as usize;
        while let Some(header) = bytes.get(pos..pos + HEADER) {
            let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
            let Some(payload) = bytes.get(pos + HEADER..pos + HEADER + len) else {
                break;
            };
            for line in payload.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                if let Ok(r) = serde_json::from_slice::<Record>(line) {
                    keys.push((r.uid, r.resource_version));
                }
            }
            pos += HEADER + len;
        }
    }
    keys
}
