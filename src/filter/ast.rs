//! The filter language's syntax tree, and its canonical printed form.
//!
//! [`Expr`] is what the parser produces and what the compiler
//! ([`super::eval`]) and the pushdown planner ([`super::pushdown`]) consume.
//! Values are kept as written (strings); what they mean for a field (an
//! integer for `count`, a duration for `age`, a glob or a regex) is decided
//! when the expression is compiled, so the tree prints back exactly.
//!
//! `Display` prints a canonical form that parses back to the same tree:
//! lowercase keywords, canonical field names (`namespace`, not `ns`), no
//! spaces around operators, values quoted only when they must be, and
//! parentheses exactly where the tree nests.

use std::fmt;

use chrono::{DateTime, Utc};

/// A byte range in the text an expression was parsed from.
///
/// Spans say *where* something was written, not *what* it is: two spans are
/// always equal, so two trees that differ only in layout compare equal
/// (`type=Warning` and `type = Warning` parse to equal trees).
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The span `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

/// A field an expression can test. See docs/filter.md for what each means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `type`: `Normal` or `Warning`; compared case-insensitively.
    Type,
    /// `reason`.
    Reason,
    /// `kind` of the involved object.
    Kind,
    /// `name` of the involved object.
    Name,
    /// `namespace` (alias `ns`): the event's own namespace.
    Namespace,
    /// `object`: `Kind/name` of the involved object.
    Object,
    /// `message` (alias `msg`).
    Message,
    /// `component`: `source.component`, else `reportingController`.
    Component,
    /// `host`: `source.host`.
    Host,
    /// `instance`: `reportingInstance`.
    Instance,
    /// `action`.
    Action,
    /// `apiVersion` of the involved object.
    ApiVersion,
    /// `fieldPath` of the involved object.
    FieldPath,
    /// `uid` of the event.
    Uid,
    /// `count`: an integer.
    Count,
    /// `age`: now − last seen, a duration.
    Age,
}

/// What kind of value a field holds, which decides the operators it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// Text: `=`, `!=` (with `*` globs), `in`, `=~`, `!~`.
    String,
    /// An integer: every comparison and `in`.
    Integer,
    /// A duration: every comparison and `in`.
    Duration,
}

impl Field {
    /// Every field, in the order the docs list them.
    pub const ALL: [Field; 16] = [
        Field::Type,
        Field::Reason,
        Field::Kind,
        Field::Name,
        Field::Namespace,
        Field::Object,
        Field::Message,
        Field::Component,
        Field::Host,
        Field::Instance,
        Field::Action,
        Field::ApiVersion,
        Field::FieldPath,
        Field::Uid,
        Field::Count,
        Field::Age,
    ];

    /// The canonical name, as printed.
    pub fn name(self) -> &'static str {
        match self {
            Field::Type => "type",
            Field::Reason => "reason",
            Field::Kind => "kind",
            Field::Name => "name",
            Field::Namespace => "namespace",
            Field::Object => "object",
            Field::Message => "message",
            Field::Component => "component",
            Field::Host => "host",
            Field::Instance => "instance",
            Field::Action => "action",
            Field::ApiVersion => "apiVersion",
            Field::FieldPath => "fieldPath",
            Field::Uid => "uid",
            Field::Count => "count",
            Field::Age => "age",
        }
    }

    /// The short alias, if the field has one (`ns`, `msg`).
    pub fn alias(self) -> Option<&'static str> {
        match self {
            Field::Namespace => Some("ns"),
            Field::Message => Some("msg"),
            _ => None,
        }
    }

    /// Look a field up by name or alias, ignoring ASCII case (`apiversion`
    /// and `Type` are accepted; the canonical spelling is what prints).
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| {
            f.name().eq_ignore_ascii_case(name)
                || f.alias().is_some_and(|a| a.eq_ignore_ascii_case(name))
        })
    }

    /// The kind of value the field holds.
    pub fn field_type(self) -> FieldType {
        match self {
            Field::Count => FieldType::Integer,
            Field::Age => FieldType::Duration,
            _ => FieldType::String,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=` (also accepted: `==`).
    Eq,
    /// `!=`.
    Ne,
    /// `=~`: the regex matches somewhere in the value.
    Match,
    /// `!~`: the regex matches nowhere in the value.
    NotMatch,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
}

