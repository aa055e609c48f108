//! `mltrack monitor`'s settings.

use super::drift::Webhook;
use super::environment::Environment;
use crate::cli::MonitorArgs;
use crate::exit::UsageError;
use std::path::PathBuf;
use std::time::Duration;

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
    /// With `--watch`: the time between polls.
    pub watch: Option<Duration>,
    pub mail: Option<Mail>,
    /// `--multivariate-threshold`, `--no-multivariate`.
    pub multivariate: ::drift::options::Multivariate,
}

/// Where and to whom alert mails go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub server: SmtpServer,
    /// From the variable `--smtp-password-env` names, when the URL has a user.
    pub password: Option<String>,
    /// `None`: `mltrack@<hostname>`, found when the first mail is built.
    pub from: Option<String>,
    pub to: Vec<String>,
}

/// `smtp://[user@]host[:port]` or `smtps://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    /// `smtps`: TLS from the first byte; `smtp`: STARTTLS when the server offers it.
    pub implicit_tls: bool,
    pub user: Option<String>,
    pub host: String,
    pub port: u16,
}

/// The default time between polls: a daily batch is late by a minute at most.
const DEFAULT_INTERVAL: Duration = Duration::from_mins(1);

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
        let usage = |message: String| anyhow::Error::from(UsageError::new(COMMAND, message));
        let watch = if args.watch {
            let text = args.interval.as_deref();
            Some(match text {
                None => DEFAULT_INTERVAL,
                Some(t) => parse_interval(t)
                    .map_err(|e| usage(format!("invalid value `{t}` for `--interval`: {e}")))?,
            })
        } else {
            None
        };
        let mail = match args.smtp_url {
            None => None,
            Some(url) => {
                let server = parse_smtp_url(&url)
                    .map_err(|e| usage(format!("invalid value `{url}` for `--smtp-url`: {e}")))?;
                let password = server
                    .user
                    .as_ref()
                    .map(|_| env.named_var(&args.smtp_password_env))
                    .transpose()
                    .map_err(|e| usage(format!("`--smtp-url` names a user: {e:#}")))?;
                Some(Mail {
                    server,
                    password,
                    from: args.mail_from,
                    to: args.mail_to,
                })
            }
        };
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
            watch,
            mail,
            multivariate: super::drift::multivariate(&args.multivariate),
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

/// `30s`, `5m`, `1h` or a bare number of seconds; at least a second, so that a poll is never a busy
/// loop.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| "expected a number and a unit, as `30s`, `5m` or `1h`".to_string())?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("unknown unit `{unit}` (s, m or h)")),
    };
    if seconds == 0 {
        return Err("the interval is at least 1s".into());
    }
    Ok(Duration::from_secs(seconds))
}

/// The server of `--smtp-url`; the port defaults to 465 for `smtps` and 587 for `smtp`. A password
/// in the URL is refused: it would show in the process list, so it comes from the environment.
fn parse_smtp_url(url: &str) -> Result<SmtpServer, String> {
    let (implicit_tls, rest) = if let Some(rest) = url.strip_prefix("smtps://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("smtp://") {
        (false, rest)
    } else {
        return Err("expected smtp://host:port or smtps://user@host:port".into());
    };
    let rest = rest.trim_end_matches('/');
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((user, hostport)) => {
            if user.contains(':') {
                return Err(
                    "put the password in the variable `--smtp-password-env` names, not in the URL"
                        .into(),
                );
            }
            (Some(user.to_string()), hostport)
        }
        None => (None, rest),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .map_err(|_| format!("`{port}` is not a port"))?,
        ),
        None => (hostport, if implicit_tls { 465 } else { 587 }),
    };
    if host.is_empty() || host.contains('/') {
        return Err("no host".into());
    }
    Ok(SmtpServer {
        implicit_tls,
        user: user.filter(|u| !u.is_empty()),
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_take_seconds_minutes_and_hours() {
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("5m"), Ok(Duration::from_mins(5)));
        assert_eq!(parse_interval("1h"), Ok(Duration::from_hours(1)));
        assert_eq!(parse_interval("45"), Ok(Duration::from_secs(45)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("5d").unwrap_err().contains("`d`"));
        assert!(parse_interval("m").is_err());
        assert!(parse_interval("").is_err());
    }

    #[test]
    fn smtp_urls_name_the_tls_mode_user_and_port() {
        assert_eq!(
            parse_smtp_url("smtp://127.0.0.1:2525"),
            Ok(SmtpServer {
                implicit_tls: false,
                user: None,
                host: "127.0.0.1".into(),
                port: 2525
            })
        );
        let s = parse_smtp_url("smtps://alerts@mail.example.com").unwrap();
        assert!(s.implicit_tls);
        assert_eq!(
            (s.user.as_deref(), s.host.as_str(), s.port),
            (Some("alerts"), "mail.example.com", 465)
        );
        assert!(parse_smtp_url("smtp://u:secret@h:25")
            .unwrap_err()
            .contains("--smtp-password-env"));
        assert!(parse_smtp_url("http://h:25").is_err());
        assert!(parse_smtp_url("smtp://h:port").is_err());
        assert!(parse_smtp_url("smtp://:25").is_err());
    }
}
