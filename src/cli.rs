//! Command-line syntax (clap derive). Parsing only: no I/O happens here; the
//! values are checked and resolved into settings by the `config` module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::OutputFormat;

/// kev lists, follows and filters Kubernetes Events: a faster, safer `kubectl events`.
#[derive(Debug, Parser)]
#[command(
    name = "kev",
    version,
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  kev -A                               events in every namespace, oldest first\n  kev -A -w --types Warning            follow warnings across the cluster\n  kev -n payments --for deploy/web     events about one Deployment\n  kev -A 'reason in (BackOff, Failed) and message=~\"image\"'\n  kev replay dump.ndjson -- type=Warning\n\nExit codes: 0 success, 1 runtime failure, 2 usage or configuration error."
)]
pub struct Cli {
    /// A subcommand; without one, kev lists (and with -w follows) events.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Which cluster and namespaces to read.
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Follow behaviour.
    #[command(flatten)]
    pub follow: FollowArgs,

    /// Filters.
    #[command(flatten)]
    pub filter: FilterArgs,

    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,

    /// Filter expression words, joined with `and` (see docs/filter.md).
    #[arg(value_name = "EXPR")]
    pub expr: Vec<String>,

    /// Log more (-v: debug, -vv: trace). Logs go to stderr; `KEV_LOG` takes a tracing filter.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// How logs are written to stderr: `text` for people, `json` (one object per line) for log collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT", global = true)]
    pub log_format: LogFormat,
}

/// `--log-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (timestamp, level, message, fields).
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the same filters and outputs to saved event dumps.
    #[command(
        long_about = "Apply the same filters and outputs to saved event dumps.\n\n\
Reads kev NDJSON (schema kev/v1), raw Event JSON one per line, `kubectl get events -o json` \
and `kubectl get events -o yaml`, detected automatically, gzip-compressed or not; '-' reads stdin. \
NDJSON and line-delimited JSON stream in constant memory; `-o table` and `-o wide` sort by last \
seen and so buffer every selected event, and whole-document JSON/YAML lists are read whole. \
A malformed line is reported with file and line number and skipped; the exit code is then 1."
    )]
    Replay(Box<ReplayArgs>),
    /// Run as a daemon: ship every event to the configured sinks (docs/config.md).
    #[command(
        long_about = "Run as a daemon: read the cluster's events and ship each to the sinks of the \
configuration (NDJSON files, webhooks and the log systems behind them), resuming from the state \
file after a restart, nothing lost and nothing repeated. `--check` validates the configuration \
(filters, templates, URLs, paths) and reports every problem with its line and column. \
See docs/config.md."
    )]
    Run(RunArgs),
    /// A live, ranked view of event groups: rates over 1, 5 and 15 minutes, a sparkline, Warnings first.
    #[command(
        long_about = "A live, full-screen, ranked view of event groups (the groups of --summary): \
occurrences, rates over the last 1, 5 and 15 minutes, a sparkline of the last 15 minutes, Warnings \
first. Keys: q quits, / opens the filter prompt (the filter language; Enter applies, an empty one \
clears, errors shown in place), p pauses, s changes the order, ↑/↓ select, Enter opens a group's \
events, Esc goes back. It reads a cluster with the same flags as kev (-n, -A, --context, \
--for KIND/NAME --tree), or saved dumps with --file (what kev replay reads) to review an incident \
afterwards, with rates as they were at --now (default: the newest event's last seen). \
See docs/incidents.md."
    )]
    Top(Box<TopArgs>),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// `kev run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The configuration file (YAML; `${VAR}` and `${VAR:-default}` are expanded).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: String,

    /// Only check the configuration: report every problem and exit (0 when it is good, 2 when not).
    #[arg(long)]
    pub check: bool,

    /// Ignore what source.stateFile holds and start over (it is rewritten).
    #[arg(long = "reset-state")]
    pub reset_state: bool,
}

/// `kev top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Which cluster and namespaces to read.
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Filters, applied before grouping (the view filter of `/` comes on top).
    #[command(flatten)]
    pub filter: FilterArgs,

    /// Review saved dumps instead of a cluster (what kev replay reads; '-' for stdin is not possible here); repeatable.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<String>,

    /// With --file: measure rates and ages at this RFC 3339 time (default: the newest event's last seen).
    #[arg(long, value_name = "RFC3339", requires = "files")]
    pub now: Option<String>,

    /// How long the apiserver keeps events (its --event-ttl): events not updated for longer are forgotten (their counts stay).
    #[arg(long = "event-ttl", value_name = "DURATION", default_value = "1h")]
    pub event_ttl: String,

    /// Filter expression words, joined with `and` (see docs/filter.md).
    #[arg(value_name = "EXPR")]
    pub expr: Vec<String>,
}

