//! kubectl's connection flags against the real apiserver (TLS with its own
//! CA, token and client-certificate authentication, impersonation), with
//! no kubeconfig at all, as `kubectl --server … --token …` works.

use std::process::Command;

use crate::support::{Run, TestEnv};

/// Run an openssl command; it must succeed.
fn openssl(cmd: &mut Command) {
    let out = cmd.output().expect("openssl");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The admin's bearer token, from its kubeconfig.
fn admin_token(t: &TestEnv) -> String {
    let text = std::fs::read_to_string(t.cp.kubeconfig("admin")).unwrap();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .expect("a token in admin.kubeconfig")
        .trim()
        .to_string()
}

#[test]
fn server_token_ca_client_certificates_and_impersonation_without_a_kubeconfig() {
    let t = TestEnv::shared("flags");
    let ns = t.namespace("a");
    let certs = tempfile::tempdir().unwrap();
    let server = t.cp.apiserver.clone();
    let ca = t.cp.ca_cert();
    let ca = ca.to_str().unwrap();
    let token = admin_token(&t);
    let n = ["-n", ns.as_str()];

    // --server, --certificate-authority, --token.
    let Run {
        code, stderr: err, ..
    } = Run::of(t.kev_bare().args(n).args([
        "--server",
        &server,
        "--certificate-authority",
        ca,
        "--token",
        &token,
    ]));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("--token") && !err.contains(&token),
        "warned, never printed: {err}"
    );

    // Without the CA the apiserver's certificate is not trusted: a runtime
    // failure that says so; --insecure-skip-tls-verify gets through, warned.
    let Run {
        code, stderr: err, ..
    } = Run::of(
        t.kev_bare()
            .args(n)
            .args(["-s", &server, "--token", &token]),
    );
    assert_eq!(code, Some(1), "an untrusted certificate: {err}");
    assert!(err.contains("error:"), "{err}");
    let Run {
        code, stderr: err, ..
    } = Run::of(t.kev_bare().args(n).args([
        "-s",
        &server,
        "--token",
        &token,
        "--insecure-skip-tls-verify",
    ]));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("certificate is not checked"), "{err}");

    // A client certificate signed by the cluster's CA, in system:masters.
    let pki = t.cp.dir.join("pki");
    let dir = certs.path();
    openssl(
        Command::new("openssl")
            .args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-sha256",
                "-subj",
                "/CN=kev-e2e-flags/O=system:masters",
            ])
            .arg("-keyout")
            .arg(dir.join("client.key"))
            .arg("-out")
            .arg(dir.join("client.csr")),
    );
    // A v3 certificate (webpki takes no other): extensions make it one.
    std::fs::write(
        dir.join("client.ext"),
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    openssl(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "1", "-sha256", "-CAcreateserial"])
            .arg("-extfile")
            .arg(dir.join("client.ext"))
            .arg("-in")
            .arg(dir.join("client.csr"))
            .arg("-CA")
            .arg(pki.join("ca.crt"))
            .arg("-CAkey")
            .arg(pki.join("ca.key"))
            .arg("-CAserial")
            .arg(dir.join("ca.srl"))
            .arg("-out")
            .arg(dir.join("client.crt")),
    );
    let Run {
        code, stderr: err, ..
    } = Run::of(
        t.kev_bare()
            .args(n)
            .args(["-s", &server, "--certificate-authority", ca])
            .arg("--client-certificate")
            .arg(dir.join("client.crt"))
            .arg("--client-key")
            .arg(dir.join("client.key")),
    );
    assert_eq!(code, Some(0), "client certificate: {err}");

    // --as: the admin acting as a user with no rights is refused, naming
    // the verb and resource; kubectl agrees.
    let Run {
        code, stderr: err, ..
    } = Run::of(t.kev().args(n).args(["--as", "kev-e2e-stranger"]));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("permission denied") && err.contains("\"list\"") && err.contains("events"),
        "{err}"
    );
    let kubectl = t
        .kubectl()
        .args(["get", "events", "-n", &ns, "--as", "kev-e2e-stranger"])
        .output()
        .unwrap();
    assert!(!kubectl.status.success(), "kubectl is refused too");
    // And as a member of system:masters it is allowed again.
    Run::ok(
        t.kev()
            .args(n)
            .args(["--as", "kev-e2e-stranger", "--as-group", "system:masters"]),
    );
}
