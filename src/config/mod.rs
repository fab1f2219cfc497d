//! Resolved settings: what the flags mean, checked before anything runs.
//!
//! [`crate::cli`] holds the flags as typed; this module turns them into
//! settings a command can run with (ripgrep's low args → high args): the
//! filter compiled (a typo is reported with its column before any
//! connection is made), `--for` parsed, durations and namespaces validated,
//! the output chosen. Nothing here does I/O; what needs the cluster (the
//! context's default namespace, `--for` through discovery) is resolved by
//! the command, through the methods here.

pub mod daemon;
pub mod locate;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::cli::{Cli, FilterArgs, FollowArgs, OutputArgs, ReplayArgs};
use crate::client::ClusterOptions;
use crate::filter::duration::parse_duration;
use crate::filter::{Filter, FilterError, Span, Sugar, TimeBound, parse_time_bound};
use crate::model::{Clock, ObjectSpec, ObjectTarget};
use crate::output::{OutputFormat, TableOptions};

/// Settings that cannot be used: a usage error (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A filter expression or filter flag is wrong; shown with a caret.
    #[error("{}", .0.render())]
    Filter(FilterError),
    /// A flag's value is wrong.
    #[error("{flag} {value:?}: {reason}")]
    Value {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// Flags that do not go together.
    #[error("{0}")]
    Conflict(String),
    /// A `-o jsonpath` template does not parse; shown with a caret.
    #[error("{}", .0.render())]
    Jsonpath(FilterError),
}

// Not `#[from]`: that would make the FilterError a `source`, and the
// message would be printed twice in the error chain.
impl From<FilterError> for SettingsError {
    fn from(e: FilterError) -> Self {
        SettingsError::Filter(e)
    }
}

/// Which namespace to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Namespaces {
    /// Every namespace (`-A`).
    All,
    /// This one (`-n`).
    One(String),
    /// The kubeconfig context's namespace, else `default`.
    ContextDefault,
}

impl Namespaces {
    /// The namespace to read, `None` for all, given the context's default.
    pub fn resolve(&self, context_default: &str) -> Option<String> {
        match self {
            Namespaces::All => None,
            Namespaces::One(ns) => Some(ns.clone()),
            Namespaces::ContextDefault => Some(context_default.to_string()),
        }
    }
}

/// How long to keep going.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// List and exit.
    No,
    /// List, then watch (`-w`).
    Watch,
    /// Watch only (`--watch-only`).
    WatchOnly,
}

/// The terminal output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputSettings {
    /// `-o`.
    pub format: OutputFormat,
    /// `--no-headers`.
    pub no_headers: bool,
    /// Colour on (`--color`, `NO_COLOR`, and whether stdout is a terminal).
    pub color: bool,
    /// `--summary`: the groups instead of the events.
    pub summary: bool,
}

impl OutputSettings {
    /// From the flags and the environment.
    pub fn from_args(out: &OutputArgs) -> OutputSettings {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let format = match (out.output.format, out.list) {
            (OutputFormat::Json, true) => OutputFormat::ListJson,
            (OutputFormat::Yaml, true) => OutputFormat::ListYaml,
            (f, _) => f,
        };
        OutputSettings {
            format,
            no_headers: out.no_headers,
            color: out.color.enabled(std::io::stdout().is_terminal(), no_color),
            summary: out.summary,
        }
    }

    /// The summary's columns.
    pub fn summary_columns(
        &self,
        namespace_column: bool,
    ) -> crate::output::summary::SummaryColumns {
        crate::output::summary::SummaryColumns {
            cluster: false,
            namespace: namespace_column,
            no_headers: self.no_headers,
        }
    }

    /// The table options, with or without the NAMESPACE column.
    pub fn table(&self, namespace_column: bool) -> TableOptions {
        TableOptions {
            cluster_column: false,
            namespace_column,
            no_headers: self.no_headers,
            color: self.color,
        }
    }
}

