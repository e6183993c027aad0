-- Changes to authentication (a session ended, a user or a role changed),
-- for servers that cache authenticated callers: every instance polls for
-- rows past the last `seq` it read. Rows are kept for an hour.
CREATE TABLE auth_changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    change TEXT NOT NULL,
    at     INTEGER NOT NULL
);
CREATE INDEX ix_auth_changes_at ON auth_changes (at);
