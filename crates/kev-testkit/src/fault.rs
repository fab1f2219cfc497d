//! Scripted faults: what the fake apiserver does wrong, to which request, and when.
//!
//! A [`Script`] is a queue of rules. Each scripted request (a list, a watch
//! or a GET of one event; a GET of the `kube-system` namespace) takes the
//! first rule whose [`On`] matches it, and the rule's [`Fault`] decides how
//! that request fails; requests no rule matches are served normally. A rule
//! from [`Script::push`] is used up by one request, so the queue states the
//! story of a run:
//!
//! ```no_run
//! # use kev_testkit::{Fault, On, Script};
//! let script = Script::new();
//! script
//!     .push(On::List, Fault::Pass)            // the first list works,
//!     .push(On::Watch, Fault::DropAfter(2))   // the first watch dies after 2 events,
//!     .push(On::Watch, Fault::ExpiredEvent)   // the second gets 410 in-stream,
//!     .push(On::List, Fault::forbidden());    // and the relist is refused.
//! ```
//!
//! A rule can also repeat: [`Script::push_times`] applies it to the next `n`
//! matching requests, [`Script::always`] to every one until it is removed
//! with [`Script::remove`] or [`Script::clear`]. Rules are still tried in
//! order, so a repeating rule shadows later rules for the same requests
//! while it lasts:
//!
//! ```no_run
//! # use kev_testkit::{Fault, On, Script};
//! let script = Script::new();
//! script.always(On::Watch, Fault::ExpiredEvent);       // every watch gets 410 ...
//! script.push_times(On::List, Fault::unavailable(1), 3); // ... and 3 lists get 503
//! // ... run the client for a while ...
//! script.remove(On::Watch);                            // watches work again
//! ```
//!
//! Nothing is timed. A [`Gate`] holds a request or a stream until the test
//! opens it, and tells the test when the server has reached it.
//!
//! To add a fault: add a [`Fault`] variant, say in its doc what the client
//! sees, and handle it where requests are answered (`routes.rs` for whole
//! responses, `watch.rs` for steps inside a watch stream).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::record::RequestKind;
use super::signal::Signal;
use super::status::ApiStatus;

/// Which requests a rule applies to: requests for the `events` resource
/// (core/v1, any namespace), and the GET of a namespace that tells a client
/// the cluster's identity. Discovery is never faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    /// A list (`GET .../events` without `watch`).
    List,
    /// A watch (`GET .../events?watch=true`).
    Watch,
    /// A GET of one event.
    Get,
    /// A GET of one namespace (`GET /api/v1/namespaces/kube-system`, how a
    /// client learns the cluster's uid). Use [`Fault::Forbidden`] for RBAC
    /// that does not allow reading namespaces.
    Namespace,
    /// Any events request: a list, a watch or a GET of one event (not
    /// [`On::Namespace`], so that scripts written before clients read the
    /// namespace keep their meaning).
    Any,
}

impl On {
    fn matches(self, kind: RequestKind) -> bool {
        match self {
            On::List => kind == RequestKind::List,
            On::Watch => kind == RequestKind::Watch,
            On::Get => kind == RequestKind::Get,
            On::Namespace => kind == RequestKind::Namespace,
            On::Any => matches!(
                kind,
                RequestKind::List | RequestKind::Watch | RequestKind::Get
            ),
        }
    }
}

