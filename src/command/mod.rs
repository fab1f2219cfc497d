//! The commands: each turns resolved settings into a pipeline and runs it.
//!
//! `main` parses the command line and calls [`run`], which resolves the
//! settings ([`crate::config`]), installs the signal handling every command
//! shares, and dispatches to one thin module per subcommand. Commands do not
//! call each other.
//!
//! Signals: the first SIGINT or SIGTERM cancels the run's stop token — the
//! source stops, the pipeline drains, the sinks flush and the state file is
//! written — and kev exits 0; a second one exits at once with 130.

mod docs;
mod replay;
mod run;
mod tail;
mod top;

use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command};
use crate::config::{ReplaySettings, TailSettings, TopSettings};
use crate::exit::Failure;

/// Run the parsed command line.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Some(Command::Completions { shell }) => docs::completions(*shell),
        Some(Command::Man) => docs::man(),
        Some(Command::Run(args)) => run::run(args, stop_on_signals()).await,
        Some(Command::Replay(args)) => {
            let settings = ReplaySettings::from_args(args).map_err(Failure::usage)?;
            replay::run(settings, stop_on_signals()).await
        }
        Some(Command::Top(args)) => {
            let settings = TopSettings::from_args(args).map_err(Failure::usage)?;
            top::run(settings, stop_on_signals()).await
        }
        None => {
            let settings = TailSettings::from_cli(&cli).map_err(Failure::usage)?;
            tail::run(settings, stop_on_signals()).await
        }
    }
}

/// A stop token cancelled by the first SIGINT or SIGTERM; the second exits
/// the process with 130.
fn stop_on_signals() -> CancellationToken {
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        signal().await;
        tracing::debug!("stopping: draining the pipeline and writing the state file");
        token.cancel();
        signal().await;
        std::process::exit(130);
    });
    stop
}

/// The next SIGINT or SIGTERM.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
