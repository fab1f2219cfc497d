//! The webhook sink: occurrences POSTed in batches to an HTTP endpoint, as
//! JSON, NDJSON, a template's text, or for Loki, Elasticsearch/OpenSearch,
//! Splunk HEC, Slack or Teams.
//!
//! - [`config`]: [`WebhookSinkConfig`], the serde configuration, its
//!   `check` (`kev run --check`) and `build`.
//! - [`format`]: bodies and presets, and the idempotency key.
//! - `http`: the client (rustls with ring), credentials, one POST and what
//!   its answer means.
//! - `deliver`: retries with backoff, `_bulk` per-item results, the
//!   dead-letter file.
//! - `spool`: the disk spool and its crash semantics.
//!
//! # Batching and acknowledgement
//!
//! [`Sink::send`] adds to the current batch; a batch goes out when it
//! reaches `batch.maxEvents` records or `batch.maxBytes` of encoded records,
//! or on a tick once its oldest record has waited `batch.maxWait` (the sink
//! asks for ticks every quarter of that); `flush` and `close` send what is
//! buffered. Without a spool, a batch is acknowledged when the endpoint
//! answered 2xx, or when it was refused for good and dead-lettered; until
//! then the sink retries and does not return, which back-pressures the
//! pipeline. With a spool, a batch is acknowledged once it is fsynced in
//! the spool, and a task owned by the sink delivers the spool in order; on
//! `close` the task delivers what it can and stops at the first failure
//! (what is left is sent by the next sink on the same spool).
//!
//! [`WebhookStats`] counts what happened, for the daemon's metrics.

pub mod config;
mod deliver;
pub mod format;
mod http;
pub mod otlp;
mod spool;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::task::JoinHandle;

pub use config::{
    AuthConfig, BatchConfig, DeadLetterConfig, FormatName, RetryConfig, SplunkConfig, SpoolConfig,
    SpoolWhenFull, TlsConfig, WebhookSinkConfig,
};
pub use format::idempotency_key;
pub use http::Secret;

use self::deliver::{DeliverError, Deliverer, Stop};
use self::format::Item;
use self::spool::{Appended, Spool, SpoolReader};
use super::{Acked, Batch, Sink, SinkError};

/// What a webhook sink has done, readable while it runs (plain atomics).
#[derive(Debug, Default)]
pub struct WebhookStats {
    /// Records delivered (2xx; for `_bulk`, created or already there).
    pub sent: AtomicU64,
    /// Requests made.
    pub requests: AtomicU64,
    /// Requests that failed and were tried again (a `_bulk` retry of some
    /// items counts once).
    pub retried: AtomicU64,
    /// Records refused for good (written to the dead-letter file if any).
    pub dead_lettered: AtomicU64,
    /// Records dropped: a full spool with `whenFull: dropNewest`, or lost to
    /// a damaged spool.
    pub dropped: AtomicU64,
    /// Bytes waiting in the spool.
    pub spool_bytes: AtomicU64,
    /// The daemon's metrics for this sink, once attached: every change
    /// above is mirrored there.
    metrics: std::sync::OnceLock<crate::metrics::SinkMetrics>,
}

/// A copy of [`WebhookStats`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// See [`WebhookStats::sent`].
    pub sent: u64,
    /// See [`WebhookStats::requests`].
    pub requests: u64,
    /// See [`WebhookStats::retried`].
    pub retried: u64,
    /// See [`WebhookStats::dead_lettered`].
    pub dead_lettered: u64,
    /// See [`WebhookStats::dropped`].
    pub dropped: u64,
    /// See [`WebhookStats::spool_bytes`].
    pub spool_bytes: u64,
}

impl WebhookStats {
    /// Mirror the counters into `metrics` from now on (what was counted
    /// before, while the spool was opened, is added at once).
    fn attach(&self, metrics: &crate::metrics::SinkMetrics) {
        if self.metrics.set(metrics.clone()).is_ok() {
            let now = self.snapshot();
            metrics.delivered.inc_by(now.sent);
            metrics.retried.inc_by(now.retried);
            metrics.dead_lettered.inc_by(now.dead_lettered);
            metrics.dropped.inc_by(now.dropped);
            metrics.spool_bytes.set(now.spool_bytes as i64);
        }
    }

