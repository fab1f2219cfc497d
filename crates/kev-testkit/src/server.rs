//! [`FakeApiServer`]: the listener, its connections, and the handle tests hold.
//!
//! The server runs on a tokio runtime: either the caller's
//! ([`FakeApiServer::start`], for `#[tokio::test]`s that talk to it with a
//! `kube::Client`) or a runtime on a thread of its own
//! ([`FakeApiServer::start_blocking`], for plain `#[test]`s that run the `kev`
//! binary as a child process and block on it). Shutdown is one `watch`
//! signal: the accept loop stops, dropping its `JoinSet` aborts every
//! connection, and watch tasks see the signal or their closed body and end.
//!
//! The accept loop also ticks every [`EXPIRY_TICK`] to expire events whose
//! TTL ran out ([`FakeCluster::with_event_ttl`]), so that open watches see
//! their `DELETED`s while no request comes in.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::cluster::FakeCluster;
use super::fault::Script;
use super::kubeconfig;
use super::record::{RecordedRequest, RequestLog};
use super::routes;
use super::signal::shutdown;

/// How often a running server expires events whose TTL ran out. Coarse, as
/// etcd's lease expiry is; requests for events check on their own as well.
pub const EXPIRY_TICK: Duration = Duration::from_secs(1);

/// State shared by every connection of one server.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The address the server listens on.
    pub addr: SocketAddr,
    /// The events.
    pub cluster: FakeCluster,
    /// The fault script.
    pub script: Script,
    /// Every request received.
    pub log: RequestLog,
    /// Becomes `true` at shutdown.
    pub shutdown: watch::Receiver<bool>,
}

/// The error type of [`FakeApiServer::kube_client`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A fake Kubernetes apiserver on `http://127.0.0.1:<port>`, serving a [`FakeCluster`].
///
/// Dropping it (or [`FakeApiServer::shutdown`]) stops the server and closes
/// every connection.
///
/// ```no_run
/// # async fn demo() {
/// use kev_testkit::{FakeApiServer, FakeCluster, Fault, On};
/// let server = FakeApiServer::start(FakeCluster::new()).await;
/// server.script().push(On::Watch, Fault::DropAfter(1));
/// let client = server.kube_client().await.unwrap();
/// # }
/// ```
#[derive(Debug)]
pub struct FakeApiServer {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeApiServer {
    /// Start serving `cluster` on `127.0.0.1` (a free port), on the current tokio runtime.
    ///
    /// The server only makes progress while the runtime runs: a test that
    /// blocks its thread (waiting for a child process, say) on a
    /// current-thread runtime stalls it. Use [`FakeApiServer::start_blocking`] there.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or if no loopback port can be bound.
    pub async fn start(cluster: impl Into<FakeCluster>) -> Self {
        match Self::bind((Ipv4Addr::LOCALHOST, 0).into(), cluster.into()).await {
            Ok(server) => server,
            // A test double that cannot bind loopback is an environment
            // failure the test cannot handle; fail like an assertion.
            Err(err) => panic!("FakeApiServer: cannot bind 127.0.0.1:0: {err}"),
        }
    }

    /// Like [`FakeApiServer::start`], on a given address (e.g. a fixed port).
    pub async fn bind(addr: SocketAddr, cluster: FakeCluster) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let (server, stop_rx) = Self::new(listener.local_addr()?, cluster);
        tokio::spawn(serve(listener, server.shared.clone(), stop_rx));
        Ok(server)
    }

    /// Start serving `cluster` on `127.0.0.1` (a free port), on a runtime on a new
    /// thread: usable from any code, sync or async, that outlives the server.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound or the thread cannot start.
    pub fn start_blocking(cluster: impl Into<FakeCluster>) -> Self {
        match Self::bind_blocking((Ipv4Addr::LOCALHOST, 0).into(), cluster.into()) {
            Ok(server) => server,
            // See `start`: an environment failure, reported like an assertion.
            Err(err) => panic!("FakeApiServer: cannot start: {err}"),
        }
    }

