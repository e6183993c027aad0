-- An administrator's suspension of an account: the reason the user is
-- told, when it began, and when it lifts itself (NULL: until lifted).
-- No reason means no suspension.
ALTER TABLE users ADD COLUMN suspension_reason TEXT;
ALTER TABLE users ADD COLUMN suspended_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN suspended_until TIMESTAMPTZ;
