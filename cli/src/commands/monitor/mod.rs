//! `mltrack monitor`: the daily monitoring job in one pass, for cron. Each new dated batch of the
//! input is checked against the expectations, scored by the model, saved under `DIR` partitioned by
//! date, compared with the model's reference for data and prediction drift, and logged as one run
//! in `monitoring/<model>`; an alert goes to the webhook when a batch drifts or fails. Batches
//! already processed are skipped (see `state`), so running it again is harmless, and one bad batch
//! never stops the others: every outcome is reported at the end and in the exit status. With
//! `--watch` the same job runs as a service (see `watch`), and alerts can go by mail (see `mail`).

mod batches;
mod expect;
mod mail;
mod process;
mod stable;
mod state;
mod watch;

use super::model_source::{self, ResolvedModel};
use super::reference::{drift_settings, REFERENCE_PROFILE_FILE};
use crate::exit::ExitStatus;
use crate::settings::{MonitorSettings, Webhook};
use anyhow::{bail, Context as _};
use client::rest::TrackingClient;
use drift::Profile;
use indicatif::{ProgressBar, ProgressStyle};
use model_core::indexer::HandleInvalid;
use model_core::scoring::Scorer;
use protocol::monitor::MAIL_ERROR as TAG_MAIL_ERROR;
use state::{Ledger, Processed, Seen};
use std::path::Path;

/// What every batch of one pass shares.
pub(super) struct Context<'a> {
    client: Option<&'a TrackingClient>,
    /// The monitoring experiment's id on the tracking server, for the run's address.
    experiment_id: Option<&'a str>,
    model: &'a ResolvedModel,
    model_name: &'a str,
    rules: &'a [expect::Rule],
    reference: &'a Profile,
    drift: &'a drift::Settings,
    experiment: &'a str,
    out: &'a Path,
}

/// How the pass went, for the last line and the exit status.
#[derive(Default)]
struct Tally {
    new: usize,
    failed: usize,
    drifted: usize,
    already: usize,
    changed: usize,
}

/// A pass (or, with `--watch`, every poll's passes): the shared context, the record of processed
/// batches, where alerts go, and the running tally.
struct Job<'a> {
    ctx: Context<'a>,
    ledger: Ledger,
    webhook: Option<&'a Webhook>,
    mailer: Option<mail::Mailer>,
    tally: Tally,
}

