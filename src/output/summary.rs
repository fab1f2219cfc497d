//! `--summary`'s output: the ranked groups as a table, or one
//! `kev/summary/v1` record per group (`-o json|yaml|ndjson`, documented in
//! docs/incidents.md). The table's cells are escaped and its columns padded
//! by display width, as the event table's are (`super::table`).

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use super::humanize::age;
use super::{OutputFormat, escape};
use crate::incident::{Group, Workload};

/// The record's schema name *(contract)*.
pub const SCHEMA: &str = "kev/summary/v1";

/// Which columns the table has.
#[derive(Clone, Copy, Debug, Default)]
pub struct SummaryColumns {
    /// CLUSTER first (several clusters).
    pub cluster: bool,
    /// NAMESPACE (several namespaces).
    pub namespace: bool,
    /// No header line.
    pub no_headers: bool,
}

/// One group as a `kev/summary/v1` record.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    schema: &'static str,
    cluster: Option<&'a str>,
    namespace: Option<&'a str>,
    #[serde(rename = "type")]
    type_: Option<&'a str>,
    reason: Option<&'a str>,
    workload: &'a Workload,
    pattern: &'a str,
    count: i64,
    events: usize,
    objects: usize,
    first_seen: Option<DateTime<Utc>>,
    last_seen: Option<DateTime<Utc>>,
    message: &'a str,
    object: &'a str,
}

fn record(g: &Group) -> Record<'_> {
    Record {
        schema: SCHEMA,
        cluster: g.key.cluster.as_deref(),
        namespace: g.key.namespace.as_deref(),
        type_: g.key.type_.as_deref(),
        reason: g.key.reason.as_deref(),
        workload: &g.key.workload,
        pattern: &g.key.shape,
        count: g.count,
        events: g.events,
        objects: g.objects,
        first_seen: g.first_seen,
        last_seen: g.last_seen,
        message: &g.example,
        object: &g.example_object,
    }
}

/// Print `groups` (ranked) in `format`, ages relative to `now`.
pub fn print(
    out: &mut dyn Write,
    groups: &[&Group],
    format: OutputFormat,
    columns: SummaryColumns,
    now: DateTime<Utc>,
) -> io::Result<()> {
    match format {
        // -o name, -o template, the JSONPath forms and --list are refused
        // with --summary by the settings; a table is the safe reading.
        OutputFormat::Table
        | OutputFormat::Wide
        | OutputFormat::Name
        | OutputFormat::Template
        | OutputFormat::Jsonpath
        | OutputFormat::JsonpathAsJson
        | OutputFormat::JsonpathFile
        | OutputFormat::ListJson
        | OutputFormat::ListYaml => table(out, groups, columns, now),
        OutputFormat::Ndjson => groups.iter().try_for_each(|g| {
            serde_json::to_writer(&mut *out, &record(g))?;
            out.write_all(b"\n")
        }),
        OutputFormat::Json => groups.iter().try_for_each(|g| {
            serde_json::to_writer_pretty(&mut *out, &record(g))?;
            out.write_all(b"\n")
        }),
        OutputFormat::Yaml => groups.iter().try_for_each(|g| {
            let text = serde_norway::to_string(&record(g)).map_err(io::Error::other)?;
            out.write_all(b"---\n")?;
            out.write_all(text.as_bytes())
        }),
    }
}

const GAP: usize = 3;

