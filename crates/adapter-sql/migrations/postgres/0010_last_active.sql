-- When the user last made an authenticated request: the start of that
-- minute, written by the usage counters' flush at most once a minute.
ALTER TABLE users ADD COLUMN last_active_at TIMESTAMPTZ;
