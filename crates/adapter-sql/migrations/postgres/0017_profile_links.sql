-- Two more profile fields: a web site (an http or https URL) and a
-- location (free text, at most 100 characters).
ALTER TABLE users ADD COLUMN website TEXT;
ALTER TABLE users ADD COLUMN location TEXT;
