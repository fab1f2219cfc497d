//! Where events come from: the apiserver (list, the resumable watch,
//! discovery for `--for`) and saved dumps (replay).
//!
//! Sources yield events with their positions and never print or filter by
//! themselves; what happens to the events is the pipeline's business.
//! [`ApiError`] describes a failed apiserver call in one line, naming the
//! verb and resource, and says whether retrying may help.

pub mod api;
pub mod backoff;
pub mod discovery;
pub mod identity;
pub mod list;
pub mod replay;
pub mod tree;
pub mod watch;

use std::time::Duration;

use thiserror::Error;

/// What kev was doing when the apiserver refused or failed.
#[derive(Clone, Debug)]
pub struct Scope {
    /// The verb: `list`, `watch`, `get`.
    pub verb: &'static str,
    /// The resource: `events`, `namespaces`.
    pub resource: &'static str,
    /// The namespace, or `None` for all namespaces (cluster scope).
    pub namespace: Option<String>,
    /// The apiserver URL, for messages.
    pub url: String,
}

impl Scope {
    /// A call on events.
    pub fn events(verb: &'static str, namespace: Option<String>, url: &str) -> Scope {
        Scope {
            verb,
            resource: "events",
            namespace,
            url: url.to_string(),
        }
    }

    fn where_(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("in namespace {ns:?}"),
            None => "in all namespaces (cluster scope)".to_string(),
        }
    }
}

/// A failed call to the apiserver, described for a human in one line.
#[derive(Debug, Error)]
pub enum ApiError {
    /// 403: RBAC does not allow the verb on the resource.
    #[error(
        "permission denied: kev needs {verb:?} on {resource:?} {where_}; the apiserver said: {message}"
    )]
    Forbidden {
        /// The verb that was refused.
        verb: &'static str,
        /// The resource.
        resource: &'static str,
        /// Where.
        where_: String,
        /// The apiserver's message.
        message: String,
    },
    /// 401: credentials rejected.
    #[error(
        "unauthorized: the apiserver at {url} rejected the credentials in the kubeconfig ({message})"
    )]
    Unauthorized {
        /// Server URL.
        url: String,
        /// The apiserver's message.
        message: String,
    },
    /// 404: no such resource (or namespace, for a GET).
    #[error("not found: the apiserver has no {resource:?} to {verb} {where_}: {message}")]
    NotFound {
        /// The verb.
        verb: &'static str,
        /// The resource.
        resource: &'static str,
        /// Where.
        where_: String,
        /// The apiserver's message.
        message: String,
    },
    /// 410: the resourceVersion is too old.
    #[error("resource version expired (410 Gone): {0}")]
    Gone(String),
    /// Any other error status from the apiserver.
    #[error("the apiserver refused to {verb} {resource}: {code} {reason}: {message}")]
    Status {
        /// The verb.
        verb: &'static str,
        /// The resource.
        resource: &'static str,
        /// HTTP code.
        code: u16,
        /// Status reason.
        reason: String,
        /// Status message.
        message: String,
        /// The `Retry-After` the server asked for.
        retry_after: Option<Duration>,
    },
    /// The server could not be reached or the connection broke.
    #[error("cannot reach the apiserver at {url}")]
    Unreachable {
        /// Server URL.
        url: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No answer within `--request-timeout`.
    #[error("the apiserver did not answer a {verb} request within {}s (--request-timeout)", after.as_secs_f64())]
    Timeout {
        /// The verb.
        verb: &'static str,
        /// How long kev waited.
        after: Duration,
    },
    /// The response could not be decoded.
    #[error("malformed response from the apiserver while trying to {verb} events: {reason}")]
    Malformed {
        /// The verb.
        verb: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl ApiError {
    /// Classify an error `Status` (from a response body or a watch `ERROR`
    /// event) for the given call.
    pub fn from_status(
        status: &kube::core::Status,
        scope: &Scope,
        retry_after: Option<Duration>,
    ) -> ApiError {
        // Cluster-supplied text: escaped before it can reach a terminal.
        let message = crate::escape::escape(&status.message).into_owned();
        let retry_after = retry_after.or_else(|| {
            status
                .details
                .as_ref()
                .map(|d| d.retry_after_seconds)
                .filter(|s| *s > 0)
                .map(|s| Duration::from_secs(u64::from(s)))
        });
        match status.code {
            403 => ApiError::Forbidden {
                verb: scope.verb,
                resource: scope.resource,
                where_: scope.where_(),
                message,
            },
            401 => ApiError::Unauthorized {
                url: scope.url.clone(),
                message,
            },
            404 => ApiError::NotFound {
                verb: scope.verb,
                resource: scope.resource,
                where_: scope.where_(),
                message,
            },
            410 => ApiError::Gone(message),
            code => ApiError::Status {
                verb: scope.verb,
                resource: scope.resource,
                code,
                reason: crate::escape::escape(&status.reason).into_owned(),
                message,
                retry_after,
            },
        }
    }

    /// Classify a kube error for the given call.
    pub fn from_kube(err: kube::Error, scope: &Scope) -> ApiError {
        match err {
            kube::Error::Api(status) => ApiError::from_status(&status, scope, None),
            kube::Error::SerdeError(e) => ApiError::Malformed {
                verb: scope.verb,
                reason: e.to_string(),
            },
            other => ApiError::Unreachable {
                url: scope.url.clone(),
                source: Box::new(other),
            },
        }
    }

    /// Whether retrying later may succeed once kev has been connected:
    /// connection trouble, timeouts, 5xx and 429.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Unreachable { .. }
            | ApiError::Malformed { .. }
            | ApiError::Timeout { .. } => true,
            ApiError::Status { code, .. } => *code >= 500 || *code == 429,
            _ => false,
        }
    }

    /// Whether the server said "try again later" (429, 503, 504): retried
    /// even before the first success, within `--request-timeout`.
    pub fn is_throttled(&self) -> bool {
        matches!(
            self,
            ApiError::Status {
                code: 429 | 503 | 504,
                ..
            }
        )
    }

    /// The wait the server asked for (`Retry-After`, or the Status's
    /// `retryAfterSeconds`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
