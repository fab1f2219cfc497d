//! Compiling an [`Expr`] into a [`CompiledFilter`], and evaluating it.
//!
//! Compilation checks every value against its field (integers for `count`,
//! durations for `age`, valid regexes) and builds every regex and glob once;
//! [`CompiledFilter::matches`] is then a pure function of an event and "now"
//! that allocates nothing except for the `object` field and for case-folding
//! a `type` that is not already lowercase ASCII.
//!
//! Semantics the design leaves open, decided here (docs/filter.md says the same):
//!
//! - `type` compares case-insensitively for every operator: `=`, `!=`, `in`
//!   and globs compare lowercased text, and `=~`/`!~` regexes are built
//!   case-insensitive.
//! - Ordering operators (`>`, `>=`, `<`, `<=`) apply to `count` and `age`
//!   only; on a text field they are a compile error, not a lexical compare.
//! - `=~`/`!~` apply to text fields only.
//! - `age` is now − last seen, floored to whole seconds. An event without a
//!   last-seen time is infinitely old: `age>1h` and `age!=5m` hold,
//!   `age<1h`, `age=5m` and `age in (...)` do not; likewise it is before
//!   any `--until` time and after no `--since` time.
//! - `object` is `kind + "/" + name`, each missing part empty (so `/` when
//!   both are missing, as `Kind/name` prints).
//! - A glob `*` matches any run of characters, `/` included; no other
//!   character is special. A value without `*` compares exactly.

use std::borrow::Cow;

use chrono::{DateTime, TimeDelta, Utc};
use regex::{Regex, RegexBuilder};

use super::ast::{Expr, Field, FieldType, Op, Predicate, Span, TimeSide, Value};
use super::duration::{DURATION_HELP, parse_duration};
use super::error::FilterError;
use crate::model::{Event, EventView};

/// Largest compiled size of one regex (the `regex` crate's default), so a
/// pathological pattern is an error instead of a memory hog.
const REGEX_SIZE_LIMIT: usize = 10 * (1 << 20);

/// A filter ready to evaluate: every regex and glob built.
#[derive(Clone, Debug)]
pub struct CompiledFilter {
    root: Node,
}

#[derive(Clone, Debug)]
enum Node {
    True,
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Str(StrTest),
    Count(NumTest),
    Age(NumTest),
    LastSeen(TimeSide, DateTime<Utc>),
    Owned(std::sync::Arc<crate::model::owned::OwnedSet>),
}

/// A text field against any of a set of patterns, possibly negated.
#[derive(Clone, Debug)]
struct StrTest {
    field: Field,
    patterns: Box<[Pattern]>,
    /// Lowercase the field before comparing (`type`); patterns are already lowercase.
    fold: bool,
    negate: bool,
}

#[derive(Clone, Debug)]
enum Pattern {
    Exact(Box<str>),
    Glob(Glob),
    Regex(Regex),
}

/// A glob with `*` wildcards, matched without building a regex.
#[derive(Clone, Debug)]
struct Glob {
    prefix: Box<str>,
    middle: Box<[Box<str>]>,
    suffix: Box<str>,
}

#[derive(Clone, Debug)]
enum NumTest {
    Cmp(Op, i64),
    In(Box<[i64]>),
}

impl CompiledFilter {
    /// A filter that keeps every event.
    pub fn match_all() -> CompiledFilter {
        CompiledFilter { root: Node::True }
    }

    /// Compile `expr`, which was parsed from `text` (named `origin` in errors).
    pub fn compile(expr: &Expr, origin: &str, text: &str) -> Result<CompiledFilter, FilterError> {
        let cx = Cx { origin, text };
        Ok(CompiledFilter {
            root: cx.node(expr)?,
        })
    }

    /// The conjunction of several compiled filters.
    pub fn all(parts: Vec<CompiledFilter>) -> CompiledFilter {
        let mut nodes: Vec<Node> = parts
            .into_iter()
            .map(|p| p.root)
            .filter(|n| !matches!(n, Node::True))
            .collect();
        match nodes.len() {
            0 => CompiledFilter::match_all(),
            1 => CompiledFilter {
                root: nodes.remove(0),
            },
            _ => CompiledFilter {
                root: Node::And(nodes.into_boxed_slice()),
            },
        }
    }

