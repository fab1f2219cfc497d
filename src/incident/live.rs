//! The live model behind `kev top`: the groups of [`super::Summary`], with
//! occurrence counts in 10-second buckets over the last 15 minutes (rolling
//! rates over 1, 5 and 15 minutes, and a sparkline of per-minute counts),
//! the recent events of each group, and
//! a view filter that can change while it runs (the whole bounded history
//! is regrouped under the new filter).
//!
//! Time is the events' own: an occurrence counts in the minute of its last
//! seen, relative to the clock's "now" (the system's, or `--now` over a
//! saved incident), so a replay shows the rates the incident had.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::group::{Group, Summary};
use crate::filter::Filter;
use crate::model::Occurrence;

/// Minutes of history kept per group.
pub const WINDOW_MINUTES: i64 = 15;

/// Seconds per bucket: the rates roll forward in steps this long.
const BUCKET_SECS: i64 = 10;
const BUCKETS_PER_MINUTE: i64 = 60 / BUCKET_SECS;
const BUCKETS: i64 = WINDOW_MINUTES * BUCKETS_PER_MINUTE;

/// Occurrences kept for regrouping under a new filter and for a group's
/// latest events.
pub const HISTORY: usize = 50_000;

/// How often (in occurrences added) events not updated for longer than the
/// event TTL are forgotten.
const SWEEP_EVERY: u64 = 4096;

/// Events kept per group for its detail view.
const RECENT_PER_GROUP: usize = 50;

/// How the table is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    /// Warnings first, then by count.
    Warnings,
    /// By the rate over the last minute.
    Rate,
    /// By count.
    Count,
    /// Most recent first.
    Recent,
}

impl SortBy {
    /// The next order (the `s` key).
    pub fn next(self) -> SortBy {
        match self {
            SortBy::Warnings => SortBy::Rate,
            SortBy::Rate => SortBy::Count,
            SortBy::Count => SortBy::Recent,
            SortBy::Recent => SortBy::Warnings,
        }
    }

    /// Its name, for the status line.
    pub fn name(self) -> &'static str {
        match self {
            SortBy::Warnings => "warnings first",
            SortBy::Rate => "rate (1m)",
            SortBy::Count => "count",
            SortBy::Recent => "last seen",
        }
    }
}

/// "Now" for the live view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewClock {
    /// The system clock (a cluster).
    System,
    /// A fixed time (`kev top --file … --now`).
    Fixed(DateTime<Utc>),
    /// The newest event's last seen (`kev top --file …` without `--now`):
    /// a saved incident shows the rates it had at its end.
    Newest,
}

impl ViewClock {
    /// The current time for `live`.
    pub fn now(self, live: &Live) -> DateTime<Utc> {
        match self {
            ViewClock::System => Utc::now(),
            ViewClock::Fixed(t) => t,
            ViewClock::Newest => live.latest().unwrap_or_else(Utc::now),
        }
    }
}

/// One group as the view shows it.
#[derive(Clone, Debug)]
pub struct Row<'a> {
    /// The group.
    pub group: &'a Group,
    /// Occurrences per minute over the last 1, 5 and 15 minutes.
    pub rates: [f64; 3],
    /// Occurrences in each of the last 15 minutes, oldest first.
    pub minutes: [i64; WINDOW_MINUTES as usize],
    /// Its index, for [`Live::events_of`].
    pub index: usize,
}

/// See the module docs.
#[derive(Debug)]
pub struct Live {
    filter: Option<Arc<Filter>>,
    summary: Summary,
    /// Per group: occurrences per bucket (bucket number since the epoch).
    buckets: Vec<BTreeMap<i64, i64>>,
    /// Per group: its latest events.
    /// Per event uid: the count already counted (an update adds the rest),
    /// and the minute it was last updated.
    counted: HashMap<String, (i64, i64)>,
    /// The latest occurrences, each with its group (`None`: filtered out).
    history: VecDeque<(Arc<Occurrence>, Option<usize>)>,
    received: u64,
    latest: Option<DateTime<Utc>>,
    /// Events not updated for this many minutes are forgotten (the
    /// apiserver's event TTL: it has deleted them by then).
    forget_after: i64,
}

impl Default for Live {
    fn default() -> Self {
        Live::new()
    }
}

fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

fn bucket_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(BUCKET_SECS)
}

impl Live {
    /// An empty model.
    pub fn new() -> Live {
        Live {
            filter: None,
            summary: Summary::new(None),
            buckets: Vec::new(),
            counted: HashMap::new(),
            history: VecDeque::new(),
            received: 0,
            latest: None,
            forget_after: 60,
        }
    }

    /// Forget events not updated for `ttl` (the apiserver's `--event-ttl`,
    /// default 1h), so a long follow keeps what the cluster keeps.
    #[must_use]
    pub fn forgetting_after(mut self, ttl: std::time::Duration) -> Live {
        self.forget_after = (ttl.as_secs() / 60).max(1) as i64 + 1;
        self
    }

    /// The latest last seen of any occurrence received.
    pub fn latest(&self) -> Option<DateTime<Utc>> {
        self.latest
    }

    /// Occurrences in the groups (after the view filter).
    pub fn total(&self) -> i64 {
        self.summary.total()
    }

    /// Events currently remembered (for memory bounds).
    pub fn remembered(&self) -> usize {
        self.counted.len()
    }

    /// Occurrences received (before the view filter).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Add an occurrence.
    pub fn add(&mut self, occ: Arc<Occurrence>, now: DateTime<Utc>) {
        self.received += 1;
        if occ.event.last_seen > self.latest {
            self.latest = occ.event.last_seen;
        }
        if self.received.is_multiple_of(SWEEP_EVERY) {
            self.sweep(now);
        }
        if self.history.len() >= HISTORY {
            self.history.pop_front();
        }
        let group = self.apply(&occ, now);
        self.history.push_back((occ, group));
    }

    /// Count `occ` in its group, if the view filter keeps it; its group.
    fn apply(&mut self, occ: &Occurrence, now: DateTime<Utc>) -> Option<usize> {
        if let Some(f) = &self.filter
            && !f.matches(&occ.event, now)
        {
            return None;
        }
        let i = self.summary.add(occ);
        if self.buckets.len() <= i {
            self.buckets.resize_with(i + 1, BTreeMap::new);
        }
        let e = &occ.event;
        let count = e.count.max(1);
        let (before, _) = self.counted.get(&e.uid).copied().unwrap_or((0, 0));
        let new = (count - before).max(0);
        let touched = e.last_seen.map(minute_of).unwrap_or_else(|| minute_of(now));
        self.counted
            .insert(e.uid.clone(), (count.max(before), touched));
        if new > 0
            && let Some(t) = e.last_seen
        {
            *self.buckets[i].entry(bucket_of(t)).or_default() += new;
        }
        // Keep 15 minutes.
        let oldest = bucket_of(now) - BUCKETS + 1;
        while let Some((&b, _)) = self.buckets[i].first_key_value() {
            if b >= oldest {
                break;
            }
            self.buckets[i].pop_first();
        }
        Some(i)
    }

    /// Forget the events the apiserver has dropped by now.
    fn sweep(&mut self, now: DateTime<Utc>) {
        let cutoff = minute_of(now) - self.forget_after;
        let summary = &mut self.summary;
        self.counted.retain(|uid, (_, minute)| {
            let keep = *minute >= cutoff;
            if !keep {
                summary.forget(uid);
            }
            keep
        });
    }

    /// Show only what `filter` keeps (`None`: everything): the history is
    /// regrouped.
    pub fn set_filter(&mut self, filter: Option<Filter>, now: DateTime<Utc>) {
        self.filter = filter.map(Arc::new);
        self.summary = Summary::new(None);
        self.buckets.clear();
        self.counted.clear();
        let mut history = std::mem::take(&mut self.history);
        for (occ, group) in history.iter_mut() {
            *group = self.apply(occ, now);
        }
        self.history = history;
    }

