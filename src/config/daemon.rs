//! `kev run --config kev.yaml`: the daemon's configuration.
//!
//! ```yaml
//! cluster: prod-eu                 # label copied into every record
//! source: {namespaces: [all], stateFile: /var/lib/kev/state.json}
//! filter: "not reason in (Pulled, Pulling, Created, Started)"
//! sinks:
//!   - {name: archive, type: ndjson, path: /var/log/kev/events.ndjson}
//!   - {name: oncall, type: webhook, url: "${ONCALL_URL}", format: slack, filter: "type=Warning",
//!      buffer: {events: 10000, policy: drop}}
//! metrics: {listen: "127.0.0.1:9464"}
//! ```
//!
//! Loading is three steps, each reporting every problem it finds with its
//! line and column:
//!
//! 1. `${VAR}` and `${VAR:-default}` are expanded in the text (`$$` is a
//!    literal `$`); an unset variable without a default is an error.
//! 2. The YAML is read into the typed configuration; unknown keys are errors
//!    (serde's `deny_unknown_fields`), each sink's own settings by its type.
//! 3. The values are checked: filters compile, names are unique, each sink's
//!    own `check` (paths writable, URLs parse, templates render).
//!
//! docs/config.md documents every key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::locate::{Locator, Step};
use crate::filter::Filter;
use crate::output::OutputFormat;
use crate::sink::file::FileSinkConfig;
use crate::sink::kafka::KafkaSinkConfig;
use crate::sink::webhook::WebhookSinkConfig;
use crate::units::Span;

/// One problem in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line and column, when known.
    pub at: Option<(usize, usize)>,
    /// The setting, e.g. `sinks[1].filter`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.at, self.path.is_empty()) {
            (Some((l, c)), false) => {
                write!(f, "line {l}, column {c}: {}: {}", self.path, self.message)
            }
            (Some((l, c)), true) => write!(f, "line {l}, column {c}: {}", self.message),
            (None, false) => write!(f, "{}: {}", self.path, self.message),
            (None, true) => f.write_str(&self.message),
        }
    }
}

/// A configuration that cannot be used: every problem found.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{}: {n} problem{}",
            self.file,
            if n == 1 { "" } else { "s" }
        )?;
        // One `FILE:LINE:COLUMN: setting: message` per problem, as
        // compilers write them.
        for p in &self.problems {
            let at = p.at.map(|(l, c)| format!("{l}:{c}:")).unwrap_or_default();
            let what = if p.path.is_empty() {
                p.message.clone()
            } else {
                format!("{}: {}", p.path, p.message)
            };
            write!(f, "\n  {}:{at} {what}", self.file)?;
        }
        Ok(())
    }
}

/// What the daemon reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceConfig {
    /// `[all]` (the default), or namespace names.
    #[serde(default = "all_namespaces")]
    pub namespaces: Vec<String>,
    /// The state file: resume position and delivered set.
    pub state_file: Option<PathBuf>,
    /// How long the apiserver keeps events (default 1h).
    pub event_ttl: Option<Span>,
    /// kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster).
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context.
    pub context: Option<String>,
    /// Only events from now on (`--watch-only`); default: list, then watch.
    #[serde(default)]
    pub watch_only: bool,
    /// `--request-timeout` (default 30s).
    pub request_timeout: Option<Span>,
}

fn all_namespaces() -> Vec<String> {
    vec!["all".to_string()]
}

/// Prometheus metrics and health endpoints.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricsConfig {
    /// `host:port` to serve `/metrics`, `/healthz` and `/readyz` on.
    pub listen: String,
}

/// What a sink does when its buffer is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BufferPolicy {
    /// Wait: back-pressure to the source (the default; nothing is lost).
    #[default]
    Block,
    /// Drop what does not fit, counted and logged.
    Drop,
}

/// A sink's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BufferConfig {
    /// Occurrences waiting for the sink (default 10,000).
    #[serde(default = "default_buffer_events")]
    pub events: usize,
    /// When full.
    #[serde(default)]
    pub policy: BufferPolicy,
}

fn default_buffer_events() -> usize {
    10_000
}

impl Default for BufferConfig {
    fn default() -> Self {
        BufferConfig {
            events: default_buffer_events(),
            policy: BufferPolicy::Block,
        }
    }
}

