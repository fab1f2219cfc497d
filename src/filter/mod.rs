//! The filter engine: the expression language of design.md ("Filter
//! language"), the flags that are sugar for it, and the pushdown of what a
//! field selector can say to the apiserver.
//!
//! The path of an expression:
//!
//! ```text
//! words + flags ──► parser ──► ast::Expr ──► eval::CompiledFilter ──► matches(&Event, now)
//!                                  │
//!                                  └──► pushdown::plan ──► FieldSelector (sent to the apiserver)
//! ```
//!
//! [`Filter::build`] is the one entry point for the CLI: positional words
//! plus [`Sugar`] (the flags) give a [`Filter`] holding the tree, the
//! compiled form and, through [`Filter::field_selector`], the pushdown.
//! The whole expression is always evaluated locally; the field selector can
//! only save work. docs/filter.md documents the language for users.
//!
//! # Modules
//!
//! - [`lexer`], [`parser`]: text to [`ast::Expr`], with [`MAX_DEPTH`] nesting.
//! - [`ast`]: the tree and its canonical printed form (parse ∘ print is identity).
//! - [`eval`]: compilation (regexes and globs built once) and evaluation.
//! - [`pushdown`]: the field-selector planner and [`FieldSelector`].
//! - [`duration`]: `90s`, `10m`, `1h30m`, `1d`.
//! - [`error`]: [`FilterError`], which renders a caret under the offending column.

pub mod ast;
pub mod duration;
pub mod error;
pub mod eval;
pub mod lexer;
pub mod parser;
pub mod pushdown;

#[cfg(test)]
mod reference;
#[cfg(test)]
mod testgen;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use ast::{Expr, Field, Op, Predicate, Span, TimeSide, Value};
pub use error::FilterError;
pub use eval::CompiledFilter;
pub use parser::{MAX_DEPTH, parse};
pub use pushdown::{FieldSelector, SelectorField, SelectorOp, SelectorTerm};

use duration::{DURATION_HELP, format_duration, parse_duration};

use crate::model::ObjectTarget;
use error::EXPRESSION;

/// A compiled filter together with the tree it came from.
#[derive(Clone, Debug)]
pub struct Filter {
    expr: Option<Expr>,
    compiled: CompiledFilter,
}

/// The filter flags, each sugar for predicates ANDed onto the positional
/// expression. List flags take one value per entry or comma-separated
/// values in an entry (`--reason BackOff,Failed` = `--reason BackOff --reason Failed`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sugar {
    /// `--types`: `Normal`, `Warning` (any case) → `type in (...)`.
    pub types: Vec<String>,
    /// `--reason` (globs allowed) → `reason in (...)`.
    pub reasons: Vec<String>,
    /// `--kind` (globs allowed) → `kind in (...)`.
    pub kinds: Vec<String>,
    /// Namespaces to keep → `namespace in (...)`. For replay this is how
    /// `-n` filters; for live listing `-n` is the request path, and also
    /// setting it here is harmless (it pushes down as `metadata.namespace`).
    pub namespaces: Vec<String>,
    /// `--for KIND/NAME`, resolved (through discovery, or offline by
    /// [`ObjectSpec::offline_target`](crate::model::ObjectSpec::offline_target))
    /// → `kind=Kind name=NAME`, and `apiVersion=V` when the apiVersion is
    /// known, as `kubectl events --for` matches.
    pub for_object: Option<ObjectTarget>,
    /// `--for KIND/NAME --tree`: the object and what it owns, matched
    /// locally by uid; replaces `for_object`'s terms (never pushed down).
    pub owned: Option<ast::Owned>,
    /// `--since`: a duration keeps `age<=D`; a time keeps last seen ≥ T.
    pub since: Option<TimeBound>,
    /// `--until`: a duration keeps `age>=D`; a time keeps last seen ≤ T.
    pub until: Option<TimeBound>,
    /// `--match REGEX` → `message=~REGEX`.
    pub match_message: Option<String>,
}

/// The value of `--since`/`--until`: how long ago, or when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeBound {
    /// A duration before "now" (`20m`); whole seconds.
    Ago(Duration),
    /// An absolute time (RFC 3339).
    At(DateTime<Utc>),
}

