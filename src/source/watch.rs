//! The resumable watch: list, then watch, from a starting position.
//!
//! Shaped after kube-runtime's watcher: a private `State` stepped by one
//! function, [`EventWatcher::next`], yielding [`Update`]s, each with its
//! position (the list's resourceVersion, or the notification's). Unlike
//! kube-runtime's watcher it can start from a stored resourceVersion
//! ([`Start::Resume`]), which is what a restart with a state file needs.
//!
//! Transitions:
//!
//! - start → list (paged) → watch from the list's resourceVersion; or
//!   watch from the stored resourceVersion at once ([`Start::Resume`]); or,
//!   with `--watch-only`, watch from the collection's current version;
//! - a watch the server ends normally (`timeoutSeconds`, apiserver restart):
//!   re-watch from the last resourceVersion seen;
//! - `410 Gone` (an HTTP status, or a watch `ERROR` event with code 410) and
//!   a watch that ends at once with no events (how a stale resourceVersion
//!   sometimes shows, since events bypass the watch cache): relist. The
//!   relist yields every listed event; deduplication is the pipeline's;
//! - connection errors, timeouts, 429 and 5xx: back off (exponential, with
//!   jitter, at least the server's `Retry-After`) and retry the same step;
//! - 401, 403, 404: end with an error naming the verb and resource.
//!
//! Relists back off too: a server that answers every watch with 410 or an
//! empty 200 is asked less and less often, not hammered. The backoff resets
//! only when a watch delivers something.
//!
//! Before the first success every error is final, except a server that
//! says "try later" (429, 503, 504): that is retried, and said so on
//! stderr, until `--request-timeout` has passed since the start, and then
//! it is final too. After the first success, transient errors never end
//! the stream.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use kube::api::{ListParams, WatchParams};
use kube::core::{Request, WatchEvent};
use tokio::time::Instant;
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};
use tokio_util::io::StreamReader;

use super::backoff::Backoff;
use super::list::{ListOptions, events_path, list_events};
use super::{ApiError, Scope, api};
use crate::model::record::WatchType;
use crate::model::{Event, WireEvent};

/// Longest watch line accepted; longer ones are skipped as malformed. An
/// event is limited to about 1.5 MiB by etcd.
const MAX_WATCH_LINE: usize = 16 << 20;

/// A watch that ends sooner than this without a single notification is
/// taken as expired (stale resourceVersion), not as a normal end.
const IMMEDIATE_CLOSE: Duration = Duration::from_secs(1);

/// Where following starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// List existing events, then watch (`-w`).
    List,
    /// Watch for new events only, from the collection's current version
    /// (`--watch-only`).
    WatchOnly,
    /// Relist at once, as after expiry (a state file without a position:
    /// the pipeline skips what was delivered).
    Relist,
    /// Watch from a stored resourceVersion (a state file's); relist if it
    /// has expired.
    Resume {
        /// The stored resourceVersion.
        resource_version: String,
    },
}

/// How to follow.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// What to list and watch.
    pub list: ListOptions,
    /// Where to start.
    pub start: Start,
    /// Server-side watch timeout; the watch is renewed when it ends.
    pub timeout_secs: u32,
    /// First pause after a failure.
    pub initial_backoff: Duration,
    /// Longest pause between retries after errors.
    pub max_backoff: Duration,
    /// How long events live on the apiserver (`--event-ttl`): a loss of
    /// contact longer than this may have lost events, and is logged.
    pub event_ttl: Duration,
    /// With `--watch-only`: events last seen before this are not wanted, so
    /// a relist leaves them out. Set by [`Start::WatchOnly`] to when the
    /// watch started, or kept from an earlier run by a state file.
    pub since: Option<DateTime<Utc>>,
}

impl WatchOptions {
    /// Defaults: list first, 290 s watches (under kube's 295 s read
    /// timeout), backoff from 250 ms to 30 s, a one-hour event TTL.
    pub fn new(list: ListOptions) -> Self {
        WatchOptions {
            list,
            start: Start::List,
            timeout_secs: 290,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            event_ttl: Duration::from_secs(3600),
            since: None,
        }
    }
}

