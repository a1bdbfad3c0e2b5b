-- 0008: the audit log, one row per security event (auth/audit).
--
-- actor is the user who acted ('' for an anonymous caller, such as a
-- failed sign-in), ip the address it came from, action a stable name
-- such as 'token.create', target what it acted on (a token id,
-- 'owner/repo', a project), subject the user the event concerns (a
-- token's owner, a member, the user a failed sign-in claimed), so that
-- users see the events about their account as well as their own. No
-- column ever holds a secret. Rows are never updated; the server deletes
-- those older than its --audit-retention.

CREATE TABLE audit_events (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	time    INTEGER NOT NULL,
	actor   TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
	ip      TEXT    NOT NULL DEFAULT '',
	via     TEXT    NOT NULL DEFAULT '',
	action  TEXT    NOT NULL,
	target  TEXT    NOT NULL DEFAULT '',
	subject TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
	detail  TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_subject ON audit_events (subject, id);