/// Parse `--since`/`--until`: a duration (`90s`, `15m`, `2h`, `1d`, `1h30m`)
/// or an RFC 3339 time (`2026-11-28T09:00:00Z`).
pub fn parse_time_bound(text: &str) -> Result<TimeBound, FilterError> {
    if let Some(secs) = parse_duration(text) {
        return Ok(TimeBound::Ago(Duration::from_secs(secs)));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| TimeBound::At(t.with_timezone(&Utc)))
        .map_err(|_| {
            FilterError::new(
                format!(
                    "expected {DURATION_HELP}, or an RFC 3339 time such as 2026-11-28T09:00:00Z"
                ),
                "time",
                text,
                Span::new(0, text.len()),
            )
        })
}

impl FromStr for TimeBound {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<TimeBound, FilterError> {
        parse_time_bound(s)
    }
}

impl fmt::Display for TimeBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeBound::Ago(d) => f.write_str(&format_duration(d.as_secs())),
            TimeBound::At(t) => f.write_str(&crate::model::time_serde::format(t)),
        }
    }
}

impl Filter {
    /// A filter that keeps everything.
    pub fn match_all() -> Filter {
        Filter {
            expr: None,
            compiled: CompiledFilter::match_all(),
        }
    }

    /// Build the filter for the command line: the positional expression
    /// words, ANDed with the predicates the flags stand for.
    ///
    /// Words are joined with `and`: when every word is a whole expression,
    /// each is a term of the conjunction (`'a or b' c` is `(a or b) and c`).
    /// When some word is not (`not reason=X`, or `reason in '(A, B)'` split
    /// by the shell), the words are read as one expression joined by spaces,
    /// where juxtaposition means `and`. Blank words are ignored; no words
    /// and no flags keep everything.
    pub fn build<S: AsRef<str>>(words: &[S], sugar: &Sugar) -> Result<Filter, FilterError> {
        let mut exprs = Vec::new();
        let mut compiled = Vec::new();
        if let Some((expr, text)) = parse_words(words)? {
            compiled.push(CompiledFilter::compile(&expr, EXPRESSION, &text)?);
            exprs.push(expr);
        }
        for (expr, origin, text) in sugar_predicates(sugar)? {
            compiled.push(CompiledFilter::compile(&expr, &origin, &text)?);
            exprs.push(expr);
        }
        Ok(Filter {
            expr: Expr::and_all(exprs),
            compiled: CompiledFilter::all(compiled),
        })
    }

    /// Parse and compile one expression, e.g. a `filter:` from the daemon
    /// config. Blank text keeps everything.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        Filter::build(&[text], &Sugar::default())
    }

    /// Whether the filter keeps `ev`, with ages measured from `now`.
    pub fn matches(&self, ev: &crate::model::Event, now: DateTime<Utc>) -> bool {
        self.compiled.matches(ev, now)
    }

    /// [`Filter::matches`] on a borrowed view of an event.
    pub fn matches_fields<F: crate::model::EventView + ?Sized>(
        &self,
        ev: &F,
        now: DateTime<Utc>,
    ) -> bool {
        self.compiled.matches_fields(ev, now)
    }

    /// The tree, `None` when the filter keeps everything.
    pub fn expr(&self) -> Option<&Expr> {
        self.expr.as_ref()
    }

    /// The compiled form.
    pub fn compiled(&self) -> &CompiledFilter {
        &self.compiled
    }

    /// The part of the filter a core/v1 Event field selector expresses
    /// exactly (see [`pushdown`]); empty when nothing can be pushed.
    pub fn field_selector(&self) -> FieldSelector {
        pushdown::plan(self.expr.as_ref())
    }
}

impl fmt::Display for Filter {
    /// The canonical expression; empty for a filter that keeps everything.
    /// Absolute `--since`/`--until` times print as `lastSeen>=T`, which is
    /// not part of the language.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.expr {
            Some(e) => write!(f, "{e}"),
            None => Ok(()),
        }
    }
}

/// Parse the positional words (see [`Filter::build`]). Returns the tree and
/// the text its spans point into.
fn parse_words<S: AsRef<str>>(words: &[S]) -> Result<Option<(Expr, String)>, FilterError> {
    let words: Vec<&str> = words
        .iter()
        .map(AsRef::as_ref)
        .filter(|w| !w.trim().is_empty())
        .collect();
    if words.is_empty() {
        return Ok(None);
    }
    let text = words.join(" ");
    let mut ranges = Vec::with_capacity(words.len());
    let mut at = 0;
    for w in &words {
        ranges.push((at, at + w.len()));
        at += w.len() + 1;
    }
    let each: Result<Vec<Expr>, FilterError> = ranges
        .iter()
        .map(|&(s, e)| parser::parse_range(&text, s, e))
        .collect();
    let expr = match each {
        Ok(terms) if terms.len() == 1 => terms.into_iter().next(),
        Ok(terms) => Some(Expr::And(terms)),
        Err(first) if words.len() == 1 => return Err(first),
        Err(_) => Some(parser::parse(&text)?),
    };
    Ok(expr.map(|e| (e, text)))
}

