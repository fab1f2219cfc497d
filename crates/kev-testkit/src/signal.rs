//! A change signal that both async and blocking code can wait on.
//!
//! Tests of the fake apiserver run in two worlds: `#[tokio::test]`s that await,
//! and plain `#[test]`s that spawn the `kev` binary and block. Both need "wait
//! until the server has seen X" without sleeping, so state changes bump a
//! [`Signal`], which wakes `tokio::sync::watch` subscribers and a `Condvar`.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// Wakes waiters whenever [`Signal::notify`] is called; waiters re-check their own condition.
#[derive(Debug)]
pub(crate) struct Signal {
    version: Mutex<u64>,
    changed: Condvar,
    tx: watch::Sender<u64>,
}

impl Default for Signal {
    fn default() -> Self {
        Signal {
            version: Mutex::new(0),
            changed: Condvar::new(),
            tx: watch::channel(0).0,
        }
    }
}

impl Signal {
    /// Wake every waiter. Call after the state they check has changed.
    pub fn notify(&self) {
        let mut v = self.version.lock().unwrap_or_else(PoisonError::into_inner);
        *v += 1;
        self.tx.send_replace(*v);
        self.changed.notify_all();
    }

    /// Wait until `ready()` returns `Some`, re-checking after every notification.
    pub async fn wait_for<T>(&self, mut ready: impl FnMut() -> Option<T>) -> T {
        // Subscribe before the first check so no notification is lost in between.
        let mut rx = self.tx.subscribe();
        loop {
            if let Some(t) = ready() {
                return t;
            }
            if rx.changed().await.is_err() {
                // The sender lives in `self`, so it cannot be dropped while we
                // borrow it; fall back to re-checking.
                tokio::task::yield_now().await;
            }
        }
    }

    /// Block until `ready()` returns `Some`, or `timeout` passes (then `None`).
    pub fn wait_for_blocking<T>(
        &self,
        timeout: Duration,
        mut ready: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        // Holding the version lock while checking means a notify cannot slip
        // between the check and the wait.
        let mut guard = self.version.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(t) = ready() {
                return Some(t);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            guard = self
                .changed
                .wait_timeout(guard, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// Resolves once the shutdown flag is `true` (or its sender is gone).
///
/// `watch::Receiver::wait_for` returns a guard that is not `Send`; this
/// wrapper drops it at once so callers can `select!` on shutdown in spawned tasks.
pub(crate) async fn shutdown(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stopped| *stopped).await;
}
