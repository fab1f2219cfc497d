//! `-o jsonpath=TEMPLATE`, `-o jsonpath-as-json=TEMPLATE` and
//! `-o jsonpath-file=PATH`: kubectl's JSONPath templates
//! (<https://kubernetes.io/docs/reference/kubectl/jsonpath/>).
//!
//! kev has its own implementation ([`parse`], [`eval`]) of client-go's
//! template language: no crate implements it (the JSONPath crates follow
//! RFC 9535 or Goessner's article, with `$` required, other filters and
//! none of `{range}…{end}`, the literal text between actions, or kubectl's
//! way of printing results).
//!
//! What the template is applied to is what kubectl applies it to, with
//! kev's records in place of raw Events. A listing is one object,
//! `{"kind":"EventList","apiVersion":"v1","items":[…]}`, executed once, so
//! `{.items[*].reason}` and `{range .items[*]}…{end}` work as with
//! `kubectl events`; with `-w` (as `kubectl events -w` does) the template
//! is executed once per event, over the event itself (`{.reason}`), and a
//! newline follows each event's output unless it ends with one. Each event
//! is its `kev/v1` record without its null fields (absent, as an unset
//! field of a raw Event), plus the paths a raw Event has for the same
//! things: `kind`, `apiVersion`, `metadata.{name,namespace,uid,
//! resourceVersion}`, `involvedObject`, `firstTimestamp`, `lastTimestamp`
//! and `reportingComponent` ([`item`]).
//!
//! The template is compiled once, when the settings are checked, and kept
//! for the process ([`install`]), as `-o template`'s is.

mod eval;
pub mod parse;

use std::io::{self, Write};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::Printer;
use crate::model::Occurrence;
pub use parse::{ParseError, Template};

/// A compiled `-o jsonpath` and how to print it.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The template.
    pub template: Template,
    /// The text it was parsed from (for error messages).
    pub source: String,
    /// `-o jsonpath-as-json`: each action's results as a JSON array.
    pub as_json: bool,
    /// Execute per event (`-w`), not once over the listing.
    pub per_event: bool,
    /// `--allow-missing-template-keys` (kubectl's default: true).
    pub allow_missing: bool,
}

impl Compiled {
    /// Parse `source`.
    pub fn new(
        source: &str,
        as_json: bool,
        per_event: bool,
        allow_missing: bool,
    ) -> Result<Compiled, ParseError> {
        Ok(Compiled {
            template: parse::parse(source)?,
            source: source.to_string(),
            as_json,
            per_event,
            allow_missing,
        })
    }

    /// Execute over `root` and print the results into `out`.
    pub fn render(&self, root: &Value, out: &mut String) -> io::Result<()> {
        let results = eval::execute(&self.template, root, self.allow_missing).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("error executing jsonpath {:?}: {e}", self.source),
            )
        })?;
        eval::print(&results, self.as_json, out);
        Ok(())
    }
}

static JSONPATH: OnceLock<Compiled> = OnceLock::new();

/// Keep `compiled` for [`JsonPathPrinter::installed`]. A second install
/// (tests) keeps the first.
pub fn install(compiled: Compiled) {
    let _ = JSONPATH.set(compiled);
}

/// An event as the template sees it: its `kev/v1` record without null
/// fields, with kubectl's paths of a raw Event added.
pub fn item(occ: &Occurrence) -> Value {
    let mut record = match serde_json::to_value(occ.record()) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    strip_nulls(&mut record);
    let get = |k: &str| record.get(k).cloned();
    let mut metadata = Map::new();
    for (raw, ours) in [
        ("name", "name"),
        ("namespace", "namespace"),
        ("uid", "uid"),
        ("resourceVersion", "resourceVersion"),
    ] {
        if let Some(v) = get(ours) {
            metadata.insert(raw.to_string(), v);
        }
    }
    let mut aliases = vec![
        ("kind", Some(Value::from("Event"))),
        ("apiVersion", Some(Value::from("v1"))),
        ("metadata", Some(Value::Object(metadata))),
        ("involvedObject", get("object")),
        ("firstTimestamp", get("firstSeen")),
        ("lastTimestamp", get("lastSeen")),
        ("reportingComponent", get("reportingController")),
    ];
    for (key, value) in aliases.drain(..) {
        if let Some(v) = value {
            record.entry(key).or_insert(v);
        }
    }
    Value::Object(record)
}

fn strip_nulls(map: &mut Map<String, Value>) {
    map.retain(|_, v| !v.is_null());
    for v in map.values_mut() {
        if let Value::Object(m) = v {
            strip_nulls(m);
        }
    }
}

/// The listing as kubectl's `kubectl events` gives it to the template.
pub fn list(batch: &[&Occurrence]) -> Value {
    let mut list = Map::new();
    list.insert("kind".to_string(), Value::from("EventList"));
    list.insert("apiVersion".to_string(), Value::from("v1"));
    list.insert(
        "items".to_string(),
        Value::Array(batch.iter().map(|o| item(o)).collect()),
    );
    Value::Object(list)
}

/// `-o jsonpath`, `-o jsonpath-as-json`, `-o jsonpath-file`: see the
/// module docs.
#[derive(Debug)]
pub struct JsonPathPrinter {
    compiled: Option<&'static Compiled>,
}

impl JsonPathPrinter {
    /// The printer of the template [`install`]ed.
    pub fn installed() -> JsonPathPrinter {
        JsonPathPrinter {
            compiled: JSONPATH.get(),
        }
    }

    /// A printer of `compiled` (tests; kept for the process).
    pub fn with(compiled: Compiled) -> JsonPathPrinter {
        JsonPathPrinter {
            compiled: Some(Box::leak(Box::new(compiled))),
        }
    }

    fn compiled(&self) -> io::Result<&'static Compiled> {
        self.compiled
            .ok_or_else(|| io::Error::other("-o jsonpath: no template was given"))
    }
}

impl Printer for JsonPathPrinter {
    fn print_batch(
        &mut self,
        out: &mut dyn Write,
        batch: &[&Occurrence],
        now: DateTime<Utc>,
    ) -> io::Result<()> {
        let compiled = self.compiled()?;
        if compiled.per_event {
            for occ in batch {
                self.print_one(out, occ, now)?;
            }
            return Ok(());
        }
        // kubectl prints nothing for an empty listing (it says "No events
        // found" on stderr instead).
        if batch.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        compiled.render(&list(batch), &mut text)?;
        out.write_all(text.as_bytes())
    }

    fn print_one(
        &mut self,
        out: &mut dyn Write,
        occ: &Occurrence,
        _now: DateTime<Utc>,
    ) -> io::Result<()> {
        let compiled = self.compiled()?;
        let mut text = String::new();
        compiled.render(&item(occ), &mut text)?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        out.write_all(text.as_bytes())
    }
}

#[cfg(test)]
mod tests;