/// The state file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateSettings {
    /// Where.
    pub path: PathBuf,
    /// `--reset-state`: ignore what it holds.
    pub reset: bool,
}

/// The filter flags and words, checked; `--for` is resolved later.
#[derive(Clone, Debug)]
pub struct FilterSettings {
    words: Vec<String>,
    sugar: Sugar,
    /// `--for`, parsed.
    pub for_object: Option<ObjectSpec>,
    /// `--tree`: `--for`'s object and everything it owns.
    pub tree: bool,
}

impl FilterSettings {
    /// Check the filter flags and words (compiling them once, so an error
    /// shows before anything else happens); `namespaces` are extra
    /// `namespace in (...)` terms (replay's `-n`).
    pub fn from_args(
        words: &[String],
        args: &FilterArgs,
        namespaces: Vec<String>,
    ) -> Result<FilterSettings, SettingsError> {
        let for_object = args
            .for_object
            .as_deref()
            .map(|text| ObjectSpec::parse(text).map_err(|e| for_error(text, e)))
            .transpose()?;
        let sugar = Sugar {
            types: args.types.clone(),
            reasons: args.reasons.clone(),
            kinds: args.kinds.clone(),
            namespaces,
            for_object: None,
            owned: None,
            since: time_flag("--since", args.since.as_deref())?,
            until: time_flag("--until", args.until.as_deref())?,
            match_message: args.match_message.clone(),
        };
        if let (Some(TimeBound::At(since)), Some(TimeBound::At(until))) = (sugar.since, sugar.until)
            && since > until
        {
            return Err(SettingsError::Value {
                flag: "--until",
                value: args.until.clone().unwrap_or_default(),
                reason: "is before --since: no event can be in that window".to_string(),
            });
        }
        if let (Some(TimeBound::Ago(since)), Some(TimeBound::Ago(until))) =
            (sugar.since, sugar.until)
            && until > since
        {
            return Err(SettingsError::Value {
                flag: "--until",
                value: args.until.clone().unwrap_or_default(),
                reason: "is further back than --since: no event can be in that window".to_string(),
            });
        }
        let settings = FilterSettings {
            words: words.to_vec(),
            sugar,
            for_object,
            tree: args.tree,
        };
        settings.build(None)?;
        Ok(settings)
    }

    /// The filter, with `--for` resolved to `target`.
    pub fn build(&self, target: Option<ObjectTarget>) -> Result<Filter, SettingsError> {
        let sugar = Sugar {
            for_object: target,
            ..self.sugar.clone()
        };
        Ok(Filter::build(&self.words, &sugar)?)
    }

    /// The filter with `--for --tree`'s owned set in place of `--for`.
    pub fn build_owned(
        &self,
        owned: std::sync::Arc<crate::model::owned::OwnedSet>,
    ) -> Result<Filter, SettingsError> {
        let sugar = Sugar {
            owned: Some(crate::filter::ast::Owned(owned)),
            ..self.sugar.clone()
        };
        Ok(Filter::build(&self.words, &sugar)?)
    }

    /// The filter with `--for` resolved offline (replay: kubectl's built-in
    /// names, or a Kind as the API spells it).
    pub fn build_offline(&self) -> Result<Filter, SettingsError> {
        if self.tree {
            return Err(SettingsError::Conflict(
                "--tree needs a cluster to read owners from; a replay has none (use --for KIND/NAME alone)"
                    .to_string(),
            ));
        }
        let target = match &self.for_object {
            Some(spec) => Some(
                spec.offline_target()
                    .map_err(|e| for_error(&spec.text, e))?,
            ),
            None => None,
        };
        self.build(target)
    }
}

fn for_error(text: &str, e: crate::model::ObjectSpecError) -> SettingsError {
    FilterError::new(e.message, "--for", text, Span::new(e.span.0, e.span.1)).into()
}

