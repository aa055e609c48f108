//! The process environment, read once at start. Every variable a command depends on is looked up
//! here and nowhere else, so the precedence (flag, then variable, then default) is written once,
//! and tests can resolve settings from an environment they build instead of the process's.
//!
//! An empty variable counts as unset, as MLflow treats `MLFLOW_TRACKING_URI=` and as shells make it
//! easy to clear a variable that way.

use anyhow::Context;
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use tracking_server::config::env_vars;

/// Where downloaded models are cached.
pub(super) const MODEL_CACHE_ENV: &str = "MLTRACK_MODEL_CACHE";

/// A snapshot of the environment variables and the working directory.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: HashMap<OsString, OsString>,
    cwd: PathBuf,
}

/// How logs are written; see `telemetry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// An `EnvFilter` directive: `MLTRACK_LOG`, else `RUST_LOG`, else mltrack's default.
    pub filter: String,
    /// One JSON object per line (`MLTRACK_LOG_FORMAT=json`), for log collectors.
    pub json: bool,
    /// Colours, unless `NO_COLOR` is set.
    pub ansi: bool,
}

impl Environment {
    pub fn from_process() -> Self {
        Environment {
            vars: std::env::vars_os().collect(),
            cwd: std::env::current_dir().unwrap_or_default(),
        }
    }

    /// An environment made by hand (tests).
    pub fn from_vars<K: Into<OsString>, V: Into<OsString>>(
        vars: impl IntoIterator<Item = (K, V)>,
        cwd: impl Into<PathBuf>,
    ) -> Self {
        Environment {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            cwd: cwd.into(),
        }
    }

    fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars
            .get(OsStr::new(name))
            .map(OsString::as_os_str)
            .filter(|v| !v.is_empty())
    }

    fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(OsStr::to_str)
    }

    /// The tracking server: `--tracking-uri`, else `MLFLOW_TRACKING_URI`; `None` means there is
    /// none, and each command says what it then skips.
    pub fn tracking_uri(&self, flag: Option<String>) -> Option<String> {
        flag.filter(|u| !u.is_empty()).or_else(|| {
            self.get_str(client::rest::TRACKING_URI_ENV)
                .map(str::to_string)
        })
    }

    /// The model cache: `--model-cache`, else `MLTRACK_MODEL_CACHE`, else
    /// `$XDG_CACHE_HOME/mltrack/models`, else `~/.cache/mltrack/models`.
    pub fn model_cache(&self, flag: Option<PathBuf>) -> PathBuf {
        if let Some(dir) = flag.or_else(|| self.get(MODEL_CACHE_ENV).map(PathBuf::from)) {
            return dir;
        }
        let base = self
            .get("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| self.get("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("mltrack").join("models")
    }

    /// The gold data: `--data`, else `MLTRACK_GOLD_DATA`, else
    /// `../shared/data/sf-airbnb-clean.parquet` from the root of the repository holding the
    /// working directory (or from the working directory itself outside one). Resolved here, at
    /// run time: a path baked in at build time would be the build machine's.
    pub fn gold_data(&self, flag: Option<PathBuf>) -> PathBuf {
        flag.or_else(|| {
            self.get(model_core::dataset::GOLD_DATA_ENV)
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| model_core::dataset::default_gold_data_in(&self.cwd))
    }

    /// MLflow's `MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY`, when it holds more than blanks.
    pub fn webhook_secret_key(&self) -> Option<String> {
        self.get_str(env_vars::WEBHOOK_SECRET_ENCRYPTION_KEY)
            .filter(|k| !k.trim().is_empty())
            .map(str::to_string)
    }

    /// A variable the user named on the command line (`--password-env VAR`). Taken as it is:
    /// an empty password is refused by the command with its own message.
    pub fn named_var(&self, name: &str) -> anyhow::Result<String> {
        let value = self
            .vars
            .get(OsStr::new(name))
            .with_context(|| format!("environment variable `{name}` is not set"))?;
        value
            .to_str()
            .map(str::to_string)
            .with_context(|| format!("environment variable `{name}` is not valid UTF-8"))
    }

    /// Logs go to stderr; `MLTRACK_LOG` (or `RUST_LOG`) filters them, `NO_COLOR` turns colours
    /// off, and `MLTRACK_LOG_FORMAT=json` writes JSON lines.
    pub fn log(&self) -> LogSettings {
        LogSettings {
            filter: self
                .get_str("MLTRACK_LOG")
                .or_else(|| self.get_str("RUST_LOG"))
                .unwrap_or("info,sqlx=warn,tower_http=warn")
                .to_string(),
            json: self
                .get_str("MLTRACK_LOG_FORMAT")
                .is_some_and(|f| f.eq_ignore_ascii_case("json")),
            ansi: !self.vars.contains_key(OsStr::new("NO_COLOR")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::from_vars(vars.iter().copied(), "/nonexistent-mltrack/repo/sub")
    }

    #[test]
    fn the_tracking_uri_flag_wins_over_the_variable_and_empty_is_unset() {
        let e = env(&[("MLFLOW_TRACKING_URI", "http://env:5000")]);
        assert_eq!(
            e.tracking_uri(Some("http://flag:1".into())).as_deref(),
            Some("http://flag:1")
        );
        assert_eq!(e.tracking_uri(None).as_deref(), Some("http://env:5000"));
        assert_eq!(
            e.tracking_uri(Some(String::new())).as_deref(),
            Some("http://env:5000")
        );
        assert_eq!(env(&[("MLFLOW_TRACKING_URI", "")]).tracking_uri(None), None);
        assert_eq!(env(&[]).tracking_uri(None), None);
    }

    #[test]
    fn the_model_cache_follows_flag_variable_xdg_then_home() {
        let all = env(&[
            ("MLTRACK_MODEL_CACHE", "/cache"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ]);
        assert_eq!(
            all.model_cache(Some("/flag".into())),
            PathBuf::from("/flag")
        );
        assert_eq!(all.model_cache(None), PathBuf::from("/cache"));
        let xdg = env(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/u")]);
        assert_eq!(xdg.model_cache(None), PathBuf::from("/xdg/mltrack/models"));
        let home = env(&[("XDG_CACHE_HOME", ""), ("HOME", "/home/u")]);
        assert_eq!(
            home.model_cache(None),
            PathBuf::from("/home/u/.cache/mltrack/models")
        );
    }

    #[test]
    fn the_gold_data_is_resolved_from_the_working_directory_not_the_build() {
        let e = env(&[("MLTRACK_GOLD_DATA", "/data/gold.parquet")]);
        assert_eq!(e.gold_data(None), PathBuf::from("/data/gold.parquet"));
        assert_eq!(e.gold_data(Some("x.csv".into())), PathBuf::from("x.csv"));
        let default = env(&[]).gold_data(None);
        assert!(
            default.starts_with("/nonexistent-mltrack/repo/sub"),
            "{}",
            default.display()
        );
        assert!(default.ends_with("shared/data/sf-airbnb-clean.parquet"));
        let build_dir = env!("CARGO_MANIFEST_DIR");
        assert!(!default.to_string_lossy().contains(build_dir));
    }

    #[test]
    fn log_settings_read_mltrack_log_before_rust_log() {
        let e = env(&[
            ("MLTRACK_LOG", "debug"),
            ("RUST_LOG", "warn"),
            ("NO_COLOR", ""),
        ]);
        assert_eq!(
            e.log(),
            LogSettings {
                filter: "debug".into(),
                json: false,
                ansi: false
            }
        );
        let e = env(&[("RUST_LOG", "warn"), ("MLTRACK_LOG_FORMAT", "JSON")]);
        assert_eq!(e.log().filter, "warn");
        assert!(e.log().json && e.log().ansi);
    }

    #[test]
    fn a_named_variable_is_taken_as_it_is() {
        let e = env(&[("PW", "")]);
        assert_eq!(e.named_var("PW").unwrap(), "");
        let err = e.named_var("NOPE").unwrap_err().to_string();
        assert!(err.contains("`NOPE` is not set"), "{err}");
    }
}
