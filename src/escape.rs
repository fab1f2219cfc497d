//! Escaping of cluster-supplied text before it reaches a terminal.
//!
//! Event messages, reasons and object names are written by whatever runs in
//! the cluster. Printed raw, an ANSI sequence can recolour, move the cursor,
//! retitle the window or hide text; a carriage return can overwrite a line;
//! bidirectional overrides can reorder what the reader sees; and invisible
//! characters (zero-width spaces and joiners, U+2060, U+FEFF, soft hyphens,
//! tag characters) make two names that differ look the same. kubectl escapes
//! only ESC and CR; kev makes every such character visible.
//!
//! What is escaped is decided by the character's Unicode general category
//! (the `unicode-general-category` crate's Unicode 16.0 table; std's `char`
//! methods only know controls): controls (Cc), format characters (Cf, which
//! include the bidi controls), line and paragraph separators (Zl, Zp),
//! private-use (Co) and unassigned (Cn) code points. Those last two have no
//! agreed glyph: a terminal draws them as a box, as nothing, or as whatever
//! its font put there. Everything else, marks and spaces included, is kept,
//! so text in any script reads as written.
//!
//! Escaping is for the terminal formats only (`table`, `wide`). JSON, NDJSON
//! and YAML are data: serde escapes what their syntax requires and keeps
//! the rest as it came, so a consumer sees the event's exact text.

use std::borrow::Cow;
use std::fmt::Write;

use unicode_general_category::{GeneralCategory, get_general_category};

/// Whether `c` must not reach a terminal raw.
pub fn needs_escape(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            // Not a `char`, so never met; listed so that every "other"
            // category is here.
            | GeneralCategory::Surrogate
    )
}

