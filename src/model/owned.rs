//! The objects `--for KIND/NAME --tree` selects: the root and everything it
//! owns, transitively, by `ownerReferences` uid. Shared between the filter
//! (which reads it for every event) and the source's owner tracker (which
//! adds children it learns about, such as a Pod created during a rollout).

use std::collections::HashSet;
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
}

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

    /// Add an object.
    pub fn insert(&self, uid: &str, kind: &str, name: &str) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.uids.insert(uid.to_string());
        inner.names.insert((kind.to_string(), name.to_string()));
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
