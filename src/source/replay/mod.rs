//! Reading saved event dumps for `kev replay`: files or stdin, each input's
//! format detected on its own.
//!
//! Accepted inputs, gzip-compressed (detected by the magic bytes `1f 8b`,
//! concatenated members included) or not:
//!
//! - **Lines**: one JSON object per line, each either a kev/v1 record
//!   (`"schema":"kev/v1"`) or a raw core/v1 or events.k8s.io/v1 Event
//!   (`kubectl get events -o json | jq -c '.items[]'`, or a watch log). A line
//!   holding a whole compact `EventList` is expanded. Lines are read one at a
//!   time into a reused buffer: memory stays constant whatever the input's
//!   length, and a malformed line is reported and skipped.
//! - **A JSON document**: `kubectl get events -o json` (an `EventList` or a
//!   `List` with `items`), `kubectl get --raw /api/v1/events` (the same on
//!   one line, of any length), a JSON array of events, or several
//!   pretty-printed objects one after another (`jq . dump.ndjson`). Chosen
//!   when the first line is `{` alone, starts with `[`, or starts a list
//!   (`items` among its first [`PROBE_BYTES`]). Streamed in bounded memory:
//!   the `scan` module hands over one list item at a time, each parsed as a
//!   line would be.
//! - **A YAML document**: `kubectl get events -o yaml`, one or more
//!   `---`-separated documents. Chosen when the first line does not start
//!   with `{` or `[`. Read whole (up to [`MAX_DOCUMENT_BYTES`]), its nesting
//!   checked before it is parsed.
//!
//! [`Replay`] is an iterator of `Result<(Event, RecordContext), ReplayError>`:
//! a bad line or list item is an `Err` naming the file and line, and reading
//! goes on with the next one, so the caller can count failures and exit 1 at
//! the end. An object that is not an Event (`{}`, `{"foo":1}`, `null`, a
//! Pod) is such an error too. An unreadable input (a missing file, a
//! directory, a read error, a corrupt gzip stream, a JSON or YAML document
//! that does not parse) ends that input with one error
//! ([`ReplayError::is_input_error`] when nothing of it could be read).
//! Raw events get an empty [`RecordContext`]; kev/v1 records keep theirs.
//!
//! Filtering while reading ([`Replay::next_matching`]) reads kev/v1 records
//! and raw Events in one pass into borrowed views (`view`), which the filter
//! reads before any [`Event`] is built; the per-line logic is in `lines`.
//!
//! After the first line, the rest of a line-delimited input can be handed
//! over ([`Replay::take_lines`]) to the parallel reader in
//! [`parallel`], which applies the same per-line logic
//! (`filter_line`) to blocks of lines on several threads.

mod documents;
#[cfg(test)]
mod fuzz_tests;
mod input;
mod lines;
pub mod parallel;
mod scan;
mod view;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, Read};

use crate::model::{Event, EventView, RecordContext};

use lines::Pos;
pub(crate) use lines::{filter_line, too_long};
use scan::{Scanner, Step};

/// Longest line accepted by default; a longer one is reported and skipped.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Largest YAML document read whole. (JSON documents are streamed, and
/// may be of any size; each of their items is held to [`MAX_LINE_BYTES`].)
pub const MAX_DOCUMENT_BYTES: u64 = 1 << 30;

/// How much of the first line format detection looks at to tell a list on
/// one line (`kubectl get --raw`) from a line of an NDJSON file: `items`
/// comes after `kind`, `apiVersion` and `metadata`, a few hundred bytes.
pub const PROBE_BYTES: usize = 64 << 10;

/// How large a chunk is read from the input at a time.
const READ_BUFFER_BYTES: usize = 256 << 10;

/// The prefix every kev/v1 record written by kev starts with: the fast path.
const KEV_PREFIX: &[u8] = br#"{"schema":"kev/v1""#;

/// What one replayed input yields: an event with its context, or a per-line error.
pub type ReplayItem = Result<(Event, RecordContext), ReplayError>;

/// A predicate over a borrowed view of an event, handed to the reader by
/// the pipeline (its filter at a fixed "now"), so a record the filter drops
/// is never built into an [`Event`].
pub type Prefilter<'a> = dyn Fn(&dyn EventView) -> bool + Sync + 'a;

/// A line, list item or input that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.location_and_message())]
pub struct ReplayError {
    /// The input's name: the path as given, or `-` for stdin.
    pub file: String,
    /// 1-based line number, when the error has one.
    pub line: Option<u64>,
    /// What went wrong.
    pub message: String,
}

impl ReplayError {
    pub(crate) fn new(file: &str, line: Option<u64>, message: impl Into<String>) -> ReplayError {
        ReplayError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }

    /// Whether the error is about the input as a whole, nothing of which
    /// could be read (it does not exist, is a directory, cannot be read), as
    /// opposed to a bad line or item in it.
    pub fn is_input_error(&self) -> bool {
        self.line.is_none()
    }

    fn location_and_message(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{}: {}", self.file, l, self.message),
            None => format!("{}: {}", self.file, self.message),
        }
    }
}

/// The shape an input was detected as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON object per line (kev/v1 records and/or raw Events).
    Lines,
    /// A JSON document, streamed (`kubectl get events -o json`, `kubectl get --raw`).
    JsonDocument,
    /// A YAML document read whole (`kubectl get events -o yaml`).
    YamlDocument,
}

