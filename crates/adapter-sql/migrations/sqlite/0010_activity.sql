-- The activity log: what happened to an account (kind, a stable string),
-- when, who did it (actor_kind user|admin|system, actor_id), from where,
-- and details per kind. No foreign key to users: the account.deleted
-- event outlives its user.
CREATE TABLE activity_events (
    id BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    user_id BLOB NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id BLOB,
    ip TEXT,
    device TEXT,
    details TEXT NOT NULL
);
CREATE INDEX activity_user_newest ON activity_events (user_id, at DESC, id DESC);
CREATE INDEX activity_newest ON activity_events (at DESC, id DESC);
CREATE INDEX activity_actor ON activity_events (actor_id) WHERE actor_id IS NOT NULL;
