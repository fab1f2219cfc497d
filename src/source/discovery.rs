//! Resolving `--for KIND/NAME` to a kind and apiVersion, as kubectl does.
//!
//! `pod/web`, `po/web`, `deploy/web`, `Deployment/web` and
//! `deployments.apps/web` all name the same thing; which kind and group
//! version they mean is the apiserver's to say, through discovery. Core
//! resources are looked up first, then every group's preferred version.
//! Without a cluster (replay), the filter's own table of kubectl names
//! resolves `--for` instead ([`ObjectSpec::offline_target`]).

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroupList, APIResourceList};
use thiserror::Error;

use crate::model::{ObjectSpec, ObjectTarget};

/// `--for` could not be resolved.
#[derive(Debug, Error)]
pub enum ForError {
    /// No resource by that name.
    #[error("--for {0:?}: the server doesn't have a resource type {1:?}")]
    UnknownResource(String, String),
    /// Discovery failed.
    #[error("--for: discovery failed: GET {path}")]
    Discovery {
        /// The discovery document.
        path: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
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
        .map_err(|e| ForError::Discovery {
            path: path.to_string(),
            source: kube::Error::HttpError(e),
        })?;
    client
        .request::<T>(req)
        .await
        .map_err(|e| ForError::Discovery {
            path: path.to_string(),
            source: e,
        })
}

/// Resolve `spec` through the apiserver's discovery documents.
pub async fn resolve(client: &kube::Client, spec: &ObjectSpec) -> Result<ObjectTarget, ForError> {
    let (resource, group, name) = (&spec.resource, &spec.group, &spec.name);
    if group.as_deref().is_none_or(|g| g.is_empty() || g == "core") {
        let core: APIResourceList = get(client, "/api/v1").await?;
        if let Some((kind, gv)) = find(&core, resource) {
            return Ok(ObjectTarget {
                kind,
                api_version: Some(gv),
                name: name.clone(),
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
        if let Some((kind, gv)) = find(list, resource) {
            return Ok(ObjectTarget {
                kind,
                api_version: Some(gv),
                name: name.clone(),
            });
        }
    }
    Err(ForError::UnknownResource(
        spec.text.clone(),
        resource.clone(),
    ))
}
