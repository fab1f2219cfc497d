//! The fake cluster's sense of time: the system clock, or one the test moves.
//!
//! Event TTLs, filled-in `creationTimestamp`s and bumps read the time from a
//! [`Clock`]. A manual clock makes TTL tests exact and instant: add events, move
//! the clock past the TTL, call [`crate::FakeCluster::expire_now`] (or make any
//! events request), and the events are gone, with no sleep anywhere.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// A source of "now"; `Clone` shares it.
///
/// ```
/// use kev_testkit::{Clock, FakeCluster};
/// use std::time::Duration;
///
/// let clock = Clock::manual("2026-11-28T10:00:00Z".parse().unwrap());
/// let cluster = FakeCluster::new()
///     .with_clock(clock.clone())
///     .with_event_ttl(Duration::from_secs(3600));
/// cluster.add_event(serde_json::json!({"metadata": {"name": "a"}})).unwrap();
/// clock.advance(Duration::from_secs(3600));
/// assert_eq!(cluster.expire_now(), 1);
/// assert!(cluster.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system clock.
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The system clock (`Utc::now()`).
    pub fn system() -> Self {
        Clock { manual: None }
    }

    /// A clock that shows `start` until it is moved with [`Clock::set`] or [`Clock::advance`].
    pub fn manual(start: DateTime<Utc>) -> Self {
        Clock {
            manual: Some(Arc::new(Mutex::new(start))),
        }
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            Some(t) => *t.lock().unwrap_or_else(PoisonError::into_inner),
            None => Utc::now(),
        }
    }

    /// Show `t` from now on.
    ///
    /// # Panics
    ///
    /// On the system clock, which cannot be set: a bug in the test.
    pub fn set(&self, t: DateTime<Utc>) {
        match &self.manual {
            Some(now) => *now.lock().unwrap_or_else(PoisonError::into_inner) = t,
            None => panic!("Clock::set on the system clock: use Clock::manual"),
        }
    }

    /// Move the clock forward by `d`.
    ///
    /// # Panics
    ///
    /// On the system clock (see [`Clock::set`]).
    pub fn advance(&self, d: Duration) {
        let d = TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
        match &self.manual {
            Some(now) => {
                let mut now = now.lock().unwrap_or_else(PoisonError::into_inner);
                *now = now
                    .checked_add_signed(d)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
            }
            None => panic!("Clock::advance on the system clock: use Clock::manual"),
        }
    }
}
