//! Delivering one batch: retries with backoff, splitting what is too large,
//! reading `_bulk` per-item results, and the dead-letter file.
//!
//! [`Deliverer::deliver`] returns once every record of the batch is either
//! delivered (a 2xx; for `_bulk`, an item created or already there) or
//! dead-lettered (refused for good). Until then it retries, so a sink
//! without a spool does not return while its endpoint is down: that is the
//! back-pressure. Retries wait with exponential backoff and jitter
//! ([`Backoff`]), at least as long as the server's `Retry-After`.
//!
//! - connection errors, timeouts, 408, 429, 5xx: retried, the same body;
//! - 413: the batch is split in halves, each sent on its own; a single
//!   record that is still too large is dead-lettered;
//! - any other 4xx (and 3xx: redirects are not followed): dead-lettered;
//! - `_bulk` 2xx with `errors: true`: items answered 2xx or 409 (a `create`
//!   of an `_id` that exists: delivered before, by an earlier try) are
//!   delivered, items answered 429 or 5xx are sent again (only they), any
//!   other item status is dead-lettered.
//!
//! The dead-letter file holds the `kev/v1` records of what was refused, one
//! per line (so `kev replay` reads it), appended and fsynced before the batch
//! is acknowledged; why it was refused is logged. Without a file the records
//! are counted and logged as dead-lettered and kept nowhere.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::WebhookStats;
use super::format::{Format, Item, batch_key};
use super::http::{Answer, Endpoint};
use crate::source::backoff::Backoff;

/// The longest `Retry-After` honoured as given; longer asks wait this long
/// (and then ask again).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// When to give up retrying.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stop {
    /// Closing: a wait for a retry is cut short for one last try, and the
    /// next failure gives up (what is left stays in the spool for the next
    /// start).
    pub closing: CancellationToken,
    /// Give up now, even mid-request.
    pub abort: CancellationToken,
}