/// `type: stdout`: the terminal sink.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StdoutSinkConfig {
    /// The `-o` format (default ndjson).
    #[serde(default = "default_format")]
    pub format: OutputFormat,
}

fn default_format() -> OutputFormat {
    OutputFormat::Ndjson
}

/// A sink's type-specific settings.
#[derive(Clone, Debug)]
pub enum SinkKind {
    /// The terminal (stdout).
    Stdout(StdoutSinkConfig),
    /// `type: ndjson`: kev/v1 records appended to a file.
    Ndjson(FileSinkConfig),
    /// `type: webhook`: HTTP POSTs, with presets for log systems.
    Webhook(Box<WebhookSinkConfig>),
    /// `type: kafka`: messages produced to a Kafka topic.
    Kafka(Box<KafkaSinkConfig>),
    /// `type: otlp`: OTLP logs to an OpenTelemetry Collector (the webhook
    /// sink's batching, retries and spool, with `format: otlp`).
    Otlp(Box<WebhookSinkConfig>),
}

/// `KEY.PATH: message` → (the key path, the message); anything else (a
/// file's name, plain text) names no key.
fn split_key(message: String) -> (Vec<String>, String) {
    if let Some((key, rest)) = message.split_once(": ")
        && !key.is_empty()
        && key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
    {
        let keys = key.split('.').map(str::to_string).collect();
        return (keys, rest.to_string());
    }
    (Vec::new(), message)
}

/// `type: otlp` settings as the webhook's: `endpoint` is its `url` (a URL
/// without a path posts to `/v1/logs`), the format is `otlp`.
fn otlp_as_webhook(settings: serde_norway::Value) -> Result<serde_norway::Value, String> {
    use serde_norway::Value;
    let Value::Mapping(mut map) = settings else {
        return Err("expected a mapping".to_string());
    };
    for (key, instead) in [("url", "endpoint"), ("format", "protocol")] {
        if map.contains_key(key) {
            return Err(format!(
                "unknown field `{key}` (an otlp sink takes `{instead}`)"
            ));
        }
    }
    match map.remove("endpoint") {
        Some(endpoint) => {
            map.insert(Value::from("url"), endpoint);
        }
        None => return Err("missing field `endpoint`".to_string()),
    }
    map.insert(Value::from("format"), Value::from("otlp"));
    Ok(Value::Mapping(map))
}

impl SinkKind {
    /// The sink types, as `type:` spells them.
    pub const TYPES: &'static [&'static str] = &["stdout", "ndjson", "webhook", "kafka", "otlp"];

    fn parse(kind: &str, settings: serde_norway::Value) -> Result<SinkKind, String> {
        fn typed<T: serde::de::DeserializeOwned>(v: serde_norway::Value) -> Result<T, String> {
            serde_norway::from_value(v).map_err(|e| strip_location(&e.to_string()))
        }
        match kind {
            "stdout" => typed(settings).map(SinkKind::Stdout),
            "ndjson" => typed(settings).map(SinkKind::Ndjson),
            "webhook" => typed(settings).map(|c| SinkKind::Webhook(Box::new(c))),
            "kafka" => typed(settings).map(|c| SinkKind::Kafka(Box::new(c))),
            "otlp" => typed(otlp_as_webhook(settings)?).map(|c| SinkKind::Otlp(Box::new(c))),
            other => Err(format!(
                "unknown sink type `{other}`, expected one of: {}",
                SinkKind::TYPES.join(", ")
            )),
        }
    }

    /// The type's own checks (paths, URLs, templates).
    fn check(&self) -> Vec<(Vec<String>, String)> {
        match self {
            SinkKind::Stdout(_) => Vec::new(),
            SinkKind::Ndjson(c) => match c.check() {
                Ok(()) => Vec::new(),
                Err(message) => {
                    let (keys, message) = split_key(message);
                    if keys.is_empty() {
                        // A problem with the file itself.
                        vec![(vec!["path".to_string()], message)]
                    } else {
                        vec![(keys, message)]
                    }
                }
            },
            SinkKind::Webhook(c) => match c.check() {
                Ok(()) => Vec::new(),
                Err(problems) => problems.into_iter().map(split_key).collect(),
            },
            // The webhook's `url` is the otlp sink's `endpoint`.
            SinkKind::Otlp(c) => match c.check() {
                Ok(()) => Vec::new(),
                Err(problems) => problems
                    .into_iter()
                    .map(|m| match m.strip_prefix("url: ") {
                        Some(rest) => format!("endpoint: {rest}"),
                        None => m,
                    })
                    .map(split_key)
                    .collect(),
            },
            SinkKind::Kafka(c) => match c.check() {
                Ok(()) => Vec::new(),
                Err(problems) => problems.into_iter().map(split_key).collect(),
            },
        }
    }
}

