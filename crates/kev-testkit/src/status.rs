//! `kind: Status` error bodies, worded as the real apiserver words them.
//!
//! Clients branch on `code` and `reason` (kube-rs surfaces them as
//! `kube::Error::Api`, client-go as `StatusError`), and people read `message`,
//! so the constructors here copy the apiserver's texts.

use serde_json::{Value, json};

/// An API error: what a real apiserver sends as a `Status` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiStatus {
    /// HTTP status code, repeated as `code` in the body.
    pub code: u16,
    /// The machine-readable `reason`, e.g. `Forbidden`, `Expired`, `NotFound`.
    pub reason: String,
    /// The human-readable `message`.
    pub message: String,
    /// `details`, if any (`{"kind": "events", "name": ...}`, `causes`, ...).
    pub details: Option<Value>,
    /// A `Retry-After` header (seconds), as sent with 429, 503 and 504; set
    /// it with [`ApiStatus::with_retry_after`], which also fills in `details`.
    pub retry_after: Option<u16>,
    /// `metadata.continue`: the inconsistent-continue token of an expired
    /// continue (`410`), which lets a client finish the list without a snapshot.
    pub continue_token: Option<String>,
    /// Send this body with this content type instead of the Status JSON
    /// (what a proxy or load balancer in front of the apiserver answers:
    /// an HTML error page, a truncated body).
    pub raw_body: Option<Box<(String, String)>>,
}

impl ApiStatus {
    /// A status with this code, reason and message and no details.
    pub fn new(code: u16, reason: impl Into<String>, message: impl Into<String>) -> Self {
        ApiStatus {
            code,
            reason: reason.into(),
            message: message.into(),
            details: None,
            retry_after: None,
            continue_token: None,
            raw_body: None,
        }
    }

    /// The same status answered with `body` as `content_type` instead of a
    /// Status object.
    #[must_use]
    pub fn with_raw_body(mut self, content_type: &str, body: &str) -> Self {
        self.raw_body = Some(Box::new((content_type.to_string(), body.to_string())));
        self
    }

    /// The same status with `details`.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The same status with a `Retry-After: seconds` header and
    /// `details.retryAfterSeconds`, which kube-apiserver always sends together
    /// (it derives the header from the Status). client-go waits that long
    /// before it retries.
    #[must_use]
    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(u16::try_from(seconds).unwrap_or(u16::MAX));
        let mut details = match self.details.take() {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        details.insert("retryAfterSeconds".into(), seconds.into());
        self.details = Some(Value::Object(details));
        self
    }