fn time_flag(flag: &str, value: Option<&str>) -> Result<Option<TimeBound>, FilterError> {
    value
        .map(|v| {
            parse_time_bound(v).map_err(|mut e| {
                e.origin = flag.to_string();
                e
            })
        })
        .transpose()
}

/// `kev [FLAGS] [EXPR...]`: list, and with `-w` follow.
#[derive(Clone, Debug)]
pub struct TailSettings {
    /// Which kubeconfig and context.
    pub cluster: ClusterOptions,
    /// Which namespace.
    pub namespaces: Namespaces,
    /// What to show.
    pub filter: FilterSettings,
    /// List only, or follow.
    pub follow: Follow,
    /// `--include-deleted`.
    pub include_deleted: bool,
    /// The output.
    pub output: OutputSettings,
    /// `--chunk-size`.
    pub page_size: u32,
    /// `--request-timeout`; `None`: no limit.
    pub request_timeout: Option<Duration>,
    /// `--event-ttl`.
    pub event_ttl: Duration,
    /// `--state-file`.
    pub state: Option<StateSettings>,
    /// `--to-file` and `--to-webhook`: where records go instead of the
    /// terminal (empty: the terminal).
    pub ship: Vec<ShipTo>,
    /// Several clusters: `--context a,b` (the names) or `--all-contexts`.
    pub contexts: Contexts,
}

/// Which clusters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contexts {
    /// One: `--context NAME`, or the kubeconfig's current context.
    One,
    /// These, by name (`--context a,b`).
    Named(Vec<String>),
    /// Every context of the kubeconfig (`--all-contexts`).
    All,
}

/// A sink named on the command line.
#[derive(Clone, Debug)]
pub enum ShipTo {
    /// `--to-file PATH`.
    File(crate::sink::file::FileSinkConfig),
    /// `--to-webhook URL`.
    Webhook(Box<crate::sink::webhook::WebhookSinkConfig>),
}

impl ShipTo {
    /// The sink's name (in logs and in the state file's per-sink progress):
    /// `file` and `webhook`, numbered from the second of a kind on.
    pub fn names(ship: &[ShipTo]) -> Vec<String> {
        let (mut files, mut hooks) = (0, 0);
        ship.iter()
            .map(|s| {
                let (n, kind) = match s {
                    ShipTo::File(_) => (&mut files, "file"),
                    ShipTo::Webhook(_) => (&mut hooks, "webhook"),
                };
                *n += 1;
                if *n == 1 {
                    kind.to_string()
                } else {
                    format!("{kind}-{n}")
                }
            })
            .collect()
    }

    /// `--to-file` and `--to-webhook`, checked as `kev run --check` checks
    /// a sink (the file's directory is writable, the URL parses).
    fn from_args(files: &[PathBuf], urls: &[String]) -> Result<Vec<ShipTo>, SettingsError> {
        let mut ship = Vec::new();
        for path in files {
            let config = crate::sink::file::FileSinkConfig::new(path.clone());
            config.check().map_err(|reason| SettingsError::Value {
                flag: "--to-file",
                value: path.display().to_string(),
                reason,
            })?;
            ship.push(ShipTo::File(config));
        }
        for url in urls {
            let config = crate::sink::webhook::WebhookSinkConfig::new(url.clone());
            config.check().map_err(|problems| SettingsError::Value {
                flag: "--to-webhook",
                // The URL may hold a token: the problems say what is wrong.
                value: "URL".to_string(),
                reason: problems.join("; "),
            })?;
            ship.push(ShipTo::Webhook(Box::new(config)));
        }
        Ok(ship)
    }
}

