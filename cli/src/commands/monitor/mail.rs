//! Alert mails for `mltrack monitor --smtp-url`: the same condition as the webhook (dataset or
//! prediction drift, or a failed `fail` expectation), one plain-text mail per batch, written so
//! that whoever reads it at breakfast knows what drifted, by how much, and which run to open. The
//! message is built from plain values ([`Alert`]) so that its wording is tested without a server;
//! delivery is retried, and a mail that cannot be delivered is the caller's warning, never a lost
//! batch.

use crate::settings::Mail;
use anyhow::Context as _;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};
use std::fmt::Write as _;
use std::time::Duration;

/// Delivery attempts of one mail, with 1 s then 2 s between them: a busy relay gets a second
/// chance, a dead one does not hold the next batch for long.
const ATTEMPTS: u32 = 3;

/// How many unseen values a mail lists; the monitoring page has them all.
const MAILED_UNSEEN: usize = 10;

/// What a mail says about one batch.
#[derive(Debug, Default)]
pub(super) struct Alert {
    pub model: String,
    pub version: Option<String>,
    pub batch: String,
    pub date: String,
    pub dataset_drift: bool,
    /// Drifted columns: name, test, score, threshold.
    pub drifted: Vec<(String, String, f64, f64)>,
    /// The prediction's test, score, threshold, and whether it drifted.
    pub prediction: Option<(String, f64, f64, bool)>,
    /// The domain classifier's verdict, when it ran.
    pub multivariate: Option<Multivariate>,
    pub failures: Vec<String>,
    /// Unseen categories among the skipped rows: column, value, rows; most frequent first.
    pub unseen: Vec<(String, String, usize)>,
    /// Rows quarantined per `drop` rule (rules that quarantined none are left out).
    pub quarantined: Vec<(String, usize)>,
    pub run_id: Option<String>,
    pub run_url: Option<String>,
    /// The model's monitoring page in the web UI.
    pub page_url: Option<String>,
}

/// What the domain classifier found: what univariate tests can miss.
#[derive(Debug)]
pub(super) struct Multivariate {
    pub auc: f64,
    pub threshold: f64,
    pub detected: bool,
    /// The columns it relied on most.
    pub features: Vec<String>,
}

impl Alert {
    fn drifted(&self) -> bool {
        self.dataset_drift
            || self.prediction.as_ref().is_some_and(|p| p.3)
            || self.multivariate.as_ref().is_some_and(|m| m.detected)
    }
}

/// The subject and the plain-text body.
pub(super) fn compose(a: &Alert) -> (String, String) {
    let model = match &a.version {
        Some(v) => format!("{} v{v}", a.model),
        None => a.model.clone(),
    };
    let what = if a.drifted() {
        "drift"
    } else {
        "failed expectation"
    };
    let subject = format!("[mltrack] {what} in {model} on {}", a.date);
    let mut b = String::new();
    let _ = writeln!(b, "Model:  {model}");
    let _ = writeln!(b, "Batch:  {} ({})", a.date, a.batch);
    if let Some(id) = &a.run_id {
        let _ = writeln!(b, "Run:    {id}");
    }
    if let Some(url) = &a.run_url {
        let _ = writeln!(b, "        {url}");
    }
    if let Some(url) = &a.page_url {
        let _ = writeln!(b, "Page:   {url}");
    }
    b.push('\n');
    if !a.failures.is_empty() {
        let _ = writeln!(b, "Failed expectations (the batch was not scored):");
        for f in &a.failures {
            let _ = writeln!(b, "  - {f}");
        }
        b.push('\n');
    }
    if a.dataset_drift {
        let _ = writeln!(b, "Dataset drift detected.");
    }
    if !a.drifted.is_empty() {
        let _ = writeln!(b, "Drifted columns (score / threshold):");
        for (name, test, score, threshold) in &a.drifted {
            let _ = writeln!(b, "  - {name}: {test} {score:.4} / {threshold}");
        }
    }
    if let Some((test, score, threshold, detected)) = &a.prediction {
        let _ = writeln!(
            b,
            "Prediction drift: {} ({test} {score:.4} / {threshold})",
            if *detected {
                "DETECTED"
            } else {
                "not detected"
            }
        );
    }
    if let Some(m) = &a.multivariate {
        let _ = writeln!(
            b,
            "Multivariate drift: {} (domain classifier ROC AUC {:.3} / {}; relied on {})",
            if m.detected {
                "DETECTED"
            } else {
                "not detected"
            },
            m.auc,
            m.threshold,
            m.features.join(", ")
        );
    }
    if !a.unseen.is_empty() {
        let _ = writeln!(
            b,
            "\nTop unseen values in skipped rows (column, value, rows):"
        );
        for (column, value, n) in a.unseen.iter().take(MAILED_UNSEEN) {
            let _ = writeln!(b, "  - {column}: {value:?} × {n}");
        }
    }
    if !a.quarantined.is_empty() {
        let _ = writeln!(b, "\nQuarantined rows by rule:");
        for (rule, n) in &a.quarantined {
            let _ = writeln!(b, "  - {rule}: {n}");
        }
    }
    (subject, b)
}

