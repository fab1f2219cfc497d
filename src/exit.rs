//! Exit codes (a contract): 0 success, 1 runtime failure, 2 usage or configuration error.

use std::fmt;

/// Success.
pub const SUCCESS: u8 = 0;
/// A runtime failure: unreachable server, permission denied, malformed input seen.
pub const FAILURE: u8 = 1;
/// A usage or configuration error: bad flag, filter typo, broken kubeconfig.
pub const USAGE: u8 = 2;

/// An error with the exit code it should end the process with.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What went wrong, with context.
    pub error: anyhow::Error,
}

impl Failure {
    /// A usage or configuration error (exit 2).
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: USAGE,
            error: error.into(),
        }
    }

    /// A runtime failure (exit 1).
    pub fn runtime(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: FAILURE,
            error: error.into(),
        }
    }
}

impl fmt::Display for Failure {
    /// The error and its causes, `: `-separated, each cause shown only if
    /// the text before does not already say it (library errors often
    /// repeat their source in their own message). The first message may
    /// span lines (a filter error's caret); causes are kept to one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.error.to_string();
        for cause in self.error.chain().skip(1) {
            let raw = cause.to_string();
            // A parser's snippet (`--> <input>:5:4` and the lines under it)
            // stays on its own lines, where its caret points.
            let snippet = raw.lines().any(|l| l.trim_start().starts_with("--> "));
            let m = if snippet {
                raw.trim_end().to_string()
            } else {
                raw.replace('\n', " ")
            };
            if !text.contains(&m) {
                text.push_str(if snippet { ":\n" } else { ": " });
                text.push_str(&m);
            }
        }
        f.write_str(&text)
    }
}