    /// Whether the filter keeps `ev`, with ages measured from `now`.
    pub fn matches(&self, ev: &Event, now: DateTime<Utc>) -> bool {
        self.root.eval(ev, now)
    }

    /// Whether the filter keeps the event whose fields `ev` gives: the same
    /// test as [`CompiledFilter::matches`] on a borrowed view of an event
    /// (replay filters kev/v1 records before building an [`Event`]).
    pub fn matches_fields<F: EventView + ?Sized>(&self, ev: &F, now: DateTime<Utc>) -> bool {
        self.root.eval(ev, now)
    }

    /// Whether the filter keeps every event (nothing to evaluate).
    pub fn is_match_all(&self) -> bool {
        matches!(self.root, Node::True)
    }
}

impl Node {
    fn eval<F: EventView + ?Sized>(&self, ev: &F, now: DateTime<Utc>) -> bool {
        match self {
            Node::True => true,
            Node::And(ns) => ns.iter().all(|n| n.eval(ev, now)),
            Node::Or(ns) => ns.iter().any(|n| n.eval(ev, now)),
            Node::Not(n) => !n.eval(ev, now),
            Node::Str(t) => t.eval(ev),
            Node::Count(t) => t.eval(Some(ev.count())),
            Node::Age(t) => t.eval(ev.last_seen().map(|ls| age_seconds(now, ls))),
            Node::LastSeen(side, at) => match (side, ev.last_seen()) {
                (TimeSide::AtOrAfter, Some(ls)) => ls >= *at,
                (TimeSide::AtOrBefore, Some(ls)) => ls <= *at,
                (TimeSide::AtOrAfter, None) => false,
                (TimeSide::AtOrBefore, None) => true,
            },
            Node::Owned(set) => set.contains(ev.object_uid(), ev.object_kind(), ev.object_name()),
        }
    }
}

/// now − last seen, floored to whole seconds.
pub fn age_seconds(now: DateTime<Utc>, last_seen: DateTime<Utc>) -> i64 {
    let d: TimeDelta = now - last_seen;
    d.num_seconds() - i64::from(d.subsec_nanos() < 0)
}

/// The text of a string field; a missing field is empty.
pub fn field_text<V: EventView + ?Sized>(field: Field, ev: &V) -> Cow<'_, str> {
    fn s(o: Option<&str>) -> &str {
        o.unwrap_or("")
    }
    Cow::Borrowed(match field {
        Field::Type => s(ev.type_()),
        Field::Reason => s(ev.reason()),
        Field::Kind => s(ev.object_kind()),
        Field::Name => s(ev.object_name()),
        Field::Namespace => s(ev.namespace()),
        Field::Object => {
            return Cow::Owned(format!("{}/{}", s(ev.object_kind()), s(ev.object_name())));
        }
        Field::Message => s(ev.message()),
        Field::Component => s(ev.component()),
        Field::Host => s(ev.host()),
        Field::Instance => s(ev.instance()),
        Field::Action => s(ev.action()),
        Field::ApiVersion => s(ev.object_api_version()),
        Field::FieldPath => s(ev.object_field_path()),
        Field::Uid => ev.uid(),
        // Not text fields; the compiler never builds a string test for them.
        Field::Count => return Cow::Owned(ev.count().to_string()),
        Field::Age => "",
    })
}

fn fold(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            s
        }
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

impl StrTest {
    fn eval<F: EventView + ?Sized>(&self, ev: &F) -> bool {
        let raw = field_text(self.field, ev);
        let hit = if self.fold {
            let mut lowered: Option<Cow<'_, str>> = None;
            self.patterns.iter().any(|p| match p {
                // Regexes are built case-insensitive: match the original text.
                Pattern::Regex(r) => r.is_match(&raw),
                // The common `type=Warning`: compare without lowercasing a copy.
                // `v` is lowercase, so this is `fold(raw) == v` for ASCII `raw`.
                Pattern::Exact(v) if raw.is_ascii() => raw.eq_ignore_ascii_case(v),
                _ => p.is_match(lowered.get_or_insert_with(|| fold(Cow::Borrowed(&raw)))),
            })
        } else {
            self.patterns.iter().any(|p| p.is_match(&raw))
        };
        hit != self.negate
    }
}

