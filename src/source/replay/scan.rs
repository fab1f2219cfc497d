//! A JSON document read as a stream of units, in bounded memory.
//!
//! `kubectl get --raw /api/v1/events` prints one line holding an
//! `EventList` of every event; `kubectl get events -o json` prints the same
//! list pretty-printed. Either can be gigabytes. Parsing it whole
//! (`serde_json::Value`) takes many times its size in memory, so instead the
//! [`Scanner`] walks the document's structure byte by byte and hands over
//! one *unit* at a time: each item of a list's `items` array, each element
//! of a top-level array, and each other top-level value. A unit is then
//! parsed on its own, exactly as a line would be (`super::lines`); memory
//! holds one unit (at most `max_unit` bytes) and the read buffer.
//!
//! The scanner checks only what it needs to find units: strings (with their
//! escapes), matching brackets, and, at the top level and between items,
//! the JSON grammar. Everything inside a unit is checked by its parser, so
//! a bad item is reported with its number and line and the next item is
//! read. A structural error (a bracket that does not match, a missing
//! comma between items, input that ends inside a value) cannot be recovered
//! from, and ends the document with one error, as a JSON parser would.
//!
//! A top-level object is a list when it has an `items` key whose value is
//! an array and no `schema` key before it (a kev/v1 record is never a list),
//! as the line reader tells lists. Its other keys (`kind`, `metadata`) are
//! skipped, before and after `items`.

use std::io::{self, BufRead};

/// Deepest nesting the scanner follows. serde_json refuses more than 128
/// levels in a unit anyway; this bound keeps the scanner's own stack small
/// whatever the input.
pub(super) const MAX_DEPTH: usize = 256;

/// What the scanner found next.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// A unit, now in [`Scanner::unit`]: starting on `line`, the `item`th
    /// (1-based) of a list or array, or `None` for a top-level value.
    Unit { line: u64, item: Option<u64> },
    /// A unit longer than the limit (`bytes` or more), skipped; reading goes on.
    TooLarge {
        line: u64,
        item: Option<u64>,
        bytes: usize,
    },
    /// The document cannot be read past `line`: the last step.
    Fatal { line: u64, message: String },
}

/// Where the scanner is between units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    /// Between top-level values.
    Top,
    /// Inside a top-level array (`list` false) or a list's `items` (`true`);
    /// `first`: no element read yet.
    Array { list: bool, first: bool },
    /// After a list's `items` array: the rest of the object's members.
    ListRest,
    /// Nothing more.
    Done,
}

/// Walks a JSON document and hands over its units; see the module docs.
pub(super) struct Scanner<R> {
    r: R,
    /// The line the reader is on (1-based).
    line: u64,
    max_unit: usize,
    unit: Vec<u8>,
    at: At,
    item: u64,
    /// Brackets open in the value being scanned.
    stack: Vec<u8>,
    /// A list's `items` were reached.
    entered_list: bool,
}

/// A value being scanned: where its bytes go.
enum Sink<'a> {
    /// Kept, up to a limit; `overflow` once over it.
    Keep {
        buf: &'a mut Vec<u8>,
        max: usize,
        overflow: &'a mut usize,
    },
    /// Skipped.
    Skip,
}

impl Sink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if let Sink::Keep { buf, max, overflow } = self {
            if **overflow > 0 || buf.len() + bytes.len() > *max {
                **overflow += buf.len() + bytes.len();
                buf.clear();
            } else {
                buf.extend_from_slice(bytes);
            }
        }
    }
}

/// How a value ended.
enum End {
    Complete,
    Fatal(String),
}

impl<R: BufRead> Scanner<R> {
    /// A scanner over `r`, whose first byte is on `line`.
    pub(super) fn new(r: R, line: u64, max_unit: usize) -> Scanner<R> {
        Scanner {
            r,
            line,
            max_unit,
            unit: Vec::new(),
            at: At::Top,
            item: 0,
            stack: Vec::new(),
            entered_list: false,
        }
    }

    /// Whether a list's `items` array was reached (even if the input
    /// ended, or went wrong, after that).
    pub(super) fn entered_list(&self) -> bool {
        self.entered_list
    }

