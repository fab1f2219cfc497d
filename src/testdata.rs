//! Test data for kev's unit tests: kev_testkit's generated core/v1 Events,
//! read into kev's model, with the delivery context a record would carry.
//!
//! The generator lives in the kev-testkit crate and speaks JSON (it must not
//! depend on kev); this is the one place kev's tests turn its events into
//! `(Event, RecordContext)` pairs, or into the raw Event JSON a dump of
//! `kubectl get events` holds (either API version), so the filter
//! differential test and the replay tests read the same corpus the same way.

use chrono::{DateTime, TimeDelta, Utc};
use kev_testkit::EventGenerator;
use serde_json::Value;

use crate::model::record::WatchType;
use crate::model::{Event, RecordContext, WireEvent};

/// The time the corpus is generated around (kev_testkit's `DEFAULT_NOW`).
pub(crate) fn now() -> DateTime<Utc> {
    kev_testkit::default_now()
}

/// The standard corpus ([`EventGenerator::standard`]: seed 42, 11
/// namespaces, last seen within three hours of [`now`], a few odd events)
/// as records, endlessly.
pub(crate) fn corpus() -> impl Iterator<Item = (Event, RecordContext)> {
    EventGenerator::standard()
        .iter()
        .enumerate()
        .map(|(i, v)| record(i, v))
}

/// The same corpus as raw Event JSON, each event as an item of `kubectl get
/// events -o json` (with `apiVersion` and `kind`): [`corpus`]'s `i`-th item
/// is [`record`]`(i, raw_corpus()[i])`.
pub(crate) fn raw_corpus() -> impl Iterator<Item = Value> {
    EventGenerator::standard().iter().map(as_list_item)
}

/// A generated core/v1 Event as a list item: with `apiVersion` and `kind`,
/// which the generator leaves out (the fake apiserver adds them).
pub(crate) fn as_list_item(mut event: Value) -> Value {
    if let Value::Object(m) = &mut event {
        m.insert("apiVersion".into(), "v1".into());
        m.insert("kind".into(), "Event".into());
    }
    event
}

/// A core/v1 Event as events.k8s.io/v1 serves the same object: `regarding`,
/// `note`, `reportingController` and the `deprecated*` names.
pub(crate) fn as_events_v1(mut event: Value) -> Value {
    const RENAMES: [(&str, &str); 7] = [
        ("involvedObject", "regarding"),
        ("message", "note"),
        ("source", "deprecatedSource"),
        ("reportingComponent", "reportingController"),
        ("count", "deprecatedCount"),
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
    ];
    if let Value::Object(m) = &mut event {
        for (core, events) in RENAMES {
            if let Some(v) = m.remove(core) {
                m.insert(events.into(), v);
            }
        }
        if m.contains_key("apiVersion") {
            m.insert("apiVersion".into(), "events.k8s.io/v1".into());
        }
    }
    event
}

/// One generated event as kev reads it, with a varied context: most records
/// come from a watch (`ADDED`, or `MODIFIED` for a repeated event) of
/// cluster `prod-eu`, observed a little after the event was last seen; one
/// in ten from a list with no cluster label.
pub(crate) fn record(i: usize, event: Value) -> (Event, RecordContext) {
    let event = Event::from(serde_json::from_value::<WireEvent>(event).expect("generated event"));
    let from_list = i % 10 == 9;
    let context = RecordContext {
        cluster: (!from_list).then(|| "prod-eu".to_string()),
        watch_type: (!from_list).then_some(if event.count > 1 {
            WatchType::Modified
        } else {
            WatchType::Added
        }),
        observed_at: event
            .last_seen
            .map(|t| t + TimeDelta::milliseconds(5 + (i as i64 * 7919) % 900)),
    };
    (event, context)
}

/// How many cases a fuzz property runs: `default`, which keeps `cargo test`
/// to a second or so, or `PROPTEST_CASES` when set, for a longer run
/// (`PROPTEST_CASES=100000 cargo test --release --lib fuzz`). proptest
/// reads that variable only when a test sets no count of its own.
pub fn fuzz_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kev makes of the generator's JSON: the testkit checks its events
    /// as JSON, this checks them through kev's model.
    #[test]
    fn raw_corpus_is_the_corpus_and_reads_the_same_as_events_v1() {
        for (i, (raw, (event, context))) in raw_corpus().zip(corpus()).take(500).enumerate() {
            assert_eq!(raw["kind"], "Event");
            assert_eq!(record(i, raw.clone()), (event.clone(), context));
            let v1 = as_events_v1(raw);
            assert!(v1.get("involvedObject").is_none() && v1.get("regarding").is_some());
            assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
            assert_eq!(record(i, v1).0, event);
        }
    }

    #[test]
    fn generated_events_read_into_the_model() {
        let events: Vec<_> = corpus().take(5000).map(|(e, _)| e).collect();
        let mut no_last_seen = 0;
        for e in &events {
            assert!(e.count >= 1, "{e:?}");
            assert!(!e.uid.is_empty() && !e.name.is_empty(), "{e:?}");
            match (e.first_seen, e.last_seen) {
                (Some(first), Some(last)) => {
                    assert!(first <= last, "{e:?}");
                    assert!(
                        last <= now() && now() - last <= TimeDelta::hours(3),
                        "{e:?}"
                    );
                }
                (None, None) => no_last_seen += 1,
                other => panic!("{other:?} in {e:?}"),
            }
        }
        assert!((1..50).contains(&no_last_seen), "{no_last_seen}");
        let series = events.iter().filter(|e| e.series.is_some()).count();
        assert!(series > 50, "{series}");
        let sourced = events.iter().filter(|e| e.source.is_some()).count();
        assert!(
            (2500..4000).contains(&sourced),
            "{sourced} legacy-recorder events"
        );
    }
}
