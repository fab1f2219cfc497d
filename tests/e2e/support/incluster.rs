//! [`InCluster`]: kev run as a pod runs it, with *in-cluster configuration*
//! from a service-account token of the real control plane.
//!
//! What kev reads in a pod: with no `--kubeconfig`, no `$KUBECONFIG` and no
//! `~/.kube/config`, kev calls `kube::Config::incluster()`, which
//! (kube-client 5, `src/config/incluster_config.rs`) takes
//!
//! - `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`, both required:
//!   the apiserver is `https://HOST:PORT`, and its serving certificate is
//!   verified against HOST (no `tls_server_name`), so HOST must be a name
//!   or IP the certificate has. control-plane.sh's has `IP:127.0.0.1`;
//! - three files at a fixed path, [`SERVICE_ACCOUNT_DIR`]: `token` (sent as
//!   `Bearer <token>` exactly as read, so without the trailing newline
//!   kubectl prints, as the kubelet writes it; reread at least once a
//!   minute), `ca.crt` (the CA that signed the serving certificate) and
//!   `namespace`.
//!
//! The path is fixed, so kev runs in a private mount namespace (`unshare
//! --mount --propagation private`) where a tmpfs covers `/var/run` and a
//! temporary directory holding the three files is bind-mounted at the
//! path. Nothing changes outside that namespace, not even an empty
//! directory, and a service account the machine itself has (a CI runner in
//! a pod) is hidden from kev. As root that is all it takes; otherwise a
//! user namespace maps the user to root first (`--user --map-root-user`).
//! [`InCluster::new`] proves the mounts work before any test relies on
//! them, and fails saying what is missing if they do not: a test that
//! needs this never passes, or skips, without it.
//!
//! The token comes from `kubectl create token` (the TokenRequest API: the
//! apiserver signs it with `--service-account-signing-key-file`, no
//! controller-manager involved), a bound token like the kubelet's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Run, TestEnv};

/// Where a pod's service-account token, CA and namespace are mounted, and
/// where kube-client looks for them.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Mounts the service-account files and runs the program: `sh -c SCRIPT
/// sh DIR PROGRAM ARGS...`.
const SANDBOX: &str = r#"
dir=$1; shift
mount -t tmpfs kev-e2e-run /var/run
mkdir -p /var/run/secrets/kubernetes.io/serviceaccount
mount --bind "$dir" /var/run/secrets/kubernetes.io/serviceaccount
exec "$@"
"#;

/// A service account's credentials as a pod sees them, and the apiserver
/// address the kubelet would put in the environment; see the module docs.
pub struct InCluster {
    /// Holds `token`, `ca.crt` and `namespace`.
    dir: tempfile::TempDir,
    unshare: PathBuf,
    host: String,
    port: u16,
    home: PathBuf,
}

impl InCluster {
    /// Credentials of `service_account` in `namespace` (which must exist),
    /// for kev run with `t`'s empty HOME. Panics, saying why, if a process
    /// cannot be given them at [`SERVICE_ACCOUNT_DIR`] here.
    pub fn new(t: &TestEnv, namespace: &str, service_account: &str) -> InCluster {
        let unshare = [
            "/usr/bin/unshare",
            "/bin/unshare",
            "/usr/sbin/unshare",
            "/sbin/unshare",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "unshare (util-linux) is not installed: the in-cluster tests run kev in a \
                     private mount namespace with a service-account token at {SERVICE_ACCOUNT_DIR}"
            )
        });
        let token =
            Run::ok(
                t.kubectl()
                    .args(["create", "token", service_account, "-n", namespace]),
            );
        let token = token.trim();
        assert!(!token.is_empty(), "kubectl create token printed nothing");
        let dir = tempfile::tempdir().expect("temp dir for the service-account files");
        std::fs::write(dir.path().join("token"), token).expect("write token");
        std::fs::copy(t.cp.ca_cert(), dir.path().join("ca.crt"))
            .unwrap_or_else(|e| panic!("copy {}: {e}", t.cp.ca_cert().display()));
        std::fs::write(dir.path().join("namespace"), namespace).expect("write namespace");
        // The tmpfs over /var/run would hide the directory itself.
        let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        assert!(
            !canonical(dir.path()).starts_with(canonical(Path::new("/var/run"))),
            "the temp dir {} is under /var/run, which the sandbox covers: set TMPDIR elsewhere",
            dir.path().display()
        );
        let addr = t.cp.apiserver_addr();
        let sandbox = InCluster {
            dir,
            unshare,
            host: addr.ip().to_string(),
            port: addr.port(),
            home: t.home.path().to_path_buf(),
        };
        sandbox.preflight(namespace);
        sandbox
    }

    /// Run `cat SERVICE_ACCOUNT_DIR/namespace` in the sandbox: it must print
    /// `namespace`, or the sandbox does not work here.
    fn preflight(&self, namespace: &str) {
        let mut cmd = self.command("cat", &[format!("{SERVICE_ACCOUNT_DIR}/namespace")]);
        let run = Run::of(&mut cmd);
        assert!(
            run.code == Some(0) && run.stdout == namespace,
            "cannot run a process that sees {} at {SERVICE_ACCOUNT_DIR} in a private mount \
             namespace, which the in-cluster tests need (root, or unprivileged user namespaces, \
             and util-linux's unshare and mount): {cmd:?} exited {:?}\nstdout: {:?}\nstderr:\n{}",
            self.dir.path().display(),
            run.code,
            run.stdout,
            run.stderr
        );
    }

    /// `kev ARGS` as in a pod: the service-account files at
    /// [`SERVICE_ACCOUNT_DIR`], `KUBERNETES_SERVICE_HOST`/`_PORT` naming the
    /// apiserver, HOME empty, no KUBECONFIG, nothing else in the environment.
    pub fn kev<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        self.command(env!("CARGO_BIN_EXE_kev"), args)
    }

    /// `KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT`, as kev's URL for
    /// the apiserver: `https://127.0.0.1:PORT`.
    pub fn server_url(&self) -> String {
        format!("https://{}:{}", self.host, self.port)
    }

    fn command<S: AsRef<std::ffi::OsStr>>(&self, program: &str, args: &[S]) -> Command {
        let mut cmd = Command::new(&self.unshare);
        cmd.env_clear()
            .env("HOME", &self.home)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("KUBERNETES_SERVICE_HOST", &self.host)
            .env("KUBERNETES_SERVICE_PORT", self.port.to_string())
            .stdin(Stdio::null());
        // SAFETY: geteuid(2) takes no arguments and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            cmd.args(["--user", "--map-root-user"]);
        }
        cmd.args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-euc",
            SANDBOX,
            "sh",
        ])
        .arg(self.dir.path())
        .arg(program)
        .args(args);
        cmd
    }
}
