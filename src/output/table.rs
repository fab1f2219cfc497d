//! The `table` and `wide` formats: `kubectl events` column for column.
//!
//! Columns are padded the way Go's tabwriter does for kubectl (cell width
//! plus three spaces, at least six), computed over the list batch; rows that
//! arrive later from a watch reuse those widths and grow them only when a
//! cell does not fit. Every cell is escaped first (`crate::escape`), and
//! widths are display widths (`unicode-width`: CJK and emoji take two
//! columns, combining marks none), not `char` counts, so a wide reason does
//! not push the OBJECT column out of line. kubectl's tabwriter counts
//! characters and misaligns there.

use std::borrow::Cow;
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use owo_colors::OwoColorize;
use unicode_width::UnicodeWidthStr;

use super::Printer;
use super::humanize::age;
use crate::escape::escape;
use crate::model::{Event, Occurrence};

/// Options for the table printers.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableOptions {
    /// Print the CLUSTER column first (several contexts): the record's
    /// cluster label.
    pub cluster_column: bool,
    /// Print the NAMESPACE column (with `-A`).
    pub namespace_column: bool,
    /// Omit the header line.
    pub no_headers: bool,
    /// Colour Warning rows.
    pub color: bool,
}

/// Prints `table` (kubectl's columns) or `wide`.
#[derive(Debug)]
pub struct TablePrinter {
    opts: TableOptions,
    wide: bool,
    /// `--tree` with `-o wide`: a PATH column, the owners from the root.
    paths: Option<std::sync::Arc<crate::model::owned::OwnedSet>>,
    widths: Vec<usize>,
    header_done: bool,
}

const MIN_WIDTH: usize = 6;
const PADDING: usize = 3;

