//! Writing to stdout, with a closed pipe handled in one place.
//!
//! `kev -A | head -1` closes kev's stdout after one line. That is not a
//! failure: the reader has what it wanted. [`Stdout`] turns the broken pipe
//! into a state ([`Stdout::is_closed`]) that the terminal sink reports as
//! "closed", and every later write is a no-op; other write errors are errors.
//! Everything kev writes to stdout (events, completions, the man page) goes
//! through it.

use std::io::{self, Write};

/// Call `on_close` once stdout is a pipe or socket whose reader has gone
/// (`kev -A -w | head -1` after its line), without waiting for a write to
/// fail: a follow may have nothing to write for a long time. A thread
/// waits in poll(2) for the error condition a closed read end raises;
/// nothing happens when stdout is a terminal or a file.
pub fn on_reader_gone(on_close: impl FnOnce() + Send + 'static) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let Ok(meta) = std::fs::metadata("/dev/stdout") else {
            return;
        };
        let t = meta.file_type();
        if !(t.is_fifo() || t.is_socket()) {
            return;
        }
        std::thread::spawn(move || {
            loop {
                let mut fd = libc::pollfd {
                    fd: libc::STDOUT_FILENO,
                    // No events asked for: POLLERR and POLLHUP are always
                    // reported, and a pipe's write end gets POLLERR when
                    // its last reader closes.
                    events: 0,
                    revents: 0,
                };
                // SAFETY: one valid pollfd, for the duration of the call.
                let n = unsafe { libc::poll(&mut fd, 1, -1) };
                if n < 0 {
                    if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    return;
                }
                if fd.revents & (libc::POLLERR | libc::POLLHUP) != 0 {
                    on_close();
                    return;
                }
                if fd.revents & libc::POLLNVAL != 0 {
                    return;
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = on_close;
}

/// A buffered stdout that treats a closed pipe as the end, not an error.
pub struct Stdout {
    out: io::BufWriter<Box<dyn Write + Send>>,
    closed: bool,
}

impl std::fmt::Debug for Stdout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stdout")
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Default for Stdout {
    fn default() -> Self {
        Stdout::new()
    }
}

impl Stdout {
    /// A 1 MiB-buffered stdout.
    pub fn new() -> Stdout {
        Stdout::to(Box::new(io::stdout()))
    }

    /// The same over another writer (tests).
    pub fn to(w: Box<dyn Write + Send>) -> Stdout {
        Stdout {
            out: io::BufWriter::with_capacity(1 << 20, w),
            closed: false,
        }
    }

    /// Whether the reader went away.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Run `f` against stdout. A broken pipe marks stdout closed and is not
    /// an error; once closed, nothing more is written.
    pub fn write_with(
        &mut self,
        f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match f(&mut self.out) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r => r,
        }
    }

    /// Write bytes.
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_with(|w| w.write_all(bytes))
    }

    /// Flush the buffer to the pipe.
    pub fn flush(&mut self) -> io::Result<()> {
        self.write_with(|w| w.flush())
    }
}

/// Write `bytes` to stdout and flush, a closed pipe being success.
pub fn print_bytes(bytes: &[u8]) -> io::Result<()> {
    let mut out = Stdout::new();
    out.write_all(bytes)?;
    out.flush()
}
