//! List, then watch: a state machine that follows the events collection.
//!
//! Shaped after kube-runtime's watcher: a private `State` stepped by one
//! function, [`EventWatcher::next`], yielding [`Update`]s. What it handles:
//!
//! - a watch the server ends normally (`timeoutSeconds`, apiserver restart):
//!   re-watch from the last resourceVersion seen, so `-w` never stops;
//! - connection errors and 5xx: back off and re-watch from the same place;
//! - `410 Gone` (as an HTTP status or as a watch `ERROR` event) and a watch
//!   that ends at once with no events (how a stale resourceVersion sometimes
//!   shows, since events bypass the watch cache): relist, and deliver only
//!   occurrences `(uid, resourceVersion)` not delivered before;
//! - 401/403: end with an error naming the verb and scope.

use std::collections::HashMap;
use std::pin::Pin;
use std::time::Duration;

use chrono::Utc;
use futures::{Stream, StreamExt};
use kube::api::{ListParams, WatchParams};
use kube::core::{Request, WatchEvent};
use tokio::time::Instant;

use super::list::{ListOptions, events_path, list_events};
use super::{ApiError, Scope};
use crate::model::record::WatchType;
use crate::model::{Event, WireEvent};

/// How to follow.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// What to list and watch.
    pub list: ListOptions,
    /// List existing events first (`-w`), or only watch for new ones (`--watch-only`).
    pub list_first: bool,
    /// Server-side watch timeout; the watch is renewed when it ends.
    pub timeout_secs: u32,
    /// Longest pause between retries after errors.
    pub max_backoff: Duration,
}

