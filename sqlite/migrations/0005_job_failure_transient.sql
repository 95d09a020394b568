-- Whether a failed job gave up on a temporary error (5xx, timeout) rather
-- than failing for good (404, not an image): a repeated event for the same
-- image retries only the former.
ALTER TABLE jobs ADD COLUMN transient INTEGER NOT NULL DEFAULT 0;
