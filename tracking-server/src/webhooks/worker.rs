//! The delivery worker: claims due deliveries from the store and sends them, up to
//! `--webhook-workers` at once.
//!
//! Retry policy: an attempt that gets no answer (connection refused, timeout, DNS) or a 408, 429 or
//! 5xx is tried again after 1 s, 2 s, 4 s, … (capped by `--webhook-max-backoff`, a `Retry-After`
//! honoured up to that cap) until `--webhook-max-retries` retries have failed; then the delivery is
//! FAILED. Any other answer ends it: < 400 DELIVERED, another 4xx FAILED (the receiver refused it;
//! MLflow does not retry those either). A delivery is at least once: a server that dies between
//! the receiver's answer and recording it sends it again, with the same `X-MLflow-Delivery-Id`.
//!
//! Deliveries are not ordered: up to `--webhook-workers` are in flight at once.

use super::Webhooks;
use crate::store::webhooks::{AttemptResult, ClaimedDelivery, DeliveryState, WebhookStatus};
use protocol::tags::now_ms as now_millis;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// With nothing due, how often to look for deliveries another server queued or gave back.
const IDLE_POLL: Duration = Duration::from_secs(5);
/// How long past the request timeout a claim lasts before another worker may take the delivery.
const CLAIM_MARGIN: Duration = Duration::from_secs(10);
/// Finished deliveries are kept this long for `GET …/deliveries`, then pruned.
const KEEP_FINISHED: Duration = Duration::from_hours(168);
const PRUNE_EVERY: Duration = Duration::from_hours(1);

