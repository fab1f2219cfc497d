//! `-o yaml`: each record as a YAML document that every YAML reader loads
//! as the same data as `-o json`.
//!
//! A general YAML serializer quotes a string only when a YAML 1.2 reader
//! would take it for something else (`true`, `12`); YAML 1.1 readers
//! (PyYAML, Ruby's Psych, Go's yaml.v2, many tools built on them) also turn
//! plain `2026-11-28T09:31:40Z` into a datetime, `yes`/`on`/`n` into
//! booleans and `1:20` into the number 80. So kev writes the YAML itself:
//! a string is plain only when it is made of letters, digits and a few
//! punctuation marks and starts with a letter (and is not one of the 1.1
//! booleans or null); every other string, timestamps included, is
//! double-quoted, with escapes for whatever YAML does not allow raw (controls,
//! DEL and C1, U+2028/U+2029, U+FEFF, noncharacters), so the document also
//! never carries a raw control character to a terminal.

use std::fmt::{self, Write};

use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// The YAML document (without the `---` line) for what `value` serializes
/// to as JSON, keys in the order it writes them: block mappings and
/// sequences, two spaces of indentation.
pub fn to_yaml<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    // Through JSON text into a value that keeps the keys' order
    // (serde_json's own map sorts them).
    let json = serde_json::to_vec(value)?;
    let value: Value = serde_json::from_slice(&json)?;
    Ok(document(&value))
}

/// A JSON value with its object keys in order (also what `--list` reads
/// a raw object into, [`super::kubectl`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
                Ok(Value::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
                Ok(Value::Number(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
                Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Value::Array(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = a.next_entry()? {
                    v.push(kv);
                }
                Ok(Value::Object(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// The YAML document (without the `---` line) of `value`.
pub(crate) fn document(value: &Value) -> String {
    let mut out = String::with_capacity(1024);
    match value {
        Value::Object(m) if !m.is_empty() => mapping(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => sequence(&mut out, a, 0),
        scalar => {
            write_scalar(&mut out, scalar);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn mapping(out: &mut String, m: &[(String, Value)], at: usize) {
    for (i, (k, v)) in m.iter().enumerate() {
        // The first key of a sequence item follows its "- ".
        if i > 0 || at == 0 || !out.ends_with("- ") {
            indent(out, at);
        }
        write_str(out, k);
        out.push(':');
        value_after_key(out, v, at);
    }
}

fn sequence(out: &mut String, a: &[Value], at: usize) {
    for v in a {
        indent(out, at);
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => mapping(out, m, at + 2),
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                sequence(out, a, at + 2);
            }
            scalar => {
                write_scalar(out, scalar);
                out.push('\n');
            }
        }
    }
}

fn value_after_key(out: &mut String, v: &Value, at: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            mapping(out, m, at + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            sequence(out, a, at);
        }
        scalar => {
            out.push(' ');
            write_scalar(out, scalar);
            out.push('\n');
        }
    }
}

fn write_scalar(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_str(out, s),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

/// Plain when every YAML reader, 1.1 or 1.2, reads it back as this string.
fn is_plain(s: &str) -> bool {
    let Some(first) = s.bytes().next() else {
        return false;
    };
    first.is_ascii_alphabetic()
        && !s.ends_with(' ')
        && !s.contains("  ")
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b' ' | b'.' | b'_' | b'-' | b'/' | b'(' | b')')
        })
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        )
}

fn write_str(out: &mut String, s: &str) {
    if is_plain(s) {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_yaml_escape(c) => {
                let n = c as u32;
                if n <= 0xff {
                    let _ = write!(out, "\\x{n:02x}");
                } else {
                    let _ = write!(out, "\\u{n:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Characters a YAML stream may not hold raw (outside YAML's printable
/// set), and line breaks YAML 1.1 would fold: NEL, U+2028, U+2029.
fn needs_yaml_escape(c: char) -> bool {
    matches!(c as u32,
        0..=0x1f | 0x7f..=0x9f | 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml(v: serde_json::Value) -> String {
        to_yaml(&v).unwrap()
    }

    #[test]
    fn shapes() {
        let v = json!({
            "schema": "kev/v1", "cluster": null, "count": 12, "ok": true,
            "object": {"kind": "Pod", "name": "web-1"}, "empty": {}, "none": [],
            "list": [1, "a", {"k": "v", "j": 2}, [3]],
            "lastSeen": "2026-11-28T09:31:40.123456Z",
        });
        let want = "\
cluster: null
count: 12
empty: {}
lastSeen: \"2026-11-28T09:31:40.123456Z\"
list:
- 1
- a
- j: 2
  k: v
- 
  - 3
none: []
object:
  kind: Pod
  name: web-1
ok: true
schema: kev/v1
";
        // (serde_json's json! map sorts its keys.)
        let got = yaml(v);
        assert_eq!(got, want, "\n{got}");
    }

    #[test]
    fn strings_are_quoted_unless_every_reader_agrees() {
        for (s, want) in [
            ("BackOff", "BackOff"),
            (
                "Back-off restarting failed container",
                "Back-off restarting failed container",
            ),
            ("kev/v1", "kev/v1"),
            ("2026-11-28T09:31:40Z", "\"2026-11-28T09:31:40Z\""),
            ("2026-11-28", "\"2026-11-28\""),
            ("12345", "\"12345\""),
            ("1:20", "\"1:20\""),
            ("yes", "\"yes\""),
            ("On", "\"On\""),
            ("n", "\"n\""),
            ("null", "\"null\""),
            ("~", "\"~\""),
            ("", "\"\""),
            ("a: b", "\"a: b\""),
            ("x #c", "\"x #c\""),
            ("trailing ", "\"trailing \""),
            ("say \"hi\"\\", "\"say \\\"hi\\\"\\\\\""),
            ("l1\nl2\tt\r", "\"l1\\nl2\\tt\\r\""),
            ("esc\x1b[31m", "\"esc\\x1b[31m\""),
            (
                "nel\u{85} ls\u{2028} bom\u{feff}",
                "\"nel\\x85 ls\\u2028 bom\\ufeff\"",
            ),
            ("ünïcødé 日本語", "\"ünïcødé 日本語\""),
        ] {
            let mut out = String::new();
            write_str(&mut out, s);
            assert_eq!(out, want, "{s:?}");
        }
    }
}
