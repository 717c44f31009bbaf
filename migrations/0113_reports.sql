-- Compliance reports (issue 15): definitions that run on a schedule, and the generated documents,
-- kept in the database so every replica serves them (reports are small: a fleet PDF of 1,000
-- clusters is well under a few MiB).
CREATE TABLE report_definitions (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    framework       text NOT NULL,
    -- The scope: the clusters of a group, a list of clusters, or (both NULL) the fleet.
    scope_group     text,
    scope_clusters  uuid[],
    -- A 5-field crontab line (UTC), as cluster schedules take.
    cron            text NOT NULL,
    formats         text[] NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    next_run_at     timestamptz NOT NULL,
    last_run_at     timestamptz,
    last_error      text,
    created_by_name text NOT NULL,
    created_at      timestamptz NOT NULL,
    CHECK (scope_group IS NULL OR scope_clusters IS NULL),
    CHECK (cardinality(formats) >= 1)
);
CREATE INDEX report_definitions_due ON report_definitions (next_run_at) WHERE enabled;

CREATE TABLE reports (
    id              uuid PRIMARY KEY,
    definition_id   uuid REFERENCES report_definitions(id) ON DELETE SET NULL,
    title           text NOT NULL,
    framework       text NOT NULL,
    -- {"kind": "fleet"|"group"|"clusters", "group"?, "clusters"?}
    scope           jsonb NOT NULL,
    format          text NOT NULL,
    content_type    text NOT NULL,
    body            bytea NOT NULL,
    size_bytes      integer NOT NULL,
    generation_ms   integer NOT NULL,
    created_by_name text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX reports_by_created ON reports (created_at DESC, id DESC);
CREATE INDEX reports_by_definition ON reports (definition_id, created_at DESC);
