//! Resolving `--for KIND/NAME` to a kind and apiVersion, as kubectl does.
//!
//! `pod/web`, `po/web`, `deploy/web`, `Deployment/web` and
//! `deployments.apps/web` all name the same thing; which kind and group
//! version they mean is the apiserver's to say, through discovery. Core
//! resources are looked up first, then every group's preferred version.
//! Without a cluster (replay), a built-in table of the common resources
//! is used instead.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroupList, APIResourceList};
use thiserror::Error;

/// A resolved `--for`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForObject {
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// apiVersion, e.g. `apps/v1`; `None` when it could not be known (replay).
    pub api_version: Option<String>,
    /// Object name.
    pub name: String,
}

/// `--for` could not be resolved.
#[derive(Debug, Error)]
pub enum ForError {
    /// Not of the form KIND/NAME.
    #[error("--for expects KIND/NAME (for example pod/web-1 or deploy/web), got {0:?}")]
    Syntax(String),
    /// No resource by that name.
    #[error("--for {0:?}: the server doesn't have a resource type {1:?}")]
    UnknownResource(String, String),
    /// Discovery failed.
    #[error("--for: discovery failed: {0}")]
    Discovery(String),
}

/// Split `KIND/NAME` into (resource, group, name): `deployments.apps/web` →
/// (`deployments`, Some(`apps`), `web`).
pub fn split_for(spec: &str) -> Result<(String, Option<String>, String), ForError> {
    let (res, name) = spec
        .split_once('/')
        .ok_or_else(|| ForError::Syntax(spec.to_string()))?;
    if res.is_empty() || name.is_empty() || name.contains('/') {
        return Err(ForError::Syntax(spec.to_string()));
    }
    let (resource, group) = match res.split_once('.') {
        Some((r, g)) => (r.to_string(), Some(g.to_string())),
        None => (res.to_string(), None),
    };
    Ok((resource, group, name.to_string()))
}

fn matches(r: &k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource, want: &str) -> bool {
    let want_lower = want.to_ascii_lowercase();
    !r.name.contains('/')
        && (r.name == want_lower
            || r.singular_name == want_lower
            || r.kind.to_ascii_lowercase() == want_lower
            || r.short_names
                .as_ref()
                .is_some_and(|s| s.contains(&want_lower)))
}

fn find(list: &APIResourceList, want: &str) -> Option<(String, String)> {
    list.resources
        .iter()
        .find(|r| matches(r, want))
        .map(|r| (r.kind.clone(), list.group_version.clone()))
}

async fn get<T: serde::de::DeserializeOwned>(
    client: &kube::Client,
    path: &str,
) -> Result<T, ForError> {
    let req = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| ForError::Discovery(e.to_string()))?;
    client
        .request::<T>(req)
        .await
        .map_err(|e| ForError::Discovery(format!("GET {path}: {}", crate::client::one_line(&e))))
}

/// Resolve `spec` through the apiserver's discovery documents.
pub async fn resolve(client: &kube::Client, spec: &str) -> Result<ForObject, ForError> {
    let (resource, group, name) = split_for(spec)?;
    if group.as_deref().is_none_or(|g| g.is_empty() || g == "core") {
        let core: APIResourceList = get(client, "/api/v1").await?;
        if let Some((kind, gv)) = find(&core, &resource) {
            return Ok(ForObject {
                kind,
                api_version: Some(gv),
                name,
            });
        }
    }
    let groups: APIGroupList = get(client, "/apis").await?;
    let versions: Vec<String> = groups
        .groups
        .iter()
        .filter(|g| group.as_deref().is_none_or(|want| g.name == want))
        .filter_map(|g| {
            g.preferred_version
                .as_ref()
                .map(|v| v.group_version.clone())
                .or_else(|| g.versions.first().map(|v| v.group_version.clone()))
        })
        .collect();
    let lists: Vec<Option<APIResourceList>> = futures::stream::iter(versions)
        .map(|gv| async move {
            // A group whose discovery fails (an aggregated API that is down)
            // must not break `--for` for everything else.
            Ok::<_, ForError>(
                get::<APIResourceList>(client, &format!("/apis/{gv}"))
                    .await
                    .ok(),
            )
        })
        .buffered(8)
        .try_collect()
        .await?;
    for list in lists.iter().flatten() {
        if let Some((kind, gv)) = find(list, &resource) {
            return Ok(ForObject {
                kind,
                api_version: Some(gv),
                name,
            });
        }
    }
    Err(ForError::UnknownResource(spec.to_string(), resource))
}

