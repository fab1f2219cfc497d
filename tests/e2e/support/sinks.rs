//! The real servers behind kev's fleet sinks, as `scripts/e2e.sh` starts
//! them: a Kafka broker (`scripts/kafka.sh`) and an OpenTelemetry
//! Collector (`scripts/otel-collector.sh`). What arrived is read back with
//! their own tools, not kev's code: Kafka's ConsoleConsumer, and the
//! collector's file exporter (the collector decoded kev's OTLP and wrote
//! it out again).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use super::Occ;

fn script(name: &str, args: &[&str]) -> std::process::Output {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name);
    let out = Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{name} {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn required(var: &str, what: &str, script: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "this test needs {what}, and {var} is not set.\n\
             Run the suite with `scripts/e2e.sh` (it starts one), or by hand:\n    \
             scripts/{script} up && eval \"$(scripts/{script} env)\"\nSee docs/testing.md."
        )
    })
}

/// The Kafka broker.
#[derive(Debug)]
pub struct Kafka {
    /// `KEV_KAFKA_BOOTSTRAP`, `127.0.0.1:PORT`.
    pub bootstrap: String,
}

/// One record as Kafka's ConsoleConsumer printed it.
#[derive(Debug, Clone)]
pub struct KafkaRecord {
    pub partition: u32,
    pub offset: u64,
    /// `name:value` pairs.
    pub headers: Vec<(String, String)>,
    pub key: Option<String>,
    pub value: Value,
}

impl KafkaRecord {
    /// The occurrence its value (a kev/v1 record) is.
    pub fn occ(&self) -> Occ {
        super::occ(&self.value)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The broker's SASL_SSL listener (TLS, SASL/PLAIN): what a client needs.
#[derive(Debug)]
pub struct KafkaSecure {
    /// `KEV_KAFKA_SECURE_BOOTSTRAP`, `127.0.0.1:PORT`.
    pub bootstrap: String,
    /// The CA that signed the broker's certificate (PEM).
    pub ca: PathBuf,
    /// The SASL user.
    pub user: String,
    /// A file holding its password.
    pub password_file: PathBuf,
}

impl Kafka {
    /// From the environment `scripts/kafka.sh env` sets.
    pub fn get() -> Kafka {
        Kafka {
            bootstrap: required("KEV_KAFKA_BOOTSTRAP", "a Kafka broker", "kafka.sh"),
        }
    }

    /// The secure listener of the same broker.
    pub fn secure(&self) -> KafkaSecure {
        let var = |v: &str| required(v, "the Kafka broker's SASL_SSL listener", "kafka.sh");
        KafkaSecure {
            bootstrap: var("KEV_KAFKA_SECURE_BOOTSTRAP"),
            ca: PathBuf::from(var("KEV_KAFKA_CA")),
            user: var("KEV_KAFKA_SASL_USER"),
            password_file: PathBuf::from(var("KEV_KAFKA_SASL_PASSWORD_FILE")),
        }
    }

    /// Create `topic` with `partitions`.
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        script(
            "kafka.sh",
            &["create-topic", topic, &partitions.to_string()],
        );
    }

    /// Stop and start the broker (same port, same data).
    pub fn restart(&self) {
        script("kafka.sh", &["restart"]);
    }

    /// Every record of `topic`, from the beginning, by Kafka's own consumer.
    pub fn consume(&self, topic: &str) -> Vec<KafkaRecord> {
        let out = script(
            "kafka.sh",
            &["consume", topic, "--from-beginning", "--timeout-ms", "6000"],
        );
        String::from_utf8(out.stdout)
            .expect("UTF-8 records")
            .lines()
            .map(|line| {
                let f: Vec<&str> = line.splitn(6, '\t').collect();
                assert_eq!(f.len(), 6, "not a ConsoleConsumer line: {line:?}");
                let number = |field: &str, prefix: &str| {
                    field
                        .strip_prefix(prefix)
                        .and_then(|n| n.parse().ok())
                        .unwrap_or_else(|| panic!("{prefix}N expected in {line:?}"))
                };
                let headers = if f[3] == "NO_HEADERS" {
                    Vec::new()
                } else {
                    f[3].split(',')
                        .filter_map(|h| h.split_once(':'))
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect()
                };
                KafkaRecord {
                    partition: number(f[1], "Partition:") as u32,
                    offset: number(f[2], "Offset:"),
                    headers,
                    key: (f[4] != "<null>").then(|| f[4].to_string()),
                    value: serde_json::from_str(f[5])
                        .unwrap_or_else(|e| panic!("value is not JSON ({e}): {line:?}")),
                }
            })
            .collect()
    }
}

/// The OpenTelemetry Collector.
#[derive(Debug)]
pub struct Collector {
    /// `KEV_OTEL_HTTP_ENDPOINT`, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// `KEV_OTEL_OUTPUT`: what its file exporter writes.
    pub output: PathBuf,
}

/// One LogRecord as the collector wrote it out.
#[derive(Debug, Clone)]
pub struct LogRecord {
    /// The resource's attributes.
    pub resource: Vec<(String, Value)>,
    /// The record itself (OTLP JSON).
    pub record: Value,
}

impl LogRecord {
    /// A string attribute of the record.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.record["attributes"]
            .as_array()?
            .iter()
            .find(|a| a["key"] == key)?["value"]["stringValue"]
            .as_str()
    }

    /// The occurrence it stands for: `k8s.event.uid` and
    /// `k8s.event.resource_version`.
    pub fn occ(&self) -> Occ {
        (
            self.attr("k8s.event.uid")
                .expect("k8s.event.uid")
                .to_string(),
            self.attr("k8s.event.resource_version")
                .expect("k8s.event.resource_version")
                .to_string(),
        )
    }
}

impl Collector {
    /// From the environment `scripts/otel-collector.sh env` sets.
    pub fn get() -> Collector {
        let script = "otel-collector.sh";
        Collector {
            endpoint: required(
                "KEV_OTEL_HTTP_ENDPOINT",
                "an OpenTelemetry Collector",
                script,
            ),
            output: required("KEV_OTEL_OUTPUT", "an OpenTelemetry Collector", script).into(),
        }
    }

    /// Stop and start the collector (same ports, same output file).
    pub fn restart(&self) {
        script("otel-collector.sh", &["restart"]);
    }

    /// Every LogRecord written so far (whole lines only: the exporter may
    /// be writing one).
    pub fn records(&self) -> Vec<LogRecord> {
        let text = std::fs::read_to_string(&self.output).unwrap_or_default();
        let whole = match text.rfind('\n') {
            Some(end) => &text[..end],
            None => "",
        };
        let mut out = Vec::new();
        for line in whole.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("the collector wrote a line that is not JSON ({e}): {line:.300}")
            });
            for rl in v["resourceLogs"].as_array().into_iter().flatten() {
                let resource: Vec<(String, Value)> = rl["resource"]["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        (
                            a["key"].as_str().unwrap_or("").to_string(),
                            a["value"].clone(),
                        )
                    })
                    .collect();
                for sl in rl["scopeLogs"].as_array().into_iter().flatten() {
                    for r in sl["logRecords"].as_array().into_iter().flatten() {
                        out.push(LogRecord {
                            resource: resource.clone(),
                            record: r.clone(),
                        });
                    }
                }
            }
        }
        out
    }
}