/// How one request goes wrong.
///
/// Whole-response faults ([`Fault::Status`] and its shorthands, [`Fault::Forbidden`],
/// [`Fault::Hold`], [`Fault::Pass`]) apply to any request, [`Fault::Gone`] to
/// events requests; stream faults apply to watches, and [`Fault::DropAfter`]
/// to lists too. A stream fault on a request it
/// does not fit is answered with a 500 that names the mistake, so a wrong
/// script fails loudly.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Serve this request normally (use it to let earlier requests through).
    Pass,
    /// Answer with this error status instead of serving (with a `Retry-After`
    /// header if the status has one: see [`Fault::with_retry_after`]).
    Status(ApiStatus),
    /// 403 Forbidden for this user, worded from the request's verb, resource and
    /// namespace: `events is forbidden: User "system:anonymous" cannot list
    /// resource "events" in API group "" at the cluster scope`.
    Forbidden {
        /// The user named in the message.
        user: String,
    },
    /// HTTP 410 Gone, reason `Expired`: for a watch `too old resource version: R
    /// (C)`, for a list `The resourceVersion for the provided list is too old.`
    Gone,
    /// A watch answers 200 and its only line is an `ERROR` event carrying a 410
    /// `Expired` Status; then the stream ends.
    ExpiredEvent,
    /// A watch answers 200 and ends at once with an empty body (what a watch from a
    /// stale resourceVersion sometimes does).
    EmptyWatch,
    /// Send the response head and the first `n` watch events (for a list: the
    /// first `n` items of the JSON body), then abort the TCP connection mid-body.
    DropAfter(usize),
    /// A watch ends normally (complete chunked body) after `n` events.
    EndAfter(usize),
    /// After `n` events, a watch sends one line that is not valid JSON, then
    /// carries on normally.
    MalformedAfter(usize),
    /// After `n` events, a watch stops sending until the gate opens, then carries on.
    PauseAfter(usize, Gate),
    /// The request is held (no response head) until the gate opens, then served
    /// normally.
    Hold(Gate),
}

impl Fault {
    /// 403 Forbidden as `system:anonymous`.
    pub fn forbidden() -> Self {
        Fault::Forbidden {
            user: "system:anonymous".into(),
        }
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Fault::Status(ApiStatus::unauthorized())
    }

    /// 500 Internal Server Error.
    pub fn internal_error() -> Self {
        Fault::Status(ApiStatus::internal_error("fake apiserver fault"))
    }

    /// 503 Service Unavailable with `Retry-After: seconds` (and
    /// `details.retryAfterSeconds`); see [`ApiStatus::service_unavailable`].
    ///
    /// Note that kube-rs's client retries 429/503/504 itself by default
    /// (`Config::default_retry`), so one 503 may never reach the caller.
    pub fn unavailable(retry_after: u32) -> Self {
        Fault::Status(ApiStatus::service_unavailable().with_retry_after(retry_after))
    }

    /// 429 Too Many Requests with `Retry-After: seconds`; see
    /// [`ApiStatus::too_many_requests`].
    pub fn too_many_requests(retry_after: u32) -> Self {
        Fault::Status(ApiStatus::too_many_requests().with_retry_after(retry_after))
    }

    /// 504 Gateway Timeout (reason `Timeout`) with `Retry-After: seconds`; see
    /// [`ApiStatus::gateway_timeout`].
    pub fn gateway_timeout(retry_after: u32) -> Self {
        Fault::Status(ApiStatus::gateway_timeout().with_retry_after(retry_after))
    }

    /// The same fault with a `Retry-After: seconds` header and
    /// `details.retryAfterSeconds` ([`ApiStatus::with_retry_after`]), e.g.
    /// `Fault::Status(ApiStatus::service_unavailable()).with_retry_after(1)`.
    /// Only a [`Fault::Status`] has a response of its own to carry it: any
    /// other fault is returned unchanged.
    #[must_use]
    pub fn with_retry_after(self, seconds: u32) -> Self {
        match self {
            Fault::Status(status) => Fault::Status(status.with_retry_after(seconds)),
            other => other,
        }
    }

    /// Any status code, with the apiserver's usual reason for it.
    pub fn status(code: u16) -> Self {
        let reason = match code {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            409 => "Conflict",
            410 => "Expired",
            422 => "Invalid",
            429 => "TooManyRequests",
            500 => "InternalError",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            _ => "Unknown",
        };
        Fault::Status(ApiStatus::new(
            code,
            reason,
            format!("fake apiserver fault ({code})"),
        ))
    }
}

