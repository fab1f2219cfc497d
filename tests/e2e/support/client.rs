//! [`Admin`]: a kube client with the admin kubeconfig, driven synchronously
//! from tests, for writing events (and namespaces) through either API group.
//!
//! Raw JSON in and out, so tests write exactly the fields a real recorder
//! writes (core/v1 legacy, events.k8s.io/v1 series) and nothing else.

use std::path::Path;

use serde_json::Value;

use super::events::{Created, Ev, Group};

/// A synchronous admin client.
pub struct Admin {
    rt: tokio::runtime::Runtime,
    client: kube::Client,
}

impl Admin {
    /// A client from a kubeconfig file.
    pub fn new(kubeconfig: &Path) -> Admin {
        // kube is built with ring; installing it explicitly keeps client
        // creation unambiguous (Err: already installed, which is fine).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let client = rt.block_on(async {
            let kc = kube::config::Kubeconfig::read_from(kubeconfig)
                .unwrap_or_else(|e| panic!("read {}: {e}", kubeconfig.display()));
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .unwrap_or_else(|e| panic!("kubeconfig {}: {e}", kubeconfig.display()));
            kube::Client::try_from(config).expect("kube client")
        });
        Admin { rt, client }
    }

    fn send(&self, method: http::Method, path: &str, content_type: &str, body: &Value) -> Value {
        let req = http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(serde_json::to_vec(body).expect("JSON body"))
            .expect("request");
        self.rt
            .block_on(self.client.request::<Value>(req))
            .unwrap_or_else(|e| panic!("{method} {path} failed: {e}\nbody: {body}"))
    }

    /// GET a JSON object.
    pub fn get(&self, path: &str) -> Value {
        let req = http::Request::get(path).body(Vec::new()).expect("request");
        self.rt
            .block_on(self.client.request::<Value>(req))
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}"))
    }

    /// The `kube-system` namespace's uid: what kev records as the cluster's
    /// identity in a state file.
    pub fn cluster_uid(&self) -> String {
        let ns = self.get("/api/v1/namespaces/kube-system");
        ns["metadata"]["uid"]
            .as_str()
            .unwrap_or_else(|| panic!("no metadata.uid in {ns}"))
            .to_string()
    }

    /// POST a JSON object.
    pub fn post(&self, path: &str, body: &Value) -> Value {
        self.send(http::Method::POST, path, "application/json", body)
    }

    /// PATCH with a JSON merge patch.
    pub fn merge_patch(&self, path: &str, patch: &Value) -> Value {
        self.send(
            http::Method::PATCH,
            path,
            "application/merge-patch+json",
            patch,
        )
    }

    /// Create a namespace.
    pub fn create_namespace(&self, name: &str) {
        self.post(
            "/api/v1/namespaces",
            &serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        );
    }

    /// Create an event in namespace `ns` through the API group it was built for.
    pub fn create(&self, ns: &str, event: &Ev) -> Created {
        let path = match event.group() {
            Group::Core => format!("/api/v1/namespaces/{ns}/events"),
            Group::EventsV1 => format!("/apis/events.k8s.io/v1/namespaces/{ns}/events"),
        };
        Created::from_response(self.post(&path, &event.to_json(ns)))
    }

    /// Merge-patch an event through core/v1 (what the legacy recorder does
    /// for a repeat: `count`+1 and a new `lastTimestamp`).
    pub fn patch_core(&self, ns: &str, name: &str, patch: &Value) -> Created {
        Created::from_response(
            self.merge_patch(&format!("/api/v1/namespaces/{ns}/events/{name}"), patch),
        )
    }

    /// Merge-patch an event through events.k8s.io/v1 (what the newer
    /// recorder does for a repeat: a new `series`).
    pub fn patch_events_v1(&self, ns: &str, name: &str, patch: &Value) -> Created {
        Created::from_response(self.merge_patch(
            &format!("/apis/events.k8s.io/v1/namespaces/{ns}/events/{name}"),
            patch,
        ))
    }
}
