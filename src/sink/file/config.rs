//! The file sink's configuration: the per-sink YAML of the daemon config.
//!
//! ```yaml
//! path: /var/log/kev/events.ndjson   # `-` is stdout (no rotation)
//! rotate:                            # optional; at least one of maxBytes, maxAge
//!   maxBytes: 100MiB
//!   maxAge: 1h
//!   keep: 5                          # rotated files kept (default 5)
//!   compress: true                   # gzip rotated files (default false)
//! fsync: interval                    # never | batch | interval (default interval)
//! fsyncInterval: 1s                  # default 1s
//! ```
//!
//! [`FileSinkConfig`] holds plain values (Vector's shape): [`FileSinkConfig::check`]
//! is what `kev run --check` calls, [`FileSinkConfig::build`] opens the file
//! and returns the running [`FileSink`]. Nothing here holds runtime state.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::FileSink;
use crate::sink::SinkError;
use crate::units::{ByteSize, Span};

/// The number of rotated files kept when `keep` is not given.
pub const DEFAULT_KEEP: usize = 5;

/// The fsync interval when `fsyncInterval` is not given.
pub const DEFAULT_FSYNC_INTERVAL: Duration = Duration::from_secs(1);

/// The shortest `maxAge`: rotating more often than every second is a
/// misconfiguration, not a policy.
const MIN_MAX_AGE: Duration = Duration::from_secs(1);

/// The path that means stdout.
pub const STDOUT_PATH: &str = "-";

/// Where and how the file sink writes; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileSinkConfig {
    /// The file to append to; `-` is stdout (no rotation, no fsync: each
    /// batch is acknowledged once written and flushed, like the terminal
    /// sink's `-o ndjson`).
    pub path: PathBuf,
    /// Rotation by size and/or age; `None` (the default): the file grows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate: Option<RotateConfig>,
    /// When written lines are made durable, and so acknowledged.
    #[serde(default)]
    pub fsync: FsyncPolicy,
    /// How often `fsync: interval` syncs (default 1s).
    #[serde(default = "default_fsync_interval")]
    pub fsync_interval: Span,
}

fn default_fsync_interval() -> Span {
    Span(DEFAULT_FSYNC_INTERVAL)
}

/// Rotation: `events.ndjson` → `events.ndjson.1` (`.1.gz` when compressed),
/// older ones shifted up, at most `keep` rotated files kept.
///
/// A file is rotated before a batch that would take it past `max_bytes`, or
/// once it is `max_age` old (checked before each batch and on the sink's
/// ticks, so an idle file is rotated too; an empty file never is). A batch
/// is never split: one larger than `max_bytes` fills a file by itself.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateConfig {
    /// Rotate before the file would grow past this size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<ByteSize>,
    /// Rotate once the file is this old (since it was created; kev reads
    /// the file's creation time when it opens an existing file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<Span>,
    /// How many rotated files to keep (default 5); older ones are deleted.
    /// `0` deletes the file at rotation instead of keeping it.
    #[serde(default = "default_keep")]
    pub keep: usize,
    /// Gzip rotated files (default false). Compression runs off the write
    /// path, into `NAME.1.gz.tmp` renamed to `NAME.1.gz` once complete, so
    /// a kev killed mid-compression leaves the uncompressed file, which the
    /// next kev compresses.
    #[serde(default)]
    pub compress: bool,
}

fn default_keep() -> usize {
    DEFAULT_KEEP
}

/// When the file sink fsyncs, which decides what an acknowledgement means.
///
/// The default is [`FsyncPolicy::Interval`]: an acknowledgement moves the
/// checkpoint past what it covers, and the delivery promise is that nothing
/// acknowledged is lost. With `never`, a power loss or kernel crash loses
/// what sat in the page cache although it was acknowledged; with `batch`,
/// every batch costs an fsync (milliseconds on real disks, and while
/// following a cluster a batch is often a single event). `interval` keeps
/// the promise at one fsync per interval; its only cost is that
/// acknowledgements, and so the checkpoint, lag by up to the interval, which
/// after a crash means at most that much is delivered again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// Never fsync: acknowledge once written to the OS (survives kev being
    /// killed, not the machine going down).
    Never,
    /// fsync after each batch, then acknowledge it.
    Batch,
    /// fsync every `fsyncInterval` and acknowledge what the fsync covered
    /// (the default; see the type's docs).
    #[default]
    Interval,
}

