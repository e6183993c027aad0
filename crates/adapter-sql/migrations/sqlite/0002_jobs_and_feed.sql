-- Leases for background jobs (one instance at a time) and the index the
-- notification feed polls (SQLite has no LISTEN/NOTIFY).
CREATE TABLE job_leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX ix_notifications_created ON notifications (created_at);
