//! Reading an input: gzip detection by the magic bytes, bounded line
//! reads, and deciding from the first non-blank line whether the input is
//! line-delimited JSON, a JSON document (which a list on one line, as
//! `kubectl get --raw` prints it, is) or a YAML document.

use std::io::{self, BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;

use super::lines::too_long;
use super::scan::Scanner;
use super::{
    InputFormat, MAX_DOCUMENT_BYTES, PROBE_BYTES, READ_BUFFER_BYTES, Replay, ReplayError, State,
    io_message,
};

impl Replay {
    /// Read the next line into `self.buf`. `Ok(false)` at the end of input.
    /// A line longer than `max_line` is skipped and reported as an error.
    pub(super) fn read_line(
        &mut self,
        r: &mut (dyn BufRead + Send),
    ) -> io::Result<Result<bool, ReplayError>> {
        self.buf.clear();
        let limit = self.max_line as u64 + 1;
        let n = (&mut *r).take(limit).read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(Ok(false));
        }
        self.line += 1;
        if self.buf.len() as u64 == limit && self.buf.last() != Some(&b'\n') {
            self.buf.clear();
            let skipped = r.skip_until(b'\n')?;
            let total = limit as usize + skipped;
            return Ok(Err(
                self.err(Some(self.line), too_long(total, self.max_line))
            ));
        }
        Ok(Ok(true))
    }

    /// Detect the format from the first non-blank line and set up reading.
    pub(super) fn start(&mut self, mut raw: Box<dyn Read + Send>) {
        let mut magic = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match raw.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.pending.push_back(Err(
                        self.err(None, format!("read error: {}", io_message(&e)))
                    ));
                    self.state = State::Done;
                    return;
                }
            }
        }
        let head = io::Cursor::new(magic[..got].to_vec()).chain(raw);
        let reader: Box<dyn Read + Send> = if got == 2 && magic == [0x1f, 0x8b] {
            self.gzip = true;
            Box::new(MultiGzDecoder::new(head))
        } else {
            Box::new(head)
        };
        let mut r = BufReader::with_capacity(READ_BUFFER_BYTES, reader);
        // The first non-blank line decides: its first PROBE_BYTES are read,
        // then put back in front of the rest, for whichever reader it is.
        let mut probe: Vec<u8> = Vec::new();
        let mut first_read = true;
        loop {
            let n = match (&mut r)
                .take(PROBE_BYTES as u64)
                .read_until(b'\n', &mut probe)
            {
                Ok(n) => n,
                Err(e) => return self.fail_read(e),
            };
            if first_read && probe.starts_with(b"\xEF\xBB\xBF") {
                probe.drain(..3);
            }
            first_read = false;
            if n == 0 || !probe.trim_ascii().is_empty() {
                break;
            }
            // Blank so far: dropped; a whole blank line counts as a line.
            if probe.ends_with(b"\n") {
                self.line += 1;
            }
            probe.clear();
        }
        let first = probe.trim_ascii();
        if first.is_empty() {
            self.state = State::Done;
            return;
        }
        let format = if first.starts_with(b"[") || first == b"{" || starts_a_list(first) {
            InputFormat::JsonDocument
        } else if first.starts_with(b"{") {
            InputFormat::Lines
        } else {
            InputFormat::YamlDocument
        };
        self.format = Some(format);
        let rest: Box<dyn BufRead + Send> = Box::new(io::Cursor::new(probe).chain(r));
        match format {
            InputFormat::Lines => self.state = State::Lines(rest),
            InputFormat::JsonDocument => {
                let scanner = Scanner::new(rest, self.line + 1, self.max_line);
                self.state = State::Document(Box::new(scanner));
            }
            InputFormat::YamlDocument => {
                let first_line = self.line + 1;
                let mut data = Vec::new();
                if let Err(e) = rest.take(MAX_DOCUMENT_BYTES).read_to_end(&mut data) {
                    return self.fail_read(e);
                }
                if data.len() as u64 >= MAX_DOCUMENT_BYTES {
                    self.pending.push_back(Err(self.err(
                        Some(first_line),
                        format!("YAML document larger than {MAX_DOCUMENT_BYTES} bytes; split it, or convert it to JSON, which is streamed"),
                    )));
                } else {
                    self.yaml_document(&data, first_line);
                }
                self.state = State::Done;
            }
        }
    }

    pub(super) fn fail_read(&mut self, e: io::Error) {
        let at = Some(self.line + 1);
        self.pending
            .push_back(Err(self.err(at, format!("read error: {}", io_message(&e)))));
        self.state = State::Done;
    }
}

/// Whether `first`, the start of a first line beginning with `{`, opens a
/// list: an `items` array among its members, before any `schema`.
fn starts_a_list(first: &[u8]) -> bool {
    let mut scanner = Scanner::new(first, 1, PROBE_BYTES);
    scanner.next_step();
    scanner.entered_list()
}
