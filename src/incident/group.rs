//! Events grouped by what is going wrong: cluster, namespace, type, reason,
//! workload and message shape, ranked by occurrences.
//!
//! A group's COUNT is the sum, over its events, of each event's latest
//! `count` (the occurrences the reporting component aggregated into it; 1
//! when it says none). An event seen again with a higher count (an update)
//! adds the difference, so the counts of all groups add up to the
//! occurrences of the distinct events selected, however many updates of
//! each were read. An event whose update changes its group (a new reason)
//! moves with its count.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::normalize::Shapes;
use super::workload::{Owners, Workload, workload};
use crate::model::Occurrence;

/// What makes a group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    /// The cluster label, when several are read.
    pub cluster: Option<Arc<str>>,
    /// The event's namespace.
    pub namespace: Option<String>,
    /// `Normal`, `Warning`.
    pub type_: Option<String>,
    /// The reason.
    pub reason: Option<String>,
    /// The workload of the involved object.
    pub workload: Workload,
    /// The message with its variable parts normalised.
    pub shape: Arc<str>,
}

/// One group.
#[derive(Clone, Debug)]
pub struct Group {
    /// Its key.
    pub key: GroupKey,
    /// Its index in the summary (stable while the summary lives).
    pub index: usize,
    /// Occurrences: the sum of its events' latest counts.
    pub count: i64,
    /// Distinct events.
    pub events: usize,
    /// Distinct involved objects.
    pub objects: usize,
    /// The earliest first seen of its events.
    pub first_seen: Option<DateTime<Utc>>,
    /// The latest last seen.
    pub last_seen: Option<DateTime<Utc>>,
    /// The message of its latest event, as written.
    pub example: String,
    /// That event's involved object, `Kind/name`.
    pub example_object: String,
    object_set: HashSet<(Option<String>, Option<String>, Option<String>)>,
}

impl Group {
    fn new(key: GroupKey, index: usize) -> Group {
        Group {
            key,
            index,
            count: 0,
            events: 0,
            objects: 0,
            first_seen: None,
            last_seen: None,
            example: String::new(),
            example_object: String::new(),
            object_set: HashSet::new(),
        }
    }

    /// Whether it is a Warning group.
    pub fn is_warning(&self) -> bool {
        self.key.type_.as_deref() == Some("Warning")
    }
}

/// Groups being built; see the module docs.
#[derive(Debug, Default)]
pub struct Summary {
    groups: Vec<Group>,
    index: HashMap<GroupKey, usize>,
    /// Per event uid: its group and the count it contributes.
    events: HashMap<String, (usize, i64)>,
    shapes: Shapes,
    owners: Option<Owners>,
}

impl Summary {
    /// An empty summary; `owners` (from `--tree`) name workloads exactly.
    pub fn new(owners: Option<Owners>) -> Summary {
        Summary {
            owners,
            ..Summary::default()
        }
    }

    /// Replace the known owners (a `--tree` that learnt new children).
    pub fn set_owners(&mut self, owners: Owners) {
        self.owners = Some(owners);
    }

    /// The key `occ` belongs to.
    pub fn key_of(&mut self, occ: &Occurrence) -> GroupKey {
        let e = &occ.event;
        let message = e.message.as_deref().unwrap_or("");
        GroupKey {
            cluster: occ.context.cluster.as_deref().map(Arc::from),
            namespace: e.namespace.clone(),
            type_: e.type_.clone(),
            reason: e.reason.clone(),
            workload: workload(&e.object, self.owners.as_ref()),
            shape: self.shapes.of(message, e.object.name.as_deref()),
        }
    }

