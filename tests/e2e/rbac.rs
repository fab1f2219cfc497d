//! RBAC: `ns-reader` may get/list/watch events only in `kev-e2e-allowed`;
//! `nobody` may do nothing. A refusal is exit 1 with one line on stderr that
//! names the verb and the resource, and nothing on stdout.

use crate::support::events::{ago, base_time};
use crate::support::{Ev, Obj, Run, TestEnv, occ, one_line, records};

/// The namespace control-plane.sh grants `ns-reader` (shared by runs).
const ALLOWED: &str = "kev-e2e-allowed";

/// Run kev as `user` and expect a permission error about `list` on events.
fn assert_refused(t: &TestEnv, user: &str, args: &[&str], scope: &str) {
    let run = Run::of(t.kev_as(user).args(args));
    assert_eq!(run.code, Some(1), "{user} kev {args:?}: exit 1\n{run:?}");
    assert_eq!(run.stdout, "", "{user} kev {args:?}: nothing on stdout");
    let line = one_line(&run.stderr);
    assert!(
        line.starts_with("error: permission denied")
            && line.contains("\"list\"")
            && line.contains("\"events\""),
        "{user} kev {args:?}: names the verb and the resource: {line}"
    );
    assert!(
        line.contains(scope),
        "{user} kev {args:?}: names {scope:?}: {line}"
    );
}

#[test]
fn namespace_reader_reads_its_namespace_only() {
    let t = TestEnv::shared("rbac-reader");
    let base = base_time();
    let name = t.unique("rbac");
    let ev = t.admin.create(
        ALLOWED,
        &Ev::core(&name, &Obj::pod("p")).legacy(1, ago(base, 20), ago(base, 20)),
    );

    let run = Run::of(t.kev_as("ns-reader").args(["-n", ALLOWED, "-o", "ndjson"]));
    assert_eq!(run.code, Some(0), "{run:?}");
    let got = records(&run.stdout);
    assert!(
        got.iter().all(|r| r["namespace"] == ALLOWED),
        "{}",
        run.stdout
    );
    assert_eq!(
        got.iter().filter(|r| occ(r) == ev.occ()).count(),
        1,
        "our event, once: {}",
        run.stdout
    );
    let table = Run::ok(t.kev_as("ns-reader").args(["-n", ALLOWED]));
    assert!(
        table
            .lines()
            .any(|l| l.contains(&format!("core event {name}"))),
        "{table}"
    );

    assert_refused(&t, "ns-reader", &["-A"], "all namespaces");
    assert_refused(&t, "ns-reader", &["-A", "-w"], "all namespaces");
    assert_refused(
        &t,
        "ns-reader",
        &["-A", "--watch-only", "-o", "ndjson"],
        "all namespaces",
    );
    assert_refused(&t, "ns-reader", &["-n", "default"], "\"default\"");
}

#[test]
fn user_without_permissions_is_refused() {
    let t = TestEnv::shared("rbac-nobody");
    assert_refused(&t, "nobody", &["-n", ALLOWED], &format!("{ALLOWED:?}"));
    assert_refused(
        &t,
        "nobody",
        &["-n", ALLOWED, "-w"],
        &format!("{ALLOWED:?}"),
    );
    assert_refused(&t, "nobody", &["-A"], "all namespaces");
    assert_refused(&t, "nobody", &["-A", "-o", "ndjson"], "all namespaces");
}
