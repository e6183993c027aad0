-- Leases for background jobs (one instance at a time). New notifications
-- are announced with pg_notify by the adapter; no schema change needed.
CREATE TABLE job_leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