    /// Add an occurrence; returns its group's index.
    pub fn add(&mut self, occ: &Occurrence) -> usize {
        let key = self.key_of(occ);
        let e = &occ.event;
        let at = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                let i = self.groups.len();
                self.index.insert(key.clone(), i);
                self.groups.push(Group::new(key, i));
                i
            }
        };
        let count = e.count.max(1);
        match self.events.get(&e.uid).copied() {
            Some((g, c)) if g == at => {
                // An update: its latest count counts.
                self.groups[at].count += count.max(c) - c;
                self.events.insert(e.uid.clone(), (at, count.max(c)));
            }
            Some((g, c)) => {
                // It moved: take it out of its old group.
                self.groups[g].count -= c;
                self.groups[g].events -= 1;
                self.groups[at].count += count;
                self.groups[at].events += 1;
                self.events.insert(e.uid.clone(), (at, count));
            }
            None => {
                self.groups[at].count += count;
                self.groups[at].events += 1;
                self.events.insert(e.uid.clone(), (at, count));
            }
        }
        let g = &mut self.groups[at];
        let object = (
            e.object.kind.clone(),
            e.object.namespace.clone(),
            e.object.name.clone(),
        );
        if g.object_set.insert(object) {
            g.objects = g.object_set.len();
        }
        let first = e.first_seen.or(e.last_seen);
        if first.is_some() && (g.first_seen.is_none() || first < g.first_seen) {
            g.first_seen = first;
        }
        if e.last_seen >= g.last_seen {
            g.last_seen = e.last_seen;
            g.example = e.message.clone().unwrap_or_default();
            g.example_object = e.object.display_name();
        }
        at
    }

    /// The groups, ranked: most occurrences first, then the most recent.
    /// Groups an update emptied are left out.
    pub fn ranked(&self) -> Vec<&Group> {
        let mut v: Vec<&Group> = self.groups.iter().filter(|g| g.events > 0).collect();
        v.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(b.last_seen.cmp(&a.last_seen))
                .then_with(|| a.key.cmp(&b.key))
        });
        v
    }

    /// Group `i`.
    pub fn group(&self, i: usize) -> &Group {
        &self.groups[i]
    }

    /// The sum of all groups' counts.
    pub fn total(&self) -> i64 {
        self.groups.iter().map(|g| g.count).sum()
    }

    /// Forget event `uid` (its count stays in its group): a later update of
    /// it would count in full. For events the apiserver has dropped.
    pub fn forget(&mut self, uid: &str) {
        self.events.remove(uid);
    }

    /// Distinct events added.
    pub fn events(&self) -> usize {
        self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, ObjectRef, RecordContext};

    fn occ(uid: &str, pod: &str, reason: &str, message: &str, count: i64) -> Occurrence {
        let t = |m: i64| Some(DateTime::from_timestamp(1_800_000_000 + m * 60, 0).unwrap());
        Occurrence::new(
            Event {
                uid: uid.into(),
                resource_version: format!("{uid}-{count}"),
                namespace: Some("payments".into()),
                name: format!("{pod}.1"),
                type_: Some("Warning".into()),
                reason: Some(reason.into()),
                message: Some(message.into()),
                object: ObjectRef {
                    kind: Some("Pod".into()),
                    namespace: Some("payments".into()),
                    name: Some(pod.into()),
                    ..Default::default()
                },
                count,
                first_seen: t(0),
                last_seen: t(count),
                ..Default::default()
            },
            RecordContext::default(),
        )
    }

    #[test]
    fn pods_of_one_replicaset_with_the_same_complaint_are_one_group() {
        let mut s = Summary::new(None);
        for (uid, pod) in [
            ("a", "web-7f9c6d5b8-x2x4z"),
            ("b", "web-7f9c6d5b8-qq9zt"),
            ("c", "web-7f9c6d5b8-m4n5p"),
        ] {
            s.add(&occ(
                uid,
                pod,
                "BackOff",
                &format!("Back-off restarting failed container web in pod {pod}_payments(8c1a5e3e-1b2c-4d5e-8f90-0a1b2c3d4e5f)"),
                3,
            ));
        }
        s.add(&occ(
            "d",
            "db-0",
            "FailedMount",
            "MountVolume.SetUp failed for volume \"data\"",
            1,
        ));
        let r = s.ranked();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].key.workload.to_string(), "Deployment/web");
        assert_eq!((r[0].count, r[0].events, r[0].objects), (9, 3, 3));
        assert_eq!(
            &*r[0].key.shape,
            "Back-off restarting failed container web in pod <object>_payments(<uid>)"
        );
        assert_eq!(r[1].key.workload.to_string(), "StatefulSet/db");
        assert_eq!(s.total(), 10);
    }

    #[test]
    fn updates_count_their_latest_count_once_and_moves_move_it() {
        let mut s = Summary::new(None);
        s.add(&occ(
            "a",
            "web-7f9c6d5b8-x2x4z",
            "BackOff",
            "back-off 10s",
            3,
        ));
        s.add(&occ(
            "a",
            "web-7f9c6d5b8-x2x4z",
            "BackOff",
            "back-off 20s",
            5,
        ));
        // An older update arriving late changes nothing.
        s.add(&occ(
            "a",
            "web-7f9c6d5b8-x2x4z",
            "BackOff",
            "back-off 20s",
            4,
        ));
        assert_eq!(
            (s.total(), s.ranked()[0].count, s.ranked()[0].events),
            (5, 5, 1)
        );
        s.add(&occ("a", "web-7f9c6d5b8-x2x4z", "Failed", "failed", 6));
        let r = s.ranked();
        assert_eq!(r.len(), 1, "the emptied group is gone");
        assert_eq!(
            (r[0].key.reason.as_deref(), r[0].count),
            (Some("Failed"), 6)
        );
        assert_eq!(s.total(), 6);
    }
}