impl Pattern {
    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Exact(v) => **v == *s,
            Pattern::Glob(g) => g.is_match(s),
            Pattern::Regex(r) => r.is_match(s),
        }
    }
}

impl Glob {
    /// A glob for `pattern`, which contains at least one `*`.
    fn new(pattern: &str) -> Glob {
        let mut parts: Vec<&str> = pattern.split('*').collect();
        let suffix = parts.pop().unwrap_or("");
        let prefix = if parts.is_empty() {
            ""
        } else {
            parts.remove(0)
        };
        Glob {
            prefix: prefix.into(),
            middle: parts
                .into_iter()
                .filter(|p| !p.is_empty())
                .map(Into::into)
                .collect(),
            suffix: suffix.into(),
        }
    }

    fn is_match(&self, s: &str) -> bool {
        if s.len() < self.prefix.len() + self.suffix.len()
            || !s.starts_with(&*self.prefix)
            || !s.ends_with(&*self.suffix)
        {
            return false;
        }
        // Leftmost matching of each middle part is optimal for `*`-only globs.
        let mut rest = &s[self.prefix.len()..s.len() - self.suffix.len()];
        for m in &self.middle {
            match rest.find(&**m) {
                Some(i) => rest = &rest[i + m.len()..],
                None => return false,
            }
        }
        true
    }
}

impl NumTest {
    /// `None` is infinitely large (the age of an event never seen).
    fn eval(&self, v: Option<i64>) -> bool {
        match (self, v) {
            (NumTest::Cmp(op, x), Some(v)) => match op {
                Op::Eq => v == *x,
                Op::Ne => v != *x,
                Op::Gt => v > *x,
                Op::Ge => v >= *x,
                Op::Lt => v < *x,
                Op::Le => v <= *x,
                Op::Match | Op::NotMatch => false,
            },
            (NumTest::Cmp(op, _), None) => matches!(op, Op::Ne | Op::Gt | Op::Ge),
            (NumTest::In(xs), Some(v)) => xs.contains(&v),
            (NumTest::In(_), None) => false,
        }
    }
}

/// Compilation context: where errors point.
struct Cx<'a> {
    origin: &'a str,
    text: &'a str,
}