    /// The `Status` object as JSON.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(obj) = v.as_object_mut() {
            // Some apiserver errors carry no reason; the field is then omitted.
            if self.reason.is_empty() {
                obj.remove("reason");
            }
            if let Some(details) = &self.details {
                obj.insert("details".into(), details.clone());
            }
            if let Some(token) = &self.continue_token {
                obj.insert("metadata".into(), json!({"continue": token}));
            }
        }
        v
    }

    /// 403 Forbidden, e.g. `events is forbidden: User "system:anonymous" cannot
    /// list resource "events" in API group "" at the cluster scope`.
    ///
    /// `namespace` `None` is the cluster scope; `name` is set for a GET of one object.
    pub fn forbidden(
        user: &str,
        verb: &str,
        resource: &str,
        group: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        let subject = match name {
            Some(name) => format!("{resource} \"{name}\""),
            None => resource.to_owned(),
        };
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_owned(),
        };
        let mut details = json!({"kind": resource});
        if let (Some(name), Some(obj)) = (name, details.as_object_mut()) {
            obj.insert("name".into(), name.into());
        }
        if !group.is_empty()
            && let Some(obj) = details.as_object_mut()
        {
            obj.insert("group".into(), group.into());
        }
        ApiStatus::new(
            403,
            "Forbidden",
            format!(
                "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" \
                 in API group \"{group}\" {scope}"
            ),
        )
        .with_details(details)
    }

    /// 401 Unauthorized, as sent for a missing or rejected token.
    pub fn unauthorized() -> Self {
        ApiStatus::new(401, "Unauthorized", "Unauthorized")
    }

    /// 404 for one missing object: `events "x" not found`.
    pub fn not_found(resource: &str, name: &str) -> Self {
        ApiStatus::new(404, "NotFound", format!("{resource} \"{name}\" not found"))
            .with_details(json!({"name": name, "kind": resource}))
    }

    /// 404 for a path the server does not serve.
    pub fn no_such_path() -> Self {
        ApiStatus::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    /// 405 for a verb the server does not allow.
    pub fn method_not_allowed() -> Self {
        ApiStatus::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    /// 400 Bad Request with this message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiStatus::new(400, "BadRequest", message)
    }

    /// 422 Invalid with this message.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiStatus::new(422, "Invalid", message)
    }

    /// 410 Gone, reason `Expired`, with this message.
    pub fn expired(message: impl Into<String>) -> Self {
        ApiStatus::new(410, "Expired", message)
    }

    /// The expiry of an etcd-served watch (events) from a compacted
    /// resourceVersion: `The resourceVersion for the provided watch is too old.`
    pub fn watch_expired() -> Self {
        Self::expired("The resourceVersion for the provided watch is too old.")
    }

    /// The expiry of a watch-cache-served watch from a compacted resourceVersion:
    /// `too old resource version: 5 (100)`.
    pub fn too_old_resource_version(requested: u64, compacted: u64) -> Self {
        Self::expired(format!(
            "too old resource version: {requested} ({compacted})"
        ))
    }

    /// 500 Internal Server Error, as the apiserver wraps an internal failure.
    pub fn internal_error(cause: &str) -> Self {
        ApiStatus::new(
            500,
            "InternalError",
            format!("Internal error occurred: {cause}"),
        )
        .with_details(json!({"causes": [{"message": cause}]}))
    }

    /// 429 Too Many Requests, as API priority and fairness or a storage
    /// throttle rejects a request: reason `TooManyRequests`. Add a
    /// `Retry-After` with [`ApiStatus::with_retry_after`].
    pub fn too_many_requests() -> Self {
        ApiStatus::new(
            429,
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        )
    }

    /// 503 Service Unavailable (an apiserver shutting down, an unavailable
    /// aggregated API): reason `ServiceUnavailable`.
    pub fn service_unavailable() -> Self {
        ApiStatus::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        )
    }

    /// 504 Gateway Timeout (a request that ran out of time in the apiserver):
    /// reason `Timeout`, as kube-apiserver names it.
    pub fn gateway_timeout() -> Self {
        ApiStatus::new(
            504,
            "Timeout",
            "the server was unable to return a response in the time allotted, but may still \
             be processing the request",
        )
    }

    /// 504 for a list at a resourceVersion newer than the store's.
    pub fn too_large_resource_version(requested: u64, current: u64) -> Self {
        ApiStatus::new(
            504,
            "Timeout",
            format!("Timeout: Too large resource version: {requested}, current: {current}"),
        )
        .with_details(json!({
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_reads_like_the_apiserver() {
        let s = ApiStatus::forbidden("system:anonymous", "list", "events", "", None, None);
        assert_eq!(
            s.message,
            "events is forbidden: User \"system:anonymous\" cannot list resource \"events\" \
             in API group \"\" at the cluster scope"
        );
        let s = ApiStatus::forbidden("u", "watch", "events", "", Some("ns"), None);
        assert!(
            s.message
                .ends_with("in API group \"\" in the namespace \"ns\"")
        );
    }

    #[test]
    fn retry_after_goes_into_details_too() {
        let s = ApiStatus::service_unavailable().with_retry_after(3);
        assert_eq!(s.retry_after, Some(3));
        assert_eq!(
            s.to_json(),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "the server is currently unable to handle the request",
                "reason": "ServiceUnavailable", "code": 503,
                "details": {"retryAfterSeconds": 3}
            })
        );
        // Existing details are kept.
        let s = ApiStatus::not_found("events", "x").with_retry_after(1);
        assert_eq!(
            s.details,
            Some(json!({"name": "x", "kind": "events", "retryAfterSeconds": 1}))
        );
        assert_eq!(ApiStatus::too_many_requests().details, None);
        assert_eq!(
            (
                ApiStatus::gateway_timeout().code,
                ApiStatus::gateway_timeout().reason.as_str()
            ),
            (504, "Timeout")
        );
    }
}