enum State {
    /// Not read yet: the format is detected on the first call to `next`.
    Start(Box<dyn Read + Send>),
    Lines(Box<dyn BufRead + Send>),
    /// A JSON document, one unit at a time.
    Document(Box<Scanner<Box<dyn BufRead + Send>>>),
    Done,
}

/// The unread rest of a line-delimited input, from [`Replay::take_lines`].
pub struct Lines {
    /// The input's name as errors print it.
    pub name: String,
    /// The (decompressed) input, positioned at the start of a line.
    pub reader: Box<dyn BufRead + Send>,
    /// How many lines were read before: the next line is `line + 1`.
    pub line: u64,
    /// The longest accepted line, as [`Replay::with_max_line_bytes`] set it.
    pub max_line: usize,
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lines")
            .field("name", &self.name)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// One input being replayed: an iterator of events and per-line errors.
pub struct Replay {
    name: String,
    state: State,
    pending: VecDeque<ReplayItem>,
    /// Items [`Replay::next_matching`] has already filtered (a list line's).
    kept: VecDeque<ReplayItem>,
    buf: Vec<u8>,
    line: u64,
    max_line: usize,
    format: Option<InputFormat>,
    gzip: bool,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("name", &self.name)
            .field("line", &self.line)
            .field("format", &self.format)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

/// A reader that adds what it reads to a shared count.
struct Counting<R> {
    inner: R,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

impl Replay {
    /// Open a file, or stdin for `-`. Nothing is read until the first item.
    /// A file that cannot be opened, or a directory, gives one error as its
    /// only item ([`ReplayError::is_input_error`]), so that the caller
    /// reports it like a bad line and goes on with the other inputs.
    pub fn open(path: &str) -> Replay {
        if path == "-" {
            return Replay::from_reader("-", io::stdin());
        }
        let failed = |message: String| {
            let mut r = Replay::from_reader(path, io::empty());
            r.state = State::Done;
            r.pending
                .push_back(Err(ReplayError::new(path, None, message)));
            r
        };
        match File::open(path) {
            Err(e) => failed(format!("cannot open: {}", io_message(&e))),
            Ok(file) => match file.metadata() {
                Ok(m) if m.is_dir() => failed("is a directory, not a file".to_string()),
                _ => Replay::from_reader(path, file),
            },
        }
    }

    /// [`Replay::open`], counting the bytes read from the file into
    /// `read` (for a progress display; compressed bytes for a gzip file).
    pub fn open_counting(path: &str, read: std::sync::Arc<std::sync::atomic::AtomicU64>) -> Replay {
        if path == "-" {
            return Replay::open(path);
        }
        match File::open(path) {
            Ok(file) if file.metadata().is_ok_and(|m| !m.is_dir()) => {
                Replay::from_reader(path, Counting { inner: file, read })
            }
            _ => Replay::open(path),
        }
    }

    /// Replay from any reader; `name` is what errors call it.
    pub fn from_reader(name: impl Into<String>, reader: impl Read + Send + 'static) -> Replay {
        Replay {
            name: name.into(),
            state: State::Start(Box::new(reader)),
            pending: VecDeque::new(),
            kept: VecDeque::new(),
            buf: Vec::new(),
            line: 0,
            max_line: MAX_LINE_BYTES,
            format: None,
            gzip: false,
        }
    }

    /// Change the longest accepted line (default [`MAX_LINE_BYTES`]).
    #[must_use]
    pub fn with_max_line_bytes(mut self, max: usize) -> Replay {
        self.max_line = max;
        self
    }

    /// The input's name as errors print it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The detected format, once the first item has been read.
    pub fn format(&self) -> Option<InputFormat> {
        self.format
    }

    /// Whether the input was gzip-compressed (known once the first item has been read).
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Hand over the rest of a line-delimited input, for a reader that
    /// splits it into blocks ([`parallel`]). Detects the format first if
    /// needed. `None` unless the input is line-delimited and every item read
    /// so far has been taken (the first line is read during detection, so
    /// take it with [`Replay::next_matching`] and ask again); also `None` once
    /// handed over: the `Replay` is then finished.
    pub fn take_lines(&mut self) -> Option<Lines> {
        if matches!(self.state, State::Start(_)) {
            let State::Start(raw) = std::mem::replace(&mut self.state, State::Done) else {
                return None;
            };
            self.start(raw);
        }
        if !self.pending.is_empty() || !self.kept.is_empty() {
            return None;
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::Lines(reader) => Some(Lines {
                name: self.name.clone(),
                reader,
                line: self.line,
                max_line: self.max_line,
            }),
            other => {
                self.state = other;
                None
            }
        }
    }

    fn err(&self, line: Option<u64>, message: impl Into<String>) -> ReplayError {
        ReplayError::new(&self.name, line, message)
    }