impl TailSettings {
    /// From the command line.
    pub fn from_cli(cli: &Cli) -> Result<TailSettings, SettingsError> {
        let c = &cli.cluster;
        let namespaces = match (&c.namespace, c.all_namespaces) {
            (_, true) => Namespaces::All,
            (Some(ns), false) => Namespaces::One(valid_namespace(ns)?),
            (None, false) => Namespaces::ContextDefault,
        };
        let follow = match (cli.follow.watch, cli.follow.watch_only) {
            (_, true) => Follow::WatchOnly,
            (true, false) => Follow::Watch,
            (false, false) => Follow::No,
        };
        if cli.output.summary && follow != Follow::No {
            return Err(SettingsError::Conflict(
                "--summary lists once and cannot follow (-w, --watch-only); `kev top` shows the groups live"
                    .to_string(),
            ));
        }
        if cli.output.summary
            && (!cli.follow.to_file.is_empty() || !cli.follow.to_webhook.is_empty())
        {
            return Err(SettingsError::Conflict(
                "--summary prints the groups; --to-file and --to-webhook ship events: use one or the other"
                    .to_string(),
            ));
        }
        check_output(&cli.output, follow != Follow::No)?;
        let request_timeout = duration_flag("--request-timeout", &c.request_timeout)?;
        let event_ttl = duration_flag("--event-ttl", &cli.follow.event_ttl)?.ok_or_else(|| {
            SettingsError::Value {
                flag: "--event-ttl",
                value: cli.follow.event_ttl.clone(),
                reason: "must be longer than 0s".to_string(),
            }
        })?;
        let contexts = match (&c.context, c.all_contexts) {
            (_, true) => Contexts::All,
            (Some(list), false) if list.contains(',') => {
                let names: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .collect();
                if names.is_empty() {
                    return Err(SettingsError::Value {
                        flag: "--context",
                        value: list.clone(),
                        reason: "names no context".to_string(),
                    });
                }
                Contexts::Named(names)
            }
            _ => Contexts::One,
        };
        if contexts != Contexts::One {
            if cli.follow.state_file.is_some() {
                return Err(SettingsError::Conflict(
                    "--state-file follows one cluster: run one kev per context with its own state file"
                        .to_string(),
                ));
            }
            if cli.filter.tree {
                return Err(SettingsError::Conflict(
                    "--tree reads one cluster's owners: give one --context".to_string(),
                ));
            }
        }
        Ok(TailSettings {
            contexts,
            cluster: ClusterOptions {
                kubeconfig: c.kubeconfig.clone(),
                context: c.context.clone(),
                overrides: crate::client::Overrides {
                    server: c.server.clone(),
                    token: c.token.clone(),
                    user: c.user_name.clone(),
                    cluster: c.cluster_name.clone(),
                    impersonate: c.as_user.clone(),
                    impersonate_groups: c.as_group.clone(),
                    certificate_authority: c.certificate_authority.clone(),
                    client_certificate: c.client_certificate.clone(),
                    client_key: c.client_key.clone(),
                    insecure_skip_tls_verify: c.insecure_skip_tls_verify,
                },
            },
            namespaces,
            filter: FilterSettings::from_args(&cli.expr, &cli.filter, Vec::new())?,
            follow,
            include_deleted: cli.follow.include_deleted,
            output: OutputSettings::from_args(&cli.output),
            page_size: c.chunk_size.max(1),
            request_timeout,
            event_ttl,
            state: cli.follow.state_file.clone().map(|path| StateSettings {
                path,
                reset: cli.follow.reset_state,
            }),
            ship: ShipTo::from_args(&cli.follow.to_file, &cli.follow.to_webhook)?,
        })
    }
}

/// `kev replay`.
#[derive(Clone, Debug)]
pub struct ReplaySettings {
    /// The inputs (`-` for stdin).
    pub files: Vec<String>,
    /// "Now" for ages and relative windows.
    pub clock: Clock,
    /// The filter (`--for` resolved offline).
    pub filter: Filter,
    /// The output.
    pub output: OutputSettings,
    /// Show the NAMESPACE column.
    pub namespace_column: bool,
}

