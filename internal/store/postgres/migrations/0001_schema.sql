-- Vigil alert store, schema version 1: the same tables as the SQLite store's
-- schema version 2. Times are Unix nanoseconds (UTC) in BIGINT columns, so
-- they round-trip exactly (timestamptz keeps microseconds only). Append new
-- migrations as 0002_*.sql; never edit an applied one.

CREATE TABLE alert (
	id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time          BIGINT NOT NULL,
	rule          TEXT   NOT NULL,
	priority      TEXT   NOT NULL,
	prio          SMALLINT NOT NULL, -- store.PriorityRank, 0 = Emergency
	source        TEXT   NOT NULL,
	output        TEXT   NOT NULL,
	output_fields TEXT   NOT NULL, -- JSON object, as encoded by alert.AppendFields
	tags          TEXT   NOT NULL, -- JSON array
	hostname      TEXT   NOT NULL,
	container     TEXT   NOT NULL,
	image         TEXT   NOT NULL,
	namespace     TEXT   NOT NULL,
	pod           TEXT   NOT NULL,
	node          TEXT   NOT NULL,
	status        TEXT   NOT NULL DEFAULT 'open',
	note          TEXT   NOT NULL DEFAULT '',
	count         BIGINT NOT NULL DEFAULT 1,
	context       TEXT   NOT NULL DEFAULT '' -- JSON alert.Context or ''
);
-- Newest-first listing on (time, id); each filter index ends in (time, id)
-- so an equality on its column yields rows already in listing order.
CREATE INDEX alert_time ON alert (time, id);
CREATE INDEX alert_namespace_time ON alert (namespace, time, id);
CREATE INDEX alert_rule_time ON alert (rule, time, id);
CREATE INDEX alert_container_time ON alert (container, time, id);
CREATE INDEX alert_status_time ON alert (status, time, id);

CREATE TABLE alert_timeline (
	id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	alert_id BIGINT NOT NULL,
	time     BIGINT NOT NULL,
	kind     TEXT   NOT NULL,
	actor    TEXT   NOT NULL,
	text     TEXT   NOT NULL
);
CREATE INDEX alert_timeline_alert ON alert_timeline (alert_id, id);

CREATE TABLE exec_record (
	host  TEXT   NOT NULL,
	pid   BIGINT NOT NULL,
	ppid  BIGINT NOT NULL,
	start BIGINT NOT NULL, -- Unix nanoseconds
	proc  TEXT   NOT NULL  -- JSON alert.Proc
);
CREATE INDEX exec_record_parent ON exec_record (host, ppid, start);
CREATE INDEX exec_record_start ON exec_record (start);

CREATE TABLE asset (
	kind       TEXT   NOT NULL,
	id         TEXT   NOT NULL,
	name       TEXT   NOT NULL,
	first_seen BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL,
	attributes JSONB  NOT NULL,
	alerts     BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (kind, id)
);
CREATE INDEX asset_kind_seen ON asset (kind, last_seen);

CREATE TABLE account (
	name          TEXT PRIMARY KEY,
	role          TEXT   NOT NULL,
	password_hash TEXT   NOT NULL,
	created       BIGINT NOT NULL
);

CREATE TABLE api_token (
	id        TEXT PRIMARY KEY,
	name      TEXT   NOT NULL,
	role      TEXT   NOT NULL,
	hash      TEXT   NOT NULL UNIQUE,
	created   BIGINT NOT NULL,
	last_used BIGINT NOT NULL DEFAULT 0
);

-- vigil_merge_patch applies a JSON merge patch (RFC 7396), as SQLite's
-- json_patch does for the SQLite store's asset attributes: objects merge
-- key by key, a null removes the key, any other value replaces.
CREATE FUNCTION vigil_merge_patch(target JSONB, patch JSONB) RETURNS JSONB
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	result JSONB;
	k TEXT;
	v JSONB;
BEGIN
	IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
		RETURN patch;
	END IF;
	IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN
		result := '{}';
	ELSE
		result := target;
	END IF;
	FOR k, v IN SELECT key, value FROM jsonb_each(patch) LOOP
		IF jsonb_typeof(v) = 'null' THEN
			result := result - k;
		ELSE
			result := jsonb_set(result, ARRAY[k], vigil_merge_patch(result -> k, v));
		END IF;
	END LOOP;
	RETURN result;
END
$$;