/// An SMTP connection's settings and the envelope, ready to send.
pub(super) struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl Mailer {
    pub(super) fn new(mail: &Mail) -> anyhow::Result<Self> {
        let server = &mail.server;
        let params = TlsParameters::new(server.host.clone())
            .with_context(|| format!("TLS settings for `{}`", server.host))?;
        let mut builder = SmtpTransport::builder_dangerous(&server.host)
            .port(server.port)
            .timeout(Some(Duration::from_secs(20)))
            .tls(if server.implicit_tls {
                Tls::Wrapper(params)
            } else {
                Tls::Opportunistic(params)
            });
        if let (Some(user), Some(password)) = (&server.user, &mail.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let from = match &mail.from {
            Some(from) => from.clone(),
            None => format!("mltrack@{}", hostname()),
        };
        let mailbox = |a: &str| -> anyhow::Result<Mailbox> {
            a.parse()
                .with_context(|| format!("`{a}` is not a mail address"))
        };
        Ok(Mailer {
            transport: builder.build(),
            from: mailbox(&from)?,
            to: mail
                .to
                .iter()
                .map(|a| mailbox(a))
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// Sends one mail to every recipient, in up to [`ATTEMPTS`] tries; a permanent refusal (5xx)
    /// ends them at once. The error is the last try's.
    pub(super) fn send(&self, subject: &str, body: &str) -> anyhow::Result<()> {
        let mut message = Message::builder().from(self.from.clone());
        for to in &self.to {
            message = message.to(to.clone());
        }
        let message = message
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())?;
        let mut attempt = 1;
        loop {
            match self.transport.send(&message) {
                Ok(_) => return Ok(()),
                // A 5xx answer (a refused login, an unknown recipient) will not change on retry.
                Err(e) if e.is_permanent() => {
                    return Err(e).with_context(|| format!("refused on attempt {attempt}"))
                }
                Err(e) if attempt >= ATTEMPTS => {
                    return Err(e).with_context(|| format!("after {ATTEMPTS} attempts"))
                }
                Err(_) => {
                    std::thread::sleep(Duration::from_secs(1 << (attempt - 1)));
                    attempt += 1;
                }
            }
        }
    }
}

/// This machine's name, as lettre says it in EHLO; `localhost` when it has none.
fn hostname() -> String {
    match ClientId::default() {
        ClientId::Domain(name) if !name.is_empty() => name,
        _ => "localhost".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drift_mail_names_model_batch_columns_unseen_values_quarantine_and_run() {
        let alert = Alert {
            model: "airbnb-price".into(),
            version: Some("3".into()),
            batch: "2026-12-04.parquet".into(),
            date: "2026-12-04".into(),
            dataset_drift: true,
            drifted: vec![("accommodates".into(), "wasserstein".into(), 1.23456, 0.1)],
            prediction: Some(("wasserstein".into(), 0.5, 0.1, true)),
            multivariate: Some(Multivariate {
                auc: 0.9712,
                threshold: 0.55,
                detected: true,
                features: vec!["accommodates".into(), "beds".into()],
            }),
            unseen: vec![(
                "neighbourhood_cleansed".into(),
                "Treasure Island".into(),
                12,
            )],
            quarantined: vec![("beds_sane".into(), 2)],
            run_id: Some("abc123".into()),
            run_url: Some("http://mlflow/experiments/1/runs/abc123".into()),
            page_url: Some("http://mlflow/models/airbnb-price/monitoring".into()),
            ..Alert::default()
        };
        let (subject, body) = compose(&alert);
        assert_eq!(subject, "[mltrack] drift in airbnb-price v3 on 2026-12-04");
        for part in [
            "Model:  airbnb-price v3",
            "Batch:  2026-12-04 (2026-12-04.parquet)",
            "Run:    abc123",
            "http://mlflow/experiments/1/runs/abc123",
            "Page:   http://mlflow/models/airbnb-price/monitoring",
            "Dataset drift detected.",
            "  - accommodates: wasserstein 1.2346 / 0.1",
            "Prediction drift: DETECTED (wasserstein 0.5000 / 0.1)",
            "Multivariate drift: DETECTED (domain classifier ROC AUC 0.971 / 0.55; relied on accommodates, beds)",
            "  - neighbourhood_cleansed: \"Treasure Island\" × 12",
            "  - beds_sane: 2",
        ] {
            assert!(body.contains(part), "{part:?} missing from:\n{body}");
        }
        assert!(!body.contains("Failed expectations"), "{body}");
    }

    #[test]
    fn a_failed_expectation_mail_says_so_and_skips_empty_sections() {
        let alert = Alert {
            model: "model".into(),
            batch: "b-2026-12-09.csv".into(),
            date: "2026-12-09".into(),
            failures: vec!["bedrooms_not_negative: 1 row below 0".into()],
            ..Alert::default()
        };
        let (subject, body) = compose(&alert);
        assert_eq!(
            subject,
            "[mltrack] failed expectation in model on 2026-12-09"
        );
        assert!(
            body.contains("  - bedrooms_not_negative: 1 row below 0"),
            "{body}"
        );
        for absent in [
            "Run:",
            "Drifted columns",
            "Prediction drift",
            "unseen",
            "Quarantined",
        ] {
            assert!(!body.contains(absent), "{absent:?} in:\n{body}");
        }
    }
}
