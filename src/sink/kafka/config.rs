//! `type: kafka`: the configuration (docs/config.md), its checks
//! (`kev run --check`) and the librdkafka properties it stands for.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::units::Span;

/// `type: kafka`: occurrences produced to a Kafka topic.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KafkaSinkConfig {
    /// `host:port` of one or more brokers (bootstrap servers).
    pub brokers: Vec<String>,
    /// The topic, or a template over the record (`kev-{{ namespace }}`).
    pub topic: String,
    /// The message key, a template over the record; default the event's
    /// uid, so every occurrence of one event lands in one partition, in
    /// order. An empty rendering sends no key.
    #[serde(default)]
    pub key: Option<String>,
    /// `none`, `gzip`, `snappy`, `lz4` or `zstd` (default).
    #[serde(default)]
    pub compression: Compression,
    /// `all` (default), `1` or `0` (`leader`, `none`).
    #[serde(default)]
    pub acks: Acks,
    /// The idempotent producer (default on): a retried produce is written
    /// once. Needs `acks: all`.
    #[serde(default = "yes")]
    pub idempotence: bool,
    /// How long a message may wait to join a batch (librdkafka's
    /// `linger.ms`); default 5ms.
    #[serde(default)]
    pub linger: Option<Span>,
    /// TLS to the brokers.
    #[serde(default)]
    pub tls: Option<KafkaTlsConfig>,
    /// SASL authentication.
    #[serde(default)]
    pub sasl: Option<SaslConfig>,
    /// Records Kafka refuses for good (too large, an invalid topic) are
    /// appended here as `kev/v1` lines.
    #[serde(default)]
    pub dead_letter: Option<crate::sink::webhook::DeadLetterConfig>,
    /// With no progress for this sink in the state file (a lost state file,
    /// a new replica), read the topic's recent records and skip the
    /// occurrences already there. Default on; only for a fixed topic.
    #[serde(default = "yes")]
    pub recover: bool,
    /// Any other librdkafka producer property, as librdkafka spells it;
    /// these win over kev's own.
    #[serde(default)]
    pub librdkafka: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// The compression codec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Compression {
    /// None.
    None,
    /// gzip.
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4.
    Lz4,
    /// Zstandard: the smallest topic, and the fastest end to end in
    /// bench/fleet.sh (less for the broker to write, no more CPU for kev).
    #[default]
    Zstd,
}

impl Compression {
    fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// Which acknowledgement from the brokers counts as written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Acks {
    /// Every in-sync replica.
    #[default]
    All,
    /// The partition leader only.
    Leader,
    /// None: kev cannot know what arrived.
    None,
}

impl<'de> Deserialize<'de> for Acks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Acks, D::Error> {
        let v = serde_norway::Value::deserialize(d)?;
        let text = match &v {
            serde_norway::Value::String(s) => s.clone(),
            serde_norway::Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        match text.as_str() {
            "all" | "-1" => Ok(Acks::All),
            "1" | "leader" => Ok(Acks::Leader),
            "0" | "none" => Ok(Acks::None),
            _ => Err(serde::de::Error::custom(
                "acks: expected `all`, `1` or `0`".to_string(),
            )),
        }
    }
}

impl Acks {
    fn as_str(self) -> &'static str {
        match self {
            Acks::All => "all",
            Acks::Leader => "1",
            Acks::None => "0",
        }
    }
}

/// TLS to the brokers: on when this section is present.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KafkaTlsConfig {
    /// PEM CA certificates (default: the system's).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// A PEM client certificate, for mutual TLS.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// Its PEM private key.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Accept any certificate (a warning says so at start).
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// SASL: a mechanism, a user, and a password from the environment or a
/// file, never inline.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaslConfig {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: String,
    /// The user.
    pub username: String,
    /// The environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The file holding the password (read at start).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

const MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