/// What the watcher yields.
#[derive(Debug)]
pub enum Update {
    /// A complete list: the initial one, or a relist after expiry. Every
    /// listed event is here; the pipeline drops what it delivered before.
    Listed {
        /// Events, in the apiserver's order.
        events: Vec<Event>,
        /// With [`ListOptions::keep_raw`], each event's object as the
        /// apiserver sent it, index by index; else empty.
        raw: Vec<Arc<str>>,
        /// The list's resourceVersion: where the watch continues.
        list_rv: String,
        /// Whether this is a relist after the watch expired.
        relist: bool,
    },
    /// Where the watch starts, without a list (`--watch-only`): a resume
    /// from here misses nothing that was wanted.
    Positioned {
        /// The collection's resourceVersion when the watch started.
        rv: String,
        /// Events last seen before this are not wanted.
        since: DateTime<Utc>,
    },
    /// One notification from the watch.
    Changed {
        /// The event.
        event: Box<Event>,
        /// With [`ListOptions::keep_raw`], its object as the apiserver sent it.
        raw: Option<Arc<str>>,
        /// ADDED, MODIFIED or DELETED.
        watch_type: WatchType,
        /// Its resourceVersion: a watch resumed from here sees what follows.
        rv: String,
    },
}

/// Counters for diagnostics and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchStats {
    /// Relists after expiry.
    pub relists: u64,
    /// Watches opened after the first.
    pub rewatches: u64,
    /// Retries after errors.
    pub retries: u64,
    /// Losses of contact longer than the event TTL.
    pub gaps: u64,
}

/// A watch's notifications, each with its object's JSON when
/// [`ListOptions::keep_raw`] asks for it.
type WatchStream =
    Pin<Box<dyn Stream<Item = Result<(WatchEvent<WireEvent>, Option<Arc<str>>), ApiError>> + Send>>;

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
    backoff: Backoff,
    /// Whether a list or watch has succeeded yet (see the module docs).
    connected: bool,
    /// When this watcher started, for the give-up time before the first success.
    started: Instant,
    /// With `--watch-only`: when following started (or a state file's
    /// cutoff). A relist after `410 Gone` skips events last seen before it,
    /// which the user never asked for.
    watch_only_since: Option<DateTime<Utc>>,
    /// When kev last heard from the apiserver, for gap detection.
    last_contact: Option<DateTime<Utc>>,
    watches_opened: u64,
    stats: WatchStats,
    metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
    /// `--tree`: sees every event before it is yielded.
    tracker: Option<super::tree::OwnerTracker>,
}

impl EventWatcher {
    /// A watcher; nothing is requested until [`EventWatcher::next`].
    pub fn new(client: kube::Client, url: impl Into<String>, opts: WatchOptions) -> Self {
        let backoff = Backoff::new(opts.initial_backoff, opts.max_backoff);
        let watch_only_since = opts.since;
        EventWatcher {
            client,
            url: url.into(),
            opts,
            state: State::Empty,
            backoff,
            connected: false,
            started: Instant::now(),
            watch_only_since,
            last_contact: None,
            watches_opened: 0,
            stats: WatchStats::default(),
            metrics: None,
            tracker: None,
        }
    }

    /// Let `tracker` see every event before it is yielded (`--tree`: new
    /// children are traced before the filter looks for them).
    #[must_use]
    pub fn with_tracker(mut self, tracker: super::tree::OwnerTracker) -> Self {
        self.tracker = Some(tracker);
        self
    }

