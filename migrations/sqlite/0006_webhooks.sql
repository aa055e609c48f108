-- Registry webhooks (MLflow 3.3+): subscriptions and the queue of their deliveries.
--
-- `secret` holds a Fernet token (the HMAC signing secret encrypted with the server's key), never the
-- secret itself. A webhook's events are read in key order, (entity, action), as MLflow's SQL store
-- returns them: `test_webhook` without an event uses the first of them.

CREATE TABLE webhooks (
    webhook_id             TEXT    NOT NULL PRIMARY KEY,
    name                   TEXT    NOT NULL,
    description            TEXT,
    url                    TEXT    NOT NULL,
    status                 TEXT    NOT NULL DEFAULT 'ACTIVE',
    secret                 TEXT,
    creation_timestamp     INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL
);
CREATE INDEX webhooks_by_creation ON webhooks (creation_timestamp, webhook_id);

CREATE TABLE webhook_events (
    webhook_id TEXT    NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
    entity     TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    PRIMARY KEY (webhook_id, entity, action)
) WITHOUT ROWID;
CREATE INDEX webhook_events_by_event ON webhook_events (entity, action);

-- One row per (event, subscribed webhook), written when the event happens, so a delivery outlives
-- a receiver outage and a server restart. `status` is PENDING until the receiver answers < 400
-- (DELIVERED) or the retries run out (FAILED). A worker claims a due row by moving `next_attempt_at`
-- past the attempt's timeout and writing its claim token into `claimed_by`: a worker that dies
-- mid-attempt leaves a row that falls due again on its own.
CREATE TABLE webhook_deliveries (
    delivery_id     TEXT    NOT NULL PRIMARY KEY,
    webhook_id      TEXT    NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
    entity          TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    -- The exact JSON body sent, fixed when the event happened (signatures cover these bytes).
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'PENDING',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_by      TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id);
