//! proptest strategies shared by the filter's property tests: syntax trees
//! (any text as values, for print ∘ parse), valid filters (values that suit
//! their fields, for evaluation), and events drawn from pools that overlap
//! the filters' values so that both outcomes occur.

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;

use super::ast::{Expr, Field, Op, Predicate, Span, Value};
use crate::model::{Event, EventSource, ObjectRef};

/// The "now" every generated event and filter is evaluated at.
pub fn now() -> DateTime<Utc> {
    "2026-11-28T10:00:00Z".parse().unwrap()
}

fn field() -> impl Strategy<Value = Field> {
    prop::sample::select(Field::ALL.to_vec())
}

fn op() -> impl Strategy<Value = Op> {
    prop::sample::select(Op::ALL.to_vec())
}

fn pred_expr(p: Predicate) -> Expr {
    Expr::Pred(p)
}

fn combine(leaf: BoxedStrategy<Expr>) -> BoxedStrategy<Expr> {
    leaf.prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
    .boxed()
}

/// Any text, weighted towards the characters the lexer treats specially.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_.:/*-]{1,12}",
        r#"[ a-z"'\\(),=!~<>&|#{}]{0,10}"#,
        any::<String>(),
        Just("and".to_string()),
        Just("or".to_string()),
        Just("not".to_string()),
        Just("in".to_string()),
        Just(String::new()),
        Just("\\".to_string()),
        Just("\\\"".to_string()),
    ]
}

/// Syntax trees with any values and any operator on any field: everything
/// the parser can produce (not necessarily compilable).
pub fn syntax_expr() -> BoxedStrategy<Expr> {
    let compare = (field(), op(), any_text()).prop_map(|(field, op, v)| {
        pred_expr(Predicate::Compare {
            field,
            field_span: Span::default(),
            op,
            value: Value::new(v),
        })
    });
    let within = (field(), prop::collection::vec(any_text(), 1..4)).prop_map(|(field, vs)| {
        pred_expr(Predicate::In {
            field,
            field_span: Span::default(),
            values: vs.into_iter().map(Value::new).collect(),
        })
    });
    combine(prop_oneof![3 => compare, 1 => within].boxed())
}

const TYPES: &[&str] = &[
    "Normal", "Warning", "warning", "WARNING", "normal", "Error", "Warn*", "*", "",
];
const REASONS: &[&str] = &[
    "BackOff",
    "Failed",
    "Pulled",
    "FailedScheduling",
    "Back*",
    "*Failed*",
    "",
    "a,b=c",
    "Back off",
];
const KINDS: &[&str] = &["Pod", "Node", "Deployment", "P*", "pod"];
const NAMES: &[&str] = &["web-1", "web-2", "api", "web-*"];
const NAMESPACES: &[&str] = &["payments", "checkout", "kube-system", "pay*"];
const OBJECTS: &[&str] = &["Pod/web-1", "Node/node-1", "Pod/*", "/", "Deployment/api"];
const MESSAGES: &[&str] = &[
    "Back-off restarting failed container",
    "*probe failed*",
    "",
    "*",
];
const COMPONENTS: &[&str] = &["kubelet", "default-scheduler", "", "kube*"];
const HOSTS: &[&str] = &["node-1", "node-2", "", "node-*"];
const INSTANCES: &[&str] = &["node-1", "kubelet-node-2", ""];
const ACTIONS: &[&str] = &["Pulling", "Scheduling", ""];
const API_VERSIONS: &[&str] = &["v1", "apps/v1", ""];
const FIELD_PATHS: &[&str] = &["spec.containers{web}", "", "spec.*"];
const UIDS: &[&str] = &["u1", "u2", "u*"];
const REGEXES: &[&str] = &[
    "^Back",
    "failed",
    "(?i)WARN",
    "^$",
    "web-[12]",
    ".*",
    r"\d+",
    "^(BackOff|Failed)$",
    "probe|image",
    "^[A-Z]",
];
const COUNTS: &[&str] = &["0", "1", "2", "5", "10", "20", "-1"];
const DURATIONS: &[&str] = &["0s", "30s", "5m", "10m", "1h", "1h30m", "2h", "1d"];

fn string_values(f: Field) -> &'static [&'static str] {
    match f {
        Field::Type => TYPES,
        Field::Reason => REASONS,
        Field::Kind => KINDS,
        Field::Name => NAMES,
        Field::Namespace => NAMESPACES,
        Field::Object => OBJECTS,
        Field::Message => MESSAGES,
        Field::Component => COMPONENTS,
        Field::Host => HOSTS,
        Field::Instance => INSTANCES,
        Field::Action => ACTIONS,
        Field::ApiVersion => API_VERSIONS,
        Field::FieldPath => FIELD_PATHS,
        Field::Uid => UIDS,
        Field::Count => COUNTS,
        Field::Age => DURATIONS,
    }
}

