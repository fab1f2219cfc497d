//! End-to-end tests against a real kube-apiserver and etcd (see docs/testing.md).

#[test]
fn control_plane_is_up() {
    assert!(
        std::env::var_os("KEV_CP_DIR").is_some(),
        "no control plane: run `scripts/e2e.sh`, or `eval \"$(scripts/control-plane.sh up && scripts/control-plane.sh env)\"` first"
    );
}
