//! kubectl against kev's in-process fake apiserver (kev_testkit). It lives
//! in the end-to-end suite because that is where the control-plane script
//! provides a kubectl built from the same Kubernetes release.

use chrono::Utc;
use kev_testkit::{EventGenerator, FakeApiServer, FakeCluster};

use crate::support::ControlPlane;

/// The real `kubectl events` against kev's fake apiserver: proof that the
/// fake speaks the API well enough for client-go (discovery, protobuf
/// negotiation falling back to JSON, paging) — which the benchmark and the
/// fake-apiserver tests rely on.
#[test]
fn kubectl_events_against_the_fake() {
    let kubectl = ControlPlane::get().kubectl.clone();
    // Without the generator's odd events: kubectl prints a message's control
    // characters and newlines as they are, which would break the line count.
    let events = EventGenerator::new(5, Utc::now())
        .odd_events(false)
        .generate(1200);
    let pod = events
        .iter()
        .find(|e| e["involvedObject"]["kind"] == "Pod")
        .unwrap()["involvedObject"]
        .clone();
    let server = FakeApiServer::start_blocking(FakeCluster::new().with_events(events));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let all = run(&["events", "-A"]);
    assert_eq!(all.lines().count(), 1201);
    let pages = server.requests().iter().filter(|r| r.is_list()).count();
    assert_eq!(pages, 3, "kubectl pages by 500");

    let ns = pod["namespace"].as_str().unwrap();
    let name = pod["name"].as_str().unwrap();
    let one = run(&["events", "-n", ns, "--for", &format!("pod/{name}")]);
    assert!(one.lines().count() >= 2, "{one}");
    assert!(
        one.lines()
            .skip(1)
            .all(|l| l.contains(&format!("Pod/{name}"))),
        "{one}"
    );
}
