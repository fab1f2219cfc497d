//! The workload an event is about: the root of the involved object's owner
//! chain when kev knows it (`--tree` lists the owners), else a guess from
//! the name's generated suffixes, as the controllers make them:
//!
//! | involved object | name | workload |
//! |---|---|---|
//! | Pod | `web-7f9c6d5b8-x2x4z` (ReplicaSet hash, then a suffix) | `Deployment/web` |
//! | Pod | `backup-29360160-x7k2p` (a CronJob's Job, then a suffix) | `CronJob/backup` |
//! | Pod | `db-0` (an ordinal) | `StatefulSet/db` |
//! | Pod | `fluentd-x7k2p` (a suffix: a DaemonSet's, a Job's or a bare ReplicaSet's) | `fluentd-*` (kind unknown) |
//! | ReplicaSet | `web-7f9c6d5b8` | `Deployment/web` |
//! | Job | `backup-29360160` | `CronJob/backup` |
//! | anything else | | itself: `Node/node-05` |
//!
//! Suffixes are the apiserver's alphabet (`bcdfghjklmnpqrstvwxz2456789`,
//! no vowels), so ordinary names rarely look generated.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::model::ObjectRef;

/// A workload: a kind (when known) and a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Workload {
    /// `Deployment`, `StatefulSet`, …; `None` when only the name's shape is
    /// known (shown as `NAME-*`).
    pub kind: Option<String>,
    /// Its name.
    pub name: String,
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Some(k) => write!(f, "{k}/{}", self.name),
            None => write!(f, "{}-*", self.name),
        }
    }
}

const SAFE: &str = "[bcdfghjklmnpqrstvwxz2456789]";

struct Rules {
    deployment_pod: Regex,
    cronjob_pod: Regex,
    ordinal_pod: Regex,
    suffixed_pod: Regex,
    replicaset: Regex,
    cronjob_job: Regex,
}

static RULES: LazyLock<Rules> = LazyLock::new(|| {
    let re = |s: String| Regex::new(&s).expect("workload regex compiles");
    Rules {
        deployment_pod: re(format!("^(.+)-{SAFE}{{6,10}}-{SAFE}{{5}}$")),
        cronjob_pod: re(format!("^(.+)-[0-9]{{8,}}-{SAFE}{{5}}$")),
        ordinal_pod: re("^(.+)-[0-9]+$".to_string()),
        suffixed_pod: re(format!("^(.+)-{SAFE}{{5}}$")),
        replicaset: re(format!("^(.+)-{SAFE}{{6,10}}$")),
        cronjob_job: re("^(.+)-[0-9]{8,}$".to_string()),
    }
});

fn base<'a>(re: &Regex, name: &'a str) -> Option<&'a str> {
    re.captures(name).and_then(|c| c.get(1)).map(|m| m.as_str())
}

/// The workload guessed from the object's kind and name.
pub fn guess(object: &ObjectRef) -> Workload {
    let kind = object.kind.as_deref().unwrap_or("");
    let name = object.name.as_deref().unwrap_or("");
    let r = &*RULES;
    let known = |k: &str, n: &str| Workload {
        kind: Some(k.to_string()),
        name: n.to_string(),
    };
    match kind {
        "Pod" => {
            if let Some(b) = base(&r.cronjob_pod, name) {
                known("CronJob", b)
            } else if let Some(b) = base(&r.deployment_pod, name) {
                known("Deployment", b)
            } else if let Some(b) = base(&r.ordinal_pod, name) {
                known("StatefulSet", b)
            } else if let Some(b) = base(&r.suffixed_pod, name) {
                Workload {
                    kind: None,
                    name: b.to_string(),
                }
            } else {
                known("Pod", name)
            }
        }
        "ReplicaSet" => match base(&r.replicaset, name) {
            Some(b) => known("Deployment", b),
            None => known(kind, name),
        },
        "Job" => match base(&r.cronjob_job, name) {
            Some(b) => known("CronJob", b),
            None => known(kind, name),
        },
        "" => known("<unknown>", name),
        _ => known(kind, name),
    }
}

/// Owners by uid, as `--tree` learns them: each object's controller owner
/// (kind, name, uid).
#[derive(Debug, Default, Clone)]
pub struct Owners {
    by_uid: HashMap<String, (String, String, Option<String>)>,
}

impl Owners {
    /// Record that `uid` (a `kind`/`name`) is owned by `owner` (a uid).
    pub fn insert(&mut self, uid: String, kind: String, name: String, owner: Option<String>) {
        self.by_uid.insert(uid, (kind, name, owner));
    }

    /// The root of `object`'s owner chain, if kev knows its owners.
    pub fn root(&self, object: &ObjectRef) -> Option<Workload> {
        let mut uid = object.uid.as_deref()?;
        let mut found = None;
        // A chain is short (CronJob → Job → Pod); a cycle would be a bug
        // in the cluster, not a reason to hang.
        for _ in 0..16 {
            let Some((kind, name, owner)) = self.by_uid.get(uid) else {
                break;
            };
            found = Some(Workload {
                kind: Some(kind.clone()),
                name: name.clone(),
            });
            match owner {
                Some(o) => uid = o,
                None => break,
            }
        }
        // The object itself is not a workload of its own unless it owns nothing.
        found
    }

    /// Whether any owner is known.
    pub fn is_empty(&self) -> bool {
        self.by_uid.is_empty()
    }
}

/// The workload of `object`: its owners' root when known, else a guess.
pub fn workload(object: &ObjectRef, owners: Option<&Owners>) -> Workload {
    owners
        .and_then(|o| o.root(object))
        .unwrap_or_else(|| guess(object))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: &str, name: &str) -> ObjectRef {
        ObjectRef {
            kind: Some(kind.into()),
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn guesses_follow_the_controllers_names() {
        for (kind, name, want) in [
            ("Pod", "web-7f9c6d5b8-x2x4z", "Deployment/web"),
            (
                "Pod",
                "payments-api-5d8f7c9b4-qq9zt",
                "Deployment/payments-api",
            ),
            ("Pod", "backup-29360160-x7k2p", "CronJob/backup"),
            ("Pod", "db-0", "StatefulSet/db"),
            ("Pod", "kafka-broker-12", "StatefulSet/kafka-broker"),
            ("Pod", "fluentd-x7k2p", "fluentd-*"),
            ("Pod", "standalone", "Pod/standalone"),
            ("ReplicaSet", "web-7f9c6d5b8", "Deployment/web"),
            ("Job", "backup-29360160", "CronJob/backup"),
            ("Job", "migrate", "Job/migrate"),
            ("Node", "node-05", "Node/node-05"),
        ] {
            assert_eq!(guess(&obj(kind, name)).to_string(), want, "{kind}/{name}");
        }
    }

    #[test]
    fn known_owners_win_over_guesses() {
        let mut o = Owners::default();
        o.insert("d".into(), "Deployment".into(), "frontend".into(), None);
        o.insert(
            "rs".into(),
            "ReplicaSet".into(),
            "frontend-abc".into(),
            Some("d".into()),
        );
        o.insert(
            "p".into(),
            "Pod".into(),
            "frontend-abc-1".into(),
            Some("rs".into()),
        );
        let mut pod = obj("Pod", "frontend-abc-1");
        pod.uid = Some("p".into());
        assert_eq!(workload(&pod, Some(&o)).to_string(), "Deployment/frontend");
        // Unknown to the owners: guessed.
        assert_eq!(workload(&pod, None).to_string(), "StatefulSet/frontend-abc");
    }
}