    /// The first `limit` rows in the order `sort`, and how many groups
    /// there are in all. Only those rows are sorted: a screen shows a few
    /// dozen of what may be tens of thousands of groups.
    pub fn rows(&self, now: DateTime<Utc>, sort: SortBy, limit: usize) -> (Vec<Row<'_>>, usize) {
        let this = bucket_of(now);
        // First what the order needs (the last minute's count is a range
        // of at most six buckets), then the whole 15 minutes for the rows
        // kept only.
        let mut light: Vec<(&Group, i64)> = self
            .summary
            .groups()
            .map(|g| {
                let last_minute = self.buckets[g.index]
                    .range(this - BUCKETS_PER_MINUTE + 1..=this)
                    .map(|(_, n)| *n)
                    .sum();
                (g, last_minute)
            })
            .collect();
        let total = light.len();
        let order = |(a, ra): &(&Group, i64), (b, rb): &(&Group, i64)| {
            let first = match sort {
                SortBy::Warnings => b.is_warning().cmp(&a.is_warning()),
                SortBy::Rate => rb.cmp(ra),
                SortBy::Count => std::cmp::Ordering::Equal,
                SortBy::Recent => b.last_seen.cmp(&a.last_seen),
            };
            first
                .then(b.count.cmp(&a.count))
                .then(b.last_seen.cmp(&a.last_seen))
                .then_with(|| a.key.cmp(&b.key))
        };
        if limit == 0 {
            return (Vec::new(), total);
        }
        if light.len() > limit {
            light.select_nth_unstable_by(limit - 1, order);
            light.truncate(limit);
        }
        light.sort_by(order);
        let rows = light
            .into_iter()
            .map(|(g, _)| {
                let index = g.index;
                // Minute k back is the six buckets k*60 s to (k+1)*60 s
                // before now: the rates roll every 10 seconds.
                let mut minutes = [0i64; WINDOW_MINUTES as usize];
                for (b, n) in self.buckets[index].range(this - BUCKETS + 1..=this) {
                    let minute = (this - b) / BUCKETS_PER_MINUTE;
                    minutes[(WINDOW_MINUTES - 1 - minute) as usize] += n;
                }
                let sum = |k: usize| -> f64 {
                    minutes[WINDOW_MINUTES as usize - k..].iter().sum::<i64>() as f64 / k as f64
                };
                Row {
                    group: g,
                    rates: [sum(1), sum(5), sum(15)],
                    minutes,
                    index,
                }
            })
            .collect();
        (rows, total)
    }

    /// The latest events of group `index` among the occurrences kept,
    /// newest first, each event once (at its latest).
    pub fn events_of(&self, index: usize) -> Vec<Arc<Occurrence>> {
        let mut seen = std::collections::HashSet::new();
        self.history
            .iter()
            .rev()
            .filter(|(_, g)| *g == Some(index))
            .filter(|(o, _)| seen.insert(o.event.uid.as_str()))
            .take(RECENT_PER_GROUP)
            .map(|(o, _)| Arc::clone(o))
            .collect()
    }
}

