-- Plans: request limits per day and per month (NULL: unlimited) and the
-- features an app gates on (a JSON array of strings, sorted). The built-in
-- default plan is not stored: it comes from configuration.
CREATE TABLE plans (
    name TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    daily_limit INTEGER,
    monthly_limit INTEGER,
    features TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- A user's plan: which, since when, until when (NULL: until changed).
-- No name means the default plan.
ALTER TABLE users ADD COLUMN plan_name TEXT;
ALTER TABLE users ADD COLUMN plan_since INTEGER;
ALTER TABLE users ADD COLUMN plan_until INTEGER;
CREATE INDEX users_plan_name ON users (plan_name) WHERE plan_name IS NOT NULL;
