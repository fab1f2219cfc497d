//! [`EventView`]: the fields of an event as the filter and the summaries
//! read them, without owning them.
//!
//! [`Event`] implements it, and so does any borrowed view of a serialized
//! event (the replay reader's views of kev/v1 and raw Event lines): a view
//! must answer exactly as the `Event` it would become, which is what lets a
//! source drop a record before building it.

use chrono::{DateTime, Utc};

use super::Event;

/// Read access to an event's fields; a missing text field is `None`.
pub trait EventView {
    /// `metadata.uid`.
    fn uid(&self) -> &str;
    /// The event's own namespace.
    fn namespace(&self) -> Option<&str>;
    /// `type`.
    fn type_(&self) -> Option<&str>;
    /// `reason`.
    fn reason(&self) -> Option<&str>;
    /// `message`.
    fn message(&self) -> Option<&str>;
    /// The involved object's kind.
    fn object_kind(&self) -> Option<&str>;
    /// The involved object's name.
    fn object_name(&self) -> Option<&str>;
    /// The involved object's apiVersion.
    fn object_api_version(&self) -> Option<&str>;
    /// The involved object's fieldPath.
    fn object_field_path(&self) -> Option<&str>;
    /// The involved object's uid (`None` where a view does not read it:
    /// replay has no owners to match it against).
    fn object_uid(&self) -> Option<&str> {
        None
    }
    /// `source.component` unless empty, else `reportingController`.
    fn component(&self) -> Option<&str>;
    /// `source.host` unless empty.
    fn host(&self) -> Option<&str>;
    /// `reportingInstance`.
    fn instance(&self) -> Option<&str>;
    /// `action`.
    fn action(&self) -> Option<&str>;
    /// The resolved count.
    fn count(&self) -> i64;
    /// The resolved last-seen time.
    fn last_seen(&self) -> Option<DateTime<Utc>>;
}

impl EventView for Event {
    fn uid(&self) -> &str {
        &self.uid
    }
    fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
    fn type_(&self) -> Option<&str> {
        self.type_.as_deref()
    }
    fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
    fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
    fn object_kind(&self) -> Option<&str> {
        self.object.kind.as_deref()
    }
    fn object_name(&self) -> Option<&str> {
        self.object.name.as_deref()
    }
    fn object_uid(&self) -> Option<&str> {
        self.object.uid.as_deref()
    }
    fn object_api_version(&self) -> Option<&str> {
        self.object.api_version.as_deref()
    }
    fn object_field_path(&self) -> Option<&str> {
        self.object.field_path.as_deref()
    }
    fn component(&self) -> Option<&str> {
        Event::component(self)
    }
    fn host(&self) -> Option<&str> {
        Event::host(self)
    }
    fn instance(&self) -> Option<&str> {
        self.reporting_instance.as_deref()
    }
    fn action(&self) -> Option<&str> {
        self.action.as_deref()
    }
    fn count(&self) -> i64 {
        self.count
    }
    fn last_seen(&self) -> Option<DateTime<Utc>> {
        self.last_seen
    }
}

/// Every answer of a view, named, for tests that check two views agree.
#[cfg(test)]
pub(crate) fn answers(v: &dyn EventView) -> Vec<(&'static str, String)> {
    vec![
        ("uid", format!("{:?}", v.uid())),
        ("namespace", format!("{:?}", v.namespace())),
        ("type", format!("{:?}", v.type_())),
        ("reason", format!("{:?}", v.reason())),
        ("message", format!("{:?}", v.message())),
        ("object_kind", format!("{:?}", v.object_kind())),
        ("object_name", format!("{:?}", v.object_name())),
        (
            "object_api_version",
            format!("{:?}", v.object_api_version()),
        ),
        ("object_field_path", format!("{:?}", v.object_field_path())),
        ("component", format!("{:?}", v.component())),
        ("host", format!("{:?}", v.host())),
        ("instance", format!("{:?}", v.instance())),
        ("action", format!("{:?}", v.action())),
        ("count", format!("{:?}", v.count())),
        ("last_seen", format!("{:?}", v.last_seen())),
    ]
}