impl ReplaySettings {
    /// From `kev replay`'s arguments.
    pub fn from_args(args: &ReplayArgs) -> Result<ReplaySettings, SettingsError> {
        let clock = match &args.now {
            Some(t) => Clock::Fixed(
                DateTime::parse_from_rfc3339(t)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| SettingsError::Value {
                        flag: "--now",
                        value: t.clone(),
                        reason: format!("not an RFC 3339 time: {e}"),
                    })?,
            ),
            None => Clock::Fixed(Utc::now()),
        };
        check_output(&args.output, false)?;
        // `kev replay dump.ndjson type=Warning`: a forgotten `--`.
        if let Some(word) = args
            .files
            .iter()
            .find(|f| *f != "-" && !std::path::Path::new(f).exists() && looks_like_expression(f))
        {
            return Err(SettingsError::Value {
                flag: "FILE",
                value: word.clone(),
                reason: format!(
                    "is not a file, and looks like a filter expression: put expressions after `--` (kev replay FILE... -- '{word}')"
                ),
            });
        }
        let namespaces = args.namespace.iter().cloned().collect();
        let filter =
            FilterSettings::from_args(&args.expr, &args.filter, namespaces)?.build_offline()?;
        Ok(ReplaySettings {
            files: args.files.clone(),
            clock,
            filter,
            output: OutputSettings::from_args(&args.output),
            namespace_column: args.namespace.is_none() || args.all_namespaces,
        })
    }
}

/// `kev top`: a cluster (kev's flags, following) or saved dumps.
#[derive(Debug)]
pub enum TopSource {
    /// Read a cluster as `kev -w` does.
    Cluster(Box<TailSettings>),
    /// Read dumps as `kev replay` does.
    Files(Box<ReplaySettings>),
}

/// `kev top`.
#[derive(Debug)]
pub struct TopSettings {
    /// Where the events come from.
    pub source: TopSource,
    /// "Now" for the rates.
    pub clock: crate::incident::live::ViewClock,
    /// Events not updated for this long are forgotten.
    pub event_ttl: Duration,
    /// What is being read, for the status bar.
    pub title: String,
}

impl TopSettings {
    /// From `kev top`'s arguments.
    pub fn from_args(args: &crate::cli::TopArgs) -> Result<TopSettings, SettingsError> {
        use crate::incident::live::ViewClock;
        let event_ttl =
            duration_flag("--event-ttl", &args.event_ttl)?.ok_or_else(|| SettingsError::Value {
                flag: "--event-ttl",
                value: args.event_ttl.clone(),
                reason: "must be more than 0".to_string(),
            })?;
        let mut title = Vec::new();
        if !args.expr.is_empty() {
            title.push(args.expr.join(" "));
        }
        if let Some(f) = &args.filter.for_object {
            title.insert(
                0,
                format!("--for {f}{}", if args.filter.tree { " --tree" } else { "" }),
            );
        }
        if !args.files.is_empty() {
            let c = &args.cluster;
            if c.context.is_some() || c.all_contexts || c.kubeconfig.is_some() {
                return Err(SettingsError::Conflict(
                    "--file reads saved dumps: --context, --all-contexts and --kubeconfig choose a cluster; use one or the other"
                        .to_string(),
                ));
            }
            let replay = ReplaySettings::from_args(&ReplayArgs {
                files: args.files.clone(),
                expr: args.expr.clone(),
                now: args.now.clone(),
                namespace: c.namespace.clone(),
                all_namespaces: c.all_namespaces,
                filter: args.filter.clone(),
                output: OutputArgs::default(),
            })?;
            let clock = match (&args.now, replay.clock) {
                (Some(_), Clock::Fixed(t)) => ViewClock::Fixed(t),
                _ => ViewClock::Newest,
            };
            if args.filter.tree {
                return Err(SettingsError::Conflict(
                    "--tree reads what an object owns from the cluster; a dump has no owners: use --for KIND/NAME without --tree"
                        .to_string(),
                ));
            }
            title.insert(0, args.files.join(", "));
            return Ok(TopSettings {
                source: TopSource::Files(Box::new(replay)),
                clock,
                event_ttl,
                title: crate::escape::escape(&title.join(" │ ")).into_owned(),
            });
        }
        let c = &args.cluster;
        let cli = Cli {
            command: None,
            cluster: c.clone(),
            follow: FollowArgs {
                watch: true,
                event_ttl: args.event_ttl.clone(),
                ..FollowArgs::default()
            },
            filter: args.filter.clone(),
            output: OutputArgs::default(),
            expr: args.expr.clone(),
            verbose: 0,
            log_format: crate::cli::LogFormat::Text,
        };
        let tail = TailSettings::from_cli(&cli)?;
        let context = match (&c.context, c.all_contexts) {
            (_, true) => "all contexts".to_string(),
            (Some(ctx), false) => format!("context {ctx}"),
            (None, false) => "current context".to_string(),
        };
        let namespace = match (&c.namespace, c.all_namespaces) {
            (_, true) => "all namespaces".to_string(),
            (Some(ns), false) => format!("namespace {ns}"),
            (None, false) => "the context's namespace".to_string(),
        };
        title.insert(0, format!("{context}, {namespace}"));
        Ok(TopSettings {
            source: TopSource::Cluster(Box::new(tail)),
            clock: ViewClock::System,
            event_ttl,
            title: crate::escape::escape(&title.join(" │ ")).into_owned(),
        })
    }
}

