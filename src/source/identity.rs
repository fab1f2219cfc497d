//! Which cluster this is, so a state file is never applied to another one.
//!
//! Kubernetes has no cluster ID field; the uid of the `kube-system`
//! namespace is the de-facto one (it is created once, with the cluster, and
//! survives apiserver restarts and URL changes). Reading it needs `get` on
//! that namespace, which a reader of events may not have: then only the
//! server URL identifies the cluster.

use std::time::Duration;

use serde::Deserialize;

use super::api;
use super::{ApiError, Scope};

/// What identifies a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterIdentity {
    /// The apiserver URL kev talks to.
    pub server: String,
    /// The `kube-system` namespace's uid, when kev may read it.
    pub uid: Option<String>,
}

#[derive(Deserialize)]
struct Namespace {
    metadata: Meta,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    uid: Option<String>,
}

/// Read the cluster's identity. A 403 or 404 on the namespace leaves the
/// uid unknown; other failures are errors (the cluster cannot be reached).
pub async fn identify(
    client: &kube::Client,
    url: &str,
    timeout: Option<Duration>,
) -> Result<ClusterIdentity, ApiError> {
    let scope = Scope {
        verb: "get",
        resource: "namespaces",
        namespace: None,
        url: url.to_string(),
    };
    let req = http::Request::get("/api/v1/namespaces/kube-system")
        .body(Vec::new())
        .map_err(|e| ApiError::Malformed {
            verb: "get",
            reason: e.to_string(),
        })?;
    let uid = match api::get_text(client, req, &scope, timeout).await {
        Ok(text) => serde_json::from_str::<Namespace>(&text)
            .map_err(|e| ApiError::Malformed {
                verb: "get",
                reason: e.to_string(),
            })?
            .metadata
            .uid
            .filter(|u| !u.is_empty()),
        Err(ApiError::Forbidden { .. } | ApiError::NotFound { .. }) => {
            tracing::debug!(
                "cannot read namespace kube-system; the cluster is identified by its URL only"
            );
            None
        }
        Err(e) => return Err(e),
    };
    Ok(ClusterIdentity {
        server: url.to_string(),
        uid,
    })
}
