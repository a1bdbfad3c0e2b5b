-- 0004: web sessions, one row per signed-in browser.
--
-- Like a token, a session is found by the SHA-256 hash of its secret (the
-- cookie's value), which is never stored. id is what the profile page
-- shows and revokes, so that no page ever carries a session's secret.

CREATE TABLE sessions (
	id          TEXT    NOT NULL PRIMARY KEY,
	secret_hash BLOB    NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
	user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at  INTEGER NOT NULL,
	last_seen   INTEGER NOT NULL,
	ip          TEXT    NOT NULL DEFAULT '',
	user_agent  TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX sessions_user_id ON sessions (user_id, last_seen);