/// `-o template`, the JSONPath forms and `-o name`: the template compiled
/// (a JSONPath one executed per event when `per_event`, `-w`), and the
/// combinations that mean nothing refused.
fn check_output(out: &OutputArgs, per_event: bool) -> Result<(), SettingsError> {
    let conflict = |m: String| Err(SettingsError::Conflict(m));
    let format = out.output.format;
    let name = format.name();
    let template = match (&out.output.template, &out.template) {
        (Some(_), Some(_)) => {
            return conflict(format!(
                "-o {name}=TEMPLATE and --template both give the template: give one"
            ));
        }
        (Some(t), None) => Some((t, "-o")),
        (None, Some(t)) => Some((t, "--template")),
        (None, None) => None,
    };
    // `-o jsonpath=` gives no template (kubectl: "no template given").
    let template = template.filter(|(t, _)| !(t.is_empty() && format.is_jsonpath()));
    match (format, template) {
        (OutputFormat::Template, None) => {
            return conflict(
                "-o template needs --template TEXT (a minijinja template over each kev/v1 record)"
                    .to_string(),
            );
        }
        (OutputFormat::Template, Some((t, flag))) => {
            if !out.allow_missing_template_keys {
                return conflict(
                    "--allow-missing-template-keys=false is for -o jsonpath; a minijinja template tests a field with `{% if x is defined %}`"
                        .to_string(),
                );
            }
            crate::output::template::install(t).map_err(|reason| SettingsError::Value {
                flag,
                value: t.clone(),
                reason,
            })?;
        }
        (f, None) if f.is_jsonpath() => {
            let what = if f == OutputFormat::JsonpathFile {
                "PATH"
            } else {
                "'{.items[*].reason}'"
            };
            return conflict(format!(
                "-o {name} needs a template: -o {name}={what}, or -o {name} --template {what}"
            ));
        }
        (f, Some((t, flag))) if f.is_jsonpath() => {
            let (source, origin) = if f == OutputFormat::JsonpathFile {
                let text = std::fs::read_to_string(t).map_err(|e| SettingsError::Value {
                    flag: "-o jsonpath-file",
                    value: t.clone(),
                    reason: format!("cannot read the template: {e}"),
                })?;
                (text, format!("-o jsonpath-file {t}"))
            } else if flag == "--template" {
                (t.clone(), format!("-o {name} --template"))
            } else {
                (t.clone(), format!("-o {name}"))
            };
            let compiled = crate::output::jsonpath::Compiled::new(
                &source,
                f == OutputFormat::JsonpathAsJson,
                per_event,
                out.allow_missing_template_keys,
            )
            .map_err(|e| {
                SettingsError::Jsonpath(FilterError::new(
                    e.message,
                    &origin,
                    &source,
                    Span::new(e.span.0, e.span.1),
                ))
            })?;
            crate::output::jsonpath::install(compiled);
        }
        (_, Some(_)) => {
            return conflict(
                "--template is for -o template, jsonpath, jsonpath-as-json and jsonpath-file"
                    .to_string(),
            );
        }
        _ => {}
    }
    if out.summary
        && (matches!(format, OutputFormat::Name | OutputFormat::Template) || format.is_jsonpath())
    {
        return conflict("--summary prints with -o table, wide, json, yaml or ndjson".to_string());
    }
    if out.list && !matches!(format, OutputFormat::Json | OutputFormat::Yaml) {
        return conflict(format!(
            "--list prints the Event objects as `kubectl events -o json|yaml` does: use it with -o json or -o yaml, not -o {name}"
        ));
    }
    if out.list && out.summary {
        return conflict("--list prints the events, --summary their groups: use one".to_string());
    }
    if out.show_managed_fields && !out.list {
        return conflict(
            "--show-managed-fields is for --list's Event objects (kev/v1 records carry no managed fields): add --list"
                .to_string(),
        );
    }
    if out.list {
        crate::output::kubectl::install(crate::output::kubectl::Options {
            managed_fields: out.show_managed_fields,
            per_object: per_event,
        });
    }
    Ok(())
}

