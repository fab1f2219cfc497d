//! [`WebhookSinkConfig`]: the webhook sink as `kev.yaml` writes it, checked
//! by [`WebhookSinkConfig::check`] (`kev run --check`) and turned into a
//! running [`WebhookSink`] by [`WebhookSinkConfig::build`]. Runtime state
//! never lives here (Vector's split of config and sink).
//!
//! ```yaml
//! url: https://es:9200              # presets add their path when the URL has none
//! format: elasticsearch             # json (default), ndjson, template, loki,
//!                                   # elasticsearch (or opensearch), splunk, slack, teams
//! index: kev-events-%Y.%m.%d        # elasticsearch: strftime on the event's last seen (UTC)
//! headers: {X-Scope-OrgID: ops}
//! auth: {tokenFile: /var/run/secrets/es/token}        # or tokenEnv; scheme: ApiKey
//! #     {username: kev, passwordEnv: ES_PASSWORD}     # or passwordFile
//! tls: {caFile: /etc/kev/ca.pem}    # insecureSkipVerify: true turns verification off
//! batch: {maxEvents: 500, maxBytes: 1MiB, maxWait: 1s}
//! timeout: 10s
//! retry: {initialBackoff: 500ms, maxBackoff: 30s}
//! deadLetter: {path: /var/lib/kev/search.dead.ndjson}
//! spool: {path: /var/lib/kev/spool-search, maxBytes: 256MiB, whenFull: block}
//! ```
//!
//! Format-specific keys: `template` (required by `template`, an override
//! for `slack` and `teams`), `labels` and `staticLabels` (`loki`), `index`
//! (`elasticsearch`), `splunk: {index, source, sourcetype}` (`splunk`).
//! Credentials are read from the environment or a file only: no key takes
//! a secret inline, so none can end up on a command line or in a log.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use super::deliver::{DeadLetter, Deliverer};
use super::format::{self, Elasticsearch, FIELD_NAMES, Field, Format, Loki, Splunk, Template};
use super::http::{self, Auth, Endpoint, SecretSource};
use super::spool::{self, Spool};
use super::{WebhookSink, WebhookStats};
use crate::sink::SinkError;
use crate::units::{ByteSize, Span};

/// The body format; see [`super::format`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatName {
    /// A JSON array of kev/v1 records (the default).
    #[default]
    Json,
    /// kev/v1 records, one per line.
    Ndjson,
    /// `template`, rendered per record.
    Template,
    /// Loki's push API.
    Loki,
    /// Elasticsearch or OpenSearch `_bulk`.
    #[serde(alias = "opensearch")]
    Elasticsearch,
    /// Splunk HTTP Event Collector.
    Splunk,
    /// A Slack message per batch.
    Slack,
    /// A Microsoft Teams message per batch.
    Teams,
    /// OTLP logs (`type: otlp` is this with `endpoint`).
    Otlp,
}

/// The webhook sink's configuration; see the module docs. Defaults are
/// those of [`WebhookSinkConfig::new`].
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSinkConfig {
    /// Where to POST. For `loki`, `elasticsearch` and `splunk`, a URL
    /// without a path gets the API's (`/loki/api/v1/push`, `/_bulk`,
    /// `/services/collector/event`).
    pub url: String,
    /// The body format (default `json`).
    #[serde(default)]
    pub format: FormatName,
    /// A minijinja template: the body of each record for `template` (the
    /// record's kev/v1 fields by name, and `idempotencyKey`); the message
    /// text for `slack`/`teams` (`events`, `count`, `warnings`, `cluster`).
    #[serde(default)]
    pub template: Option<String>,
    /// Loki stream labels: label name → record field (`namespace`,
    /// `object.kind`, …). Default: `cluster`, `namespace`, `type`, `reason`,
    /// and `kind` from `object.kind`; absent values make no label.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Loki labels with fixed values (default `job: kev`).
    #[serde(default)]
    pub static_labels: Option<BTreeMap<String, String>>,
    /// The Elasticsearch index, a strftime pattern on the event's last seen
    /// in UTC (default `kev-events-%Y.%m.%d`).
    #[serde(default)]
    pub index: Option<String>,
    /// Splunk HEC metadata.
    #[serde(default)]
    pub splunk: Option<SplunkConfig>,
    /// OTLP's encoding: `http/protobuf` (default) or `http/json`.
    #[serde(default)]
    pub protocol: Option<super::otlp::OtlpProtocol>,
    /// Extra request headers (they win over the defaults, e.g. `Content-Type`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Credentials.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// TLS verification.
    #[serde(default)]
    pub tls: TlsConfig,
    /// When a batch goes out.
    #[serde(default)]
    pub batch: BatchConfig,
    /// One request's timeout, connection included (default 10s).
    #[serde(default = "default_timeout")]
    pub timeout: Span,
    /// Backoff between retries.
    #[serde(default)]
    pub retry: RetryConfig,
    /// Where records refused for good are kept.
    #[serde(default)]
    pub dead_letter: Option<DeadLetterConfig>,
    /// A disk spool (see [`super::spool`]).
    #[serde(default)]
    pub spool: Option<SpoolConfig>,
}

