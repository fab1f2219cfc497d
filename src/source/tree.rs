//! `--for KIND/NAME --tree`: the object and everything it owns,
//! transitively, by `ownerReferences` uid — a Deployment's ReplicaSets and
//! their Pods, a CronJob's Jobs and their Pods, any owner's children.
//!
//! [`OwnerTracker::start`] lists the workload resources of the namespace
//! (Pods, ReplicaSets, Deployments, StatefulSets, DaemonSets, Jobs,
//! CronJobs) and fills the shared [`OwnedSet`] with the closure under the
//! root. While kev follows, [`OwnerTracker::observe`] looks at each event
//! before the filter sees it: an event about a workload object the set
//! does not know (a ReplicaSet a rollout created, a replacement Pod) makes
//! it read that object and walk up its owners, so the event is matched
//! exactly, not after some refresh interval. Objects found not to be in
//! the tree are remembered, so an unrelated Pod costs one read.
//!
//! The root may be any kind: its uid is taken from the listed objects, or
//! from the owner references that name it (a custom resource that owns a
//! Deployment). Events about children that were deleted before kev
//! started cannot be traced to an owner and are not matched.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::api::get_text;
use super::{ApiError, Scope};
use crate::model::owned::OwnedSet;
use crate::model::{Event, ObjectTarget};

/// The workload resources read: (kind, API path prefix, plural).
const WORKLOADS: &[(&str, &str, &str)] = &[
    ("Pod", "/api/v1", "pods"),
    ("ReplicaSet", "/apis/apps/v1", "replicasets"),
    ("Deployment", "/apis/apps/v1", "deployments"),
    ("StatefulSet", "/apis/apps/v1", "statefulsets"),
    ("DaemonSet", "/apis/apps/v1", "daemonsets"),
    ("Job", "/apis/batch/v1", "jobs"),
    ("CronJob", "/apis/batch/v1", "cronjobs"),
];

/// How far up an owner chain a new object is followed.
const MAX_DEPTH: usize = 8;

#[derive(Debug, Deserialize)]
struct List {
    #[serde(default)]
    items: Vec<Object>,
}

#[derive(Debug, Deserialize)]
struct Object {
    metadata: Meta,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    uid: String,
    #[serde(default)]
    owner_references: Vec<OwnerRef>,
}

#[derive(Debug, Clone, Deserialize)]
struct OwnerRef {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    uid: String,
}

/// Keeps the owned set of a `--tree` up to date; see the module docs.
pub struct OwnerTracker {
    client: kube::Client,
    url: String,
    namespace: String,
    set: Arc<OwnedSet>,
    root: ObjectTarget,
    not_owned: HashSet<String>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for OwnerTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerTracker")
            .field("namespace", &self.namespace)
            .field("owned", &self.set.len())
            .finish_non_exhaustive()
    }
}

fn scope(resource: &'static str, verb: &'static str, namespace: &str, url: &str) -> Scope {
    Scope {
        verb,
        resource,
        namespace: Some(namespace.to_string()),
        url: url.to_string(),
    }
}

