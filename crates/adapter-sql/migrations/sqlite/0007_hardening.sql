-- The password-guessing counters are keyed by when the password was last
-- set or an administrator last unlocked the account, not by any edit
-- (until now the counters followed updated_at, which a profile edit moves).
-- A one-time token counts the codes tried against it (an mfa_token allows
-- five), on the token itself rather than in aligned rate-limit windows.
-- Queued notices (a security change the owner is told about) carry what
-- they say as JSON in mail_queue.details.
ALTER TABLE users ADD COLUMN security_changed_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET security_changed_at = updated_at;
ALTER TABLE one_time_tokens ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mail_queue ADD COLUMN details TEXT;
