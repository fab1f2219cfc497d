//! Shared support for integration tests: running the real `kev` binary.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

/// The result of running kev.
#[derive(Debug)]
pub struct Run {
    /// Exit code (None if killed by a signal).
    pub code: Option<i32>,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
}

/// A `kev` command with a clean environment: no ambient kubeconfig, no colour
/// settings, HOME pointed somewhere empty, so tests see only what they set.
pub fn kev(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kev"));
    cmd.env_remove("KUBECONFIG")
        .env_remove("NO_COLOR")
        .env_remove("KEV_LOG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HOME", home)
        .stdin(Stdio::null());
    cmd
}

/// Run to completion, capturing output.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("spawn kev");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
