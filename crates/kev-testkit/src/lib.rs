//! An in-process fake Kubernetes apiserver, and an HTTP receiver for
//! webhooks, for tests and benchmarks.
//!
//! [`FakeApiServer`] serves core/v1 Events over plain HTTP/1.1 on loopback,
//! closely enough to the real apiserver that kev, kube-rs and kubectl
//! (client-go) all work against it: discovery, paged lists with `continue`
//! tokens and snapshot semantics, field selectors, watches that replay
//! history after a resourceVersion and then stream live changes, `410 Gone`
//! after compaction, event expiry after a TTL with `DELETED` watch events,
//! the `kube-system` namespace whose uid identifies the cluster, and `Status`
//! errors worded like the real ones (with `Retry-After` where they carry
//! one). A [`Script`] of [`Fault`]s makes chosen requests fail in chosen
//! ways, once, a number of times or until removed, and every request is
//! recorded for assertions.
//!
//! It is its own crate, a dev-dependency of kev, so that the kev library and
//! binary link no HTTP server. It does not depend on kev (kev's unit tests
//! would then see two copies of kev's types): it speaks JSON, and kev's tests
//! convert what they need with `kev::model::Event::from_json`.
//!
//! # Layout
//!
//! - [`server`](FakeApiServer): listener, connections, the handle tests hold.
//! - `routes`: request routing; the list, watch and GET handlers.
//! - `watch`: the watch stream task (history, then live changes, stream faults).
//! - [`cluster`](FakeCluster): the versioned event store (etcd's model in small),
//!   with TTL expiry and the cluster's identity.
//! - [`clock`](Clock): the cluster's time, the system's or one a test moves.
//! - [`fault`](Script): the fault script and [`Gate`]s.
//! - `selector`: server-side field selectors for Events.
//! - `discovery`: `/version`, `/api`, `/apis` and resource lists.
//! - [`status`](ApiStatus): `Status` error bodies.
//! - [`record`](RecordedRequest): the request log.
//! - [`generator`]: realistic generated events, the one generator for kev's
//!   tests, benchmarks and examples.
//! - [`receiver`](Receiver): a scriptable HTTP(S) endpoint that records what
//!   it is sent, for kev's webhook sink; [`tls`](TestCa) makes a CA and
//!   server certificates for it.
//!
//! # Use
//!
//! ```no_run
//! use kev_testkit::{FakeApiServer, FakeCluster, Fault, On, realistic_events};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let now = chrono::Utc::now();
//! let server = FakeApiServer::start(FakeCluster::new().with_events(realistic_events(100, 1, now))).await;
//! server.script().push(On::Watch, Fault::DropAfter(3));
//! server.write_kubeconfig("/tmp/kubeconfig")?;
//! // ... run kev, or use `server.kube_client().await?` ...
//! server.cluster().add_event(serde_json::json!({
//!     "metadata": {"namespace": "default", "name": "late.1"},
//!     "involvedObject": {"kind": "Pod", "name": "late"}, "reason": "Started",
//! }))?;
//! let watches = server.requests().into_iter().filter(|r| r.is_watch()).count();
//! # let _ = watches; Ok(()) }
//! ```
//!
//! Blocking tests (those that run the `kev` binary) use
//! [`FakeApiServer::start_blocking`], which runs the server on its own thread.

mod body;
mod clock;
mod cluster;
mod discovery;
mod fault;
pub mod generator;
mod kubeconfig;
mod receiver;
mod record;
mod routes;
mod selector;
mod server;
mod signal;
mod status;
mod tls;
mod watch;

pub use clock::Clock;
pub use cluster::{
    ChangeType, DEFAULT_CLUSTER_UID, ExpiredWatch, FakeCluster, INITIAL_RESOURCE_VERSION,
    StoreError,
};
pub use fault::{Fault, Gate, On, Script};
pub use generator::{DEFAULT_NOW, EventGenerator, Events, default_now, realistic_events};
pub use kubeconfig::TOKEN;
pub use receiver::{ReceivedRequest, Receiver, Reply};
pub use record::{RecordedRequest, RequestKind};
pub use server::{BoxError, EXPIRY_TICK, FakeApiServer, install_crypto_provider};
pub use status::ApiStatus;
pub use tls::{ServerIdentity, TestCa, TlsError};
