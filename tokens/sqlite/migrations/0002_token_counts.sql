-- 0002: tokens per owner, kept by triggers, so that ListTokens counts a
-- username prefix by adding up at most one row per user instead of stepping
-- through every matching token.

CREATE TABLE token_counts (
	username TEXT    NOT NULL PRIMARY KEY,
	n        INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO token_counts (username, n)
	SELECT username, count(*) FROM tokens GROUP BY username;

CREATE TRIGGER tokens_count_insert AFTER INSERT ON tokens BEGIN
	INSERT INTO token_counts (username, n) VALUES (NEW.username, 1)
		ON CONFLICT (username) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tokens_count_delete AFTER DELETE ON tokens BEGIN
	UPDATE token_counts SET n = n - 1 WHERE username = OLD.username;
END;

CREATE TRIGGER tokens_count_update AFTER UPDATE OF username ON tokens
	WHEN NEW.username IS NOT OLD.username BEGIN
	UPDATE token_counts SET n = n - 1 WHERE username = OLD.username;
	INSERT INTO token_counts (username, n) VALUES (NEW.username, 1)
		ON CONFLICT (username) DO UPDATE SET n = n + 1;
END;
