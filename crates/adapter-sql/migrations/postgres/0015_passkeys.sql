-- Passkeys: found by credential id (unique over all users), listed per user
-- oldest first; `credential` is the ceremony adapter's own form of the
-- public key and flags. Ceremonies in progress live five minutes.
CREATE TABLE passkeys (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    credential    TEXT NOT NULL,
    counter       BIGINT NOT NULL,
    name          TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ
);
CREATE INDEX ix_passkeys_user ON passkeys (user_id, created_at, id);

CREATE TABLE passkey_challenges (
    id         UUID PRIMARY KEY,
    user_id    UUID,
    state      TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ix_passkey_challenges_expiry ON passkey_challenges (expires_at);
