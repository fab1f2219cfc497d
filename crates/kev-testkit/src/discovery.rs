//! Discovery documents: enough of `/version`, `/api`, `/apis` and the group
//! versions' resource lists for client-go's RESTMapper and kube-rs's discovery.
//!
//! Recent kubectl asks for *aggregated* discovery
//! (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,…,application/json`).
//! The server answers with the legacy documents and a plain
//! `Content-Type: application/json`, which client-go accepts as the fallback
//! and follows with one request per group version, as against an older server.

use std::net::SocketAddr;

use serde_json::{Value, json};

/// One served resource of a group version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resource {
    /// Plural name, the path segment: `pods`.
    pub name: &'static str,
    /// Singular name: `pod`.
    pub singular: &'static str,
    /// Kind: `Pod`.
    pub kind: &'static str,
    /// Whether it lives in namespaces.
    pub namespaced: bool,
    /// Short names for the CLI: `po`.
    pub short_names: &'static [&'static str],
    /// Whether it is in the `all` category (`kubectl get all`).
    pub in_all: bool,
}

/// One served group version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GroupVersion {
    /// The group; empty for the core group.
    pub group: &'static str,
    /// The version: `v1`.
    pub version: &'static str,
    /// Its resources.
    pub resources: &'static [Resource],
}

impl GroupVersion {
    /// `v1` for the core group, else `group/version`.
    pub fn group_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The resource served at path segment `name`, if any.
    pub fn resource(&self, name: &str) -> Option<&'static Resource> {
        self.resources.iter().find(|r| r.name == name)
    }
}

const fn res(
    name: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    in_all: bool,
) -> Resource {
    Resource {
        name,
        singular,
        kind,
        namespaced,
        short_names,
        in_all,
    }
}

/// The core group, `/api/v1`.
pub(crate) const CORE_V1: GroupVersion = GroupVersion {
    group: "",
    version: "v1",
    resources: &[
        res("configmaps", "configmap", "ConfigMap", true, &["cm"], false),
        res("events", "event", "Event", true, &["ev"], false),
        res(
            "namespaces",
            "namespace",
            "Namespace",
            false,
            &["ns"],
            false,
        ),
        res("nodes", "node", "Node", false, &["no"], false),
        res("pods", "pod", "Pod", true, &["po"], true),
        res("services", "service", "Service", true, &["svc"], true),
    ],
};

/// The named groups under `/apis`, in the order the apiserver lists them.
pub(crate) const GROUPS: &[GroupVersion] = &[
    GroupVersion {
        group: "apps",
        version: "v1",
        resources: &[
            res("daemonsets", "daemonset", "DaemonSet", true, &["ds"], true),
            res(
                "deployments",
                "deployment",
                "Deployment",
                true,
                &["deploy"],
                true,
            ),
            res(
                "replicasets",
                "replicaset",
                "ReplicaSet",
                true,
                &["rs"],
                true,
            ),
            res(
                "statefulsets",
                "statefulset",
                "StatefulSet",
                true,
                &["sts"],
                true,
            ),
        ],
    },
    GroupVersion {
        group: "events.k8s.io",
        version: "v1",
        resources: &[res("events", "event", "Event", true, &["ev"], false)],
    },
    GroupVersion {
        group: "batch",
        version: "v1",
        resources: &[
            res("cronjobs", "cronjob", "CronJob", true, &["cj"], true),
            res("jobs", "job", "Job", true, &[], true),
        ],
    },
];

/// The group version served at `/apis/{group}/{version}`, if any.
pub(crate) fn group(group: &str, version: &str) -> Option<&'static GroupVersion> {
    GROUPS
        .iter()
        .find(|g| g.group == group && g.version == version)
}

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// `/version`: a v1.33 server.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": "v1.33.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `/api`: the core group's versions.
pub(crate) fn api_versions(addr: SocketAddr) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr.to_string()}]
    })
}

/// `/apis`: the named groups.
pub(crate) fn api_group_list() -> Value {
    let groups: Vec<Value> = GROUPS
        .iter()
        .map(|g| {
            let gv = json!({"groupVersion": g.group_version(), "version": g.version});
            json!({"name": g.group, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`: one group.
pub(crate) fn api_group(name: &str) -> Option<Value> {
    let g = GROUPS.iter().find(|g| g.group == name)?;
    let gv = json!({"groupVersion": g.group_version(), "version": g.version});
    Some(json!({
        "kind": "APIGroup", "apiVersion": "v1",
        "name": g.group, "versions": [gv.clone()], "preferredVersion": gv
    }))
}

/// `/api/v1` or `/apis/{group}/{version}`: the resource list.
pub(crate) fn resource_list(gv: &GroupVersion) -> Value {
    let resources: Vec<Value> = gv
        .resources
        .iter()
        .map(|r| {
            let mut v = json!({
                "name": r.name,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": VERBS,
            });
            if let Some(obj) = v.as_object_mut() {
                if !r.short_names.is_empty() {
                    obj.insert("shortNames".into(), json!(r.short_names));
                }
                if r.in_all {
                    obj.insert("categories".into(), json!(["all"]));
                }
            }
            v
        })
        .collect();
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv.group_version(),
        "resources": resources
    })
}
