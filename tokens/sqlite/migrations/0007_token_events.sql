-- 0007: rotation with a grace window, new-network alerts, and each
-- token's events.
--
-- prev_secret_hash is the secret a regeneration with a grace window
-- replaced; it authenticates while grace_until (ms, -1 none) is in the
-- future, and grace_uses counts its uses. networks is a JSON list of the
-- networks (CIDR text) the token was used from, written with the coalesced
-- uses, never on every request.

ALTER TABLE tokens ADD COLUMN prev_secret_hash BLOB
	CHECK (prev_secret_hash IS NULL OR length(prev_secret_hash) = 32);
ALTER TABLE tokens ADD COLUMN grace_until INTEGER NOT NULL DEFAULT -1;
ALTER TABLE tokens ADD COLUMN grace_uses INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN lock_on_new_network INTEGER NOT NULL DEFAULT 0
	CHECK (lock_on_new_network IN (0, 1));
ALTER TABLE tokens ADD COLUMN networks TEXT NOT NULL DEFAULT '[]';

-- An equality on the column implies IS NOT NULL, so lookups use it.
CREATE UNIQUE INDEX tokens_prev_secret_hash ON tokens (prev_secret_hash)
	WHERE prev_secret_hash IS NOT NULL;

-- What happened to a token, newest first by (time, id). Rows go with
-- their token; the store keeps the newest 1,000 of each.
CREATE TABLE token_events (
	id        INTEGER PRIMARY KEY,
	token_seq INTEGER NOT NULL REFERENCES tokens (seq) ON DELETE CASCADE,
	time      INTEGER NOT NULL,
	ip        TEXT    NOT NULL DEFAULT '',
	kind      TEXT    NOT NULL
);

CREATE INDEX token_events_token ON token_events (token_seq, time);
