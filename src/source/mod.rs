//! Where events come from: the apiserver (list, watch, discovery).

pub mod discovery;
pub mod list;
pub mod replay;
pub mod replay_par;
pub mod watch;

use thiserror::Error;

/// What kev was doing when the apiserver refused or failed.
#[derive(Clone, Debug)]
pub struct Scope {
    /// The verb: `list`, `watch`, `get`.
    pub verb: &'static str,
    /// The namespace, or `None` for all namespaces.
    pub namespace: Option<String>,
}

impl Scope {
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
        "permission denied: kev needs {verb:?} on \"events\" {where_}; the apiserver said: {message}"
    )]
    Forbidden {
        /// The verb that was refused.
        verb: &'static str,
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
    /// 410: the resourceVersion is too old.
    #[error("resource version expired (410 Gone): {0}")]
    Gone(String),
    /// Any other error status from the apiserver.
    #[error("the apiserver refused to {verb} events: {code} {reason}: {message}")]
    Status {
        /// The verb.
        verb: &'static str,
        /// HTTP code.
        code: u16,
        /// Status reason.
        reason: String,
        /// Status message.
        message: String,
    },
    /// The server could not be reached or the connection broke.
    #[error("cannot reach the apiserver at {url}: {reason}")]
    Unreachable {
        /// Server URL.
        url: String,
        /// Root cause.
        reason: String,
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
    /// Classify a kube error for the given call.
    pub fn from_kube(err: kube::Error, scope: &Scope, url: &str) -> ApiError {
        match err {
            kube::Error::Api(status) => {
                // Cluster-supplied text: escaped before it can reach a terminal.
                let message = crate::output::escape(&status.message).into_owned();
                match status.code {
                    403 => ApiError::Forbidden {
                        verb: scope.verb,
                        where_: scope.where_(),
                        message,
                    },
                    401 => ApiError::Unauthorized {
                        url: url.to_string(),
                        message,
                    },
                    410 => ApiError::Gone(message),
                    code => ApiError::Status {
                        verb: scope.verb,
                        code,
                        reason: status.reason.clone(),
                        message,
                    },
                }
            }
            kube::Error::SerdeError(e) => ApiError::Malformed {
                verb: scope.verb,
                reason: e.to_string(),
            },
            other => ApiError::Unreachable {
                url: url.to_string(),
                reason: crate::client::one_line(&other),
            },
        }
    }

    /// Whether retrying later may succeed (connection trouble, 5xx, 429).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Unreachable { .. } | ApiError::Malformed { .. } => true,
            ApiError::Status { code, .. } => *code >= 500 || *code == 429,
            _ => false,
        }
    }
}
