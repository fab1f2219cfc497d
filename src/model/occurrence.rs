//! [`Occurrence`]: one event at one resourceVersion, as kev observed it.
//!
//! An event object is updated in place (count + 1, a new lastTimestamp), so
//! one uid is seen many times; each `(uid, resourceVersion)` is one
//! occurrence, delivered at most once to each sink. An occurrence carries
//! the context it was observed in (cluster label, watch type, time) and,
//! when it came from the apiserver, its [`Position`]: where a watch resumes
//! once this occurrence, and everything before it, has been delivered.

use std::sync::Arc;

use super::record::{RecordContext, RecordView};
use super::{Event, OccurrenceKey};

/// Where in the apiserver's history an occurrence was read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Position {
    /// Part of a list at `list_rv`. The list's items have no order in
    /// history: a watch resumes from `list_rv` only once the whole list is
    /// delivered (the source marks the list's end).
    Listed {
        /// The list's `metadata.resourceVersion` (shared by its items).
        list_rv: Arc<str>,
    },
    /// A watch notification: a watch resumed from `rv` sees what came after it.
    Watched {
        /// The notification's resourceVersion.
        rv: Arc<str>,
    },
}

/// An event with the context it was observed in; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// The event.
    pub event: Event,
    /// Cluster label, watch type and observation time.
    pub context: RecordContext,
    /// Where it was read, for events from the apiserver; `None` for replay.
    pub position: Option<Position>,
    /// The Event object as the apiserver sent it (JSON), kept only when the
    /// output prints objects (`--list`: the output module's `kubectl`).
    pub raw: Option<Arc<str>>,
}

impl Occurrence {
    /// An occurrence without a position (replayed, or built by hand).
    pub fn new(event: Event, context: RecordContext) -> Occurrence {
        Occurrence {
            event,
            context,
            position: None,
            raw: None,
        }
    }

    /// The key `(uid, resourceVersion)`.
    pub fn key(&self) -> OccurrenceKey {
        self.event.occurrence_key()
    }

    /// A view that serializes as a `kev/v1` record.
    pub fn record(&self) -> RecordView<'_> {
        RecordView {
            event: &self.event,
            context: &self.context,
        }
    }
}

impl AsRef<Occurrence> for Occurrence {
    fn as_ref(&self) -> &Occurrence {
        self
    }
}
