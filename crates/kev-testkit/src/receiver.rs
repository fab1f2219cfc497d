//! [`Receiver`]: a real, scriptable HTTP endpoint on loopback, for testing
//! kev's webhook sink over the network instead of against a mocked client.
//!
//! It listens on `127.0.0.1` with a free port, over plain HTTP/1.1 or TLS
//! ([`Receiver::start_tls`], with a [`TestCa`](crate::TestCa)'s certificate),
//! records every request (method, path, headers, body, and what it was
//! answered), and answers from a script: each request takes the next scripted
//! [`Reply`], and once the script is empty the default reply (200 unless set).
//! Replies can be any status with headers and a body (a 429 with
//! `Retry-After`, a 503, a 400), computed from the request
//! ([`Reply::with`]: an Elasticsearch `_bulk` response with per-item errors),
//! or [`Reply::Hang`]: never answer, so the client's timeout fires.
//!
//! The endpoint can also **go away and come back**: [`Receiver::go_away`]
//! stops listening and drops every open connection (clients see connection
//! refused and broken keep-alive connections, as when a server restarts), and
//! [`Receiver::come_back`] listens again on the same port.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

use crate::tls::ServerIdentity;

/// How a request is answered.
#[derive(Clone)]
pub enum Reply {
    /// A response.
    Respond {
        /// The status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// Never answer (the connection stays open until the client gives up,
    /// or the receiver goes away).
    Hang,
    /// Decide from the request.
    With(Arc<dyn Fn(&ReceivedRequest) -> Reply + Send + Sync>),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Respond { status, .. } => write!(f, "Respond({status})"),
            Reply::Hang => f.write_str("Hang"),
            Reply::With(_) => f.write_str("With(..)"),
        }
    }
}

impl Reply {
    /// `200 OK` with an empty body.
    pub fn ok() -> Reply {
        Reply::status(200)
    }

    /// `status` with an empty body.
    pub fn status(status: u16) -> Reply {
        Reply::Respond {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `status` with a `Retry-After: value` header (seconds or an HTTP date).
    pub fn retry_after(status: u16, value: &str) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("retry-after".into(), value.into())],
            body: Vec::new(),
        }
    }

    /// `status` with a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// A reply computed from the request.
    pub fn with(f: impl Fn(&ReceivedRequest) -> Reply + Send + Sync + 'static) -> Reply {
        Reply::With(Arc::new(f))
    }
}

/// A request as received, and how it was answered.
#[derive(Clone, Debug)]
pub struct ReceivedRequest {
    /// `POST`, `PUT`, …
    pub method: String,
    /// The path with its query, e.g. `/loki/api/v1/push`.
    pub path: String,
    /// The headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty when [`Receiver::keep_bodies`] is off).
    pub body: Vec<u8>,
    /// The status it was answered with; `None` while unanswered (or hung).
    pub status: Option<u16>,
}

impl ReceivedRequest {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as one JSON document.
    ///
    /// # Panics
    ///
    /// If it is not JSON (this is a test helper).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// The body as JSON lines (empty lines skipped).
    ///
    /// # Panics
    ///
    /// If a line is not JSON.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l:?}: {e}")))
            .collect()
    }

    /// Answered with a 2xx.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

struct Inner {
    addr: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    requests: Mutex<Vec<ReceivedRequest>>,
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
    arrived: Notify,
    keep_bodies: AtomicBool,
    count: AtomicU64,
    bytes: AtomicU64,
}

