//! The pushdown planner: the part of a filter that a core/v1 Event field
//! selector expresses exactly, to send to the apiserver.
//!
//! The whole expression is always evaluated locally, so a selector only has
//! to be *safe*: it may drop only events the local filter drops anyway.
//! [`plan`] takes the top-level conjuncts of the expression (through nested
//! `and`, `not not`, `not (a or b)` and `not x in (...)`) and keeps those
//! that are equalities or inequalities on a selectable field with a plain
//! value (no `*`, not empty, no control characters):
//!
//! | filter field | selector field              | why it is exact                               |
//! |--------------|-----------------------------|-----------------------------------------------|
//! | `reason`     | `reason`                    | same value, compared exactly                  |
//! | `kind`       | `involvedObject.kind`       | 〃                                            |
//! | `name`       | `involvedObject.name`       | 〃                                            |
//! | `apiVersion` | `involvedObject.apiVersion` | 〃                                            |
//! | `fieldPath`  | `involvedObject.fieldPath`  | 〃                                            |
//! | `namespace`  | `metadata.namespace`        | 〃 (the event's namespace, like the filter's) |
//! | `component`  | `source`                    | the apiserver's `source` is `source.component`, else `reportingController` (pkg/registry/core/event/strategy.go `ToSelectableFields`): kev's `component` exactly |
//! | `object=K/N` | `involvedObject.kind=K`, `involvedObject.name=N` | when the value has exactly one `/` and both sides are non-empty (`=` only) |
//! | `type`       | `type`                      | see below                                     |
//!
//! `type` compares case-insensitively in kev and exactly in a selector.
//! `type!=X` is always safe (the server drops only the exact spelling, which
//! kev drops too), pushed as `Normal`/`Warning` when X is one of them in any
//! case, else as written. `type=X` is pushed only when X is `Normal` or
//! `Warning` in any case, as that canonical spelling, as design.md directs.
//! That relies on event types being spelled canonically: events.k8s.io/v1
//! validation enforces `Normal`/`Warning`, but core/v1 creation does not
//! check `type`, so a core/v1 event written with type `WARNING` would be
//! shown by a local-only `type=warning` and not once the selector is pushed.
//! No standard recorder writes such a type.
//!
//! Not pushed: `uid` (the event's `metadata.uid` is not selectable), `host`,
//! `instance`, `action`, `message`, `count`, `age`, globs, regexes, `in`
//! with several values, and anything under `or`. `-n NAMESPACE` is the
//! request path, not a selector; a `namespace=` term still pushes as
//! `metadata.namespace`, which is harmless there.

use std::fmt;

use super::ast::{Expr, Field, Op, Predicate, Value};
use crate::model::Event;

/// A field a core/v1 Event field selector can test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SelectorField {
    /// `type`.
    Type,
    /// `reason`.
    Reason,
    /// `involvedObject.kind`.
    InvolvedObjectKind,
    /// `involvedObject.name`.
    InvolvedObjectName,
    /// `involvedObject.apiVersion`.
    InvolvedObjectApiVersion,
    /// `involvedObject.fieldPath`.
    InvolvedObjectFieldPath,
    /// `metadata.namespace`.
    MetadataNamespace,
    /// `source`: `source.component`, else `reportingController`.
    Source,
}

impl SelectorField {
    /// The key as the apiserver spells it.
    pub fn key(self) -> &'static str {
        match self {
            SelectorField::Type => "type",
            SelectorField::Reason => "reason",
            SelectorField::InvolvedObjectKind => "involvedObject.kind",
            SelectorField::InvolvedObjectName => "involvedObject.name",
            SelectorField::InvolvedObjectApiVersion => "involvedObject.apiVersion",
            SelectorField::InvolvedObjectFieldPath => "involvedObject.fieldPath",
            SelectorField::MetadataNamespace => "metadata.namespace",
            SelectorField::Source => "source",
        }
    }

    /// The field's value for `ev` as the apiserver sees it (missing = empty).
    pub fn value_of(self, ev: &Event) -> &str {
        fn s(o: &Option<String>) -> &str {
            o.as_deref().unwrap_or("")
        }
        match self {
            SelectorField::Type => s(&ev.type_),
            SelectorField::Reason => s(&ev.reason),
            SelectorField::InvolvedObjectKind => s(&ev.object.kind),
            SelectorField::InvolvedObjectName => s(&ev.object.name),
            SelectorField::InvolvedObjectApiVersion => s(&ev.object.api_version),
            SelectorField::InvolvedObjectFieldPath => s(&ev.object.field_path),
            SelectorField::MetadataNamespace => s(&ev.namespace),
            SelectorField::Source => ev.component().unwrap_or(""),
        }
    }
}