impl FsyncPolicy {
    /// The name as the config spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Never => "never",
            FsyncPolicy::Batch => "batch",
            FsyncPolicy::Interval => "interval",
        }
    }
}

impl FileSinkConfig {
    /// Append to `path` (`-`: stdout), no rotation, `fsync: interval` every 1s.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> FileSinkConfig {
        FileSinkConfig {
            path: path.into(),
            rotate: None,
            fsync: FsyncPolicy::default(),
            fsync_interval: default_fsync_interval(),
        }
    }

    /// Rotate as `rotate` says (default: no rotation).
    #[must_use]
    pub fn rotate(mut self, rotate: RotateConfig) -> FileSinkConfig {
        self.rotate = Some(rotate);
        self
    }

    /// The fsync policy (default [`FsyncPolicy::Interval`]).
    #[must_use]
    pub fn fsync(mut self, fsync: FsyncPolicy) -> FileSinkConfig {
        self.fsync = fsync;
        self
    }

    /// The interval of `fsync: interval` (default 1s).
    #[must_use]
    pub fn fsync_interval(mut self, every: Duration) -> FileSinkConfig {
        self.fsync_interval = Span(every);
        self
    }

    /// Whether the path is `-`, stdout.
    pub fn is_stdout(&self) -> bool {
        self.path.as_os_str() == STDOUT_PATH
    }

    /// What `kev run --check` reports: the values are sane, the directory
    /// exists and is writable, and an existing file is a writable regular
    /// file. Creates nothing that stays (a probe file in the directory,
    /// removed at once, when the file does not exist yet).
    pub fn check(&self) -> Result<(), String> {
        self.check_values()?;
        if self.is_stdout() {
            return Ok(());
        }
        let path = &self.path;
        let shown = path.display();
        let dir = directory_of(path);
        match fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(format!("{shown}: {} is not a directory", dir.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(format!(
                    "{shown}: the directory {} does not exist",
                    dir.display()
                ));
            }
            Err(e) => return Err(format!("{shown}: cannot read {}: {e}", dir.display())),
        }
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => return Err(format!("{shown} is a directory")),
            Ok(m) if !m.is_file() => return Err(format!("{shown} is not a regular file")),
            Ok(_) => {
                // Opening for append writes nothing.
                OpenOptions::new()
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("{shown} is not writable: {e}"))?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => probe_directory(dir)
                .map_err(|e| format!("{shown}: cannot create files in {}: {e}", dir.display()))?,
            Err(e) => return Err(format!("{shown}: {e}")),
        }
        Ok(())
    }

    /// The checks that need no filesystem.
    pub(super) fn check_values(&self) -> Result<(), String> {
        if self.path.as_os_str().is_empty() {
            return Err("path: empty (use `-` for stdout)".to_string());
        }
        if self.fsync == FsyncPolicy::Interval && self.fsync_interval.0.is_zero() {
            return Err("fsyncInterval: must be more than 0".to_string());
        }
        let Some(r) = &self.rotate else {
            return Ok(());
        };
        if self.is_stdout() {
            return Err("rotate: stdout (path `-`) cannot be rotated".to_string());
        }
        if r.max_bytes.is_none() && r.max_age.is_none() {
            return Err("rotate: needs maxBytes or maxAge (or both)".to_string());
        }
        if r.max_bytes.is_some_and(|b| b.0 == 0) {
            return Err("rotate.maxBytes: must be more than 0".to_string());
        }
        if let Some(age) = r.max_age
            && age.0 < MIN_MAX_AGE
        {
            return Err(format!("rotate.maxAge: {age} is too short (at least 1s)"));
        }
        Ok(())
    }

    /// Open the file (creating it, repairing a partial last line) and return
    /// the running sink, named `name`.
    pub fn build(&self, name: &str) -> Result<FileSink, SinkError> {
        self.check_values().map_err(|reason| SinkError::Io {
            sink: name.to_string(),
            what: "invalid configuration".to_string(),
            source: io::Error::new(io::ErrorKind::InvalidInput, reason),
        })?;
        FileSink::open(name, self)
    }
}