/// One sink, as configured.
#[derive(Clone, Debug)]
pub struct SinkSpec {
    /// Its name (unique; the state file knows sinks by it).
    pub name: String,
    /// Its own filter, ANDed with the global one.
    pub filter: Option<Filter>,
    /// Its buffer.
    pub buffer: BufferConfig,
    /// Its type and settings.
    pub kind: SinkKind,
}

/// The whole configuration, checked.
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    /// The cluster label.
    pub cluster: Option<String>,
    /// What to read.
    pub source: SourceConfig,
    /// The global filter.
    pub filter: Filter,
    /// The sinks, in order.
    pub sinks: Vec<SinkSpec>,
    /// Metrics and health.
    pub metrics: Option<MetricsConfig>,
    /// Several replicas, one shipping (src/lease.rs).
    pub leader_election: Option<crate::lease::LeaderElectionConfig>,
}

impl DaemonConfig {
    /// The request timeout (default 30 s).
    pub fn request_timeout(&self) -> Option<Duration> {
        match self.source.request_timeout {
            Some(Span(d)) if d.is_zero() => None,
            Some(Span(d)) => Some(d),
            None => Some(Duration::from_secs(30)),
        }
    }

    /// The event TTL (default 1 h).
    pub fn event_ttl(&self) -> Duration {
        self.source
            .event_ttl
            .map_or(Duration::from_secs(3600), |s| s.0)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    source: SourceConfig,
    #[serde(default)]
    filter: Option<String>,
    sinks: Vec<RawSink>,
    #[serde(default)]
    metrics: Option<MetricsConfig>,
    #[serde(default)]
    leader_election: Option<crate::lease::LeaderElectionConfig>,
}

/// A sink entry before its type is known: the common keys, and the rest
/// for the type to read (where unknown keys are errors).
#[derive(Deserialize)]
struct RawSink {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    buffer: Option<BufferConfig>,
    #[serde(flatten)]
    settings: BTreeMap<String, serde_norway::Value>,
}

/// serde's message without its " at line L column C" (kev says where).
fn strip_location(s: &str) -> String {
    s.rfind(" at line ")
        .map_or(s.to_string(), |i| s[..i].to_string())
}

/// Expand `${VAR}` and `${VAR:-default}` (and `$$`) in `text`, using `env`.
pub fn expand_env(
    text: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String, Vec<Problem>> {
    let mut out = String::with_capacity(text.len());
    let mut problems = Vec::new();
    for (l, line) in text.split_inclusive('\n').enumerate() {
        let mut rest = line;
        let mut col = 0;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(a) = after.strip_prefix('$') {
                out.push('$');
                col += i + 2;
                rest = a;
                continue;
            }
            let Some(body) = after.strip_prefix('{') else {
                out.push('$');
                col += i + 1;
                rest = after;
                continue;
            };
            let Some(end) = body.find('}') else {
                problems.push(Problem {
                    at: Some((l + 1, col + i + 1)),
                    path: String::new(),
                    message: "`${` without a closing `}`".to_string(),
                });
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            let valid = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !name.as_bytes()[0].is_ascii_digit();
            if !valid {
                problems.push(Problem {
                    at: Some((l + 1, col + i + 1)),
                    path: String::new(),
                    message: format!("`${{{inner}}}`: not a variable name"),
                });
            } else {
                match (env(name).filter(|v| !v.is_empty()), default) {
                    (Some(v), _) => out.push_str(&v),
                    (None, Some(d)) => out.push_str(d),
                    (None, None) => problems.push(Problem {
                        at: Some((l + 1, col + i + 1)),
                        path: String::new(),
                        message: format!(
                            "the environment variable {name} is not set (write ${{{name}:-default}} for a default)"
                        ),
                    }),
                }
            }
            col += i + 2 + end + 1;
            rest = &body[end + 1..];
        }
        out.push_str(rest);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

impl DaemonConfig {
    /// Load `file`: read, expand the environment, parse, check.
    pub fn load(file: &str) -> Result<DaemonConfig, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
            file: file.to_string(),
            problems: vec![Problem {
                at: None,
                path: String::new(),
                message: format!("cannot read: {e}"),
            }],
        })?;
        DaemonConfig::parse(file, &text, |v| std::env::var(v).ok())
    }

    /// Parse and check `text` (named `file` in messages), with `env` for
    /// `${VAR}`.
    pub fn parse(
        file: &str,
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<DaemonConfig, ConfigError> {
        let fail = |problems| ConfigError {
            file: file.to_string(),
            problems,
        };
        let expanded = expand_env(text, env).map_err(fail)?;
        let locator = Locator::new(&expanded);
        let raw: RawConfig = serde_norway::from_str(&expanded).map_err(|e| {
            let at = e.location().map(|l| (l.line(), l.column()));
            let message = strip_location(&e.to_string());
            fail(vec![refine(&locator, &expanded, at, message)])
        })?;
        let mut problems = Vec::new();
        let filter = match raw.filter.as_deref() {
            Some(text) => match Filter::parse(text) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(Problem {
                        at: locator.find(&[Step::Key("filter")]),
                        path: "filter".to_string(),
                        message: format!("{e}"),
                    });
                    Filter::match_all()
                }
            },
            None => Filter::match_all(),
        };
        if raw.sinks.is_empty() {
            problems.push(Problem {
                at: locator.find(&[Step::Key("sinks")]),
                path: "sinks".to_string(),
                message: "at least one sink is needed".to_string(),
            });
        }
        if raw.sinks.len() > crate::pipeline::checkpoint::MAX_SINKS {
            problems.push(Problem {
                at: locator.find(&[Step::Key("sinks")]),
                path: "sinks".to_string(),
                message: format!(
                    "{} sinks; at most {} (the state file tracks each one's progress)",
                    raw.sinks.len(),
                    crate::pipeline::checkpoint::MAX_SINKS
                ),
            });
        }
        let source_problem = |key: &str, message: String| Problem {
            at: locator.find(&[Step::Key("source"), Step::Key(key)]),
            path: format!("source.{key}"),
            message,
        };
        if raw.source.event_ttl.is_some_and(|t| t.0.is_zero()) {
            problems.push(source_problem(
                "eventTtl",
                "must be longer than 0s".to_string(),
            ));
        }
        if let Some(state) = &raw.source.state_file
            && let Err(message) = check_state_file(state)
        {
            problems.push(source_problem("stateFile", message));
        }
        for ns in &raw.source.namespaces {
            if ns != "all" && super::valid_namespace(ns).is_err() {
                problems.push(Problem {
                    at: locator.find(&[Step::Key("source"), Step::Key("namespaces")]),
                    path: "source.namespaces".to_string(),
                    message: format!(
                        "{ns:?} is not a namespace name (a DNS-1123 label), nor `all`"
                    ),
                });
            }
        }
        if raw.source.namespaces.len() > 1 && raw.source.namespaces.iter().any(|n| n == "all") {
            problems.push(Problem {
                at: locator.find(&[Step::Key("source"), Step::Key("namespaces")]),
                path: "source.namespaces".to_string(),
                message: "`all` means every namespace: list it alone".to_string(),
            });
        }
        if let Some(m) = &raw.metrics
            && m.listen.parse::<std::net::SocketAddr>().is_err()
        {
            problems.push(Problem {
                at: locator.find(&[Step::Key("metrics"), Step::Key("listen")]),
                path: "metrics.listen".to_string(),
                message: format!(
                    "{:?} is not an address (host:port, e.g. 127.0.0.1:9464)",
                    m.listen
                ),
            });
        }
        if let Some(le) = &raw.leader_election {
            for message in le.check() {
                let (keys, message) = split_key(message);
                let mut path = vec![Step::Key("leaderElection")];
                path.extend(keys.iter().map(|k| Step::Key(k.as_str())));
                problems.push(Problem {
                    at: locator.find(&path),
                    path: std::iter::once("leaderElection".to_string())
                        .chain(keys.iter().cloned())
                        .collect::<Vec<_>>()
                        .join("."),
                    message,
                });
            }
        }
        let mut sinks = Vec::new();
        let mut names = BTreeMap::new();
        for (i, s) in raw.sinks.into_iter().enumerate() {
            let here = |key: Option<&str>| {
                let mut path = vec![Step::Key("sinks"), Step::Index(i)];
                if let Some(k) = key {
                    path.push(Step::Key(k));
                }
                locator.find(&path)
            };
            let label = match &s.name {
                Some(n) => format!("sinks[{i}] ({n})"),
                None => format!("sinks[{i}]"),
            };
            let mut problem = |key: Option<&str>, sub: &str, message: String| {
                problems.push(Problem {
                    at: here(key),
                    path: if sub.is_empty() {
                        label.clone()
                    } else {
                        format!("{label}.{sub}")
                    },
                    message,
                });
            };
            let Some(name) = s.name.clone() else {
                problem(None, "", "missing `name`".to_string());
                continue;
            };
            if let Some(first) = names.insert(name.clone(), i) {
                problem(
                    Some("name"),
                    "name",
                    format!("the name {name:?} is also sinks[{first}]'s"),
                );
            }
            let Some(kind) = s.kind.clone() else {
                problem(
                    None,
                    "",
                    format!("missing `type` (one of: {})", SinkKind::TYPES.join(", ")),
                );
                continue;
            };
            let sink_filter = match s.filter.as_deref() {
                Some(text) => match Filter::parse(text) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        problem(Some("filter"), "filter", e.to_string());
                        None
                    }
                },
                None => None,
            };
            let settings = serde_norway::Value::Mapping(
                s.settings
                    .into_iter()
                    .map(|(k, v)| (serde_norway::Value::String(k), v))
                    .collect(),
            );
            if s.buffer.is_some_and(|b| b.events == 0) {
                problem(
                    Some("buffer"),
                    "buffer.events",
                    "must be at least 1".to_string(),
                );
            }
            match SinkKind::parse(&kind, settings) {
                Ok(k) => {
                    for (key_path, message) in k.check() {
                        let keys: Vec<&str> = key_path.iter().map(String::as_str).collect();
                        let mut path = vec![Step::Key("sinks"), Step::Index(i)];
                        path.extend(keys.iter().map(|k| Step::Key(k)));
                        problems.push(Problem {
                            at: locator.find(&path),
                            path: if keys.is_empty() {
                                label.clone()
                            } else {
                                format!("{label}.{}", keys.join("."))
                            },
                            message,
                        });
                    }
                    sinks.push(SinkSpec {
                        name,
                        filter: sink_filter,
                        buffer: s.buffer.unwrap_or_default(),
                        kind: k,
                    });
                }
                Err(message) => {
                    // "unknown field `x`": point at x.
                    let key = message
                        .strip_prefix("unknown field `")
                        .and_then(|m| m.split('`').next())
                        .map(str::to_string);
                    let at_key = key.as_deref();
                    let entry = [Step::Key("sinks"), Step::Index(i)];
                    let nested = at_key.and_then(|k| locator.find_nested(&entry, k));
                    if message.starts_with("unknown sink type") {
                        problem(Some("type"), "", message.clone());
                    } else if let Some(at) = nested {
                        problems.push(Problem {
                            at: Some(at),
                            path: label.clone(),
                            message: message.clone(),
                        });
                    } else {
                        problem(at_key, "", message.clone());
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(DaemonConfig {
                cluster: raw.cluster,
                source: raw.source,
                filter,
                sinks,
                metrics: raw.metrics,
                leader_election: raw.leader_election,
            })
        } else {
            problems.sort_by_key(|p| p.at);
            Err(fail(problems))
        }
    }
}

/// The state file can be written: its directory exists, and an existing
/// file is a regular file (its content is checked when kev starts, against
/// the cluster).
fn check_state_file(path: &std::path::Path) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(format!("{} is not a directory", dir.display())),
        Err(e) => return Err(format!("the directory {}: {e}", dir.display())),
    }
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => Err(format!("{} is not a regular file", path.display())),
        Ok(_) => std::fs::File::open(path)
            .map(drop)
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
        Err(_) => {
            // Written atomically: a temporary file in the directory, renamed.
            let probe = dir.join(format!(".kev-check-{}", std::process::id()));
            std::fs::File::create(&probe)
                .map_err(|e| format!("cannot create files in {}: {e}", dir.display()))?;
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
    }
}

