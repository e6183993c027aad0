-- Sign-in through identity providers: a user's links to their identities
-- (one per provider and subject over all users, one per provider for a
-- user; the provider's tokens sealed by the server's keyring), and the
-- flows between the redirect to a provider and its callback, under the
-- hash of their state.
CREATE TABLE identity_links (
    user_id          UUID NOT NULL,
    provider         TEXT NOT NULL,
    subject          TEXT NOT NULL,
    email            TEXT,
    tokens           TEXT,
    tokens_expire_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, provider),
    UNIQUE (provider, subject)
);
CREATE TABLE oauth_flows (
    state_hash    TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    linking_user  UUID,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX ix_oauth_flows_expires ON oauth_flows (expires_at);
CREATE INDEX ix_oauth_flows_user ON oauth_flows (linking_user);
-- The links replace the JSON list of providers the users table carried,
-- which nothing wrote.
ALTER TABLE users DROP COLUMN auth_providers;
