-- 0002 on PostgreSQL: tokens per owner, kept by triggers, as in
-- 0002_token_counts.sql.

CREATE TABLE token_counts (
	username TEXT    NOT NULL PRIMARY KEY,
	n        BIGINT  NOT NULL
);

INSERT INTO token_counts (username, n)
	SELECT username, count(*) FROM tokens GROUP BY username;

CREATE FUNCTION tokens_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('DELETE', 'UPDATE') THEN
		UPDATE token_counts SET n = n - 1 WHERE username = OLD.username;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		INSERT INTO token_counts AS c (username, n) VALUES (NEW.username, 1)
			ON CONFLICT (username) DO UPDATE SET n = c.n + 1;
	END IF;
	RETURN NULL;
END;
$$;

CREATE TRIGGER tokens_count_insert AFTER INSERT ON tokens
	FOR EACH ROW EXECUTE FUNCTION tokens_count();
CREATE TRIGGER tokens_count_delete AFTER DELETE ON tokens
	FOR EACH ROW EXECUTE FUNCTION tokens_count();
CREATE TRIGGER tokens_count_update AFTER UPDATE OF username ON tokens
	FOR EACH ROW WHEN (NEW.username IS DISTINCT FROM OLD.username)
	EXECUTE FUNCTION tokens_count();
