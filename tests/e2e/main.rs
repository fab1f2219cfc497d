//! End-to-end tests: the real `kev` binary against a real kube-apiserver and
//! etcd (and a Kafka broker and an OpenTelemetry Collector for the fleet
//! sinks), started by `scripts/e2e.sh` (see docs/testing.md). Without a control
//! plane every test fails and says how to get one.
//!
//! # Layout
//!
//! - [`support`]: the control plane from the environment, a per-test
//!   [`support::TestEnv`] (own namespaces, clean HOME, an admin client),
//!   event builders, a line reader for `kev -w`, and a cuttable TCP proxy.
//! - [`list`]: both API groups, `-n`/`-A`, `--for`, `--types`, and the table
//!   against `kubectl events` on the same events.
//! - [`watch`]: `-w` shows new events and updates as new rows/records.
//! - [`rbac`]: a namespace-scoped reader and a user with no rights.
//! - [`fake_vs_kubectl`]: the real kubectl against kev's fake apiserver.
//! - [`disruption`]: apiserver restart and etcd compaction while following
//!   (these run alone; everything else runs in parallel in own namespaces).
//! - [`deploy`]: the manifests in deploy/ (server-side dry run, RBAC), and
//!   `kev run` as their pod runs it, with in-cluster configuration from a
//!   service-account token.
//! - [`resume`]: `--state-file` across SIGTERM restarts while events are
//!   written, compaction while stopped, apiserver restarts, kill -9, and a
//!   state file of another cluster (the compaction and restart ones run alone).
//!
//! Every scenario asserts exact sets of occurrences `(uid, resourceVersion)`.
//! - [`contexts`]: `--context a,b` over this control plane and a second one
//!   the test starts itself; one stopped is one line.
//! - [`tree`]: `--for deploy/web --tree` over a Deployment, its ReplicaSets
//!   and Pods made with owner references, and new children while following.
//! - [`fleet`]: `kev run` into a real Kafka broker and a real OpenTelemetry
//!   Collector, 20,000 occurrences each exactly once across kev, broker and
//!   collector restarts and a lost state file; two replicas with leader
//!   election and kill -9 of the leader.
//! - [`helm`]: charts/kev linted and rendered through a server-side dry run,
//!   and the krew manifest.
//!
//! Nothing sleeps to synchronize: waits poll for the expected output and
//! give up after [`support::PATIENCE`].

mod contexts;
mod deploy;
mod disruption;
mod fake_vs_kubectl;
mod flags;
mod fleet;
mod helm;
mod list;
mod rbac;
mod resume;
mod support;
mod tree;
mod watch;
