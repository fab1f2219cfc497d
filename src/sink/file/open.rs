//! Opening the file: create or append, and never leave a partial last line.
//!
//! The sink writes each batch with one `write_all` to a file opened with
//! `O_APPEND`, but a kev killed during that write (kill -9, a power loss)
//! or a write that failed halfway (a full disk) can leave the file ending
//! inside a line. Those bytes were never acknowledged, so the pipeline
//! delivers them again; what must not happen is the next line being glued
//! to the fragment. So whenever the file is opened, and after a failed
//! write, a file that does not end with `\n` is cut back to its last
//! newline.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// An open file, ready to append whole lines.
#[derive(Debug)]
pub(super) struct Opened {
    /// Opened for reading (the repair) and appending.
    pub file: File,
    /// Its length, ending with a newline (or 0).
    pub len: u64,
    /// How old it is (0 for a file just created, or when the filesystem
    /// does not record creation times).
    pub age: Duration,
}

/// Open `path` for appending, creating it if need be, and cut a partial
/// last line (logged with the number of bytes dropped). A created file's
/// directory entry is made durable when `durable`, so an fsync of the file
/// later means the data can be found after a crash.
pub(super) fn open_append(path: &Path, durable: bool) -> io::Result<Opened> {
    let mut options = OpenOptions::new();
    options.read(true).append(true);
    let (file, created) = match options.clone().create_new(true).open(path) {
        Ok(f) => (f, true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => (options.open(path)?, false),
        Err(e) => return Err(e),
    };
    if created && durable {
        sync_directory(path)?;
    }
    let meta = file.metadata()?;
    let len = cut_partial_line(&file, path)?;
    let age = meta
        .created()
        .ok()
        .and_then(|born| SystemTime::now().duration_since(born).ok())
        .unwrap_or(Duration::ZERO);
    Ok(Opened { file, len, age })
}

/// If `file` does not end with a newline, truncate it to just after its
/// last one (to empty if it has none) and log what was dropped. Returns
/// the length after.
pub(super) fn cut_partial_line(file: &File, path: &Path) -> io::Result<u64> {
    let len = file.metadata()?.len();
    let keep = whole_lines_len(file, len)?;
    if keep < len {
        file.set_len(keep)?;
        tracing::warn!(
            path = %path.display(),
            dropped_bytes = len - keep,
            "the file ended inside a line (a kev stopped mid-write); cut it back to its last \
             whole line: those bytes were never acknowledged and will be delivered again"
        );
    }
    Ok(keep)
}

/// The length of the longest prefix of `file` (of length `len`) that ends
/// with a newline: `len` itself when the file ends with one.
fn whole_lines_len(file: &File, len: u64) -> io::Result<u64> {
    const CHUNK: u64 = 64 * 1024;
    let mut end = len;
    let mut buf = vec![0u8; CHUNK as usize];
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        file.read_exact_at(chunk, start)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// fsync the directory holding `path`, making a creation or rename in it
/// durable.
pub(super) fn sync_directory(path: &Path) -> io::Result<()> {
    File::open(super::config::directory_of(path))?.sync_all()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn repaired(content: &[u8]) -> (Vec<u8>, Opened) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        std::fs::write(&path, content).unwrap();
        let opened = open_append(&path, true).unwrap();
        (std::fs::read(&path).unwrap(), opened)
    }

    #[test]
    fn a_partial_last_line_is_cut_back_to_the_last_newline() {
        let (after, opened) = repaired(b"{\"a\":1}\n{\"b\":2}\n{\"c\":");
        assert_eq!(after, b"{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(opened.len, after.len() as u64);
    }

    #[test]
    fn a_file_without_any_newline_is_emptied() {
        let (after, opened) = repaired(b"{\"half");
        assert!(after.is_empty());
        assert_eq!(opened.len, 0);
    }

    #[test]
    fn whole_lines_are_left_alone() {
        let (after, opened) = repaired(b"{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(after, b"{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(opened.len, 16);
        let (after, _) = repaired(b"");
        assert!(after.is_empty());
    }

    #[test]
    fn a_partial_line_longer_than_the_read_chunk_is_found() {
        let mut content = b"{\"first\":1}\n".to_vec();
        content.extend(std::iter::repeat_n(b'x', 200_000));
        let (after, _) = repaired(&content);
        assert_eq!(after, b"{\"first\":1}\n");
    }

    #[test]
    fn appends_go_after_the_repaired_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        std::fs::write(&path, b"one\ntw").unwrap();
        let mut opened = open_append(&path, false).unwrap();
        opened.file.write_all(b"two\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one\ntwo\n");
    }

    #[test]
    fn a_new_file_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.ndjson");
        let opened = open_append(&path, true).unwrap();
        assert!(path.exists());
        assert_eq!((opened.len, opened.age.as_secs()), (0, 0));
    }
}
