//! Printers: how occurrences become text on stdout.
//!
//! One [`Printer`] per `-o` format. A printer receives the sorted list as one
//! batch (so the table can size its columns like kubectl's tabwriter) and
//! then, with `-w`, one occurrence at a time. Printers never touch the
//! terminal themselves; they write to any `io::Write`, which keeps them
//! testable with a frozen clock.

pub mod humanize;
pub mod jsonpath;
pub mod kubectl;
pub mod stdout;
pub mod summary;
pub mod table;
pub mod template;
pub mod yaml;

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use crate::model::Occurrence;

pub use crate::escape::escape;
pub use table::{TableOptions, TablePrinter};

/// The `-o` formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Columns as `kubectl events` prints them.
    Table,
    /// The table plus first seen, count, source, sub-object and event name.
    Wide,
    /// Each record as an indented JSON object (a stream `jq` reads as is).
    Json,
    /// Each record as a YAML document (`---` separated).
    Yaml,
    /// One compact `kev/v1` record per line (docs/ndjson.md).
    Ndjson,
    /// `event/NAME` per event, as kubectl's `-o name`.
    #[serde(skip_deserializing)]
    Name,
    /// `--template TEXT` (minijinja) rendered over each record, values escaped.
    #[serde(skip_deserializing)]
    Template,
    /// `jsonpath=TEMPLATE`: kubectl's JSONPath over the listing (`{.items[*].reason}`), or over each event with -w.
    #[serde(skip_deserializing)]
    Jsonpath,
    /// `jsonpath-as-json=TEMPLATE`: the same, each action's results as a JSON array.
    #[serde(skip_deserializing)]
    JsonpathAsJson,
    /// `jsonpath-file=PATH`: `-o jsonpath` with the template read from a file.
    #[serde(skip_deserializing)]
    JsonpathFile,
    /// `-o json --list`: the Event objects as `kubectl events -o json`
    /// prints them, one `EventList` ([`kubectl`]).
    #[value(skip)]
    #[serde(skip_deserializing)]
    ListJson,
    /// `-o yaml --list`: the same as `kubectl events -o yaml`.
    #[value(skip)]
    #[serde(skip_deserializing)]
    ListYaml,
}

impl OutputFormat {
    /// The `--list` forms, which print the Event objects themselves (so
    /// the source keeps them as they came).
    pub fn prints_objects(self) -> bool {
        matches!(self, OutputFormat::ListJson | OutputFormat::ListYaml)
    }

    /// The kubectl JSONPath forms (`jsonpath`, `jsonpath-as-json`, `jsonpath-file`).
    pub fn is_jsonpath(self) -> bool {
        matches!(
            self,
            OutputFormat::Jsonpath | OutputFormat::JsonpathAsJson | OutputFormat::JsonpathFile
        )
    }

    /// The name `-o` takes.
    pub fn name(self) -> String {
        match self {
            OutputFormat::ListJson => return "json".to_string(),
            OutputFormat::ListYaml => return "yaml".to_string(),
            _ => {}
        }
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

/// Writes occurrences in one format.
pub trait Printer {
    /// Print a batch: the sorted result of a list.
    fn print_batch(
        &mut self,
        out: &mut dyn Write,
        batch: &[&Occurrence],
        now: DateTime<Utc>,
    ) -> io::Result<()> {
        for occ in batch {
            self.print_one(out, occ, now)?;
        }
        Ok(())
    }

    /// Print one occurrence as it arrives from a watch.
    fn print_one(
        &mut self,
        out: &mut dyn Write,
        occ: &Occurrence,
        now: DateTime<Utc>,
    ) -> io::Result<()>;
}

/// `-o ndjson` (one compact record per line) and `-o json` (a stream of
/// indented objects): the same records, two layouts.
#[derive(Debug, Default)]
pub struct JsonPrinter {
    /// Indent each record (`-o json`).
    pub pretty: bool,
}

impl Printer for JsonPrinter {
    fn print_one(
        &mut self,
        out: &mut dyn Write,
        occ: &Occurrence,
        _now: DateTime<Utc>,
    ) -> io::Result<()> {
        if self.pretty {
            serde_json::to_writer_pretty(&mut *out, &occ.record())?;
        } else {
            serde_json::to_writer(&mut *out, &occ.record())?;
        }
        out.write_all(b"\n")
    }
}

/// `-o yaml`: one YAML document per occurrence, every string a YAML 1.1
/// reader could take for something else (a timestamp) quoted ([`yaml`]).
#[derive(Debug, Default)]
pub struct YamlPrinter;

impl Printer for YamlPrinter {
    fn print_one(
        &mut self,
        out: &mut dyn Write,
        occ: &Occurrence,
        _now: DateTime<Utc>,
    ) -> io::Result<()> {
        let text = yaml::to_yaml(&occ.record()).map_err(io::Error::other)?;
        out.write_all(b"---\n")?;
        out.write_all(text.as_bytes())
    }
}

/// Build the printer for a format.
pub fn printer(format: OutputFormat, table: TableOptions) -> Box<dyn Printer + Send> {
    match format {
        OutputFormat::Table => Box::new(TablePrinter::new(table, false)),
        OutputFormat::Wide => Box::new(TablePrinter::new(table, true)),
        OutputFormat::Json => Box::new(JsonPrinter { pretty: true }),
        OutputFormat::Yaml => Box::new(YamlPrinter),
        OutputFormat::Ndjson => Box::new(JsonPrinter { pretty: false }),
        OutputFormat::Name => Box::new(template::NamePrinter),
        OutputFormat::Template => Box::new(template::TemplatePrinter),
        OutputFormat::Jsonpath | OutputFormat::JsonpathAsJson | OutputFormat::JsonpathFile => {
            Box::new(jsonpath::JsonPathPrinter::installed())
        }
        OutputFormat::ListJson => Box::new(kubectl::KubectlPrinter::installed(false)),
        OutputFormat::ListYaml => Box::new(kubectl::KubectlPrinter::installed(true)),
    }
}

/// Sort occurrences by last seen, oldest first, as `kubectl events` does.
/// The sort is stable, so ties keep the apiserver's (namespace/name) order.
pub fn sort_by_last_seen<O: AsRef<Occurrence>>(batch: &mut [O]) {
    batch.sort_by_key(|o| o.as_ref().event.last_seen);
}

/// Whether a format is printed over the whole listing at once, so not
/// encodable one occurrence at a time: the tables (`table`, `wide`: rows
/// padded to columns sized over the listing), the JSONPath forms
/// (executed once over the listing, as kubectl does) and `--list` (one
/// `EventList`).
pub fn is_table(format: OutputFormat) -> bool {
    matches!(format, OutputFormat::Table | OutputFormat::Wide)
        || format.is_jsonpath()
        || format.prints_objects()
}