    pub(crate) fn add_sent(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::Relaxed);
        if let Some(m) = self.metrics.get() {
            m.delivered.inc_by(n);
        }
    }

    pub(crate) fn add_retried(&self, n: u64) {
        self.retried.fetch_add(n, Ordering::Relaxed);
        if let Some(m) = self.metrics.get() {
            m.retried.inc_by(n);
        }
    }

    pub(crate) fn add_dead_lettered(&self, n: u64) {
        self.dead_lettered.fetch_add(n, Ordering::Relaxed);
        if let Some(m) = self.metrics.get() {
            m.dead_lettered.inc_by(n);
        }
    }

    pub(crate) fn add_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
        if let Some(m) = self.metrics.get() {
            m.dropped.inc_by(n);
        }
    }

    pub(crate) fn set_spool_bytes(&self, bytes: u64) {
        self.spool_bytes.store(bytes, Ordering::Relaxed);
        if let Some(m) = self.metrics.get() {
            m.spool_bytes.set(bytes as i64);
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            sent: get(&self.sent),
            requests: get(&self.requests),
            retried: get(&self.retried),
            dead_lettered: get(&self.dead_lettered),
            dropped: get(&self.dropped),
            spool_bytes: get(&self.spool_bytes),
        }
    }
}

/// When a batch goes out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub max_events: usize,
    pub max_bytes: usize,
    pub max_wait: Duration,
}

/// The spool side of a sink: the writer, and the delivery task.
#[derive(Debug)]
struct Spooled {
    spool: Spool,
    /// Until the task starts.
    reader: Option<SpoolReader>,
    task: Option<JoinHandle<()>>,
    stop: Stop,
    /// Why the task stopped, if it failed.
    failed: Arc<Mutex<Option<String>>>,
}

/// POSTs occurrences to an HTTP endpoint; see the module docs. Built by
/// [`WebhookSinkConfig::build`].
#[derive(Debug)]
pub struct WebhookSink {
    name: String,
    deliverer: Arc<Deliverer>,
    limits: Limits,
    stats: Arc<WebhookStats>,
    pending: Vec<Item>,
    pending_bytes: usize,
    pending_seq: Option<u64>,
    oldest: Option<Instant>,
    spooled: Option<Spooled>,
}

impl WebhookSink {
    pub(crate) fn new(
        name: &str,
        deliverer: Arc<Deliverer>,
        limits: Limits,
        stats: Arc<WebhookStats>,
        spool: Option<(Spool, SpoolReader)>,
    ) -> WebhookSink {
        let mut sink = WebhookSink {
            name: name.to_string(),
            deliverer,
            limits,
            stats,
            pending: Vec::new(),
            pending_bytes: 0,
            pending_seq: None,
            oldest: None,
            spooled: spool.map(|(spool, reader)| Spooled {
                spool,
                reader: Some(reader),
                task: None,
                stop: Stop::default(),
                failed: Arc::new(Mutex::new(None)),
            }),
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            sink.start_spool_task();
        }
        sink
    }

    /// The sink's counters (shared: read them while it runs).
    pub fn stats(&self) -> Arc<WebhookStats> {
        self.stats.clone()
    }

    /// Start delivering the spool, once.
    fn start_spool_task(&mut self) {
        let Some(sp) = &mut self.spooled else { return };
        let Some(reader) = sp.reader.take() else {
            return;
        };
        sp.task = Some(tokio::spawn(deliver_spool(
            reader,
            self.deliverer.clone(),
            sp.stop.clone(),
            sp.failed.clone(),
        )));
    }

