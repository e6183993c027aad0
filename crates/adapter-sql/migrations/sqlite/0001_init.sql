-- Portico schema for SQLite. Times are INTEGER microseconds since the Unix
-- epoch (UTC), so they sort and compare exactly; ids are 16-byte BLOB UUIDs,
-- JSON is TEXT and booleans are INTEGER 0/1. Seed references: 003 (users, roles, user_roles,
-- sessions, refresh_tokens, messages and their indexes), 000 (content sessions,
-- notifications with expiry), 004 (candidates, upload requests, payments,
-- request counters). Foreign keys link tables of one port family only: each
-- family may live in another store, so cross-family cascades are done by the
-- domain's account deletion.

CREATE TABLE users (
    id                        BLOB PRIMARY KEY,
    email                     TEXT NOT NULL,
    email_normalized          TEXT NOT NULL,
    username                  TEXT NOT NULL,
    password_hash             TEXT,
    verified                  INTEGER NOT NULL DEFAULT 0,
    locked                    INTEGER NOT NULL DEFAULT 0,
    locked_until              INTEGER,
    failed_logins             INTEGER NOT NULL DEFAULT 0,
    auth_providers            TEXT NOT NULL DEFAULT '[]',
    full_name                 TEXT,
    bio                       TEXT,
    avatar                    TEXT,
    preferences               TEXT NOT NULL DEFAULT '{}',
    active_content_session_id BLOB,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL,
    last_accessed_at          INTEGER,
    CONSTRAINT ix_users_email UNIQUE (email_normalized),
    CONSTRAINT ix_users_username UNIQUE (username)
);
CREATE INDEX ix_users_created ON users (created_at DESC, id DESC);

CREATE TABLE registration_candidates (
    email_normalized TEXT PRIMARY KEY,
    email            TEXT NOT NULL,
    username         TEXT NOT NULL,
    role             TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    token_hash       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    CONSTRAINT ix_candidates_token UNIQUE (token_hash)
);
CREATE INDEX ix_candidates_expires ON registration_candidates (expires_at);

CREATE TABLE auth_sessions (
    id                 BLOB PRIMARY KEY,
    user_id            BLOB NOT NULL,
    token_hash         TEXT NOT NULL,
    device             TEXT,
    ip                 TEXT,
    created_at         INTEGER NOT NULL,
    last_accessed_at   INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    refresh_expires_at INTEGER NOT NULL,
    revoked_at         INTEGER,
    CONSTRAINT ix_sessions_session_token UNIQUE (token_hash)
);
CREATE INDEX ix_sessions_user ON auth_sessions (user_id, created_at DESC);
CREATE INDEX ix_sessions_refresh_expires ON auth_sessions (refresh_expires_at);

CREATE TABLE refresh_tokens (
    id         BLOB PRIMARY KEY,
    session_id BLOB NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL,
    token_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    CONSTRAINT ix_refresh_tokens_token UNIQUE (token_hash)
);
CREATE INDEX ix_refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX ix_refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE one_time_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX ix_one_time_tokens_user ON one_time_tokens (user_id, purpose);
CREATE INDEX ix_one_time_tokens_expires ON one_time_tokens (expires_at);

CREATE TABLE roles (
    name        TEXT PRIMARY KEY,
    description TEXT,
    permissions TEXT NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE user_roles (
    user_id    BLOB NOT NULL,
    role_name  TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, role_name)
);
CREATE INDEX ix_user_roles_role ON user_roles (role_name);

CREATE TABLE content_sessions (
    id               BLOB PRIMARY KEY,
    user_id          BLOB NOT NULL,
    name             TEXT,
    unread_messages  INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    last_accessed_at INTEGER NOT NULL
);
CREATE INDEX ix_content_sessions_user ON content_sessions (user_id, created_at DESC, id DESC);

CREATE TABLE content_session_data (
    content_session_id BLOB NOT NULL REFERENCES content_sessions (id) ON DELETE CASCADE,
    storage_key        TEXT NOT NULL,
    value              TEXT NOT NULL,
    PRIMARY KEY (content_session_id, storage_key)
);

CREATE TABLE messages (
    id                 BLOB PRIMARY KEY,
    content_session_id BLOB NOT NULL REFERENCES content_sessions (id) ON DELETE CASCADE,
    sender_kind        TEXT NOT NULL,
    sender_id          BLOB,
    content            TEXT NOT NULL,
    parent_id          BLOB,
    is_read            INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL
);
CREATE INDEX ix_messages_conversation_id ON messages (content_session_id, created_at DESC, id DESC);
CREATE INDEX ix_messages_sender_id ON messages (sender_id);

CREATE TABLE notifications (
    id                 BLOB PRIMARY KEY,
    user_id            BLOB NOT NULL,
    content_session_id BLOB,
    message_id         BLOB,
    task_id            TEXT,
    kind               TEXT NOT NULL,
    toast_message      TEXT,
    image              TEXT,
    urgency            TEXT NOT NULL,
    persistent         INTEGER NOT NULL DEFAULT 0,
    seen_at            INTEGER,
    response_data      TEXT,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER
);
CREATE INDEX ix_notifications_user ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX ix_notifications_expires ON notifications (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE upload_requests (
    id           BLOB PRIMARY KEY,
    user_id      BLOB NOT NULL,
    object_key   TEXT NOT NULL,
    content_type TEXT NOT NULL,
    max_size     INTEGER NOT NULL,
    status       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    completed_at INTEGER,
    size         INTEGER,
    CONSTRAINT ix_upload_requests_object_key UNIQUE (object_key)
);
CREATE INDEX ix_upload_requests_user ON upload_requests (user_id, created_at DESC, id DESC);
CREATE INDEX ix_upload_requests_pending_expiry ON upload_requests (expires_at) WHERE status = 'pending';

CREATE TABLE payments (
    id                  BLOB PRIMARY KEY,
    payer_id            BLOB NOT NULL,
    amount_minor        INTEGER NOT NULL CHECK (amount_minor > 0),
    currency            TEXT NOT NULL,
    beneficiaries       TEXT NOT NULL,
    description         TEXT,
    status              TEXT NOT NULL,
    idempotency_key     TEXT NOT NULL,
    request_fingerprint TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    CONSTRAINT ix_payments_idempotency UNIQUE (payer_id, idempotency_key)
);
CREATE INDEX ix_payments_payer ON payments (payer_id, created_at DESC, id DESC);

CREATE TABLE payment_beneficiaries (
    payment_id BLOB NOT NULL REFERENCES payments (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL,
    PRIMARY KEY (payment_id, user_id)
);
CREATE INDEX ix_payment_beneficiaries_user ON payment_beneficiaries (user_id);

CREATE TABLE rate_limit_counters (
    key            TEXT NOT NULL,
    window_seconds INTEGER NOT NULL,
    window_start   INTEGER NOT NULL,
    count          INTEGER NOT NULL,
    expires_at     INTEGER,
    PRIMARY KEY (key, window_seconds, window_start)
);
CREATE INDEX ix_rate_limit_counters_expires ON rate_limit_counters (expires_at) WHERE expires_at IS NOT NULL;
