//! Response bodies: whole JSON documents, and streams a task writes into.
//!
//! A streamed body is fed through a small bounded channel by a task (the watch
//! producer, or a list cut short by a fault). Ending the stream cleanly is
//! dropping the writer; *aborting* it — a dropped connection mid-body — takes
//! more care, because hyper discards what it has buffered when a body fails.
//! [`StreamWriter::abort`] therefore waits until hyper has taken every chunk
//! and then has the connection task drop the socket, so the client reliably
//! sees the bytes before the abort.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};
use tokio::sync::{Notify, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::status::ApiStatus;

/// The body type of every response.
pub(crate) type Body = UnsyncBoxBody<Bytes, io::Error>;

/// Chunks in flight between a stream's writer and hyper.
const STREAM_BUFFER: usize = 16;

/// A handle that makes the connection task drop its connection.
pub(crate) type ConnectionKill = Arc<Notify>;

/// A complete body.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// A `200 OK` JSON response.
pub(crate) fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    set_json_headers(&mut resp);
    resp
}

/// The headers kube-apiserver puts on every JSON response.
fn set_json_headers(resp: &mut Response<Body>) {
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
}

/// A `Status` error response, with `Retry-After` when the status has one.
pub(crate) fn status_response(status: &ApiStatus) -> Response<Body> {
    let code = StatusCode::from_u16(status.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match &status.raw_body {
        Some(raw) => {
            let (content_type, body) = &**raw;
            let mut resp = Response::new(full(body.clone()));
            *resp.status_mut() = code;
            if let Ok(v) = HeaderValue::from_str(content_type) {
                resp.headers_mut().insert(CONTENT_TYPE, v);
            }
            resp
        }
        None => json_response(code, status.to_json().to_string()),
    };
    if let Some(secs) = status.retry_after {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// The writing end of a streamed body.
#[derive(Debug)]
pub(crate) struct StreamWriter {
    tx: mpsc::Sender<Result<Frame<Bytes>, io::Error>>,
    kill: ConnectionKill,
}

/// A `200 OK` JSON response whose body is streamed (chunked) from the returned writer.
pub(crate) fn streaming_response(kill: ConnectionKill) -> (StreamWriter, Response<Body>) {
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    let body = StreamBody::new(ReceiverStream::new(rx)).boxed_unsync();
    let mut resp = Response::new(body);
    set_json_headers(&mut resp);
    (StreamWriter { tx, kill }, resp)
}

impl StreamWriter {
    /// Send one chunk; `false` once the client is gone.
    pub async fn send(&self, chunk: impl Into<Bytes>) -> bool {
        self.tx.send(Ok(Frame::data(chunk.into()))).await.is_ok()
    }

    /// Resolves when the client is gone (the body was dropped).
    pub async fn closed(&self) {
        self.tx.closed().await;
    }

    /// Abort the connection after everything sent so far has reached the socket.
    pub async fn abort(self) {
        // An empty chunk is skipped by hyper but still polled: once hyper has
        // taken it and drained the channel, it has written the response head
        // and every earlier chunk into its buffer, and flushes that buffer
        // when its next poll of the body finds nothing. The kill is handled by
        // the connection task only after that poll returns.
        if self.tx.send(Ok(Frame::data(Bytes::new()))).await.is_err() {
            return;
        }
        let Ok(all) = self.tx.reserve_many(STREAM_BUFFER).await else {
            return;
        };
        drop(all);
        self.kill.notify_one();
        // Keep the stream open (not ended) until the connection is gone, or
        // hyper would finish the chunked body cleanly instead.
        self.tx.closed().await;
    }
}
