//! Leader election on a `coordination.k8s.io/v1` Lease, for `kev run` with
//! several replicas (`leaderElection:` in kev.yaml): only the holder of the
//! lease ships; the others wait, and the first to see the lease expire
//! takes it and resumes from the checkpoint the leader left on it.
//!
//! This is client-go's algorithm, on kube's typed `Api<Lease>` (no extra
//! crate: the protocol is a get and an optimistic-concurrency replace):
//!
//! - A candidate reads the lease. Absent: it creates it, holding it. Held
//!   by another: it remembers the record and *when it saw it change*, by
//!   its own clock, and takes the lease only once the record has not
//!   changed for `leaseDuration` (so clock skew between nodes does not
//!   matter). Taking is a replace at the resourceVersion it read: of two
//!   candidates, one wins and the other gets a 409 and keeps waiting.
//! - The leader renews every `renewEvery`; when it cannot renew for
//!   two thirds of `leaseDuration` (or finds another holder), it has lost
//!   the lease and stops shipping at once (kev exits 1, and its pod is
//!   restarted as a candidate).
//! - With each renewal the leader copies its checkpoint (the watch's
//!   resourceVersion and the selection it belongs to, from its state file)
//!   into the lease's `kev.dev/checkpoint` annotation: a few hundred bytes,
//!   far inside an object's size limit. A new leader without a state file
//!   of its own resumes the watch from there; a Kafka sink's topic tells it
//!   what was delivered after that checkpoint ([`crate::sink::kafka::recover`]),
//!   so it sends none of it again. Other sinks may see again what was
//!   delivered in the last `renewEvery` plus one checkpoint interval.
//! - A leader that stops (SIGTERM) releases the lease: the standby takes
//!   over at its next try instead of after `leaseDuration`.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// The annotation holding the leader's checkpoint.
pub const CHECKPOINT_ANNOTATION: &str = "kev.dev/checkpoint";

/// `leaderElection:` in kev.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeaderElectionConfig {
    /// The Lease's name.
    pub lease: String,
    /// Its namespace (default: `POD_NAMESPACE`, else `default`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// This replica's identity (default: `POD_NAME`, else the host name).
    #[serde(default)]
    pub identity: Option<String>,
    /// How long a lease not renewed stays the holder's (default 15s).
    #[serde(default)]
    pub lease_duration: Option<crate::units::Span>,
    /// How often the leader renews and candidates retry (default 2s).
    #[serde(default)]
    pub renew_every: Option<crate::units::Span>,
}

impl LeaderElectionConfig {
    /// The lease duration.
    pub fn lease_duration(&self) -> Duration {
        self.lease_duration.map_or(Duration::from_secs(15), |s| s.0)
    }

    /// The renewal period.
    pub fn renew_every(&self) -> Duration {
        self.renew_every.map_or(Duration::from_secs(2), |s| s.0)
    }

    /// The namespace.
    pub fn namespace(&self) -> String {
        self.namespace
            .clone()
            .or_else(|| {
                std::env::var("POD_NAMESPACE")
                    .ok()
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| "default".to_string())
    }

    /// The identity.
    pub fn identity(&self) -> String {
        self.identity
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| std::env::var("POD_NAME").ok().filter(|s| !s.is_empty()))
            .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_else(|| format!("kev-{}", std::process::id()))
    }

    /// Problems, as `key: message`.
    pub fn check(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !dns_subdomain(&self.lease) {
            p.push(format!(
                "lease: `{}` is not a valid object name",
                self.lease
            ));
        }
        if let Some(ns) = &self.namespace
            && (ns.len() > 63 || ns.contains('.') || !dns_subdomain(ns))
        {
            p.push(format!("namespace: `{ns}` is not a valid namespace name"));
        }
        let (d, r) = (self.lease_duration(), self.renew_every());
        if d < Duration::from_secs(1) {
            p.push("leaseDuration: at least 1s".to_string());
        }
        if r.is_zero() || r * 3 > d * 2 {
            p.push(format!(
                "renewEvery: more than 0 and at most two thirds of leaseDuration ({d:?})"
            ));
        }
        p
    }
}

/// A DNS-1123 subdomain: an object's name.
fn dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// The checkpoint a leader leaves on the lease.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseCheckpoint {
    /// Where the watch resumes.
    pub resource_version: String,
    /// What was being read (the state file's selection, as text).
    pub selection: String,
    /// Who wrote it.
    pub holder: String,
}

/// Why leadership could not be had or kept.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// The apiserver refused or failed.
    #[error("cannot {verb} coordination.k8s.io leases in namespace {namespace}: {reason}")]
    Api {
        /// get, create or update.
        verb: &'static str,
        /// The lease's namespace.
        namespace: String,
        /// What the apiserver said.
        reason: String,
    },
}

