//! `mltrack gc`'s settings.

use crate::cli::GcArgs;
use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;
use tracking_server::ops::gc::GcOptions;

#[derive(Debug)]
pub struct GcSettings {
    pub backend_store_uri: String,
    pub artifacts_destination: PathBuf,
    pub options: GcOptions,
}

impl GcSettings {
    /// A bad `--older-than` stays a failure of the command (exit 1), as it always was.
    pub fn resolve(args: GcArgs) -> anyhow::Result<Self> {
        let older_than = match &args.older_than {
            Some(s) => parse_age(s).with_context(|| format!("invalid --older-than `{s}`"))?,
            None => Duration::ZERO,
        };
        Ok(GcSettings {
            backend_store_uri: args.backend_store_uri,
            artifacts_destination: args.artifacts_destination,
            options: GcOptions {
                older_than,
                run_ids: args.run_ids,
                experiment_ids: args.experiment_ids,
            },
        })
    }
}

/// `mlflow gc`'s `#d#h#m#s` format: any of the units, in that order, each at most once.
pub(super) fn parse_age(s: &str) -> anyhow::Result<Duration> {
    let mut total = 0u64;
    let mut rest = s.trim();
    let mut last_unit = 0;
    anyhow::ensure!(
        !rest.is_empty(),
        "expected a duration such as `30d` or `1d2h`"
    );
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        anyhow::ensure!(digits > 0, "expected a number before each unit");
        let n: u64 = rest[..digits].parse()?;
        let unit = rest[digits..].chars().next();
        let (rank, secs) = match unit {
            Some('d') => (1, 86_400),
            Some('h') => (2, 3_600),
            Some('m') => (3, 60),
            Some('s') => (4, 1),
            _ => anyhow::bail!("units are d, h, m and s, in that order"),
        };
        anyhow::ensure!(rank > last_unit, "units are d, h, m and s, in that order");
        last_unit = rank;
        total = n
            .checked_mul(secs)
            .and_then(|v| total.checked_add(v))
            .context("duration too long")?;
        rest = &rest[digits + 1..];
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::parse_age;

    #[test]
    fn ages_use_mlflow_gc_units() {
        assert_eq!(parse_age("30d").unwrap().as_secs(), 30 * 86_400);
        assert_eq!(parse_age("1d2h3m4s").unwrap().as_secs(), 93_784);
        assert_eq!(parse_age("90s").unwrap().as_secs(), 90);
        for bad in ["", "d", "5", "1h1d", "1x", "1h1h", "-1d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
