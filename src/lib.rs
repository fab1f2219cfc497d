//! kev watches, filters and ships Kubernetes Events.
//!
//! # Layout
//!
//! - [`cli`]: the command line (clap derive), syntax only.
//! - [`app`]: resolves flags into settings and runs a command.
//! - [`client`]: kubeconfig / in-cluster configuration → `kube::Client`, with clear errors.
//! - [`model`]: the normalized [`model::Event`] built from core/v1, events.k8s.io/v1
//!   or raw JSON, and the NDJSON schema v1 record.
//! - [`source`]: where events come from: paged list, the list-then-watch state
//!   machine, discovery for `--for`.
//! - [`filter`]: the filter language (parser, compiler, pushdown planner).
//! - [`select`]: filter flags and expressions → local predicate + field selector.
//! - [`output`]: printers for `-o table|wide|json|yaml|ndjson`, terminal escaping,
//!   kubectl's human durations.
//! - [`exit`]: exit codes.
//!
//! Tests only: `testdata`, kev_testkit's generated events as kev's model.

pub mod app;
pub mod cli;
pub mod client;
pub mod exit;
pub mod filter;
pub mod model;
pub mod output;
pub mod replay_cmd;
pub mod select;
pub mod source;

#[cfg(test)]
mod testdata;
