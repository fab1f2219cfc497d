//! Rotation: `events.ndjson` → `events.ndjson.1` → `events.ndjson.2` …,
//! `.N.gz` when compressed, at most `keep` rotated files.
//!
//! The sink rotates between batches, never inside one, so no line is ever
//! split across files. [`Rotation::shift`] renames (newest last: the live
//! file becomes `.1` after every older one has moved up), so a kev killed
//! in the middle leaves every line in some file. Compression
//! ([`Rotation::compress_pending`]) runs off the write path: `.N` is
//! compressed into `.N.gz.tmp`, fsynced, renamed to `.N.gz`, and only then
//! is `.N` removed; a kev killed meanwhile leaves `.N` (and perhaps a stale
//! `.tmp`), which the next compression finishes. Both run with no other
//! rotation or compression in flight: the sink awaits the last compression
//! before it shifts again.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::config::{RotateConfig, directory_of};
use super::open::sync_directory;

/// When and how one file is rotated.
#[derive(Clone, Debug)]
pub(super) struct Rotation {
    /// The live file.
    path: PathBuf,
    max_bytes: Option<u64>,
    max_age: Option<Duration>,
    keep: usize,
    compress: bool,
}

/// What a file next to the live one is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `NAME.N`: rotated, not (yet) compressed.
    Plain,
    /// `NAME.N.gz`: rotated and compressed.
    Gz,
    /// `NAME.N.gz.tmp`: a compression that did not finish.
    Tmp,
}

impl Kind {
    fn suffix(self) -> &'static str {
        match self {
            Kind::Plain => "",
            Kind::Gz => ".gz",
            Kind::Tmp => ".gz.tmp",
        }
    }
}

impl Rotation {
    /// The rotation of `path` that `config` asks for.
    pub fn new(path: &Path, config: &RotateConfig) -> Rotation {
        Rotation {
            path: path.to_path_buf(),
            max_bytes: config.max_bytes.map(|b| b.0),
            max_age: config.max_age.map(|a| a.0),
            keep: config.keep,
            compress: config.compress,
        }
    }

    /// Whether compression is on.
    pub fn compresses(&self) -> bool {
        self.compress
    }

    /// Whether a file of `len` bytes and `age` must be rotated before
    /// `incoming` more bytes are appended (0: a tick's check). An empty file
    /// never is: rotating it would only make an empty rotated file.
    pub fn due(&self, len: u64, age: Duration, incoming: u64) -> bool {
        len > 0
            && (self
                .max_bytes
                .is_some_and(|max| len >= max || len.saturating_add(incoming) > max)
                || self.max_age.is_some_and(|max| age >= max))
    }

    /// `NAME.n` with `kind`'s suffix.
    fn name(&self, n: usize, kind: Kind) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(format!(".{n}{}", kind.suffix()));
        PathBuf::from(s)
    }

    /// The rotated files next to the live one, as `(n, kind, path)`.
    fn scan(&self) -> io::Result<Vec<(usize, Kind, PathBuf)>> {
        let Some(base) = self.path.file_name().and_then(|n| n.to_str()) else {
            return Ok(Vec::new());
        };
        let prefix = format!("{base}.");
        let mut found = Vec::new();
        for entry in fs::read_dir(directory_of(&self.path))? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
                continue;
            };
            let (digits, kind) = if let Some(d) = rest.strip_suffix(".gz.tmp") {
                (d, Kind::Tmp)
            } else if let Some(d) = rest.strip_suffix(".gz") {
                (d, Kind::Gz)
            } else {
                (rest, Kind::Plain)
            };
            // `NAME.3`, not `NAME.03` or `NAME.3x`.
            match digits.parse::<usize>() {
                Ok(n) if n >= 1 && n.to_string() == digits => {
                    found.push((n, kind, self.name(n, kind)));
                }
                _ => {}
            }
        }
        Ok(found)
    }

    /// Rotate: delete what would be beyond `keep`, move `.N` to `.N+1`
    /// (oldest first), then the live file to `.1` (or delete it when `keep`
    /// is 0). The caller reopens the live path afterwards.
    pub fn shift(&self) -> io::Result<()> {
        let mut files = self.scan()?;
        files.sort_by_key(|(n, _, _)| std::cmp::Reverse(*n));
        for (n, kind, path) in files {
            if kind == Kind::Tmp || n >= self.keep {
                remove_if_there(&path)?;
            } else {
                rename(&path, &self.name(n + 1, kind))?;
            }
        }
        if self.keep == 0 {
            remove_if_there(&self.path)?;
        } else {
            rename(&self.path, &self.name(1, Kind::Plain))?;
        }
        sync_directory(&self.path)
    }

    /// Compress every uncompressed rotated file (blocking; run it off the
    /// write path). Finishes what an interrupted compression left: a `.N`
    /// whose `.N.gz` exists was compressed and only not yet removed.
    pub fn compress_pending(&self) -> io::Result<()> {
        let files = self.scan()?;
        let exists = |n: usize, kind: Kind| files.iter().any(|(m, k, _)| *m == n && *k == kind);
        for (n, kind, path) in &files {
            match kind {
                Kind::Plain if exists(*n, Kind::Gz) => remove_if_there(path)?,
                Kind::Plain => {
                    let tmp = self.name(*n, Kind::Tmp);
                    gzip(path, &tmp)
                        .map_err(|e| context(e, format!("compressing {}", path.display())))?;
                    rename(&tmp, &self.name(*n, Kind::Gz))?;
                    sync_directory(&self.path)?;
                    remove_if_there(path)?;
                }
                // A stale temporary with no file left to compress.
                Kind::Tmp if !exists(*n, Kind::Plain) => remove_if_there(path)?,
                Kind::Tmp | Kind::Gz => {}
            }
        }
        Ok(())
    }

    /// Every file of this rotation, oldest first, the live one last (tests
    /// read them back in order).
    #[cfg(test)]
    pub fn files_oldest_first(path: &Path) -> Vec<PathBuf> {
        let r = Rotation::new(path, &RotateConfig::new());
        let mut files: Vec<_> = r
            .scan()
            .unwrap()
            .into_iter()
            .filter(|(_, k, _)| *k != Kind::Tmp)
            .collect();
        files.sort_by_key(|(n, k, _)| (std::cmp::Reverse(*n), *k == Kind::Plain));
        let mut out: Vec<PathBuf> = Vec::new();
        for (n, _, p) in files {
            // While a compression finishes, `.N` and `.N.gz` hold the same lines.
            if out.last().is_some_and(|q| r.name(n, Kind::Gz) == *q) {
                continue;
            }
            out.push(p);
        }
        out.push(path.to_path_buf());
        out
    }
}

