//! `mltrack monitor`'s settings.

use super::drift::Webhook;
use super::environment::Environment;
use crate::cli::MonitorArgs;
use crate::exit::UsageError;
use std::path::PathBuf;

const COMMAND: &[&str] = &["monitor"];

#[derive(Debug)]
pub struct MonitorSettings {
    /// The model as the user gave it (URI or directory).
    pub model: String,
    pub input: PathBuf,
    pub out: PathBuf,
    pub expect: Option<PathBuf>,
    pub reference: Option<PathBuf>,
    /// `YYYY-MM-DD`, checked.
    pub date: Option<String>,
    pub experiment: Option<String>,
    pub webhook: Option<Webhook>,
    pub tracking_uri: Option<String>,
    pub model_cache: PathBuf,
}

impl MonitorSettings {
    pub fn resolve(args: MonitorArgs, env: &Environment) -> anyhow::Result<Self> {
        if let Some(date) = &args.date {
            if !is_date(date) {
                return Err(UsageError::new(
                    COMMAND,
                    format!("invalid value `{date}` for `--date`: expected a day as YYYY-MM-DD"),
                )
                .into());
            }
        }
        if args.model.starts_with("runs:/") {
            return Err(UsageError::new(
                COMMAND,
                "`--model` takes models:/NAME/STAGE, models:/NAME@ALIAS, models:/NAME/VERSION or a model directory",
            )
            .into());
        }
        Ok(MonitorSettings {
            model: args.model,
            input: args.input,
            out: args.out,
            expect: args.expect,
            reference: args.reference,
            date: args.date,
            experiment: args.experiment,
            webhook: args.webhook.map(|url| Webhook {
                url,
                retries: args.webhook_retries,
            }),
            tracking_uri: env.tracking_uri(args.tracking_uri),
            model_cache: env.model_cache(args.model_cache),
        })
    }
}

/// `YYYY-MM-DD` with digits in place; whether it is a calendar day is checked with the batches.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}
