-- How each account came to be (registration, admin, provider, bootstrap;
-- by whom and from where), as a JSON document the domain reads and writes.
-- A candidate carries it from registration to verification. NULL for
-- accounts made before it was recorded.
ALTER TABLE users ADD COLUMN origin TEXT;
ALTER TABLE registration_candidates ADD COLUMN origin TEXT;