/// An elector for one lease.
pub struct Elector {
    api: Api<Lease>,
    config: LeaderElectionConfig,
    namespace: String,
    identity: String,
}

fn now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

impl Elector {
    /// An elector for `config`'s lease.
    pub fn new(client: kube::Client, config: &LeaderElectionConfig) -> Elector {
        let namespace = config.namespace();
        Elector {
            api: Api::namespaced(client, &namespace),
            config: config.clone(),
            identity: config.identity(),
            namespace,
        }
    }

    /// This replica's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    fn error(&self, verb: &'static str, e: kube::Error) -> LeaseError {
        let reason = match &e {
            kube::Error::Api(s) if s.code == 403 => {
                format!("forbidden (grant {verb} on leases to kev's service account)")
            }
            kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
            other => other.to_string(),
        };
        LeaseError::Api {
            verb,
            namespace: self.namespace.clone(),
            reason,
        }
    }

    fn conflict(e: &kube::Error) -> bool {
        matches!(e, kube::Error::Api(s) if s.code == 409)
    }

    fn spec(&self, transitions: i32, acquired: Option<MicroTime>) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.config.lease_duration().as_secs().max(1) as i32),
            acquire_time: Some(acquired.unwrap_or_else(now)),
            renew_time: Some(now()),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    /// Wait until this replica holds the lease (or `stop`); returns the
    /// checkpoint the last leader left, if any.
    pub async fn acquire(
        &self,
        stop: &CancellationToken,
    ) -> Result<Option<Option<LeaseCheckpoint>>, LeaseError> {
        let name = self.config.lease.clone();
        // The record last seen and when it was first seen by our clock.
        let mut observed: Option<(Option<String>, Option<MicroTime>, Instant)> = None;
        let mut said_waiting = false;
        loop {
            let current = match self.api.get_opt(&name).await {
                Ok(l) => l,
                Err(e) => {
                    let err = self.error("get", e);
                    if matches!(&err, LeaseError::Api { reason, .. } if reason.starts_with("forbidden"))
                    {
                        return Err(err);
                    }
                    tracing::warn!(error = %err, "cannot read the lease; retrying");
                    None
                }
            };
            match current {
                None => {
                    let lease = Lease {
                        metadata: ObjectMeta {
                            name: Some(name.clone()),
                            namespace: Some(self.namespace.clone()),
                            ..Default::default()
                        },
                        spec: Some(self.spec(0, None)),
                    };
                    match self.api.create(&PostParams::default(), &lease).await {
                        Ok(_) => {
                            tracing::info!(lease = %name, identity = %self.identity, "became the leader (created the lease)");
                            return Ok(Some(None));
                        }
                        Err(e) if Self::conflict(&e) => {}
                        Err(e) => {
                            let err = self.error("create", e);
                            if matches!(&err, LeaseError::Api { reason, .. } if reason.starts_with("forbidden"))
                            {
                                return Err(err);
                            }
                            tracing::warn!(error = %err, "cannot create the lease; retrying");
                        }
                    }
                }
                Some(mut lease) => {
                    let spec = lease.spec.clone().unwrap_or_default();
                    let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
                    let record = (holder.clone(), spec.renew_time.clone());
                    let changed = observed
                        .as_ref()
                        .is_none_or(|(h, r, _)| (h, r) != (&record.0, &record.1));
                    if changed {
                        observed = Some((record.0, record.1, Instant::now()));
                    }
                    let since = observed.as_ref().map_or(Duration::ZERO, |o| o.2.elapsed());
                    let duration = spec
                        .lease_duration_seconds
                        .map_or(self.config.lease_duration(), |s| {
                            Duration::from_secs(s.max(1) as u64)
                        });
                    let mine = holder.as_deref() == Some(self.identity.as_str());
                    if holder.is_none() || mine || since >= duration {
                        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!mine);
                        let checkpoint = lease
                            .metadata
                            .annotations
                            .as_ref()
                            .and_then(|a| a.get(CHECKPOINT_ANNOTATION))
                            .and_then(|text| serde_json::from_str::<LeaseCheckpoint>(text).ok());
                        lease.spec = Some(self.spec(transitions, None));
                        match self
                            .api
                            .replace(&name, &PostParams::default(), &lease)
                            .await
                        {
                            Ok(_) => {
                                tracing::info!(
                                    lease = %name,
                                    identity = %self.identity,
                                    previous = holder.as_deref().unwrap_or("none"),
                                    checkpoint = checkpoint.as_ref().map_or("none", |c| c.resource_version.as_str()),
                                    "became the leader"
                                );
                                return Ok(Some(checkpoint));
                            }
                            Err(e) if Self::conflict(&e) => {}
                            Err(e) => {
                                tracing::warn!(error = %self.error("update", e), "cannot take the lease; retrying");
                            }
                        }
                    } else if !said_waiting {
                        said_waiting = true;
                        tracing::info!(
                            lease = %name,
                            holder = holder.as_deref().unwrap_or(""),
                            identity = %self.identity,
                            "standing by: waiting for the lease"
                        );
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.renew_every()) => {}
                _ = stop.cancelled() => return Ok(None),
            }
        }
    }

    /// Renew the lease every `renewEvery` with `checkpoint()` as its
    /// annotation, until `stop` (then release it) or until it is lost
    /// (then cancel `lost` and return the reason).
    pub async fn hold(
        &self,
        stop: CancellationToken,
        checkpoint: impl Fn() -> Option<LeaseCheckpoint>,
    ) -> Result<(), String> {
        let name = self.config.lease.clone();
        let deadline = self.config.lease_duration() * 2 / 3;
        let mut renewed = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.config.renew_every()) => {}
                _ = stop.cancelled() => {
                    self.release(checkpoint()).await;
                    return Ok(());
                }
            }
            match self.renew(checkpoint()).await {
                Ok(true) => renewed = Instant::now(),
                Ok(false) => return Err(format!("lease {name} is held by another replica")),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew the lease");
                    if renewed.elapsed() >= deadline {
                        return Err(format!(
                            "lease {name} not renewed for {:?}: {e}",
                            renewed.elapsed()
                        ));
                    }
                }
            }
        }
    }

    /// One renewal; `false` when another replica holds the lease.
    async fn renew(&self, checkpoint: Option<LeaseCheckpoint>) -> Result<bool, LeaseError> {
        let name = &self.config.lease;
        let mut lease = self.api.get(name).await.map_err(|e| self.error("get", e))?;
        let spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(false);
        }
        if let Some(c) = checkpoint
            && let Ok(text) = serde_json::to_string(&c)
        {
            lease
                .metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(CHECKPOINT_ANNOTATION.to_string(), text);
        }
        lease.spec = Some(LeaseSpec {
            renew_time: Some(now()),
            ..spec
        });
        match self.api.replace(name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(e) if Self::conflict(&e) => Ok(false),
            Err(e) => Err(self.error("update", e)),
        }
    }

    /// Give the lease up (a last checkpoint, no holder): the standby takes
    /// it at once.
    async fn release(&self, checkpoint: Option<LeaseCheckpoint>) {
        let name = &self.config.lease;
        let Ok(mut lease) = self.api.get(name).await else {
            return;
        };
        let spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        if let Some(c) = checkpoint
            && let Ok(text) = serde_json::to_string(&c)
        {
            lease
                .metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(CHECKPOINT_ANNOTATION.to_string(), text);
        }
        lease.spec = Some(LeaseSpec {
            holder_identity: None,
            renew_time: Some(now()),
            ..spec
        });
        match self.api.replace(name, &PostParams::default(), &lease).await {
            Ok(_) => tracing::info!(lease = %name, "released the lease"),
            Err(e) => tracing::warn!(error = %self.error("update", e), "cannot release the lease"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> LeaderElectionConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults_and_checks() {
        let c = parse("lease: kev\nnamespace: kev-system\nidentity: a\n");
        assert!(c.check().is_empty());
        assert_eq!(c.lease_duration(), Duration::from_secs(15));
        assert_eq!(c.renew_every(), Duration::from_secs(2));
        assert_eq!(c.identity(), "a");
        assert_eq!(c.namespace(), "kev-system");
        let bad = parse("lease: Kev_1\nnamespace: Kev.System\nleaseDuration: 3s\nrenewEvery: 3s\n");
        let text = bad.check().join("\n");
        for needle in [
            "lease: `Kev_1` is not a valid object name",
            "namespace: `Kev.System` is not a valid namespace name",
            "renewEvery: more than 0 and at most two thirds of leaseDuration",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in {text}");
        }
    }

    #[test]
    fn the_checkpoint_round_trips_as_the_annotation() {
        let c = LeaseCheckpoint {
            resource_version: "184467".into(),
            selection: "all namespaces".into(),
            holder: "kev-0".into(),
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(
            text,
            r#"{"resourceVersion":"184467","selection":"all namespaces","holder":"kev-0"}"#
        );
        assert_eq!(serde_json::from_str::<LeaseCheckpoint>(&text).unwrap(), c);
    }
}