impl WatchOptions {
    /// Defaults: list first, 290 s watches (under kube's 295 s read timeout), 30 s max backoff.
    pub fn new(list: ListOptions) -> Self {
        WatchOptions {
            list,
            list_first: true,
            timeout_secs: 290,
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// What the watcher yields.
#[derive(Debug)]
pub enum Update {
    /// A complete list: the initial one, or a relist after `410 Gone`
    /// (then only occurrences not delivered before).
    Listed {
        /// Events, in the apiserver's order.
        events: Vec<Event>,
        /// Whether this is a relist after the watch expired.
        relist: bool,
    },
    /// One change from the watch.
    Changed {
        /// The event.
        event: Box<Event>,
        /// ADDED, MODIFIED or DELETED.
        watch_type: WatchType,
    },
}

type WatchStream = Pin<Box<dyn Stream<Item = kube::Result<WatchEvent<WireEvent>>> + Send>>;

enum State {
    /// Nothing done yet.
    Empty,
    /// Need a (re)list; `relist` is true after expiry.
    Listing { relist: bool },
    /// Need to open a watch from `rv`.
    Start { rv: String },
    /// A watch is open.
    Watching {
        rv: String,
        stream: WatchStream,
        opened: Instant,
        received: usize,
    },
    /// Waiting before `then`.
    Backoff { until: Instant, then: Box<State> },
}

/// Follows the events collection; see the module docs.
pub struct EventWatcher {
    client: kube::Client,
    url: String,
    opts: WatchOptions,
    state: State,
    /// Last delivered resourceVersion per event uid, to drop repeats after a relist.
    delivered: HashMap<String, String>,
    backoff: Duration,
    /// Whether a list or watch has succeeded yet. Until then every error is
    /// final: a wrong host, a failing auth plugin or a proxy's HTML page
    /// would otherwise be retried forever without a single event shown.
    connected: bool,
    /// With `--watch-only`: when following started. A relist after `410 Gone`
    /// then skips events last seen before it, which the user never asked for.
    watch_only_since: Option<chrono::DateTime<Utc>>,
    /// Count of relists after expiry, for diagnostics.
    pub relists: u64,
}

impl EventWatcher {
    /// A watcher; nothing is requested until [`EventWatcher::next`].
    pub fn new(client: kube::Client, url: impl Into<String>, opts: WatchOptions) -> Self {
        EventWatcher {
            client,
            url: url.into(),
            opts,
            state: State::Empty,
            delivered: HashMap::new(),
            backoff: Duration::ZERO,
            connected: false,
            watch_only_since: None,
            relists: 0,
        }
    }

    fn scope(&self, verb: &'static str) -> Scope {
        Scope {
            verb,
            namespace: self.opts.list.namespace.clone(),
        }
    }

    fn next_backoff(&mut self) -> Duration {
        self.backoff = if self.backoff.is_zero() {
            Duration::from_millis(250)
        } else {
            (self.backoff * 2).min(self.opts.max_backoff)
        };
        self.backoff
    }

    fn remember(&mut self, e: &Event, watch_type: WatchType) -> bool {
        if watch_type == WatchType::Deleted {
            self.delivered.remove(&e.uid);
            return true;
        }
        match self.delivered.get(&e.uid) {
            Some(rv) if *rv == e.resource_version => false,
            _ => {
                self.delivered
                    .insert(e.uid.clone(), e.resource_version.clone());
                true
            }
        }
    }

    async fn current_resource_version(&self) -> Result<String, ApiError> {
        // `--watch-only`: a one-item list tells the collection's current
        // resourceVersion; watching from "" or "0" would replay every
        // existing event as ADDED.
        let mut lp = ListParams::default().limit(1);
        if let Some(fs) = &self.opts.list.field_selector {
            lp = lp.fields(fs);
        }
        let req = Request::new(events_path(self.opts.list.namespace.as_deref()))
            .list(&lp)
            .map_err(|e| ApiError::Malformed {
                verb: "list",
                reason: e.to_string(),
            })?;
        let list: crate::model::WireEventList = self
            .client
            .request(req)
            .await
            .map_err(|e| ApiError::from_kube(e, &self.scope("list"), &self.url))?;
        Ok(list.metadata.resource_version.unwrap_or_default())
    }

    /// The next update. Transient failures are retried inside (with
    /// backoff, logged); an `Err` is final (permission denied, bad request).
    pub async fn next(&mut self) -> Result<Update, ApiError> {
        loop {
            match std::mem::replace(&mut self.state, State::Empty) {
                State::Empty => {
                    if self.opts.list_first {
                        self.state = State::Listing { relist: false };
                    } else {
                        self.watch_only_since = Some(Utc::now());
                        match self.current_resource_version().await {
                            Ok(rv) => {
                                self.connected = true;
                                self.state = State::Start { rv };
                            }
                            Err(e) if self.retryable(&e) => self.retry_later(State::Empty, &e),
                            Err(e) => return Err(e),
                        }
                    }
                }
                State::Listing { relist } => {
                    let mut events = Vec::new();
                    let res = list_events(&self.client, &self.url, &self.opts.list, |page| {
                        events.extend(page)
                    })
                    .await;
                    match res {
                        Ok(rv) => {
                            self.connected = true;
                            self.backoff = Duration::ZERO;
                            if relist {
                                self.relists += 1;
                            }
                            let mut fresh = Vec::with_capacity(events.len());
                            let mut listed = HashMap::with_capacity(events.len());
                            for e in events {
                                let new = self.delivered.get(&e.uid) != Some(&e.resource_version);
                                listed.insert(e.uid.clone(), e.resource_version.clone());
                                let wanted = match self.watch_only_since {
                                    Some(since) => e.last_seen.is_some_and(|t| t >= since),
                                    None => true,
                                };
                                if new && wanted {
                                    fresh.push(e);
                                }
                            }
                            // Forget events that are gone (expired during a
                            // gap): the map holds what the list holds.
                            self.delivered = listed;
                            self.state = State::Start { rv };
                            return Ok(Update::Listed {
                                events: fresh,
                                relist,
                            });
                        }
                        Err(e)
                            if self.retryable(&e)
                                || (self.connected && matches!(e, ApiError::Gone(_))) =>
                        {
                            self.retry_later(State::Listing { relist }, &e)
                        }
                        Err(e) => return Err(e),
                    }
                }
                State::Start { rv } => {
                    let mut wp = WatchParams::default().timeout(self.opts.timeout_secs);
                    if let Some(fs) = &self.opts.list.field_selector {
                        wp = wp.fields(fs);
                    }
                    let req = Request::new(events_path(self.opts.list.namespace.as_deref()))
                        .watch(&wp, &rv)
                        .map_err(|e| ApiError::Malformed {
                            verb: "watch",
                            reason: e.to_string(),
                        })?;
                    match self.client.request_events::<WireEvent>(req).await {
                        Ok(stream) => {
                            tracing::debug!(resource_version = %rv, "watch opened");
                            self.connected = true;
                            self.backoff = Duration::ZERO;
                            self.state = State::Watching {
                                rv,
                                stream: Box::pin(stream),
                                opened: Instant::now(),
                                received: 0,
                            };
                        }
                        Err(e) => match ApiError::from_kube(e, &self.scope("watch"), &self.url) {
                            ApiError::Gone(msg) => self.expired(&msg),
                            e if self.retryable(&e) => self.retry_later(State::Start { rv }, &e),
                            e => return Err(e),
                        },
                    }
                }
                State::Watching {
                    rv,
                    mut stream,
                    opened,
                    received,
                } => match stream.next().await {
                    None => {
                        if received == 0 && opened.elapsed() < Duration::from_secs(1) {
                            // An immediately-closed watch from a stale
                            // resourceVersion: treat as expired. Back off so a
                            // server that always does this cannot spin us.
                            tracing::warn!(resource_version = %rv, "watch closed at once with no events; treating as expired and relisting");
                            let wait = self.next_backoff();
                            self.state = State::Backoff {
                                until: Instant::now() + wait,
                                then: Box::new(State::Listing { relist: true }),
                            };
                        } else {
                            tracing::debug!(resource_version = %rv, "watch ended; re-watching");
                            self.state = State::Start { rv };
                        }
                    }
                    Some(Ok(WatchEvent::Error(status))) => {
                        if status.code == 410 {
                            self.expired(&status.message);
                        } else {
                            let e = ApiError::from_kube(
                                kube::Error::Api(status),
                                &self.scope("watch"),
                                &self.url,
                            );
                            if self.retryable(&e) {
                                self.retry_later(State::Start { rv }, &e);
                            } else {
                                return Err(e);
                            }
                        }
                    }
                    Some(Ok(WatchEvent::Bookmark(b))) => {
                        self.state = State::Watching {
                            rv: b.metadata.resource_version,
                            stream,
                            opened,
                            received: received + 1,
                        };
                    }
                    Some(Ok(ev)) => {
                        let (wire, watch_type) = match ev {
                            WatchEvent::Added(w) => (w, WatchType::Added),
                            WatchEvent::Modified(w) => (w, WatchType::Modified),
                            WatchEvent::Deleted(w) => (w, WatchType::Deleted),
                            WatchEvent::Bookmark(_) | WatchEvent::Error(_) => continue,
                        };
                        let event = Event::from(wire);
                        let rv = if event.resource_version.is_empty() {
                            rv
                        } else {
                            event.resource_version.clone()
                        };
                        self.backoff = Duration::ZERO;
                        let fresh = self.remember(&event, watch_type);
                        self.state = State::Watching {
                            rv,
                            stream,
                            opened,
                            received: received + 1,
                        };
                        if fresh {
                            return Ok(Update::Changed {
                                event: Box::new(event),
                                watch_type,
                            });
                        }
                    }
                    Some(Err(e)) => {
                        let e = ApiError::from_kube(e, &self.scope("watch"), &self.url);
                        match e {
                            ApiError::Malformed { reason, .. } => {
                                // kube-client yields a line it cannot decode and
                                // carries on; so do we. Re-watching would meet
                                // the same object again and never get past it.
                                tracing::warn!(%reason, "skipping a malformed watch event");
                                self.state = State::Watching {
                                    rv,
                                    stream,
                                    opened,
                                    received: received + 1,
                                };
                            }
                            ApiError::Gone(msg) => self.expired(&msg),
                            e if self.retryable(&e) => self.retry_later(State::Start { rv }, &e),
                            e => return Err(e),
                        }
                    }
                },
                State::Backoff { until, then } => {
                    tokio::time::sleep_until(until).await;
                    self.state = *then;
                }
            }
        }
    }

    fn expired(&mut self, message: &str) {
        tracing::warn!(%message, "watch expired (410 Gone); relisting");
        self.state = State::Listing { relist: true };
    }

    /// Transient errors are retried once kev has been connected; before
    /// that, every error is final (see `connected`).
    fn retryable(&self, e: &ApiError) -> bool {
        self.connected && e.is_transient()
    }

    fn retry_later(&mut self, then: State, err: &ApiError) {
        let wait = self.next_backoff();
        tracing::warn!(error = %err, retry_in = ?wait, "apiserver call failed; retrying");
        self.state = State::Backoff {
            until: Instant::now() + wait,
            then: Box::new(then),
        };
    }
}
