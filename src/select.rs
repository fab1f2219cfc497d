//! What to show: the filter flags and expression words, resolved into a
//! local predicate and the part of it pushed down as a field selector.

use chrono::{DateTime, Utc};

use crate::cli::FilterArgs;
use crate::model::Event;
use crate::source::discovery::ForObject;

/// A resolved selection.
pub struct Selection {
    types: Vec<String>,
    for_object: Option<ForObject>,
}

impl Selection {
    /// Build from expression words, filter flags and a resolved `--for`.
    pub fn build(
        expr: &[String],
        filter: &FilterArgs,
        for_object: Option<&ForObject>,
        _now: Option<DateTime<Utc>>,
    ) -> anyhow::Result<Selection> {
        if !expr.is_empty() {
            anyhow::bail!("filter expressions are not supported yet");
        }
        Ok(Selection {
            types: filter.types.clone(),
            for_object: for_object.cloned(),
        })
    }

    /// Whether `e` is selected at time `now`.
    pub fn matches(&self, e: &Event, _now: DateTime<Utc>) -> bool {
        (self.types.is_empty()
            || self.types.iter().any(|t| {
                e.type_
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(t))
            }))
            && self.for_object.as_ref().is_none_or(|f| {
                e.object.kind.as_deref() == Some(f.kind.as_str())
                    && e.object.name.as_deref() == Some(f.name.as_str())
            })
    }

    /// The field selector to push down, if any.
    pub fn field_selector(&self) -> Option<String> {
        let mut terms = Vec::new();
        if let Some(f) = &self.for_object {
            terms.push(format!("involvedObject.kind={}", f.kind));
            if let Some(av) = &f.api_version {
                terms.push(format!("involvedObject.apiVersion={av}"));
            }
            terms.push(format!("involvedObject.name={}", f.name));
        }
        (!terms.is_empty()).then(|| terms.join(","))
    }
}
