-- 0003: projects (team namespaces), their members, and repository records.
--
-- A namespace is a user's global_key or a project's name, compared
-- case-insensitively, and the two never clash: the triggers refuse either
-- side taking a name the other holds. Their messages say UNIQUE so that
-- the store reports them as ErrExists like any duplicate.

CREATE TABLE projects (
	id           INTEGER PRIMARY KEY,
	name         TEXT    NOT NULL COLLATE NOCASE UNIQUE,
	display_name TEXT    NOT NULL,
	description  TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL
);

-- role: 1 viewer, 2 developer, 3 admin, 4 owner (repos.Role).
CREATE TABLE project_members (
	project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role       INTEGER NOT NULL CHECK (role BETWEEN 1 AND 4),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (project_id, user_id)
) WITHOUT ROWID;

CREATE INDEX project_members_user ON project_members (user_id);

-- What git does not keep about a repository. A repository on disk without
-- a row (placed there by hand) is private with no description.
CREATE TABLE repositories (
	id          INTEGER PRIMARY KEY,
	owner       TEXT    NOT NULL COLLATE NOCASE,
	name        TEXT    NOT NULL COLLATE NOCASE,
	description TEXT    NOT NULL DEFAULT '',
	visibility  TEXT    NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public')),
	created_at  INTEGER NOT NULL,
	UNIQUE (owner, name)
);

CREATE TRIGGER projects_namespace BEFORE INSERT ON projects
WHEN EXISTS (SELECT 1 FROM users WHERE global_key = NEW.name)
BEGIN
	SELECT RAISE(ABORT, 'UNIQUE constraint failed: namespace is a user');
END;

CREATE TRIGGER users_namespace BEFORE INSERT ON users
WHEN EXISTS (SELECT 1 FROM projects WHERE name = NEW.global_key)
BEGIN
	SELECT RAISE(ABORT, 'UNIQUE constraint failed: namespace is a project');
END;