impl KafkaSinkConfig {
    /// Every problem, as `key: message` (`kev run --check`).
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.brokers.is_empty() {
            problems.push("brokers: name at least one broker as host:port".to_string());
        }
        for b in &self.brokers {
            if !valid_broker(b) {
                problems.push(format!("brokers: `{b}` is not host:port"));
            }
        }
        if let Err(e) = super::Naming::new(&self.topic, self.key.as_deref()) {
            problems.push(e);
        } else if !self.topic.contains("{{") && !super::valid_topic(&self.topic) {
            problems.push(format!(
                "topic: `{}` is not a Kafka topic name (letters, digits, `.`, `_`, `-`; at most 249)",
                self.topic
            ));
        }
        if self.idempotence && self.acks != Acks::All {
            problems.push(
                "acks: the idempotent producer needs `acks: all` (or set `idempotence: false`)"
                    .to_string(),
            );
        }
        if let Some(tls) = &self.tls {
            for (key, path) in [
                ("tls.caFile", &tls.ca_file),
                ("tls.certFile", &tls.cert_file),
                ("tls.keyFile", &tls.key_file),
            ] {
                if let Some(p) = path
                    && let Err(e) = std::fs::metadata(p)
                {
                    problems.push(format!("{key}: cannot read {}: {e}", p.display()));
                }
            }
            if tls.cert_file.is_some() != tls.key_file.is_some() {
                problems.push("tls.certFile: a client certificate needs its keyFile".to_string());
            }
        }
        if let Some(sasl) = &self.sasl {
            if !MECHANISMS.contains(&sasl.mechanism.as_str()) {
                problems.push(format!(
                    "sasl.mechanism: `{}`, expected one of: {}",
                    sasl.mechanism,
                    MECHANISMS.join(", ")
                ));
            }
            if let Err(e) = sasl.password() {
                problems.push(e);
            }
        }
        for key in self.librdkafka.keys() {
            if key.contains("password") || key.contains("secret") {
                problems.push(format!(
                    "librdkafka.{key}: put secrets in sasl.passwordEnv or sasl.passwordFile, not in the configuration"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The librdkafka producer properties: kev's, then `librdkafka`'s.
    pub(crate) fn properties(&self) -> Result<Vec<(String, String)>, String> {
        let mut p: Vec<(String, String)> = vec![
            ("bootstrap.servers".into(), self.brokers.join(",")),
            ("client.id".into(), "kev".into()),
            ("acks".into(), self.acks.as_str().into()),
            ("enable.idempotence".into(), self.idempotence.to_string()),
            ("compression.type".into(), self.compression.as_str().into()),
            (
                "linger.ms".into(),
                self.linger
                    .map_or(5, |s| s.0.as_millis() as u64)
                    .to_string(),
            ),
            // Through an outage, wait (back-pressure) instead of failing:
            // librdkafka retries for as long as it takes.
            ("message.timeout.ms".into(), "0".into()),
            ("queue.buffering.max.messages".into(), "100000".into()),
            ("queue.buffering.max.kbytes".into(), "262144".into()),
        ];
        let tls = self.tls.is_some();
        if let Some(t) = &self.tls {
            if let Some(ca) = &t.ca_file {
                p.push(("ssl.ca.location".into(), ca.display().to_string()));
            }
            if let Some(c) = &t.cert_file {
                p.push(("ssl.certificate.location".into(), c.display().to_string()));
            }
            if let Some(k) = &t.key_file {
                p.push(("ssl.key.location".into(), k.display().to_string()));
            }
            if t.insecure_skip_verify {
                p.push(("enable.ssl.certificate.verification".into(), "false".into()));
                p.push((
                    "ssl.endpoint.identification.algorithm".into(),
                    "none".into(),
                ));
            }
        }
        let protocol = match (&self.sasl, tls) {
            (None, false) => "plaintext",
            (None, true) => "ssl",
            (Some(_), false) => "sasl_plaintext",
            (Some(_), true) => "sasl_ssl",
        };
        p.push(("security.protocol".into(), protocol.into()));
        if let Some(s) = &self.sasl {
            p.push(("sasl.mechanisms".into(), s.mechanism.clone()));
            p.push(("sasl.username".into(), s.username.clone()));
            p.push(("sasl.password".into(), s.password()?));
        }
        for (k, v) in &self.librdkafka {
            p.retain(|(key, _)| key != k);
            p.push((k.clone(), v.clone()));
        }
        Ok(p)
    }
}

impl SaslConfig {
    fn password(&self) -> Result<String, String> {
        match (&self.password_env, &self.password_file) {
            (Some(var), None) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
                Ok(_) => Err(format!(
                    "sasl.passwordEnv: environment variable {var} is empty"
                )),
                Err(_) => Err(format!(
                    "sasl.passwordEnv: environment variable {var} is not set"
                )),
            },
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .map_err(|e| format!("sasl.passwordFile: cannot read {}: {e}", path.display())),
            (Some(_), Some(_)) => {
                Err("sasl.passwordEnv: give passwordEnv or passwordFile, not both".to_string())
            }
            (None, None) => Err("sasl.passwordEnv: give passwordEnv or passwordFile".to_string()),
        }
    }
}

fn valid_broker(b: &str) -> bool {
    match b.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> KafkaSinkConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults_are_the_safe_ones() {
        let c = parse("brokers: [127.0.0.1:9092]\ntopic: kev-events\n");
        c.check().unwrap();
        let p = c.properties().unwrap();
        let get = |k: &str| p.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("acks"), Some("all"));
        assert_eq!(get("enable.idempotence"), Some("true"));
        assert_eq!(get("compression.type"), Some("zstd"));
        assert_eq!(get("message.timeout.ms"), Some("0"));
        assert_eq!(get("security.protocol"), Some("plaintext"));
    }

    #[test]
    fn every_problem_is_named() {
        let c = parse(
            "brokers: [nohost, 'a:0']\ntopic: 'bad topic'\nacks: 1\nsasl: {mechanism: GSSAPI, username: u}\nlibrdkafka: {sasl.password: x}\n",
        );
        let problems = c.check().unwrap_err();
        let text = problems.join("\n");
        for needle in [
            "brokers: `nohost` is not host:port",
            "brokers: `a:0` is not host:port",
            "topic: `bad topic` is not a Kafka topic name",
            "acks: the idempotent producer needs `acks: all`",
            "sasl.mechanism: `GSSAPI`",
            "sasl.passwordEnv: give passwordEnv or passwordFile",
            "librdkafka.sasl.password: put secrets",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
    }

    #[test]
    fn a_topic_template_that_does_not_compile_is_a_problem() {
        let c = parse("brokers: [h:1]\ntopic: 'kev-{{ namespace'\n");
        let text = c.check().unwrap_err().join("\n");
        assert!(text.starts_with("topic: "), "{text}");
    }

    #[test]
    fn tls_and_sasl_pick_the_protocol_and_overrides_win() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let c = parse(&format!(
            "brokers: [h:1]\ntopic: t\ntls: {{insecureSkipVerify: true}}\nsasl: {{mechanism: SCRAM-SHA-512, username: kev, passwordFile: {}}}\nlibrdkafka: {{linger.ms: '50'}}\n",
            pw.display()
        ));
        c.check().unwrap();
        let p = c.properties().unwrap();
        let get = |k: &str| p.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(get("sasl.password"), Some("s3cret"));
        assert_eq!(get("linger.ms"), Some("50"));
        assert_eq!(p.iter().filter(|(k, _)| k == "linger.ms").count(), 1);
    }
}