    /// Parse the line in `self.buf`; `None` for a blank line, or for a list
    /// whose items were queued in `self.pending`.
    fn parse_line(&mut self) -> Option<ReplayItem> {
        lines::parse_line(&self.name, self.line, &self.buf, &mut self.pending)
    }
}

/// An I/O error as a person reads it: "No such file or directory", without
/// Rust's "(os error 2)".
pub(crate) fn io_message(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

impl Replay {
    /// One step of a JSON document: its items go to `pending` or, with
    /// `keep`, those it keeps (and every error) to `kept`.
    fn document_step(
        &mut self,
        mut scanner: Box<Scanner<Box<dyn BufRead + Send>>>,
        keep: Option<&Prefilter<'_>>,
    ) {
        let Some(step) = scanner.next_step() else {
            return; // the state stays Done
        };
        let error = match step {
            Step::Unit { line, item } => {
                let pos = Pos::unit(&self.name, line, item);
                match keep {
                    None => {
                        let pending = &mut self.pending;
                        if let Some(x) = lines::parse_unit(&pos, scanner.unit(), pending) {
                            pending.push_back(x);
                        }
                    }
                    Some(keep) => {
                        let kept = &mut self.kept;
                        lines::filter_unit(&pos, scanner.unit(), keep, |x| kept.push_back(x));
                    }
                }
                None
            }
            Step::TooLarge { line, item, bytes } => {
                let what = if item.is_some() { "item" } else { "value" };
                Some(Pos::unit(&self.name, line, item).err(format!(
                    "{what} too long ({bytes} bytes or more; the limit is {} bytes): skipped",
                    self.max_line
                )))
            }
            Step::Fatal { line, message } => {
                let e = self.err(Some(line), format!("invalid JSON document: {message}"));
                match keep {
                    None => self.pending.push_back(Err(e)),
                    Some(_) => self.kept.push_back(Err(e)),
                }
                return;
            }
        };
        match (error, keep) {
            (Some(e), None) => self.pending.push_back(Err(e)),
            (Some(e), Some(_)) => self.kept.push_back(Err(e)),
            (None, _) => {}
        }
        self.state = State::Document(scanner);
    }
}

impl Iterator for Replay {
    type Item = ReplayItem;

    fn next(&mut self) -> Option<ReplayItem> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return None,
                State::Start(raw) => self.start(raw),
                State::Document(scanner) => self.document_step(scanner, None),
                State::Lines(mut r) => match self.read_line(&mut *r) {
                    Err(e) => self.fail_read(e),
                    Ok(Ok(false)) => {}
                    Ok(Err(too_long)) => {
                        self.state = State::Lines(r);
                        return Some(Err(too_long));
                    }
                    Ok(Ok(true)) => {
                        let item = self.parse_line();
                        self.state = State::Lines(r);
                        if item.is_some() {
                            return item;
                        }
                    }
                },
            }
        }
    }
}

impl Replay {
    /// The next item the prefilter keeps: errors, and events `keep`
    /// accepts. The same items as `self.filter(...)` over the iterator, but
    /// kev/v1 records and raw Event lines are first read in one pass into
    /// a borrowed view and filtered there, so a line the filter drops costs
    /// no allocation; only kept lines become an [`Event`]. Every line is
    /// still fully parsed and validated, so a malformed line is reported
    /// (with the iterator's message) whether or not it would match.
    pub fn next_matching(&mut self, keep: &Prefilter<'_>) -> Option<ReplayItem> {
        loop {
            if let Some(item) = self.kept.pop_front() {
                return Some(item);
            }
            if self.pending.is_empty() && matches!(self.state, State::Document(_)) {
                let State::Document(scanner) = std::mem::replace(&mut self.state, State::Done)
                else {
                    continue;
                };
                self.document_step(scanner, Some(keep));
                continue;
            }
            if self.pending.is_empty() && matches!(self.state, State::Lines(_)) {
                let State::Lines(mut r) = std::mem::replace(&mut self.state, State::Done) else {
                    continue;
                };
                match self.read_line(&mut *r) {
                    Err(e) => {
                        self.fail_read(e);
                        continue;
                    }
                    Ok(Ok(false)) => continue,
                    Ok(Err(too_long)) => {
                        self.state = State::Lines(r);
                        return Some(Err(too_long));
                    }
                    Ok(Ok(true)) => self.state = State::Lines(r),
                }
                let kept = &mut self.kept;
                filter_line(&self.name, self.line, &self.buf, keep, |item| {
                    kept.push_back(item);
                });
                continue;
            }
            match self.next()? {
                Ok((e, _)) if !keep(&e) => continue,
                other => return Some(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;
    use crate::model::RecordView;
    use crate::testdata;

    const FIXTURES: [&[u8]; 5] = [
        include_bytes!("../../../tests/fixtures/core_v1_legacy.json"),
        include_bytes!("../../../tests/fixtures/core_v1_series.json"),
        include_bytes!("../../../tests/fixtures/core_v1_node.json"),
        include_bytes!("../../../tests/fixtures/core_v1_hostile.json"),
        include_bytes!("../../../tests/fixtures/events_v1_series.json"),
    ];

    fn fixture_events() -> Vec<Event> {
        FIXTURES
            .iter()
            .map(|b| Event::from_json(b).unwrap())
            .collect()
    }

    fn fixture_values() -> Vec<serde_json::Value> {
        FIXTURES
            .iter()
            .map(|b| serde_json::from_slice(b).unwrap())
            .collect()
    }

    fn read(
        bytes: Vec<u8>,
    ) -> (
        Vec<(Event, RecordContext)>,
        Vec<ReplayError>,
        Option<InputFormat>,
    ) {
        let mut r = Replay::from_reader("dump", io::Cursor::new(bytes));
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for item in r.by_ref() {
            match item {
                Ok(x) => ok.push(x),
                Err(e) => bad.push(e),
            }
        }
        (ok, bad, r.format())
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn kev_ndjson(n: usize) -> (Vec<u8>, Vec<(Event, RecordContext)>) {
        let items: Vec<_> = testdata::corpus().take(n).collect();
        let mut out = Vec::new();
        for (e, c) in &items {
            serde_json::to_writer(
                &mut out,
                &RecordView {
                    event: e,
                    context: c,
                },
            )
            .unwrap();
            out.push(b'\n');
        }
        (out, items)
    }

    /// A reader that hands out one byte per call, like a slow pipe.
    struct Trickle(io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn kev_v1_ndjson() {
        let (bytes, want) = kev_ndjson(500);
        let (got, bad, format) = read(bytes);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(format, Some(InputFormat::Lines));
        assert_eq!(got, want);
    }

    #[test]
    fn kev_v1_with_other_key_order() {
        // A record rewritten by a tool that sorts keys does not hit the fast path.
        let (bytes, want) = kev_ndjson(20);
        let mut sorted = Vec::new();
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            serde_json::to_writer(&mut sorted, &v).unwrap(); // serde_json's map is sorted
            sorted.push(b'\n');
        }
        assert!(!sorted.starts_with(KEV_PREFIX));
        let (got, bad, _) = read(sorted);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(got, want);
    }

    #[test]
    fn raw_event_lines() {
        let mut bytes = Vec::new();
        for v in fixture_values() {
            serde_json::to_writer(&mut bytes, &v).unwrap();
            bytes.extend_from_slice(b"\r\n\n");
        }
        let (got, bad, format) = read(bytes);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(format, Some(InputFormat::Lines));
        let events: Vec<Event> = got
            .into_iter()
            .map(|(e, c)| {
                assert_eq!(c, RecordContext::default());
                e
            })
            .collect();
        assert_eq!(events, fixture_events());
    }

    fn kubectl_list() -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "v1",
            "items": fixture_values(),
            "kind": "List",
            "metadata": {"resourceVersion": ""}
        })
    }

    #[test]
    fn kubectl_json() {
        let bytes = serde_json::to_vec_pretty(&kubectl_list()).unwrap();
        let (got, bad, format) = read(bytes);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(format, Some(InputFormat::JsonDocument));
        assert_eq!(
            got.into_iter().map(|x| x.0).collect::<Vec<_>>(),
            fixture_events()
        );
    }

    #[test]
    fn compact_event_list_on_one_line() {
        let mut list = kubectl_list();
        list["kind"] = "EventList".into();
        let bytes = serde_json::to_vec(&list).unwrap();
        let (got, bad, format) = read(bytes);
        assert!(bad.is_empty(), "{bad:?}");
        // Streamed, as a document, whatever its length.
        assert_eq!(format, Some(InputFormat::JsonDocument));
        assert_eq!(
            got.into_iter().map(|x| x.0).collect::<Vec<_>>(),
            fixture_events()
        );
    }

    #[test]
    fn kubectl_yaml() {
        let yaml = serde_norway::to_string(&kubectl_list()).unwrap();
        assert!(
            yaml.starts_with("apiVersion: v1\nitems:\n"),
            "{}",
            &yaml[..40]
        );
        let (got, bad, format) = read(yaml.into_bytes());
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(format, Some(InputFormat::YamlDocument));
        assert_eq!(
            got.into_iter().map(|x| x.0).collect::<Vec<_>>(),
            fixture_events()
        );
    }

    #[test]
    fn yaml_multi_document_and_comments() {
        let mut yaml = String::from("# saved during the incident\n");
        for v in fixture_values().into_iter().take(3) {
            yaml.push_str("---\n");
            yaml.push_str(&serde_norway::to_string(&v).unwrap());
        }
        let (got, bad, _) = read(yaml.into_bytes());
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(
            got.into_iter().map(|x| x.0).collect::<Vec<_>>(),
            fixture_events()[..3].to_vec()
        );
    }

    #[test]
    fn pretty_printed_records_and_arrays() {
        let (_, want) = kev_ndjson(3);
        let mut bytes = Vec::new();
        for (e, c) in &want {
            serde_json::to_writer_pretty(
                &mut bytes,
                &RecordView {
                    event: e,
                    context: c,
                },
            )
            .unwrap();
            bytes.push(b'\n');
        }
        let (got, bad, format) = read(bytes);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(format, Some(InputFormat::JsonDocument));
        assert_eq!(got, want);

        let array = serde_json::to_vec(&fixture_values()).unwrap();
        let (got, bad, format) = read(array);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(format, Some(InputFormat::JsonDocument));
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn gzip_every_format() {
        let (ndjson, want) = kev_ndjson(200);
        let (got, bad, _) = read(gzip(&ndjson));
        assert!(bad.is_empty());
        assert_eq!(got, want);
        // Concatenated gzip members (`cat a.gz b.gz`).
        let mut two = gzip(&ndjson[..ndjson.len() / 2]);
        two.extend(gzip(&ndjson[ndjson.len() / 2..]));
        let mut r = Replay::from_reader("x.gz", io::Cursor::new(two));
        let got: Vec<_> = r.by_ref().collect::<Result<_, _>>().unwrap();
        assert!(r.is_gzip());
        assert_eq!(got, want);
        let json = serde_json::to_vec_pretty(&kubectl_list()).unwrap();
        assert_eq!(read(gzip(&json)).0.len(), 5);
        let yaml = serde_norway::to_string(&kubectl_list()).unwrap();
        assert_eq!(read(gzip(yaml.as_bytes())).0.len(), 5);
    }

    #[test]
    fn slow_readers_like_stdin() {
        let (ndjson, want) = kev_ndjson(30);
        for bytes in [ndjson.clone(), gzip(&ndjson)] {
            let r = Replay::from_reader("-", Trickle(io::Cursor::new(bytes)));
            let got: Vec<_> = r.collect::<Result<_, _>>().unwrap();
            assert_eq!(got, want);
        }
        let one_byte = Replay::from_reader("-", io::Cursor::new(vec![0x1f]));
        assert_eq!(
            one_byte.count(),
            1,
            "a lone byte is one bad line, not a panic"
        );
    }

    #[test]
    fn empty_inputs() {
        for bytes in [&b""[..], b"\n\n  \r\n", &gzip(b"")] {
            let (got, bad, _) = read(bytes.to_vec());
            assert!(got.is_empty() && bad.is_empty());
        }
    }

    #[test]
    fn malformed_lines_are_reported_and_skipped() {
        let (good, want) = kev_ndjson(3);
        let good: Vec<&[u8]> = good
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let mut bytes = Vec::new();
        let lines: Vec<Vec<u8>> = vec![
            good[0].to_vec(),                                    // 1
            b"{not json".to_vec(),                               // 2
            good[1][..good[1].len() / 2].to_vec(),               // 3 truncated kev record
            b"{\"metadata\":{\"name\":\"x\xff\xfe\"}}".to_vec(), // 4 invalid UTF-8
            b"[1, 2]".to_vec(),                                  // 5
            b"{\"kind\":\"Pod\",\"metadata\":{}}".to_vec(),      // 6
            b"{\"schema\":\"kev/v9\",\"uid\":\"x\"}".to_vec(),   // 7
            b"{\"lastTimestamp\":\"yesterday\"}".to_vec(),       // 8
            b"".to_vec(),                                        // 9 blank: fine
            b"\xff\xfe\xfd".to_vec(),                            // 10
            good[2].to_vec(),                                    // 11
        ];
        for l in &lines {
            bytes.extend_from_slice(l);
            bytes.push(b'\n');
        }
        let (got, bad, format) = read(bytes);
        assert_eq!(format, Some(InputFormat::Lines));
        assert_eq!(
            got,
            vec![want[0].clone(), want[2].clone()],
            "the good lines all come through"
        );
        let at: Vec<u64> = bad.iter().map(|e| e.line.unwrap()).collect();
        // Line 5, an array, is a list of two items that are not Events.
        assert_eq!(at, vec![2, 3, 4, 5, 5, 6, 7, 8, 10]);
        let msgs: Vec<String> = bad.iter().map(ToString::to_string).collect();
        assert!(msgs[0].starts_with("dump:2: invalid JSON: "), "{}", msgs[0]);
        assert!(
            msgs[1].starts_with("dump:3: invalid kev/v1 record: EOF"),
            "{}",
            msgs[1]
        );
        assert!(
            msgs[2].contains("invalid unicode") || msgs[2].contains("UTF-8"),
            "{}",
            msgs[2]
        );
        assert_eq!(msgs[3], "dump:5: item 1: not an Event but a number");
        assert_eq!(msgs[4], "dump:5: item 2: not an Event but a number");
        assert!(
            msgs[5].contains("not an Event but a \"Pod\""),
            "{}",
            msgs[5]
        );
        assert!(
            msgs[6].contains("unsupported schema \"kev/v9\""),
            "{}",
            msgs[6]
        );
        assert!(msgs[7].contains("invalid timestamp"), "{}", msgs[7]);
    }

    #[test]
    fn ten_mib_line_works_and_overlong_lines_are_skipped() {
        let mut v: serde_json::Value = serde_json::from_slice(FIXTURES[0]).unwrap();
        let big = "x".repeat(10 << 20);
        v["message"] = big.clone().into();
        let mut bytes = serde_json::to_vec(&v).unwrap();
        bytes.push(b'\n');
        bytes.extend_from_slice(&serde_json::to_vec(&fixture_values()[1]).unwrap());
        let (got, bad, _) = read(bytes.clone());
        assert!(bad.is_empty());
        assert_eq!(got[0].0.message.as_deref(), Some(big.as_str()));
        assert_eq!(got.len(), 2);

        let r = Replay::from_reader("big", io::Cursor::new(bytes)).with_max_line_bytes(1 << 20);
        let items: Vec<_> = r.collect();
        assert_eq!(items.len(), 2);
        let e = items[0].as_ref().unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("line too long"), "{e}");
        assert!(items[1].is_ok(), "reading goes on after an overlong line");
    }

    #[test]
    fn hostile_nesting_is_an_error() {
        let deep = "[".repeat(100_000);
        let (got, bad, _) = read(deep.clone().into_bytes());
        assert!(got.is_empty());
        assert_eq!(bad.len(), 1);
        assert!(bad[0].message.contains("nested deeper than"), "{}", bad[0]);
        let line = format!("{{\"a\":{}", deep);
        let (got, bad, _) = read(line.into_bytes());
        assert!(got.is_empty());
        assert_eq!(bad.len(), 1, "{bad:?}");
        let yaml = format!("a: {}", "[".repeat(100_000));
        let (_, bad, _) = read(yaml.into_bytes());
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(
            bad[0].message.contains("nested deeper than 128"),
            "{}",
            bad[0]
        );
        // Block nesting, on one line and by indentation, and both: each
        // line nests 41 levels under the one before (3,280 in all, though
        // no line is indented more than 80 levels deep).
        for yaml in [
            format!("a: {}x\n", "- ".repeat(100_000)),
            (0..300)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                .collect(),
            (0..80)
                .map(|i| format!("{}{}k:\n", " ".repeat(i * 82), "- ".repeat(40)))
                .collect(),
        ] {
            let (_, bad, _) = read(yaml.into_bytes());
            assert_eq!(bad.len(), 1, "{bad:?}");
            assert!(bad[0].message.contains("nested deeper than"), "{}", bad[0]);
        }
    }

    #[test]
    fn bad_items_in_documents() {
        let mut list = kubectl_list();
        list["items"][1]["lastTimestamp"] = "not a time".into();
        list["items"][3] = serde_json::json!({"kind": "Pod"});
        let pretty = serde_json::to_vec_pretty(&list).unwrap();
        // The line of the bad timestamp, and the line item 4 starts on.
        let text = String::from_utf8(pretty.clone()).unwrap();
        let line_of = |needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
        let (got, bad, _) = read(pretty);
        assert_eq!(got.len(), 3);
        let msgs: Vec<String> = bad.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 2);
        let at = line_of("\"not a time\"");
        assert!(
            msgs[0].starts_with(&format!(
                "dump:{at}: item 2: invalid Event: invalid timestamp"
            )),
            "{}",
            msgs[0]
        );
        let at = line_of("{\n      \"kind\": \"Pod\"");
        assert_eq!(
            msgs[1],
            format!("dump:{at}: item 4: not an Event but a \"Pod\"")
        );
        // A syntax error in a document names its line.
        let broken = b"{\n  \"kind\": \"List\",\n  \"items\": [\n    {,}\n  ]\n}\n".to_vec();
        let (_, bad, _) = read(broken);
        assert_eq!(bad[0].line, Some(4), "{}", bad[0]);
        let yaml = b"apiVersion: v1\nitems:\n- kind: Event\n  metadata: {name: a\n".to_vec();
        let (_, bad, _) = read(yaml);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].message.starts_with("invalid YAML"), "{}", bad[0]);
    }