/// Escape `s` for display: ESC becomes `^[` (as kubectl shows it), CR, LF and
/// TAB become `\r`, `\n`, `\t`, other ASCII controls and DEL `\xNN`, and every
/// other character [`needs_escape`] names `\u{NNNN}`. Printable text,
/// including non-ASCII, is kept as is. Borrowed when nothing needs escaping.
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
    use GeneralCategory as G;

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

    /// One row per general category: characters of it, whether they are
    /// escaped, and why. Each character's category is checked too, so the
    /// table says what it claims.
    const CATEGORIES: &[(GeneralCategory, &[char], bool)] = &[
        // Controls: C0, DEL, C1 (NEL, CSI).
        (
            G::Control,
            &['\0', '\x07', '\x1b', '\x7f', '\u{85}', '\u{9b}', '\u{9f}'],
            true,
        ),
        // Format characters: soft hyphen, Arabic letter mark, zero-width
        // space, non-joiner and joiner, LRM/RLM, the bidi embeddings and
        // overrides, word joiner, invisible operators, the bidi isolates,
        // BOM / zero-width no-break space, interlinear annotation, Kaithi
        // number sign, musical formatting, the tag characters.
        (
            G::Format,
            &[
                '\u{ad}',
                '\u{600}',
                '\u{61c}',
                '\u{6dd}',
                '\u{180e}',
                '\u{200b}',
                '\u{200c}',
                '\u{200d}',
                '\u{200e}',
                '\u{200f}',
                '\u{202a}',
                '\u{202e}',
                '\u{2060}',
                '\u{2062}',
                '\u{2064}',
                '\u{2066}',
                '\u{2069}',
                '\u{206f}',
                '\u{feff}',
                '\u{fff9}',
                '\u{fffa}',
                '\u{fffb}',
                '\u{110bd}',
                '\u{1d173}',
                '\u{e0001}',
                '\u{e0020}',
                '\u{e0041}',
                '\u{e007f}',
            ],
            true,
        ),
        (G::LineSeparator, &['\u{2028}'], true),
        (G::ParagraphSeparator, &['\u{2029}'], true),
        (
            G::PrivateUse,
            &[
                '\u{e000}',
                '\u{f8ff}',
                '\u{f0000}',
                '\u{ffffd}',
                '\u{100000}',
                '\u{10fffd}',
            ],
            true,
        ),
        // Unassigned, noncharacters included.
        (
            G::Unassigned,
            &[
                '\u{378}',
                '\u{fdd0}',
                '\u{fffe}',
                '\u{ffff}',
                '\u{1fffe}',
                '\u{e0000}',
                '\u{e0080}',
                '\u{10ffff}',
            ],
            true,
        ),
        // Everything a reader is meant to see is kept.
        (G::UppercaseLetter, &['A', 'Ü', 'Ж'], false),
        (G::LowercaseLetter, &['a', 'ü', 'ж'], false),
        (G::TitlecaseLetter, &['\u{1c5}'], false),
        (G::ModifierLetter, &['\u{2b0}', 'ー'], false),
        (G::OtherLetter, &['日', 'カ', 'ש', '\u{3164}'], false),
        (G::NonspacingMark, &['\u{301}', '\u{fe0f}'], false),
        (G::SpacingMark, &['\u{93e}'], false),
        (G::EnclosingMark, &['\u{20dd}'], false),
        (G::DecimalNumber, &['0', '٣'], false),
        (G::LetterNumber, &['Ⅻ'], false),
        (G::OtherNumber, &['²', '½'], false),
        (G::SpaceSeparator, &[' ', '\u{a0}', '\u{3000}'], false),
        (G::ConnectorPunctuation, &['_'], false),
        (G::DashPunctuation, &['-', '—'], false),
        (G::OpenPunctuation, &['(', '「'], false),
        (G::ClosePunctuation, &[')', '」'], false),
        (G::InitialPunctuation, &['«'], false),
        (G::FinalPunctuation, &['»'], false),
        (G::OtherPunctuation, &['.', '/', '、'], false),
        (G::MathSymbol, &['+', '∑'], false),
        (G::CurrencySymbol, &['$', '€'], false),
        (G::ModifierSymbol, &['^', '`'], false),
        (G::OtherSymbol, &['©', '🚀', '😀'], false),
    ];

    #[test]
    fn table_of_general_categories() {
        for &(category, chars, escaped) in CATEGORIES {
            for &c in chars {
                let u = c as u32;
                assert_eq!(
                    get_general_category(c),
                    category,
                    "U+{u:04X} is not {category:?}"
                );
                assert_eq!(needs_escape(c), escaped, "U+{u:04X} ({category:?})");
                let s = format!("a{c}b");
                let out = escape(&s);
                if escaped {
                    assert!(out.is_ascii(), "U+{u:04X} ({category:?}) shown as {out:?}");
                    assert!(out.starts_with('a') && out.ends_with('b'), "{out:?}");
                    assert!(out.len() > 3, "U+{u:04X} ({category:?}) kept: {out:?}");
                } else {
                    assert_eq!(out, s, "U+{u:04X} ({category:?})");
                    assert!(matches!(out, Cow::Borrowed(_)));
                }
            }
        }
    }

    #[test]
    fn escaped_forms() {
        let cases = [
            ("zero\u{200b}width", "zero\\u{200b}width"),
            ("join\u{200d}er", "join\\u{200d}er"),
            ("w\u{2060}j", "w\\u{2060}j"),
            ("\u{feff}bom", "\\u{feff}bom"),
            ("alm\u{61c}", "alm\\u{061c}"),
            ("soft\u{ad}hyphen", "soft\\u{00ad}hyphen"),
            ("tag\u{e0041}", "tag\\u{e0041}"),
            ("ia\u{fff9}x\u{fffb}", "ia\\u{fff9}x\\u{fffb}"),
            ("line\u{2028}para\u{2029}", "line\\u{2028}para\\u{2029}"),
            ("pua\u{e000}", "pua\\u{e000}"),
            ("none\u{378}", "none\\u{0378}"),
            ("nonchar\u{ffff}", "nonchar\\u{ffff}"),
            ("max\u{10ffff}", "max\\u{10ffff}"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "{input:?}");
        }
    }

    #[test]
    fn two_names_that_render_alike_are_shown_apart() {
        let plain = "web-7f9c";
        for hidden in [
            '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{ad}',
        ] {
            let lookalike = format!("web-{hidden}7f9c");
            assert_ne!(escape(&lookalike), escape(plain), "U+{:04X}", hidden as u32);
        }
    }

    /// Every code point: the escaped text holds no character that needs
    /// escaping, and a character is changed exactly when it needs escaping.
    #[test]
    fn every_code_point() {
        let mut escaped = 0u32;
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let mut buf = [0u8; 4];
            let s = c.encode_utf8(&mut buf);
            let out = escape(s);
            assert!(!out.chars().any(needs_escape), "U+{:04X}", c as u32);
            assert_eq!(out != *s, needs_escape(c), "U+{:04X}", c as u32);
            // Agrees with std where std knows: every control is escaped.
            if c.is_control() {
                assert!(needs_escape(c), "U+{:04X}", c as u32);
            }
            escaped += u32::from(needs_escape(c));
        }
        // Unicode 16.0 has about 155,000 characters; of the 1,112,064
        // chars, the rest (unassigned, private use) and the few hundred
        // controls and format characters are escaped: a table that marked
        // everything, or nothing, or only the assigned, would fail here.
        assert!(
            (900_000..1_000_000).contains(&escaped),
            "{escaped} code points escaped"
        );
    }
}