impl RotateConfig {
    /// No limit yet (add [`RotateConfig::max_bytes`] or
    /// [`RotateConfig::max_age`]), keep 5, no compression.
    #[must_use]
    pub fn new() -> RotateConfig {
        RotateConfig {
            max_bytes: None,
            max_age: None,
            keep: DEFAULT_KEEP,
            compress: false,
        }
    }

    /// Rotate before the file would exceed `bytes`.
    #[must_use]
    pub fn max_bytes(mut self, bytes: u64) -> RotateConfig {
        self.max_bytes = Some(ByteSize(bytes));
        self
    }

    /// Rotate once the file is `age` old.
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> RotateConfig {
        self.max_age = Some(Span(age));
        self
    }

    /// Keep `n` rotated files (default 5).
    #[must_use]
    pub fn keep(mut self, n: usize) -> RotateConfig {
        self.keep = n;
        self
    }

    /// Gzip rotated files (default false).
    #[must_use]
    pub fn compress(mut self, yes: bool) -> RotateConfig {
        self.compress = yes;
        self
    }
}

impl Default for RotateConfig {
    fn default() -> Self {
        RotateConfig::new()
    }
}

/// The directory `path` is in (`.` for a bare file name).
pub(super) fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Create and remove a file in `dir`: whether kev could create its file
/// there (permission bits do not say, for root or with ACLs).
fn probe_directory(dir: &Path) -> io::Result<()> {
    let probe = dir.join(format!(".kev-check-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_yaml_reads_into_the_config() {
        let c: FileSinkConfig = serde_norway::from_str(
            "path: /var/log/kev/events.ndjson\n\
             rotate: {maxBytes: 100MiB, maxAge: 1h, keep: 7, compress: true}\n\
             fsync: batch\n\
             fsyncInterval: 250ms\n",
        )
        .unwrap();
        assert_eq!(
            c,
            FileSinkConfig::new("/var/log/kev/events.ndjson")
                .rotate(
                    RotateConfig::new()
                        .max_bytes(100 << 20)
                        .max_age(Duration::from_secs(3600))
                        .keep(7)
                        .compress(true)
                )
                .fsync(FsyncPolicy::Batch)
                .fsync_interval(Duration::from_millis(250))
        );
    }

    #[test]
    fn defaults_are_no_rotation_and_fsync_every_second() {
        let c: FileSinkConfig = serde_norway::from_str("path: events.ndjson").unwrap();
        assert_eq!(c, FileSinkConfig::new("events.ndjson"));
        assert_eq!(c.rotate, None);
        assert_eq!(c.fsync, FsyncPolicy::Interval);
        assert_eq!(c.fsync_interval.0, Duration::from_secs(1));
        let r: RotateConfig = serde_norway::from_str("maxBytes: 1024").unwrap();
        assert_eq!((r.keep, r.compress, r.max_age), (5, false, None));
        for (yaml, policy) in [
            ("never", FsyncPolicy::Never),
            ("batch", FsyncPolicy::Batch),
            ("interval", FsyncPolicy::Interval),
        ] {
            let c: FileSinkConfig =
                serde_norway::from_str(&format!("{{path: x, fsync: {yaml}}}")).unwrap();
            assert_eq!(c.fsync, policy);
            assert_eq!(policy.as_str(), yaml);
        }
    }

    #[test]
    fn unknown_fields_and_values_are_rejected() {
        for (yaml, says) in [
            ("{path: x, fsinc: batch}", "unknown field `fsinc`"),
            (
                "{path: x, rotate: {maxSize: 1MiB}}",
                "unknown field `maxSize`",
            ),
            ("{path: x, fsync: always}", "unknown variant `always`"),
            (
                "{path: x, rotate: {maxBytes: 10 parsecs}}",
                "expected a size",
            ),
            ("{rotate: {maxBytes: 1MiB}}", "missing field `path`"),
        ] {
            let err = serde_norway::from_str::<FileSinkConfig>(yaml).unwrap_err();
            assert!(err.to_string().contains(says), "{yaml}: {err}");
        }
    }

    #[test]
    fn check_accepts_a_writable_directory_and_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        FileSinkConfig::new(&path).check().unwrap();
        assert!(!path.exists(), "check creates nothing that stays");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        std::fs::write(&path, "{}\n").unwrap();
        FileSinkConfig::new(&path).check().unwrap();
        FileSinkConfig::new("-").check().unwrap();
    }

    #[test]
    fn check_reports_a_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("events.ndjson");
        let err = FileSinkConfig::new(&path).check().unwrap_err();
        assert_eq!(
            err,
            format!(
                "{}: the directory {} does not exist",
                path.display(),
                dir.path().join("no-such-dir").display()
            )
        );
    }

    #[test]
    fn check_reports_a_read_only_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        let mut path = ro.join("events.ndjson");
        // Root writes through permission bits; then take a directory no
        // one may create files in.
        if probe_directory(&ro).is_ok() {
            path = PathBuf::from("/sys/events.ndjson");
        }
        let err = FileSinkConfig::new(&path).check().unwrap_err();
        let dir_shown = directory_of(&path).display().to_string();
        assert!(
            err.starts_with(&format!(
                "{}: cannot create files in {dir_shown}: ",
                path.display()
            )) && err.contains("ermission denied"),
            "{err}"
        );
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn check_reports_paths_that_are_not_files() {
        let dir = tempfile::tempdir().unwrap();
        let err = FileSinkConfig::new(dir.path()).check().unwrap_err();
        assert_eq!(err, format!("{} is a directory", dir.path().display()));
        let file = dir.path().join("plain");
        std::fs::write(&file, "").unwrap();
        let err = FileSinkConfig::new(file.join("events.ndjson"))
            .check()
            .unwrap_err();
        assert!(
            err.ends_with(&format!("{} is not a directory", file.display())),
            "{err}"
        );
    }

    #[test]
    fn check_rejects_insane_values() {
        let rotate = |r: RotateConfig| FileSinkConfig::new("/tmp/events.ndjson").rotate(r);
        let cases = [
            (FileSinkConfig::new(""), "path: empty (use `-` for stdout)"),
            (
                FileSinkConfig::new("/tmp/e").fsync_interval(Duration::ZERO),
                "fsyncInterval: must be more than 0",
            ),
            (
                rotate(RotateConfig::new()),
                "rotate: needs maxBytes or maxAge (or both)",
            ),
            (
                rotate(RotateConfig::new().max_bytes(0)),
                "rotate.maxBytes: must be more than 0",
            ),
            (
                rotate(RotateConfig::new().max_age(Duration::from_millis(10))),
                "rotate.maxAge: 10ms is too short (at least 1s)",
            ),
            (
                FileSinkConfig::new("-").rotate(RotateConfig::new().max_bytes(1)),
                "rotate: stdout (path `-`) cannot be rotated",
            ),
        ];
        for (config, want) in cases {
            assert_eq!(config.check().unwrap_err(), want, "{config:?}");
        }
        // A zero interval is fine when it is not used.
        FileSinkConfig::new("-")
            .fsync(FsyncPolicy::Never)
            .fsync_interval(Duration::ZERO)
            .check()
            .unwrap();
    }
}