/// Splunk HEC event metadata.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SplunkConfig {
    /// The index (default: the token's).
    #[serde(default)]
    pub index: Option<String>,
    /// `source` (default `kev`).
    #[serde(default)]
    pub source: Option<String>,
    /// `sourcetype` (default `kev:event`).
    #[serde(default)]
    pub sourcetype: Option<String>,
}

/// Credentials: a token (`tokenEnv` or `tokenFile`, sent as
/// `Authorization: <scheme> <token>`) or basic auth (`username` with
/// `passwordEnv` or `passwordFile`). Never inline.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthConfig {
    /// The environment variable holding the token.
    #[serde(default, alias = "bearerTokenEnv")]
    pub token_env: Option<String>,
    /// The file holding the token (re-read when it changes).
    #[serde(default, alias = "bearerTokenFile")]
    pub token_file: Option<PathBuf>,
    /// The token's scheme: `Bearer` (default), `Splunk` (the default for
    /// `format: splunk`), `ApiKey` (Elasticsearch API keys)…
    #[serde(default)]
    pub scheme: Option<String>,
    /// The basic-auth user.
    #[serde(default)]
    pub username: Option<String>,
    /// The environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The file holding the password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

/// TLS verification: on by default, against the system's roots and `caFile`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificates trusted besides the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (a warning says so at start).
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// A batch goes out at `maxEvents` records, at `maxBytes` of records, or
/// once its oldest record has waited `maxWait`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchConfig {
    /// Default 500.
    #[serde(default = "default_max_events")]
    pub max_events: usize,
    /// The encoded records' size; default 1MiB.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: ByteSize,
    /// Default 1s.
    #[serde(default = "default_max_wait")]
    pub max_wait: Span,
}

/// Exponential backoff with jitter between retries.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryConfig {
    /// The first wait; default 500ms.
    #[serde(default = "default_initial_backoff")]
    pub initial_backoff: Span,
    /// The longest wait; default 30s.
    #[serde(default = "default_max_backoff")]
    pub max_backoff: Span,
}

/// The dead-letter file: kev/v1 NDJSON of what was refused for good.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeadLetterConfig {
    /// The file (appended to).
    pub path: PathBuf,
}

/// What a full spool does with a new batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SpoolWhenFull {
    /// Wait for room (back-pressure), the default.
    #[default]
    Block,
    /// Drop the new batch, counted and logged.
    DropNewest,
}

/// The disk spool.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpoolConfig {
    /// Its directory (one sink's, created if missing).
    pub path: PathBuf,
    /// Its bound on disk; default 256MiB.
    #[serde(default = "default_spool_bytes")]
    pub max_bytes: ByteSize,
    /// When full: `block` (default) or `dropNewest`.
    #[serde(default)]
    pub when_full: SpoolWhenFull,
}

fn default_timeout() -> Span {
    Span(Duration::from_secs(10))
}
fn default_max_events() -> usize {
    500
}
fn default_max_bytes() -> ByteSize {
    ByteSize(1 << 20)
}
fn default_max_wait() -> Span {
    Span(Duration::from_secs(1))
}
fn default_initial_backoff() -> Span {
    Span(Duration::from_millis(500))
}
fn default_max_backoff() -> Span {
    Span(Duration::from_secs(30))
}
fn default_spool_bytes() -> ByteSize {
    ByteSize(256 << 20)
}

