-- 0005 on PostgreSQL: cached repository sizes, as in 0005_repo_stats.sql.

CREATE TABLE repo_stats (
	owner      CITEXT  NOT NULL,
	name       CITEXT  NOT NULL,
	gen        BIGINT  NOT NULL DEFAULT 0,
	valid      BIGINT  NOT NULL DEFAULT 0 CHECK (valid IN (0, 1)),
	size_bytes BIGINT  NOT NULL DEFAULT 0,
	empty      BIGINT  NOT NULL DEFAULT 0 CHECK (empty IN (0, 1)),
	PRIMARY KEY (owner, name)
);
