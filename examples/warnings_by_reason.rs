//! Count Warning events by reason across all namespaces, using kev as a library.
//!
//! ```sh
//! cargo run --example warnings_by_reason            # uses $KUBECONFIG / ~/.kube/config
//! cargo run --example warnings_by_reason -- PATH    # an explicit kubeconfig
//! ```

use std::collections::BTreeMap;

use kev::client::{ClusterOptions, connect, install_crypto_provider};
use kev::source::list::{ListOptions, list_events};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    install_crypto_provider();
    let kubeconfig = std::env::args_os().nth(1).map(Into::into);
    let cluster = connect(&ClusterOptions {
        kubeconfig,
        ..ClusterOptions::default()
    })
    .await?;
    let opts = ListOptions {
        namespace: None,
        // Pushed down: the apiserver only sends warnings.
        field_selector: Some("type=Warning".into()),
        page_size: 5000,
        request_timeout: Some(std::time::Duration::from_secs(30)),
        keep_raw: false,
    };
    let mut by_reason: BTreeMap<String, i64> = BTreeMap::new();
    list_events(&cluster.client, &cluster.url, &opts, |page, _objects| {
        for e in page {
            *by_reason.entry(e.reason.unwrap_or_default()).or_default() += e.count;
        }
    })
    .await?;
    for (reason, count) in by_reason {
        println!("{count:>8}  {}", kev::output::escape(&reason));
    }
    Ok(())
}
