//! `kev completions SHELL` and `kev man`: generated from the flag definitions.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::Failure;
use crate::output::stdout::print_bytes;

/// Print a completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    // Generate into memory: the generators panic on a write error, and
    // `kev completions bash | head` must exit 0 quietly.
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kev", &mut buf);
    print_bytes(&buf).map_err(Failure::runtime)
}

/// Print the man page (roff).
pub fn man() -> Result<(), Failure> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(Failure::runtime)?;
    print_bytes(&buf).map_err(Failure::runtime)
}