#[derive(Debug)]
struct Rule {
    on: On,
    fault: Fault,
    /// How many more requests this rule applies to; `None`: every one.
    left: Option<usize>,
}

/// A queue of fault rules shared between a test and the server (`Clone` shares it).
#[derive(Debug, Clone, Default)]
pub struct Script {
    rules: Arc<Mutex<VecDeque<Rule>>>,
}

impl Script {
    /// An empty script: every request is served normally.
    pub fn new() -> Self {
        Self::default()
    }

    fn rules(&self) -> std::sync::MutexGuard<'_, VecDeque<Rule>> {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Apply `fault` to the next request matching `on` (after earlier rules for it).
    pub fn push(&self, on: On, fault: Fault) -> &Self {
        self.push_times(on, fault, 1)
    }

    /// Apply `fault` to the next `times` requests matching `on` (after earlier
    /// rules for them): "the next 3 lists answer 503".
    pub fn push_times(&self, on: On, fault: Fault, times: usize) -> &Self {
        if times > 0 {
            self.rules().push_back(Rule {
                on,
                fault,
                left: Some(times),
            });
        }
        self
    }

    /// Apply `fault` to every request matching `on` that no earlier rule takes,
    /// until [`Script::remove`] or [`Script::clear`]: "every watch gets 410".
    /// Rules pushed after it for the same requests wait until it is removed.
    pub fn always(&self, on: On, fault: Fault) -> &Self {
        self.rules().push_back(Rule {
            on,
            fault,
            left: None,
        });
        self
    }

    /// Shorthand for `push(On::List, fault)`.
    pub fn on_list(&self, fault: Fault) -> &Self {
        self.push(On::List, fault)
    }

    /// Shorthand for `push(On::Watch, fault)`.
    pub fn on_watch(&self, fault: Fault) -> &Self {
        self.push(On::Watch, fault)
    }

    /// How many one-shot uses are still queued (rules from [`Script::always`] not
    /// counted); a test can assert it reached 0, i.e. every scripted fault fired.
    pub fn pending(&self) -> usize {
        self.rules().iter().filter_map(|r| r.left).sum()
    }

    /// Remove every rule.
    pub fn clear(&self) {
        self.rules().clear();
    }

    /// Remove every rule made for exactly `on` (one-shot, counted and
    /// [`Script::always`] alike); returns how many were removed. Rules for
    /// other `On`s, [`On::Any`] included, stay.
    pub fn remove(&self, on: On) -> usize {
        let mut rules = self.rules();
        let before = rules.len();
        rules.retain(|r| r.on != on);
        before - rules.len()
    }

    /// Take the fault for a request of this kind, if a rule matches.
    pub(crate) fn take(&self, kind: RequestKind) -> Option<Fault> {
        let mut rules = self.rules();
        let idx = rules.iter().position(|r| r.on.matches(kind))?;
        let rule = &mut rules[idx];
        let fault = rule.fault.clone();
        if let Some(left) = &mut rule.left {
            *left -= 1;
            if *left == 0 {
                rules.remove(idx);
            }
        }
        Some(fault)
    }
}

#[derive(Debug, Default)]
struct GateInner {
    open: AtomicBool,
    arrived: AtomicUsize,
    signal: Signal,
}

