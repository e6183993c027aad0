-- Outgoing webhooks. Endpoints: events as a comma-separated list, the
-- secret sealed under the keyring. The delivery log: one row per attempt,
-- listed per endpoint newest first and purged by age. The queue: one row
-- per event and endpoint, due from `due_at` (a claim moves it forward and
-- counts the attempt), as the mail queue.
CREATE TABLE webhooks (
    id            UUID PRIMARY KEY,
    url           TEXT NOT NULL,
    events        TEXT NOT NULL,
    secret        TEXT NOT NULL,
    description   TEXT,
    enabled       BOOLEAN NOT NULL,
    failing_since TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE TABLE webhook_attempts (
    endpoint_id UUID NOT NULL,
    event_id    UUID NOT NULL,
    event_type  TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    status      INTEGER,
    error       TEXT,
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (endpoint_id, event_id, attempt)
);
CREATE INDEX ix_webhook_attempts_endpoint ON webhook_attempts (endpoint_id, at DESC);
CREATE INDEX ix_webhook_attempts_at ON webhook_attempts (at);
CREATE TABLE webhook_queue (
    id          UUID PRIMARY KEY,
    endpoint_id UUID NOT NULL,
    event_id    UUID NOT NULL,
    event_type  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    attempts    BIGINT NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX ix_webhook_queue_due ON webhook_queue (due_at);