/// `kev replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Dump files to read ('-' for stdin); an expression may follow after `--`.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,

    /// Filter expression words, after `--` (joined with `and`).
    #[arg(last = true, value_name = "EXPR")]
    pub expr: Vec<String>,

    /// Evaluate relative time windows (`--since 20m`, `age<=1h`) against this RFC 3339 time instead of the clock.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,

    /// Only events in this namespace.
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub namespace: Option<String>,

    /// Show the NAMESPACE column (replay reads every namespace in the dump).
    #[arg(short = 'A', long = "all-namespaces")]
    pub all_namespaces: bool,

    /// Filters.
    #[command(flatten)]
    pub filter: FilterArgs,

    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Cluster selection, after kubectl.
#[derive(Debug, Args, Default, Clone)]
pub struct ClusterArgs {
    /// Namespace to read (default: the kubeconfig context's, else `default`).
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub namespace: Option<String>,

    /// Read events in every namespace and show the NAMESPACE column (`--all-namespaces=false` as kubectl takes it).
    #[arg(short = 'A', long = "all-namespaces", conflicts_with = "namespace", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub all_namespaces: bool,

    /// kubeconfig context to use; several, comma-separated (`a,b,c`), read concurrently and merged with a CLUSTER column.
    #[arg(long, value_name = "NAME[,NAME...]")]
    pub context: Option<String>,

    /// Read every context of the kubeconfig, concurrently, merged with a CLUSTER column.
    #[arg(long = "all-contexts", conflicts_with = "context")]
    pub all_contexts: bool,

    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, else in-cluster).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The apiserver's address, over the kubeconfig's (as kubectl's -s); with no kubeconfig, enough with --token.
    #[arg(short = 's', long = "server", value_name = "URL")]
    pub server: Option<String>,

    /// A bearer token, over the kubeconfig user's credentials. Visible to other users in the process list: prefer a kubeconfig user.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// The kubeconfig user entry to use, instead of the context's.
    #[arg(long = "user", value_name = "NAME")]
    pub user_name: Option<String>,

    /// The kubeconfig cluster entry to use, instead of the context's.
    #[arg(long = "cluster", value_name = "NAME")]
    pub cluster_name: Option<String>,

    /// Act as this user (impersonation: the Impersonate-User header).
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,

    /// Act as a member of this group (repeatable; needs --as).
    #[arg(long = "as-group", value_name = "GROUP", requires = "as_user")]
    pub as_group: Vec<String>,

    /// A CA certificate file (PEM) to verify the apiserver with, over the kubeconfig's.
    #[arg(long = "certificate-authority", value_name = "PATH")]
    pub certificate_authority: Option<PathBuf>,

    /// A client certificate file (PEM) for TLS authentication.
    #[arg(long = "client-certificate", value_name = "PATH")]
    pub client_certificate: Option<PathBuf>,

    /// The client certificate's key file (PEM).
    #[arg(long = "client-key", value_name = "PATH")]
    pub client_key: Option<PathBuf>,

    /// Do not verify the apiserver's certificate (kev warns: anyone in between can read and change the events).
    #[arg(long = "insecure-skip-tls-verify", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub insecure_skip_tls_verify: bool,

    /// Page size for listing (kubectl uses 500 under a 5 requests/s client-side limit; kev does not throttle).
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub chunk_size: u32,

    /// How long one request may take, and how long kev retries a server that asks it to wait (429/503/504) before the first success; 0: no limit.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub request_timeout: String,
}

/// Watching.
#[derive(Debug, Args, Default, Clone)]
pub struct FollowArgs {
    /// After listing, keep watching for new events (`-w=false` as kubectl takes it).
    #[arg(short = 'w', long = "watch", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub watch: bool,

    /// Watch for new events without listing existing ones first.
    #[arg(long = "watch-only", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub watch_only: bool,

    /// Also show events as they are deleted (TTL expiry); not occurrences, shown for inspection.
    #[arg(long = "include-deleted")]
    pub include_deleted: bool,