    #[test]
    fn corrupt_gzip_ends_the_input_with_an_error() {
        let (ndjson, _) = kev_ndjson(200);
        let mut gz = gzip(&ndjson);
        let n = gz.len();
        gz.truncate(n / 2);
        let (got, bad, _) = read(gz);
        assert!(!got.is_empty());
        assert_eq!(bad.len(), 1);
        assert!(bad[0].message.starts_with("read error"), "{}", bad[0]);
    }

    #[test]
    fn open_errors_and_files() {
        let items: Vec<_> = Replay::open("/nonexistent/kev/dump.ndjson").collect();
        assert_eq!(items.len(), 1);
        let e = items[0].as_ref().unwrap_err();
        assert_eq!(
            e.to_string(),
            "/nonexistent/kev/dump.ndjson: cannot open: No such file or directory"
        );
        assert!(e.is_input_error());
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let items: Vec<_> = Replay::open(d).collect();
        assert_eq!(items.len(), 1);
        let e = items[0].as_ref().unwrap_err();
        assert_eq!(e.to_string(), format!("{d}: is a directory, not a file"));
        assert!(e.is_input_error());
        let path = dir.path().join("events.ndjson.gz");
        let (ndjson, want) = kev_ndjson(10);
        std::fs::write(&path, gzip(&ndjson)).unwrap();
        let r = Replay::open(path.to_str().unwrap());
        assert_eq!(r.collect::<Result<Vec<_>, _>>().unwrap(), want);
    }