fn table(
    out: &mut dyn Write,
    groups: &[&Group],
    columns: SummaryColumns,
    now: DateTime<Utc>,
) -> io::Result<()> {
    let mut header: Vec<&str> = Vec::new();
    if columns.cluster {
        header.push("CLUSTER");
    }
    if columns.namespace {
        header.push("NAMESPACE");
    }
    header.extend([
        "COUNT",
        "OBJECTS",
        "FIRST SEEN",
        "LAST SEEN",
        "TYPE",
        "REASON",
        "WORKLOAD",
        "MESSAGE",
    ]);
    let text = |s: Option<&str>| escape(s.unwrap_or("<none>")).into_owned();
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let mut row = Vec::with_capacity(header.len());
            if columns.cluster {
                row.push(text(g.key.cluster.as_deref()));
            }
            if columns.namespace {
                row.push(text(g.key.namespace.as_deref()));
            }
            row.extend([
                g.count.to_string(),
                g.objects.to_string(),
                age(g.first_seen, now),
                age(g.last_seen, now),
                text(g.key.type_.as_deref()),
                text(g.key.reason.as_deref()),
                escape(&g.key.workload.to_string()).into_owned(),
                escape(&g.example).into_owned(),
            ]);
            row
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| -> io::Result<()> {
        let mut s = String::new();
        let cells: Vec<&str> = cells.collect();
        let last = cells.len() - 1;
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i < last {
                let pad = widths[i] - c.width() + GAP;
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        s.push('\n');
        out.write_all(s.as_bytes())
    };
    if !columns.no_headers {
        line(&mut header.iter().copied())?;
    }
    for row in &rows {
        line(&mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Summary;
    use crate::model::{Event, ObjectRef, Occurrence, RecordContext};

    fn occ(uid: &str, ns: &str, pod: &str, msg: &str, count: i64) -> Occurrence {
        let t = DateTime::from_timestamp(1_800_000_000, 0);
        Occurrence::new(
            Event {
                uid: uid.into(),
                resource_version: "1".into(),
                namespace: Some(ns.into()),
                name: format!("{pod}.1"),
                type_: Some("Warning".into()),
                reason: Some("BackOff".into()),
                message: Some(msg.into()),
                object: ObjectRef {
                    kind: Some("Pod".into()),
                    name: Some(pod.into()),
                    namespace: Some(ns.into()),
                    ..Default::default()
                },
                count,
                first_seen: t,
                last_seen: t,
                ..Default::default()
            },
            RecordContext::default(),
        )
    }

    #[test]
    fn table_and_records() {
        let mut s = Summary::new(None);
        s.add(&occ(
            "a",
            "payments",
            "web-7f9c6d5b8-x2x4z",
            "back-off 5s \u{1b}[31m",
            4,
        ));
        s.add(&occ(
            "b",
            "payments",
            "web-7f9c6d5b8-qq9zt",
            "back-off 10s \u{1b}[31m",
            2,
        ));
        let now = DateTime::from_timestamp(1_800_000_600, 0).unwrap();
        let mut out = Vec::new();
        let cols = SummaryColumns {
            namespace: true,
            ..Default::default()
        };
        print(&mut out, &s.ranked(), OutputFormat::Table, cols, now).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "NAMESPACE   COUNT   OBJECTS   FIRST SEEN   LAST SEEN   TYPE      REASON    WORKLOAD         MESSAGE"
        );
        assert_eq!(
            lines[1],
            "payments    6       2         10m          10m         Warning   BackOff   Deployment/web   back-off 10s ^[[31m"
        );
        let mut out = Vec::new();
        print(&mut out, &s.ranked(), OutputFormat::Ndjson, cols, now).unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(r["schema"], "kev/summary/v1");
        assert_eq!(
            r["workload"],
            serde_json::json!({"kind": "Deployment", "name": "web"})
        );
        assert_eq!(r["pattern"], "back-off N \u{1b}[N");
        assert_eq!(
            (r["count"].as_i64(), r["events"].as_u64()),
            (Some(6), Some(2))
        );
        assert_eq!(r["message"], "back-off 10s \u{1b}[31m", "data, not escaped");
    }

    #[test]
    fn columns_align_by_display_width() {
        // A CJK reason, an emoji and a zero-width space (escaped) in
        // workloads' names: WORKLOAD and MESSAGE start in the same terminal
        // column on every row.
        let mut s = Summary::new(None);
        for (uid, pod, reason) in [
            ("a", "web-7f9c6d5b8-x2x4z", "BackOff"),
            ("b", "网页-7f9c6d5b8-x2x4z", "拉取镜像失败"),
            ("c", "🚀-7f9c6d5b8-x2x4z", "Crash🔥"),
            ("d", "z\u{200b}-7f9c6d5b8-x2x4z", "Zero\u{200b}Width"),
        ] {
            let mut o = occ(uid, "payments", pod, "the message", 1);
            o.event.reason = Some(reason.into());
            s.add(&o);
        }
        let now = DateTime::from_timestamp(1_800_000_600, 0).unwrap();
        let mut out = Vec::new();
        let cols = SummaryColumns::default();
        print(&mut out, &s.ranked(), OutputFormat::Table, cols, now).unwrap();
        let text = String::from_utf8(out).unwrap();
        let column_of = |line: &str, needle: &str| line[..line.find(needle).unwrap()].width();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        let (workload, message) = (
            column_of(lines[0], "WORKLOAD"),
            column_of(lines[0], "MESSAGE"),
        );
        for line in &lines[1..] {
            assert_eq!(column_of(line, "Deployment/"), workload, "\n{text}");
            assert_eq!(column_of(line, "the message"), message, "\n{text}");
        }
        assert!(text.contains("Zero\\u{200b}Width"), "{text}");
    }
}