impl Op {
    /// Every operator.
    pub const ALL: [Op; 8] = [
        Op::Eq,
        Op::Ne,
        Op::Match,
        Op::NotMatch,
        Op::Gt,
        Op::Ge,
        Op::Lt,
        Op::Le,
    ];

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Match => "=~",
            Op::NotMatch => "!~",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }

    /// Whether this is an ordering operator (`>`, `>=`, `<`, `<=`).
    pub fn is_ordering(self) -> bool {
        matches!(self, Op::Gt | Op::Ge | Op::Lt | Op::Le)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value as written, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// The text after unquoting.
    pub text: String,
    /// Where it was written (including quotes).
    pub span: Span,
}

impl Value {
    /// A value with an empty span, for trees built in code.
    pub fn new(text: impl Into<String>) -> Value {
        Value {
            text: text.into(),
            span: Span::default(),
        }
    }
}

/// The set a [`Predicate::Owned`] matches against (shared: the source adds
/// children as it learns of them). Equal when it is the same set.
#[derive(Clone, Debug)]
pub struct Owned(pub std::sync::Arc<crate::model::owned::OwnedSet>);

impl PartialEq for Owned {
    fn eq(&self, other: &Owned) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Owned {}

/// Which side of a point in time a [`Predicate::LastSeen`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeSide {
    /// Last seen at or after the time (`--since RFC3339`).
    AtOrAfter,
    /// Last seen at or before the time (`--until RFC3339`).
    AtOrBefore,
}

/// One test of one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Predicate {
    /// `FIELD OP VALUE`.
    Compare {
        /// The field.
        field: Field,
        /// Where the field name was written.
        field_span: Span,
        /// The operator.
        op: Op,
        /// The value.
        value: Value,
    },
    /// `FIELD in (VALUE, ...)`: `=` against any of the values.
    In {
        /// The field.
        field: Field,
        /// Where the field name was written.
        field_span: Span,
        /// The values (at least one).
        values: Vec<Value>,
    },
    /// Last seen compared with an absolute time. The surface syntax has no
    /// such predicate: only `--since`/`--until` with an RFC 3339 time make
    /// one. It prints as `lastSeen>=TIME` / `lastSeen<=TIME`, which the
    /// parser rejects (it is not a field).
    LastSeen {
        /// Which side of `at` is kept.
        side: TimeSide,
        /// The time.
        at: DateTime<Utc>,
    },
    /// The involved object is in an owned set (`--for KIND/NAME --tree`).
    /// Not in the surface syntax either; it prints as `ownedBy=Kind/name`,
    /// which the parser rejects.
    Owned(Owned),
}

/// A filter expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// Any of the terms (two or more).
    Or(Vec<Expr>),
    /// All of the terms (two or more).
    And(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// A predicate.
    Pred(Predicate),
}

impl Expr {
    /// The conjunction of `terms`: the single term itself when there is one,
    /// `None` when there are none. Nested `And`s are flattened into one.
    pub fn and_all(terms: impl IntoIterator<Item = Expr>) -> Option<Expr> {
        let mut flat = Vec::new();
        for t in terms {
            match t {
                Expr::And(inner) => flat.extend(inner),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => None,
            1 => flat.pop(),
            _ => Some(Expr::And(flat)),
        }
    }

    /// The depth of the tree (a predicate is 1).
    pub fn depth(&self) -> usize {
        match self {
            Expr::Or(ts) | Expr::And(ts) => 1 + ts.iter().map(Expr::depth).max().unwrap_or(0),
            Expr::Not(e) => 1 + e.depth(),
            Expr::Pred(_) => 1,
        }
    }
}

/// Whether `c` may appear in a bare (unquoted) word.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '*' | '-')
}

