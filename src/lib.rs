//! kev watches, filters and ships Kubernetes Events.
//!
//! # Layout
//!
//! The data path, as docs/architecture.md draws it:
//! source → dedupe → filter → router → sinks, with a checkpoint fed by the
//! sinks' acknowledgements.
//!
//! - [`cli`]: the command line (clap derive), syntax only.
//! - [`config`]: resolved settings: flags checked, the filter compiled.
//! - [`command`]: one thin module per subcommand: settings → pipeline.
//! - [`client`]: kubeconfig / in-cluster configuration → `kube::Client`, with clear errors.
//! - [`model`]: the normalized [`model::Event`] built from core/v1, events.k8s.io/v1
//!   or raw JSON; [`model::Occurrence`] (an event at one resourceVersion, with
//!   its context and position); the NDJSON schema v1 record; `KIND/NAME`.
//! - [`source`]: where events come from: the resumable list-then-watch state
//!   machine, paged list, discovery for `--for`, the cluster's identity, and
//!   replay of saved dumps. Sources never filter by themselves or print.
//! - [`filter`]: the filter language (parser, compiler, pushdown planner).
//! - [`incident`]: events grouped by what is going wrong (namespace, type,
//!   reason, workload, message shape), for `--summary`; the live model of
//!   `kev top` (rates over 1, 5 and 15 minutes from the events' own times).
//! - [`pipeline`]: wiring, the dedupe stage, the router (a bounded queue and
//!   a task per sink), the ledger of acknowledgements, the checkpoint and
//!   the state file, one stop signal.
//! - [`sink`]: the [`sink::Sink`] trait and the sinks (the terminal; the
//!   NDJSON file, rotated and fsynced as configured; the webhook, with its
//!   presets, retries and disk spool).
//! - [`output`]: formatting for `-o table|wide|json|yaml|ndjson`, kubectl's
//!   human durations, stdout with a closed pipe handled once.
//! - [`tui`]: `kev top`'s full-screen view (ratatui): the view's state and
//!   keys, a pure draw, the loop; logs captured while it owns the terminal.
//! - [`escape`]: terminal escaping of cluster-supplied text.
//! - [`metrics`]: the daemon's Prometheus metrics and its `/metrics`,
//!   `/healthz` and `/readyz` server.
//! - [`units`]: sizes and durations as configuration writes them.
//! - [`exit`]: exit codes.
//!
//! Tests only: `testdata`, kev_testkit's generated events as kev's model.

pub mod cli;
pub mod client;
pub mod command;
pub mod config;
pub mod escape;
pub mod exit;
pub mod filter;
pub mod incident;
pub mod lease;
pub mod metrics;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod sink;
pub mod source;
pub mod tui;
pub mod units;

#[cfg(test)]
mod testdata;
