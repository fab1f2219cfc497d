//! The dedupe stage: the same `(uid, resourceVersion)` never passes twice.
//!
//! An event is updated in place, so kev keeps, per event uid, the
//! resourceVersion (and count) it last let through. An occurrence whose uid
//! is known at the same resourceVersion is a repeat — what a relist after
//! `410 Gone`, or a resume from a state file, shows again — and is dropped.
//! A new resourceVersion is a new occurrence and passes.
//!
//! The memory is bounded two ways:
//!
//! - **by the event TTL**: an entry is pruned once the event it remembers
//!   must have expired on the apiserver: `ttl` (plus a grace period for the
//!   apiserver's lease reuse) after kev *observed* that version. The write
//!   happened before kev saw it, so it expired before then; after pruning the
//!   same version can never come back.
//! - **by a hard cap**: past `cap` entries the oldest are evicted, each
//!   counted ([`DedupeStats::evicted_cap`]) and logged (at most once a
//!   minute): an evicted event seen again in a relist would be delivered
//!   again.
//!
//! When a relist shows an event whose count jumped by more than one since
//! kev last let it through, the updates in between were never observable one
//! by one (they were superseded while kev was not watching): they are
//! counted as coalesced and logged.
//!
//! Each entry also remembers the version every sink has *acknowledged*
//! ([`Dedupe::ack`]): that is the delivered set the state file records, so
//! the checkpoint needs no second copy of it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// How long after the TTL an entry is kept, for the apiserver's lease
/// reuse (events may outlive `--event-ttl` by up to a minute) and clock skew.
pub const TTL_GRACE: Duration = Duration::from_secs(120);

/// One version of an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// Its resourceVersion.
    pub resource_version: Arc<str>,
    /// Its count.
    pub count: i64,
    /// When kev observed it (Unix seconds).
    pub observed_at: i64,
}

/// One remembered event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The resourceVersion last let through.
    pub resource_version: Arc<str>,
    /// Its count.
    pub count: i64,
    /// When kev observed that version (Unix seconds).
    pub observed_at: i64,
    /// The latest version every sink has acknowledged, if any.
    pub acked: Option<Version>,
    /// Sinks (bit `i` for sink `i`) that acknowledged `resource_version`
    /// when not all had: a state file's record of an interrupted delivery.
    pub partial: u64,
}

/// Counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DedupeStats {
    /// Occurrences dropped as repeats.
    pub repeats: u64,
    /// Entries pruned after the TTL.
    pub expired: u64,
    /// Entries evicted by the cap.
    pub evicted_cap: u64,
    /// Occurrences a relist showed were coalesced (count jumps minus one).
    pub coalesced: u64,
}

/// What [`Dedupe::admit`] decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A new occurrence: let it through. The remembered uid and
    /// resourceVersion, shared, for [`Dedupe::ack`] later.
    New(Arc<str>, Arc<str>),
    /// Delivered to some sinks before a restart (bit `i`: sink `i` has
    /// it): deliver it to the others.
    Partial(Arc<str>, Arc<str>, u64),
    /// Already let through: drop it.
    Repeat,
}

/// The delivered set; see the module docs.
#[derive(Debug)]
pub struct Dedupe {
    seen: HashMap<Arc<str>, Seen>,
    /// (observed_at, uid) in the order entries were written; stale pairs
    /// (the uid was updated since) are skipped when pruning.
    order: VecDeque<(i64, Arc<str>)>,
    keep_secs: i64,
    cap: usize,
    stats: DedupeStats,
    last_cap_log: Option<DateTime<Utc>>,
    /// Several clusters: uids are only unique within one, so an entry is
    /// known by its cluster label and uid.
    by_cluster: bool,
    /// Occurrences a sink already holds (read back from a Kafka topic):
    /// every version found per uid, not only the latest, since a watch
    /// resumed from an older checkpoint sends the older ones again.
    recovered: HashMap<Arc<str>, Vec<Arc<str>>>,
}

/// The default cap on remembered events.
pub const DEFAULT_CAP: usize = 1_000_000;

impl Dedupe {
    /// Remember events for `ttl` (plus [`TTL_GRACE`]), at most `cap` of them.
    pub fn new(ttl: Duration, cap: usize) -> Dedupe {
        Dedupe {
            seen: HashMap::new(),
            order: VecDeque::new(),
            keep_secs: (ttl + TTL_GRACE).as_secs() as i64,
            cap: cap.max(1),
            stats: DedupeStats::default(),
            last_cap_log: None,
            by_cluster: false,
            recovered: HashMap::new(),
        }
    }