/// `=` or `!=` in a field selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SelectorOp {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
}

/// One `field=value` or `field!=value` requirement.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SelectorTerm {
    /// The field.
    pub field: SelectorField,
    /// The operator.
    pub op: SelectorOp,
    /// The value, unescaped.
    pub value: String,
}

/// A conjunction of field-selector terms. `Display` gives the
/// `fieldSelector` query value, values escaped as the apiserver expects
/// (`\\`, `\,`, `\=`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<SelectorTerm>,
}

impl FieldSelector {
    /// Whether there is nothing to push (send no `fieldSelector`).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The terms, in the order the filter wrote them.
    pub fn terms(&self) -> &[SelectorTerm] {
        &self.terms
    }

    /// Whether the apiserver would return `ev` for this selector: every term
    /// compared exactly and case-sensitively, a missing field being empty.
    /// This is the apiserver's semantics, for tests and the fake apiserver.
    pub fn matches(&self, ev: &Event) -> bool {
        self.terms.iter().all(|t| {
            let v = t.field.value_of(ev);
            match t.op {
                SelectorOp::Eq => v == t.value,
                SelectorOp::Ne => v != t.value,
            }
        })
    }

    fn push(&mut self, field: SelectorField, op: SelectorOp, value: &str) {
        let term = SelectorTerm {
            field,
            op,
            value: value.to_string(),
        };
        if !self.terms.contains(&term) {
            self.terms.push(term);
        }
    }
}

/// Escape a value for a field selector: `\`, `,` and `=` get a backslash.
pub fn escape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = match t.op {
                SelectorOp::Eq => "=",
                SelectorOp::Ne => "!=",
            };
            write!(f, "{}{op}{}", t.field.key(), escape_value(&t.value))?;
        }
        Ok(())
    }
}

/// The field selector for `expr` (empty for `None`).
pub fn plan(expr: Option<&Expr>) -> FieldSelector {
    let mut sel = FieldSelector::default();
    if let Some(e) = expr {
        conjuncts(e, false, &mut sel);
    }
    sel
}

/// Walk the top-level conjunction of `e` (negated if `neg`), pushing what is exact.
fn conjuncts(e: &Expr, neg: bool, sel: &mut FieldSelector) {
    match (e, neg) {
        (Expr::And(ts), false) => ts.iter().for_each(|t| conjuncts(t, false, sel)),
        // not (a or b) = not a and not b
        (Expr::Or(ts), true) => ts.iter().for_each(|t| conjuncts(t, true, sel)),
        (Expr::Not(t), _) => conjuncts(t, !neg, sel),
        (Expr::Pred(p), _) => predicate(p, neg, sel),
        // An `or`, or a negated `and`, is a disjunction: nothing is certain.
        (Expr::Or(_), false) | (Expr::And(_), true) => {}
    }
}

fn predicate(p: &Predicate, neg: bool, sel: &mut FieldSelector) {
    match p {
        Predicate::Compare {
            field,
            op: Op::Eq,
            value,
            ..
        } => term(*field, !neg, &value.text, sel),
        Predicate::Compare {
            field,
            op: Op::Ne,
            value,
            ..
        } => term(*field, neg, &value.text, sel),
        Predicate::In { field, values, .. } if values.len() == 1 => {
            term(*field, !neg, &values[0].text, sel)
        }
        // not x in (a, b) = x != a and x != b
        Predicate::In { field, values, .. } if neg => values
            .iter()
            .for_each(|v: &Value| term(*field, false, &v.text, sel)),
        _ => {}
    }
}

