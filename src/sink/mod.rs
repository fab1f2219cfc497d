//! Sinks: where occurrences are delivered.
//!
//! A [`Sink`] takes [`Batch`]es of [`Delivery`]s in order and reports, as an
//! [`Acked`], how far it has *durably* delivered them: the terminal sink once
//! a batch is written and flushed to stdout, a file sink once written (and
//! fsynced when configured), a webhook sink on a 2xx or once the batch is
//! safe in its spool. The pipeline's checkpoint advances only past what every
//! sink has acknowledged, so a restart resends exactly what was not.
//!
//! The lifecycle is `send`* (with `tick`s between, for sinks that ask for
//! them) → `flush`? → `close`. Only `name` and `send` are required; the
//! other hooks have defaults (ripgrep's `Sink` shape): `flush`, `tick` and
//! `close` acknowledge nothing new, no ticks are asked for, and `encoder`
//! offers no parallel encoding. Acknowledgements are cumulative by sequence
//! number; `Acked::NOTHING` means "nothing new".
//!
//! One module per sink: [`terminal`] for `-o table|wide|json|yaml|ndjson` on
//! stdout; [`file`] for NDJSON files (rotated, fsynced as configured);
//! [`webhook`] for HTTP endpoints (JSON, NDJSON, templates, Loki,
//! Elasticsearch, Splunk, Slack, Teams); [`kafka`] for Kafka topics.

pub mod file;
pub mod kafka;
pub mod live;
pub mod summary;
pub mod terminal;
pub mod webhook;

#[cfg(test)]
pub(crate) mod compliance;

use std::io;
use std::sync::Arc;

use async_trait::async_trait;

use crate::model::Occurrence;

pub use file::{FileSink, FileSinkConfig};
pub use summary::SummarySink;
pub use terminal::TerminalSink;

/// One occurrence handed to a sink, numbered in the order the pipeline
/// produced it. Sequence numbers increase across batches but need not be
/// contiguous for one sink (a sink is not sent what its filter drops).
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The pipeline's sequence number.
    pub seq: u64,
    /// The occurrence (shared between sinks).
    pub occurrence: Arc<Occurrence>,
}

/// A batch of deliveries.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// The deliveries, in order.
    pub deliveries: Vec<Delivery>,
    /// This batch is the whole initial listing (sorted by last seen, possibly
    /// empty), as opposed to occurrences as they arrive.
    pub listing: bool,
    /// The deliveries already encoded by this sink's [`Sink::encoder`], in
    /// order (the parallel replay reader encodes on every core); a sink that
    /// offered an encoder writes these bytes instead of encoding again.
    pub encoded: Option<Vec<u8>>,
}

impl AsRef<Occurrence> for Delivery {
    fn as_ref(&self) -> &Occurrence {
        &self.occurrence
    }
}

/// How far a sink has durably delivered: every delivery with
/// `seq <= up_to`. Cumulative: a later `Acked` never goes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Acked {
    /// The highest acknowledged sequence number, `None` for nothing yet.
    pub up_to: Option<u64>,
}

impl Acked {
    /// Nothing (new) acknowledged.
    pub const NOTHING: Acked = Acked { up_to: None };
}

/// Encodes one occurrence into bytes, as the sink would write it.
pub type Encoder = Arc<dyn Fn(&Occurrence, &mut Vec<u8>) -> io::Result<()> + Send + Sync>;

/// Why a sink could not deliver.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The destination went away for good and nothing more can be delivered
    /// there (stdout closed: `kev | head`). The pipeline stops quietly.
    #[error("{sink}: closed")]
    Closed {
        /// The sink's name.
        sink: String,
    },
    /// Writing failed.
    #[error("{sink}: {what}")]
    Io {
        /// The sink's name.
        sink: String,
        /// What was being done.
        what: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// A destination for occurrences; see the module docs.
#[async_trait]
pub trait Sink: Send {
    /// The sink's name, for messages and the state file.
    fn name(&self) -> &str;

    /// Deliver a batch, in order. May buffer; returns what is durable now.
    async fn send(&mut self, batch: Batch) -> Result<Acked, SinkError>;

    /// Make everything sent so far durable, if the sink buffers.
    async fn flush(&mut self) -> Result<Acked, SinkError> {
        Ok(Acked::NOTHING)
    }

    /// How often [`Sink::tick`] should run, for a sink with time-based
    /// work (a batch's maximum wait, an fsync interval); `None`: never.
    fn tick_every(&self) -> Option<std::time::Duration> {
        None
    }

    /// Time-based work: send a batch that has waited long enough, fsync;
    /// returns what is durable now.
    async fn tick(&mut self) -> Result<Acked, SinkError> {
        Ok(Acked::NOTHING)
    }

    /// Deliver what is left and release the destination. Called once, last.
    async fn close(&mut self) -> Result<Acked, SinkError> {
        self.flush().await
    }

    /// Counters for what only the sink knows (retries, dead letters, spool
    /// bytes); the router counts drops at the buffer itself, and deliveries
    /// unless [`Sink::counts_deliveries`].
    fn attach_metrics(&mut self, _metrics: &crate::metrics::SinkMetrics) {}

    /// Whether the sink counts `delivered` itself (in
    /// [`Sink::attach_metrics`]' counters): one whose `send` only queues
    /// (a webhook's batch and spool) counts what the endpoint accepted. By
    /// default the router counts what `send` took.
    fn counts_deliveries(&self) -> bool {
        false
    }

    /// An encoder whose output this sink writes as is, offered to sources
    /// that can encode in parallel (replay). `None`: the sink encodes.
    fn encoder(&self) -> Option<Encoder> {
        None
    }
}