/// A running worker; [`WorkerHandle::stop`] ends it and gives back what it had claimed.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl Webhooks {
    /// Starts delivering in the background.
    pub fn start_worker(self: &Arc<Self>) -> WorkerHandle {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(self.clone().run(stopped));
        WorkerHandle { stop, task }
    }

    async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let mut inflight: JoinSet<()> = JoinSet::new();
        let mut batch: u64 = 0;
        let mut last_prune: Option<tokio::time::Instant> = None;
        let mut store_down = false;
        loop {
            if *stopped.borrow() {
                break;
            }
            while inflight.try_join_next().is_some() {}
            if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(tokio::time::Instant::now());
                let before = now_millis() - millis(KEEP_FINISHED);
                if let Ok(n @ 1..) = self.store.prune_deliveries(before).await {
                    tracing::debug!(deliveries = n, "pruned finished webhook deliveries");
                }
            }
            let mut wait = IDLE_POLL;
            let free = self.config.workers.saturating_sub(inflight.len());
            if free > 0 {
                match self.claim(&mut batch, free).await {
                    Ok((claimed, next_due)) => {
                        if store_down {
                            tracing::info!("webhook delivery queue reachable again");
                            store_down = false;
                        }
                        let got = claimed.len();
                        for (claim, delivery) in claimed {
                            inflight.spawn(self.clone().attempt(claim, delivery));
                        }
                        wait = match next_due {
                            // Everything due was taken elsewhere (another server's claim in
                            // progress): look again shortly.
                            Some(due) if got == 0 && due <= now_millis() => {
                                Duration::from_millis(100)
                            }
                            Some(due) => {
                                let ms = u64::try_from(due - now_millis()).unwrap_or(0);
                                Duration::from_millis(ms).min(IDLE_POLL)
                            }
                            None => IDLE_POLL,
                        };
                    }
                    Err(e) => {
                        if !store_down {
                            tracing::warn!(error = %e.message, "cannot read the webhook delivery queue");
                            store_down = true;
                        }
                        wait = Duration::from_secs(1);
                    }
                }
            }
            tokio::select! {
                _ = stopped.changed() => break,
                () = self.wake.notified() => {}
                Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        inflight.abort_all();
        while inflight.join_next().await.is_some() {}
        if let Err(e) = self.store.release_claims(&self.owner, now_millis()).await {
            tracing::warn!(
                error = %crate::error::ApiError::from(e).message,
                "could not give back claimed webhook deliveries; they fall due again when their claims expire"
            );
        }
    }

    /// Claims what is due (if anything is) and says when the next delivery falls due.
    #[allow(clippy::type_complexity)]
    async fn claim(
        &self,
        batch: &mut u64,
        free: usize,
    ) -> Result<(Vec<(String, ClaimedDelivery)>, Option<i64>), crate::error::ApiError> {
        let now = now_millis();
        let due = self.store.next_delivery_due().await?;
        if due.is_none_or(|d| d > now) {
            return Ok((Vec::new(), due));
        }
        *batch += 1;
        let claim = format!("{}/{batch}", self.owner);
        let deadline = now + millis(self.config.timeout + CLAIM_MARGIN);
        let limit = u64::try_from(free).unwrap_or(u64::MAX);
        let claimed = self
            .store
            .claim_deliveries(&claim, now, deadline, limit)
            .await?;
        let next = if claimed.is_empty() { due } else { Some(now) };
        Ok((
            claimed.into_iter().map(|d| (claim.clone(), d)).collect(),
            next,
        ))
    }

    /// One attempt of one delivery, and its record.
    async fn attempt(self: Arc<Self>, claim: String, d: ClaimedDelivery) {
        let result = self.try_once(&d).await;
        match result.state {
            DeliveryState::Delivered => tracing::debug!(
                webhook_id = %d.webhook_id, delivery_id = %d.delivery_id, event = %d.event_name,
                attempts = d.attempts, "webhook delivered"
            ),
            DeliveryState::Pending => tracing::debug!(
                webhook_id = %d.webhook_id, delivery_id = %d.delivery_id, event = %d.event_name,
                attempts = d.attempts, status = result.http_status,
                error = result.error.as_deref().unwrap_or(""), "webhook delivery will be retried"
            ),
            DeliveryState::Failed => tracing::warn!(
                webhook_id = %d.webhook_id, delivery_id = %d.delivery_id, event = %d.event_name,
                attempts = d.attempts, status = result.http_status,
                error = result.error.as_deref().unwrap_or(""), "webhook delivery failed"
            ),
        }
        if let Err(e) = self
            .store
            .finish_attempt(&claim, &d.delivery_id, result)
            .await
        {
            // The claim expires and the delivery is tried again: at least once, never lost.
            tracing::warn!(
                delivery_id = %d.delivery_id,
                error = %crate::error::ApiError::from(e).message,
                "could not record a webhook delivery attempt"
            );
        }
    }

    async fn try_once(&self, d: &ClaimedDelivery) -> AttemptResult {
        let finished = |state, http_status: Option<u16>, error: Option<String>| AttemptResult {
            state,
            next_attempt_at: now_millis(),
            http_status: http_status.map(i64::from),
            error,
        };
        if d.status != WebhookStatus::Active {
            return finished(
                DeliveryState::Failed,
                None,
                Some("the webhook was disabled before this delivery was sent".into()),
            );
        }
        let secret = match self.open_secret(d.secret_token.as_deref()) {
            Ok(s) => s,
            // Perhaps the server was started with the wrong key: retrying after a restart with the
            // right one still delivers.
            Err(e) => return self.retry_or_fail(d, None, e, None),
        };
        let sent = super::send::post(
            &self.http,
            &self.policy,
            &d.url,
            &d.payload,
            &d.delivery_id,
            secret.as_deref(),
        )
        .await;
        match sent {
            Ok(answer) if answer.status < 400 => {
                finished(DeliveryState::Delivered, Some(answer.status), None)
            }
            Ok(answer) if answer.retryable() => self.retry_or_fail(
                d,
                Some(answer.status),
                format!("the receiver answered {}", answer.status),
                answer.retry_after,
            ),
            Ok(answer) => finished(
                DeliveryState::Failed,
                Some(answer.status),
                Some(format!("the receiver answered {}", answer.status)),
            ),
            Err(super::send::SendError::Refused(e)) => {
                finished(DeliveryState::Failed, None, Some(e.message))
            }
            Err(e) => self.retry_or_fail(d, None, e.message(), None),
        }
    }

    fn retry_or_fail(
        &self,
        d: &ClaimedDelivery,
        http_status: Option<u16>,
        error: String,
        retry_after: Option<Duration>,
    ) -> AttemptResult {
        let retries_left = d.attempts <= i64::from(self.config.max_retries);
        if retries_left {
            let wait = self.backoff(d.attempts, retry_after);
            AttemptResult {
                state: DeliveryState::Pending,
                next_attempt_at: now_millis() + millis(wait),
                http_status: http_status.map(i64::from),
                error: Some(error),
            }
        } else {
            AttemptResult {
                state: DeliveryState::Failed,
                next_attempt_at: now_millis(),
                http_status: http_status.map(i64::from),
                error: Some(format!("gave up after {} attempts: {error}", d.attempts)),
            }
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
