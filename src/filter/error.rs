//! [`FilterError`]: what went wrong in an expression or a filter flag, and where.
//!
//! An error keeps the text it is about, so it can point at the offending
//! column on its own: `Display` gives a one-line message with the column,
//! [`FilterError::render`] the message followed by the text and a caret line.

use std::fmt::Write as _;

use super::ast::Span;

/// A filter that cannot be parsed or compiled. A usage error: kev exits 2.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.summary())]
pub struct FilterError {
    /// What is wrong, e.g. `invalid regex: unclosed group`.
    pub message: String,
    /// Where the text came from: `expression` for positional words or a
    /// config `filter:`, else the flag (`--match`, `--since`, ...).
    pub origin: String,
    /// The text the span points into.
    pub text: String,
    /// The offending bytes of `text`.
    pub span: Span,
}

/// Where [`FilterError::origin`] names a filter expression.
pub const EXPRESSION: &str = "expression";

impl FilterError {
    /// An error in `text` (from `origin`) at `span`.
    pub fn new(message: impl Into<String>, origin: &str, text: &str, span: Span) -> FilterError {
        FilterError {
            message: message.into(),
            origin: origin.to_string(),
            text: text.to_string(),
            span,
        }
    }

    /// 1-based line and character column of the span's start.
    pub fn line_column(&self) -> (usize, usize) {
        let start = floor_char_boundary(&self.text, self.span.start);
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// 1-based character column of the span's start (on its line).
    pub fn column(&self) -> usize {
        self.line_column().1
    }

    fn summary(&self) -> String {
        let (line, column) = self.line_column();
        let at = if self.text.contains('\n') {
            format!("line {line}, column {column}")
        } else {
            format!("column {column}")
        };
        if self.origin == EXPRESSION {
            format!("{} (at {at})", self.message)
        } else {
            format!("{}: {} (at {at})", self.origin, self.message)
        }
    }

    /// The message, then the offending line of the text and a caret line
    /// under the span:
    ///
    /// ```text
    /// invalid regex: unclosed group (at column 9)
    ///   reason=~"(Back"
    ///           ^^^^^^^
    /// ```
    ///
    /// Control characters in the text are shown as `?` so the carets line up
    /// and nothing reaches the terminal raw.
    pub fn render(&self) -> String {
        let start = floor_char_boundary(&self.text, self.span.start);
        let end = floor_char_boundary(&self.text, self.span.end.max(start));
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let line = &self.text[line_start..line_end];
        let mut out = format!("{self}\n  ");
        let mut carets = String::from("  ");
        for (i, c) in line.char_indices() {
            let at = line_start + i;
            let shown = if c == '\t' {
                '\t'
            } else if c.is_control() {
                '?'
            } else {
                c
            };
            out.push(shown);
            if at < start {
                carets.push(if c == '\t' { '\t' } else { ' ' });
            } else if at < end.max(start + 1) {
                carets.push('^');
            }
        }
        if start >= line_end {
            // The span is at the end of the text ("expected a value, found the end").
            carets.push('^');
        }
        let _ = write!(out, "\n{}", carets.trim_end());
        out
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_points_at_the_span() {
        let e = FilterError::new(
            "invalid regex: unclosed group",
            EXPRESSION,
            r#"reason=~"(Back""#,
            Span::new(8, 15),
        );
        assert_eq!(e.to_string(), "invalid regex: unclosed group (at column 9)");
        assert_eq!(
            e.render(),
            "invalid regex: unclosed group (at column 9)\n  reason=~\"(Back\"\n          ^^^^^^^"
        );
    }

    #[test]
    fn render_at_end_of_text() {
        let e = FilterError::new("expected a value", EXPRESSION, "type=", Span::new(5, 5));
        assert_eq!(
            e.render(),
            "expected a value (at column 6)\n  type=\n       ^"
        );
    }

    #[test]
    fn columns_count_characters_and_lines() {
        let e = FilterError::new("x", EXPRESSION, "ns=ü\nreason=(", Span::new(13, 14));
        assert_eq!(e.line_column(), (2, 8));
        assert_eq!(e.to_string(), "x (at line 2, column 8)");
        assert_eq!(
            e.render(),
            "x (at line 2, column 8)\n  reason=(\n         ^"
        );
        let e = FilterError::new("bad", "--match", "ab\u{1b}c", Span::new(2, 3));
        assert_eq!(e.render(), "--match: bad (at column 3)\n  ab?c\n    ^");
    }
}
