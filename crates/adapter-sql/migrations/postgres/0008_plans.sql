-- Plans: request limits per day and per month (NULL: unlimited) and the
-- features an app gates on (a JSON array of strings, sorted). The built-in
-- default plan is not stored: it comes from configuration.
CREATE TABLE plans (
    name TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    daily_limit BIGINT,
    monthly_limit BIGINT,
    features JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- A user's plan: which, since when, until when (NULL: until changed).
-- No name means the default plan.
ALTER TABLE users ADD COLUMN plan_name TEXT;
ALTER TABLE users ADD COLUMN plan_since TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN plan_until TIMESTAMPTZ;
CREATE INDEX users_plan_name ON users (plan_name) WHERE plan_name IS NOT NULL;
