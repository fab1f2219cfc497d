//! Reading an input: gzip detection by the magic bytes, bounded line
//! reads, and deciding from the first non-blank line whether the input is
//! line-delimited JSON, a JSON document or a YAML document.

use std::io::{self, BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;

use super::lines::too_long;
use super::{InputFormat, MAX_DOCUMENT_BYTES, READ_BUFFER_BYTES, Replay, ReplayError, State};

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
                    self.pending
                        .push_back(Err(self.err(None, format!("read error: {e}"))));
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
        let mut r: Box<dyn BufRead + Send> =
            Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, reader));
        // The first non-blank line decides.
        loop {
            match self.read_line(&mut *r) {
                Err(e) => return self.fail_read(e),
                Ok(Ok(false)) => {
                    self.state = State::Done;
                    return;
                }
                Ok(Err(too_long)) => {
                    // Whatever it is, it is not a document we can hold: treat as lines.
                    self.pending.push_back(Err(too_long));
                    self.format = Some(InputFormat::Lines);
                    self.state = State::Lines(r);
                    return;
                }
                Ok(Ok(true)) => {}
            }
            if self.line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.buf.drain(..3);
            }
            let first = self.buf.trim_ascii();
            if first.is_empty() {
                continue;
            }
            if first.starts_with(b"{") && first != b"{" {
                self.format = Some(InputFormat::Lines);
                let item = self.parse_line();
                if let Some(item) = item {
                    self.pending.push_back(item);
                }
                self.state = State::Lines(r);
                return;
            }
            let json = first.starts_with(b"{") || first.starts_with(b"[");
            self.format = Some(if json {
                InputFormat::JsonDocument
            } else {
                InputFormat::YamlDocument
            });
            let first_line = self.line;
            let mut data = std::mem::take(&mut self.buf);
            if let Err(e) = (&mut r).take(MAX_DOCUMENT_BYTES).read_to_end(&mut data) {
                return self.fail_read(e);
            }
            if data.len() as u64 >= MAX_DOCUMENT_BYTES {
                self.pending.push_back(Err(self.err(
                    Some(first_line),
                    format!("document larger than {MAX_DOCUMENT_BYTES} bytes; split it, or convert it to one event per line"),
                )));
            } else if json {
                self.json_document(&data, first_line);
            } else {
                self.yaml_document(&data, first_line);
            }
            self.state = State::Done;
            return;
        }
    }

    pub(super) fn fail_read(&mut self, e: io::Error) {
        let at = Some(self.line + 1);
        self.pending
            .push_back(Err(self.err(at, format!("read error: {e}"))));
        self.state = State::Done;
    }
}
