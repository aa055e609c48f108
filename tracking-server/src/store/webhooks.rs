//! Registry webhooks and their delivery queue: what the webhook routes and the delivery worker need.
//!
//! Secrets cross this boundary only as ciphertext (`secret_token`); the store never sees one in the
//! clear. Deliveries are claimed by moving their due time past the attempt's deadline under a claim
//! token, so several servers on one PostgreSQL database never send the same delivery at once, and a
//! server that dies mid-attempt leaves rows that fall due again by themselves.

use super::{Page, StoreResult};
use crate::webhooks::events::Event;
use async_trait::async_trait;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    Active,
    Disabled,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Disabled => "DISABLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ACTIVE" => Some(Self::Active),
            "DISABLED" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// A webhook as stored. Not serialisable on purpose: answers are built field by field, without the
/// secret.
#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub webhook_id: String,
    pub name: String,
    pub description: Option<String>,
    pub url: String,
    /// Ordered by (entity, action), as MLflow's store returns them.
    pub events: Vec<Event>,
    pub status: WebhookStatus,
    /// The Fernet token of the signing secret.
    pub secret_token: Option<String>,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub name: String,
    pub description: Option<String>,
    pub url: String,
    pub events: Vec<Event>,
    pub status: WebhookStatus,
    pub secret_token: Option<String>,
}

/// `None` leaves a field as it is (MLflow cannot clear a description or a secret either).
#[derive(Debug, Clone, Default)]
pub struct WebhookUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub events: Option<Vec<Event>>,
    pub status: Option<WebhookStatus>,
    pub secret_token: Option<String>,
}

/// One delivery to queue: the body is fixed now, the signature is made at each attempt.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub delivery_id: String,
    pub webhook_id: String,
    pub event: Event,
    pub payload: String,
}

/// A delivery claimed for one attempt, with what the attempt needs from its webhook.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery_id: String,
    pub webhook_id: String,
    pub event_name: String,
    pub payload: String,
    /// Counting this one.
    pub attempts: i64,
    pub url: String,
    pub status: WebhookStatus,
    pub secret_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Delivered => "DELIVERED",
            Self::Failed => "FAILED",
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub state: DeliveryState,
    /// When to try again (`Pending` only).
    pub next_attempt_at: i64,
    pub http_status: Option<i64>,
    pub error: Option<String>,
}

/// A delivery as an operator sees it (`GET …/webhooks/{id}/deliveries`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryRecord {
    pub delivery_id: String,
    pub event: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_response_status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub creation_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_timestamp: Option<i64>,
}

#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    async fn create_webhook(&self, webhook: NewWebhook) -> StoreResult<WebhookRecord>;
    /// `RESOURCE_DOES_NOT_EXIST` with MLflow's message for an unknown id.
    async fn get_webhook(&self, webhook_id: &str) -> StoreResult<WebhookRecord>;
    /// Newest first.
    async fn list_webhooks(
        &self,
        max_results: u64,
        offset: u64,
    ) -> StoreResult<Page<WebhookRecord>>;
    async fn update_webhook(
        &self,
        webhook_id: &str,
        update: WebhookUpdate,
    ) -> StoreResult<WebhookRecord>;
    /// Removes the webhook with its pending deliveries.
    async fn delete_webhook(&self, webhook_id: &str) -> StoreResult<()>;

    /// Active webhooks subscribed to any of `events`: (webhook id, the event it subscribed to).
    async fn subscribers(&self, events: &[Event]) -> StoreResult<Vec<(String, Event)>>;
    async fn enqueue_deliveries(&self, deliveries: &[NewDelivery]) -> StoreResult<()>;
    /// The earliest time a pending delivery falls due, if any is pending.
    async fn next_delivery_due(&self) -> StoreResult<Option<i64>>;
    /// Claims up to `limit` deliveries due at `now` for one attempt each, until `deadline`.
    async fn claim_deliveries(
        &self,
        claim: &str,
        now: i64,
        deadline: i64,
        limit: u64,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Records an attempt's end; ignored when the claim was lost (the deadline passed and another
    /// worker took the delivery).
    async fn finish_attempt(
        &self,
        claim: &str,
        delivery_id: &str,
        result: AttemptResult,
    ) -> StoreResult<()>;
    /// Gives back interrupted claims whose token starts with `owner` (shutdown): due at `now`, and
    /// the interrupted attempt does not count.
    async fn release_claims(&self, owner: &str, now: i64) -> StoreResult<()>;
    /// Deletes finished deliveries older than `before`; returns how many.
    async fn prune_deliveries(&self, before: i64) -> StoreResult<u64>;
    /// A webhook's deliveries, newest first.
    async fn list_deliveries(
        &self,
        webhook_id: &str,
        max_results: u64,
        offset: u64,
    ) -> StoreResult<Page<DeliveryRecord>>;
}