/// The default Elasticsearch index pattern.
pub const DEFAULT_INDEX: &str = "kev-events-%Y.%m.%d";

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_events: default_max_events(),
            max_bytes: default_max_bytes(),
            max_wait: default_max_wait(),
        }
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff: default_initial_backoff(),
            max_backoff: default_max_backoff(),
        }
    }
}

impl std::fmt::Debug for WebhookSinkConfig {
    /// The URL past its host and the header values may be credentials (a
    /// Slack webhook's path is): shown redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = match reqwest::Url::parse(&self.url) {
            Ok(u) => http::url_for_logs(&u),
            Err(_) => "<unparsable>".into(),
        };
        let headers: BTreeMap<&str, &str> = self
            .headers
            .keys()
            .map(|k| (k.as_str(), "<redacted>"))
            .collect();
        f.debug_struct("WebhookSinkConfig")
            .field("url", &url)
            .field("format", &self.format)
            .field("template", &self.template.as_ref().map(|_| "…"))
            .field("labels", &self.labels)
            .field("static_labels", &self.static_labels)
            .field("index", &self.index)
            .field("splunk", &self.splunk)
            .field("headers", &headers)
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("batch", &self.batch)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("dead_letter", &self.dead_letter)
            .field("spool", &self.spool)
            .finish()
    }
}

/// Everything [`WebhookSinkConfig::build`] needs, checked.
pub(crate) struct Compiled {
    pub format: Format,
    pub url: reqwest::Url,
    pub headers: HeaderMap,
    pub auth: Option<Auth>,
    pub tls: rustls::ClientConfig,
}

impl WebhookSinkConfig {
    /// A sink posting JSON arrays to `url`, with the defaults: batches of
    /// at most 500 records or 1MiB, sent after 1s at most; a 10s timeout;
    /// backoff from 500ms to 30s; no dead-letter file, no spool.
    pub fn new(url: impl Into<String>) -> WebhookSinkConfig {
        WebhookSinkConfig {
            url: url.into(),
            format: FormatName::Json,
            template: None,
            labels: None,
            static_labels: None,
            index: None,
            splunk: None,
            protocol: None,
            headers: BTreeMap::new(),
            auth: None,
            tls: TlsConfig::default(),
            batch: BatchConfig::default(),
            timeout: default_timeout(),
            retry: RetryConfig::default(),
            dead_letter: None,
            spool: None,
        }
    }

    /// Use `format`.
    #[must_use]
    pub fn format(mut self, format: FormatName) -> Self {
        self.format = format;
        self
    }