/// `e`, saying what was being done (the paths), of the same kind.
fn context(e: io::Error, what: String) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn rename(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to).map_err(|e| {
        context(
            e,
            format!("renaming {} to {}", from.display(), to.display()),
        )
    })
}

fn remove_if_there(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(context(e, format!("removing {}", path.display())))
        }
        _ => Ok(()),
    }
}

/// Gzip `from` into `to`, durably.
fn gzip(from: &Path, to: &Path) -> io::Result<()> {
    let mut input = File::open(from)?;
    let out = BufWriter::with_capacity(1 << 20, File::create(to)?);
    let mut gz = GzEncoder::new(out, Compression::default());
    io::copy(&mut input, &mut gz)?;
    let out = gz.finish()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn due_by_size_and_age() {
        let r = Rotation::new(
            Path::new("/x/e"),
            &RotateConfig::new()
                .max_bytes(100)
                .max_age(Duration::from_secs(60)),
        );
        let young = Duration::from_secs(1);
        let cases = [
            (0, young, 500, false, "an empty file is never rotated"),
            (50, young, 50, false, "exactly full"),
            (50, young, 51, true, "would exceed"),
            (100, young, 0, true, "full, on a tick"),
            (99, young, 0, false, "not full, on a tick"),
            (1, Duration::from_secs(60), 0, true, "old"),
            (0, Duration::from_secs(600), 0, false, "old but empty"),
        ];
        for (len, age, incoming, want, what) in cases {
            assert_eq!(r.due(len, age, incoming), want, "{what}");
        }
    }

    #[test]
    fn shift_moves_every_file_up_and_drops_beyond_keep() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.ndjson");
        let r = Rotation::new(&path, &RotateConfig::new().max_bytes(1).keep(3));
        for (name, content) in [
            ("e.ndjson", "live\n"),
            ("e.ndjson.1", "one\n"),
            ("e.ndjson.2.gz", "two\n"),
            ("e.ndjson.3", "three\n"),
            ("e.ndjson.7", "stray beyond keep\n"),
            ("e.ndjson.1.gz.tmp", "an interrupted compression\n"),
            ("e.ndjson.01", "not ours\n"),
            ("other", "not ours\n"),
        ] {
            fs::write(dir.path().join(name), content).unwrap();
        }
        r.shift().unwrap();
        assert_eq!(
            names(dir.path()),
            [
                "e.ndjson.01",
                "e.ndjson.1",
                "e.ndjson.2",
                "e.ndjson.3.gz",
                "other"
            ]
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("e.ndjson.1")).unwrap(),
            "live\n"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("e.ndjson.2")).unwrap(),
            "one\n"
        );
    }

    #[test]
    fn keep_zero_deletes_the_live_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e");
        fs::write(&path, "live\n").unwrap();
        fs::write(dir.path().join("e.1"), "old\n").unwrap();
        Rotation::new(&path, &RotateConfig::new().max_bytes(1).keep(0))
            .shift()
            .unwrap();
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn an_interrupted_compression_is_finished_without_losing_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e");
        let r = Rotation::new(&path, &RotateConfig::new().max_bytes(1).compress(true));
        // Killed while writing .1.gz.tmp: .1 is whole, the temporary is not.
        fs::write(dir.path().join("e.1"), "one\n").unwrap();
        fs::write(dir.path().join("e.1.gz.tmp"), "garbage").unwrap();
        // Killed after the rename, before removing .2.
        fs::write(dir.path().join("e.2"), "two\n").unwrap();
        gzip(&dir.path().join("e.2"), &dir.path().join("e.2.gz")).unwrap();
        // A stale temporary alone.
        fs::write(dir.path().join("e.3.gz.tmp"), "garbage").unwrap();
        r.compress_pending().unwrap();
        assert_eq!(names(dir.path()), ["e.1.gz", "e.2.gz"]);
        for (name, want) in [("e.1.gz", "one\n"), ("e.2.gz", "two\n")] {
            let mut text = String::new();
            io::Read::read_to_string(
                &mut flate2::read::GzDecoder::new(File::open(dir.path().join(name)).unwrap()),
                &mut text,
            )
            .unwrap();
            assert_eq!(text, want);
        }
    }

    #[test]
    fn a_failed_rename_says_which_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e");
        // No live file to move to .1.
        let err = Rotation::new(&path, &RotateConfig::new().max_bytes(1))
            .shift()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(
            err.to_string().starts_with(&format!(
                "renaming {} to {}.1: ",
                path.display(),
                path.display()
            )),
            "{err}"
        );
    }
}
