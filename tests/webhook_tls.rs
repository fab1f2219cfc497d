//! The webhook sink's TLS in a process set up as kev's: ring installed as
//! the process-wide rustls provider (as `kev` does at start), a kube client
//! and the webhook's HTTP client side by side. Two providers in one process
//! make kube's client panic at creation; the webhook must neither bring a
//! second one nor depend on which one is the default.
//!
//! Its own test binary, so the installed default is this process's alone.

mod support;

use std::sync::Arc;
use std::time::Duration;

use kev::model::{Event, Occurrence, RecordContext};
use kev::sink::webhook::WebhookSinkConfig;
use kev::sink::{Batch, Delivery, Sink};
use kev_testkit::{FakeApiServer, FakeCluster};
use support::receiver::{Receiver, TestCa};

fn delivery(seq: u64) -> Delivery {
    let event = Event {
        uid: format!("uid-{seq}"),
        resource_version: seq.to_string(),
        name: format!("e.{seq}"),
        reason: Some("BackOff".into()),
        count: 1,
        ..Default::default()
    };
    Delivery {
        seq,
        occurrence: Arc::new(Occurrence::new(event, RecordContext::default())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_client_and_kube_work_with_ring_as_the_installed_default() {
    kev::client::install_crypto_provider();
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_some(),
        "ring is the installed default"
    );

    // kube's client builds (it panics when a second provider is linked and
    // none is the default; with ring installed it must simply work).
    let api = FakeApiServer::start(FakeCluster::new()).await;
    let client = api.kube_client().await.expect("a kube client");
    let version = client
        .apiserver_version()
        .await
        .expect("kube talks to the fake apiserver");
    assert!(!version.git_version.is_empty());

    // The webhook's client builds and speaks TLS to a server with a CA of
    // the test's own.
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("kev test CA").unwrap();
    let receiver = Receiver::start_tls(&ca.issue(&["127.0.0.1"]).unwrap()).await;
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert_pem()).unwrap();
    let mut config = WebhookSinkConfig::new(receiver.url()).timeout(Duration::from_secs(10));
    config.tls.ca_file = Some(ca_file);
    config.check().expect("the config checks");
    let mut sink = config.build("tls").expect("the webhook sink builds");
    sink.send(Batch {
        deliveries: vec![delivery(1), delivery(2)],
        listing: false,
        encoded: None,
    })
    .await
    .unwrap();
    let acked = sink.close().await.unwrap();
    assert_eq!(acked.up_to, Some(2));
    let got = receiver.succeeded();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json().as_array().unwrap().len(), 2);
}

/// No crate in the build may bring rustls's other provider: `aws-lc-rs`
/// (reqwest's `rustls` feature does; kev uses `rustls-no-provider`).
#[test]
fn only_ring_is_linked() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .expect("Cargo.lock");
    for forbidden in ["name = \"aws-lc-rs\"", "name = \"aws-lc-sys\""] {
        assert!(
            !lock.contains(forbidden),
            "{forbidden} is in Cargo.lock: a second rustls crypto provider"
        );
    }
}