    /// Keep the resume position and the delivered set in this file: a restart continues where the last run stopped, delivering nothing twice (docs/state.md).
    #[arg(long = "state-file", value_name = "PATH")]
    pub state_file: Option<PathBuf>,

    /// Ignore what the state file holds and start over (it is rewritten).
    #[arg(long = "reset-state", requires = "state_file")]
    pub reset_state: bool,

    /// How long the apiserver keeps events (its --event-ttl): how long kev remembers what it delivered.
    #[arg(long = "event-ttl", value_name = "DURATION", default_value = "1h")]
    pub event_ttl: String,

    /// Append kev/v1 NDJSON records to this file instead of printing (`-`: stdout); repeatable. For rotation and the rest, use `kev run` (docs/config.md).
    #[arg(long = "to-file", value_name = "PATH")]
    pub to_file: Vec<PathBuf>,

    /// POST the records to this URL (a JSON array per batch) instead of printing; repeatable. The URL is visible in the process list: for a secret one, use `kev run` with `${ENV}` (docs/config.md).
    #[arg(long = "to-webhook", value_name = "URL")]
    pub to_webhook: Vec<String>,
}

/// Filter flags: sugar for predicates ANDed onto the expression.
#[derive(Debug, Args, Default, Clone)]
pub struct FilterArgs {
    /// Only events about this object: KIND/NAME (`pod/web-1`, `deploy/web`, `deployments.apps/web`).
    #[arg(long = "for", value_name = "KIND/NAME")]
    pub for_object: Option<String>,

    /// With --for: also the events of everything the object owns, transitively (a Deployment's ReplicaSets and their Pods; a CronJob's Jobs and their Pods), picked up as they appear.
    #[arg(long, requires = "for_object")]
    pub tree: bool,

    /// Only these event types (comma-separated: Normal,Warning).
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    pub types: Vec<String>,

    /// Only these reasons (comma-separated; `*` globs: `Failed*`).
    #[arg(long = "reason", value_name = "REASONS", value_delimiter = ',')]
    pub reasons: Vec<String>,

    /// Only events about objects of these kinds (comma-separated: Pod,Node).
    #[arg(long = "kind", value_name = "KINDS", value_delimiter = ',')]
    pub kinds: Vec<String>,

    /// Only events last seen at or after this: a duration ago (`90s`, `15m`, `2h`, `1d`) or an RFC 3339 time.
    #[arg(long, value_name = "DURATION|TIME")]
    pub since: Option<String>,

    /// Only events last seen at or before this: a duration ago or an RFC 3339 time.
    #[arg(long, value_name = "DURATION|TIME")]
    pub until: Option<String>,

    /// Only events whose message matches this regex (Rust regex syntax).
    #[arg(long = "match", value_name = "REGEX")]
    pub match_message: Option<String>,
}

/// Output flags.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output format; kubectl's `-o jsonpath=TEMPLATE` form gives the template after `=` (docs/kubectl.md).
    #[arg(short = 'o', long = "output", value_parser = OutputParser, default_value = "table", value_name = "FORMAT[=TEMPLATE]")]
    pub output: OutputChoice,

    /// Do not print the header line of table output (`--no-headers=true` as kubectl takes it).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub no_headers: bool,

    /// When to colour output (`NO_COLOR` turns `auto` off).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// With `-o template`: a minijinja (Jinja2) template rendered over each event's kev/v1 record, e.g. '{{ reason }} {{ object.name }}'; with `-o jsonpath` and `-o jsonpath-as-json`: kubectl's JSONPath template, e.g. '{.items[*].reason}'; with `-o jsonpath-file`: its file (docs/kubectl.md).
    #[arg(long, value_name = "TEXT")]
    pub template: Option<String>,

    /// With `-o jsonpath`: a missing field prints nothing (kubectl's default); `=false` makes it an error.
    #[arg(long = "allow-missing-template-keys", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub allow_missing_template_keys: bool,

    /// Group the events by namespace, type, reason, workload and message shape, ranked by occurrences (a table, or one kev/summary/v1 record per group with -o json|yaml|ndjson; docs/incidents.md).
    #[arg(long)]
    pub summary: bool,

    /// With -o json or -o yaml: print what `kubectl events -o json|yaml` prints, the Event objects themselves in one EventList (each object on its own with -w), instead of kev/v1 records (docs/kubectl.md).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub list: bool,

    /// With --list: keep metadata.managedFields in the objects (kubectl's flag; omitted by default, as kubectl omits them).
    #[arg(long = "show-managed-fields", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub show_managed_fields: bool,
}