pub(crate) fn run(s: &MonitorSettings) -> anyhow::Result<ExitStatus> {
    let discovered = if s.watch.is_some() {
        if !s.input.is_dir() {
            bail!(
                "with `--watch`, `--input` is a folder that batches land in (`{}` is not one)",
                s.input.display()
            );
        }
        None
    } else {
        Some(discover(s)?)
    };
    let explicit = s.expect.as_deref().map(expect::load).transpose()?;
    let client = s
        .tracking_uri
        .as_deref()
        .map(TrackingClient::new)
        .transpose()?;
    let model = model_source::resolve(&s.model, client.as_ref(), &s.model_cache)?;
    let model_name = model.name.clone().unwrap_or_else(|| {
        model
            .dir
            .file_name()
            .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned())
    });
    let drift = drift::Settings {
        multivariate: s.multivariate.clone(),
        ..drift_settings(&model.pipeline)
    };
    let reference = load_reference(s, &model, &drift)?;
    // `--expect` wins; else the expectations `train` learned and saved with the model, if any.
    let learned = model.dir.join(super::reference::EXPECTATIONS_FILE);
    let rules = match explicit {
        Some(rules) => rules,
        None if learned.is_file() => {
            let rules = expect::load(&learned)?;
            tracing::info!(
                "{} expectations learned at train time (`{}`)",
                rules.len(),
                learned.display()
            );
            rules
        }
        None => Vec::new(),
    };
    std::fs::create_dir_all(&s.out)
        .with_context(|| format!("cannot create `{}`", s.out.display()))?;
    let experiment = s
        .experiment
        .clone()
        .unwrap_or_else(|| protocol::monitor::experiment_name(&model_name));
    let experiment_id = client
        .as_ref()
        .map(|c| {
            let id = c.get_or_create_experiment(&experiment)?;
            // The monitoring page finds a registered model's experiment by this tag.
            if let Some(name) = &model.name {
                c.set_experiment_tag(&id, protocol::monitor::EXPERIMENT_MODEL, name)?;
            }
            Ok::<_, client::rest::ClientError>(id)
        })
        .transpose()
        .with_context(|| {
            let url = client.as_ref().map(|c| c.base_url().to_string());
            format!(
                "cannot use experiment `{experiment}` on {}",
                url.unwrap_or_default()
            )
        })?;
    let ledger = match (&client, &experiment_id) {
        (Some(c), Some(id)) => Ledger::Tracking {
            client: c.clone(),
            experiment_id: id.clone(),
        },
        _ => Ledger::local(&s.out)?,
    };
    let mut job = Job {
        ctx: Context {
            client: client.as_ref(),
            experiment_id: experiment_id.as_deref(),
            model: &model,
            model_name: &model_name,
            rules: &rules,
            reference: &reference,
            drift: &drift,
            experiment: &experiment,
            out: &s.out,
        },
        ledger,
        webhook: s.webhook.as_ref(),
        mailer: s.mail.as_ref().map(mail::Mailer::new).transpose()?,
        tally: Tally::default(),
    };
    match (discovered, s.watch) {
        (Some(batches), _) => one_pass(&mut job, &batches)?,
        (None, Some(interval)) => watch::run(&mut job, &s.input, interval)?,
        (None, None) => unreachable!("batches are discovered unless watching"),
    }
    let tally = &job.tally;
    println!(
        "{} new batch{} ({} failed, {} with drift), {} already processed, {} changed since processed",
        tally.new,
        if tally.new == 1 { "" } else { "es" },
        tally.failed,
        tally.drifted,
        tally.already,
        tally.changed
    );
    Ok(if tally.drifted > 0 {
        ExitStatus::DriftDetected
    } else if tally.failed > 0 || tally.changed > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// The batches of a single pass, checked before anything is loaded, with the ignored entries named.
fn discover(s: &MonitorSettings) -> anyhow::Result<Vec<batches::Batch>> {
    let (batches, ignored) = batches::discover(&s.input, s.date.as_deref())?;
    if let Some(b) = batches.iter().find(|b| !batches::valid_date(&b.date)) {
        bail!(
            "`{}` is not a day of the calendar (batch `{}`)",
            b.date,
            b.name
        );
    }
    for why in ignored {
        eprintln!("warning: {why}");
    }
    Ok(batches)
}

/// One pass over `batches`, with a progress bar.
fn one_pass(job: &mut Job<'_>, batches: &[batches::Batch]) -> anyhow::Result<()> {
    let bar = ProgressBar::new(batches.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} batches [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let say = |line: String| bar.suspend(|| println!("{line}"));
    let warn = |line: String| bar.suspend(|| eprintln!("{line}"));
    for batch in batches {
        bar.set_message(batch.name.clone());
        job.batch(batch, &say, &warn)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

impl Job<'_> {
    /// One batch: skipped when already processed, else processed, alerted on and recorded. Only
    /// a failure of the record itself is an error; the batch's own failures are in the tally.
    fn batch(
        &mut self,
        batch: &batches::Batch,
        say: &dyn Fn(String),
        warn: &dyn Fn(String),
    ) -> anyhow::Result<()> {
        let tally = &mut self.tally;
        let sha = match batches::sha256(&batch.path) {
            Ok(sha) => sha,
            Err(e) => {
                warn(format!("error: batch `{}`: {e:#}", batch.name));
                tally.failed += 1;
                return Ok(());
            }
        };
        match self.ledger.seen(&batch.name, &sha)? {
            Seen::Same => tally.already += 1,
            Seen::Changed(old) => {
                warn(format!(
                    "warning: batch `{}` changed since it was processed (sha256 {} then, {} now): not scored again",
                    batch.name, &old[..old.len().min(12)], &sha[..12]
                ));
                tally.changed += 1;
            }
            Seen::New => {
                let ctx = &self.ctx;
                let done = process::batch(ctx, batch, &sha);
                tally.new += 1;
                tally.failed += usize::from(done.error.is_some());
                tally.drifted += usize::from(done.drifted());
                say(line(batch, &done));
                if process::alerting(&done) {
                    if let Some(hook) = self.webhook {
                        let body = process::alert_json(ctx, batch, &done).to_string();
                        if let Err(e) = super::webhook::post_json(&hook.url, &body, hook.retries) {
                            warn(format!("warning: webhook `{}` failed: {e:#}", hook.url));
                        }
                    }
                    if let Some(mailer) = &self.mailer {
                        let (subject, body) =
                            mail::compose(&process::alert_mail(ctx, batch, &done));
                        if let Err(e) = mailer.send(&subject, &body) {
                            let e = format!("{e:#}");
                            warn(format!(
                                "warning: alert mail for batch `{}` failed: {e}",
                                batch.name
                            ));
                            if let (Some(c), Some(run)) = (ctx.client, &done.run_id) {
                                if let Err(t) = c.set_tag(run, TAG_MAIL_ERROR, &e) {
                                    warn(format!("warning: cannot tag run {run}: {t:#}"));
                                }
                            }
                        }
                    }
                }
                self.ledger.record(
                    &batch.name,
                    Processed {
                        date: batch.date.clone(),
                        sha256: sha,
                        status: if done.error.is_some() {
                            "FAILED"
                        } else {
                            "FINISHED"
                        }
                        .into(),
                        run_id: done.run_id.clone(),
                    },
                )?;
            }
        }
        Ok(())
    }
}

/// The reference: `--reference` (a profile, or data that the model scores), else the profile saved
/// with the model by `train`.
fn load_reference(
    s: &MonitorSettings,
    model: &ResolvedModel,
    settings: &drift::Settings,
) -> anyhow::Result<Profile> {
    let path = if let Some(p) = &s.reference {
        p.clone()
    } else {
        let saved = model.dir.join(REFERENCE_PROFILE_FILE);
        if !saved.is_file() {
            bail!(
                "model `{}` has no {REFERENCE_PROFILE_FILE} (a Spark model, or trained before mltrack saved one): pass `--reference` with data or a profile",
                model.uri
            );
        }
        saved
    };
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the reference `{}`", path.display()))?;
        return Ok(Profile::from_json(&text, &path)?);
    }
    let mut scorer = Scorer::new(&model.pipeline, HandleInvalid::Skip);
    let frame = table_reader::read_table(&path, scorer.string_columns())?;
    let mut columns: Vec<String> = scorer.feature_columns().to_vec();
    columns.push(model_core::scoring::PREDICTION.into());
    let frame = if frame.schema().contains(model_core::scoring::PREDICTION) {
        frame
    } else {
        scorer.check_schema(frame.schema(), &path)?;
        scorer.score(&frame)?.scored
    };
    let frame = frame
        .select(columns.iter().map(String::as_str))
        .with_context(|| format!("reference `{}`", path.display()))?;
    Ok(Profile::build(
        &drift::io::from_frame(&frame, &path)?,
        settings,
    )?)
}

/// The batch's line of the report.
fn line(batch: &batches::Batch, done: &process::Done) -> String {
    let run = done
        .run_id
        .as_ref()
        .map(|id| format!(" [run {id}]"))
        .unwrap_or_default();
    if let Some(error) = &done.error {
        return format!("{} {}: FAILED: {error}{run}", batch.date, batch.name);
    }
    let (scored, skipped) = done
        .counts
        .as_ref()
        .map_or((0, 0), |c| (c.scored, c.skipped));
    let drift = match &done.report {
        None => "no rows to compare".to_string(),
        Some(r) => format!(
            "drift {} ({} of {} columns, share {:.3}), prediction drift score {}",
            if r.alert() {
                "DETECTED"
            } else {
                "not detected"
            },
            r.dataset.number_of_drifted_columns,
            r.dataset.number_of_columns,
            r.dataset.share_of_drifted_columns,
            r.prediction
                .as_ref()
                .map_or("n/a".into(), |p| format!("{:.4}", p.drift_score))
        ),
    };
    format!(
        "{} {}: {} rows, {scored} scored, {skipped} skipped, {} quarantined; {drift}{run}",
        batch.date, batch.name, done.rows_in, done.quarantined
    )
}