/// One predicate per flag that is set: (tree, origin, text its spans point into).
fn sugar_predicates(s: &Sugar) -> Result<Vec<(Expr, String, String)>, FilterError> {
    let mut out = Vec::new();
    if !s.types.is_empty() {
        let (text, mut values) = list_values("--types", &s.types)?;
        for v in &mut values {
            v.text = match v.text.to_ascii_lowercase().as_str() {
                "normal" => "Normal".to_string(),
                "warning" => "Warning".to_string(),
                _ => {
                    return Err(FilterError::new(
                        format!(
                            "unknown event type `{}`: types are Normal and Warning",
                            v.text
                        ),
                        "--types",
                        &text,
                        v.span,
                    ));
                }
            };
        }
        out.push((in_or_eq(Field::Type, values), "--types".to_string(), text));
    }
    for (flag, field, entries) in [
        ("--reason", Field::Reason, &s.reasons),
        ("--kind", Field::Kind, &s.kinds),
        ("--namespace", Field::Namespace, &s.namespaces),
    ] {
        if !entries.is_empty() {
            let (text, values) = list_values(flag, entries)?;
            out.push((in_or_eq(field, values), flag.to_string(), text));
        }
    }
    if let Some(owned) = &s.owned {
        let text = format!("{} --tree", owned.0.root());
        out.push((
            Expr::Pred(Predicate::Owned(owned.clone())),
            "--for".to_string(),
            text,
        ));
    } else if let Some(target) = &s.for_object {
        let text = target.to_string();
        let value = |v: &str| Value {
            text: v.to_string(),
            span: Span::new(0, text.len()),
        };
        let mut terms = vec![
            compare(Field::Kind, Op::Eq, value(&target.kind)),
            compare(Field::Name, Op::Eq, value(&target.name)),
        ];
        if let Some(av) = &target.api_version {
            terms.push(compare(Field::ApiVersion, Op::Eq, value(av)));
        }
        out.push((Expr::And(terms), "--for".to_string(), text));
    }
    for (flag, bound, ago_op, side) in [
        ("--since", s.since, Op::Le, TimeSide::AtOrAfter),
        ("--until", s.until, Op::Ge, TimeSide::AtOrBefore),
    ] {
        let Some(bound) = bound else { continue };
        let text = bound.to_string();
        let e = match bound {
            TimeBound::Ago(d) => compare(
                Field::Age,
                ago_op,
                Value {
                    text: format_duration(d.as_secs()),
                    span: Span::new(0, text.len()),
                },
            ),
            TimeBound::At(at) => Expr::Pred(Predicate::LastSeen { side, at }),
        };
        out.push((e, flag.to_string(), text));
    }
    if let Some(re) = &s.match_message {
        let e = compare(
            Field::Message,
            Op::Match,
            Value {
                text: re.clone(),
                span: Span::new(0, re.len()),
            },
        );
        out.push((e, "--match".to_string(), re.clone()));
    }
    Ok(out)
}

fn compare(field: Field, op: Op, value: Value) -> Expr {
    Expr::Pred(Predicate::Compare {
        field,
        field_span: Span::new(value.span.start, value.span.start),
        op,
        value,
    })
}

fn in_or_eq(field: Field, mut values: Vec<Value>) -> Expr {
    if values.len() == 1 {
        let v = values.remove(0);
        compare(field, Op::Eq, v)
    } else {
        Expr::Pred(Predicate::In {
            field,
            field_span: Span::default(),
            values,
        })
    }
}

