-- Mail waiting to be sent: one row per message, due from `due_at`. A claim
-- moves `due_at` forward (hiding the row from other workers) and counts the
-- attempt; the worker deletes the row once the mail is sent or given up on.
CREATE TABLE mail_queue (
    id         BLOB PRIMARY KEY,
    kind       TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    username   TEXT,
    token      TEXT,
    attempts   INTEGER NOT NULL,
    due_at     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX ix_mail_queue_due ON mail_queue (due_at);