/// Whether a word reads as a filter expression (`type=Warning`,
/// `count>5`, `message=~"x"`, `not reason in (A)`), not a path.
fn looks_like_expression(word: &str) -> bool {
    let parses = crate::filter::Filter::parse(word).is_ok();
    let operator = ["=", "!=", "=~", "!~", "<", ">", " in ("]
        .iter()
        .any(|op| word.contains(op));
    parses && operator
}

/// A duration flag: the filter language's durations (`90s`, `15m`, `1h`),
/// `0` (or `0s`) meaning none.
fn duration_flag(flag: &'static str, value: &str) -> Result<Option<Duration>, SettingsError> {
    if value == "0" {
        return Ok(None);
    }
    match parse_duration(value) {
        Some(0) => Ok(None),
        Some(secs) => Ok(Some(Duration::from_secs(secs))),
        None => Err(SettingsError::Value {
            flag,
            value: value.to_string(),
            reason: format!("expected {}", crate::filter::duration::DURATION_HELP),
        }),
    }
}

/// A namespace name must be a DNS-1123 label: it becomes part of a URL path.
pub(crate) fn valid_namespace(ns: &str) -> Result<String, SettingsError> {
    let ok = !ns.is_empty()
        && ns.len() <= 63
        && ns
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !ns.starts_with('-')
        && !ns.ends_with('-');
    if ok {
        Ok(ns.to_string())
    } else {
        Err(SettingsError::Value {
            flag: "--namespace",
            value: ns.to_string(),
            reason: "invalid namespace: a namespace is a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn tail(args: &[&str]) -> Result<TailSettings, SettingsError> {
        let mut all = vec!["kev"];
        all.extend_from_slice(args);
        TailSettings::from_cli(&Cli::try_parse_from(all).unwrap())
    }

    #[test]
    fn defaults() {
        let s = tail(&[]).unwrap();
        assert_eq!(s.namespaces, Namespaces::ContextDefault);
        assert_eq!(s.follow, Follow::No);
        assert_eq!(s.request_timeout, Some(Duration::from_secs(30)));
        assert_eq!(s.event_ttl, Duration::from_secs(3600));
        assert!(s.state.is_none());
    }

    #[test]
    fn namespaces_must_be_labels() {
        assert_eq!(
            tail(&["-n", "pay-ments2"]).unwrap().namespaces,
            Namespaces::One("pay-ments2".into())
        );
        for bad in [
            "../../apis/apps/v1/deployments?x=",
            "Payments",
            "a-",
            "-a",
            "a_b",
        ] {
            let e = tail(&[&format!("--namespace={bad}")])
                .unwrap_err()
                .to_string();
            assert!(e.contains("invalid namespace"), "{bad}: {e}");
        }
    }

    #[test]
    fn durations_and_windows() {
        assert_eq!(
            tail(&["--request-timeout", "0"]).unwrap().request_timeout,
            None
        );
        assert_eq!(
            tail(&["--event-ttl", "10m"]).unwrap().event_ttl,
            Duration::from_secs(600)
        );
        assert!(tail(&["--event-ttl", "0"]).is_err());
        assert!(
            tail(&["--request-timeout", "soon"])
                .unwrap_err()
                .to_string()
                .contains("--request-timeout")
        );
        let e = tail(&["--since", "1h", "--until", "2h"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("further back than --since"), "{e}");
        tail(&["--since", "2h", "--until", "1h"]).unwrap();
    }

    #[test]
    fn filter_typos_fail_before_connecting() {
        let e = tail(&["reason=~\"(Back\""]).unwrap_err().to_string();
        assert!(e.contains("invalid regex") && e.contains('^'), "{e}");
        let e = tail(&["--for", "pod/"]).unwrap_err().to_string();
        assert!(
            e.contains("--for") && e.contains("expected KIND/NAME"),
            "{e}"
        );
    }

    #[test]
    fn for_is_pushed_with_its_api_version() {
        let s = tail(&["--for", "deploy/web"]).unwrap();
        let f = s
            .filter
            .build(Some(ObjectTarget {
                kind: "Deployment".into(),
                api_version: Some("apps/v1".into()),
                name: "web".into(),
            }))
            .unwrap();
        let fs = f.field_selector().to_string();
        assert!(fs.contains("involvedObject.apiVersion=apps/v1"), "{fs}");
        assert!(fs.contains("involvedObject.kind=Deployment"), "{fs}");
    }

    #[test]
    fn jsonpath_templates_are_checked_before_anything_runs() {
        tail(&["-o", "jsonpath={.items[*].reason}"]).unwrap();
        tail(&["-o", "jsonpath-as-json", "--template", "{.items}"]).unwrap();
        let e = tail(&["-o", "jsonpath={.a}", "--template", "{.b}"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("both give the template"), "{e}");
        let e = tail(&["-o", "jsonpath-file"]).unwrap_err().to_string();
        assert!(e.contains("-o jsonpath-file=PATH"), "{e}");
        let e = tail(&["-o", "json", "--template", "{.a}"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--template is for"), "{e}");
        let e = tail(&["-o", "jsonpath={.a}", "--summary"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--summary prints with"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let e = tail(&["-o", &format!("jsonpath-file={}", missing.display())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read the template"), "{e}");
        // A file's error has its line and column.
        let file = dir.path().join("t.jsonpath");
        std::fs::write(&file, "{range .items[*]}\n{.reason ~}\n{end}").unwrap();
        let e = tail(&["-o", "jsonpath-file", "--template", file.to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unrecognized character in action: U+007E '~' (at line 2, column 10)"),
            "{e}"
        );
        assert!(e.ends_with("\n  {.reason ~}\n           ^"), "{e}");
    }

    #[test]
    fn state_flags() {
        let s = tail(&["-w", "--state-file", "s.json", "--reset-state"]).unwrap();
        assert_eq!(
            s.state,
            Some(StateSettings {
                path: "s.json".into(),
                reset: true
            })
        );
        assert!(
            Cli::try_parse_from(["kev", "--reset-state"]).is_err(),
            "--reset-state needs --state-file"
        );
    }
}