    /// Use `template` (see the field).
    #[must_use]
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }

    /// Batches of at most `max_events`, sent after `max_wait` at most.
    #[must_use]
    pub fn batch(mut self, max_events: usize, max_wait: Duration) -> Self {
        self.batch.max_events = max_events;
        self.batch.max_wait = Span(max_wait);
        self
    }

    /// Retry from `initial` up to `max`.
    #[must_use]
    pub fn retry(mut self, initial: Duration, max: Duration) -> Self {
        self.retry = RetryConfig {
            initial_backoff: Span(initial),
            max_backoff: Span(max),
        };
        self
    }

    /// A request's timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Span(timeout);
        self
    }

    /// Keep refused records in `path`.
    #[must_use]
    pub fn dead_letter(mut self, path: impl Into<PathBuf>) -> Self {
        self.dead_letter = Some(DeadLetterConfig { path: path.into() });
        self
    }

    /// Spool in `path`, at most `max_bytes`.
    #[must_use]
    pub fn spool(mut self, path: impl Into<PathBuf>, max_bytes: u64) -> Self {
        self.spool = Some(SpoolConfig {
            path: path.into(),
            max_bytes: ByteSize(max_bytes),
            when_full: SpoolWhenFull::Block,
        });
        self
    }

    /// Check everything that can be checked before running, without
    /// sending anything: the URL, the template (rendered on a sample
    /// record), the index pattern, labels, headers, credentials (set and
    /// readable), the CA file (parses), the dead-letter file's and the
    /// spool's directories (writable; the spool's is created if missing).
    /// Every problem is reported, each naming its key.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = match self.compile() {
            Ok(_) => Vec::new(),
            Err(p) => p,
        };
        if let Some(dl) = &self.dead_letter {
            let dir = dl
                .path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            if dl.path.exists() {
                if let Err(e) = std::fs::OpenOptions::new().append(true).open(&dl.path) {
                    problems.push(format!(
                        "deadLetter.path: cannot write {}: {e}",
                        dl.path.display()
                    ));
                }
            } else if let Err(e) = spool::check_writable(dir) {
                problems.push(format!("deadLetter.path: {e}"));
            }
        }
        if let Some(sp) = &self.spool {
            if let Err(e) = spool::check_dir(&sp.path) {
                problems.push(format!("spool.path: {e}"));
            }
            if sp.max_bytes.0 == 0 {
                problems.push("spool.maxBytes: must be more than 0".into());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Build the sink named `name`. With a spool, this opens (and recovers)
    /// it and, inside a tokio runtime, starts delivering what it holds.
    pub fn build(&self, name: &str) -> Result<WebhookSink, SinkError> {
        let invalid = |what: String| SinkError::Io {
            sink: name.to_string(),
            what: "invalid webhook configuration".to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, what),
        };
        let compiled = self.compile().map_err(|p| invalid(p.join("; ")))?;
        if self.tls.insecure_skip_verify {
            tracing::warn!(
                sink = name,
                "tls.insecureSkipVerify is on: the webhook's certificate is not verified"
            );
        }
        let client = http::client(compiled.tls, self.timeout.0).map_err(invalid)?;
        let log_url = http::url_for_logs(&compiled.url);
        let stats = Arc::new(WebhookStats::default());
        let deliverer = Arc::new(Deliverer {
            name: name.to_string(),
            endpoint: Endpoint {
                client,
                url: compiled.url,
                log_url,
                headers: compiled.headers,
                auth: compiled.auth,
            },
            format: compiled.format,
            initial_backoff: self.retry.initial_backoff.0,
            max_backoff: self.retry.max_backoff.0,
            dead_letter: self
                .dead_letter
                .as_ref()
                .map(|d| DeadLetter::new(d.path.clone())),
            stats: stats.clone(),
        });
        let spool = match &self.spool {
            Some(sp) => Some(
                Spool::open(&sp.path, sp.max_bytes.0, sp.when_full, stats.clone(), name)
                    .map_err(invalid)?,
            ),
            None => None,
        };
        Ok(WebhookSink::new(
            name,
            deliverer,
            super::Limits {
                max_events: self.batch.max_events,
                max_bytes: usize::try_from(self.batch.max_bytes.0).unwrap_or(usize::MAX),
                max_wait: self.batch.max_wait.0,
            },
            stats,
            spool,
        ))
    }

    /// Check and compile what does not touch the spool or dead-letter file.
    pub(crate) fn compile(&self) -> Result<Compiled, Vec<String>> {
        let mut p = Vec::new();
        let format = self.compile_format(&mut p);
        let url = match reqwest::Url::parse(&self.url) {
            Ok(u) if u.password().is_some() || !u.username().is_empty() => {
                p.push(
                    "url: holds credentials; put them in auth (from the environment or a file)"
                        .into(),
                );
                None
            }
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Some(u),
            Ok(u) => {
                p.push(format!(
                    "url: {}: expected an http:// or https:// URL with a host",
                    http::url_for_logs(&u)
                ));
                None
            }
            // The message of a parse error does not repeat the URL, which
            // may hold a credential.
            Err(e) => {
                p.push(format!("url: not a URL: {e}"));
                None
            }
        };
        let url = match (url, &format) {
            (Some(mut u), Some(f)) => {
                if let Some(path) = f.default_path()
                    && (u.path().is_empty() || u.path() == "/")
                {
                    u.set_path(path);
                }
                Some(u)
            }
            (u, _) => u,
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                (Ok(n), Ok(mut v)) => {
                    if n == reqwest::header::AUTHORIZATION && self.auth.is_some() {
                        p.push(
                            "headers: Authorization is set by auth; set one or the other".into(),
                        );
                    }
                    // Configured headers may carry keys: never logged.
                    v.set_sensitive(true);
                    headers.insert(n, v);
                }
                (Err(_), _) => p.push(format!("headers: {name:?} is not a header name")),
                (_, Err(_)) => p.push(format!("headers.{name}: not a valid header value")),
            }
        }
        let auth = self
            .auth
            .as_ref()
            .and_then(|a| compile_auth(a, self.format).map_err(|e| p.push(e)).ok());
        let https = url.as_ref().is_some_and(|u| u.scheme() == "https");
        let tls = match http::tls_config(
            self.tls.ca_file.as_deref(),
            self.tls.insecure_skip_verify,
            https,
        ) {
            Ok(t) => Some(t),
            Err(e) => {
                p.push(e);
                None
            }
        };
        if self.tls.ca_file.is_some() && self.tls.insecure_skip_verify {
            p.push("tls: caFile and insecureSkipVerify contradict each other".into());
        }
        if self.batch.max_events == 0 {
            p.push("batch.maxEvents: must be at least 1".into());
        }
        if self.batch.max_bytes.0 == 0 {
            p.push("batch.maxBytes: must be more than 0".into());
        }
        if self.timeout.0.is_zero() {
            p.push("timeout: must be more than 0".into());
        }
        if self.retry.initial_backoff.0.is_zero() {
            p.push("retry.initialBackoff: must be more than 0".into());
        }
        if self.retry.max_backoff.0 < self.retry.initial_backoff.0 {
            p.push("retry.maxBackoff: must be at least retry.initialBackoff".into());
        }
        match (format, url, tls) {
            (Some(format), Some(url), Some(tls)) if p.is_empty() => Ok(Compiled {
                format,
                url,
                headers,
                auth,
                tls,
            }),
            _ => Err(p),
        }
    }

    fn compile_format(&self, p: &mut Vec<String>) -> Option<Format> {
        let f = self.format;
        let only = |key: &str, set: bool, formats: &[FormatName], p: &mut Vec<String>| {
            if set && !formats.contains(&f) {
                let name = format!("{f:?}").to_lowercase();
                p.push(format!("{key}: not used by format {name}"));
            }
        };
        use FormatName as N;
        only(
            "template",
            self.template.is_some(),
            &[N::Template, N::Slack, N::Teams],
            p,
        );
        only("labels", self.labels.is_some(), &[N::Loki], p);
        only("staticLabels", self.static_labels.is_some(), &[N::Loki], p);
        only("index", self.index.is_some(), &[N::Elasticsearch], p);
        only("splunk", self.splunk.is_some(), &[N::Splunk], p);
        only("protocol", self.protocol.is_some(), &[N::Otlp], p);
        let sample = format::sample();
        let template = match &self.template {
            None => None,
            Some(src) => match Template::compile(src) {
                Ok(t) => Some(t),
                Err(e) => {
                    p.push(format!("template: does not compile: {e}"));
                    return None;
                }
            },
        };
        let format = match f {
            N::Json => Format::Json,
            N::Ndjson => Format::Ndjson,
            N::Template => match template {
                Some(t) => Format::Template(t),
                None => {
                    p.push("template: format template needs a template".into());
                    return None;
                }
            },
            N::Slack => Format::Slack(template),
            N::Otlp => Format::Otlp(self.protocol.unwrap_or_default()),
            N::Teams => Format::Teams(template),
            N::Loki => {
                let labels = match &self.labels {
                    Some(l) => l.clone(),
                    None => [
                        ("cluster", "cluster"),
                        ("namespace", "namespace"),
                        ("type", "type"),
                        ("reason", "reason"),
                        ("kind", "object.kind"),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                };
                let static_labels = self
                    .static_labels
                    .clone()
                    .unwrap_or_else(|| BTreeMap::from([("job".to_string(), "kev".to_string())]));
                let mut fields = Vec::new();
                for (name, field) in &labels {
                    if !loki_label_name(name) {
                        p.push(format!(
                            "labels.{name}: not a Loki label name ([a-zA-Z_][a-zA-Z0-9_]*)"
                        ));
                    }
                    match Field::parse(field) {
                        Some(fl) => fields.push((name.clone(), fl)),
                        None => p.push(format!(
                            "labels.{name}: {field:?} is not a record field; one of {}",
                            FIELD_NAMES.join(", ")
                        )),
                    }
                }
                for name in static_labels.keys() {
                    if !loki_label_name(name) {
                        p.push(format!("staticLabels.{name}: not a Loki label name"));
                    }
                }
                if fields.is_empty() && static_labels.is_empty() {
                    p.push("labels: Loki needs at least one label".into());
                }
                Format::Loki(Loki {
                    labels: fields,
                    static_labels: static_labels.into_iter().collect(),
                })
            }
            N::Elasticsearch => {
                let index = self
                    .index
                    .clone()
                    .unwrap_or_else(|| DEFAULT_INDEX.to_string());
                if let Err(e) = check_index(&index) {
                    p.push(format!("index: {e}"));
                    return None;
                }
                Format::Elasticsearch(Elasticsearch { index })
            }
            N::Splunk => {
                let s = self.splunk.clone().unwrap_or_default();
                Format::Splunk(Splunk {
                    index: s.index,
                    source: s.source.unwrap_or_else(|| "kev".into()),
                    sourcetype: s.sourcetype.unwrap_or_else(|| "kev:event".into()),
                })
            }
        };
        // A template must render on a record, not only compile.
        if let Err(e) = format.body(std::slice::from_ref(&sample)) {
            p.push(format!("template: does not render on a sample record: {e}"));
            return None;
        }
        Some(format)
    }
}

