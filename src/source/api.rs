//! Requests to the apiserver, classified into [`ApiError`]s.
//!
//! kev sends its requests through `kube::Client::send` rather than kube's
//! typed helpers because it needs what those drop: the `Retry-After` header
//! of a 429/503/504 (kube's own retry layer, which would honour it silently
//! and for minutes, is turned off in [`crate::client`]), and a timeout per
//! request (`--request-timeout`). Error bodies are read as Kubernetes
//! `Status` objects; text that is not one (a proxy's HTML page) is kept,
//! shortened, as the message.

use std::time::Duration;

use http_body_util::BodyExt;
use kube::client::Body;
use kube::core::Status;

use super::{ApiError, Scope};

/// Longest part of a non-`Status` error body kept in a message.
const MAX_BODY_IN_MESSAGE: usize = 200;

/// Send `req` and return the response if it is a success; any other status
/// is an [`ApiError`] for `scope`. `timeout` bounds the wait for the
/// response head (and, through [`body_text`], for the body).
pub async fn send(
    client: &kube::Client,
    req: http::Request<Vec<u8>>,
    scope: &Scope,
    timeout: Option<Duration>,
) -> Result<http::Response<Body>, ApiError> {
    let fut = client.send(req.map(Body::from));
    let res = match timeout {
        Some(t) => tokio::time::timeout(t, fut)
            .await
            .map_err(|_| ApiError::Timeout {
                verb: scope.verb,
                after: t,
            })?,
        None => fut.await,
    };
    let res = res.map_err(|e| ApiError::from_kube(e, scope))?;
    if res.status().is_success() {
        return Ok(res);
    }
    let code = res.status().as_u16();
    let retry_after = res
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = read_body(res.into_body(), scope, timeout).await?;
    let status = match serde_json::from_slice::<Status>(&body) {
        Ok(s) if s.code != 0 || !s.message.is_empty() => s,
        _ => {
            let reason = http::StatusCode::from_u16(code)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or("");
            Status::failure(&summarise_body(&String::from_utf8_lossy(&body)), reason)
                .with_code(code)
        }
    };
    let mut status = status;
    if status.code == 0 {
        status.code = code;
    }
    Err(ApiError::from_status(&status, scope, retry_after))
}

/// A response body that is not a Status, in one short line: an HTML page
/// (a proxy's or load balancer's error page) by its title or first heading,
/// other text with its whitespace collapsed, cut at a few hundred characters.
pub(crate) fn summarise_body(body: &str) -> String {
    let text = body.trim();
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.contains("<body")
    {
        let inner = |tag: &str| -> Option<String> {
            let open = lower.find(&format!("<{tag}"))?;
            let start = open + lower[open..].find('>')? + 1;
            let end = start + lower[start..].find(&format!("</{tag}"))?;
            let t = text[start..end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            (!t.is_empty() && !t.contains('<')).then_some(t)
        };
        return match inner("title").or_else(|| inner("h1")) {
            Some(t) => format!(
                "an HTML page, \"{t}\" (a proxy or load balancer in front of the apiserver?)"
            ),
            None => {
                "an HTML page (a proxy or load balancer in front of the apiserver?)".to_string()
            }
        };
    }
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = flat.chars().take(MAX_BODY_IN_MESSAGE).collect();
    if short.len() < flat.len() {
        short.push('…');
    }
    short
}

async fn read_body(
    body: Body,
    scope: &Scope,
    timeout: Option<Duration>,
) -> Result<Vec<u8>, ApiError> {
    let collect = body.collect();
    let collected = match timeout {
        Some(t) => tokio::time::timeout(t, collect)
            .await
            .map_err(|_| ApiError::Timeout {
                verb: scope.verb,
                after: t,
            })?,
        None => collect.await,
    };
    collected
        .map(|c| c.to_bytes().to_vec())
        .map_err(|e| ApiError::Unreachable {
            url: scope.url.clone(),
            source: Box::new(e),
        })
}

/// The whole body of a successful response, as text.
pub async fn body_text(
    res: http::Response<Body>,
    scope: &Scope,
    timeout: Option<Duration>,
) -> Result<String, ApiError> {
    let bytes = read_body(res.into_body(), scope, timeout).await?;
    String::from_utf8(bytes).map_err(|e| ApiError::Malformed {
        verb: scope.verb,
        reason: e.to_string(),
    })
}

/// GET `path` and return the body text.
pub async fn get_text(
    client: &kube::Client,
    req: http::Request<Vec<u8>>,
    scope: &Scope,
    timeout: Option<Duration>,
) -> Result<String, ApiError> {
    let res = send(client, req, scope, timeout).await?;
    body_text(res, scope, timeout).await
}