    /// `got == want`, failing with the first item that differs rather than
    /// all of them (thousands).
    fn assert_same_items(got: &[ReplayItem], want: &[ReplayItem], what: &str) {
        if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
            panic!(
                "{what}: item {i} of {} (want {}) differs:\n got: {:?}\nwant: {:?}",
                got.len(),
                want.len(),
                got.get(i),
                want.get(i)
            );
        }
    }

    #[test]
    fn next_matching_is_iterate_then_filter() {
        use crate::filter::Filter;
        let now = testdata::now();
        let (mut bytes, _) = kev_ndjson(3000);
        // Mixed in: raw events, a compact list, malformed lines, a record with escapes.
        for v in fixture_values() {
            serde_json::to_writer(&mut bytes, &v).unwrap();
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(&serde_json::to_vec(&kubectl_list()).unwrap());
        bytes.extend_from_slice(b"\n{\"schema\":\"kev/v1\",\"uid\":5}\n{oops\n");
        bytes.extend_from_slice(br#"{"schema":"kev/v1","uid":"x","resourceVersion":"1","type":"Warn\u0069ng","reason":"Back\"Off","lastSeen":"bad"}"#);
        bytes.push(b'\n');
        bytes.extend_from_slice(br#"{"schema":"kev/v1","uid":"y","resourceVersion":"1","type":"Warn\u0069ng","object":{"kind":"Pod"},"source":{"component":""},"reportingController":"rc","count":0}"#);
        bytes.push(b'\n');
        // Wrong shapes where objects belong: the borrowed view must reject
        // them as Record does (an array is read as the fields in order, and
        // one short of them is an error), with the same message, which
        // names the type.
        bytes.extend_from_slice(
            br#"{"schema":"kev/v1","uid":"z","resourceVersion":"1","object":"Pod/x"}"#,
        );
        bytes.push(b'\n');
        bytes.extend_from_slice(
            br#"{"schema":"kev/v1","uid":"z","resourceVersion":"1","object":[]}"#,
        );
        bytes.push(b'\n');
        bytes.extend_from_slice(
            br#"{"schema":"kev/v1","uid":"z","resourceVersion":"1","source":["kubelet"]}"#,
        );
        bytes.push(b'\n');
        bytes.extend_from_slice(br#"{"schema":"kev/v1","uid":"z","resourceVersion":"1","object":["Pod","ns","p","u","v1","f"],"source":["kubelet","node-1"]}"#);
        bytes.push(b'\n');
        for expr in [
            "",
            r#"type=Warning reason=~"^(BackOff|Failed)""#,
            r#"type=warning object=Pod/* component=~"^(kubelet|rc)$" count=1"#,
            "kind=Pod name=*-* ns in (payments, checkout) host=node-* instance!=\"\" action=\"\"",
            r#"msg=~"(?i)image" apiVersion=v1 fieldPath=*web* uid!=x age<1h"#,
            "age>2h or count>100",
        ] {
            let f = Filter::parse(expr).unwrap();
            let want: Vec<_> = Replay::from_reader("m", io::Cursor::new(bytes.clone()))
                .filter(|i| i.as_ref().map_or(true, |(e, _)| f.matches(e, now)))
                .collect();
            let mut r = Replay::from_reader("m", io::Cursor::new(bytes.clone()));
            let mut got = Vec::new();
            let keep = |ev: &dyn EventView| f.matches_fields(ev, now);
            while let Some(i) = r.next_matching(&keep) {
                got.push(i);
            }
            assert!(want.iter().filter(|i| i.is_err()).count() >= 3, "{expr}");
            assert!(want.iter().any(|i| i.is_ok()), "{expr}");
            assert_same_items(&got, &want, expr);
        }
    }

    /// Raw Event lines that the fast path must read exactly as the plain
    /// path: escapes, empty strings and missing ones, zero counts and zero
    /// times, the component fallback, both API versions' names, and lines
    /// that are not raw Events at all or not valid (each error's message
    /// is compared too).
    fn hostile_raw_lines() -> Vec<Vec<u8>> {
        let mut list = kubectl_list();
        list["kind"] = "EventList".into();
        list["items"][1]["lastTimestamp"] = "not a time".into();
        list["items"][3] = serde_json::json!({"kind": "Pod"});
        let (records, _) = kev_ndjson(3);
        let sorted: Vec<Vec<u8>> = records
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_slice(l).unwrap();
                serde_json::to_vec(&v).unwrap() // sorted keys: "action" first
            })
            .collect();
        let mut lines: Vec<Vec<u8>> = [
            // Escapes, in every kind of field.
            &br#"{"apiVersion":"v1","kind":"Event","metadata":{"name":"esc.1","namespace":"pay\u006dents","uid":"u-esc"},"type":"Warn\u0069ng","reason":"Back\"Off","message":"line1\nline2 \u00e9 \ud83d\ude00 image","involvedObject":{"kind":"P\u006fd","name":"web\/1-a","apiVersion":"v1","fieldPath":"spec.containers{api}"},"source":{"component":"kube\u006cet","host":"node-\u0031"},"count":3,"lastTimestamp":"2026-11-28T09:59:00Z"}"#[..],
            // Empty strings where text belongs: absent, as From<WireEvent> has it.
            br#"{"kind":"Event","metadata":{"name":"","namespace":"","uid":""},"type":"","reason":"","message":"","involvedObject":{"kind":"","name":"","apiVersion":"","fieldPath":""},"source":{"component":"","host":""},"reportingComponent":"","reportingInstance":"","action":""}"#,
            br#"{"metadata":{"uid":"u-missing"}}"#,
            br#"{}"#,
            // Zero and negative counts, zero and empty times.
            br#"{"metadata":{"uid":"u-zero"},"count":0,"series":{"count":0},"firstTimestamp":"0001-01-01T00:00:00Z","lastTimestamp":"0001-01-01T00:00:00Z","eventTime":"0001-01-01T00:00:00.000000Z","type":"Warning","reason":"BackOff"}"#,
            br#"{"metadata":{"uid":"u-neg","creationTimestamp":"2026-11-28T09:59:00Z"},"count":-4,"lastTimestamp":null,"eventTime":"","type":"Warning","reason":"Failed"}"#,
            // The component falls back to reportingComponent when source.component is empty.
            br#"{"metadata":{"uid":"u-rc","namespace":"checkout"},"source":{"component":"","host":"node-1"},"reportingComponent":"kubelet","reportingInstance":"node-1","type":"Warning","reason":"BackOff","lastTimestamp":"2026-11-28T09:30:00Z"}"#,
            br#"{"metadata":{"uid":"u-src-empty"},"source":{},"reportingComponent":"","type":"Normal"}"#,
            // events.k8s.io/v1 names.
            br#"{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"v1.1","namespace":"checkout","uid":"u-v1"},"regarding":{"kind":"Pod","name":"api-1","apiVersion":"v1","fieldPath":"spec.containers{api}"},"note":"Back-off pulling image","reason":"BackOff","type":"Warning","reportingController":"kubelet","reportingInstance":"node-2","action":"Pulling","deprecatedSource":{"component":"","host":"node-2"},"deprecatedCount":5,"deprecatedFirstTimestamp":"2026-11-28T09:00:00Z","deprecatedLastTimestamp":"2026-11-28T09:40:00Z","eventTime":"2026-11-28T08:59:59.123456Z","series":{"count":9,"lastObservedTime":"2026-11-28T09:50:00.5Z"}}"#,
            br#"{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"uid":"u-v1-series"},"regarding":{"kind":"Node","name":"node-3"},"note":"","reportingController":"","deprecatedSource":{"component":"kubelet"},"series":{"count":2},"deprecatedCount":0,"type":"Normal"}"#,
            // managedFields are skipped; leading and trailing blanks trimmed.
            br#"{"metadata":{"uid":"mf","managedFields":[{"manager":"kubelet","fieldsV1":{"f:count":{}}}]},"type":"Warning","reason":"Failed"}"#,
            b"  {\"metadata\":{\"uid\":\"ws\"},\"type\":\"Warning\"}  \r",
            br#"{"schema":null,"kind":"Event","metadata":{"uid":"schema-null"},"type":"Warning"}"#,
            br#"{"involvedObject":["Pod","ns","web-1","u","v1","spec"],"type":"Warning","metadata":[]}"#,
            // Not raw Events: another kind, lists, kev/v1 in another key order, another schema.
            br#"{"kind":"Pod","metadata":{"name":"p"}}"#,
            br#"{"metadata":{"name":"x"},"kind":"Node","type":"Warning"}"#,
            br#"{"kind":"EventList","items":null}"#,
            br#"{"kind":"EventList","items":5}"#,
            br#"{"kind":"Event","items":[]}"#,
            br#"{"items":[{"metadata":{"uid":"li"},"type":"Warning","reason":"BackOff"}]}"#,
            br#"{"type":"Warning","schema":"kev/v1","uid":"y","resourceVersion":"3","reason":"BackOff","source":{"component":""},"reportingController":"rc"}"#,
            br#"{"uid":"x","schema":"kev/v1","resourceVersion":"1","lastSeen":"bad"}"#,
            br#"{"uid":"x","schema":"kev/v1"}"#,
            br#"{"uid":"x","schema":"kev/v1","resourceVersion":"2","object":"Pod/x"}"#,
            br#"{"uid":"x","schema":"kev/v9"}"#,
            // Invalid: types, duplicates (aliases included), syntax, UTF-8.
            br#"{"schema":5}"#,
            br#"{"apiVersion":5,"kind":"Event"}"#,
            br#"{"involvedObject":[]}"#,
            br#"{"metadata":null}"#,
            br#"{"source":"kubelet"}"#,
            br#"{"message":"a","note":"b"}"#,
            br#"{"reportingComponent":"a","reportingController":"b"}"#,
            br#"{"type":"Warning","type":"Normal"}"#,
            br#"{"count":1.5}"#,
            br#"{"lastTimestamp":"yesterday"}"#,
            br#"{"metadata":{"name":"trunc"},"type":"Warn"#,
            b"{\"metadata\":{\"name\":\"x\xff\"},\"type\":\"Warning\"}",
            b"{\"type\":\"Warning\",\"reason\":\"\xc3\"}",
            br#"[]"#,
            br#"[1,2]"#,
            br#""just a string""#,
            br#"null"#,
        ]
        .iter()
        .map(|l| l.to_vec())
        .collect();
        lines.push(serde_json::to_vec(&list).unwrap());
        lines.extend(sorted);
        lines.push(format!("{{\"a\":{}", "[".repeat(200)).into_bytes());
        lines
    }

    #[test]
    fn next_matching_on_raw_lines_is_iterate_then_filter() {
        use crate::filter::Filter;
        let now = testdata::now();
        let mut bytes = Vec::new();
        // The corpus as raw lines, a third in events.k8s.io/v1's shape, then
        // the hostile lines, then more of the corpus.
        let corpus: Vec<serde_json::Value> = testdata::raw_corpus().take(1500).collect();
        let (head, tail) = corpus.split_at(1000);
        for (i, v) in head.iter().enumerate() {
            let v = if i % 3 == 2 {
                testdata::as_events_v1(v.clone())
            } else {
                v.clone()
            };
            serde_json::to_writer(&mut bytes, &v).unwrap();
            bytes.push(b'\n');
        }
        for l in hostile_raw_lines() {
            bytes.extend_from_slice(&l);
            bytes.push(b'\n');
        }
        for v in tail {
            serde_json::to_writer(&mut bytes, v).unwrap();
            bytes.push(b'\n');
        }
        for expr in [
            "",
            "type=Warning",
            r#"type=warning reason=~"^(Back|Fail)""#,
            r#"type="" or reason="""#,
            "component=kubelet",
            r#"component="" or host!="""#,
            "host=node-* or instance=node-*",
            r#"ns in (payments, checkout) or ns="""#,
            "kind=Pod name=*-*",
            "object=Pod/* apiVersion=v1 fieldPath=*api*",
            r#"msg=~"(?i)back-?off|image" action!="""#,
            r#"uid=u-* or uid="""#,
            "count=1",
            "count>1 count<10",
            "age<1h",
            "age>2h or count>=100",
            "not type=Normal and age<=3h",
        ] {
            let f = Filter::parse(expr).unwrap();
            let want: Vec<_> = Replay::from_reader("raw", io::Cursor::new(bytes.clone()))
                .filter(|i| i.as_ref().map_or(true, |(e, _)| f.matches(e, now)))
                .collect();
            let mut r = Replay::from_reader("raw", io::Cursor::new(bytes.clone()));
            let mut got = Vec::new();
            let keep = |ev: &dyn EventView| f.matches_fields(ev, now);
            while let Some(i) = r.next_matching(&keep) {
                got.push(i);
            }
            assert!(want.iter().filter(|i| i.is_err()).count() >= 20, "{expr}");
            assert!(want.iter().any(|i| i.is_ok()), "{expr}");
            assert_same_items(&got, &want, expr);
        }
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let (ndjson, want) = kev_ndjson(2);
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(ndjson);
        let (got, bad, _) = read(bytes);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(got, want);
    }
}
