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
            Kubeconfig::read_from(path).map_err(|e| ConnectError::KubeconfigUnreadable {
                path: path.display().to_string(),
                source: e,
            })?
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
            Kubeconfig::read()
                .map_err(|e| ConnectError::KubeconfigUnreadable { path, source: e })?
        }
    };
    Ok(kc.contexts.into_iter().map(|c| c.name).collect())
}

/// Build a client from `--kubeconfig`, `$KUBECONFIG`, `~/.kube/config` or the
/// in-cluster service account, in that order, as kubectl does.
pub async fn connect(opts: &ClusterOptions) -> Result<Cluster, ConnectError> {
    let kube_opts = KubeConfigOptions {
        context: opts.context.clone(),
        cluster: None,
        user: None,
    };
    let env = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty());
    let home = default_kubeconfig_path();
    let config = if let Some(path) = &opts.kubeconfig {
        let kc = Kubeconfig::read_from(path).map_err(|e| ConnectError::KubeconfigUnreadable {
            path: path.display().to_string(),
            source: e,
        })?;
        from_kubeconfig(kc, &kube_opts).await?
    } else if env.is_some() || home.as_ref().is_some_and(|p| p.exists()) {
        let path = env
            .map(|v| v.to_string_lossy().into_owned())
            .or_else(|| home.as_ref().map(|p| p.display().to_string()))
            .unwrap_or_default();
        let kc = Kubeconfig::read()
            .map_err(|e| ConnectError::KubeconfigUnreadable { path, source: e })?;
        from_kubeconfig(kc, &kube_opts).await?
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
    let client = kube::Client::try_from(config).map_err(ConnectError::Client)?;
    Ok(Cluster {
        client,
        default_namespace,
        url: url.trim_end_matches('/').to_string(),
    })
}

async fn from_kubeconfig(
    kc: Kubeconfig,
    opts: &KubeConfigOptions,
) -> Result<kube::Config, ConnectError> {
    if let Some(ctx) = &opts.context
        && !kc.contexts.iter().any(|c| &c.name == ctx)
    {
        let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(ConnectError::UnknownContext {
            context: ctx.clone(),
            known: known.join(", "),
        });
    }
    kube::Config::from_custom_kubeconfig(kc, opts)
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
