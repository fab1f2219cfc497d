//! The kubeconfig that points kev, kube-rs or kubectl at a fake apiserver.

/// The bearer token in the generated kubeconfig. The fake server accepts any
/// token (or none); tests can check it was sent via `RecordedRequest::authorization`.
pub const TOKEN: &str = "kev-testkit-token";

/// A kubeconfig with cluster, user and context all named `fake`, namespace `default`.
pub(crate) fn yaml(server_url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: {server_url}
users:
- name: fake
  user:
    token: {TOKEN}
contexts:
- name: fake
  context:
    cluster: fake
    user: fake
    namespace: default
current-context: fake
preferences: {{}}
"
    )
}
