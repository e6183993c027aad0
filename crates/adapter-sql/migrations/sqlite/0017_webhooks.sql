-- Outgoing webhooks. Endpoints: events as a comma-separated list, the
-- secret sealed under the keyring. The delivery log: one row per attempt,
-- listed per endpoint newest first and purged by age. The queue: one row
-- per event and endpoint, due from `due_at` (a claim moves it forward and
-- counts the attempt), as the mail queue.
CREATE TABLE webhooks (
    id            BLOB PRIMARY KEY,
    url           TEXT NOT NULL,
    events        TEXT NOT NULL,
    secret        TEXT NOT NULL,
    description   TEXT,
    enabled       INTEGER NOT NULL,
    failing_since INTEGER,
    created_at    INTEGER NOT NULL
);
CREATE TABLE webhook_attempts (
    endpoint_id BLOB NOT NULL,
    event_id    BLOB NOT NULL,
    event_type  TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    status      INTEGER,
    error       TEXT,
    at          INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, event_id, attempt)
);
CREATE INDEX ix_webhook_attempts_endpoint ON webhook_attempts (endpoint_id, at DESC);
CREATE INDEX ix_webhook_attempts_at ON webhook_attempts (at);
CREATE TABLE webhook_queue (
    id          BLOB PRIMARY KEY,
    endpoint_id BLOB NOT NULL,
    event_id    BLOB NOT NULL,
    event_type  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX ix_webhook_queue_due ON webhook_queue (due_at);
