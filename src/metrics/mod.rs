//! The daemon's metrics (Prometheus) and health endpoints.
//!
//! [`Metrics`] holds every counter and gauge `kev run` exposes; the parts of
//! the pipeline that count hold clones of theirs (a prometheus-client
//! counter is a shared atomic), so counting costs an atomic add and nothing
//! is collected at scrape time except the checkpoint's age and the dedupe
//! set's size. [`serve`] answers `GET /metrics` (the text exposition
//! format), `/healthz` (200 while the process runs) and `/readyz` (200 once
//! the first list, or the first watch, is through; 503 before).
//! docs/operations.md says what each metric means and which alerts to set.

mod server;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub use server::serve;

/// The `sink` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabel {
    /// The sink's name.
    pub sink: String,
}

/// Every metric of a run; see the module docs.
pub struct Metrics {
    registry: Registry,
    /// Occurrences read from the apiserver.
    pub events_received: Counter,
    /// Occurrences a sink took (written, sent, or spooled).
    pub sink_delivered: Family<SinkLabel, Counter>,
    /// Occurrences dropped because a sink's buffer was full (policy drop).
    pub sink_dropped: Family<SinkLabel, Counter>,
    /// Sends a sink retried.
    pub sink_retried: Family<SinkLabel, Counter>,
    /// Occurrences a sink dead-lettered (refused for good).
    pub sink_dead_lettered: Family<SinkLabel, Counter>,
    /// Bytes in a sink's spool.
    pub sink_spool_bytes: Family<SinkLabel, Gauge>,
    /// Occurrences waiting in a sink's buffer.
    pub sink_buffer_events: Family<SinkLabel, Gauge>,
    /// Watches opened after the first.
    pub watch_restarts: Counter,
    /// Relists after the watch expired (410 Gone).
    pub relists: Counter,
    /// Updates of events superseded while kev was not watching.
    pub coalesced: Counter,
    /// Losses of contact longer than the event TTL.
    pub gaps: Counter,
    checkpoint_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// Unix time (ms) of the last checkpoint written; 0 before the first.
    last_checkpoint_ms: AtomicI64,
    dedupe_entries: Gauge,
    dedupe_now: AtomicI64,
    ready: AtomicBool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every metric, all zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            registry: Registry::default(),
            events_received: Counter::default(),
            sink_delivered: Family::default(),
            sink_dropped: Family::default(),
            sink_retried: Family::default(),
            sink_dead_lettered: Family::default(),
            sink_spool_bytes: Family::default(),
            sink_buffer_events: Family::default(),
            watch_restarts: Counter::default(),
            relists: Counter::default(),
            coalesced: Counter::default(),
            gaps: Counter::default(),
            checkpoint_age: Gauge::default(),
            last_checkpoint_ms: AtomicI64::new(0),
            dedupe_entries: Gauge::default(),
            dedupe_now: AtomicI64::new(0),
            ready: AtomicBool::new(false),
        };
        registry.register(
            "kev_events_received",
            "Occurrences read from the apiserver",
            m.events_received.clone(),
        );
        registry.register(
            "kev_sink_delivered",
            "Occurrences a sink delivered: written (terminal, file) or accepted by the endpoint (webhook)",
            m.sink_delivered.clone(),
        );
        registry.register(
            "kev_sink_dropped",
            "Occurrences dropped: a sink's buffer was full (policy drop), or its spool (whenFull: dropNewest)",
            m.sink_dropped.clone(),
        );
        registry.register(
            "kev_sink_retried",
            "Sends a sink retried",
            m.sink_retried.clone(),
        );
        registry.register(
            "kev_sink_dead_lettered",
            "Occurrences a sink's endpoint refused for good (written to its dead-letter file when it has one)",
            m.sink_dead_lettered.clone(),
        );
        registry.register(
            "kev_sink_spool_bytes",
            "Bytes waiting in a sink's on-disk spool",
            m.sink_spool_bytes.clone(),
        );
        registry.register(
            "kev_sink_buffer_events",
            "Occurrences waiting in a sink's buffer",
            m.sink_buffer_events.clone(),
        );
        registry.register(
            "kev_watch_restarts",
            "Watches opened after the first",
            m.watch_restarts.clone(),
        );
        registry.register(
            "kev_relists",
            "Relists after the watch expired (410 Gone)",
            m.relists.clone(),
        );
        registry.register(
            "kev_coalesced",
            "Updates of events superseded while kev was not watching",
            m.coalesced.clone(),
        );
        registry.register(
            "kev_gaps",
            "Losses of contact with the apiserver longer than the event TTL",
            m.gaps.clone(),
        );
        registry.register(
            "kev_checkpoint_age_seconds",
            "Seconds since the state file was last written (0 without one)",
            m.checkpoint_age.clone(),
        );
        registry.register(
            "kev_dedupe_entries",
            "Events remembered by the dedupe set",
            m.dedupe_entries.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The counters of sink `name`.
    pub fn sink(&self, name: &str) -> SinkMetrics {
        let l = SinkLabel {
            sink: name.to_string(),
        };
        SinkMetrics {
            delivered: self.sink_delivered.get_or_create_owned(&l),
            dropped: self.sink_dropped.get_or_create_owned(&l),
            retried: self.sink_retried.get_or_create_owned(&l),
            dead_lettered: self.sink_dead_lettered.get_or_create_owned(&l),
            spool_bytes: self.sink_spool_bytes.get_or_create_owned(&l),
            buffer_events: self.sink_buffer_events.get_or_create_owned(&l),
        }
    }

    /// The source is through its first list (or watch): `/readyz` is 200.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Relaxed);
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// A checkpoint was written now.
    pub fn checkpoint_written(&self) {
        self.last_checkpoint_ms
            .store(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
    }

    /// The dedupe set holds `n` events.
    pub fn dedupe_size(&self, n: usize) {
        self.dedupe_now.store(n as i64, Ordering::Relaxed);
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let last = self.last_checkpoint_ms.load(Ordering::Relaxed);
        let age = if last == 0 {
            0.0
        } else {
            (chrono::Utc::now().timestamp_millis() - last).max(0) as f64 / 1000.0
        };
        self.checkpoint_age.set(age);
        self.dedupe_entries
            .set(self.dedupe_now.load(Ordering::Relaxed));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// One sink's metrics (clones of the registry's).
#[derive(Clone, Debug, Default)]
pub struct SinkMetrics {
    /// Occurrences it took.
    pub delivered: Counter,
    /// Occurrences dropped at its full buffer.
    pub dropped: Counter,
    /// Sends it retried.
    pub retried: Counter,
    /// Occurrences it dead-lettered.
    pub dead_lettered: Counter,
    /// Bytes in its spool.
    pub spool_bytes: Gauge,
    /// Occurrences in its buffer.
    pub buffer_events: Gauge,
}

/// Shared metrics of a run.
pub type Shared = Arc<Metrics>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels() {
        let m = Metrics::new();
        m.events_received.inc_by(3);
        let s = m.sink("archive");
        s.dropped.inc_by(2);
        s.buffer_events.set(7);
        m.dedupe_size(42);
        let text = m.encode();
        for want in [
            "kev_events_received_total 3",
            "kev_sink_dropped_total{sink=\"archive\"} 2",
            "kev_sink_buffer_events{sink=\"archive\"} 7",
            "kev_dedupe_entries 42",
            "kev_checkpoint_age_seconds 0.0",
            "# HELP kev_relists Relists after the watch expired (410 Gone).",
        ] {
            assert!(text.contains(want), "{want} in:\n{text}");
        }
    }
}
