//! Events as real recorders write them, built as raw JSON ([`Ev`]), and what
//! the apiserver answered when one was written ([`Created`]).
//!
//! Times: tests place events at whole minutes plus 30 seconds before a
//! [`base_time`] taken just before writing, so that an age printed a few
//! seconds later (`50m`, `20m (x7 over 80m)`) is the same whenever it is
//! printed within the next half minute; [`ago`] builds those times.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{Value, json};

/// The object an event is about.
#[derive(Clone, Debug)]
pub struct Obj {
    /// `Pod`, `Deployment`, ...
    pub kind: &'static str,
    /// `v1`, `apps/v1`, ...
    pub api_version: &'static str,
    /// Object name.
    pub name: String,
}

impl Obj {
    /// A Pod.
    pub fn pod(name: &str) -> Obj {
        Obj {
            kind: "Pod",
            api_version: "v1",
            name: name.into(),
        }
    }

    /// A Deployment (apps/v1).
    pub fn deployment(name: &str) -> Obj {
        Obj {
            kind: "Deployment",
            api_version: "apps/v1",
            name: name.into(),
        }
    }

    /// A ReplicaSet (apps/v1).
    pub fn replicaset(name: &str) -> Obj {
        Obj {
            kind: "ReplicaSet",
            api_version: "apps/v1",
            name: name.into(),
        }
    }
}

/// Which API group an event is written through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// core/v1 (`/api/v1`): the legacy recorder.
    Core,
    /// events.k8s.io/v1: the newer recorder.
    EventsV1,
}

/// An event to write, as JSON.
#[derive(Clone, Debug)]
pub struct Ev {
    group: Group,
    json: Value,
}

impl Ev {
    /// A core/v1 event (Normal, reason `Tested`, source `kev-e2e`), without
    /// timestamps until [`Ev::legacy`] or [`Ev::event_time`] adds some.
    pub fn core(name: &str, obj: &Obj) -> Ev {
        Ev {
            group: Group::Core,
            json: json!({
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": name},
                "involvedObject": {"kind": obj.kind, "apiVersion": obj.api_version, "name": obj.name},
                "type": "Normal",
                "reason": "Tested",
                "message": format!("core event {name}"),
                "source": {"component": "kev-e2e"},
            }),
        }
    }

    /// An events.k8s.io/v1 event (Normal, reason `Tested`, reported by
    /// `kev-e2e/recorder`) with `eventTime` set to `event_time`, which that
    /// API requires.
    pub fn v1(name: &str, obj: &Obj, event_time: DateTime<Utc>) -> Ev {
        Ev {
            group: Group::EventsV1,
            json: json!({
                "apiVersion": "events.k8s.io/v1",
                "kind": "Event",
                "metadata": {"name": name},
                "regarding": {"kind": obj.kind, "apiVersion": obj.api_version, "name": obj.name},
                "type": "Normal",
                "reason": "Tested",
                "note": format!("events.k8s.io event {name}"),
                "eventTime": micros(event_time),
                "reportingController": "kev-e2e/recorder",
                "reportingInstance": "kev-e2e-1",
                "action": "Testing",
            }),
        }
    }

    /// The API group it is written through.
    pub fn group(&self) -> Group {
        self.group
    }

    /// Set `type`.
    pub fn ty(mut self, t: &str) -> Ev {
        self.json["type"] = json!(t);
        self
    }

    /// Set `reason`.
    pub fn reason(mut self, r: &str) -> Ev {
        self.json["reason"] = json!(r);
        self
    }

    /// Set the message (`message`, or `note` for events.k8s.io/v1).
    pub fn message(mut self, m: &str) -> Ev {
        let key = match self.group {
            Group::Core => "message",
            Group::EventsV1 => "note",
        };
        self.json[key] = json!(m);
        self
    }

    /// The legacy recorder's fields: `count`, `firstTimestamp`, `lastTimestamp`
    /// (whole seconds, as metav1.Time stores them).
    pub fn legacy(mut self, count: i64, first: DateTime<Utc>, last: DateTime<Utc>) -> Ev {
        assert_eq!(
            self.group,
            Group::Core,
            "events.k8s.io/v1 refuses deprecated*"
        );
        self.json["count"] = json!(count);
        self.json["firstTimestamp"] = json!(secs(first));
        self.json["lastTimestamp"] = json!(secs(last));
        self
    }

    /// Set `eventTime` (microseconds). On core/v1 this also sets what the
    /// apiserver then requires: `reportingComponent`, `reportingInstance`, `action`.
    pub fn event_time(mut self, t: DateTime<Utc>) -> Ev {
        self.json["eventTime"] = json!(micros(t));
        if self.group == Group::Core {
            self.json["reportingComponent"] = json!("kev-e2e/recorder");
            self.json["reportingInstance"] = json!("kev-e2e-1");
            self.json["action"] = json!("Testing");
        }
        self
    }

    /// The newer recorder's `series`.
    pub fn series(mut self, count: i64, last_observed: DateTime<Utc>) -> Ev {
        self.json["series"] = json!({"count": count, "lastObservedTime": micros(last_observed)});
        self
    }

    /// The JSON to POST into namespace `ns` (the involved object lives there too).
    pub fn to_json(&self, ns: &str) -> Value {
        let mut v = self.json.clone();
        v["metadata"]["namespace"] = json!(ns);
        let obj = match self.group {
            Group::Core => "involvedObject",
            Group::EventsV1 => "regarding",
        };
        v[obj]["namespace"] = json!(ns);
        v
    }
}

/// What the apiserver returned for a write.
#[derive(Clone, Debug)]
pub struct Created {
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.resourceVersion`.
    pub resource_version: String,
    /// `metadata.creationTimestamp`, as written by the apiserver.
    pub creation_timestamp: String,
}

impl Created {
    /// From the apiserver's response to a create or patch.
    pub fn from_response(v: Value) -> Created {
        let m = &v["metadata"];
        let s = |k: &str| {
            m[k].as_str()
                .unwrap_or_else(|| panic!("no metadata.{k} in {v}"))
                .to_string()
        };
        Created {
            uid: s("uid"),
            resource_version: s("resourceVersion"),
            creation_timestamp: s("creationTimestamp"),
        }
    }

    /// The occurrence `(uid, resourceVersion)`.
    pub fn occ(&self) -> super::Occ {
        (self.uid.clone(), self.resource_version.clone())
    }
}

/// Now, truncated to whole seconds: the reference for [`ago`].
pub fn base_time() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// `base` minus `minutes` minutes and 30 seconds: a time whose age reads
/// `<minutes>m` (for 10 to 179 minutes) for half a minute after `base`.
pub fn ago(base: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    base - Duration::minutes(minutes) - Duration::seconds(30)
}

/// RFC 3339 with whole seconds, as metav1.Time is written.
pub fn secs(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// RFC 3339 with microseconds, as metav1.MicroTime is written.
pub fn micros(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// RFC 3339 as kev's records write it (Go's RFC3339Nano: the fraction's
/// trailing zeros trimmed).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    let s = t.format("%Y-%m-%dT%H:%M:%S%.9f").to_string();
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}Z")
}

/// `t` plus 123456 microseconds: a MicroTime whose fraction survives every
/// formatting step (no trailing zeros to trim).
pub fn micro(t: DateTime<Utc>) -> DateTime<Utc> {
    t + Duration::microseconds(123_456)
}
