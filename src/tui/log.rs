//! Logs while the view owns the terminal: lines written to stderr would
//! be drawn over the screen, so `kev top` logs into memory instead; the
//! view shows the latest warning or error in its status bar, and the lines
//! are written to stderr once the terminal is restored. Reports that are
//! not logs but stderr lines of their own (a replay's `kev: FILE:LINE:
//! reason`) go the same way, through [`report`].

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static LOG: Mutex<Captured> = Mutex::new(Captured {
    text: String::new(),
    lines: 0,
});

/// Whether [`report`] writes into the captured log instead of stderr.
static CAPTURING: AtomicBool = AtomicBool::new(false);

/// At most this many lines are kept (the oldest go first).
const KEEP: usize = 1000;

struct Captured {
    text: String,
    lines: usize,
}

/// A writer into the captured log (a `tracing_subscriber` `MakeWriter`
/// through `Capture::default`).
#[derive(Debug, Default)]
pub struct Capture;

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut log = LOG.lock().unwrap_or_else(|p| p.into_inner());
        let text = String::from_utf8_lossy(buf);
        log.lines += text.matches('\n').count();
        log.text.push_str(&text);
        while log.lines > KEEP {
            match log.text.find('\n') {
                Some(i) => {
                    log.text.drain(..=i);
                    log.lines -= 1;
                }
                None => break,
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Send [`report`]'s lines into the captured log from now on (kev top,
/// whose logs are captured too).
pub fn capture_reports() {
    CAPTURING.store(true, Ordering::Relaxed);
}

/// Write one diagnostic line to stderr, or into the captured log once
/// [`capture_reports`] was called.
pub fn report(line: &str) {
    if CAPTURING.load(Ordering::Relaxed) {
        let _ = io::Write::write_all(&mut Capture, format!("{line}\n").as_bytes());
    } else {
        eprintln!("{line}");
    }
}

/// The latest complete line logged, if any.
pub fn last_line() -> Option<String> {
    let log = LOG.lock().unwrap_or_else(|p| p.into_inner());
    log.text
        .trim_end_matches('\n')
        .rsplit('\n')
        .next()
        .filter(|l| !l.is_empty())
        .map(|l| l.trim().to_string())
}

/// Everything captured so far, emptied.
pub fn take() -> String {
    let mut log = LOG.lock().unwrap_or_else(|p| p.into_inner());
    log.lines = 0;
    std::mem::take(&mut log.text)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn keeps_lines_and_gives_the_latest() {
        let _ = take();
        let mut w = Capture;
        w.write_all(b" WARN first\n").unwrap();
        w.write_all(b"ERROR context \"b\": gone\n").unwrap();
        assert_eq!(last_line().as_deref(), Some("ERROR context \"b\": gone"));
        assert_eq!(take(), " WARN first\nERROR context \"b\": gone\n");
        assert_eq!(last_line(), None);
    }
}
