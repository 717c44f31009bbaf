-- Scans, findings and their history (issue 7). Owned by src/store/{scans,findings,trends}.rs.
--
-- Growth rule: a scan whose results equal the previous scan's adds one `scans` row (its summary as
-- 50 integers) and rewrites one `scan_daily` row; findings and finding_changes only grow when a
-- result changes. Snapshots are gzip-compressed and only the latest N per cluster are kept.

-- Scheduling state, one row per registered cluster (created by the scheduler on its first tick).
-- The row is also the per-cluster lock that orders result sets.
CREATE TABLE cluster_scan_state (
    cluster_id uuid PRIMARY KEY REFERENCES clusters(id) ON DELETE CASCADE,
    -- Either an interval or a cron expression; neither means "the configured default interval".
    interval_seconds integer CHECK (interval_seconds IS NULL OR interval_seconds >= 1),
    cron text,
    paused boolean NOT NULL DEFAULT false,
    next_due_at timestamptz NOT NULL DEFAULT now(),
    last_scan_id uuid,
    last_result_scan_id uuid,
    last_result_seq bigint,
    last_result_at timestamptz,
    CHECK (interval_seconds IS NULL OR cron IS NULL)
);
CREATE INDEX cluster_scan_state_due ON cluster_scan_state (next_due_at) WHERE NOT paused;

-- Orders result sets: a scan gets the next value when its results are written.
CREATE SEQUENCE scan_result_seq;

CREATE TABLE scans (
    id uuid PRIMARY KEY,
    cluster_id uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'retry')),
    state text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'partial', 'failed')),
    attempt integer NOT NULL DEFAULT 1,
    requested_by text,
    queued_at timestamptz NOT NULL DEFAULT now(),
    not_before timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    lease_owner text,
    lease_expires_at timestamptz,
    -- How many times another replica took the scan over after its lease expired.
    takeovers integer NOT NULL DEFAULT 0,
    progress jsonb,
    error text,
    result_seq bigint UNIQUE,
    -- 5 areas x 5 statuses, then 5 severities x 5 statuses (see history::Counts).
    counts integer[],
    score real,
    failures integer,
    total_results integer,
    changes integer,
    detail_pruned boolean NOT NULL DEFAULT false
);
-- One scan at a time per cluster: at most one queued or running scan.
CREATE UNIQUE INDEX scans_one_active_per_cluster ON scans (cluster_id) WHERE state IN ('queued', 'running');
CREATE INDEX scans_queued ON scans (not_before) WHERE state = 'queued';
CREATE INDEX scans_running ON scans (lease_expires_at) WHERE state = 'running';
CREATE INDEX scans_by_cluster ON scans (cluster_id, queued_at DESC, id DESC);
CREATE INDEX scans_results_by_cluster ON scans (cluster_id, finished_at) WHERE result_seq IS NOT NULL;

-- One row per (cluster, check, resource) ever reported; id is the fingerprint (history::finding_id).
CREATE TABLE findings (
    id uuid PRIMARY KEY,
    cluster_id uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    check_id text NOT NULL,
    title text NOT NULL,
    area text NOT NULL,
    severity text NOT NULL,
    resource_kind text NOT NULL,
    resource_namespace text,
    resource_name text NOT NULL,
    resource_node text,
    -- Current status: a check status, or 'absent' once no longer reported.
    status text NOT NULL,
    evidence text NOT NULL,
    source text,
    first_seen_at timestamptz NOT NULL,
    first_seen_scan_id uuid NOT NULL,
    first_seen_seq bigint NOT NULL,
    status_since timestamptz NOT NULL,
    last_seen_at timestamptz,
    opened_at timestamptz,
    resolved_at timestamptz,
    reopened_at timestamptz,
    reopen_count integer NOT NULL DEFAULT 0
);
CREATE INDEX findings_by_cluster ON findings (cluster_id, id);
CREATE INDEX findings_open ON findings (cluster_id, severity) WHERE status IN ('fail', 'warn');
CREATE INDEX findings_resolved ON findings (resolved_at) WHERE resolved_at IS NOT NULL;

-- A row only when a finding's status or evidence changed at a scan (including first appearance
-- and disappearance as 'absent'). The results of scan S are, per finding, the latest change with
-- seq <= S.result_seq that is not 'absent'.
CREATE TABLE finding_changes (
    finding_id uuid NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    scan_id uuid NOT NULL,
    status text NOT NULL,
    evidence text NOT NULL,
    PRIMARY KEY (finding_id, seq)
);
CREATE INDEX finding_changes_by_scan ON finding_changes (scan_id);

-- End-of-day summary per cluster (the last result set of the day): the trend source for steps of
-- a day or more, so a year of fleet history is 365 rows per cluster whatever the scan frequency.
CREATE TABLE scan_daily (
    cluster_id uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    day date NOT NULL,
    scan_id uuid NOT NULL,
    scans integer NOT NULL,
    counts integer[] NOT NULL,
    score real,
    failures integer NOT NULL,
    PRIMARY KEY (day, cluster_id)
);
CREATE INDEX scan_daily_by_cluster ON scan_daily (cluster_id, day);

-- Gzip-compressed snapshot JSON of the latest scans (only the latest N per cluster are kept).
CREATE TABLE scan_snapshots (
    scan_id uuid PRIMARY KEY REFERENCES scans(id) ON DELETE CASCADE,
    cluster_id uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    raw_bytes bigint NOT NULL,
    gzip bytea NOT NULL
);
ALTER TABLE scan_snapshots ALTER COLUMN gzip SET STORAGE EXTERNAL;
CREATE INDEX scan_snapshots_by_cluster ON scan_snapshots (cluster_id, created_at DESC);
