//! The `kev` binary: parse → run → exit code. Everything else is in the library.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use tracing_subscriber::EnvFilter;

fn init_logging(verbose: u8, format: kev::cli::LogFormat, daemon: bool) {
    let default = match verbose {
        // The daemon says when it starts serving, connects and stops.
        0 if daemon => "kev=info",
        0 => "kev=warn",
        1 => "kev=debug",
        _ => "kev=trace,kube=debug",
    };
    let filter = EnvFilter::try_from_env("KEV_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        kev::cli::LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        kev::cli::LogFormat::Json => logs.json().with_ansi(false).init(),
    }
}

/// Use at most two malloc arenas: glibc's default of one per thread (up to
/// eight per core) fragments a long follow to twice its working set
/// (Cargo.toml says more).
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning parameter; it is called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let args = kev::cli::hoist_global_flags(std::env::args_os().collect());
    let cli = match kev::cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                kev::exit::USAGE
            } else {
                kev::exit::SUCCESS
            });
        }
    };
    let daemon = matches!(cli.command, Some(kev::cli::Command::Run(_)));
    init_logging(cli.verbose, cli.log_format, daemon);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(kev::exit::FAILURE);
        }
    };
    let result = runtime.block_on(kev::command::run(cli));
    // Do not wait for a sink stuck writing to a blocked terminal.
    runtime.shutdown_timeout(std::time::Duration::from_millis(300));
    match result {
        Ok(()) => ExitCode::from(kev::exit::SUCCESS),
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.code)
        }
    }
}
