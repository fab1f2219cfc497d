//! What to show: the filter flags and expression words, resolved into the
//! compiled [`Filter`] (evaluated locally on every event) and the field
//! selector pushed down to the apiserver (which can only save work).

use chrono::{DateTime, Utc};

use crate::cli::FilterArgs;
use crate::filter::{Filter, FilterError, Span, Sugar, TimeBound, parse_time_bound};
use crate::model::Event;
use crate::model::{ObjectSpec, ObjectTarget};

/// A filter error, shown with the offending text and a caret under the column.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.render())]
pub struct FilterUsageError(pub FilterError);

// Not `#[from]`: that would make the FilterError a `source`, and the
// message would be printed twice in the error chain.
impl From<FilterError> for FilterUsageError {
    fn from(e: FilterError) -> Self {
        FilterUsageError(e)
    }
}

fn time_flag(flag: &str, value: Option<&str>) -> Result<Option<TimeBound>, FilterError> {
    value
        .map(|v| {
            parse_time_bound(v).map_err(|mut e| {
                e.origin = flag.to_string();
                e
            })
        })
        .transpose()
}

/// A resolved selection.
#[derive(Debug)]
pub struct Selection {
    filter: Filter,
}

/// How `--for` is given to [`Selection::build`].
pub enum ForSpec<'a> {
    /// Resolved through the apiserver's discovery.
    Resolved(&'a ObjectTarget),
    /// As written (replay: resolved by the filter's built-in table).
    Offline(&'a str),
}

impl Selection {
    /// Build from expression words and filter flags; `namespaces` are extra
    /// `namespace in (...)` terms (replay's `-n`).
    pub fn build(
        expr: &[String],
        args: &FilterArgs,
        for_object: Option<ForSpec<'_>>,
        namespaces: Vec<String>,
    ) -> Result<Selection, FilterUsageError> {
        let for_object = match for_object {
            Some(ForSpec::Resolved(f)) => Some(f.clone()),
            Some(ForSpec::Offline(s)) => Some(
                ObjectSpec::parse(s)
                    .and_then(|spec| spec.offline_target())
                    .map_err(|e| {
                        FilterError::new(e.message, "--for", s, Span::new(e.span.0, e.span.1))
                    })?,
            ),
            None => None,
        };
        let sugar = Sugar {
            types: args.types.clone(),
            reasons: args.reasons.clone(),
            kinds: args.kinds.clone(),
            namespaces,
            for_object,
            since: time_flag("--since", args.since.as_deref())?,
            until: time_flag("--until", args.until.as_deref())?,
            match_message: args.match_message.clone(),
        };
        Ok(Selection {
            filter: Filter::build(expr, &sugar)?,
        })
    }

    /// Whether `e` is selected, with ages measured from `now`.
    pub fn matches(&self, e: &Event, now: DateTime<Utc>) -> bool {
        self.filter.matches(e, now)
    }

    /// The field selector to push down, if any.
    pub fn field_selector(&self) -> Option<String> {
        let s = self.filter.field_selector().to_string();
        (!s.is_empty()).then_some(s)
    }

    /// The filter.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }
}
