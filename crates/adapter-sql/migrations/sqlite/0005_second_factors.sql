-- Second factors: one TOTP factor per user (its secret sealed by the
-- server's keyring), the last time step it accepted, and the hashes of its
-- unused backup codes, one row each so that using one is a single delete.
CREATE TABLE mfa_factors (
    user_id      BLOB PRIMARY KEY,
    id           BLOB NOT NULL UNIQUE,
    secret       TEXT NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE TABLE mfa_backup_codes (
    factor_id BLOB NOT NULL,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (factor_id, code_hash)
);