/// Split comma-separated list entries into values with spans into the
/// entries joined by commas (the text errors show).
fn list_values(flag: &str, entries: &[String]) -> Result<(String, Vec<Value>), FilterError> {
    let text = entries.join(",");
    let mut values = Vec::new();
    let mut at = 0;
    for part in text.split(',') {
        let trimmed = part.trim();
        let start = at + (part.len() - part.trim_start().len());
        if trimmed.is_empty() {
            return Err(FilterError::new(
                "empty value in the list",
                flag,
                &text,
                Span::new(at, at + part.len()),
            ));
        }
        values.push(Value {
            text: trimmed.to_string(),
            span: Span::new(start, start + trimmed.len()),
        });
        at += part.len() + 1;
    }
    Ok((text, values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, ObjectRef};

    fn now() -> DateTime<Utc> {
        "2026-11-28T10:00:00Z".parse().unwrap()
    }

    fn ev(ty: &str, reason: &str, ns: &str, ago_secs: i64) -> Event {
        Event {
            type_: Some(ty.into()),
            reason: Some(reason.into()),
            namespace: Some(ns.into()),
            object: ObjectRef {
                kind: Some("Pod".into()),
                name: Some("web-1".into()),
                ..Default::default()
            },
            last_seen: Some(now() - chrono::TimeDelta::seconds(ago_secs)),
            message: Some("Back-off pulling image \"registry/web:v2\"".into()),
            ..Default::default()
        }
    }

    fn build(words: &[&str], sugar: &Sugar) -> Filter {
        Filter::build(words, sugar).unwrap_or_else(|e| panic!("{}", e.render()))
    }

    #[test]
    fn words_are_anded() {
        assert_eq!(
            build(&["type=Warning", "reason=BackOff"], &Sugar::default()).to_string(),
            "type=Warning and reason=BackOff"
        );
        // A word that is a whole expression stays grouped.
        assert_eq!(
            build(&["type=Warning or reason=X", "ns=a"], &Sugar::default()).to_string(),
            "(type=Warning or reason=X) and namespace=a"
        );
        // Words that are not whole expressions are read together.
        assert_eq!(
            build(&["not", "reason=Pulled"], &Sugar::default()).to_string(),
            "not reason=Pulled"
        );
        assert_eq!(
            build(&["reason", "in", "(Pulled,", "Pulling)"], &Sugar::default()).to_string(),
            "reason in (Pulled, Pulling)"
        );
        assert_eq!(build(&["", "  "], &Sugar::default()).to_string(), "");
        assert!(build(&[], &Sugar::default()).compiled().is_match_all());
    }

    #[test]
    fn errors_point_into_the_joined_words() {
        let e =
            Filter::build(&["type=Warning", r#"reason=~"(Back""#], &Sugar::default()).unwrap_err();
        assert_eq!(e.column(), 22);
        let want = format!("type=Warning reason=~\"(Back\"\n{}^^^^^^^", " ".repeat(23));
        assert!(e.render().ends_with(&want), "{}", e.render());
        let e = Filter::build(&["type=Warning", "reason in (A"], &Sugar::default()).unwrap_err();
        assert!(e.message.contains("expected `,` or `)`"), "{e}");
    }

    #[test]
    fn an_owned_set_is_matched_locally_by_uid_and_never_pushed_down() {
        let set = std::sync::Arc::new(crate::model::owned::OwnedSet::new("Deployment/web"));
        set.insert("d", "Deployment", "web", None);
        set.insert_name("Deployment", "web");
        let sugar = Sugar {
            types: vec!["Warning".into()],
            owned: Some(ast::Owned(std::sync::Arc::clone(&set))),
            ..Sugar::default()
        };
        let f = build(&[], &sugar);
        assert_eq!(f.to_string(), "type=Warning and ownedBy=Deployment/web");
        assert_eq!(f.field_selector().to_string(), "type=Warning");
        let ev = |uid: Option<&str>, kind: &str, name: &str| Event {
            type_: Some("Warning".into()),
            object: crate::model::ObjectRef {
                kind: Some(kind.into()),
                name: Some(name.into()),
                uid: uid.map(str::to_string),
                ..Default::default()
            },
            ..Default::default()
        };
        let pod = ev(Some("p"), "Pod", "web-7f9c6d5b8-x2x4z");
        assert!(!f.matches(&pod, now()));
        // The tracker learns of the Pod: the same filter matches it now.
        set.insert("p", "Pod", "web-7f9c6d5b8-x2x4z", Some("d"));
        assert!(f.matches(&pod, now()));
        assert_eq!(
            set.path("p"),
            [
                ("Deployment".to_string(), "web".to_string()),
                ("Pod".to_string(), "web-7f9c6d5b8-x2x4z".to_string())
            ],
            "the path from the root"
        );
        assert!(set.path("x").is_empty());
        assert!(
            f.matches(&ev(None, "Deployment", "web"), now()),
            "by name without a uid"
        );
        assert!(
            !f.matches(&ev(Some("x"), "Deployment", "web"), now()),
            "another uid"
        );
    }

    #[test]
    fn sugar_becomes_predicates() {
        let sugar = Sugar {
            types: vec!["warning".into()],
            reasons: vec!["BackOff,Failed*".into()],
            kinds: vec!["Pod".into()],
            namespaces: vec!["payments".into(), "checkout".into()],
            for_object: Some(ObjectTarget {
                kind: "Deployment".into(),
                api_version: Some("apps/v1".into()),
                name: "web".into(),
            }),
            owned: None,
            since: Some(parse_time_bound("20m").unwrap()),
            until: Some(parse_time_bound("2026-11-28T09:59:00Z").unwrap()),
            match_message: Some("image".into()),
        };
        let f = build(&["count>1"], &sugar);
        assert_eq!(
            f.to_string(),
            "count>1 and type=Warning and reason in (BackOff, Failed*) and kind=Pod and namespace in (payments, checkout) \
             and kind=Deployment and name=web and apiVersion=apps/v1 and age<=20m and lastSeen<=2026-11-28T09:59:00Z and message=~image"
        );
    }

    #[test]
    fn since_and_until() {
        let s = |since: &str, until: Option<&str>| Sugar {
            since: Some(parse_time_bound(since).unwrap()),
            until: until.map(|u| parse_time_bound(u).unwrap()),
            ..Default::default()
        };
        let recent = ev("Warning", "BackOff", "a", 5 * 60);
        let old = ev("Warning", "BackOff", "a", 30 * 60);
        let f = build(&[], &s("20m", None));
        assert!(f.matches(&recent, now()));
        assert!(!f.matches(&old, now()));
        let f = build(&[], &s("2026-11-28T09:40:00Z", None));
        assert!(f.matches(&recent, now()));
        assert!(!f.matches(&old, now()));
        let f = build(&[], &s("1h", Some("10m")));
        assert!(!f.matches(&recent, now()));
        assert!(f.matches(&old, now()));
        let f = build(&[], &s("1h", Some("2026-11-28T09:31:00Z")));
        assert!(!f.matches(&recent, now()));
        assert!(f.matches(&old, now()));
        // Exactly at the bounds.
        let at = ev("Warning", "BackOff", "a", 20 * 60);
        assert!(build(&[], &s("20m", None)).matches(&at, now()));
        assert!(
            build(
                &[],
                &s("2026-11-28T09:40:00Z", Some("2026-11-28T09:40:00Z"))
            )
            .matches(&at, now())
        );
    }

    #[test]
    fn sugar_errors_name_the_flag() {
        let e = Filter::build(
            &[] as &[&str],
            &Sugar {
                match_message: Some("(Back".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.render(),
            "--match: invalid regex: unclosed group (at column 1)\n  (Back\n  ^^^^^"
        );
        let e = Filter::build(
            &[] as &[&str],
            &Sugar {
                types: vec!["Warning,Eror".into()],
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.render(),
            "--types: unknown event type `Eror`: types are Normal and Warning (at column 9)\n  Warning,Eror\n          ^^^^"
        );
        let e = Filter::build(
            &[] as &[&str],
            &Sugar {
                reasons: vec!["A,,B".into()],
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("--reason: empty value"), "{e}");
        assert!(parse_time_bound("yesterday").is_err());
        assert!(parse_time_bound("-5m").is_err());
    }

    #[test]
    fn time_bounds_parse_and_print() {
        assert_eq!(
            parse_time_bound("90s").unwrap(),
            TimeBound::Ago(Duration::from_secs(90))
        );
        assert_eq!(parse_time_bound("90s").unwrap().to_string(), "1m30s");
        let t = parse_time_bound("2026-11-28T10:00:00+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-28T09:00:00Z");
        assert_eq!(
            "1d".parse::<TimeBound>().unwrap(),
            TimeBound::Ago(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn filters_and_replays_can_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Filter>();
        send_sync::<FieldSelector>();
        send::<crate::source::replay::Replay>();
    }

    #[test]
    fn config_filter_from_the_design() {
        let f = Filter::parse("not reason in (Pulled, Pulling, Created, Started)").unwrap();
        assert!(f.matches(&ev("Warning", "BackOff", "a", 1), now()));
        assert!(!f.matches(&ev("Normal", "Pulled", "a", 1), now()));
        assert_eq!(
            f.field_selector().to_string(),
            "reason!=Pulled,reason!=Pulling,reason!=Created,reason!=Started"
        );
        assert!(Filter::parse("").unwrap().compiled().is_match_all());
    }
}