    /// Like [`FakeApiServer::start_blocking`], on a given address.
    pub fn bind_blocking(addr: SocketAddr, cluster: FakeCluster) -> io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (mut server, stop_rx) = Self::new(listener.local_addr()?, cluster);
        let shared = server.shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-apiserver".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, shared, stop_rx).await,
                        Err(err) => tracing::error!(%err, "fake apiserver cannot listen"),
                    }
                });
                // Dropping the runtime here cancels every remaining task.
            })?;
        server.thread = Some(thread);
        Ok(server)
    }

    fn new(addr: SocketAddr, cluster: FakeCluster) -> (Self, watch::Receiver<bool>) {
        let (stop, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            addr,
            cluster,
            script: Script::new(),
            log: RequestLog::default(),
            shutdown: stop_rx.clone(),
        });
        let server = FakeApiServer {
            shared,
            stop,
            thread: None,
        };
        (server, stop_rx)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The server's URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The served events: add, bump or delete them at any time, also during a watch.
    pub fn cluster(&self) -> &FakeCluster {
        &self.shared.cluster
    }

    /// The fault script: push faults before the requests they are meant for.
    pub fn script(&self) -> &Script {
        &self.shared.script
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log.snapshot()
    }

    /// Forget the requests received so far.
    pub fn clear_requests(&self) {
        self.shared.log.clear();
    }

    /// Wait until a request matching `pred` has been received (it may still be
    /// in progress, e.g. a watch being streamed or a request held by a gate).
    pub async fn wait_for_request(
        &self,
        pred: impl FnMut(&RecordedRequest) -> bool,
    ) -> RecordedRequest {
        self.shared.log.wait_for(pred).await
    }

    /// Block until a request matching `pred` has been received, or `timeout`
    /// passes (then `None`).
    pub fn wait_for_request_blocking(
        &self,
        timeout: Duration,
        pred: impl FnMut(&RecordedRequest) -> bool,
    ) -> Option<RecordedRequest> {
        self.shared.log.wait_for_blocking(timeout, pred)
    }

    /// A kubeconfig for this server: cluster, user (a bearer token) and context
    /// all named `fake`, namespace `default`.
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig::yaml(&self.url())
    }

    /// Write [`FakeApiServer::kubeconfig_yaml`] to `path`.
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// A `kube::Config` read from this server's kubeconfig, as kev would read it.
    pub async fn kube_config(&self) -> Result<kube::Config, BoxError> {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&self.kubeconfig_yaml())?;
        let options = kube::config::KubeConfigOptions::default();
        Ok(kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?)
    }

    /// A `kube::Client` for this server (installs the ring crypto provider if
    /// none is installed yet).
    pub async fn kube_client(&self) -> Result<kube::Client, BoxError> {
        install_crypto_provider();
        Ok(kube::Client::try_from(self.kube_config().await?)?)
    }

    /// Stop serving and close every connection (also done on drop).
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.send_replace(true);
        if let Some(thread) = self.thread.take() {
            // The thread ends as soon as its runtime sees the signal; a panic
            // in it has already been reported on stderr.
            let _ = thread.join();
        }
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Install rustls's ring provider as the process default, if none is installed.
///
/// kube builds its TLS stack with ring; rustls refuses to guess when a
/// process could have two providers, so tests install it once up front.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err means another thread installed one in between: that is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Accept connections until shutdown.
async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let mut backoff = Duration::from_millis(1);
    let for_connections = stop.clone();
    let mut expiry = tokio::time::interval(EXPIRY_TICK);
    expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown(&mut stop) => break,
            _ = expiry.tick() => {
                shared.cluster.expire_now();
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    backoff = Duration::from_millis(1);
                    connections.spawn(serve_connection(
                        stream,
                        shared.clone(),
                        for_connections.clone(),
                    ));
                }
                Err(err) => {
                    // Out of file descriptors and the like: back off, as
                    // mini-redis does, instead of spinning.
                    tracing::warn!(%err, "fake apiserver accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Dropping `connections` aborts every connection task.
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let service_kill = kill.clone();
    let service = service_fn(move |req| routes::handle(req, shared.clone(), service_kill.clone()));
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(err) = result {
                tracing::debug!(%err, "fake apiserver connection ended");
            }
        }
        // A scripted abort: dropping the connection closes the socket mid-body.
        () = kill.notified() => {}
        () = shutdown(&mut stop) => {}
    }
}
