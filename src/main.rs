//! The `kev` binary: parse → run → exit code. Everything else is in the library.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

fn init_logging(verbose: u8, format: kev::cli::LogFormat, daemon: bool, top: bool) {
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
        .with_target(false);
    // kev top owns the terminal: its logs are kept and shown, and go to
    // stderr once the terminal is restored.
    let (logs, ansi) = if top {
        kev::tui::log::capture_reports();
        (
            logs.with_writer(BoxMakeWriter::new(kev::tui::log::Capture::default)),
            false,
        )
    } else {
        (
            logs.with_writer(BoxMakeWriter::new(std::io::stderr)),
            std::io::stderr().is_terminal(),
        )
    };
    match format {
        kev::cli::LogFormat::Text => logs.with_ansi(ansi).init(),
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
    let args =
        kev::cli::hoist_global_flags(kev::cli::kubectl_verbosity(std::env::args_os().collect()));
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
    let top = matches!(cli.command, Some(kev::cli::Command::Top(_)));
    init_logging(cli.verbose, cli.log_format, daemon, top);
    // kev top follows at a person's pace: one thread, without the wakeups
    // between workers that cost it more than the work at 1,000 events/s.
    let runtime = if top {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match { runtime }.enable_all().build() {
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
