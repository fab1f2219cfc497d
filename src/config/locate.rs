//! Where a setting is in a YAML file, for error messages.
//!
//! serde reports a typo in a sink's settings at the start of the sink's
//! entry, or not at all (settings checked after parsing: a filter that does
//! not compile, a URL that does not parse). [`Locator`] finds the line and
//! column of a key path such as `sinks[1].filter` by reading the block
//! structure of the text: indentation, `key:` lines and `- ` list items. A
//! flow-style entry (`- {name: a, filter: "x"}`) is searched on its line. It
//! is a best effort for messages; when a path cannot be found, the nearest
//! enclosing one is reported.

/// One step of a path: a mapping key or a list index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// A key.
    Key(&'a str),
    /// A list index.
    Index(usize),
}

/// Finds key paths in a YAML text.
#[derive(Debug)]
pub struct Locator<'a> {
    lines: Vec<&'a str>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

impl<'a> Locator<'a> {
    /// A locator over `text`.
    pub fn new(text: &'a str) -> Locator<'a> {
        Locator {
            lines: text.lines().collect(),
        }
    }

    /// 1-based (line, column) of `path`, or of the longest prefix of it
    /// that could be found; `None` if not even its first step is there.
    pub fn find(&self, path: &[Step<'_>]) -> Option<(usize, usize)> {
        // (line index, column) of the current node's first character, and
        // the indentation its children are deeper than.
        let mut found: Option<(usize, usize)> = None;
        let mut start = 0usize;
        let mut end = self.lines.len();
        let mut min_indent: Option<usize> = None;
        for step in path {
            let next = match step {
                Step::Key(k) => self.find_key(k, start, end, min_indent),
                Step::Index(i) => self.find_item(*i, start, end, min_indent),
            };
            let Some((line, col)) = next else { break };
            found = Some((line, col));
            // A flow entry on one line: the rest of the path is on it.
            if let Some(rest) = self.lines[line].get(col..)
                && (rest.trim_start_matches(['-', ' ']).starts_with('{') || rest.contains(": {"))
            {
                return Some(
                    self.find_in_flow(
                        line,
                        col,
                        &path[path.iter().position(|s| s == step).unwrap_or(0) + 1..],
                    )
                    .unwrap_or((line + 1, col + 1)),
                );
            }
            min_indent = Some(col);
            start = line + 1;
            // The node ends where a line is not deeper than it.
            end = (start..self.lines.len())
                .find(|&l| !is_blank(self.lines[l]) && indent(self.lines[l]) <= col)
                .unwrap_or(self.lines.len());
            if let Step::Index(_) = step {
                // A list item's keys may start on the item's own line.
                start = line;
                min_indent = Some(col);
            }
        }
        found.map(|(l, c)| (l + 1, c + 1))
    }

    /// 1-based (line, column) of `key:` anywhere inside the node at `path`
    /// (at any depth, block or flow style): where serde names a key but not
    /// the path to it (an unknown key in a nested mapping of a sink).
    pub fn find_nested(&self, path: &[Step<'_>], key: &str) -> Option<(usize, usize)> {
        let (line, col) = self.find(path)?;
        let (first, col) = (line - 1, col - 1);
        let end = (first + 1..self.lines.len())
            .find(|&l| !is_blank(self.lines[l]) && indent(self.lines[l]) <= col)
            .unwrap_or(self.lines.len());
        let want = format!("{key}:");
        for l in first..end {
            let text = self.lines[l];
            let from = if l == first { col } else { 0 };
            let mut search = from;
            while let Some(i) = text.get(search..).and_then(|t| t.find(&want)) {
                let at = search + i;
                let before = text[..at].chars().next_back();
                if before.is_none_or(|c| matches!(c, ' ' | '{' | ',' | '-')) {
                    return Some((l + 1, at + 1));
                }
                search = at + want.len();
            }
        }
        None
    }

    fn find_key(
        &self,
        key: &str,
        start: usize,
        end: usize,
        deeper_than: Option<usize>,
    ) -> Option<(usize, usize)> {
        let want = format!("{key}:");
        for l in start..end {
            let line = self.lines[l];
            if is_blank(line) {
                continue;
            }
            // A key of this node: after the indentation, or after the `- `
            // of the list item that holds it.
            let mut at = indent(line);
            let rest = &line[at..];
            let rest = if let Some(r) = rest.strip_prefix("- ") {
                at += 2;
                r
            } else {
                rest
            };
            if deeper_than.is_some_and(|d| at <= d) && !line[..at].contains('-') {
                continue;
            }
            if rest.starts_with(&want) || rest.starts_with(&format!("\"{key}\":")) {
                return Some((l, at));
            }
        }
        None
    }

    fn find_item(
        &self,
        index: usize,
        start: usize,
        end: usize,
        deeper_than: Option<usize>,
    ) -> Option<(usize, usize)> {
        let mut seen = 0usize;
        let mut item_indent = None;
        for l in start..end {
            let line = self.lines[l];
            if is_blank(line) {
                continue;
            }
            let at = indent(line);
            if !line[at..].starts_with('-') || deeper_than.is_some_and(|d| at < d) {
                continue;
            }
            match item_indent {
                None => item_indent = Some(at),
                Some(i) if i != at => continue,
                Some(_) => {}
            }
            if seen == index {
                return Some((l, at));
            }
            seen += 1;
        }
        None
    }

    fn find_in_flow(&self, line: usize, from: usize, rest: &[Step<'_>]) -> Option<(usize, usize)> {
        let text = self.lines[line];
        let mut best = None;
        let mut pos = from;
        for step in rest {
            if let Step::Key(k) = step {
                let hay = &text[pos..];
                let found = [
                    format!("{{{k}:"),
                    format!(", {k}:"),
                    format!(",{k}:"),
                    format!("{{ {k}:"),
                ]
                .iter()
                .filter_map(|p| hay.find(p.as_str()).map(|i| i + p.find(k).unwrap_or(0)))
                .min()?;
                pos += found;
                best = Some((line + 1, pos + 1));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
cluster: prod-eu
source: {namespaces: [all], stateFile: /var/lib/kev/state.json}
filter: \"not reason in (Pulled)\"
sinks:
  - name: archive
    type: ndjson
    path: /var/log/kev/events.ndjson
    rotate:
      maxBytes: 100MiB
  # a comment
  - {name: oncall, type: webhook, url: \"${ONCALL_URL}\", filter: \"type=Warning\"}
  -
    name: search
    type: webhook
metrics:
  listen: 127.0.0.1:9464
";

    fn at(path: &[Step<'_>]) -> Option<(usize, usize)> {
        Locator::new(TEXT).find(path)
    }

    #[test]
    fn block_keys_and_items() {
        use Step::*;
        assert_eq!(at(&[Key("filter")]), Some((3, 1)));
        assert_eq!(at(&[Key("sinks"), Index(0)]), Some((5, 3)));
        assert_eq!(at(&[Key("sinks"), Index(0), Key("name")]), Some((5, 5)));
        assert_eq!(at(&[Key("sinks"), Index(0), Key("path")]), Some((7, 5)));
        assert_eq!(
            at(&[Key("sinks"), Index(0), Key("rotate"), Key("maxBytes")]),
            Some((9, 7))
        );
        assert_eq!(at(&[Key("sinks"), Index(2), Key("type")]), Some((14, 5)));
        assert_eq!(at(&[Key("metrics"), Key("listen")]), Some((16, 3)));
    }

    #[test]
    fn flow_entries() {
        use Step::*;
        assert_eq!(at(&[Key("sinks"), Index(1), Key("filter")]), Some((11, 57)));
        assert_eq!(at(&[Key("source"), Key("stateFile")]), Some((2, 29)));
    }

    #[test]
    fn missing_parts_give_the_nearest_enclosing_node() {
        use Step::*;
        assert_eq!(at(&[Key("sinks"), Index(0), Key("nope")]), Some((5, 3)));
        assert_eq!(at(&[Key("nope")]), None);
    }
}
