-- API keys: found by the hash of the key (unique), listed per user newest
-- first; permissions as a JSON list (NULL: whatever the user's roles give).
CREATE TABLE api_keys (
    id           BLOB PRIMARY KEY,
    user_id      BLOB NOT NULL,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    permissions  TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX ix_api_keys_user ON api_keys (user_id, created_at DESC, id DESC);
