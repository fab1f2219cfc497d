//! A message's shape: the message with its variable parts replaced, so the
//! same complaint about different objects groups together.
//!
//! | variable part | becomes | example |
//! |---|---|---|
//! | the involved object's own name | `<object>` | `…in pod web-7f9c6d5b8-x2x4z_payments(…)` |
//! | a UID | `<uid>` | `8c1a5e3e-1b2c-4d5e-8f90-0a1b2c3d4e5f` |
//! | a double- or single-quoted string | `"…"` / `'…'` | `Failed to pull image "registry/web:v1.2"` |
//! | a Pod name with generated suffixes | `<pod>` | `web-7f9c6d5b8-x2x4z` |
//! | a hex hash of 7 or more digits | `<hash>` | `sha256:0af3…`, `3f9a1c2` |
//! | an IPv4 address, with its port | `<ip>` | `10.0.0.12:8080` |
//! | a number standing alone, with its unit | `N` | `0/3 nodes are available: 3 Insufficient cpu`, `5m0s`, `512Mi` |
//!
//! A number inside a word stays (`k8s`, `v1`, `ipv4`), as does everything
//! else. Shapes are cached: a cluster repeats few of them.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use regex::{Captures, Regex};

static VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"(?P<uid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)"#,
        r#"|(?P<dq>"[^"]*")"#,
        r#"|(?P<sq>'[^']*')"#,
        // A pod name ends where a character of a name cannot follow (`_`
        // may: `pod_namespace(uid)` is the kubelet's way).
        r#"|(?P<pod>\b[a-z0-9](?:[-a-z0-9]*[a-z0-9])?-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5})(?P<podend>[^-a-z0-9.]|$)"#,
        r#"|(?P<ip>\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d+)?\b)"#,
        r#"|(?P<hash>\b[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b)"#,
        // Numbers, with a unit (`5s`, `1m30s`, `512Mi`).
        r#"|(?P<num>\b(?:\d+(?:\.\d+)*(?:ms|us|ns|[smhd]|[KMGTP]i?)?)+\b)"#,
    ))
    .expect("the shape regex compiles")
});

fn replace(c: &Captures<'_>) -> &'static str {
    if c.name("uid").is_some() {
        "<uid>"
    } else if c.name("dq").is_some() {
        "\"…\""
    } else if c.name("sq").is_some() {
        "'…'"
    } else if c.name("pod").is_some() {
        "<pod>"
    } else if c.name("ip").is_some() {
        "<ip>"
    } else if let Some(h) = c.name("hash") {
        // Short hex-looking words (`cafe1`, `a1`) are words.
        if h.len() >= 7 { "<hash>" } else { "\u{0}" }
    } else {
        "N"
    }
}

/// The shape of `message` about the object named `object`.
pub fn shape(message: &str, object: Option<&str>) -> String {
    let own = match object {
        Some(name) if name.len() >= 3 && message.contains(name) => {
            std::borrow::Cow::Owned(message.replace(name, "\u{1}"))
        }
        _ => std::borrow::Cow::Borrowed(message),
    };
    let replaced = VARIABLE.replace_all(&own, |c: &Captures<'_>| {
        let r = replace(c);
        if r == "\u{0}" {
            c[0].to_string()
        } else if let Some(end) = c.name("podend") {
            format!("{r}{}", end.as_str())
        } else {
            r.to_string()
        }
    });
    replaced.replace('\u{1}', "<object>")
}

/// Shapes, cached by (message, object name).
#[derive(Debug, Default)]
pub struct Shapes {
    cache: HashMap<(Box<str>, Box<str>), Arc<str>>,
}

/// Entries kept before the cache starts over (bounded memory for a
/// stream of ever-new messages).
const CACHE_MAX: usize = 100_000;

impl Shapes {
    /// The shape of `message` about `object`.
    pub fn of(&mut self, message: &str, object: Option<&str>) -> Arc<str> {
        let key = (Box::from(message), Box::from(object.unwrap_or("")));
        if let Some(s) = self.cache.get(&key) {
            return Arc::clone(s);
        }
        if self.cache.len() >= CACHE_MAX {
            self.cache.clear();
        }
        let s: Arc<str> = Arc::from(shape(message, object));
        self.cache.insert(key, Arc::clone(&s));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_parts_are_replaced() {
        for (message, object, want) in [
            (
                "0/3 nodes are available: 3 Insufficient cpu.",
                None,
                "N/N nodes are available: N Insufficient cpu.",
            ),
            (
                "Back-off restarting failed container web in pod web-7f9c6d5b8-x2x4z_payments(8c1a5e3e-1b2c-4d5e-8f90-0a1b2c3d4e5f)",
                Some("web-7f9c6d5b8-x2x4z"),
                "Back-off restarting failed container web in pod <object>_payments(<uid>)",
            ),
            (
                "Back-off restarting failed container web in pod web-7f9c6d5b8-qq9zt_payments(1b2c8c1a-1b2c-4d5e-8f90-0a1b2c3d4e5f)",
                Some("other"),
                "Back-off restarting failed container web in pod <pod>_payments(<uid>)",
            ),
            (
                "Failed to pull image \"registry.example.com/web:v1.10.8\": rpc error: code = NotFound",
                None,
                "Failed to pull image \"…\": rpc error: code = NotFound",
            ),
            (
                "Readiness probe failed: Get \"http://10.0.0.12:8080/healthz\": dial tcp 10.0.0.12:8080: connect: connection refused",
                None,
                "Readiness probe failed: Get \"…\": dial tcp <ip>: connect: connection refused",
            ),
            (
                "Created container sha256 3f9a1c2e9 k8s v1 ipv4",
                None,
                "Created container sha256 <hash> k8s v1 ipv4",
            ),
            (
                "Scaled up replica set web-7f9c6d5b8 to 3",
                None,
                "Scaled up replica set web-<hash> to N",
            ),
            ("deadbeef cafe1 face", None, "deadbeef cafe1 face"),
        ] {
            assert_eq!(shape(message, object), want, "{message}");
        }
    }

    #[test]
    fn the_cache_returns_the_same_shape() {
        let mut s = Shapes::default();
        let a = s.of("pulled in 5s", None);
        let b = s.of("pulled in 5s", None);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*s.of("pulled in 7s", None), "pulled in N");
    }
}
