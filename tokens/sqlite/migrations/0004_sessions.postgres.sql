-- 0004 on PostgreSQL: web sessions, as in 0004_sessions.sql.

CREATE TABLE sessions (
	id          TEXT    NOT NULL PRIMARY KEY,
	secret_hash BYTEA   NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
	user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at  BIGINT  NOT NULL,
	last_seen   BIGINT  NOT NULL,
	ip          TEXT    NOT NULL DEFAULT '',
	user_agent  TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX sessions_user_id ON sessions (user_id, last_seen);
