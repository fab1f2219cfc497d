//! Criterion benchmark of filter evaluation: compiled expressions over 10,000
//! realistic events from kev_testkit's standard corpus
//! (`EventGenerator::standard`), read into kev's model, reported per event.
//!
//! `cargo bench --bench filter`; compare runs with criterion's saved baselines.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kev::filter::{Filter, Sugar, parse_time_bound};
use kev::model::{Event, WireEvent};
use kev_testkit::{DEFAULT_NOW, EventGenerator};

/// The expressions measured: the replay benchmark's, and one per kind of work.
const EXPRESSIONS: &[(&str, &str)] = &[
    (
        "issue4_bench",
        r#"type=Warning reason=~"^(BackOff|Failed)""#,
    ),
    ("type_eq", "type=Warning"),
    (
        "reason_in",
        "reason in (BackOff, Failed, Unhealthy, FailedScheduling)",
    ),
    (
        "noise_cut",
        "not reason in (Pulled, Pulling, Created, Started, Scheduled)",
    ),
    ("glob_name", "name=payments-api-*"),
    ("object_glob", "object=Pod/checkout-*"),
    ("message_regex", r#"msg=~"(?i)probe failed|image""#),
    ("count_age", "count>5 age<30m"),
    (
        "incident",
        r#"type=Warning ns in (payments, checkout) reason!=Unhealthy msg=~"(?i)image" age<=20m"#,
    ),
];

fn corpus() -> Vec<Event> {
    EventGenerator::standard()
        .iter()
        .take(10_000)
        .map(|v| Event::from(serde_json::from_value::<WireEvent>(v).expect("a generated event")))
        .collect()
}

fn bench_filters(c: &mut Criterion) {
    let events = corpus();
    let now: DateTime<Utc> = DEFAULT_NOW.parse().expect("DEFAULT_NOW is RFC 3339");
    let mut group = c.benchmark_group("filter");
    group.throughput(Throughput::Elements(events.len() as u64));
    for (name, expr) in EXPRESSIONS {
        let f = Filter::parse(expr).expect("benchmark expressions are valid");
        group.bench_function(*name, |b| {
            b.iter(|| {
                events
                    .iter()
                    .filter(|e| f.matches(black_box(e), now))
                    .count()
            })
        });
    }
    let sugar = Sugar {
        types: vec!["Warning".into()],
        since: Some(parse_time_bound("30m").expect("valid duration")),
        ..Sugar::default()
    };
    let f = Filter::build(&["ns=payments"], &sugar).expect("valid");
    group.bench_function("flags_types_since", |b| {
        b.iter(|| {
            events
                .iter()
                .filter(|e| f.matches(black_box(e), now))
                .count()
        })
    });
    group.finish();

    c.bench_function("compile/issue4_bench", |b| {
        b.iter(|| Filter::parse(black_box(EXPRESSIONS[0].1)).expect("valid"))
    });
}

criterion_group!(benches, bench_filters);
criterion_main!(benches);