    /// Count relists, watch restarts and gaps into `metrics`, and mark it
    /// ready once the first list (or watch) is through.
    #[must_use]
    pub fn with_metrics(mut self, metrics: std::sync::Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn connected_now(&mut self) {
        self.connected = true;
        if let Some(m) = &self.metrics {
            m.set_ready();
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> &WatchStats {
        &self.stats
    }

    fn scope(&self, verb: &'static str) -> Scope {
        self.opts.list.scope(verb, &self.url)
    }

    fn contact(&mut self) {
        self.last_contact = Some(Utc::now());
    }

    async fn current_resource_version(
        client: &kube::Client,
        opts: &WatchOptions,
        scope: Scope,
    ) -> Result<String, ApiError> {
        // `--watch-only`: a one-item list tells the collection's current
        // resourceVersion; watching from "" or "0" would replay every
        // existing event as ADDED.
        let mut lp = ListParams::default().limit(1);
        if let Some(fs) = &opts.list.field_selector {
            lp = lp.fields(fs);
        }
        let req = Request::new(events_path(opts.list.namespace.as_deref()))
            .list(&lp)
            .map_err(|e| ApiError::Malformed {
                verb: "list",
                reason: e.to_string(),
            })?;
        let text = api::get_text(client, req, &scope, opts.list.request_timeout).await?;
        let list: crate::model::WireEventList =
            serde_json::from_str(&text).map_err(|e| ApiError::Malformed {
                verb: "list",
                reason: e.to_string(),
            })?;
        // Watching from "" would replay every existing event as ADDED.
        list.metadata
            .resource_version
            .filter(|rv| !rv.is_empty())
            .ok_or_else(|| ApiError::Malformed {
                verb: "list",
                reason: "the list has no resourceVersion to watch from".to_string(),
            })
    }

    async fn open_watch(
        client: &kube::Client,
        opts: &WatchOptions,
        scope: Scope,
        rv: &str,
    ) -> Result<WatchStream, ApiError> {
        let mut wp = WatchParams::default().timeout(opts.timeout_secs);
        if let Some(fs) = &opts.list.field_selector {
            wp = wp.fields(fs);
        }
        let mut req = Request::new(events_path(opts.list.namespace.as_deref()))
            .watch(&wp, rv)
            .map_err(|e| ApiError::Malformed {
                verb: "watch",
                reason: e.to_string(),
            })?;
        // One JSON object per line, uncompressed (as kube-client asks).
        req.headers_mut().insert(
            http::header::ACCEPT_ENCODING,
            http::HeaderValue::from_static("identity"),
        );
        let res = api::send(client, req, &scope, opts.list.request_timeout).await?;
        let body = res
            .into_body()
            .into_data_stream()
            .map_err(std::io::Error::other);
        let url = scope.url.clone();
        let keep_raw = opts.list.keep_raw;
        let lines = FramedRead::new(
            StreamReader::new(body),
            LinesCodec::new_with_max_length(MAX_WATCH_LINE),
        );
        Ok(Box::pin(lines.filter_map(move |line| {
            let url = url.clone();
            let scope = scope.clone();
            async move {
                match line {
                    Ok(line) if line.trim().is_empty() => None,
                    Ok(line) => Some(decode_line(&line, &scope, keep_raw)),
                    Err(LinesCodecError::MaxLineLengthExceeded) => Some(Err(ApiError::Malformed {
                        verb: "watch",
                        reason: format!("a watch line longer than {MAX_WATCH_LINE} bytes"),
                    })),
                    Err(LinesCodecError::Io(e)) => Some(Err(ApiError::Unreachable {
                        url,
                        source: Box::new(e),
                    })),
                }
            }
        })))
    }

    /// The next update. Transient failures are retried inside (with
    /// backoff, logged); an `Err` is final (permission denied, bad request,
    /// or a failure before the first success).
    ///
    /// Not cancel-safe: dropping the future mid-way loses the watcher's
    /// place (it would start over from [`WatchOptions::start`]). Own the
    /// watcher in one task and stop it by dropping it, as the pipeline does.
    pub async fn next(&mut self) -> Result<Update, ApiError> {
        let update = self.next_update().await?;
        if let Some(t) = &mut self.tracker {
            match &update {
                Update::Listed { events, .. } => t.observe(events.iter()).await,
                Update::Changed { event, .. } => t.observe([&**event]).await,
                Update::Positioned { .. } => {}
            }
        }
        Ok(update)
    }

    async fn next_update(&mut self) -> Result<Update, ApiError> {
        loop {
            match std::mem::replace(&mut self.state, State::Empty) {
                State::Empty => match self.opts.start.clone() {
                    Start::List => self.state = State::Listing { relist: false },
                    Start::Relist => self.state = State::Listing { relist: true },
                    Start::Resume { resource_version } => {
                        tracing::debug!(%resource_version, "resuming the watch from the state file");
                        self.state = State::Start {
                            rv: resource_version,
                        };
                    }
                    Start::WatchOnly => {
                        // Set once: a retry must not move the cutoff.
                        let since = *self.watch_only_since.get_or_insert_with(Utc::now);
                        let scope = self.scope("list");
                        match Self::current_resource_version(&self.client, &self.opts, scope).await
                        {
                            Ok(rv) => {
                                self.connected_now();
                                self.contact();
                                self.state = State::Start { rv: rv.clone() };
                                return Ok(Update::Positioned { rv, since });
                            }
                            Err(e) => self.fail(State::Empty, e)?,
                        }
                    }
                },
                State::Listing { relist } => {
                    let (mut events, mut raw) = (Vec::new(), Vec::new());
                    let res =
                        list_events(&self.client, &self.url, &self.opts.list, |page, objects| {
                            events.extend(page);
                            raw.extend(objects);
                        })
                        .await;
                    match res {
                        Ok(list_rv) => {
                            self.connected_now();
                            if relist {
                                self.stats.relists += 1;
                                if let Some(m) = &self.metrics {
                                    m.relists.inc();
                                }
                                self.check_gap();
                            }
                            self.contact();
                            if let Some(since) = self.watch_only_since {
                                let wanted = |e: &Event| e.last_seen.is_some_and(|t| t >= since);
                                if !raw.is_empty() {
                                    let mut keep = events.iter().map(wanted);
                                    raw.retain(|_| keep.next().unwrap_or(false));
                                }
                                events.retain(wanted);
                            }
                            self.state = State::Start {
                                rv: list_rv.clone(),
                            };
                            return Ok(Update::Listed {
                                events,
                                raw,
                                list_rv,
                                relist,
                            });
                        }
                        Err(ApiError::Gone(msg)) if self.connected => {
                            // A relist from a too-old version: list again.
                            tracing::warn!(message = %msg, "list expired (410 Gone); listing again");
                            self.retry_later(State::Listing { relist }, None);
                        }
                        Err(e) => self.fail(State::Listing { relist }, e)?,
                    }
                }
                State::Start { rv } => {
                    match Self::open_watch(&self.client, &self.opts, self.scope("watch"), &rv).await
                    {
                        Ok(stream) => {
                            tracing::debug!(resource_version = %rv, "watch opened");
                            self.connected_now();
                            self.contact();
                            self.watches_opened += 1;
                            if self.watches_opened > 1 {
                                self.stats.rewatches += 1;
                                if let Some(m) = &self.metrics {
                                    m.watch_restarts.inc();
                                }
                            }
                            self.state = State::Watching {
                                rv,
                                stream,
                                opened: Instant::now(),
                                received: 0,
                            };
                        }
                        Err(ApiError::Gone(msg)) => self.expired(&msg),
                        Err(e) => self.fail(State::Start { rv }, e)?,
                    }
                }
                State::Watching {
                    rv,
                    mut stream,
                    opened,
                    received,
                } => match stream.next().await {
                    None => {
                        if received == 0 && opened.elapsed() < IMMEDIATE_CLOSE {
                            tracing::warn!(resource_version = %rv, "watch closed at once with no events; treating it as expired and relisting");
                            self.expired_quietly();
                        } else {
                            tracing::debug!(resource_version = %rv, "watch ended; re-watching");
                            self.contact();
                            self.state = State::Start { rv };
                        }
                    }
                    Some(Ok((WatchEvent::Error(status), _))) => {
                        if status.code == 410 {
                            self.expired(&status.message);
                        } else {
                            let e = ApiError::from_status(&status, &self.scope("watch"), None);
                            self.fail(State::Start { rv }, e)?;
                        }
                    }
                    Some(Ok((WatchEvent::Bookmark(b), _))) => {
                        self.backoff.reset();
                        self.contact();
                        self.state = State::Watching {
                            rv: b.metadata.resource_version,
                            stream,
                            opened,
                            received: received + 1,
                        };
                    }
                    Some(Ok((ev, raw))) => {
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
                        self.backoff.reset();
                        self.contact();
                        self.state = State::Watching {
                            rv: rv.clone(),
                            stream,
                            opened,
                            received: received + 1,
                        };
                        return Ok(Update::Changed {
                            event: Box::new(event),
                            raw,
                            watch_type,
                            rv,
                        });
                    }
                    Some(Err(ApiError::Malformed { reason, .. })) => {
                        // A line that does not decode: skip it and carry on
                        // with the stream. Re-watching would meet the same
                        // object again and never get past it.
                        tracing::warn!(%reason, "skipping a malformed watch event");
                        self.state = State::Watching {
                            rv,
                            stream,
                            opened,
                            received: received + 1,
                        };
                    }
                    Some(Err(ApiError::Gone(msg))) => self.expired(&msg),
                    Some(Err(e)) => self.fail(State::Start { rv }, e)?,
                },
                State::Backoff { until, then } => {
                    tokio::time::sleep_until(until).await;
                    self.state = *then;
                }
            }
        }
    }

    /// Relist after `410 Gone`, after a backoff.
    fn expired(&mut self, message: &str) {
        tracing::warn!(message = %crate::escape::escape(message), "watch expired (410 Gone); relisting");
        self.expired_quietly();
    }

    fn expired_quietly(&mut self) {
        self.retry_later(State::Listing { relist: true }, None);
    }

    /// After `e`: retry `then` later if `e` allows, else return it.
    fn fail(&mut self, then: State, e: ApiError) -> Result<(), ApiError> {
        let retry = if self.connected {
            e.is_transient()
        } else {
            // Before the first success only "try later" is retried, and
            // only within the request timeout.
            e.is_throttled()
                && self
                    .opts
                    .list
                    .request_timeout
                    .is_none_or(|t| self.started.elapsed() < t)
        };
        if !retry {
            return Err(e);
        }
        self.stats.retries += 1;
        let wait = self.retry_later(then, e.retry_after());
        tracing::warn!(
            "{}; retrying in {:.1}s",
            crate::client::one_line(&e),
            wait.as_secs_f64()
        );
        Ok(())
    }

    fn retry_later(&mut self, then: State, at_least: Option<Duration>) -> Duration {
        let mut wait = self.backoff.next(at_least);
        if !self.connected
            && let Some(t) = self.opts.list.request_timeout
        {
            // Do not sleep past the give-up time; try once more at it.
            wait = wait.min(t.saturating_sub(self.started.elapsed()));
        }
        self.state = State::Backoff {
            until: Instant::now() + wait,
            then: Box::new(then),
        };
        wait
    }

    /// After a relist: was kev out of touch for longer than events live?
    fn check_gap(&mut self) {
        let Some(last) = self.last_contact else {
            return;
        };
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.opts.event_ttl).unwrap_or(chrono::Duration::MAX);
        if now - last > ttl {
            self.stats.gaps += 1;
            if let Some(m) = &self.metrics {
                m.gaps.inc();
            }
            tracing::warn!(
                from = %crate::model::time_serde::format(&last),
                to = %crate::model::time_serde::format(&now),
                "lost contact with the apiserver for {}, longer than the event TTL ({}): events created and expired in that time were never seen",
                span(now - last),
                span(ttl),
            );
        }
    }
}

/// `2h13m5s`: a span of time for messages.
fn span(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// One watch line: a notification, or an error `Status` the server wrote
/// in place of one.
fn decode_line(
    line: &str,
    scope: &Scope,
    keep_raw: bool,
) -> Result<(WatchEvent<WireEvent>, Option<Arc<str>>), ApiError> {
    /// A notification's object as text.
    #[derive(serde::Deserialize)]
    struct Frame<'a> {
        #[serde(borrow)]
        object: &'a serde_json::value::RawValue,
    }
    match serde_json::from_str::<WatchEvent<WireEvent>>(line) {
        Ok(ev) => {
            let raw = match &ev {
                WatchEvent::Added(_) | WatchEvent::Modified(_) | WatchEvent::Deleted(_)
                    if keep_raw =>
                {
                    serde_json::from_str::<Frame<'_>>(line)
                        .ok()
                        .map(|f| Arc::from(f.object.get()))
                }
                _ => None,
            };
            Ok((ev, raw))
        }
        Err(e) => match serde_json::from_str::<kube::core::Status>(line) {
            Ok(status) if status.code != 0 => Err(ApiError::from_status(&status, scope, None)),
            _ => Err(ApiError::Malformed {
                verb: "watch",
                reason: e.to_string(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kev_testkit::{FakeApiServer, FakeCluster, Fault, On};

    fn list_options() -> ListOptions {
        ListOptions {
            namespace: None,
            field_selector: None,
            page_size: 500,
            // No client-side timers but the backoff's, so paused time moves
            // only through it.
            request_timeout: None,
            keep_raw: false,
        }
    }

    /// A client without timers of its own (connect, read, write timeouts):
    /// under paused time the clock would otherwise jump to them while a
    /// response is on its way from the server's thread. (For the same
    /// reason `--request-timeout` is tested in real time, through the binary:
    /// tests/resume.rs.)
    async fn quiet_client(server: &FakeApiServer) -> kube::Client {
        let mut config = server.kube_config().await.expect("config");
        config.connect_timeout = None;
        config.read_timeout = None;
        config.write_timeout = None;
        config.default_retry = false;
        kube::Client::try_from(config).expect("client")
    }

    async fn watcher(server: &FakeApiServer, start: Start) -> EventWatcher {
        let client = quiet_client(server).await;
        let mut opts = WatchOptions::new(list_options());
        opts.start = start;
        EventWatcher::new(client, server.url(), opts)
    }

    /// Regression: a server answering every watch with 410 (or an empty
    /// 200) was relisted 183 times in 8 s, because every successful list
    /// reset the backoff. Relists now back off: in two minutes (virtual
    /// time) about ten, each wait within the jittered bounds.
    #[tokio::test(start_paused = true)]
    async fn relists_back_off_when_every_watch_expires() {
        kev_testkit::install_crypto_provider();
        for fault in [Fault::ExpiredEvent, Fault::EmptyWatch, Fault::Gone] {
            let server = FakeApiServer::start(FakeCluster::new()).await;
            server.script().always(On::Watch, fault.clone());
            let mut w = watcher(&server, Start::List).await;
            let start = Instant::now();
            let mut lists = Vec::new();
            while start.elapsed() < Duration::from_secs(120) {
                if let Update::Listed { .. } = w.next().await.expect("no error") {
                    lists.push(start.elapsed());
                }
            }
            // Waits: 0.125–0.25, 0.25–0.5, ... doubling to 15–30 s.
            assert!(
                (8..=14).contains(&lists.len()),
                "{fault:?}: {} relists: {lists:?}",
                lists.len()
            );
            let gaps: Vec<Duration> = lists.windows(2).map(|p| p[1] - p[0]).collect();
            assert!(
                gaps.iter().all(|g| *g >= Duration::from_millis(100)),
                "{fault:?}: {gaps:?}"
            );
            assert!(
                gaps.last().is_some_and(|g| *g >= Duration::from_secs(15)),
                "{fault:?}: {gaps:?}"
            );
            assert_eq!(w.stats().relists as usize, lists.len() - 1);
        }
    }

    /// Transient errors after the first success back off and never end
    /// the stream; the backoff resets once a watch delivers.
    #[tokio::test(start_paused = true)]
    async fn transient_errors_back_off_and_progress_resets_the_backoff() {
        kev_testkit::install_crypto_provider();
        let server = FakeApiServer::start(FakeCluster::new()).await;
        server
            .script()
            .push_times(On::Watch, Fault::internal_error(), 6);
        let mut w = watcher(&server, Start::List).await;
        assert!(matches!(w.next().await.unwrap(), Update::Listed { .. }));
        let added = server
            .cluster()
            .add_event(serde_json::json!({"metadata": {"namespace": "default", "name": "a.1"}, "involvedObject": {"kind": "Pod", "name": "a"}}))
            .unwrap();
        let started = Instant::now();
        let Update::Changed { event, rv, .. } = w.next().await.unwrap() else {
            panic!("expected the new event");
        };
        let waited = started.elapsed();
        assert_eq!(event.name, "a.1");
        assert_eq!(rv, added["metadata"]["resourceVersion"].as_str().unwrap());
        // Six waits of 0.125–0.25, ..., 4–8 s: 7.9 to 15.75 s in all.
        assert!(
            waited >= Duration::from_millis(7875) && waited <= Duration::from_millis(15750),
            "{waited:?}"
        );
        assert_eq!(w.stats().retries, 6);
        // After progress, the next failure waits the initial backoff again.
        server.script().push(On::Watch, Fault::internal_error());
        server.script().push(On::Watch, Fault::EndAfter(0));
        let _ = server.cluster().add_event(serde_json::json!({"metadata": {"namespace": "default", "name": "b.1"}, "involvedObject": {"kind": "Pod", "name": "b"}}));
        let started = Instant::now();
        let Update::Changed { event, .. } = w.next().await.unwrap() else {
            panic!("expected b");
        };
        assert_eq!(event.name, "b.1");
        assert!(
            started.elapsed() <= Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    /// Resuming from a stored resourceVersion watches from it at once: no
    /// list; and a stored version that expired relists.
    #[tokio::test(start_paused = true)]
    async fn resume_watches_from_the_stored_version_and_relists_when_it_expired() {
        kev_testkit::install_crypto_provider();
        let server = FakeApiServer::start(FakeCluster::new()).await;
        let first = server
            .cluster()
            .add_event(serde_json::json!({"metadata": {"namespace": "default", "name": "a.1"}, "involvedObject": {"kind": "Pod", "name": "a"}}))
            .unwrap();
        let rv = first["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string();
        let second = server
            .cluster()
            .add_event(serde_json::json!({"metadata": {"namespace": "default", "name": "b.1"}, "involvedObject": {"kind": "Pod", "name": "b"}}))
            .unwrap();
        let mut w = watcher(
            &server,
            Start::Resume {
                resource_version: rv.clone(),
            },
        )
        .await;
        let Update::Changed { event, .. } = w.next().await.unwrap() else {
            panic!("resume yields the next change, not a list");
        };
        assert_eq!(event.uid, second["metadata"]["uid"].as_str().unwrap());
        let reqs = server.requests();
        assert!(reqs.iter().all(|r| r.is_watch()), "{reqs:?}");
        assert_eq!(reqs[0].param("resourceVersion"), Some(rv.as_str()));

        server.cluster().compact();
        let mut w = watcher(
            &server,
            Start::Resume {
                resource_version: rv,
            },
        )
        .await;
        match w.next().await.unwrap() {
            Update::Listed { events, relist, .. } => {
                assert!(relist);
                assert_eq!(events.len(), 2);
            }
            other => panic!("expected a relist, got {other:?}"),
        }
    }
}
