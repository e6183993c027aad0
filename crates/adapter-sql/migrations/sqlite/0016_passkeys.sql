-- Passkeys: found by credential id (unique over all users), listed per user
-- oldest first; `credential` is the ceremony adapter's own form of the
-- public key and flags. Ceremonies in progress live five minutes.
CREATE TABLE passkeys (
    id            BLOB PRIMARY KEY,
    user_id       BLOB NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    credential    TEXT NOT NULL,
    counter       INTEGER NOT NULL,
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX ix_passkeys_user ON passkeys (user_id, created_at, id);

CREATE TABLE passkey_challenges (
    id         BLOB PRIMARY KEY,
    user_id    BLOB,
    state      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX ix_passkey_challenges_expiry ON passkey_challenges (expires_at);