impl Cx<'_> {
    fn error(&self, msg: impl Into<String>, span: Span) -> FilterError {
        FilterError::new(msg, self.origin, self.text, span)
    }

    fn node(&self, e: &Expr) -> Result<Node, FilterError> {
        Ok(match e {
            Expr::Or(ts) => Node::Or(ts.iter().map(|t| self.node(t)).collect::<Result<_, _>>()?),
            Expr::And(ts) => Node::And(ts.iter().map(|t| self.node(t)).collect::<Result<_, _>>()?),
            Expr::Not(t) => Node::Not(Box::new(self.node(t)?)),
            Expr::Pred(p) => self.pred(p)?,
        })
    }

    fn pred(&self, p: &Predicate) -> Result<Node, FilterError> {
        match p {
            Predicate::LastSeen { side, at } => Ok(Node::LastSeen(*side, *at)),
            Predicate::Owned(o) => Ok(Node::Owned(std::sync::Arc::clone(&o.0))),
            Predicate::Compare {
                field,
                field_span,
                op,
                value,
            } => {
                let whole = Span::new(field_span.start, value.span.end.max(field_span.end));
                match field.field_type() {
                    FieldType::String => {
                        if op.is_ordering() {
                            return Err(self.error(
                                format!(
                                    "`{op}` does not apply to `{field}`, a text field: use =, !=, in, =~ or !~ (ordering compares count and age)"
                                ),
                                whole,
                            ));
                        }
                        let fold = *field == Field::Type;
                        let pattern = match op {
                            Op::Match | Op::NotMatch => Pattern::Regex(self.regex(value, fold)?),
                            _ => literal_pattern(&value.text, fold),
                        };
                        Ok(Node::Str(StrTest {
                            field: *field,
                            patterns: Box::new([pattern]),
                            fold,
                            negate: matches!(op, Op::Ne | Op::NotMatch),
                        }))
                    }
                    FieldType::Integer | FieldType::Duration => {
                        if matches!(op, Op::Match | Op::NotMatch) {
                            return Err(self.error(
                                format!("`{op}` does not apply to `{field}`: regexes match text fields; compare {field} with = != > >= < <= or in"),
                                whole,
                            ));
                        }
                        let x = self.number(*field, value)?;
                        let t = NumTest::Cmp(*op, x);
                        Ok(if *field == Field::Count {
                            Node::Count(t)
                        } else {
                            Node::Age(t)
                        })
                    }
                }
            }
            Predicate::In { field, values, .. } => match field.field_type() {
                FieldType::String => {
                    let fold = *field == Field::Type;
                    Ok(Node::Str(StrTest {
                        field: *field,
                        patterns: values
                            .iter()
                            .map(|v| literal_pattern(&v.text, fold))
                            .collect(),
                        fold,
                        negate: false,
                    }))
                }
                FieldType::Integer | FieldType::Duration => {
                    let xs = values
                        .iter()
                        .map(|v| self.number(*field, v))
                        .collect::<Result<_, _>>()?;
                    let t = NumTest::In(xs);
                    Ok(if *field == Field::Count {
                        Node::Count(t)
                    } else {
                        Node::Age(t)
                    })
                }
            },
        }
    }

    fn number(&self, field: Field, v: &Value) -> Result<i64, FilterError> {
        if field == Field::Count {
            v.text.parse::<i64>().map_err(|_| {
                self.error(
                    format!("`count` compares integers, and `{}` is not one", v.text),
                    v.span,
                )
            })
        } else {
            parse_duration(&v.text)
                .and_then(|s| i64::try_from(s).ok())
                .ok_or_else(|| {
                    self.error(
                        format!(
                            "`age` compares durations: expected {DURATION_HELP}, found `{}`",
                            v.text
                        ),
                        v.span,
                    )
                })
        }
    }

    fn regex(&self, v: &Value, case_insensitive: bool) -> Result<Regex, FilterError> {
        RegexBuilder::new(&v.text)
            .case_insensitive(case_insensitive)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| {
                self.error(
                    format!("invalid regex: {}", regex_error_summary(&e)),
                    v.span,
                )
            })
    }
}

fn literal_pattern(text: &str, fold: bool) -> Pattern {
    let text: Cow<'_, str> = if fold {
        fold_owned(text)
    } else {
        Cow::Borrowed(text)
    };
    if text.contains('*') {
        Pattern::Glob(Glob::new(&text))
    } else {
        Pattern::Exact(text.into())
    }
}

fn fold_owned(s: &str) -> Cow<'_, str> {
    fold(Cow::Borrowed(s))
}

