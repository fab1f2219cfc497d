//! `kev replay`.

use crate::cli::ReplayArgs;
use crate::exit::Failure;

/// Run `kev replay`.
pub async fn run(_args: ReplayArgs) -> Result<(), Failure> {
    Err(Failure::usage(anyhow::anyhow!(
        "kev replay: not available in this build"
    )))
}
