//! Escaping of cluster-supplied text before it reaches a terminal.
//!
//! Event messages, reasons and object names are written by whatever runs in
//! the cluster. Printed raw, an ANSI sequence can recolour, move the cursor,
//! retitle the window or hide text; a carriage return can overwrite a line;
//! bidirectional overrides can reorder what the reader sees. kubectl escapes
//! only ESC and CR; kev makes every control and bidi character visible.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal raw.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Escape `s` for display: ESC becomes `^[` (as kubectl shows it), CR, LF and
/// TAB become `\r`, `\n`, `\t`, other C0/C1 controls and DEL `\xNN` or
/// `\u{NNNN}`, and bidi controls `\u{NNNN}`. Printable text, including
/// non-ASCII, is kept as is. Borrowed when nothing needs escaping.
pub fn escape(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\x1b' => out.push_str("^["),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let n = c as u32;
                if n < 0x80 {
                    let _ = write!(out, "\\x{n:02x}");
                } else {
                    let _ = write!(out, "\\u{{{n:04x}}}");
                }
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape("Back-off restarting"), Cow::Borrowed(_)));
        assert!(matches!(escape("ünïcødé 日本語 🚀"), Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_every_control() {
        let cases = [
            ("\x1b[31mred\x1b[0m", "^[[31mred^[[0m"),
            ("a\rb", "a\\rb"),
            ("a\nb\tc", "a\\nb\\tc"),
            ("bell\x07", "bell\\x07"),
            ("nul\0", "nul\\x00"),
            ("del\x7f", "del\\x7f"),
            ("c1\u{9b}31m", "c1\\u{009b}31m"),
            ("bidi\u{202E}txt", "bidi\\u{202e}txt"),
            ("\x1b]0;title\x07", "^[]0;title\\x07"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "{input:?}");
        }
    }

    #[test]
    fn escaped_output_has_no_controls() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let out = escape(&all);
        assert!(!out.chars().any(needs_escape));
    }
}