impl OwnerTracker {
    /// List the namespace's workloads and fill `set` with `root` and what it
    /// owns. A 403 on any of the lists ends it, naming the verb and
    /// resource.
    pub async fn start(
        client: kube::Client,
        url: &str,
        namespace: &str,
        root: &ObjectTarget,
        set: Arc<OwnedSet>,
        timeout: Option<Duration>,
    ) -> Result<OwnerTracker, ApiError> {
        let mut objects: Vec<(&'static str, Meta)> = Vec::new();
        for &(kind, prefix, plural) in WORKLOADS {
            let path = format!("{prefix}/namespaces/{namespace}/{plural}");
            let req = http::Request::get(&path)
                .body(Vec::new())
                .expect("a valid request");
            let text = get_text(
                &client,
                req,
                &scope(plural, "list", namespace, url),
                timeout,
            )
            .await?;
            let list: List = serde_json::from_str(&text).map_err(|e| ApiError::Malformed {
                verb: "list",
                reason: format!("{plural}: {e}"),
            })?;
            objects.extend(list.items.into_iter().map(|o| (kind, o.metadata)));
        }
        // The root: a listed object, or an owner reference that names it.
        let mut roots: HashSet<String> = objects
            .iter()
            .filter(|(k, m)| *k == root.kind && m.name == root.name)
            .map(|(_, m)| m.uid.clone())
            .collect();
        for (_, m) in &objects {
            for r in &m.owner_references {
                if r.kind == root.kind && r.name == root.name {
                    roots.insert(r.uid.clone());
                }
            }
        }
        for uid in &roots {
            set.insert(uid, &root.kind, &root.name, None);
        }
        // Events about the root without a uid, or before it exists, match
        // by kind and name.
        set.insert_name(&root.kind, &root.name);
        // The closure: owners before children is not guaranteed, so repeat
        // until nothing changes (chains are short).
        loop {
            let mut added = false;
            for (kind, m) in &objects {
                if set.has_uid(&m.uid) {
                    continue;
                }
                if let Some(owner) = m.owner_references.iter().find(|r| set.has_uid(&r.uid)) {
                    set.insert(&m.uid, kind, &m.name, Some(&owner.uid));
                    added = true;
                }
            }
            if !added {
                break;
            }
        }
        tracing::debug!(root = %root, owned = set.len(), "--tree: the owned set");
        Ok(OwnerTracker {
            client,
            url: url.to_string(),
            namespace: namespace.to_string(),
            set,
            root: root.clone(),
            not_owned: HashSet::new(),
            timeout,
        })
    }

    /// The shared set.
    pub fn set(&self) -> &Arc<OwnedSet> {
        &self.set
    }

    /// Before the filter sees `events`: trace the owners of workload objects
    /// the set does not know yet. A failure to read one is logged and the
    /// object left out (the event is not matched), not fatal.
    pub async fn observe<'a>(&mut self, events: impl IntoIterator<Item = &'a Event>) {
        for e in events {
            let o = &e.object;
            let (Some(kind), Some(name), Some(uid)) =
                (o.kind.as_deref(), o.name.as_deref(), o.uid.as_deref())
            else {
                continue;
            };
            if uid.is_empty()
                || self.set.has_uid(uid)
                || self.not_owned.contains(uid)
                || e.namespace.as_deref() != Some(self.namespace.as_str())
                || !WORKLOADS.iter().any(|(k, _, _)| *k == kind)
            {
                continue;
            }
            match self.trace(kind, name, uid, 0).await {
                Ok(true) => tracing::debug!(kind, name, "--tree: a new child"),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(kind, name, error = %e, "--tree: cannot read the object's owners; its events are left out");
                    self.not_owned.insert(uid.to_string());
                }
            }
        }
    }

    /// Whether `kind/name` (uid `uid`) is in the tree, reading it and its
    /// owners as needed; adds what is.
    async fn trace(
        &mut self,
        kind: &str,
        name: &str,
        uid: &str,
        depth: usize,
    ) -> Result<bool, ApiError> {
        if self.set.has_uid(uid) {
            return Ok(true);
        }
        if self.not_owned.contains(uid) || depth > MAX_DEPTH {
            return Ok(false);
        }
        let Some(&(_, prefix, plural)) = WORKLOADS.iter().find(|(k, _, _)| *k == kind) else {
            self.not_owned.insert(uid.to_string());
            return Ok(false);
        };
        let path = format!("{prefix}/namespaces/{}/{plural}/{name}", self.namespace);
        let req = http::Request::get(&path)
            .body(Vec::new())
            .expect("a valid request");
        let meta = match get_text(
            &self.client,
            req,
            &scope(plural, "get", &self.namespace, &self.url),
            self.timeout,
        )
        .await
        {
            Ok(text) => serde_json::from_str::<Object>(&text)
                .map(|o| o.metadata)
                .unwrap_or_default(),
            Err(ApiError::NotFound { .. }) => Meta::default(),
            Err(e) => return Err(e),
        };
        // Gone, or a new object under the old name: not the one the event
        // is about.
        if meta.uid != uid {
            self.not_owned.insert(uid.to_string());
            return Ok(false);
        }
        for r in meta.owner_references.clone() {
            // The root, created after kev started.
            if r.kind == self.root.kind && r.name == self.root.name {
                self.set.insert(&r.uid, &r.kind, &r.name, None);
            }
            if Box::pin(self.trace(&r.kind, &r.name, &r.uid, depth + 1)).await? {
                self.set.insert(uid, kind, name, Some(&r.uid));
                return Ok(true);
            }
        }
        self.not_owned.insert(uid.to_string());
        Ok(false)
    }
}