/// A sparkline of `values` in block characters, one per value.
pub fn sparkline(values: &[i64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if v <= 0 || max == 0 {
                ' '
            } else {
                BARS[((v * 7 + max - 1) / max).clamp(0, 7) as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, ObjectRef, RecordContext};

    fn at(minute: i64, sec: i64) -> DateTime<Utc> {
        // A whole minute (1,800,000,000 is 30,000,000 minutes).
        DateTime::from_timestamp(1_800_000_000 + minute * 60 + sec, 0).unwrap()
    }

    fn occ(uid: &str, reason: &str, ty: &str, count: i64, last: DateTime<Utc>) -> Arc<Occurrence> {
        Arc::new(Occurrence::new(
            Event {
                uid: uid.into(),
                resource_version: format!("{uid}{count}"),
                namespace: Some("ns".into()),
                type_: Some(ty.into()),
                reason: Some(reason.into()),
                message: Some("m".into()),
                object: ObjectRef {
                    kind: Some("Pod".into()),
                    name: Some("web".into()),
                    ..Default::default()
                },
                count,
                first_seen: Some(last),
                last_seen: Some(last),
                ..Default::default()
            },
            RecordContext::default(),
        ))
    }

    #[test]
    fn rates_over_1_5_and_15_minutes_from_the_events_own_times() {
        let now = at(20, 30);
        let mut live = Live::new();
        // 6 occurrences in the current minute (an update adds 4 to 2),
        // 10 four minutes ago, 30 ten minutes ago, 100 twenty minutes ago
        // (outside the window).
        live.add(occ("a", "BackOff", "Warning", 2, at(20, 5)), now);
        live.add(occ("a", "BackOff", "Warning", 6, at(20, 25)), now);
        live.add(occ("b", "BackOff", "Warning", 10, at(16, 0)), now);
        live.add(occ("c", "BackOff", "Warning", 30, at(10, 0)), now);
        live.add(occ("d", "BackOff", "Warning", 100, at(0, 0)), now);
        let rows = live.rows(now, SortBy::Warnings, 100).0;
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.group.count, 146);
        assert_eq!(r.rates, [6.0, 16.0 / 5.0, 46.0 / 15.0]);
        assert_eq!(r.minutes[14], 6);
        assert_eq!(r.minutes[10], 10);
        assert_eq!(r.minutes[4], 30);
        assert_eq!(sparkline(&r.minutes).chars().count(), 15);
    }

    #[test]
    fn warnings_first_a_new_filter_regroups_and_events_are_kept_per_group() {
        let now = at(5, 0);
        let mut live = Live::new();
        live.add(occ("n", "Pulled", "Normal", 50, at(4, 0)), now);
        live.add(occ("w", "BackOff", "Warning", 3, at(4, 0)), now);
        let rows = live.rows(now, SortBy::Warnings, 100).0;
        assert_eq!(rows[0].group.key.reason.as_deref(), Some("BackOff"));
        assert_eq!(
            live.rows(now, SortBy::Count, 100).0[0]
                .group
                .key
                .reason
                .as_deref(),
            Some("Pulled")
        );
        live.set_filter(Some(Filter::parse("type=Normal").unwrap()), now);
        let rows = live.rows(now, SortBy::Warnings, 100).0;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].group.key.reason.as_deref(), Some("Pulled"));
        assert_eq!(live.events_of(rows[0].index).len(), 1);
        live.set_filter(None, now);
        assert_eq!(live.rows(now, SortBy::Warnings, 100).0.len(), 2);
        assert_eq!(live.received(), 2);
    }

    #[test]
    fn events_older_than_the_ttl_are_forgotten_and_counts_stay() {
        let mut live = Live::new().forgetting_after(std::time::Duration::from_secs(600));
        let now = at(100, 0);
        live.add(occ("old", "BackOff", "Warning", 5, at(10, 0)), now);
        for n in 0..SWEEP_EVERY {
            live.add(occ(&format!("n{n}"), "Pulled", "Normal", 1, at(99, 0)), now);
        }
        assert_eq!(
            live.remembered() as u64,
            SWEEP_EVERY,
            "the old event is forgotten"
        );
        let rows = live.rows(now, SortBy::Count, 100).0;
        let backoff = rows
            .iter()
            .find(|r| r.group.key.reason.as_deref() == Some("BackOff"));
        assert_eq!(backoff.unwrap().group.count, 5, "its count stays");
        assert_eq!(live.latest(), Some(at(99, 0)));
    }

    #[test]
    fn the_first_rows_of_many_are_those_of_the_full_order() {
        let now = at(5, 0);
        let mut live = Live::new();
        for (n, reason) in ["A", "B", "C", "D", "E", "F", "G"].iter().enumerate() {
            let ty = if n % 2 == 0 { "Warning" } else { "Normal" };
            live.add(occ(reason, reason, ty, n as i64 + 1, at(4, 0)), now);
        }
        for sort in [
            SortBy::Warnings,
            SortBy::Rate,
            SortBy::Count,
            SortBy::Recent,
        ] {
            let (all, total) = live.rows(now, sort, 100);
            assert_eq!(total, 7);
            let (first, total) = live.rows(now, sort, 3);
            assert_eq!(total, 7);
            let names = |rows: &[Row<'_>]| -> Vec<String> {
                rows.iter()
                    .map(|r| r.group.key.reason.clone().unwrap())
                    .collect()
            };
            assert_eq!(names(&first), names(&all[..3]), "{sort:?}");
        }
        // Warnings first (G, E, C, A by count), then the Normals.
        let (all, _) = live.rows(now, SortBy::Warnings, 100);
        let names: Vec<&str> = all
            .iter()
            .map(|r| r.group.key.reason.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["G", "E", "C", "A", "F", "D", "B"]);
    }

    #[test]
    fn sparkline_scales_to_the_maximum() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8]), " ▂▃▅█");
    }
}
