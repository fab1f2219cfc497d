//! Executing a [`Template`] over a JSON value, and printing its results
//! as kubectl prints them.
//!
//! Execution follows client-go's: each action is applied to the current
//! object and gives a list of values; a range's body is executed once per
//! value of its path, with that value as the current object. Printing
//! joins one action's values with spaces, prints objects and arrays as
//! compact JSON and everything else as text (`jsonpath-as-json`: each
//! action's values as one indented JSON array). Strings from the data are
//! escaped for the terminal, and so is what JSON would otherwise carry raw
//! (format characters, as `\uNNNN`, so the JSON stays valid); the
//! template's own text is the user's and printed as written.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde::ser::{Serialize, SerializeSeq, Serializer};
use serde_json::Value;

use super::parse::{Node, Op, Slice, Step, Template};

/// One result: a value of the data, or a constant of the template.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Val<'a> {
    /// A value of the data.
    Data(&'a Value),
    /// A quoted literal or text of the template.
    Lit(&'a str),
    /// An integer constant (or a byte of a string, as client-go's `*` gives).
    Int(i64),
    /// A floating-point constant.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
}

/// The results of executing a template: one list per action (and per
/// piece of text), in order.
pub(super) type Results<'a> = Vec<Vec<Val<'a>>>;

/// Execute `template` over `root`. A missing field gives no value, or,
/// without `allow_missing`, the error `NAME is not found` (kubectl's
/// `--allow-missing-template-keys=false`).
pub(super) fn execute<'a>(
    template: &'a Template,
    root: &'a Value,
    allow_missing: bool,
) -> Result<Results<'a>, String> {
    let mut out = Vec::new();
    Exec { allow_missing }.nodes(&template.nodes, Val::Data(root), &mut out)?;
    Ok(out)
}

struct Exec {
    allow_missing: bool,
}