/// Write a value bare when it can be, else double-quoted with the escapes the
/// lexer understands. A backslash is escaped only where leaving it alone
/// would change the meaning (before a quote, a backslash, or at the end), so
/// regexes such as `\d+` print as written.
pub fn write_value(f: &mut impl fmt::Write, v: &str) -> fmt::Result {
    if !v.is_empty() && v.chars().all(is_word_char) {
        return f.write_str(v);
    }
    f.write_char('"')?;
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => match chars.peek() {
                None | Some('"') | Some('\'') | Some('\\') => f.write_str("\\\\")?,
                Some(_) => f.write_char('\\')?,
            },
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Predicate::Compare {
                field, op, value, ..
            } => {
                write!(f, "{field}{op}")?;
                write_value(f, &value.text)
            }
            Predicate::In { field, values, .. } => {
                write!(f, "{field} in (")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_value(f, &v.text)?;
                }
                f.write_str(")")
            }
            Predicate::Owned(o) => write!(f, "ownedBy={}", o.0.root()),
            Predicate::LastSeen { side, at } => {
                let op = match side {
                    TimeSide::AtOrAfter => ">=",
                    TimeSide::AtOrBefore => "<=",
                };
                write!(f, "lastSeen{op}{}", crate::model::time_serde::format(at))
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn child(f: &mut fmt::Formatter<'_>, e: &Expr, parens: bool) -> fmt::Result {
            if parens {
                write!(f, "({e})")
            } else {
                write!(f, "{e}")
            }
        }
        match self {
            Expr::Or(ts) => {
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    child(f, t, matches!(t, Expr::Or(_)))?;
                }
                Ok(())
            }
            Expr::And(ts) => {
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    child(f, t, matches!(t, Expr::Or(_) | Expr::And(_)))?;
                }
                Ok(())
            }
            Expr::Not(e) => {
                f.write_str("not ")?;
                child(f, e, matches!(**e, Expr::Or(_) | Expr::And(_)))
            }
            Expr::Pred(p) => write!(f, "{p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        let mut out = String::new();
        write_value(&mut out, v).unwrap();
        out
    }

    #[test]
    fn values_are_quoted_only_when_needed() {
        assert_eq!(s("Warning"), "Warning");
        assert_eq!(s("Pod/web-1"), "Pod/web-1");
        assert_eq!(s("Back*"), "Back*");
        assert_eq!(s(""), r#""""#);
        assert_eq!(s("a b"), r#""a b""#);
        assert_eq!(s(r"\d+"), r#""\d+""#);
        assert_eq!(s(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(s(r"end\"), r#""end\\""#);
        assert_eq!(s(r"a\\b"), r#""a\\\b""#);
        assert_eq!(s("ns-ü"), "ns-ü");
    }

    #[test]
    fn field_names_and_aliases() {
        assert_eq!(Field::from_name("ns"), Some(Field::Namespace));
        assert_eq!(Field::from_name("MSG"), Some(Field::Message));
        assert_eq!(Field::from_name("apiversion"), Some(Field::ApiVersion));
        assert_eq!(Field::from_name("lastSeen"), None);
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
    }

    #[test]
    fn and_all_flattens() {
        let p = |v: &str| {
            Expr::Pred(Predicate::Compare {
                field: Field::Reason,
                field_span: Span::default(),
                op: Op::Eq,
                value: Value::new(v),
            })
        };
        assert_eq!(Expr::and_all([]), None);
        assert_eq!(Expr::and_all([p("a")]), Some(p("a")));
        let e = Expr::and_all([Expr::And(vec![p("a"), p("b")]), p("c")]).unwrap();
        assert_eq!(e.to_string(), "reason=a and reason=b and reason=c");
    }
}
