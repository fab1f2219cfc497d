//! [`Proxy`]: a loopback TCP proxy in front of the apiserver that can cut kev off.
//!
//! kev is given a kubeconfig whose server is the proxy (on 127.0.0.1, which
//! the apiserver's certificate names, so TLS passes through untouched).
//! [`Proxy::cut`] closes every open connection and makes the proxy close
//! new ones as soon as they are accepted; [`Proxy::restore`] forwards again.
//! Plain threads: one accepting, two per connection copying bytes.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

struct State {
    open: bool,
    /// Both ends of every forwarded connection, to close them on a cut.
    conns: Vec<TcpStream>,
}

struct Shared {
    upstream: SocketAddr,
    stop: AtomicBool,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A cuttable TCP proxy to `upstream`; stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listen on a free port on 127.0.0.1 and forward to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream,
            stop: AtomicBool::new(false),
            state: Mutex::new(State {
                open: true,
                conns: Vec::new(),
            }),
        });
        let s = Arc::clone(&shared);
        let accept = std::thread::spawn(move || accept_loop(listener, s));
        Proxy {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Close every forwarded connection and refuse new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        let mut st = self.shared.state();
        st.open = false;
        for c in st.conns.drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    /// Forward new connections again.
    pub fn restore(&self) {
        self.shared.state().open = true;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = conn else { continue };
        if !shared.state().open {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let Ok(server) = TcpStream::connect(shared.upstream) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        // Register under the lock that `cut` takes, so a connection accepted
        // while a cut happens is either closed by the cut or refused here.
        {
            let mut st = shared.state();
            if !st.open {
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
                continue;
            }
            match (client.try_clone(), server.try_clone()) {
                (Ok(c), Ok(s)) => st.conns.extend([c, s]),
                _ => continue,
            }
        }
        if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
            std::thread::spawn(move || pipe(client, s2));
            std::thread::spawn(move || pipe(server, c2));
        }
    }
}

/// Copy `from` → `to` until either side ends, then close both.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
