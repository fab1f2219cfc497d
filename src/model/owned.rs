//! The objects `--for KIND/NAME --tree` selects: the root and everything it
//! owns, transitively, by `ownerReferences` uid. Shared between the filter
//! (which reads it for every event) and the source's owner tracker (which
//! adds children it learns about, such as a Pod created during a rollout).

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

/// The owned set; see the module docs.
#[derive(Debug, Default)]
pub struct OwnedSet {
    root: String,
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    uids: HashSet<String>,
    /// `(kind, name)`: events that name their object without a uid.
    names: HashSet<(String, String)>,
    /// uid → (kind, name, the owner's uid within the set; `None`: a root).
    links: HashMap<String, (String, String, Option<String>)>,
}

/// How deep a path is followed (a cycle would be the cluster's bug).
const MAX_PATH: usize = 16;

impl OwnedSet {
    /// An empty set under `root` (`Kind/name`, for messages and the
    /// filter's text).
    pub fn new(root: impl Into<String>) -> OwnedSet {
        OwnedSet {
            root: root.into(),
            inner: RwLock::default(),
        }
    }

    /// The root, `Kind/name`.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// Add an object, owned by `owner` (a uid in the set; `None` for the
    /// root).
    pub fn insert(&self, uid: &str, kind: &str, name: &str, owner: Option<&str>) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.uids.insert(uid.to_string());
        inner.names.insert((kind.to_string(), name.to_string()));
        inner.links.insert(
            uid.to_string(),
            (
                kind.to_string(),
                name.to_string(),
                owner.map(str::to_string),
            ),
        );
    }

    /// The path from the root to object `uid`, root first:
    /// `[("Deployment", "web"), ("ReplicaSet", "web-5d4f"), ("Pod", …)]`;
    /// empty when the set does not hold it.
    pub fn path(&self, uid: &str) -> Vec<(String, String)> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let mut path = Vec::new();
        let mut at = Some(uid);
        while let Some(u) = at {
            let Some((kind, name, owner)) = inner.links.get(u) else {
                break;
            };
            path.push((kind.clone(), name.clone()));
            if path.len() >= MAX_PATH {
                break;
            }
            at = owner.as_deref();
        }
        path.reverse();
        path
    }

    /// Every object with its kind, name and owner: `(uid, kind, name, owner)`.
    pub fn links(&self) -> Vec<(String, String, String, Option<String>)> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner
            .links
            .iter()
            .map(|(u, (k, n, o))| (u.clone(), k.clone(), n.clone(), o.clone()))
            .collect()
    }

    /// Add an object known only by kind and name (a root not found).
    pub fn insert_name(&self, kind: &str, name: &str) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.names.insert((kind.to_string(), name.to_string()));
    }

    /// Whether an object (by uid when it has one, else by kind and name) is
    /// in the set.
    pub fn contains(&self, uid: Option<&str>, kind: Option<&str>, name: Option<&str>) -> bool {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        match uid.filter(|u| !u.is_empty()) {
            Some(u) => inner.uids.contains(u),
            None => match (kind, name) {
                (Some(k), Some(n)) => inner.names.contains(&(k.to_string(), n.to_string())),
                _ => false,
            },
        }
    }

    /// Whether a uid is in the set.
    pub fn has_uid(&self, uid: &str) -> bool {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.uids.contains(uid)
    }

    /// How many objects.
    pub fn len(&self) -> usize {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.uids.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
