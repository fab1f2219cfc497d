//! Connecting to a cluster: kubeconfig (or in-cluster) → `kube::Client`.
//!
//! Every way this can go wrong is a configuration error (exit 2) with one
//! line that names the file, context or variable at fault.

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};
use thiserror::Error;

/// Where to connect.
#[derive(Clone, Debug, Default)]
pub struct ClusterOptions {
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`.
    pub context: Option<String>,
    /// kubectl's flags over what the kubeconfig says (`--server`, `--token`, …).
    pub overrides: Overrides,
}

/// kubectl's global flags that override the kubeconfig's selected cluster
/// and user, applied as kubectl applies them (to the entries the context
/// names, or to `--cluster`/`--user`'s).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `-s/--server`.
    pub server: Option<String>,
    /// `--token` (visible in the process list: kev warns).
    pub token: Option<String>,
    /// `--user`: the kubeconfig user entry to use.
    pub user: Option<String>,
    /// `--cluster`: the kubeconfig cluster entry to use.
    pub cluster: Option<String>,
    /// `--as`.
    pub impersonate: Option<String>,
    /// `--as-group`, repeatable.
    pub impersonate_groups: Vec<String>,
    /// `--certificate-authority`.
    pub certificate_authority: Option<PathBuf>,
    /// `--client-certificate`.
    pub client_certificate: Option<PathBuf>,
    /// `--client-key`.
    pub client_key: Option<PathBuf>,
    /// `--insecure-skip-tls-verify` (kev warns).
    pub insecure_skip_tls_verify: bool,
}

/// The names kev gives the entries it makes when there is no kubeconfig
/// (`kev --server URL --token …`).
const SYNTHETIC: &str = "kev-flags";

impl Overrides {
    fn touches_cluster(&self) -> bool {
        self.server.is_some()
            || self.certificate_authority.is_some()
            || self.insecure_skip_tls_verify
    }

    fn touches_user(&self) -> bool {
        self.token.is_some()
            || self.impersonate.is_some()
            || !self.impersonate_groups.is_empty()
            || self.client_certificate.is_some()
            || self.client_key.is_some()
    }

    /// Apply to `kc` for the context `context` (else the current one);
    /// the options to read it with.
    fn apply(
        &self,
        kc: &mut Kubeconfig,
        context: Option<&str>,
    ) -> Result<KubeConfigOptions, ConnectError> {
        let mut opts = KubeConfigOptions {
            context: context.map(str::to_string),
            cluster: self.cluster.clone(),
            user: self.user.clone(),
        };
        let names = |v: Vec<&str>| v.join(", ");
        if let Some(c) = &self.cluster
            && !kc.clusters.iter().any(|x| &x.name == c)
        {
            return Err(ConnectError::UnknownEntry {
                flag: "--cluster",
                name: c.clone(),
                known: names(kc.clusters.iter().map(|x| x.name.as_str()).collect()),
            });
        }
        if let Some(u) = &self.user
            && !kc.auth_infos.iter().any(|x| &x.name == u)
        {
            return Err(ConnectError::UnknownEntry {
                flag: "--user",
                name: u.clone(),
                known: names(kc.auth_infos.iter().map(|x| x.name.as_str()).collect()),
            });
        }
        let selected = opts.context.clone().or_else(|| kc.current_context.clone());
        let ctx = selected
            .as_ref()
            .and_then(|n| kc.contexts.iter().find(|c| &c.name == n))
            .and_then(|c| c.context.clone());
        if ctx.is_none() && opts.context.is_none() {
            // No context to start from (no kubeconfig, or an empty one):
            // one made of the flags, as `kubectl --server URL` works alone.
            if self.server.is_none() {
                return Ok(opts);
            }
            kc.contexts.push(kube::config::NamedContext {
                name: SYNTHETIC.to_string(),
                context: Some(kube::config::Context {
                    cluster: self
                        .cluster
                        .clone()
                        .unwrap_or_else(|| SYNTHETIC.to_string()),
                    user: Some(self.user.clone().unwrap_or_else(|| SYNTHETIC.to_string())),
                    ..Default::default()
                }),
                other: Default::default(),
            });
            opts.context = Some(SYNTHETIC.to_string());
        }
        let cluster_name = self
            .cluster
            .clone()
            .or_else(|| ctx.as_ref().map(|c| c.cluster.clone()))
            .unwrap_or_else(|| SYNTHETIC.to_string());
        let user_name = self
            .user
            .clone()
            .or_else(|| ctx.as_ref().and_then(|c| c.user.clone()))
            .unwrap_or_else(|| SYNTHETIC.to_string());
        if self.touches_cluster() {
            if !kc.clusters.iter().any(|c| c.name == cluster_name) {
                kc.clusters.push(kube::config::NamedCluster {
                    name: cluster_name.clone(),
                    cluster: Some(Default::default()),
                    other: Default::default(),
                });
            }
            let entry = kc
                .clusters
                .iter_mut()
                .find(|c| c.name == cluster_name)
                .expect("added");
            let c = entry.cluster.get_or_insert_with(Default::default);
            if let Some(server) = &self.server {
                c.server = Some(server.clone());
            }
            if let Some(ca) = &self.certificate_authority {
                c.certificate_authority = Some(ca.display().to_string());
                c.certificate_authority_data = None;
            }
            if self.insecure_skip_tls_verify {
                c.insecure_skip_tls_verify = Some(true);
            }
        }
        if self.touches_user() {
            if !kc.auth_infos.iter().any(|u| u.name == user_name) {
                kc.auth_infos.push(kube::config::NamedAuthInfo {
                    name: user_name.clone(),
                    auth_info: Some(Default::default()),
                    other: Default::default(),
                });
            }
            let entry = kc
                .auth_infos
                .iter_mut()
                .find(|u| u.name == user_name)
                .expect("added");
            let u = entry.auth_info.get_or_insert_with(Default::default);
            if let Some(token) = &self.token {
                // As kubectl: the flag's token is the credential.
                u.token = Some(token.clone().into());
                u.token_file = None;
                u.exec = None;
                u.auth_provider = None;
                u.username = None;
                u.password = None;
            }
            if let Some(cert) = &self.client_certificate {
                u.client_certificate = Some(cert.display().to_string());
                u.client_certificate_data = None;
            }
            if let Some(key) = &self.client_key {
                u.client_key = Some(key.display().to_string());
                u.client_key_data = None;
            }
            if let Some(who) = &self.impersonate {
                u.impersonate = Some(who.clone());
            }
            if !self.impersonate_groups.is_empty() {
                u.impersonate_groups = Some(self.impersonate_groups.clone());
            }
        }
        Ok(opts)
    }
}

/// A connected client and what it needs to know.
#[derive(Clone)]
pub struct Cluster {
    /// The client.
    pub client: kube::Client,
    /// The context's namespace, else `default` (the pod's namespace in-cluster).
    pub default_namespace: String,
    /// The apiserver URL, for messages.
    pub url: String,
}

/// Why a client could not be set up.
#[derive(Debug, Error)]
pub enum ConnectError {
    /// The kubeconfig file could not be read or parsed.
    #[error("cannot load kubeconfig {path}")]
    KubeconfigUnreadable {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The kubeconfig file cannot be read (missing, a directory, no permission).
    #[error("cannot read kubeconfig {path:?}")]
    KubeconfigRead {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The kubeconfig has no such context.
    #[error(
        "invalid kubeconfig (context {context:?}): no such context; the kubeconfig has: {known}"
    )]
    UnknownContext {
        /// The context asked for.
        context: String,
        /// The contexts it has, comma-separated.
        known: String,
    },
    /// The kubeconfig parsed but does not make a usable configuration.
    #[error("invalid kubeconfig{}", context.as_ref().map(|c| format!(" (context {c:?})")).unwrap_or_default())]
    KubeconfigInvalid {
        /// The context asked for, if any.
        context: Option<String>,
        /// Why.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// Nothing to connect with.
    #[error(
        "no kubeconfig found: set KUBECONFIG or pass --kubeconfig (looked for {home}), and not running inside a cluster"
    )]
    NoConfig {
        /// The default path that was tried.
        home: String,
    },
    /// `--cluster` or `--user` names an entry the kubeconfig lacks.
    #[error("invalid kubeconfig: {flag} {name:?}: no such entry; the kubeconfig has: {known}")]
    UnknownEntry {
        /// The flag.
        flag: &'static str,
        /// The name given.
        name: String,
        /// The entries it has.
        known: String,
    },
    /// The kubeconfig's exec credential plugin failed: what it said.
    #[error("the kubeconfig's credential plugin {command} failed ({status}){}", if said.is_empty() { String::new() } else { format!(": {said}") })]
    ExecPlugin {
        /// The plugin's command (without its environment).
        command: String,
        /// `exit status 3`, or the signal.
        status: String,
        /// Its stderr (else stdout), trimmed.
        said: String,
    },
    /// The client could not be built (TLS material, proxy settings).
    #[error("cannot create a Kubernetes client")]
    Client(#[source] kube::Error),
}

/// Flatten an error and its sources into one line.
pub fn one_line(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut src = err.source();
    while let Some(e) = src {
        let m = e.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = e.source();
    }
    s.replace('\n', " ")
}

fn default_kubeconfig_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".kube").join("config"))
}

/// The context names of the kubeconfig `connect` would read (`--all-contexts`),
/// in the file's order.
pub fn context_names(opts: &ClusterOptions) -> Result<Vec<String>, ConnectError> {
    let kc = match &opts.kubeconfig {
        Some(path) => {
            Kubeconfig::read_from(path).map_err(|e| unreadable(path.display().to_string(), e))?
        }
        None => {
            let home = default_kubeconfig_path();
            let env = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty());
            if env.is_none() && !home.as_ref().is_some_and(|p| p.exists()) {
                return Err(ConnectError::NoConfig {
                    home: home
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "~/.kube/config".into()),
                });
            }
            let path = env
                .map(|v| v.to_string_lossy().into_owned())
                .or_else(|| home.as_ref().map(|p| p.display().to_string()))
                .unwrap_or_default();
            Kubeconfig::read().map_err(|e| unreadable(path, e))?
        }
    };
    Ok(kc.contexts.into_iter().map(|c| c.name).collect())
}

/// Build a client from `--kubeconfig`, `$KUBECONFIG`, `~/.kube/config` or the
/// in-cluster service account, in that order, as kubectl does.
pub async fn connect(opts: &ClusterOptions) -> Result<Cluster, ConnectError> {
    let o = &opts.overrides;
    if o.token.is_some() {
        tracing::warn!(
            "--token: the token is visible to other users of this machine in the process list; prefer a kubeconfig user (--user) or a token file in the kubeconfig"
        );
    }
    if o.insecure_skip_tls_verify {
        tracing::warn!(
            "--insecure-skip-tls-verify: the server's certificate is not checked; anyone between kev and the apiserver can read and change what it sends"
        );
    }
    let env = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty());
    let home = default_kubeconfig_path();
    let config = if let Some(path) = &opts.kubeconfig {
        let kc =
            Kubeconfig::read_from(path).map_err(|e| unreadable(path.display().to_string(), e))?;
        from_kubeconfig(kc, opts).await?
    } else if env.is_some() || home.as_ref().is_some_and(|p| p.exists()) {
        let path = env
            .map(|v| v.to_string_lossy().into_owned())
            .or_else(|| home.as_ref().map(|p| p.display().to_string()))
            .unwrap_or_default();
        let kc = Kubeconfig::read().map_err(|e| unreadable(path, e))?;
        from_kubeconfig(kc, opts).await?
    } else if o.server.is_some() {
        // `kev --server URL [--token …]` with no kubeconfig, as kubectl.
        from_kubeconfig(Kubeconfig::default(), opts).await?
    } else {
        kube::Config::incluster().map_err(|_| ConnectError::NoConfig {
            home: home
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "~/.kube/config".into()),
        })?
    };
    // kev retries by itself (honouring Retry-After, and saying so on
    // stderr); kube's own layer would retry 429/503/504 silently for minutes.
    let mut config = config;
    config.default_retry = false;
    let url = config.cluster_url.to_string();
    let default_namespace = config.default_namespace.clone();
    let client = kube::Client::try_from(config).map_err(client_error)?;
    Ok(Cluster {
        client,
        default_namespace,
        url: url.trim_end_matches('/').to_string(),
    })
}

/// A kubeconfig that cannot be read or parsed; a file that is not there
/// named once, quoted (kube's own message repeats the path in Debug form).
fn unreadable(path: String, e: kube::config::KubeconfigError) -> ConnectError {
    match e {
        kube::config::KubeconfigError::ReadConfig(source, p) => ConnectError::KubeconfigRead {
            path: p.display().to_string(),
            source,
        },
        e => ConnectError::KubeconfigUnreadable { path, source: e },
    }
}

/// A client that could not be built; an exec plugin's failure in its own
/// words (kube's message is the plugin's whole `Output` in Debug form).
fn client_error(e: kube::Error) -> ConnectError {
    if let kube::Error::Auth(kube::client::AuthError::AuthExecRun { cmd, out }) = &e {
        // kube writes the command as `ENV="…" "path" "args"`: keep the
        // quoted program and its arguments, not the environment.
        let command = cmd
            .split_whitespace()
            .skip_while(|w| w.contains('='))
            .collect::<Vec<_>>()
            .join(" ");
        let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
        let said = match text(&out.stderr) {
            s if s.is_empty() => text(&out.stdout),
            s => s,
        };
        let status = match out.status.code() {
            Some(c) => format!("exit status {c}"),
            None => "killed by a signal".to_string(),
        };
        return ConnectError::ExecPlugin {
            command: if command.is_empty() {
                cmd.clone()
            } else {
                command
            },
            status,
            said: crate::escape::escape(&said).into_owned(),
        };
    }
    ConnectError::Client(e)
}

async fn from_kubeconfig(
    mut kc: Kubeconfig,
    cluster: &ClusterOptions,
) -> Result<kube::Config, ConnectError> {
    if let Some(ctx) = &cluster.context
        && !kc.contexts.iter().any(|c| &c.name == ctx)
    {
        let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(ConnectError::UnknownContext {
            context: ctx.clone(),
            known: known.join(", "),
        });
    }
    let opts = cluster
        .overrides
        .apply(&mut kc, cluster.context.as_deref())?;
    kube::Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(|e| ConnectError::KubeconfigInvalid {
            context: opts.context.clone(),
            source: e,
        })
}

/// Install ring as the process-wide rustls crypto provider. kube is built
/// with ring; installing it explicitly means a second provider pulled in by
/// another crate can never make client creation ambiguous.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