impl Default for OutputArgs {
    fn default() -> Self {
        OutputArgs {
            output: OutputChoice::from(OutputFormat::Table),
            no_headers: false,
            color: ColorChoice::Auto,
            template: None,
            allow_missing_template_keys: true,
            summary: false,
            list: false,
            show_managed_fields: false,
        }
    }
}

/// `-o FORMAT`, or kubectl's `-o FORMAT=TEMPLATE` (`-o jsonpath='{.items[*].reason}'`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputChoice {
    /// The format.
    pub format: OutputFormat,
    /// What followed `=`: the template (`jsonpath`, `jsonpath-as-json`,
    /// `template`) or its file (`jsonpath-file`).
    pub template: Option<String>,
}

impl From<OutputFormat> for OutputChoice {
    fn from(format: OutputFormat) -> OutputChoice {
        OutputChoice {
            format,
            template: None,
        }
    }
}

/// Parses `-o`: a format name as [`OutputFormat`]'s (listed in the help
/// and the completions), then, for the template formats, `=TEMPLATE`.
#[derive(Clone, Copy, Debug)]
pub struct OutputParser;

impl clap::builder::TypedValueParser for OutputParser {
    type Value = OutputChoice;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<OutputChoice, clap::Error> {
        let names = clap::builder::EnumValueParser::<OutputFormat>::new();
        let Some(text) = value.to_str() else {
            return names.parse_ref(cmd, arg, value).map(OutputChoice::from);
        };
        let Some((name, template)) = text.split_once('=') else {
            return names.parse_ref(cmd, arg, value).map(OutputChoice::from);
        };
        let format = names.parse_ref(cmd, arg, std::ffi::OsStr::new(name))?;
        if !(format.is_jsonpath() || format == OutputFormat::Template) {
            return Err(clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!(
                    "invalid value '{text}' for '--output <FORMAT[=TEMPLATE]>': -o {name} takes no =TEMPLATE (only jsonpath, jsonpath-as-json, jsonpath-file and template do)\n"
                ),
            )
            .with_cmd(cmd));
        }
        Ok(OutputChoice {
            format,
            template: Some(template.to_string()),
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            OutputFormat::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Resolve against the environment: is stdout a terminal, is `NO_COLOR` set.
    pub fn enabled(self, stdout_is_tty: bool, no_color_env: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_is_tty && !no_color_env,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn expr_words_and_flags() {
        let cli = Cli::try_parse_from([
            "kev",
            "-A",
            "-w",
            "--types",
            "Warning,Normal",
            "type=Warning",
            "reason=BackOff",
        ])
        .unwrap();
        assert!(cli.cluster.all_namespaces);
        assert!(cli.follow.watch);
        assert_eq!(cli.filter.types, ["Warning", "Normal"]);
        assert_eq!(cli.expr, ["type=Warning", "reason=BackOff"]);
    }

    #[test]
    fn replay_takes_files_then_expr() {
        let cli = Cli::try_parse_from([
            "kev",
            "replay",
            "a.ndjson",
            "-",
            "-o",
            "ndjson",
            "--",
            "type=Warning",
        ])
        .unwrap();
        match cli.command {
            Some(Command::Replay(r)) => {
                assert_eq!(r.files, ["a.ndjson", "-"]);
                assert_eq!(r.expr, ["type=Warning"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn namespace_conflicts_with_all() {
        assert!(Cli::try_parse_from(["kev", "-A", "-n", "x"]).is_err());
    }

    #[test]
    fn color_resolution() {
        assert!(ColorChoice::Always.enabled(false, true));
        assert!(!ColorChoice::Never.enabled(true, false));
        assert!(ColorChoice::Auto.enabled(true, false));
        assert!(!ColorChoice::Auto.enabled(true, true));
        assert!(!ColorChoice::Auto.enabled(false, false));
    }
}

/// kubectl's `-v=N` / `--v=N` (klog levels) as kev's `-v` count: 1 to 5
/// are `-v` (debug), 6 and up `-vv` (trace, with kube's requests), 0 none.
pub fn kubectl_verbosity(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut rest = false;
    for a in args {
        let level = a
            .to_str()
            .filter(|_| !rest)
            .and_then(|s| s.strip_prefix("-v=").or_else(|| s.strip_prefix("--v=")))
            .and_then(|n| n.parse::<u32>().ok());
        if a.to_str() == Some("--") {
            rest = true;
        }
        match level {
            Some(0) => {}
            Some(1..=5) => out.push("-v".into()),
            Some(_) => out.push("-vv".into()),
            None => out.push(a),
        }
    }
    out
}

/// The command line with global flags written before a subcommand moved
/// after it: `kev -v run --config x` as `kev run -v --config x`. Without
/// this, the flags count as the top level's own arguments, which conflict
/// with subcommands, and `run` would be read as a filter expression.
pub fn hoist_global_flags(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let command = Cli::command();
    let is_subcommand = |a: &std::ffi::OsString| {
        a.to_str().is_some_and(|s| {
            command
                .get_subcommands()
                .any(|c| c.get_name() == s || c.get_all_aliases().any(|al| al == s))
        })
    };
    let mut globals = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let Some(a) = args[i].to_str() else { break };
        let verbose = a == "--verbose"
            || (a.starts_with('-') && a.len() > 1 && a[1..].chars().all(|c| c == 'v'));
        if verbose || a.starts_with("--log-format=") {
            globals.push(args[i].clone());
            i += 1;
        } else if a == "--log-format" && i + 1 < args.len() {
            globals.push(args[i].clone());
            globals.push(args[i + 1].clone());
            i += 2;
        } else {
            break;
        }
    }
    if globals.is_empty() || i >= args.len() || !is_subcommand(&args[i]) {
        return args;
    }
    let mut out = Vec::with_capacity(args.len());
    out.push(args[0].clone());
    out.push(args[i].clone());
    out.extend(globals);
    out.extend(args[i + 1..].iter().cloned());
    out
}

#[cfg(test)]
mod hoist_tests {
    use super::*;

    #[test]
    fn kubectl_boolean_forms_and_verbosity() {
        let parse = |args: &[&str]| {
            let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
            Cli::try_parse_from(hoist_global_flags(kubectl_verbosity(args))).unwrap()
        };
        let c = parse(&[
            "kev",
            "--all-namespaces=true",
            "-w=false",
            "--no-headers=true",
        ]);
        assert!(c.cluster.all_namespaces && !c.follow.watch && c.output.no_headers);
        let c = parse(&["kev", "-A=false", "--watch-only=true"]);
        assert!(!c.cluster.all_namespaces && c.follow.watch_only);
        let c = parse(&["kev", "-Aw", "type=Warning"]);
        assert!(c.cluster.all_namespaces && c.follow.watch);
        assert_eq!(c.expr, ["type=Warning"], "a flag without = takes no value");
        assert_eq!(parse(&["kev", "-v=4"]).verbose, 1);
        assert_eq!(parse(&["kev", "--v=8", "-A"]).verbose, 2);
        assert_eq!(parse(&["kev", "-v=0"]).verbose, 0);
        assert!(Cli::try_parse_from(["kev", "-w=maybe"]).is_err());
        // After `--`, words are left alone.
        let args: Vec<std::ffi::OsString> = ["kev", "replay", "f", "--", "-v=3"]
            .iter()
            .map(Into::into)
            .collect();
        assert_eq!(kubectl_verbosity(args.clone()), args);
    }

    fn hoist(args: &[&str]) -> Vec<String> {
        hoist_global_flags(args.iter().map(Into::into).collect())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn global_flags_before_a_subcommand_go_after_it() {
        assert_eq!(
            hoist(&["kev", "-v", "--log-format", "json", "run", "--config", "x"]),
            ["kev", "run", "-v", "--log-format", "json", "--config", "x"]
        );
        assert_eq!(
            hoist(&["kev", "--log-format=json", "replay", "f"]),
            ["kev", "replay", "--log-format=json", "f"]
        );
        // No subcommand: unchanged (`run` here would be an expression word
        // only after other flags).
        assert_eq!(hoist(&["kev", "-v", "-A"]), ["kev", "-v", "-A"]);
        assert_eq!(hoist(&["kev", "-A", "run"]), ["kev", "-A", "run"]);
        let cli = Cli::try_parse_from(hoist(&["kev", "-vv", "run", "--config", "x"])).unwrap();
        assert_eq!(cli.verbose, 2);
        assert!(matches!(cli.command, Some(Command::Run(_))));
    }
}
