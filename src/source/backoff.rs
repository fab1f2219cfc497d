//! Exponential backoff with jitter, for retries and relists.
//!
//! Each failure waits longer (`initial`, doubling, at most `max`), and the
//! wait is drawn from its upper half ("equal jitter"), so many kev instances
//! that lost the same apiserver do not come back in lockstep. A server that
//! answers `Retry-After` is waited for at least that long. [`Backoff::reset`]
//! after real progress (a watch that delivered something), not merely after a
//! request that succeeded: a list that works followed by a watch that fails at
//! once is no progress, and relisting in a loop must slow down too.

use std::time::Duration;

/// The backoff state; see the module docs.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
    rng: fastrand::Rng,
}

impl Backoff {
    /// Waits from `initial` (upper half of) doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            current: Duration::ZERO,
            rng: fastrand::Rng::new(),
        }
    }

    /// The same with a seeded jitter source, for reproducible tests.
    #[must_use]
    pub fn seeded(mut self, seed: u64) -> Backoff {
        self.rng = fastrand::Rng::with_seed(seed);
        self
    }

    /// The wait before the next attempt, at least `at_least` (a server's
    /// `Retry-After`), and the backoff grows.
    pub fn next(&mut self, at_least: Option<Duration>) -> Duration {
        self.current = if self.current.is_zero() {
            self.initial
        } else {
            (self.current * 2).min(self.max)
        };
        let half = self.current / 2;
        let jitter = Duration::from_nanos(
            self.rng
                .u64(0..=half.as_nanos().min(u64::MAX as u128) as u64),
        );
        let wait = half + jitter;
        match at_least {
            Some(server) => wait.max(server),
            None => wait,
        }
    }

    /// Start over from `initial` after progress.
    pub fn reset(&mut self) {
        self.current = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter_in_the_upper_half() {
        let mut b = Backoff::new(Duration::from_millis(250), Duration::from_secs(30)).seeded(7);
        let mut ceiling = Duration::from_millis(250);
        for _ in 0..12 {
            let w = b.next(None);
            assert!(
                w >= ceiling / 2 && w <= ceiling,
                "{w:?} not in [{:?}, {ceiling:?}]",
                ceiling / 2
            );
            ceiling = (ceiling * 2).min(Duration::from_secs(30));
        }
        b.reset();
        assert!(b.next(None) <= Duration::from_millis(250));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut b = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
        assert!(b.next(Some(Duration::from_secs(3))) >= Duration::from_secs(3));
    }

    #[test]
    fn jitter_spreads_waits() {
        let mut waits = std::collections::BTreeSet::new();
        for seed in 0..20 {
            let mut b = Backoff::new(Duration::from_secs(8), Duration::from_secs(30)).seeded(seed);
            waits.insert(b.next(None));
        }
        assert!(waits.len() > 10, "{waits:?}");
    }
}