    /// Know entries by cluster label and uid (several clusters in one
    /// process: a fake or restored cluster may reuse another's uids).
    #[must_use]
    pub fn by_cluster(mut self) -> Dedupe {
        self.by_cluster = true;
        self
    }

    /// The key the set knows `uid` of `cluster` by.
    pub fn key<'a>(&self, cluster: Option<&str>, uid: &'a str) -> std::borrow::Cow<'a, str> {
        match (self.by_cluster, cluster) {
            (true, Some(c)) => std::borrow::Cow::Owned(format!("{c}\u{0}{uid}")),
            _ => std::borrow::Cow::Borrowed(uid),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> &DedupeStats {
        &self.stats
    }

    /// How many events are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// What is remembered for `uid`.
    pub fn get(&self, uid: &str) -> Option<&Seen> {
        self.seen.get(uid)
    }

    /// Decide on one occurrence observed at `observed_at`. `relisted`: it
    /// came from a relist or a resume (count jumps there are coalesced
    /// updates, not the recorder's own batching).
    pub fn admit(
        &mut self,
        uid: &str,
        resource_version: &str,
        count: i64,
        observed_at: DateTime<Utc>,
        relisted: bool,
    ) -> Verdict {
        if !self.recovered.is_empty()
            && self
                .recovered
                .get(uid)
                .is_some_and(|rvs| rvs.iter().any(|rv| &**rv == resource_version))
        {
            self.stats.repeats += 1;
            return Verdict::Repeat;
        }
        if let Some((key, prev)) = self.seen.get_key_value(uid) {
            if &*prev.resource_version == resource_version {
                if prev.partial != 0 {
                    return Verdict::Partial(
                        key.clone(),
                        prev.resource_version.clone(),
                        prev.partial,
                    );
                }
                self.stats.repeats += 1;
                return Verdict::Repeat;
            }
            if relisted && count > prev.count + 1 {
                let missed = (count - prev.count - 1) as u64;
                self.stats.coalesced += missed;
                tracing::info!(
                    uid,
                    from = prev.count,
                    to = count,
                    "{missed} update(s) of an event were superseded while kev was not watching; delivering its latest state"
                );
            }
        }
        let rv: Arc<str> = Arc::from(resource_version);
        let uid = self.insert(uid, rv.clone(), count, observed_at.timestamp(), false);
        self.prune(observed_at);
        Verdict::New(uid, rv)
    }

    /// Remember `uid` at `resource_version`: an admitted occurrence, or
    /// (`acked`) one a state file says was delivered.
    fn insert(
        &mut self,
        uid: &str,
        resource_version: Arc<str>,
        count: i64,
        observed_at: i64,
        acked: bool,
    ) -> Arc<str> {
        let (uid, previous) = match self.seen.remove_entry(uid) {
            Some((k, prev)) => (k, prev.acked),
            None => (Arc::from(uid), None),
        };
        let version = Version {
            resource_version: resource_version.clone(),
            count,
            observed_at,
        };
        self.seen.insert(
            uid.clone(),
            Seen {
                resource_version,
                count,
                observed_at,
                acked: if acked { Some(version) } else { previous },
                partial: 0,
            },
        );
        self.order.push_back((observed_at, uid.clone()));
        if self.order.len() > 2 * self.seen.len() + 1024 {
            self.compact_order();
        }
        while self.seen.len() > self.cap {
            self.evict_oldest();
        }
        uid
    }

    /// Every sink has acknowledged `uid` at `version` (called in delivery
    /// order, so the latest call is the latest version).
    pub fn ack(&mut self, uid: &str, version: Version) {
        if let Some(seen) = self.seen.get_mut(uid) {
            if seen.resource_version == version.resource_version {
                seen.partial = 0;
            }
            seen.acked = Some(version);
        }
    }

    /// The acknowledged versions: the delivered set a state file records.
    pub fn acked(&self) -> impl Iterator<Item = (&Arc<str>, &Version)> {
        self.seen
            .iter()
            .filter_map(|(uid, s)| s.acked.as_ref().map(|v| (uid, v)))
    }

    /// Forget `uid` (its event was deleted: it cannot come back).
    pub fn forget(&mut self, uid: &str) {
        self.seen.remove(uid);
    }

    /// Remember what a state file says was delivered (in any order), then
    /// what some sinks had (`partial`: uid, rv, count, observedAt, the
    /// sinks' bits).
    pub fn seed(
        &mut self,
        delivered: impl IntoIterator<Item = (String, String, i64, i64)>,
        partial: impl IntoIterator<Item = (String, String, i64, i64, u64)>,
    ) {
        for (uid, rv, count, at) in delivered {
            self.insert(&uid, Arc::from(rv.as_str()), count, at, true);
        }
        for (uid, rv, count, at, mask) in partial {
            self.insert(&uid, Arc::from(rv.as_str()), count, at, false);
            if let Some(seen) = self.seen.get_mut(uid.as_str()) {
                seen.partial = mask;
            }
        }
        // Pruning and eviction walk the queue from its front, oldest first.
        self.compact_order();
    }

    /// Remember occurrences a sink already holds, in any order: each is a
    /// repeat from now on, and the latest per uid (by count, then by when
    /// it was observed) is the delivered version a relist is compared with.
    pub fn seed_recovered(&mut self, mut found: Vec<(String, String, i64, i64)>) {
        for (uid, rv, _, _) in &found {
            self.recovered
                .entry(Arc::from(uid.as_str()))
                .or_default()
                .push(Arc::from(rv.as_str()));
        }
        // Oldest first: the last version given per uid is the one kept.
        found.sort_by_key(|(_, _, count, at)| (*count, *at));
        self.seed(found, std::iter::empty());
    }

    /// Drop entries older than the TTL at `now`.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let horizon = now.timestamp() - self.keep_secs;
        while let Some((at, uid)) = self.order.front() {
            if *at >= horizon {
                break;
            }
            if self.seen.get(uid).is_some_and(|s| s.observed_at == *at) {
                self.seen.remove(uid);
                self.stats.expired += 1;
            }
            self.order.pop_front();
        }
    }

    fn evict_oldest(&mut self) {
        while let Some((at, uid)) = self.order.pop_front() {
            if self.seen.get(&uid).is_some_and(|s| s.observed_at == at) {
                self.seen.remove(&uid);
                self.stats.evicted_cap += 1;
                let now = Utc::now();
                if self
                    .last_cap_log
                    .is_none_or(|t| now - t > chrono::Duration::minutes(1))
                {
                    self.last_cap_log = Some(now);
                    tracing::warn!(
                        cap = self.cap,
                        evicted = self.stats.evicted_cap,
                        "the dedupe set is full; forgetting the oldest events (a relist may deliver them again)"
                    );
                }
                return;
            }
        }
    }

    /// Rebuild the order queue from the live entries.
    fn compact_order(&mut self) {
        let mut order: Vec<(i64, Arc<str>)> = self
            .seen
            .iter()
            .map(|(uid, s)| (s.observed_at, uid.clone()))
            .collect();
        order.sort();
        self.order = order.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn same_version_is_a_repeat_new_version_is_new() {
        let mut d = Dedupe::new(Duration::from_secs(3600), 10);
        assert!(matches!(
            d.admit("a", "1", 1, at(0), false),
            Verdict::New(..)
        ));
        assert_eq!(d.admit("a", "1", 1, at(1), true), Verdict::Repeat);
        assert!(matches!(
            d.admit("a", "2", 2, at(2), false),
            Verdict::New(..)
        ));
        assert_eq!(d.admit("a", "2", 2, at(3), true), Verdict::Repeat);
        assert!(matches!(
            d.admit("b", "2", 1, at(3), true),
            Verdict::New(..)
        ));
        assert_eq!(d.stats().repeats, 2);
    }

    #[test]
    fn every_recovered_version_is_a_repeat_not_only_the_latest() {
        let mut d = Dedupe::new(Duration::from_secs(3600), 10);
        let t = at(0).timestamp();
        // Read back from a topic, in its order: three versions of `a`.
        d.seed_recovered(vec![
            ("a".into(), "3".into(), 3, t),
            ("a".into(), "1".into(), 1, t),
            ("a".into(), "2".into(), 2, t),
        ]);
        // A watch resumed from before them sends them again, oldest first.
        for rv in ["1", "2", "3"] {
            assert_eq!(d.admit("a", rv, 1, at(1), false), Verdict::Repeat, "{rv}");
        }
        assert!(matches!(
            d.admit("a", "4", 4, at(2), false),
            Verdict::New(..)
        ));
        // The latest recovered version is the delivered one a relist meets.
        assert_eq!(d.get("a").map(|s| s.count), Some(4));
    }

    #[test]
    fn entries_expire_after_ttl_and_grace() {
        let mut d = Dedupe::new(Duration::from_secs(60), 10);
        d.admit("a", "1", 1, at(0), false);
        d.admit("b", "1", 1, at(100), false);
        d.prune(at(60 + 120));
        assert!(d.get("a").is_some(), "kept through the grace period");
        d.prune(at(60 + 120 + 1));
        assert!(d.get("a").is_none());
        assert!(d.get("b").is_some());
        assert_eq!(d.stats().expired, 1);
    }

    #[test]
    fn an_update_restarts_the_clock() {
        let mut d = Dedupe::new(Duration::from_secs(60), 10);
        d.admit("a", "1", 1, at(0), false);
        d.admit("a", "2", 2, at(150), false);
        d.prune(at(200));
        assert_eq!(&*d.get("a").unwrap().resource_version, "2");
    }

    #[test]
    fn the_cap_evicts_the_oldest_and_counts() {
        let mut d = Dedupe::new(Duration::from_secs(3600), 3);
        for (i, uid) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            d.admit(uid, "1", 1, at(i as i64), false);
        }
        assert_eq!(d.len(), 3);
        assert!(d.get("a").is_none() && d.get("b").is_none());
        assert_eq!(d.stats().evicted_cap, 2);
    }

    #[test]
    fn relist_count_jumps_are_coalesced() {
        let mut d = Dedupe::new(Duration::from_secs(3600), 10);
        d.admit("a", "1", 4, at(0), false);
        d.admit("a", "9", 9, at(10), true);
        assert_eq!(d.stats().coalesced, 4, "5, 6, 7, 8 were never seen");
        d.admit("a", "10", 12, at(20), false);
        assert_eq!(
            d.stats().coalesced,
            4,
            "jumps on the watch are the recorder's"
        );
    }

    #[test]
    fn order_queue_stays_bounded_under_updates() {
        let mut d = Dedupe::new(Duration::from_secs(3600), 100);
        for i in 0..10_000 {
            d.admit("a", &i.to_string(), i, at(i), false);
        }
        assert_eq!(d.len(), 1);
        assert!(d.order.len() <= 2 * d.len() + 1025);
    }

    #[test]
    fn acknowledged_versions_are_kept_apart_from_admitted_ones() {
        let mut d = Dedupe::new(Duration::from_secs(3600), 10);
        let Verdict::New(uid, rv) = d.admit("a", "1", 1, at(0), false) else {
            panic!()
        };
        assert_eq!(d.acked().count(), 0, "admitted is not delivered");
        d.ack(
            &uid,
            Version {
                resource_version: rv,
                count: 1,
                observed_at: 0,
            },
        );
        d.admit("a", "2", 2, at(1), false);
        let acked: Vec<_> = d
            .acked()
            .map(|(u, v)| (u.to_string(), v.resource_version.to_string()))
            .collect();
        assert_eq!(
            acked,
            [("a".to_string(), "1".to_string())],
            "the new version is not acknowledged yet"
        );
        d.insert("b", Arc::from("7"), 1, 0, true);
        assert_eq!(d.acked().count(), 2, "from a state file: delivered");
        assert_eq!(d.admit("b", "7", 1, at(2), true), Verdict::Repeat);
    }

    #[test]
    fn partially_delivered_entries_go_to_the_other_sinks() {
        let mut d = Dedupe::new(Duration::from_secs(3600), 10);
        d.seed([], [("a".to_string(), "5".to_string(), 1, 0, 0b01)]);
        assert!(matches!(
            d.admit("a", "5", 1, at(1), true),
            Verdict::Partial(_, _, 0b01)
        ));
        assert!(
            matches!(d.admit("a", "6", 2, at(1), false), Verdict::New(..)),
            "a newer version is new"
        );
        d.seed([], [("b".to_string(), "5".to_string(), 1, 0, 0b10)]);
        let Verdict::Partial(uid, rv, _) = d.admit("b", "5", 1, at(1), true) else {
            panic!()
        };
        d.ack(
            &uid,
            Version {
                resource_version: rv,
                count: 1,
                observed_at: 0,
            },
        );
        assert_eq!(
            d.admit("b", "5", 1, at(2), true),
            Verdict::Repeat,
            "once all have it"
        );
    }

    #[test]
    fn seeded_entries_expire_oldest_first_whatever_their_order() {
        let mut d = Dedupe::new(Duration::from_secs(60), 2);
        let t = |s: i64| at(s).timestamp();
        d.seed(
            [
                ("new".to_string(), "3".to_string(), 1, t(100)),
                ("old".to_string(), "1".to_string(), 1, t(0)),
            ],
            [],
        );
        d.prune(at(181));
        assert!(d.get("old").is_none() && d.get("new").is_some());
        d.admit("x", "9", 1, at(182), false);
        d.admit("y", "9", 1, at(183), false);
        assert!(d.get("new").is_none(), "the cap evicts the oldest");
    }
}
