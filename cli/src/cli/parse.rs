//! Flag values checked where clap parses them, so a bad value is a usage error (exit 2) that names
//! the flag, not a failure deep in the command.

use std::time::Duration;
use tracking_server::config::Regex;

/// Counts that cannot be zero: refused at the flag (exit 2) rather than deep in the command.
pub(super) fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

pub(super) fn positive_seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| "must be a positive number of seconds".into())
}

/// A ROC AUC threshold, between 0 and 1.
pub(super) fn auc(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|x| (0.0..=1.0).contains(x))
        .ok_or_else(|| "must be a ROC AUC between 0 and 1".into())
}

pub(super) fn regex(s: &str) -> Result<Regex, String> {
    Regex::new(s).map_err(|e| format!("not a valid regular expression: {e}"))
}
