-- 0005: what a repository listing shows that is costly to compute from
-- the git data: its size on disk and whether it has a branch. A row is a
-- cache, kept per name whether or not the repository has a record (one
-- placed by hand has none). Whatever may change them (a push, a branch
-- change, a repack) bumps gen and clears valid; a reader that computed
-- them saves them only if gen is still the one it read, so that a value
-- computed before a change never outlives it.

CREATE TABLE repo_stats (
	owner      TEXT    NOT NULL COLLATE NOCASE,
	name       TEXT    NOT NULL COLLATE NOCASE,
	gen        INTEGER NOT NULL DEFAULT 0,
	valid      INTEGER NOT NULL DEFAULT 0 CHECK (valid IN (0, 1)),
	size_bytes INTEGER NOT NULL DEFAULT 0,
	empty      INTEGER NOT NULL DEFAULT 0 CHECK (empty IN (0, 1)),
	PRIMARY KEY (owner, name)
) WITHOUT ROWID;
