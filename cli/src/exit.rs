//! How `mltrack` ends. Scripts and CI jobs branch on the status (a drift gate must tell "drift
//! found" from "the job broke", and a typo in a flag from both), so each outcome has its own code
//! and they are documented in `mltrack --help` (and README.md).

use std::fmt;
use std::process::ExitCode;

/// The process exit status; the numbers are a public contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    Success = 0,
    /// The command ran and failed: unreadable input, an unreachable server, a failed upload.
    Failure = 1,
    /// The command line was wrong: clap's own errors and ours about flags.
    Usage = 2,
    /// `mltrack drift --fail-on-drift` or `mltrack monitor` found dataset or prediction drift.
    DriftDetected = 3,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

/// The `Exit status:` section of `mltrack --help`, written out so that it is a `&'static str`
/// (clap wants one); a test checks it against the enum.
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success
  1  the command failed (bad input data, unreachable server, …)
  2  usage error: unknown flag, missing or invalid value
  3  drift detected (`mltrack drift --fail-on-drift`, `mltrack monitor`)";

/// A mistake in the command line that clap cannot see (it spans flags, or needs the file system),
/// reported as clap reports its own: exit 2 and the subcommand's usage.
#[derive(Debug)]
pub struct UsageError {
    /// The subcommand path, e.g. `["score"]`, so the usage line shown is that command's.
    pub command: &'static [&'static str],
    pub message: String,
}

impl UsageError {
    pub fn new(command: &'static [&'static str], message: impl Into<String>) -> Self {
        UsageError {
            command,
            message: message.into(),
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_text_lists_every_status_with_its_code() {
        let statuses = [
            ExitStatus::Success,
            ExitStatus::Failure,
            ExitStatus::Usage,
            ExitStatus::DriftDetected,
        ];
        let lines: Vec<&str> = EXIT_STATUS_HELP.lines().skip(1).collect();
        assert_eq!(lines.len(), statuses.len());
        for (status, line) in statuses.iter().zip(lines) {
            assert!(
                line.starts_with(&format!("  {}  ", status.code())),
                "{line}"
            );
        }
    }
}