/// LAST SEEN as kubectl prints it: `<age>`, or `<age> (x<count> over <age of first seen>)`.
pub fn last_seen_column(e: &Event, now: DateTime<Utc>) -> String {
    if e.count > 1 || e.series.is_some() {
        format!(
            "{} (x{} over {})",
            age(e.last_seen, now),
            e.count,
            age(e.first_seen, now)
        )
    } else {
        age(e.last_seen, now)
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

impl TablePrinter {
    /// A table printer; `wide` adds the wide columns.
    pub fn new(opts: TableOptions, wide: bool) -> Self {
        TablePrinter {
            opts,
            wide,
            paths: None,
            widths: Vec::new(),
            header_done: false,
        }
    }

    /// With `-o wide`: a PATH column after NAME, the involved object's
    /// owners from the root of `set` down to it
    /// (`Deployment/web>ReplicaSet/web-5d4f>Pod/web-5d4f-x2k9p`).
    #[must_use]
    pub fn with_paths(mut self, set: std::sync::Arc<crate::model::owned::OwnedSet>) -> Self {
        if self.wide {
            self.paths = Some(set);
        }
        self
    }

    fn header(&self) -> Vec<Cow<'static, str>> {
        let mut h: Vec<&'static str> = Vec::new();
        if self.opts.cluster_column {
            h.push("CLUSTER");
        }
        if self.opts.namespace_column {
            h.push("NAMESPACE");
        }
        if self.wide {
            h.extend([
                "LAST SEEN",
                "TYPE",
                "REASON",
                "OBJECT",
                "SUBOBJECT",
                "SOURCE",
                "FIRST SEEN",
                "COUNT",
                "NAME",
            ]);
            if self.paths.is_some() {
                h.push("PATH");
            }
            h.push("MESSAGE");
        } else {
            h.extend(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]);
        }
        h.into_iter().map(Cow::Borrowed).collect()
    }

    fn cells<'a>(&self, occ: &'a Occurrence, now: DateTime<Utc>) -> Vec<Cow<'a, str>> {
        let e = &occ.event;
        let mut c: Vec<Cow<'a, str>> = Vec::with_capacity(11);
        if self.opts.cluster_column {
            c.push(escape(opt(&occ.context.cluster)));
        }
        if self.opts.namespace_column {
            c.push(escape(opt(&e.namespace)));
        }
        let object = format!(
            "{}/{}",
            escape(opt(&e.object.kind)),
            escape(opt(&e.object.name))
        );
        if self.wide {
            c.push(Cow::Owned(age(e.last_seen, now)));
        } else {
            c.push(Cow::Owned(last_seen_column(e, now)));
        }
        c.push(escape(opt(&e.type_)));
        c.push(escape(opt(&e.reason)));
        c.push(Cow::Owned(object.clone()));
        if self.wide {
            c.push(escape(opt(&e.object.field_path)));
            let source = match (e.component(), e.host()) {
                (Some(c), Some(h)) => format!("{}, {}", escape(c), escape(h)),
                (Some(c), None) => escape(c).into_owned(),
                (None, Some(h)) => escape(h).into_owned(),
                (None, None) => String::new(),
            };
            c.push(Cow::Owned(source));
            c.push(Cow::Owned(age(e.first_seen, now)));
            c.push(Cow::Owned(e.count.to_string()));
            c.push(escape(&e.name));
            if let Some(set) = &self.paths {
                let path = e
                    .object
                    .uid
                    .as_deref()
                    .map(|u| set.path(u))
                    .unwrap_or_default();
                let text = if path.is_empty() {
                    // Matched by kind and name (no uid): the root itself.
                    object.clone()
                } else {
                    path.iter()
                        .map(|(k, n)| format!("{}/{}", escape(k), escape(n)))
                        .collect::<Vec<_>>()
                        .join(">")
                };
                c.push(Cow::Owned(text));
            }
        }
        c.push(escape(opt(&e.message).trim()));
        c
    }

    fn grow(&mut self, cells: &[Cow<'_, str>]) {
        if self.widths.len() < cells.len() {
            self.widths.resize(cells.len(), MIN_WIDTH);
        }
        // The last cell is not padded, as with tabwriter.
        for (w, cell) in self
            .widths
            .iter_mut()
            .zip(cells.iter())
            .take(cells.len().saturating_sub(1))
        {
            *w = (*w).max(cell.width() + PADDING);
        }
    }

    fn write_row(
        &self,
        out: &mut dyn Write,
        cells: &[Cow<'_, str>],
        warning: bool,
    ) -> io::Result<()> {
        let mut line = String::with_capacity(128);
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            line.push_str(cell);
            if i < last {
                let pad = self.widths[i].saturating_sub(cell.width());
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        if self.opts.color && warning {
            writeln!(out, "{}", line.yellow().bold())
        } else {
            line.push('\n');
            out.write_all(line.as_bytes())
        }
    }

    fn is_warning(e: &Event) -> bool {
        e.type_
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("warning"))
    }

    fn maybe_header(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if !self.header_done {
            self.header_done = true;
            if !self.opts.no_headers {
                let h = self.header();
                self.write_row(out, &h, false)?;
            }
        }
        Ok(())
    }
}

impl Printer for TablePrinter {
    fn print_batch(
        &mut self,
        out: &mut dyn Write,
        batch: &[&Occurrence],
        now: DateTime<Utc>,
    ) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let rows: Vec<Vec<Cow<'_, str>>> = batch.iter().map(|o| self.cells(o, now)).collect();
        if !self.opts.no_headers && !self.header_done {
            let h = self.header();
            self.grow(&h);
        }
        for r in &rows {
            self.grow(r);
        }
        self.maybe_header(out)?;
        for (occ, r) in batch.iter().zip(&rows) {
            self.write_row(out, r, Self::is_warning(&occ.event))?;
        }
        Ok(())
    }

    fn print_one(
        &mut self,
        out: &mut dyn Write,
        occ: &Occurrence,
        now: DateTime<Utc>,
    ) -> io::Result<()> {
        let cells = self.cells(occ, now);
        if !self.header_done && !self.opts.no_headers {
            let h = self.header();
            self.grow(&h);
        }
        self.grow(&cells);
        self.maybe_header(out)?;
        self.write_row(out, &cells, Self::is_warning(&occ.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecordContext;

    fn occ(bytes: &[u8]) -> Occurrence {
        Occurrence::new(Event::from_json(bytes).unwrap(), RecordContext::default())
    }

    fn now() -> DateTime<Utc> {
        "2026-11-28T09:32:00Z".parse().unwrap()
    }

    fn fixtures() -> Vec<Occurrence> {
        let mut v = vec![
            occ(include_bytes!("../../tests/fixtures/core_v1_legacy.json")),
            occ(include_bytes!("../../tests/fixtures/events_v1_series.json")),
            occ(include_bytes!("../../tests/fixtures/core_v1_series.json")),
            occ(include_bytes!("../../tests/fixtures/core_v1_node.json")),
        ];
        crate::output::sort_by_last_seen(&mut v);
        v
    }

    fn render(opts: TableOptions, wide: bool, batch: &[Occurrence]) -> String {
        let mut p = TablePrinter::new(opts, wide);
        let mut out = Vec::new();
        let refs: Vec<&Occurrence> = batch.iter().collect();
        p.print_batch(&mut out, &refs, now()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn snapshot_table_all_namespaces() {
        let got = render(
            TableOptions {
                namespace_column: true,
                ..Default::default()
            },
            false,
            &fixtures(),
        );
        let want = "\
NAMESPACE   LAST SEEN            TYPE      REASON             OBJECT                MESSAGE
default     152m                 Normal    NodeNotReady       Node/node-05          Node node-05 status is now: NodeNotReady
batch       27m (x4 over 31m)    Warning   FailedScheduling   Pod/job-abc           0/3 nodes are available: 3 Insufficient cpu.
checkout    16m (x31 over 91m)   Warning   Unhealthy          Pod/api-5d8f7         Readiness probe failed: HTTP probe failed with statuscode: 503
payments    20s (x12 over 30m)   Warning   BackOff            Pod/web-7f9c6d-x2x1   Back-off restarting failed container web in pod web-7f9c6d-x2x1_payments(0b9d8f3c-1111-4c1a-9d2e-3f4a5b6c7d8e)
";
        assert_eq!(got, want, "\n{got}");
    }

    #[test]
    fn snapshot_table_one_namespace_no_headers() {
        let batch = &fixtures()[3..];
        let got = render(
            TableOptions {
                no_headers: true,
                ..Default::default()
            },
            false,
            batch,
        );
        assert_eq!(
            got,
            "20s (x12 over 30m)   Warning   BackOff   Pod/web-7f9c6d-x2x1   Back-off restarting failed container web in pod web-7f9c6d-x2x1_payments(0b9d8f3c-1111-4c1a-9d2e-3f4a5b6c7d8e)\n"
        );
    }

    #[test]
    fn snapshot_wide() {
        let batch = &fixtures()[2..];
        let got = render(TableOptions::default(), true, batch);
        let want = "\
LAST SEEN   TYPE      REASON      OBJECT                SUBOBJECT              SOURCE             FIRST SEEN   COUNT   NAME                               MESSAGE
16m         Warning   Unhealthy   Pod/api-5d8f7         spec.containers{api}   kubelet            91m          31      api-5d8f7.17a1b2c3d4e5f777         Readiness probe failed: HTTP probe failed with statuscode: 503
20s         Warning   BackOff     Pod/web-7f9c6d-x2x1   spec.containers{web}   kubelet, node-05   30m          12      web-7f9c6d-x2x1.17a1b2c3d4e5f601   Back-off restarting failed container web in pod web-7f9c6d-x2x1_payments(0b9d8f3c-1111-4c1a-9d2e-3f4a5b6c7d8e)
";
        assert_eq!(got, want, "\n{got}");
    }

    #[test]
    fn hostile_text_is_escaped() {
        let batch = [occ(include_bytes!(
            "../../tests/fixtures/core_v1_hostile.json"
        ))];
        let got = render(
            TableOptions {
                namespace_column: true,
                ..Default::default()
            },
            false,
            &batch,
        );
        assert!(!got.contains('\x1b'), "no raw ESC");
        assert!(!got.contains('\r'));
        assert!(!got.contains('\x07'));
        assert!(!got.contains('\0'));
        assert_eq!(got.lines().count(), 2, "one header and one row");
        assert!(got.contains("Pod/pod-^[[2Jclear"), "{}", &got[..300]);
        assert!(got.contains("pull failed ^[[31mRED^[[0m\\x07 bell\\r\\ncarriage ^[]0;pwned\\x07 title; ünïcødé 日本語 🚀 tab\\there xxx"));
        assert!(got.contains("Failed^[[1m"));
        assert!(got.starts_with("NAMESPACE   LAST SEEN"));
        assert!(
            got.contains("\nns-ü       "),
            "ü is one column wide: {:?}",
            &got[..200]
        );
    }

    /// The display column (terminal cells) at which `needle` starts in `line`.
    fn column_of(line: &str, needle: &str) -> usize {
        let at = line
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} in {line:?}"));
        line[..at].width()
    }

    fn with_reason_and_name(reason: &str, name: &str) -> Occurrence {
        let mut o = fixtures().remove(3);
        o.event.reason = Some(reason.to_string());
        o.event.object.name = Some(name.to_string());
        o
    }

    #[test]
    fn columns_align_by_display_width() {
        // Wide (CJK, emoji), zero-width (a combining mark) and escaped
        // (zero-width space, shown as \u{200b}) reasons and names: every row's
        // OBJECT and MESSAGE start in the same terminal column.
        let batch = [
            with_reason_and_name("BackOff", "web-1"),
            with_reason_and_name("拉取镜像失败", "网页-1"),
            with_reason_and_name("🚀Crash🔥", "web-🚀"),
            with_reason_and_name("Cafe\u{301}", "web-e\u{301}"),
            with_reason_and_name("Zero\u{200b}Width", "web\u{200b}-1"),
        ];
        for wide in [false, true] {
            let got = render(TableOptions::default(), wide, &batch);
            let lines: Vec<&str> = got.lines().collect();
            assert_eq!(lines.len(), 6, "{got}");
            let object = column_of(lines[0], "OBJECT");
            let message = column_of(lines[0], "MESSAGE");
            for line in &lines[1..] {
                assert_eq!(column_of(line, "Pod/"), object, "wide={wide}:\n{got}");
                assert_eq!(column_of(line, "Back-off"), message, "wide={wide}:\n{got}");
            }
            assert!(got.contains("Zero\\u{200b}Width"), "{got}");
            assert!(got.contains("Pod/web\\u{200b}-1"), "{got}");
        }
        // The REASON column is as wide as its widest cell (12 columns of
        // 拉取镜像失败) plus the padding, not as its longest in chars.
        let got = render(TableOptions::default(), false, &batch);
        let header = got.lines().next().unwrap();
        assert_eq!(
            column_of(header, "OBJECT") - column_of(header, "REASON"),
            "Zero\\u{200b}Width".len() + PADDING
        );
        let got = render(TableOptions::default(), false, &batch[..2]);
        let header = got.lines().next().unwrap();
        assert_eq!(
            column_of(header, "OBJECT") - column_of(header, "REASON"),
            12 + PADDING,
            "\n{got}"
        );
    }

    #[test]
    fn colour_marks_warnings_only() {
        let got = render(
            TableOptions {
                color: true,
                ..Default::default()
            },
            false,
            &fixtures(),
        );
        let lines: Vec<&str> = got.lines().collect();
        assert!(!lines[0].contains('\x1b'), "header plain");
        assert!(!lines[1].contains('\x1b'), "Normal row plain");
        assert!(
            lines[2].starts_with("\x1b["),
            "Warning row coloured: {:?}",
            lines[2]
        );
    }

    #[test]
    fn watch_rows_reuse_widths_and_header_once() {
        let f = fixtures();
        let mut p = TablePrinter::new(TableOptions::default(), false);
        let mut out = Vec::new();
        p.print_batch(&mut out, &[&f[0]], now()).unwrap();
        p.print_one(&mut out, &f[3], now()).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s.matches("LAST SEEN").count(), 1);
        assert_eq!(s.lines().count(), 3);
    }

    #[test]
    fn series_with_count_one_shows_series_form_like_kubectl() {
        let mut e =
            Event::from_json(include_bytes!("../../tests/fixtures/events_v1_series.json")).unwrap();
        e.count = 1;
        assert_eq!(last_seen_column(&e, now()), "16m (x1 over 91m)");
        e.series = None;
        assert_eq!(last_seen_column(&e, now()), "16m");
    }
}