/// serde points an unknown key of a sink, or a wrong type, at the start of
/// the entry: point at the key itself when the message names one.
fn refine(
    locator: &Locator<'_>,
    _text: &str,
    at: Option<(usize, usize)>,
    message: String,
) -> Problem {
    let (path, rest) = match message.split_once(": ") {
        Some((p, r)) if !p.contains(' ') => (p.to_string(), r.to_string()),
        _ => (String::new(), message.clone()),
    };
    let key = rest
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next());
    let mut steps: Vec<Step<'_>> = Vec::new();
    for part in path.split('.') {
        if let Some((k, idx)) = part.split_once('[') {
            steps.push(Step::Key(k));
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                steps.push(Step::Index(i));
            }
        } else if !part.is_empty() {
            steps.push(Step::Key(part));
        }
    }
    if let Some(k) = key {
        steps.push(Step::Key(k));
    }
    let found = if steps.is_empty() {
        None
    } else {
        locator.find(&steps)
    };
    Problem {
        at: found.or(at),
        path,
        message: rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DaemonConfig, ConfigError> {
        DaemonConfig::parse("kev.yaml", text, |v| match v {
            "ONCALL_URL" => Some("https://hooks.example/T1".to_string()),
            _ => None,
        })
    }

    fn problems(text: &str) -> Vec<String> {
        parse(text)
            .unwrap_err()
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_good_config() {
        let c = parse(concat!(
            "cluster: prod-eu\n",
            "source: {namespaces: [all], stateFile: /tmp/s.json, eventTtl: 30m}\n",
            "filter: \"not reason in (Pulled, Pulling)\"\n",
            "sinks:\n",
            "  - {name: out, type: stdout}\n",
            "  - name: warnings\n",
            "    type: stdout\n",
            "    format: json\n",
            "    filter: type=Warning\n",
            "    buffer: {events: 100, policy: drop}\n",
            "metrics: {listen: \"127.0.0.1:9464\"}\n",
        ))
        .unwrap();
        assert_eq!(c.cluster.as_deref(), Some("prod-eu"));
        assert_eq!(c.event_ttl(), Duration::from_secs(1800));
        assert_eq!(c.sinks.len(), 2);
        assert_eq!(
            c.sinks[1].buffer,
            BufferConfig {
                events: 100,
                policy: BufferPolicy::Drop
            }
        );
        assert!(c.sinks[1].filter.is_some());
        assert_eq!(c.sinks[0].buffer, BufferConfig::default());
    }

    #[test]
    fn env_expansion() {
        let env = |v: &str| (v == "HOST").then(|| "es".to_string());
        assert_eq!(
            expand_env("url: https://${HOST}:9200/${P:-x}", env).unwrap(),
            "url: https://es:9200/x"
        );
        assert_eq!(
            expand_env("cost: $$5 and $HOME", env).unwrap(),
            "cost: $5 and $HOME"
        );
        let e = expand_env("a: 1\nurl: ${MISSING}\n", env).unwrap_err();
        assert_eq!(e[0].at, Some((2, 6)));
        assert!(e[0].message.contains("MISSING is not set"), "{e:?}");
        assert!(
            expand_env("x: ${1A}", env).unwrap_err()[0]
                .message
                .contains("not a variable name")
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_line_and_column() {
        let p = problems("cluster: a\nsinks:\n  - name: out\n    type: stdout\n    formt: json\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("line 5, column 5: sinks[0] (out): unknown field `formt`"),
            "{p:?}"
        );
        let p = problems("clustr: a\nsinks: [{name: out, type: stdout}]\n");
        assert!(
            p[0].starts_with("line 1, column 1: unknown field `clustr`"),
            "{p:?}"
        );
        let p = problems("sinks: [{name: out, type: stdout}]\nsource: {namespace: [all]}\n");
        assert!(
            p[0].contains("unknown field `namespace`") && p[0].starts_with("line 2"),
            "{p:?}"
        );
    }

    #[test]
    fn an_otlp_sink_is_a_webhook_with_an_endpoint() {
        let c = parse(
            "sinks:\n  - {name: otel, type: otlp, endpoint: 'http://127.0.0.1:4318', protocol: http/json, batch: {maxEvents: 50}}\n",
        )
        .unwrap();
        let SinkKind::Otlp(w) = &c.sinks[0].kind else {
            panic!("not otlp: {:?}", c.sinks[0].kind);
        };
        assert_eq!(w.url, "http://127.0.0.1:4318");
        assert_eq!(w.format, crate::sink::webhook::FormatName::Otlp);
        assert_eq!(
            w.protocol,
            Some(crate::sink::webhook::otlp::OtlpProtocol::HttpJson)
        );
        let p = problems(
            "sinks:\n  - {name: o, type: otlp, url: 'http://x'}\n  - {name: p, type: otlp, endpoint: 'ftp://x'}\n",
        );
        let all = p.join("\n");
        assert!(
            all.contains("unknown field `url` (an otlp sink takes `endpoint`)"),
            "{all}"
        );
        assert!(all.contains("sinks[1] (p).endpoint:"), "{all}");
    }

    #[test]
    fn every_problem_is_reported() {
        let p = problems(
            "filter: \"reason=~'(x'\"\nsinks:\n  - {name: a, type: stdout, filter: \"count>many\"}\n  - {name: a, type: kafkaa}\n  - {type: stdout}\nmetrics: {listen: nowhere}\n",
        );
        let all = p.join("\n");
        assert!(
            all.contains("line 1, column 1: filter: invalid regex"),
            "{all}"
        );
        assert!(all.contains("sinks[0] (a).filter:"), "{all}");
        assert!(
            all.contains("sinks[1] (a).name: the name \"a\" is also sinks[0]'s"),
            "{all}"
        );
        assert!(all.contains("unknown sink type `kafkaa`"), "{all}");
        assert!(all.contains("sinks[2]: missing `name`"), "{all}");
        assert!(
            all.contains("metrics.listen: \"nowhere\" is not an address"),
            "{all}"
        );
        assert_eq!(p.len(), 6, "{all}");
    }

    #[test]
    fn sink_and_source_values_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "source:\n  eventTtl: 0s\n  stateFile: {}/missing/state.json\nsinks:\n  - name: a\n    type: ndjson\n    path: {}/out.ndjson\n    fsync: batch\n    buffer: {{events: 0}}\n  - name: b\n    type: webhook\n    url: http://127.0.0.1:1/\n    format: slack\n    index: kev\n    batch:\n      maxEvents: 10\n      bogus: 1\n",
            dir.path().display(),
            dir.path().display()
        );
        let all = problems(&text).join("\n");
        assert!(
            all.contains("line 2, column 3: source.eventTtl: must be longer than 0s"),
            "{all}"
        );
        assert!(
            all.contains("line 3, column 3: source.stateFile: the directory"),
            "{all}"
        );
        assert!(
            all.contains("line 9, column 5: sinks[0] (a).buffer.events: must be at least 1"),
            "{all}"
        );
        // An unknown key in a nested mapping of a sink is found where it is.
        assert!(
            all.contains("line 17, column 7: sinks[1] (b): unknown field `bogus`"),
            "{all}"
        );
        let fixed = text.replace("      bogus: 1\n", "");
        let all = problems(&fixed).join("\n");
        assert!(
            all.contains("sinks[1] (b).index: not used by format slack"),
            "{all}"
        );
        let many: String = (0..65)
            .map(|i| format!("  - {{name: s{i}, type: stdout}}\n"))
            .collect();
        let all = problems(&format!("sinks:\n{many}")).join("\n");
        assert!(all.contains("65 sinks; at most 64"), "{all}");
    }

    #[test]
    fn namespaces() {
        let p =
            problems("source: {namespaces: [all, payments]}\nsinks: [{name: a, type: stdout}]\n");
        assert!(p[0].contains("list it alone"), "{p:?}");
        let p = problems("source: {namespaces: [Pay_ments]}\nsinks: [{name: a, type: stdout}]\n");
        assert!(p[0].contains("not a namespace name"), "{p:?}");
    }
}