fn loki_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An index pattern must be valid strftime and make a valid index name
/// (lower case, none of `\ / * ? " < > | , #` or spaces, not starting with
/// `-`, `_` or `+`).
fn check_index(pattern: &str) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(pattern).any(|i| matches!(i, Item::Error)) {
        return Err(format!("{pattern:?} is not a valid strftime pattern"));
    }
    let sample: chrono::DateTime<chrono::Utc> = format::event_time(&format::sample().occ);
    let name = sample.format(pattern).to_string();
    if name.is_empty()
        || name != name.to_lowercase()
        || name.starts_with(['-', '_', '+'])
        || name.contains(['\\', '/', '*', '?', '"', '<', '>', '|', ',', '#', ' ', ':'])
    {
        return Err(format!(
            "{pattern:?} makes {name:?}, not a valid index name (lower case, no \\ / * ? \" < > | , # : or spaces)"
        ));
    }
    Ok(())
}

fn compile_auth(a: &AuthConfig, format: FormatName) -> Result<Auth, String> {
    let token = match (&a.token_env, &a.token_file) {
        (Some(_), Some(_)) => return Err("auth: tokenEnv and tokenFile: set one".into()),
        (Some(var), None) => {
            Some(SecretSource::env(var).map_err(|e| format!("auth.tokenEnv: {e}"))?)
        }
        (None, Some(path)) => {
            Some(SecretSource::file(path).map_err(|e| format!("auth.tokenFile: {e}"))?)
        }
        (None, None) => None,
    };
    let password = match (&a.password_env, &a.password_file) {
        (Some(_), Some(_)) => return Err("auth: passwordEnv and passwordFile: set one".into()),
        (Some(var), None) => {
            Some(SecretSource::env(var).map_err(|e| format!("auth.passwordEnv: {e}"))?)
        }
        (None, Some(path)) => {
            Some(SecretSource::file(path).map_err(|e| format!("auth.passwordFile: {e}"))?)
        }
        (None, None) => None,
    };
    match (token, &a.username, password) {
        (Some(token), None, None) => {
            let scheme = a.scheme.clone().unwrap_or_else(|| {
                if format == FormatName::Splunk {
                    "Splunk".into()
                } else {
                    "Bearer".into()
                }
            });
            if scheme.is_empty()
                || !scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(format!("auth.scheme: {scheme:?} is not an auth scheme"));
            }
            Ok(Auth::Token { scheme, token })
        }
        (None, Some(user), Some(password)) => {
            if a.scheme.is_some() {
                return Err("auth.scheme: only for a token".into());
            }
            if user.contains(':') {
                return Err("auth.username: cannot contain ':'".into());
            }
            Ok(Auth::Basic {
                username: user.clone(),
                password,
            })
        }
        (None, Some(_), None) => Err("auth.username: needs passwordEnv or passwordFile".into()),
        (None, None, Some(_)) => Err("auth: a password needs a username".into()),
        (None, None, None) => Err(
            "auth: set tokenEnv or tokenFile, or username with passwordEnv or passwordFile".into(),
        ),
        (Some(_), _, _) => Err("auth: a token or a username and password, not both".into()),
    }
}