/// A scriptable HTTP endpoint on loopback; see the module docs. Dropping it
/// stops it.
pub struct Receiver {
    inner: Arc<Inner>,
    listening: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("addr", &self.inner.addr)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Listen on `http://127.0.0.1:<free port>`, on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or if loopback cannot be bound (an
    /// environment failure a test cannot handle).
    pub async fn start() -> Receiver {
        Self::bind(None).await
    }

    /// The same over TLS (`https://127.0.0.1:<port>`), presenting `identity`
    /// (issue it for `127.0.0.1`).
    ///
    /// # Panics
    ///
    /// As [`Receiver::start`], or if the identity does not load.
    pub async fn start_tls(identity: &ServerIdentity) -> Receiver {
        let config = identity
            .server_config()
            .unwrap_or_else(|e| panic!("Receiver: bad TLS identity: {e}"));
        Self::bind(Some(tokio_rustls::TlsAcceptor::from(config))).await
    }

    async fn bind(tls: Option<tokio_rustls::TlsAcceptor>) -> Receiver {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap_or_else(|e| panic!("Receiver: cannot bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("Receiver: no local address: {e}"));
        let inner = Arc::new(Inner {
            addr,
            tls,
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(Reply::ok()),
            arrived: Notify::new(),
            keep_bodies: AtomicBool::new(true),
            count: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        });
        let task = tokio::spawn(serve(listener, inner.clone()));
        Receiver {
            inner,
            listening: Mutex::new(Some(task)),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// `http://127.0.0.1:<port>` (or `https://`).
    pub fn url(&self) -> String {
        let scheme = if self.inner.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.inner.addr)
    }

    /// Answer the next request (after those already scripted) with `reply`.
    pub fn push(&self, reply: Reply) {
        lock(&self.inner.script).push_back(reply);
    }

    /// Answer the next `n` requests with `reply`.
    pub fn push_n(&self, n: usize, reply: Reply) {
        let mut script = lock(&self.inner.script);
        for _ in 0..n {
            script.push_back(reply.clone());
        }
    }

    /// Answer with `reply` once the script is empty (initially 200).
    pub fn set_default(&self, reply: Reply) {
        *lock(&self.inner.default) = reply;
    }

    /// Keep request bodies (the default), or only count them (benchmarks).
    pub fn keep_bodies(&self, keep: bool) {
        self.inner.keep_bodies.store(keep, Ordering::Relaxed);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.inner.requests).clone()
    }

    /// The requests answered with a 2xx, in arrival order.
    pub fn succeeded(&self) -> Vec<ReceivedRequest> {
        self.requests()
            .into_iter()
            .filter(ReceivedRequest::succeeded)
            .collect()
    }

    /// How many requests, and how many body bytes, have arrived.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.inner.count.load(Ordering::Relaxed),
            self.inner.bytes.load(Ordering::Relaxed),
        )
    }

    /// Wait until `done` holds for the requests received so far (checked at
    /// each arrival and each answer), and return them.
    ///
    /// # Panics
    ///
    /// If it does not hold within `within` (a bound against hanging, not a
    /// timing assertion).
    pub async fn wait_until(
        &self,
        within: Duration,
        mut done: impl FnMut(&[ReceivedRequest]) -> bool,
    ) -> Vec<ReceivedRequest> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.inner.arrived.notified();
            {
                let requests = lock(&self.inner.requests);
                if done(&requests) {
                    return requests.clone();
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let requests = self.requests();
                let summary: Vec<String> = requests
                    .iter()
                    .map(|r| format!("{} {} -> {:?}", r.method, r.path, r.status))
                    .collect();
                panic!("Receiver: condition not met within {within:?}; requests: {summary:#?}");
            }
        }
    }

    /// Stop listening and drop every open connection; requests in flight
    /// are never answered. [`Receiver::come_back`] listens again.
    pub async fn go_away(&self) {
        let task = lock(&self.listening).take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listen again, on the same port, after [`Receiver::go_away`].
    ///
    /// # Panics
    ///
    /// If the port cannot be bound again within a few seconds.
    pub async fn come_back(&self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.inner.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 100 => {
                    tries += 1;
                    tracing::debug!(%e, "Receiver: port not free yet");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("Receiver: cannot listen on {} again: {e}", self.inner.addr),
            }
        };
        let task = tokio::spawn(serve(listener, self.inner.clone()));
        if let Some(old) = lock(&self.listening).replace(task) {
            old.abort();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.listening).take() {
            task.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A test that panicked while holding the lock has failed already; the
    // data is still usable for its report.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Accept connections until aborted; aborting drops `connections`, which
/// aborts every connection task (closing their sockets).
async fn serve(listener: TcpListener, inner: Arc<Inner>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let inner = inner.clone();
                    connections.spawn(async move {
                        match inner.tls.clone() {
                            Some(acceptor) => match acceptor.accept(stream).await {
                                Ok(tls) => serve_connection(TokioIo::new(tls), inner).await,
                                Err(err) => tracing::debug!(%err, "Receiver: TLS handshake failed"),
                            },
                            None => serve_connection(TokioIo::new(stream), inner).await,
                        }
                    });
                }
                Err(err) => {
                    tracing::warn!(%err, "Receiver: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection<I>(io: TokioIo<I>, inner: Arc<Inner>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(req, inner.clone()));
    if let Err(err) = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service)
        .await
    {
        tracing::debug!(%err, "Receiver: connection ended");
    }
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    inner: Arc<Inner>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(err) => {
            tracing::debug!(%err, "Receiver: body not read");
            Bytes::new()
        }
    };
    inner.count.fetch_add(1, Ordering::Relaxed);
    inner.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    let mut request = ReceivedRequest {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into()),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        status: None,
    };
    let mut reply = lock(&inner.script)
        .pop_front()
        .unwrap_or_else(|| lock(&inner.default).clone());
    while let Reply::With(f) = reply {
        reply = f(&request);
    }
    if !inner.keep_bodies.load(Ordering::Relaxed) {
        request.body = Vec::new();
    }
    let index = {
        let mut requests = lock(&inner.requests);
        requests.push(request);
        requests.len() - 1
    };
    inner.arrived.notify_waiters();
    match reply {
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let mut res = Response::new(Full::new(Bytes::from(body)));
            *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            for (n, v) in headers {
                if let (Ok(n), Ok(v)) = (
                    hyper::header::HeaderName::from_bytes(n.as_bytes()),
                    hyper::header::HeaderValue::from_str(&v),
                ) {
                    res.headers_mut().append(n, v);
                }
            }
            lock(&inner.requests)[index].status = Some(status);
            inner.arrived.notify_waiters();
            Ok(res)
        }
        Reply::Hang | Reply::With(_) => std::future::pending().await,
    }
}
