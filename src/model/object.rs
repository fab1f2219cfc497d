//! `KIND/NAME`: how a user names an involved object (`--for pod/web-1`,
//! `--for deployments.apps/web`), parsed once for every command.
//!
//! [`ObjectSpec`] is the text as written, split into resource, group and
//! name. What kind it means is decided later: by the apiserver's discovery
//! for a live cluster (`source::discovery`), or by the built-in table of
//! kubectl names ([`ObjectSpec::offline_target`]) for `kev replay`. Either
//! way the answer is an [`ObjectTarget`].

use std::fmt;

/// `KIND/NAME` as the user wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectSpec {
    /// The whole text, for messages.
    pub text: String,
    /// The resource part before any `.group`: `pod`, `deploy`, `Deployment`, `deployments`.
    pub resource: String,
    /// The group after the first `.`: `apps` in `deployments.apps/web`.
    pub group: Option<String>,
    /// The object's name.
    pub name: String,
}

/// A `KIND/NAME` that does not parse or names no known kind; `span` is the
/// byte range of the text at fault, for a caret under it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ObjectSpecError {
    /// What is wrong.
    pub message: String,
    /// The offending part of the text (byte offsets).
    pub span: (usize, usize),
}

const SYNTAX: &str = "expected KIND/NAME, e.g. pod/web-7f9c or Deployment/web";

/// A resolved object: the kind and name (and, from discovery, the
/// apiVersion) an event's involved object must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectTarget {
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// apiVersion, e.g. `apps/v1`, when discovery said it.
    pub api_version: Option<String>,
    /// Object name.
    pub name: String,
}

impl fmt::Display for ObjectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

impl ObjectSpec {
    /// Split `KIND/NAME` (`deployments.apps/web` → resource `deployments`,
    /// group `apps`, name `web`).
    pub fn parse(text: &str) -> Result<ObjectSpec, ObjectSpecError> {
        let err = |span| ObjectSpecError {
            message: SYNTAX.to_string(),
            span,
        };
        let Some((kind, name)) = text.split_once('/') else {
            return Err(err((0, text.len())));
        };
        if kind.is_empty() {
            return Err(err((0, text.len())));
        }
        if name.is_empty() || name.contains('/') {
            return Err(err((kind.len() + 1, text.len())));
        }
        let (resource, group) = match kind.split_once('.') {
            Some((r, g)) => (r.to_string(), Some(g.to_string()).filter(|g| !g.is_empty())),
            None => (kind.to_string(), None),
        };
        Ok(ObjectSpec {
            text: text.to_string(),
            resource,
            group,
            name: name.to_string(),
        })
    }

    /// The target without a cluster to ask: a built-in resource's singular,
    /// plural or short name maps to its Kind (`deploy` → `Deployment`), and a
    /// capitalised word is taken as a Kind as the API spells it
    /// (`MyResource/x`). No apiVersion is known.
    pub fn offline_target(&self) -> Result<ObjectTarget, ObjectSpecError> {
        let kind = builtin_kind(&self.resource.to_ascii_lowercase())
            .map(str::to_string)
            .or_else(|| {
                self.resource
                    .chars()
                    .next()
                    .filter(|c| c.is_uppercase())
                    .map(|_| self.resource.clone())
            });
        match kind {
            Some(kind) => Ok(ObjectTarget {
                kind,
                api_version: None,
                name: self.name.clone(),
            }),
            None => Err(ObjectSpecError {
                message: "unknown kind: use a built-in resource name (pod, deploy, rs, sts, ds, job, node, svc, pvc, hpa, ...) or the Kind as the API spells it (MyResource/name)".to_string(),
                span: (0, self.text.find('/').unwrap_or(self.text.len())),
            }),
        }
    }
}

/// The Kind for a built-in resource's singular, plural or short name (lowercase).
pub fn builtin_kind(name: &str) -> Option<&'static str> {
    const KINDS: &[(&str, &[&str])] = &[
        ("Pod", &["pod", "pods", "po"]),
        ("Deployment", &["deployment", "deployments", "deploy"]),
        ("ReplicaSet", &["replicaset", "replicasets", "rs"]),
        ("StatefulSet", &["statefulset", "statefulsets", "sts"]),
        ("DaemonSet", &["daemonset", "daemonsets", "ds"]),
        ("Job", &["job", "jobs"]),
        ("CronJob", &["cronjob", "cronjobs", "cj"]),
        ("Node", &["node", "nodes", "no"]),
        ("Service", &["service", "services", "svc"]),
        ("Endpoints", &["endpoints", "ep"]),
        ("ConfigMap", &["configmap", "configmaps", "cm"]),
        ("Secret", &["secret", "secrets"]),
        (
            "PersistentVolumeClaim",
            &["persistentvolumeclaim", "persistentvolumeclaims", "pvc"],
        ),
        (
            "PersistentVolume",
            &["persistentvolume", "persistentvolumes", "pv"],
        ),
        ("Namespace", &["namespace", "namespaces", "ns"]),
        ("Ingress", &["ingress", "ingresses", "ing"]),
        (
            "HorizontalPodAutoscaler",
            &["horizontalpodautoscaler", "horizontalpodautoscalers", "hpa"],
        ),
        (
            "ServiceAccount",
            &["serviceaccount", "serviceaccounts", "sa"],
        ),
        (
            "PodDisruptionBudget",
            &["poddisruptionbudget", "poddisruptionbudgets", "pdb"],
        ),
        ("StorageClass", &["storageclass", "storageclasses", "sc"]),
        (
            "NetworkPolicy",
            &["networkpolicy", "networkpolicies", "netpol"],
        ),
        (
            "VolumeAttachment",
            &["volumeattachment", "volumeattachments"],
        ),
        ("Lease", &["lease", "leases"]),
        (
            "CertificateSigningRequest",
            &[
                "certificatesigningrequest",
                "certificatesigningrequests",
                "csr",
            ],
        ),
    ];
    KINDS
        .iter()
        .find(|(_, names)| names.contains(&name))
        .map(|(k, _)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_resource_group_name() {
        let s = ObjectSpec::parse("deployments.apps/web").unwrap();
        assert_eq!(
            (s.resource.as_str(), s.group.as_deref(), s.name.as_str()),
            ("deployments", Some("apps"), "web")
        );
        let s = ObjectSpec::parse("deploy/web").unwrap();
        assert_eq!((s.resource.as_str(), s.group), ("deploy", None));
    }

    #[test]
    fn syntax_errors_point_at_the_bad_part() {
        for (text, span) in [
            ("web", (0, 3)),
            ("/x", (0, 2)),
            ("pod/", (4, 4)),
            ("pod/a/b", (4, 7)),
        ] {
            let e = ObjectSpec::parse(text).unwrap_err();
            assert_eq!(e.span, span, "{text}");
            assert!(e.message.starts_with("expected KIND/NAME"), "{text}");
        }
    }

    #[test]
    fn offline_kinds() {
        let t = |s: &str| ObjectSpec::parse(s).unwrap().offline_target();
        assert_eq!(t("po/web-1").unwrap().kind, "Pod");
        assert_eq!(t("deployment.apps/web").unwrap().kind, "Deployment");
        assert_eq!(t("HPA/web").unwrap().kind, "HorizontalPodAutoscaler");
        assert_eq!(t("MyResource/x").unwrap().kind, "MyResource");
        assert_eq!(t("MyResource/x").unwrap().api_version, None);
        let e = t("widget/x").unwrap_err();
        assert_eq!(e.span, (0, 6));
        assert!(e.message.starts_with("unknown kind"));
    }
}
