-- One small record per day (UTC) of the statistics: counters added as
-- things happen, and the totals of the day's last roll-up (NULL until one
-- ran; sessions_active also NULL where it was not counted).
CREATE TABLE daily_stats (
    day              TEXT PRIMARY KEY,
    users_new        BIGINT NOT NULL DEFAULT 0,
    users_deleted    BIGINT NOT NULL DEFAULT 0,
    users_active     BIGINT NOT NULL DEFAULT 0,
    sign_ins         BIGINT NOT NULL DEFAULT 0,
    sign_in_failures BIGINT NOT NULL DEFAULT 0,
    requests         BIGINT NOT NULL DEFAULT 0,
    rolled_up        BOOLEAN NOT NULL DEFAULT FALSE,
    users_total      BIGINT,
    users_verified   BIGINT,
    users_suspended  BIGINT,
    sessions_active  BIGINT
);
