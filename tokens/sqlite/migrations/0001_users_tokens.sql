-- 0001: users and personal access tokens.
--
-- Times are unix milliseconds. -1 stands for "never" in expire_time and
-- last_access_time so that both sort below every real time without NULL
-- handling, as the token list of docs/api.md requires.

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	global_key    TEXT    NOT NULL COLLATE NOCASE UNIQUE,
	name          TEXT    NOT NULL,
	email         TEXT    NOT NULL DEFAULT '',
	password_hash TEXT    NOT NULL,
	admin         INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
	created_at    INTEGER NOT NULL
);

-- seq is the rowid: it gives the natural (issue) order and the tie-breaker
-- of every sort. username is the owner's global_key, copied so that the
-- list can filter and sort on it through an index; users are never renamed.
CREATE TABLE tokens (
	seq              INTEGER PRIMARY KEY,
	id               TEXT    NOT NULL UNIQUE,
	user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	username         TEXT    NOT NULL,
	secret_hash      BLOB    NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
	audience         TEXT    NOT NULL DEFAULT 'default',
	description      TEXT    NOT NULL DEFAULT '',
	scopes           TEXT    NOT NULL DEFAULT '[]',
	ip_whitelist     TEXT    NOT NULL DEFAULT '[]',
	not_before       INTEGER NOT NULL,
	expire_time      INTEGER NOT NULL DEFAULT -1,
	issued_at        INTEGER NOT NULL,
	issuer           TEXT    NOT NULL,
	enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	last_access_ip   TEXT    NOT NULL DEFAULT '',
	last_access_time INTEGER NOT NULL DEFAULT -1
);

CREATE INDEX tokens_user_id ON tokens (user_id);

-- Prefix and owner filters, and the username sort (rowid is implied last).
CREATE INDEX tokens_username ON tokens (username);

-- One index per sort key, in (key, seq) order so that a page is read
-- straight off the index; username rides along so that a prefix filter is
-- decided without visiting the table row.
CREATE INDEX tokens_audience         ON tokens (audience, seq, username);
CREATE INDEX tokens_issued_at        ON tokens (issued_at, seq, username);
CREATE INDEX tokens_expire_time      ON tokens (expire_time, seq, username);
CREATE INDEX tokens_last_access_time ON tokens (last_access_time, seq, username);
