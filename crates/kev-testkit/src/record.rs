//! The log of every request the fake apiserver received, for assertions.
//!
//! kube-rs's own mock tests assert the exact request URIs a client sends; the
//! same discipline catches a wrong `resourceVersion`, a lost `continue` or a
//! selector that was not pushed down. Each request is recorded as it arrives
//! (so a test can wait for a request the server is still holding), and its
//! response status is filled in once known.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::signal::Signal;

/// What a request asked for, as the server routed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// `/version`, `/api`, `/apis`, a group version's resource list, `/openapi/...`.
    Discovery,
    /// A list of events.
    List,
    /// A watch of events.
    Watch,
    /// A GET of one event.
    Get,
    /// A GET of one namespace (`/api/v1/namespaces/NAME`): how clients read the
    /// cluster's identity from `kube-system`.
    Namespace,
    /// Anything else (other resources, unknown paths, other methods).
    Other,
}

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The path, e.g. `/api/v1/namespaces/default/events`.
    pub path: String,
    /// The query string exactly as sent (still percent-encoded), if any.
    pub raw_query: Option<String>,
    /// The query parameters, percent-decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// How the server routed the request.
    pub kind: RequestKind,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The `Accept` header.
    pub accept: Option<String>,
    /// The `Authorization` header (the fake token is not a secret).
    pub authorization: Option<String>,
    /// `Impersonate-User` (`--as`).
    pub impersonate_user: Option<String>,
    /// Every `Impersonate-Group` (`--as-group`).
    pub impersonate_groups: Vec<String>,
    /// The response status, once the response head was decided.
    pub status: Option<u16>,
}

impl RecordedRequest {
    /// The first value of query parameter `name`, decoded.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `path?query` as sent.
    pub fn uri(&self) -> String {
        match &self.raw_query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    /// Whether this is a watch of events.
    pub fn is_watch(&self) -> bool {
        self.kind == RequestKind::Watch
    }

    /// Whether this is a list of events.
    pub fn is_list(&self) -> bool {
        self.kind == RequestKind::List
    }
}

/// The shared request log.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: Mutex<Vec<RecordedRequest>>,
    signal: Signal,
}

impl RequestLog {
    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Append a request; returns its index for [`RequestLog::set_status`].
    pub fn record(&self, request: RecordedRequest) -> usize {
        let idx = {
            let mut entries = self.entries();
            entries.push(request);
            entries.len() - 1
        };
        self.signal.notify();
        idx
    }

    /// Fill in the response status of request `idx`.
    pub fn set_status(&self, idx: usize, status: u16) {
        if let Some(r) = self.entries().get_mut(idx) {
            r.status = Some(status);
        }
        self.signal.notify();
    }

    /// A copy of every request so far.
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        self.entries().clone()
    }

    /// Forget every request so far.
    pub fn clear(&self) {
        self.entries().clear();
        self.signal.notify();
    }

    fn find(&self, pred: &mut impl FnMut(&RecordedRequest) -> bool) -> Option<RecordedRequest> {
        self.entries().iter().find(|r| pred(r)).cloned()
    }

    /// Wait for the first request (recorded so far or later) matching `pred`.
    pub async fn wait_for(
        &self,
        mut pred: impl FnMut(&RecordedRequest) -> bool,
    ) -> RecordedRequest {
        self.signal.wait_for(|| self.find(&mut pred)).await
    }

    /// Block until a request matching `pred` is recorded, or `timeout` passes.
    pub fn wait_for_blocking(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&RecordedRequest) -> bool,
    ) -> Option<RecordedRequest> {
        self.signal
            .wait_for_blocking(timeout, || self.find(&mut pred))
    }
}

/// Decode a query string into `(name, value)` pairs, as Go's `url.ParseQuery` does
/// (`+` is a space, `%XX` a byte; malformed escapes are kept as written).
pub(crate) fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    // Two hex digits make at most 255: the cast cannot truncate.
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = parse_query(
            "fieldSelector=involvedObject.kind%3DPod%2Ctype%21%3DNormal&limit=500&x=a+b&bad=%zz&flag",
        );
        assert_eq!(q[0].1, "involvedObject.kind=Pod,type!=Normal");
        assert_eq!(q[1], ("limit".into(), "500".into()));
        assert_eq!(q[2].1, "a b");
        assert_eq!(q[3].1, "%zz");
        assert_eq!(q[4], ("flag".into(), String::new()));
    }
}