/// The one-line reason from a `regex` error ("unclosed group"), without the
/// crate's own multi-line rendering of the pattern.
fn regex_error_summary(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(s) => s
            .lines()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .map(str::to_string)
            .unwrap_or_else(|| s.lines().last().unwrap_or("").trim().to_string()),
        regex::Error::CompiledTooBig(limit) => {
            format!("the compiled pattern exceeds the size limit of {limit} bytes")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parser::parse;
    use crate::model::{EventSource, ObjectRef};

    fn now() -> DateTime<Utc> {
        "2026-11-28T10:00:00Z".parse().unwrap()
    }

    fn ev() -> Event {
        Event {
            uid: "u-1".into(),
            resource_version: "1".into(),
            namespace: Some("payments".into()),
            name: "web-7f9c.17a".into(),
            type_: Some("Warning".into()),
            reason: Some("BackOff".into()),
            message: Some("Back-off restarting failed container web in pod web-7f9c".into()),
            object: ObjectRef {
                kind: Some("Pod".into()),
                namespace: Some("payments".into()),
                name: Some("web-7f9c".into()),
                uid: Some("pod-uid".into()),
                api_version: Some("v1".into()),
                field_path: Some("spec.containers{web}".into()),
            },
            related: None,
            source: Some(EventSource {
                component: Some("kubelet".into()),
                host: Some("node-05".into()),
            }),
            reporting_controller: Some("kubelet".into()),
            reporting_instance: Some("node-05".into()),
            action: Some("Restarting".into()),
            count: 12,
            first_seen: Some("2026-11-28T09:01:02Z".parse().unwrap()),
            last_seen: Some("2026-11-28T09:50:00Z".parse().unwrap()),
            event_time: None,
            series: None,
        }
    }

    fn check(src: &str, e: &Event) -> bool {
        let ast = parse(src).unwrap_or_else(|err| panic!("{src}: {}", err.render()));
        let f = CompiledFilter::compile(&ast, "expression", src)
            .unwrap_or_else(|err| panic!("{src}: {}", err.render()));
        f.matches(e, now())
    }

    /// Every field with every operator that applies to it: (expression, expected).
    #[test]
    fn every_field_and_operator() {
        let e = ev();
        let cases: &[(&str, bool)] = &[
            // type: case-insensitive everywhere
            ("type=Warning", true),
            ("type=warning", true),
            ("type=WARNING", true),
            ("type!=warning", false),
            ("type=Normal", false),
            ("type!=Normal", true),
            ("type=Warn*", true),
            ("type=warn*", true),
            ("type in (normal, WARNING)", true),
            ("type in (normal)", false),
            ("type=~\"^warn\"", true),
            ("type!~\"^WARN\"", false),
            // reason: exact, globs, in, regex
            ("reason=BackOff", true),
            ("reason=backoff", false),
            ("reason!=BackOff", false),
            ("reason=Back*", true),
            ("reason=*Off", true),
            ("reason=B*k*f", true),
            ("reason=*", true),
            ("reason=Back", false),
            ("reason in (Failed, Back*)", true),
            ("reason in (Failed, Pulled)", false),
            ("reason=~\"^(BackOff|Failed)$\"", true),
            ("reason=~ack", true),
            ("reason!~ack", false),
            ("reason!~\"^Fail\"", true),
            // object fields
            ("kind=Pod", true),
            ("kind!=Pod", false),
            ("name=web-7f9c", true),
            ("name=web-*", true),
            ("namespace=payments", true),
            ("ns=pay*", true),
            ("ns in (checkout, payments)", true),
            ("object=Pod/web-7f9c", true),
            ("object=Pod/*", true),
            ("object=~\"^Deployment/\"", false),
            ("message=~\"restarting failed\"", true),
            ("msg=*failed*", true),
            ("msg=failed", false),
            ("component=kubelet", true),
            ("host=node-05", true),
            ("host=node-0*", true),
            ("instance=node-05", true),
            ("action=Restarting", true),
            ("apiVersion=v1", true),
            ("fieldPath=\"spec.containers{web}\"", true),
            ("fieldPath=*web*", true),
            ("uid=u-1", true),
            ("uid!=u-1", false),
            // count
            ("count=12", true),
            ("count!=12", false),
            ("count>11", true),
            ("count>12", false),
            ("count>=12", true),
            ("count<12", false),
            ("count<=12", true),
            ("count in (1, 12)", true),
            ("count in (1, 2)", false),
            // age: last seen 10 minutes before now
            ("age=10m", true),
            ("age=600s", true),
            ("age!=10m", false),
            ("age<=10m", true),
            ("age<10m", false),
            ("age>9m59s", true),
            ("age>=11m", false),
            ("age<1h", true),
            ("age in (5m, 10m)", true),
            ("age in (5m)", false),
            // boolean structure
            ("type=Warning and reason=BackOff", true),
            ("type=Warning && reason=Failed", false),
            ("type=Normal or reason=BackOff", true),
            ("type=Normal || reason=Failed", false),
            ("not type=Normal", true),
            ("!type=Warning", false),
            ("not (type=Normal or reason=Failed)", true),
            (
                "type=Warning reason=BackOff ns=payments count>=5 age<1h",
                true,
            ),
        ];
        for (src, want) in cases {
            assert_eq!(check(src, &e), *want, "{src}");
        }
    }

    #[test]
    fn missing_fields_are_empty() {
        let e = Event::default();
        for (src, want) in [
            ("reason=\"\"", true),
            ("reason=*", true),
            ("reason!=*", false),
            ("reason!=BackOff", true),
            ("type=\"\"", true),
            ("object=/", true),
            ("component=\"\"", true),
            ("host=\"\"", true),
            ("message=~\"^$\"", true),
            ("uid=\"\"", true),
            ("count=0", true),
        ] {
            assert_eq!(check(src, &e), want, "{src}");
        }
    }

    #[test]
    fn component_falls_back_to_reporting_controller() {
        let mut e = ev();
        e.source = None;
        e.reporting_controller = Some("default-scheduler".into());
        assert!(check("component=default-scheduler", &e));
        assert!(check("host=\"\"", &e));
    }

    #[test]
    fn no_last_seen_is_infinitely_old() {
        let mut e = ev();
        e.last_seen = None;
        for (src, want) in [
            ("age>1h", true),
            ("age>=0s", true),
            ("age!=5m", true),
            ("age<1h", false),
            ("age<=100000d", false),
            ("age=5m", false),
            ("age in (5m)", false),
            ("not age<20m", true),
        ] {
            assert_eq!(check(src, &e), want, "{src}");
        }
    }

    #[test]
    fn age_floors_to_seconds_and_handles_the_future() {
        let mut e = ev();
        e.last_seen = Some("2026-11-28T09:59:59.900Z".parse().unwrap());
        assert!(check("age=0s", &e));
        e.last_seen = Some("2026-11-28T09:59:58.100Z".parse().unwrap());
        assert!(check("age=1s", &e));
        // Clock skew: last seen after now gives a negative age.
        e.last_seen = Some("2026-11-28T10:00:00.500Z".parse().unwrap());
        assert!(check("age<0s", &e));
        assert!(check("age<=20m", &e));
        assert_eq!(
            age_seconds(now(), "2026-11-28T10:00:01Z".parse().unwrap()),
            -1
        );
    }

    #[test]
    fn non_ascii_type_folds() {
        let mut e = ev();
        e.type_ = Some("Ärger".into());
        assert!(check("type=ärger", &e));
        assert!(check("type=ÄRGER", &e));
        assert!(check("type=~\"^ärg\"", &e));
    }

    #[test]
    fn compile_errors_point_at_the_value() {
        let cases: &[(&str, &str, usize)] = &[
            (r#"reason=~"(Back""#, "invalid regex: unclosed group", 9),
            (
                "reason=BackOff message=~\"[a-\"",
                "invalid regex: unclosed character class",
                25,
            ),
            ("count>five", "`count` compares integers", 7),
            ("count=~5", "`=~` does not apply to `count`", 1),
            ("age<20", "`age` compares durations", 5),
            ("age in (1m, soon)", "`age` compares durations", 13),
            ("age!~1m", "does not apply to `age`", 1),
            (
                "reason>B",
                "`>` does not apply to `reason`, a text field",
                1,
            ),
            ("type<=Warning", "does not apply to `type`", 1),
        ];
        for (src, msg, col) in cases {
            let ast = parse(src).unwrap();
            let e = CompiledFilter::compile(&ast, "expression", src).expect_err(src);
            assert!(e.message.contains(msg), "{src}: {}", e.message);
            assert_eq!(e.column(), *col, "{src}: {}", e.render());
        }
        let src = r#"reason=~"(Back""#;
        let e = CompiledFilter::compile(&parse(src).unwrap(), "expression", src).unwrap_err();
        assert_eq!(
            e.render(),
            "invalid regex: unclosed group (at column 9)\n  reason=~\"(Back\"\n          ^^^^^^^"
        );
    }

    #[test]
    fn huge_regex_is_an_error() {
        let src = r#"message=~"(\w{500}){500}""#;
        let e = CompiledFilter::compile(&parse(src).unwrap(), "expression", src).unwrap_err();
        assert!(e.message.starts_with("invalid regex:"), "{}", e.message);
    }

    #[test]
    fn globs() {
        let cases = [
            ("a*", "a", true),
            ("a*", "", false),
            ("*", "", true),
            ("**", "x", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("ab*ba", "abba", true),
            ("*ü*", "grüße", true),
            ("x*x*x", "xx", false),
            ("x*x*x", "xxx", true),
        ];
        for (pat, s, want) in cases {
            assert_eq!(Glob::new(pat).is_match(s), want, "{pat} ~ {s}");
        }
    }
}