/// Why a delivery ended without every record delivered or dead-lettered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeliverError {
    /// Told to stop.
    #[error("stopped")]
    Stopped,
    /// The dead-letter file could not be written.
    #[error("cannot write the dead-letter file {path}")]
    DeadLetter {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The dead-letter file.
#[derive(Debug)]
pub(crate) struct DeadLetter {
    pub path: PathBuf,
    file: Mutex<Option<File>>,
}

impl DeadLetter {
    /// Records go to `path` (opened at the first refusal).
    pub fn new(path: PathBuf) -> DeadLetter {
        DeadLetter {
            path,
            file: Mutex::new(None),
        }
    }

    fn write(&self, items: &[Item]) -> std::io::Result<()> {
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        let Some(file) = guard.as_mut() else {
            return Ok(());
        };
        let mut buf = Vec::with_capacity(items.iter().map(|i| i.json.len() + 1).sum());
        for item in items {
            buf.extend_from_slice(&item.json);
            buf.push(b'\n');
        }
        file.write_all(&buf)?;
        file.sync_data()
    }
}

/// Posts batches for one sink; shared by the sink and its spool's task.
#[derive(Debug)]
pub(crate) struct Deliverer {
    pub name: String,
    pub endpoint: Endpoint,
    pub format: Format,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub dead_letter: Option<DeadLetter>,
    pub stats: Arc<WebhookStats>,
}

/// What to do after one answer.
enum Next {
    /// This chunk is done.
    Done,
    /// Send these (the whole chunk again, or the `_bulk` items to retry)
    /// after a wait.
    Again(Vec<Item>, Option<Duration>, String),
}

impl Deliverer {
    /// Deliver `items` (see the module docs).
    pub async fn deliver(&self, items: Vec<Item>, stop: &Stop) -> Result<(), DeliverError> {
        if items.is_empty() {
            return Ok(());
        }
        let mut chunks: VecDeque<Vec<Item>> = VecDeque::from([items]);
        let mut backoff = Backoff::new(self.initial_backoff, self.max_backoff);
        let mut failures = 0u32;
        while let Some(mut chunk) = chunks.pop_front() {
            loop {
                // Closing gives up after a failed try made once it began.
                let last_try = stop.closing.is_cancelled();
                let next = match self.format.body(&chunk) {
                    Err(why) => {
                        self.dead_letter(chunk, 0, &format!("the template does not render: {why}"))
                            .await?;
                        Next::Done
                    }
                    Ok(body) => {
                        let key = match chunk.as_slice() {
                            [one] => one.key(),
                            many => batch_key(many),
                        };
                        self.stats.requests.fetch_add(1, Ordering::Relaxed);
                        let post = self.endpoint.post(
                            body,
                            self.format.content_type(),
                            &key,
                            self.format.is_bulk(),
                        );
                        let answer = tokio::select! {
                            a = post => a,
                            () = stop.abort.cancelled() => return Err(DeliverError::Stopped),
                        };
                        match answer {
                            Answer::Delivered { body, .. } if self.format.is_bulk() => {
                                self.bulk_results(chunk, &body).await?
                            }
                            Answer::Delivered { .. } => {
                                self.stats.add_sent(chunk.len() as u64);
                                Next::Done
                            }
                            Answer::Retry { why, after } => Next::Again(chunk, after, why),
                            Answer::TooLarge { why } if chunk.len() > 1 => {
                                let back = chunk.split_off(chunk.len() / 2);
                                tracing::info!(
                                    sink = %self.name,
                                    events = chunk.len() + back.len(),
                                    reason = %why,
                                    "the endpoint found a batch too large: sending it in halves"
                                );
                                chunks.push_front(back);
                                chunks.push_front(chunk);
                                break;
                            }
                            Answer::TooLarge { why } => {
                                self.dead_letter(chunk, 413, &why).await?;
                                Next::Done
                            }
                            Answer::Permanent { status, why } => {
                                self.dead_letter(chunk, status, &why).await?;
                                Next::Done
                            }
                        }
                    }
                };
                match next {
                    Next::Done => {
                        failures = 0;
                        backoff.reset();
                        break;
                    }
                    Next::Again(again, after, why) => {
                        chunk = again;
                        failures += 1;
                        self.stats.add_retried(1);
                        if last_try {
                            tracing::warn!(
                                sink = %self.name,
                                url = %self.endpoint.log_url,
                                reason = %why,
                                "delivery failed while closing: the batch stays in the spool"
                            );
                            return Err(DeliverError::Stopped);
                        }
                        let wait = backoff.next(after.map(|a| a.min(MAX_RETRY_AFTER)));
                        tracing::warn!(
                            sink = %self.name,
                            url = %self.endpoint.log_url,
                            events = chunk.len(),
                            attempt = failures,
                            retry_in = ?wait,
                            reason = %why,
                            "delivery failed, retrying"
                        );
                        // Closing cuts the wait short for one last try.
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            () = stop.closing.cancelled() => {}
                            () = stop.abort.cancelled() => return Err(DeliverError::Stopped),
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Sort a `_bulk` answer's items into delivered, to retry and refused.
    async fn bulk_results(&self, chunk: Vec<Item>, body: &[u8]) -> Result<Next, DeliverError> {
        let statuses = match bulk_statuses(body, chunk.len()) {
            Ok(s) => s,
            Err(why) => {
                // The server said 2xx; what it delivered is not knowable item
                // by item. Taking it as delivered beats resending forever.
                tracing::warn!(sink = %self.name, reason = %why, "cannot read the _bulk response; taking its 2xx as delivered");
                self.stats.add_sent(chunk.len() as u64);
                return Ok(Next::Done);
            }
        };
        let mut retry = Vec::new();
        let mut refused: Vec<(Item, u16, String)> = Vec::new();
        let mut delivered = 0u64;
        for (item, (status, why)) in chunk.into_iter().zip(statuses) {
            match status {
                200..=299 | 409 => delivered += 1,
                429 | 500..=599 => retry.push((item, why)),
                _ => refused.push((item, status, why)),
            }
        }
        self.stats.add_sent(delivered);
        if !refused.is_empty() {
            let (first_status, first_why) = (refused[0].1, refused[0].2.clone());
            let items: Vec<Item> = refused.into_iter().map(|(i, _, _)| i).collect();
            self.dead_letter(
                items,
                first_status,
                &format!("_bulk item refused: {first_why}"),
            )
            .await?;
        }
        if retry.is_empty() {
            return Ok(Next::Done);
        }
        let why = format!("{} _bulk item(s) to retry: {}", retry.len(), retry[0].1);
        Ok(Next::Again(
            retry.into_iter().map(|(i, _)| i).collect(),
            None,
            why,
        ))
    }

    async fn dead_letter(
        &self,
        items: Vec<Item>,
        status: u16,
        why: &str,
    ) -> Result<(), DeliverError> {
        let n = items.len() as u64;
        self.stats.add_dead_lettered(n);
        match &self.dead_letter {
            Some(dl) => {
                let written = super::blocking(|| dl.write(&items));
                written.map_err(|e| DeliverError::DeadLetter {
                    path: dl.path.clone(),
                    source: e,
                })?;
                tracing::error!(
                    sink = %self.name,
                    url = %self.endpoint.log_url,
                    events = n,
                    status,
                    reason = %why,
                    format = self.format.name(),
                    dead_letter = %dl.path.display(),
                    "the endpoint refused a batch: written to the dead-letter file"
                );
            }
            None => tracing::error!(
                sink = %self.name,
                url = %self.endpoint.log_url,
                events = n,
                status,
                format = self.format.name(),
                reason = %why,
                "the endpoint refused a batch; no deadLetter file is configured: the events are dropped"
            ),
        }
        Ok(())
    }
}

/// Each item's status and error from a `_bulk` response of `n` items.
fn bulk_statuses(body: &[u8], n: usize) -> Result<Vec<(u16, String)>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let items = v
        .get("items")
        .and_then(|i| i.as_array())
        .ok_or("no items")?;
    if items.len() != n {
        return Err(format!("{} items for {n} sent", items.len()));
    }
    items
        .iter()
        .map(|item| {
            // {"create": {"status": 201, ...}} (or "index", whichever op).
            let op = item
                .as_object()
                .and_then(|m| m.values().next())
                .ok_or("an item is not an object")?;
            let status = op
                .get("status")
                .and_then(|s| s.as_u64())
                .and_then(|s| u16::try_from(s).ok())
                .ok_or("an item has no status")?;
            let why = match op.get("error") {
                Some(e) => format!(
                    "{status} {}: {}",
                    e.get("type").and_then(|t| t.as_str()).unwrap_or("error"),
                    e.get("reason").and_then(|t| t.as_str()).unwrap_or("")
                ),
                None => status.to_string(),
            };
            Ok((status, why))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_statuses_read_each_item() {
        let body = serde_json::json!({"took": 3, "errors": true, "items": [
            {"create": {"_index": "i", "_id": "a", "status": 201}},
            {"create": {"_index": "i", "_id": "b", "status": 429,
                "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}},
            {"index": {"_index": "i", "_id": "c", "status": 400,
                "error": {"type": "mapper_parsing_exception", "reason": "bad field"}}},
        ]});
        let got = bulk_statuses(body.to_string().as_bytes(), 3).unwrap();
        assert_eq!(got[0].0, 201);
        assert_eq!(
            got[1],
            (
                429,
                "429 es_rejected_execution_exception: queue full".into()
            )
        );
        assert_eq!(got[2].0, 400);
        assert!(bulk_statuses(body.to_string().as_bytes(), 2).is_err());
        assert!(bulk_statuses(b"<html>", 1).is_err());
    }
}