fn valid_pred(f: Field) -> BoxedStrategy<Expr> {
    let values = string_values(f);
    let val = move || prop::sample::select(values).prop_map(Value::new);
    let within = prop::collection::vec(val(), 1..4).prop_map(move |values| {
        pred_expr(Predicate::In {
            field: f,
            field_span: Span::default(),
            values,
        })
    });
    let ops: Vec<Op> = match f {
        Field::Count | Field::Age => vec![Op::Eq, Op::Ne, Op::Gt, Op::Ge, Op::Lt, Op::Le],
        _ => vec![Op::Eq, Op::Ne],
    };
    let compare = (prop::sample::select(ops), val()).prop_map(move |(op, value)| {
        pred_expr(Predicate::Compare {
            field: f,
            field_span: Span::default(),
            op,
            value,
        })
    });
    match f {
        Field::Count | Field::Age => prop_oneof![3 => compare, 1 => within].boxed(),
        _ => {
            let regex = (
                prop::sample::select(vec![Op::Match, Op::NotMatch]),
                prop::sample::select(REGEXES),
            )
                .prop_map(move |(op, r)| {
                    pred_expr(Predicate::Compare {
                        field: f,
                        field_span: Span::default(),
                        op,
                        value: Value::new(r),
                    })
                });
            prop_oneof![3 => compare, 1 => within, 1 => regex].boxed()
        }
    }
}

/// Filters whose values suit their fields (they compile).
pub fn valid_expr() -> BoxedStrategy<Expr> {
    combine(field().prop_flat_map(valid_pred).boxed())
}

fn opt(pool: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(pool).prop_map(str::to_string))
}

/// Event types the apiserver's recorders write (see pushdown's caveat on case).
const EVENT_TYPES: &[&str] = &["Normal", "Warning", "Error"];
const EVENT_REASONS: &[&str] = &[
    "BackOff",
    "Failed",
    "Pulled",
    "FailedScheduling",
    "a,b=c",
    "Back off",
    "Started",
];
const EVENT_KINDS: &[&str] = &["Pod", "Node", "Deployment"];
const EVENT_NAMES: &[&str] = &["web-1", "web-2", "api", "node-1"];
const EVENT_MESSAGES: &[&str] = &[
    "Back-off restarting failed container",
    "Readiness probe failed: HTTP probe failed with statuscode: 503",
    "Successfully pulled image \"web:v2\" in 1.2s",
    "0/12 nodes are available: 3 Insufficient cpu",
];

fn event_with(types: &'static [&'static str]) -> impl Strategy<Value = Event> {
    let ids = (
        opt(types),
        opt(EVENT_REASONS),
        opt(EVENT_KINDS),
        opt(EVENT_NAMES),
        opt(&["payments", "checkout", "kube-system"]),
    );
    let more = (
        opt(EVENT_MESSAGES),
        opt(&["kubelet", "default-scheduler"]),
        opt(&["kubelet", "default-scheduler", "replicaset-controller"]),
        opt(&["node-1", "node-2"]),
        opt(&["node-1", "kubelet-node-2"]),
        opt(&["Pulling", "Scheduling"]),
    );
    let rest = (
        opt(&["v1", "apps/v1"]),
        opt(&["spec.containers{web}"]),
        prop::sample::select(&["u1", "u2", "u3"][..]),
        1i64..25,
        prop::option::of(-5i64..9000),
        0u32..1000,
    );
    (ids, more, rest).prop_map(
        |(
            (ty, reason, kind, name, ns),
            (message, component, controller, host, instance, action),
            (api, fp, uid, count, ago, ms),
        )| {
            let source =
                (component.is_some() || host.is_some()).then_some(EventSource { component, host });
            Event {
                uid: uid.to_string(),
                resource_version: "1".into(),
                namespace: ns,
                name: "ev".into(),
                type_: ty,
                reason,
                message,
                object: ObjectRef {
                    kind,
                    name,
                    api_version: api,
                    field_path: fp,
                    ..Default::default()
                },
                related: None,
                source,
                reporting_controller: controller,
                reporting_instance: instance,
                action,
                count,
                first_seen: None,
                last_seen: ago.map(|s| {
                    now() - TimeDelta::seconds(s) - TimeDelta::milliseconds(i64::from(ms))
                }),
                event_time: None,
                series: None,
            }
        },
    )
}

/// Events as the apiserver stores them (types spelled canonically).
pub fn event() -> impl Strategy<Value = Event> {
    event_with(EVENT_TYPES)
}

/// Events including oddly cased types, which only kev's local evaluation sees differently.
pub fn any_event() -> impl Strategy<Value = Event> {
    event_with(&["Normal", "Warning", "warning", "WARNING", "normal", "Error"])
}