    /// The bytes of the last [`Step::Unit`].
    pub(super) fn unit(&self) -> &[u8] {
        &self.unit
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            match self.r.fill_buf() {
                Ok(b) => return Ok(b.first().copied()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn bump(&mut self) {
        self.r.consume(1);
    }

    /// Skip whitespace, counting lines; the next byte, not consumed.
    fn skip_ws(&mut self) -> io::Result<Option<u8>> {
        loop {
            let (n, next, newlines) = {
                let buf = match self.r.fill_buf() {
                    Ok(b) => b,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if buf.is_empty() {
                    return Ok(None);
                }
                let n = buf
                    .iter()
                    .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                    .unwrap_or(buf.len());
                let newlines = memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
                (n, buf.get(n).copied(), newlines)
            };
            self.line += newlines;
            self.r.consume(n);
            if next.is_some() {
                return Ok(next);
            }
        }
    }

    /// [`Scanner::skip_ws`], keeping the newlines in a kept unit so that
    /// its parser reports lines as the file has them.
    fn ws(&mut self, sink: &mut Sink<'_>) -> io::Result<Option<u8>> {
        let start = self.line;
        let b = self.skip_ws()?;
        for _ in start..self.line {
            sink.put(b"\n");
        }
        Ok(b)
    }

    fn fatal(&mut self, message: impl Into<String>) -> Step {
        self.at = At::Done;
        Step::Fatal {
            line: self.line,
            message: message.into(),
        }
    }

    fn unexpected(&mut self, found: Option<u8>, expected: &str) -> Step {
        let found = match found {
            None => "the end of the input".to_string(),
            Some(b) if b.is_ascii_graphic() => format!("`{}`", b as char),
            Some(b) => format!("byte 0x{b:02x}"),
        };
        self.fatal(format!("expected {expected}, found {found}"))
    }

    /// The next step, or `None` at the end of the document. After a
    /// [`Step::Fatal`], always `None`.
    pub(super) fn next_step(&mut self) -> Option<Step> {
        match self.step() {
            Ok(step) => step,
            Err(e) => Some(self.fatal(format!("read error: {e}"))),
        }
    }

    fn step(&mut self) -> io::Result<Option<Step>> {
        loop {
            match self.at {
                At::Done => return Ok(None),
                At::Top => match self.skip_ws()? {
                    None => {
                        self.at = At::Done;
                        return Ok(None);
                    }
                    Some(b'[') => {
                        self.bump();
                        self.item = 0;
                        self.at = At::Array {
                            list: false,
                            first: true,
                        };
                    }
                    Some(b'{') => {
                        if let Some(step) = self.object()? {
                            return Ok(Some(step));
                        }
                    }
                    Some(_) => return Ok(Some(self.value(None)?)),
                },
                At::Array { list, first } => {
                    let mut b = self.skip_ws()?;
                    if b == Some(b']') {
                        self.bump();
                        self.at = if list { At::ListRest } else { At::Top };
                        continue;
                    }
                    if !first {
                        if b != Some(b',') {
                            return Ok(Some(self.unexpected(b, "`,` or `]` after an item")));
                        }
                        self.bump();
                        b = self.skip_ws()?;
                    }
                    if matches!(b, None | Some(b']' | b',')) {
                        return Ok(Some(self.unexpected(b, "an item")));
                    }
                    self.at = At::Array { list, first: false };
                    self.item += 1;
                    return Ok(Some(self.value(Some(self.item))?));
                }
                At::ListRest => match self.skip_ws()? {
                    Some(b'}') => {
                        self.bump();
                        self.at = At::Top;
                    }
                    Some(b',') => {
                        self.bump();
                        if let Some(fatal) = self.member(&mut Sink::Skip, &mut false)? {
                            return Ok(Some(fatal));
                        }
                    }
                    other => {
                        return Ok(Some(self.unexpected(other, "`,` or `}` after `items`")));
                    }
                },
            }
        }
    }

    /// One value as a unit.
    fn value(&mut self, item: Option<u64>) -> io::Result<Step> {
        let line = self.line;
        let mut unit = std::mem::take(&mut self.unit);
        unit.clear();
        let mut overflow = 0;
        let end = self.scan_value(&mut Sink::Keep {
            buf: &mut unit,
            max: self.max_unit,
            overflow: &mut overflow,
        })?;
        self.unit = unit;
        Ok(match end {
            End::Fatal(m) => self.fatal(m),
            End::Complete if overflow > 0 => Step::TooLarge {
                line,
                item,
                bytes: overflow,
            },
            End::Complete => Step::Unit { line, item },
        })
    }

    /// A top-level object: `Ok(None)` once it turned out to be a list
    /// (positioned inside `items`), else the object as a unit.
    fn object(&mut self) -> io::Result<Option<Step>> {
        let line = self.line;
        let mut unit = std::mem::take(&mut self.unit);
        unit.clear();
        let mut overflow = 0;
        let result = self.object_members(&mut unit, &mut overflow);
        self.unit = unit;
        Ok(match result? {
            Members::List => None,
            Members::Fatal(step) => Some(step),
            Members::Ended if overflow > 0 => Some(Step::TooLarge {
                line,
                item: None,
                bytes: overflow,
            }),
            Members::Ended => Some(Step::Unit { line, item: None }),
        })
    }

    fn object_members(&mut self, unit: &mut Vec<u8>, overflow: &mut usize) -> io::Result<Members> {
        let max = self.max_unit;
        let mut sink = Sink::Keep {
            buf: unit,
            max,
            overflow,
        };
        self.bump();
        sink.put(b"{");
        let mut schema = false;
        let mut first = true;
        loop {
            let b = self.ws(&mut sink)?;
            match b {
                Some(b'}') => {
                    self.bump();
                    sink.put(b"}");
                    return Ok(Members::Ended);
                }
                Some(b',') if !first => {
                    self.bump();
                    sink.put(b",");
                }
                _ if first => {}
                other => {
                    return Ok(Members::Fatal(
                        self.unexpected(other, "`,` or `}` in an object"),
                    ));
                }
            }
            first = false;
            let mut is_items = false;
            if let Some(fatal) = self.key(&mut sink, &mut schema, &mut is_items)? {
                return Ok(Members::Fatal(fatal));
            }
            let b = self.ws(&mut sink)?;
            if is_items && !schema && b == Some(b'[') {
                self.bump();
                self.entered_list = true;
                self.item = 0;
                self.at = At::Array {
                    list: true,
                    first: true,
                };
                return Ok(Members::List);
            }
            if let End::Fatal(m) = self.scan_value(&mut sink)? {
                return Ok(Members::Fatal(self.fatal(m)));
            }
        }
    }

    /// One `"key": value` member of an object, skipped (after `items`).
    fn member(&mut self, sink: &mut Sink<'_>, schema: &mut bool) -> io::Result<Option<Step>> {
        if let Some(fatal) = self.key(sink, schema, &mut false)? {
            return Ok(Some(fatal));
        }
        self.skip_ws()?;
        Ok(match self.scan_value(sink)? {
            End::Complete => None,
            End::Fatal(m) => Some(self.fatal(m)),
        })
    }

    /// `"key":`, noting whether the key is `schema` or `items`.
    fn key(
        &mut self,
        sink: &mut Sink<'_>,
        schema: &mut bool,
        is_items: &mut bool,
    ) -> io::Result<Option<Step>> {
        let b = self.ws(sink)?;
        if b != Some(b'"') {
            return Ok(Some(self.unexpected(b, "a key in double quotes")));
        }
        let mut key = Vec::new();
        let mut overflow = 0;
        let end = self.scan_value(&mut Sink::Keep {
            buf: &mut key,
            max: 64,
            overflow: &mut overflow,
        })?;
        if let End::Fatal(m) = end {
            return Ok(Some(self.fatal(m)));
        }
        if overflow == 0 {
            sink.put(&key);
            *schema |= key == b"\"schema\"";
            *is_items = key == b"\"items\"";
        } else {
            // A long key is neither; its text is needed only if kept.
            sink.put(b"\"");
            sink.put(&vec![b'k'; overflow.saturating_sub(2)]);
            sink.put(b"\"");
        }
        let b = self.ws(sink)?;
        if b != Some(b':') {
            return Ok(Some(self.unexpected(b, "`:` after a key")));
        }
        self.bump();
        sink.put(b":");
        self.ws(sink)?;
        Ok(None)
    }

    /// Scan one value starting at the next byte (not whitespace): a string,
    /// an object or array (brackets matched, strings skipped), or a scalar
    /// (up to the next delimiter, checked by the unit's parser).
    fn scan_value(&mut self, sink: &mut Sink<'_>) -> io::Result<End> {
        self.stack.clear();
        let mut in_str = false;
        let mut escaped = false;
        let first = match self.peek()? {
            None => return Ok(End::Fatal(eof_in_value())),
            Some(b) => b,
        };
        let scalar = !matches!(first, b'"' | b'{' | b'[');
        if matches!(first, b',' | b']' | b'}' | b':') {
            return Ok(End::Fatal(format!("unexpected `{}`", first as char)));
        }
        loop {
            let (n, done, newlines, fatal) = {
                let buf = match self.r.fill_buf() {
                    Ok(b) => b,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if buf.is_empty() {
                    if scalar {
                        return Ok(End::Complete);
                    }
                    return Ok(End::Fatal(eof_in_value()));
                }
                let found = if scalar {
                    let n = buf
                        .iter()
                        .position(|b| {
                            matches!(
                                b,
                                b' ' | b'\t'
                                    | b'\r'
                                    | b'\n'
                                    | b','
                                    | b']'
                                    | b'}'
                                    | b'{'
                                    | b'['
                                    | b'"'
                                    | b':'
                            )
                        })
                        .unwrap_or(buf.len());
                    (n, n < buf.len(), 0, None)
                } else {
                    scan_chunk(buf, &mut self.stack, &mut in_str, &mut escaped)
                };
                sink.put(&buf[..found.0]);
                found
            };
            self.line += newlines;
            self.r.consume(n);
            if let Some(m) = fatal {
                return Ok(End::Fatal(m));
            }
            if done {
                return Ok(End::Complete);
            }
        }
    }
}

/// What a top-level object's members turned out to be.
enum Members {
    List,
    Ended,
    Fatal(Step),
}

fn eof_in_value() -> String {
    "the input ends inside a value".to_string()
}

/// Scan `buf` as part of a string, object or array value. Returns how many
/// bytes belong to the value, whether it ended there, the newlines among
/// them, and a structural error.
fn scan_chunk(
    buf: &[u8],
    stack: &mut Vec<u8>,
    in_str: &mut bool,
    escaped: &mut bool,
) -> (usize, bool, u64, Option<String>) {
    let mut i = 0;
    let mut newlines = 0u64;
    while i < buf.len() {
        if *in_str {
            if *escaped {
                *escaped = false;
                if buf[i] == b'\n' {
                    newlines += 1;
                }
                i += 1;
                continue;
            }
            // The end of the string or the next escape, counting raw
            // newlines (invalid in JSON strings; the parser says so).
            match memchr::memchr3(b'"', b'\\', b'\n', &buf[i..]) {
                None => {
                    i = buf.len();
                }
                Some(j) => {
                    let b = buf[i + j];
                    i += j + 1;
                    match b {
                        b'\\' => *escaped = true,
                        b'\n' => newlines += 1,
                        _ => {
                            *in_str = false;
                            if stack.is_empty() {
                                return (i, true, newlines, None);
                            }
                        }
                    }
                }
            }
            continue;
        }
        let b = buf[i];
        i += 1;
        match b {
            b'"' => *in_str = true,
            b'{' | b'[' => {
                if stack.len() >= MAX_DEPTH {
                    return (
                        i,
                        true,
                        newlines,
                        Some(format!("nested deeper than {MAX_DEPTH} levels")),
                    );
                }
                stack.push(if b == b'{' { b'}' } else { b']' });
            }
            b'}' | b']' => {
                if stack.pop() != Some(b) {
                    return (
                        i,
                        true,
                        newlines,
                        Some(format!("`{}` does not close what is open", b as char)),
                    );
                }
                if stack.is_empty() {
                    return (i, true, newlines, None);
                }
            }
            b'\n' => newlines += 1,
            _ => {}
        }
    }
    (i, false, newlines, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(input: &[u8], max: usize) -> Vec<(Step, String)> {
        let mut s = Scanner::new(input, 1, max);
        let mut out = Vec::new();
        while let Some(step) = s.next_step() {
            let text = match step {
                Step::Unit { .. } => String::from_utf8_lossy(s.unit()).into_owned(),
                _ => String::new(),
            };
            out.push((step, text));
        }
        out
    }

    fn unit(line: u64, item: Option<u64>, text: &str) -> (Step, String) {
        (Step::Unit { line, item }, text.to_string())
    }

    #[test]
    fn a_compact_list() {
        let got = units(
            br#"{"kind":"EventList","apiVersion":"v1","metadata":{"resourceVersion":"5","x":[1,{"items":[]}]},"items":[{"a":"}]\"{"},{"b":[1,2]}, 7 ,"s",null],"after":{"k":[]}}"#,
            1 << 20,
        );
        assert_eq!(
            got,
            [
                unit(1, Some(1), r#"{"a":"}]\"{"}"#),
                unit(1, Some(2), r#"{"b":[1,2]}"#),
                unit(1, Some(3), "7"),
                unit(1, Some(4), r#""s""#),
                unit(1, Some(5), "null"),
            ]
        );
    }

    #[test]
    fn a_pretty_list_and_values_after_it() {
        let input = b"{\n  \"apiVersion\": \"v1\",\n  \"items\": [\n    {\n      \"a\": 1\n    },\n    {\"b\": 2}\n  ],\n  \"kind\": \"List\"\n}\n{\"schema\": \"kev/v1\", \"items\": [1]}\n[ {\"c\":3} ,\n{\"d\":4}]\n";
        let got = units(input, 1 << 20);
        assert_eq!(
            got,
            [
                unit(4, Some(1), "{\n      \"a\": 1\n    }"),
                unit(7, Some(2), "{\"b\": 2}"),
                unit(11, None, "{\"schema\":\"kev/v1\",\"items\":[1]}"),
                unit(12, Some(1), "{\"c\":3}"),
                unit(13, Some(2), "{\"d\":4}"),
            ]
        );
    }

    #[test]
    fn objects_that_are_not_lists_keep_their_text_and_lines() {
        let input = b"{\"kind\": \"Event\",\n \"items\": 5}\n{\"a\"\n:\n1}";
        let got = units(input, 1 << 20);
        assert_eq!(
            got,
            [
                unit(1, None, "{\"kind\":\"Event\",\n\"items\":5}"),
                unit(3, None, "{\"a\"\n:\n1}"),
            ]
        );
    }

    #[test]
    fn too_large_units_are_skipped() {
        let input = br#"{"items":[{"a":"0123456789"},{"b":1},{"c":"0123456789012345"}]}"#;
        let got = units(input, 12);
        assert_eq!(
            got,
            [
                (
                    Step::TooLarge {
                        line: 1,
                        item: Some(1),
                        bytes: 18
                    },
                    String::new()
                ),
                unit(1, Some(2), r#"{"b":1}"#),
                (
                    Step::TooLarge {
                        line: 1,
                        item: Some(3),
                        bytes: 24
                    },
                    String::new()
                ),
            ]
        );
    }

    #[test]
    fn structural_errors_end_the_document() {
        for (input, line, want) in [
            (
                &b"{\"items\":[{\"a\":1}\n{\"b\":2}]}"[..],
                2,
                "expected `,` or `]` after an item, found `{`",
            ),
            (
                b"{\"items\":[{\"a\":1]}",
                1,
                "`]` does not close what is open",
            ),
            (
                b"{\"items\":[{\"a\":\"x}]}",
                1,
                "the input ends inside a value",
            ),
            (b"{\"items\":[1,]}", 1, "expected an item, found `]`"),
            (
                b"{\"items\":[]\n x}",
                2,
                "expected `,` or `}` after `items`, found `x`",
            ),
            (b"{a:1}", 1, "expected a key in double quotes, found `a`"),
            (b"{\"a\" 1}", 1, "expected `:` after a key, found `1`"),
        ] {
            let got = units(input, 1 << 20);
            let last = got.last().unwrap();
            assert_eq!(
                last.0,
                Step::Fatal {
                    line,
                    message: want.to_string()
                },
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        let deep = format!("{{\"items\":[{}]}}", "[".repeat(10_000));
        let got = units(deep.as_bytes(), 1 << 20);
        assert!(
            matches!(&got[0].0, Step::Fatal { message, .. } if message.contains("deeper than 256")),
            "{got:?}"
        );
    }
}