/// Push `field = value` (or `!=` when `!eq`) if a selector says it exactly.
fn term(field: Field, eq: bool, value: &str, sel: &mut FieldSelector) {
    if value.is_empty() || value.contains('*') || value.chars().any(char::is_control) {
        return;
    }
    let op = if eq { SelectorOp::Eq } else { SelectorOp::Ne };
    let target = match field {
        Field::Reason => SelectorField::Reason,
        Field::Kind => SelectorField::InvolvedObjectKind,
        Field::Name => SelectorField::InvolvedObjectName,
        Field::ApiVersion => SelectorField::InvolvedObjectApiVersion,
        Field::FieldPath => SelectorField::InvolvedObjectFieldPath,
        Field::Namespace => SelectorField::MetadataNamespace,
        Field::Component => SelectorField::Source,
        Field::Type => {
            let canonical = match value.to_lowercase().as_str() {
                "normal" => Some("Normal"),
                "warning" => Some("Warning"),
                _ => None,
            };
            match (canonical, eq) {
                (Some(c), _) => sel.push(SelectorField::Type, op, c),
                (None, false) => sel.push(SelectorField::Type, op, value),
                (None, true) => {}
            }
            return;
        }
        Field::Object => {
            // `object=Kind/name` is kind and name, when the split is unambiguous.
            // `object!=...` would need an `or`, which a selector cannot say.
            if let (true, Some((k, n))) = (eq, value.split_once('/'))
                && !k.is_empty()
                && !n.is_empty()
                && !n.contains('/')
            {
                sel.push(SelectorField::InvolvedObjectKind, op, k);
                sel.push(SelectorField::InvolvedObjectName, op, n);
            }
            return;
        }
        Field::Message
        | Field::Host
        | Field::Instance
        | Field::Action
        | Field::Uid
        | Field::Count
        | Field::Age => {
            return;
        }
    };
    sel.push(target, op, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;
    use crate::filter::testgen;
    use proptest::prelude::*;

    fn sel(src: &str) -> String {
        Filter::parse(src)
            .unwrap_or_else(|e| panic!("{}", e.render()))
            .field_selector()
            .to_string()
    }

    #[test]
    fn what_is_pushed() {
        let cases: &[(&str, &str)] = &[
            ("type=Warning", "type=Warning"),
            ("type=warning", "type=Warning"),
            ("type=NORMAL", "type=Normal"),
            ("type=Error", ""),
            ("type!=warning", "type!=Warning"),
            ("type!=Error", "type!=Error"),
            ("type=Warn*", ""),
            ("type in (Warning)", "type=Warning"),
            ("type in (Normal, Warning)", ""),
            (
                "kind=Pod reason=BackOff",
                "involvedObject.kind=Pod,reason=BackOff",
            ),
            (
                "name=web-1 ns=payments",
                "involvedObject.name=web-1,metadata.namespace=payments",
            ),
            (
                "apiVersion=apps/v1 fieldPath=\"spec.containers{web}\"",
                "involvedObject.apiVersion=apps/v1,involvedObject.fieldPath=spec.containers{web}",
            ),
            ("component=kubelet", "source=kubelet"),
            ("component!=kubelet", "source!=kubelet"),
            (
                "object=Pod/web-1",
                "involvedObject.kind=Pod,involvedObject.name=web-1",
            ),
            ("object!=Pod/web-1", ""),
            ("object=Pod/a/b", ""),
            ("object=/web", ""),
            ("reason=Back*", ""),
            ("reason=~BackOff", ""),
            ("reason=\"\"", ""),
            ("reason in (A, B)", ""),
            ("not reason in (A, B)", "reason!=A,reason!=B"),
            ("not reason=A", "reason!=A"),
            ("not not reason=A", "reason=A"),
            (
                "not (reason=A or kind=Pod)",
                "reason!=A,involvedObject.kind!=Pod",
            ),
            ("not (reason=A and kind=Pod)", ""),
            ("reason=A or kind=Pod", ""),
            (
                "(reason=A and kind=Pod) and ns=x",
                "reason=A,involvedObject.kind=Pod,metadata.namespace=x",
            ),
            ("reason=A (kind=Pod or kind=Node)", "reason=A"),
            ("host=n1 instance=i action=a msg=m uid=u count=1 age<1m", ""),
            ("reason=A reason=A", "reason=A"),
            ("reason=\"a,b=c\\\\d\"", "reason=a\\,b\\=c\\\\d"),
            // The example in docs/filter.md.
            (
                r#"type=Warning kind=Pod reason=~"^Back" ns!=kube-system"#,
                "type=Warning,involvedObject.kind=Pod,metadata.namespace!=kube-system",
            ),
        ];
        for (src, want) in cases {
            assert_eq!(sel(src), *want, "{src}");
        }
        assert!(plan(None).is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Pushdown only saves work: every event the local filter keeps, the
        /// apiserver (with the pushed selector) returns too, so filtering
        /// with and without pushdown selects the same events.
        #[test]
        fn pushdown_never_changes_results(expr in testgen::valid_expr(), events in prop::collection::vec(testgen::event(), 1..24)) {
            let text = expr.to_string();
            let f = Filter::parse(&text).unwrap();
            let selector = f.field_selector();
            let now = testgen::now();
            for ev in &events {
                let local = f.matches(ev, now);
                prop_assert_eq!(local, selector.matches(ev) && local, "{} with {} on {:?}", text, selector, ev);
            }
        }
    }
}
