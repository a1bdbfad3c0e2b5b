-- 0008 on PostgreSQL: the audit log, as in 0008_audit.sql.

CREATE TABLE audit_events (
	id      BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time    BIGINT  NOT NULL,
	actor   CITEXT  NOT NULL DEFAULT '',
	ip      TEXT    NOT NULL DEFAULT '',
	via     TEXT    NOT NULL DEFAULT '',
	action  TEXT    NOT NULL,
	target  TEXT    NOT NULL DEFAULT '',
	subject CITEXT  NOT NULL DEFAULT '',
	detail  TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_subject ON audit_events (subject, id);