/// Common resources and their short names, for resolving `--for` offline.
const BUILTIN: &[(&str, &str, &str, &str)] = &[
    // (plural, short names comma-separated, kind, apiVersion)
    ("pods", "po", "Pod", "v1"),
    ("nodes", "no", "Node", "v1"),
    ("namespaces", "ns", "Namespace", "v1"),
    ("services", "svc", "Service", "v1"),
    ("configmaps", "cm", "ConfigMap", "v1"),
    ("secrets", "", "Secret", "v1"),
    (
        "persistentvolumeclaims",
        "pvc",
        "PersistentVolumeClaim",
        "v1",
    ),
    ("persistentvolumes", "pv", "PersistentVolume", "v1"),
    ("serviceaccounts", "sa", "ServiceAccount", "v1"),
    ("endpoints", "ep", "Endpoints", "v1"),
    (
        "replicationcontrollers",
        "rc",
        "ReplicationController",
        "v1",
    ),
    ("deployments", "deploy", "Deployment", "apps/v1"),
    ("replicasets", "rs", "ReplicaSet", "apps/v1"),
    ("statefulsets", "sts", "StatefulSet", "apps/v1"),
    ("daemonsets", "ds", "DaemonSet", "apps/v1"),
    ("jobs", "", "Job", "batch/v1"),
    ("cronjobs", "cj", "CronJob", "batch/v1"),
    (
        "horizontalpodautoscalers",
        "hpa",
        "HorizontalPodAutoscaler",
        "autoscaling/v2",
    ),
    ("ingresses", "ing", "Ingress", "networking.k8s.io/v1"),
    (
        "poddisruptionbudgets",
        "pdb",
        "PodDisruptionBudget",
        "policy/v1",
    ),
];

/// Resolve `spec` without a cluster, from the built-in table; an unknown
/// resource is taken as a kind name as written (apiVersion unknown).
pub fn resolve_offline(spec: &str) -> Result<ForObject, ForError> {
    let (resource, _group, name) = split_for(spec)?;
    let want = resource.to_ascii_lowercase();
    for (plural, shorts, kind, av) in BUILTIN {
        let singular = plural.trim_end_matches('s');
        if *plural == want
            || singular == want
            || kind.to_ascii_lowercase() == want
            || shorts.split(',').any(|s| !s.is_empty() && s == want)
        {
            return Ok(ForObject {
                kind: kind.to_string(),
                api_version: Some(av.to_string()),
                name,
            });
        }
    }
    Ok(ForObject {
        kind: resource,
        api_version: None,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_kind_group_name() {
        assert_eq!(
            split_for("deploy/web").unwrap(),
            ("deploy".into(), None, "web".into())
        );
        assert_eq!(
            split_for("deployments.apps/web").unwrap(),
            ("deployments".into(), Some("apps".into()), "web".into())
        );
        assert!(split_for("web").is_err());
        assert!(split_for("pod/").is_err());
        assert!(split_for("/x").is_err());
    }

    #[test]
    fn offline_table() {
        for spec in [
            "deploy/web",
            "deployment/web",
            "Deployment/web",
            "deployments/web",
            "deployments.apps/web",
        ] {
            let f = resolve_offline(spec).unwrap();
            assert_eq!(f.kind, "Deployment", "{spec}");
            assert_eq!(f.api_version.as_deref(), Some("apps/v1"));
            assert_eq!(f.name, "web");
        }
        assert_eq!(resolve_offline("po/x").unwrap().kind, "Pod");
        assert_eq!(resolve_offline("Widget/x").unwrap().api_version, None);
    }
}