/// A point where the server waits for the test: closed until [`Gate::open`].
///
/// `Clone` shares the gate. The server counts each arrival, so a test can wait
/// until a request or stream is parked at the gate ([`Gate::arrived`]) before it
/// changes something and opens it. Opening is permanent.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    inner: Arc<GateInner>,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Open the gate: release everything waiting at it, now and later.
    pub fn open(&self) {
        self.inner.open.store(true, Ordering::SeqCst);
        self.inner.signal.notify();
    }

    /// Whether the gate has been opened.
    pub fn is_open(&self) -> bool {
        self.inner.open.load(Ordering::SeqCst)
    }

    /// How many times the server has reached the gate.
    pub fn arrivals(&self) -> usize {
        self.inner.arrived.load(Ordering::SeqCst)
    }

    /// Wait until the server has reached the gate `n` times in all.
    pub async fn arrived(&self, n: usize) {
        self.inner
            .signal
            .wait_for(|| (self.arrivals() >= n).then_some(()))
            .await;
    }

    /// Block until the server has reached the gate `n` times, or `timeout` passes
    /// (then `false`).
    pub fn arrived_blocking(&self, n: usize, timeout: Duration) -> bool {
        self.inner
            .signal
            .wait_for_blocking(timeout, || (self.arrivals() >= n).then_some(()))
            .is_some()
    }

    /// Server side: count an arrival, then wait until the gate is open.
    pub(crate) async fn pass(&self) {
        self.inner.arrived.fetch_add(1, Ordering::SeqCst);
        self.inner.signal.notify();
        self.inner
            .signal
            .wait_for(|| self.is_open().then_some(()))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_taken_in_order_per_kind() {
        let s = Script::new();
        s.push(On::Watch, Fault::EndAfter(1))
            .push(On::List, Fault::Gone)
            .push_times(On::Any, Fault::EmptyWatch, 2);
        assert!(matches!(s.take(RequestKind::List), Some(Fault::Gone)));
        assert!(matches!(
            s.take(RequestKind::Watch),
            Some(Fault::EndAfter(1))
        ));
        assert_eq!(s.pending(), 2);
        assert!(matches!(s.take(RequestKind::Get), Some(Fault::EmptyWatch)));
        assert!(matches!(
            s.take(RequestKind::Watch),
            Some(Fault::EmptyWatch)
        ));
        assert!(s.take(RequestKind::Watch).is_none());
        assert!(s.take(RequestKind::Discovery).is_none());
        assert_eq!(s.pending(), 0);
    }

    #[test]
    fn repeating_rules_last_until_removed() {
        let s = Script::new();
        s.always(On::Watch, Fault::Gone)
            .push(On::Watch, Fault::EmptyWatch)
            .push_times(On::List, Fault::unavailable(1), 2)
            .push(On::Namespace, Fault::forbidden());
        assert_eq!(s.pending(), 4, "always-rules are not counted");
        for _ in 0..100 {
            assert!(matches!(s.take(RequestKind::Watch), Some(Fault::Gone)));
        }
        for _ in 0..2 {
            assert!(matches!(s.take(RequestKind::List), Some(Fault::Status(st)) if st.code == 503));
        }
        assert!(s.take(RequestKind::List).is_none());
        // On::Any does not take namespace GETs; On::Namespace does.
        assert!(s.take(RequestKind::Get).is_none());
        assert!(matches!(
            s.take(RequestKind::Namespace),
            Some(Fault::Forbidden { .. })
        ));
        assert_eq!(s.remove(On::Watch), 2);
        assert!(s.take(RequestKind::Watch).is_none());
        s.always(On::Any, Fault::Pass).always(On::List, Fault::Gone);
        assert_eq!(s.remove(On::List), 1);
        assert!(matches!(s.take(RequestKind::List), Some(Fault::Pass)));
        s.clear();
        assert!(s.take(RequestKind::List).is_none());
    }

    #[test]
    fn retry_after_only_on_status_faults() {
        let f = Fault::Status(ApiStatus::service_unavailable()).with_retry_after(2);
        assert!(matches!(&f, Fault::Status(st) if st.retry_after == Some(2)));
        assert!(matches!(Fault::Gone.with_retry_after(2), Fault::Gone));
        assert!(matches!(
            Fault::gateway_timeout(5),
            Fault::Status(st) if (st.code, st.reason.as_str(), st.retry_after) == (504, "Timeout", Some(5))
        ));
    }
}
