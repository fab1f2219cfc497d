//! The terminal sink: `-o table|wide|json|yaml|ndjson` on stdout.
//!
//! It prints with the [`crate::output`] printers and acknowledges a batch
//! once it is written and flushed. The listing batch is printed in one go, so
//! the table sizes its columns over it like kubectl's tabwriter; later
//! occurrences are printed as they come. With [`TerminalSink::sort_until_close`]
//! (`kev replay -o table`) everything is held and printed sorted by last seen
//! at close. A closed stdout (`kev | head`) ends delivery quietly:
//! [`SinkError::Closed`].

use std::sync::Arc;

use async_trait::async_trait;

use super::{Acked, Batch, Delivery, Encoder, Sink, SinkError};
use crate::model::{Clock, Occurrence};
use crate::output::stdout::Stdout;
use crate::output::{OutputFormat, Printer, TableOptions, is_table, printer, sort_by_last_seen};

/// Prints occurrences on stdout; see the module docs.
pub struct TerminalSink {
    name: String,
    format: OutputFormat,
    table: TableOptions,
    printer: Box<dyn Printer + Send>,
    out: Stdout,
    clock: Clock,
    sort_until_close: bool,
    held: Vec<Delivery>,
    empty_listing_note: Option<String>,
}

impl std::fmt::Debug for TerminalSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalSink")
            .field("format", &self.format)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

const NAME: &str = "stdout";

impl TerminalSink {
    /// A terminal sink printing `format` with `table`'s options, ages by `clock`.
    pub fn new(format: OutputFormat, table: TableOptions, clock: Clock) -> TerminalSink {
        TerminalSink {
            name: NAME.to_string(),
            format,
            table,
            printer: printer(format, table),
            out: Stdout::new(),
            clock,
            sort_until_close: false,
            held: Vec::new(),
            empty_listing_note: None,
        }
    }

    /// With `-o wide`, a PATH column: each involved object's owners from
    /// the root of `set` (`--for KIND/NAME --tree`).
    #[must_use]
    pub fn with_paths(
        mut self,
        set: std::sync::Arc<crate::model::owned::OwnedSet>,
    ) -> TerminalSink {
        if self.format == OutputFormat::Wide {
            self.printer =
                Box::new(crate::output::TablePrinter::new(self.table, true).with_paths(set));
        }
        self
    }

    /// Call it `name` (a daemon's sink has the name its configuration gives).
    #[must_use]
    pub fn named(mut self, name: &str) -> TerminalSink {
        self.name = name.to_string();
        self
    }

    /// Write to `out` instead of stdout (tests).
    #[must_use]
    pub fn writing_to(mut self, out: Box<dyn std::io::Write + Send>) -> TerminalSink {
        self.out = Stdout::to(out);
        self
    }

    /// Hold everything and print it sorted by last seen at close (replay's
    /// table, which has no listing to size its columns over otherwise).
    #[must_use]
    pub fn sort_until_close(mut self, yes: bool) -> TerminalSink {
        self.sort_until_close = yes;
        self
    }

    /// Print `note` on stderr when the listing is empty and the format is a
    /// table (`No events found in default namespace.`, as kubectl says).
    #[must_use]
    pub fn empty_listing_note(mut self, note: Option<String>) -> TerminalSink {
        self.empty_listing_note = note;
        self
    }

    /// Print `deliveries` (as the listing: one batch, columns sized over
    /// it; else one by one), or write `encoded` in their place.
    fn print(
        &mut self,
        deliveries: &[Delivery],
        listing: bool,
        encoded: Option<Vec<u8>>,
    ) -> Result<Acked, SinkError> {
        let now = self.clock.now();
        let TerminalSink { printer, out, .. } = self;
        let occs: Vec<&Occurrence> = deliveries.iter().map(|d| &*d.occurrence).collect();
        let mut write = || {
            out.write_with(|w| match &encoded {
                Some(bytes) => w.write_all(bytes),
                None if listing => printer.print_batch(w, &occs, now),
                None => occs.iter().try_for_each(|o| printer.print_one(w, o, now)),
            })?;
            out.flush()
        };
        // Writing to a terminal or pipe blocks; on a multi-threaded runtime
        // let it move other tasks off this thread meanwhile (a
        // current-thread runtime has nowhere to move them).
        let written = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(write),
            _ => write(),
        };
        written.map_err(|e| SinkError::Io {
            sink: NAME.to_string(),
            // A template that failed for an event (-o template, jsonpath).
            what: if e.kind() == std::io::ErrorKind::InvalidData {
                "cannot print an event".to_string()
            } else {
                "writing to stdout".to_string()
            },
            source: e,
        })?;
        if out.is_closed() {
            return Err(SinkError::Closed {
                sink: NAME.to_string(),
            });
        }
        Ok(Acked {
            up_to: deliveries.iter().map(|d| d.seq).max(),
        })
    }
}

#[async_trait]
impl Sink for TerminalSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&mut self, batch: Batch) -> Result<Acked, SinkError> {
        if self.sort_until_close {
            self.held.extend(batch.deliveries);
            return Ok(Acked::NOTHING);
        }
        if batch.listing
            && batch.deliveries.is_empty()
            && is_table(self.format)
            && let Some(note) = &self.empty_listing_note
        {
            eprintln!("{note}");
        }
        self.print(&batch.deliveries, batch.listing, batch.encoded)
    }

    async fn close(&mut self) -> Result<Acked, SinkError> {
        if !self.sort_until_close {
            return Ok(Acked::NOTHING);
        }
        let mut held = std::mem::take(&mut self.held);
        sort_by_last_seen(&mut held);
        self.print(&held, true, None)
    }

    fn encoder(&self) -> Option<Encoder> {
        if is_table(self.format) {
            return None;
        }
        let format = self.format;
        let table = self.table;
        let clock = self.clock;
        Some(Arc::new(move |occ: &Occurrence, out: &mut Vec<u8>| {
            // json/yaml/ndjson printers hold no state between occurrences.
            printer(format, table).print_one(out, occ, clock.now())
        }))
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::sink::compliance;
    use crate::sink::compliance::Shared;

    struct Harness(Shared);

    #[async_trait]
    impl compliance::Harness for Harness {
        async fn sink(&mut self) -> Box<dyn Sink> {
            Box::new(
                TerminalSink::new(OutputFormat::Ndjson, TableOptions::default(), Clock::System)
                    .writing_to(Box::new(self.0.clone())),
            )
        }
        async fn delivered(&mut self) -> Vec<(String, String)> {
            let bytes = self.0.0.lock().unwrap().clone();
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    (
                        v["uid"].as_str().unwrap().to_string(),
                        v["resourceVersion"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        }
    }

    #[tokio::test]
    async fn the_terminal_sink_is_compliant() {
        compliance::run(Harness(Shared::default())).await;
    }
}
