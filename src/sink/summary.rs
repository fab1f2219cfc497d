//! The summary sink (`--summary`): groups what it is sent and prints the
//! ranked groups at close, as a table or `kev/summary/v1` records.
//!
//! It acknowledges nothing until then: a summary is only true of all of
//! the selection, so nothing of it is "delivered" before it is printed.

use async_trait::async_trait;

use super::{Acked, Batch, Sink, SinkError};
use crate::incident::{Owners, Summary};
use crate::model::Clock;
use crate::output::OutputFormat;
use crate::output::stdout::Stdout;
use crate::output::summary::{SummaryColumns, print};

const NAME: &str = "summary";

/// Groups occurrences and prints the summary at close.
pub struct SummarySink {
    summary: Summary,
    format: OutputFormat,
    columns: SummaryColumns,
    clock: Clock,
    out: Stdout,
    last_seq: Option<u64>,
    empty_note: Option<String>,
}

impl std::fmt::Debug for SummarySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SummarySink")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl SummarySink {
    /// A summary printed in `format` with `columns`, ages by `clock`;
    /// `owners` (from `--tree`) name workloads exactly.
    pub fn new(
        format: OutputFormat,
        columns: SummaryColumns,
        clock: Clock,
        owners: Option<Owners>,
    ) -> SummarySink {
        SummarySink {
            summary: Summary::new(owners),
            format,
            columns,
            clock,
            out: Stdout::new(),
            last_seq: None,
            empty_note: None,
        }
    }

    /// Write to `out` instead of stdout (tests).
    #[must_use]
    pub fn writing_to(mut self, out: Box<dyn std::io::Write + Send>) -> SummarySink {
        self.out = Stdout::to(out);
        self
    }

    /// Say `note` on stderr when there is nothing to summarise (a table).
    #[must_use]
    pub fn empty_note(mut self, note: Option<String>) -> SummarySink {
        self.empty_note = note;
        self
    }
}

#[async_trait]
impl Sink for SummarySink {
    fn name(&self) -> &str {
        NAME
    }

    async fn send(&mut self, batch: Batch) -> Result<Acked, SinkError> {
        for d in &batch.deliveries {
            self.summary.add(&d.occurrence);
            self.last_seq = self.last_seq.max(Some(d.seq));
        }
        Ok(Acked::NOTHING)
    }

    async fn close(&mut self) -> Result<Acked, SinkError> {
        let groups = self.summary.ranked();
        if groups.is_empty()
            && crate::output::is_table(self.format)
            && let Some(note) = &self.empty_note
        {
            eprintln!("{note}");
        }
        let now = self.clock.now();
        let (format, columns) = (self.format, self.columns);
        let io = |e| SinkError::Io {
            sink: NAME.to_string(),
            what: "writing to stdout".to_string(),
            source: e,
        };
        self.out
            .write_with(|w| print(w, &groups, format, columns, now))
            .map_err(io)?;
        self.out.flush().map_err(io)?;
        if self.out.is_closed() {
            return Err(SinkError::Closed {
                sink: NAME.to_string(),
            });
        }
        Ok(Acked {
            up_to: self.last_seq,
        })
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::sink::compliance::{Shared, stream};

    #[tokio::test]
    async fn prints_at_close_and_acknowledges_everything_then() {
        let out = Shared::default();
        let mut sink = SummarySink::new(
            OutputFormat::Ndjson,
            SummaryColumns::default(),
            Clock::System,
            None,
        )
        .writing_to(Box::new(out.clone()));
        let items = stream(20, 0, chrono::Utc::now());
        let acked = sink
            .send(Batch {
                deliveries: items.clone(),
                listing: true,
                encoded: None,
            })
            .await
            .unwrap();
        assert_eq!(acked, Acked::NOTHING);
        assert!(out.0.lock().unwrap().is_empty(), "nothing before close");
        let acked = sink.close().await.unwrap();
        assert_eq!(acked.up_to, items.iter().map(|d| d.seq).max());
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let total: i64 = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["count"]
                    .as_i64()
                    .unwrap()
            })
            .sum();
        let events: std::collections::HashMap<&str, i64> = items
            .iter()
            .map(|d| {
                (
                    d.occurrence.event.uid.as_str(),
                    d.occurrence.event.count.max(1),
                )
            })
            .collect();
        assert_eq!(total, events.values().sum::<i64>(), "the counts add up");
    }
}