    /// An error if the spool's task has failed.
    fn check_spool(&self) -> Result<(), SinkError> {
        let Some(sp) = &self.spooled else {
            return Ok(());
        };
        match &*sp.failed.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(why) => Err(SinkError::Io {
                sink: self.name.clone(),
                what: "delivering the spool".into(),
                source: std::io::Error::other(why.clone()),
            }),
            None => Ok(()),
        }
    }

    fn push(&mut self, item: Item, seq: u64) {
        if self.pending.is_empty() {
            self.oldest = Some(Instant::now());
        }
        self.pending_bytes += item.json.len() + 1;
        self.pending.push(item);
        self.pending_seq = Some(seq);
    }

    /// Send (or spool) the current batch; what is acknowledged now.
    async fn dispatch(&mut self) -> Result<Acked, SinkError> {
        if self.pending.is_empty() {
            return Ok(Acked::NOTHING);
        }
        let items = std::mem::take(&mut self.pending);
        let up_to = self.pending_seq.take();
        self.pending_bytes = 0;
        self.oldest = None;
        match &mut self.spooled {
            Some(sp) => {
                let appended = sp.spool.append(&items).await.map_err(|e| SinkError::Io {
                    sink: self.name.clone(),
                    what: "writing to the spool".into(),
                    source: e,
                })?;
                debug_assert!(matches!(appended, Appended::Stored | Appended::Dropped));
            }
            None => match self.deliverer.deliver(items, &Stop::default()).await {
                Ok(()) => {}
                Err(DeliverError::Stopped) => return Ok(Acked::NOTHING),
                Err(e) => {
                    return Err(SinkError::Io {
                        sink: self.name.clone(),
                        what: "delivering".into(),
                        source: std::io::Error::other(http::one_line(&e)),
                    });
                }
            },
        }
        Ok(Acked { up_to })
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        if let Some(sp) = &mut self.spooled {
            sp.stop.abort.cancel();
            if let Some(task) = sp.task.take() {
                task.abort();
            }
        }
    }
}

/// The spool's delivery task: frames in order, each delivered (or
/// dead-lettered) before it is acknowledged in the spool.
async fn deliver_spool(
    mut reader: SpoolReader,
    deliverer: Arc<Deliverer>,
    stop: Stop,
    failed: Arc<Mutex<Option<String>>>,
) {
    let fail = |why: String| {
        tracing::error!(sink = %deliverer.name, error = %why, "the spool's delivery stopped");
        *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
    };
    loop {
        let frame = tokio::select! {
            f = reader.next(&stop.closing) => f,
            () = stop.abort.cancelled() => return,
        };
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => return,
            Err(e) => return fail(format!("cannot read the spool: {e}")),
        };
        match deliverer.deliver(frame.items.clone(), &stop).await {
            Ok(()) => {}
            Err(DeliverError::Stopped) => return,
            Err(e) => return fail(http::one_line(&e)),
        }
        if let Err(e) = reader.ack(&frame) {
            return fail(format!("cannot record delivery in the spool: {e}"));
        }
    }
}

/// Run blocking file work (fsync) without stalling the runtime's other
/// tasks on a multi-threaded runtime; inline on a current-thread one.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[async_trait]
impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn attach_metrics(&mut self, metrics: &crate::metrics::SinkMetrics) {
        self.stats.attach(metrics);
    }

    fn counts_deliveries(&self) -> bool {
        true
    }

    async fn send(&mut self, batch: Batch) -> Result<Acked, SinkError> {
        self.start_spool_task();
        self.check_spool()?;
        let mut acked = Acked::NOTHING;
        for d in batch.deliveries {
            let item = Item::new(d.occurrence);
            // A batch stays within maxBytes unless one record alone exceeds it.
            if !self.pending.is_empty()
                && self.pending_bytes + item.json.len() + 1 > self.limits.max_bytes
            {
                acked = acked.max(self.dispatch().await?);
            }
            self.push(item, d.seq);
            if self.pending.len() >= self.limits.max_events
                || self.pending_bytes >= self.limits.max_bytes
            {
                acked = acked.max(self.dispatch().await?);
            }
        }
        if self.limits.max_wait.is_zero() {
            acked = acked.max(self.dispatch().await?);
        }
        Ok(acked)
    }

    async fn flush(&mut self) -> Result<Acked, SinkError> {
        self.start_spool_task();
        self.check_spool()?;
        self.dispatch().await
    }

    fn tick_every(&self) -> Option<Duration> {
        Some((self.limits.max_wait / 4).max(Duration::from_millis(10)))
    }

    async fn tick(&mut self) -> Result<Acked, SinkError> {
        self.start_spool_task();
        self.check_spool()?;
        match self.oldest {
            Some(t) if t.elapsed() >= self.limits.max_wait => self.dispatch().await,
            _ => Ok(Acked::NOTHING),
        }
    }

    async fn close(&mut self) -> Result<Acked, SinkError> {
        self.start_spool_task();
        let acked = self.dispatch().await?;
        if let Some(sp) = &mut self.spooled {
            // Deliver what the spool holds while the endpoint answers; stop
            // at the first failure (it stays spooled for the next start).
            sp.stop.closing.cancel();
            if let Some(task) = sp.task.take() {
                let _ = task.await;
            }
        }
        self.check_spool()?;
        Ok(acked)
    }
}