impl Exec {
    fn nodes<'a>(
        &self,
        nodes: &'a [Node],
        cur: Val<'a>,
        out: &mut Results<'a>,
    ) -> Result<(), String> {
        for node in nodes {
            match node {
                Node::Text(text) => out.push(vec![Val::Lit(text)]),
                Node::Action(steps) => out.push(self.steps(vec![cur], steps)?),
                Node::Range { path, body } => {
                    for value in self.steps(vec![cur], path)? {
                        self.nodes(body, value, out)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn steps<'a>(
        &self,
        mut values: Vec<Val<'a>>,
        steps: &'a [Step],
    ) -> Result<Vec<Val<'a>>, String> {
        for step in steps {
            values = self.step(values, step)?;
        }
        Ok(values)
    }

    fn step<'a>(&self, input: Vec<Val<'a>>, step: &'a Step) -> Result<Vec<Val<'a>>, String> {
        match step {
            Step::Field(name) => {
                if input.is_empty() {
                    return Ok(input);
                }
                let found: Vec<Val<'a>> = input
                    .iter()
                    .filter_map(|v| match v {
                        Val::Data(Value::Object(m)) => m.get(name.as_str()).map(Val::Data),
                        _ => None,
                    })
                    .collect();
                if found.is_empty() && !self.allow_missing {
                    return Err(format!("{name} is not found"));
                }
                Ok(found)
            }
            Step::Wildcard => Ok(input.into_iter().flat_map(children).collect()),
            Step::Recursive => {
                let mut out = Vec::new();
                descend(input, &mut out);
                Ok(out)
            }
            Step::Slice(slice) => {
                let mut out = Vec::new();
                for value in input {
                    match value {
                        Val::Data(Value::Null) => {}
                        Val::Data(Value::Array(items)) => subscript(items, *slice, &mut out)?,
                        other => return Err(format!("{} is not an array", describe(other))),
                    }
                }
                Ok(out)
            }
            Step::Union(alternatives) => {
                let mut out = Vec::new();
                for alternative in alternatives {
                    out.extend(self.steps(input.clone(), alternative)?);
                }
                Ok(out)
            }
            Step::Filter { left, op, right } => {
                let mut out = Vec::new();
                for value in input {
                    let Val::Data(Value::Array(items)) = value else {
                        return Err(format!(
                            "{} is not an array and cannot be filtered",
                            describe(value)
                        ));
                    };
                    for item in items {
                        if self.keep(Val::Data(item), left, *op, right)? {
                            out.push(Val::Data(item));
                        }
                    }
                }
                Ok(out)
            }
            Step::Text(text) => Ok(vec![Val::Lit(text)]),
            Step::Int(n) => Ok(vec![Val::Int(*n); input.len()]),
            Step::Float(f) => Ok(vec![Val::Float(*f); input.len()]),
            Step::Bool(b) => Ok(vec![Val::Bool(*b); input.len()]),
        }
    }

    /// Whether a filter keeps `item`.
    fn keep<'a>(
        &self,
        item: Val<'a>,
        left: &'a [Step],
        op: Op,
        right: &'a [Step],
    ) -> Result<bool, String> {
        let lefts = self.steps(vec![item], left);
        if op == Op::Exists {
            return Ok(lefts.is_ok_and(|l| !l.is_empty()));
        }
        let Some(l) = single(lefts?)? else {
            return Ok(false);
        };
        let Some(r) = single(self.steps(vec![item], right)?)? else {
            return Ok(false);
        };
        compare(l, op, r)
    }
}

/// The one value a filter's side gave; none (missing) keeps nothing.
fn single(values: Vec<Val<'_>>) -> Result<Option<Val<'_>>, String> {
    match values.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err("can only compare one element at a time".to_string()),
    }
}

/// The members of an object (in key order), the elements of an array, the
/// bytes of a string (as client-go gives them).
fn children(value: Val<'_>) -> Vec<Val<'_>> {
    match value {
        Val::Data(Value::Object(m)) => m.values().map(Val::Data).collect(),
        Val::Data(Value::Array(a)) => a.iter().map(Val::Data).collect(),
        Val::Data(Value::String(s)) => s.bytes().map(|b| Val::Int(b.into())).collect(),
        Val::Lit(s) => s.bytes().map(|b| Val::Int(b.into())).collect(),
        _ => Vec::new(),
    }
}

/// `..`: each value that has children, then everything under it.
fn descend<'a>(input: Vec<Val<'a>>, out: &mut Vec<Val<'a>>) {
    for value in input {
        let below = children(value);
        if !below.is_empty() {
            out.push(value);
            descend(below, out);
        }
    }
}

/// `[start:end:step]` of one array, with client-go's bounds.
fn subscript<'a>(items: &'a [Value], s: Slice, out: &mut Vec<Val<'a>>) -> Result<(), String> {
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let mut start = s.start.unwrap_or(0);
    if start < 0 {
        start += len;
    }
    let mut end = s.end.unwrap_or(len);
    if end < 0 || (end == 0 && s.end_derived) {
        end += len;
    }
    if end == start {
        return Ok(());
    }
    if start >= len || start < 0 {
        return Err(format!(
            "array index out of bounds: index {start}, length {len}"
        ));
    }
    if end > len || end < 0 {
        return Err(format!(
            "array index out of bounds: index {}, length {len}",
            end - 1
        ));
    }
    if start > end {
        return Err(format!(
            "starting index {start} is greater than ending index {end}"
        ));
    }
    let step = match s.step {
        Some(n) if n <= 0 => return Err("step must be > 0".to_string()),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => 1,
    };
    // In bounds: 0 <= start < end <= len.
    let (start, end) = (start as usize, end as usize);
    out.extend(items[start..end].iter().step_by(step).map(Val::Data));
    Ok(())
}

fn describe(value: Val<'_>) -> &'static str {
    match value {
        Val::Data(Value::Object(_)) => "an object",
        Val::Data(Value::Array(_)) => "an array",
        Val::Data(Value::String(_)) | Val::Lit(_) => "a string",
        Val::Data(Value::Number(_)) | Val::Int(_) | Val::Float(_) => "a number",
        Val::Data(Value::Bool(_)) | Val::Bool(_) => "a boolean",
        Val::Data(Value::Null) => "null",
    }
}

/// A value as a filter compares it.
enum Basic<'a> {
    Int(i128),
    Float(f64),
    Str(&'a str),
    Bool(bool),
}

fn basic(value: Val<'_>) -> Result<Basic<'_>, String> {
    Ok(match value {
        Val::Data(Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Basic::Int(i.into()),
            (None, Some(u)) => Basic::Int(u.into()),
            _ => Basic::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Val::Data(Value::String(s)) => Basic::Str(s),
        Val::Lit(s) => Basic::Str(s),
        Val::Data(Value::Bool(b)) => Basic::Bool(*b),
        Val::Bool(b) => Basic::Bool(b),
        Val::Int(i) => Basic::Int(i.into()),
        Val::Float(f) => Basic::Float(f),
        other => {
            return Err(format!("invalid type for comparison: {}", describe(other)));
        }
    })
}

/// Go's `text/template` comparisons (kubectl's), except that an integer
/// and a float compare as numbers (kubectl: "incompatible types").
fn compare(left: Val<'_>, op: Op, right: Val<'_>) -> Result<bool, String> {
    let order = match (basic(left)?, basic(right)?) {
        (Basic::Int(a), Basic::Int(b)) => a.cmp(&b),
        (Basic::Int(a), Basic::Float(b)) => (a as f64).partial_cmp(&b).unwrap_or(Ordering::Less),
        (Basic::Float(a), Basic::Int(b)) => a.partial_cmp(&(b as f64)).unwrap_or(Ordering::Less),
        (Basic::Float(a), Basic::Float(b)) => {
            if a.is_nan() || b.is_nan() {
                return Ok(op == Op::Ne);
            }
            a.partial_cmp(&b).unwrap_or(Ordering::Less)
        }
        (Basic::Str(a), Basic::Str(b)) => a.cmp(b),
        (Basic::Bool(a), Basic::Bool(b)) => {
            return match op {
                Op::Eq => Ok(a == b),
                Op::Ne => Ok(a != b),
                _ => Err(
                    "invalid type for comparison: a boolean is neither less nor greater"
                        .to_string(),
                ),
            };
        }
        _ => {
            return Err(format!(
                "incompatible types for comparison: {} and {}",
                describe(left),
                describe(right)
            ));
        }
    };
    Ok(match op {
        Op::Eq => order == Ordering::Equal,
        Op::Ne => order != Ordering::Equal,
        Op::Lt => order == Ordering::Less,
        Op::Le => order != Ordering::Greater,
        Op::Gt => order == Ordering::Greater,
        Op::Ge => order != Ordering::Less,
        Op::Exists => true,
    })
}

/// Print `results` as kubectl does: each action's values joined with
/// spaces, or (`as_json`) each as an indented JSON array on its own lines.
pub(super) fn print(results: &Results<'_>, as_json: bool, out: &mut String) {
    for values in results {
        if as_json {
            let mut bytes = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(
                &mut bytes,
                serde_json::ser::PrettyFormatter::with_indent(b"    "),
            );
            // Serializing values already in memory cannot fail (a NaN
            // constant is written as null).
            let _ = Group(values).serialize(&mut ser);
            safe_json(&String::from_utf8_lossy(&bytes), out);
            out.push('\n');
            continue;
        }
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            text(*value, out);
        }
    }
}

/// One value as text.
fn text(value: Val<'_>, out: &mut String) {
    match value {
        Val::Data(v @ (Value::Object(_) | Value::Array(_))) => {
            safe_json(&serde_json::to_string(v).unwrap_or_default(), out);
        }
        Val::Data(Value::String(s)) => out.push_str(&crate::escape::escape(s)),
        Val::Data(Value::Number(n)) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => go_float(f, out),
            _ => {
                let _ = write!(out, "{n}");
            }
        },
        Val::Data(Value::Bool(b)) => {
            let _ = write!(out, "{b}");
        }
        Val::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Val::Data(Value::Null) => out.push_str("null"),
        Val::Lit(s) => out.push_str(s),
        Val::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Val::Float(f) => go_float(f, out),
    }
}

/// JSON text with every character a terminal must not get raw written as
/// a `\uNNNN` escape. JSON already escapes controls inside strings, and
/// outside strings there is only ASCII, so the text stays valid JSON with
/// the same value.
fn safe_json(json: &str, out: &mut String) {
    for c in json.chars() {
        if !c.is_ascii() && crate::escape::needs_escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
}

/// A float as Go's `%v` prints it: the shortest digits, with an exponent
/// (`1e+06`) below 1e-4 and from 1e6 on.
pub(super) fn go_float(f: f64, out: &mut String) {
    if !f.is_finite() {
        out.push_str(if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        });
        return;
    }
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        let _ = write!(out, "{f}");
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "{mantissa}e{sign}{:02}", exp.unsigned_abs());
    }
}

/// One action's values as a JSON array.
struct Group<'r, 'a>(&'r [Val<'a>]);

impl Serialize for Group<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for value in self.0 {
            match value {
                Val::Data(v) => seq.serialize_element(v)?,
                Val::Lit(t) => seq.serialize_element(t)?,
                Val::Int(i) => seq.serialize_element(i)?,
                Val::Float(f) if f.is_finite() => seq.serialize_element(f)?,
                Val::Float(_) => seq.serialize_element(&())?,
                Val::Bool(b) => seq.serialize_element(b)?,
            }
        }
        seq.end()
    }
}
