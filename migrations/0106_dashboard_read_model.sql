-- What the dashboard reads on every page view, kept per cluster when its results are stored
-- (issue 16: every page under 100 ms at p95 on a 1,000-cluster, one-year database), instead of
-- being grouped out of the whole findings table per request.
--
-- Both tables hold the cluster's open findings (fail or warn) only, and are rebuilt for a cluster
-- by palisade_refresh_open_summary() in the transaction that changed its findings
-- (store::scans::complete_as_of); a scan that changed no finding leaves them as they are.
-- They have no foreign key to clusters: a per-row key check made the rebuild of 17,000 resource
-- rows take 0.4 s. Deleting a cluster empties its rows through the same function
-- (store::clusters::delete), and every reader joins live clusters.

-- One row per (cluster, check, severity) with an open finding: the fleet's worst checks, the
-- checks list and a cluster's failing checks.
CREATE TABLE open_checks (
    cluster_id uuid NOT NULL,
    check_id text NOT NULL,
    severity text NOT NULL,
    area text NOT NULL,
    title text NOT NULL,
    -- Resources failing it, and resources warning on it.
    failing integer NOT NULL,
    warning integer NOT NULL,
    PRIMARY KEY (cluster_id, check_id, severity)
);
CREATE INDEX open_checks_by_check ON open_checks (check_id);

-- The same summed over the live clusters, per (check, severity): the fleet's worst checks and the
-- checks list without grouping a row per cluster. Moved by the difference each refresh makes; a
-- check open nowhere any more keeps its row, with zeros.
CREATE TABLE fleet_checks (
    check_id text NOT NULL,
    severity text NOT NULL,
    area text NOT NULL,
    title text NOT NULL,
    -- Clusters where it fails, resources failing it, resources warning on it.
    failing_clusters integer NOT NULL,
    failing bigint NOT NULL,
    warning bigint NOT NULL,
    PRIMARY KEY (check_id, severity)
);

-- One row per (cluster, resource) with an open finding, its checks as tags: "one root cause, one
-- row" (the findings explorer grouped by resource, a cluster's things to fix). The `fail_` columns
-- are the same over its failing checks alone (zero and empty when only warnings are open).
CREATE TABLE open_resources (
    cluster_id uuid NOT NULL,
    resource_kind text NOT NULL,
    resource_namespace text,
    resource_name text NOT NULL,
    resource_node text,
    -- Severity rank of the worst open check: 4 critical, 3 high, 2 medium, 1 low, 0 info.
    worst smallint NOT NULL,
    -- Open results on it (one per check).
    results integer NOT NULL,
    checks text[] NOT NULL,
    areas text[] NOT NULL,
    fail_worst smallint NOT NULL,
    fail_results integer NOT NULL,
    fail_checks text[] NOT NULL,
    fail_areas text[] NOT NULL
);
CREATE INDEX open_resources_by_rank ON open_resources (worst DESC, results DESC, resource_kind, resource_name);
CREATE INDEX open_resources_by_cluster ON open_resources (cluster_id, worst DESC, results DESC);
CREATE INDEX open_resources_failing_by_cluster ON open_resources (cluster_id, fail_worst DESC, fail_results DESC)
    WHERE fail_results > 0;

-- Per cluster: the newest results' score (the fleet page's order), resources failing, and those
-- whose worst failing check is critical, or high.
ALTER TABLE cluster_scan_state
    ADD COLUMN last_result_score real,
    ADD COLUMN failing_resources integer NOT NULL DEFAULT 0,
    ADD COLUMN critical_resources integer NOT NULL DEFAULT 0,
    ADD COLUMN high_resources integer NOT NULL DEFAULT 0;

CREATE FUNCTION palisade_severity_rank(severity text) RETURNS smallint LANGUAGE sql IMMUTABLE AS $$
    SELECT (CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1
                          ELSE 0 END)::smallint
$$;

-- A cluster's open findings in the explorer's default order and in id order (the findings API),
-- read in order and stopped at the page's last row even on a cluster with 100,000 open findings
-- (without the first, a 500-row page of such a cluster sorts them all: 110 ms instead of 9 ms).
-- They replace findings_open (cluster_id, severity), whose every use they serve.
DROP INDEX findings_open;
CREATE INDEX findings_open_by_cluster ON findings (cluster_id, id) WHERE status IN ('fail', 'warn');
CREATE INDEX findings_open_by_cluster_rank ON findings (cluster_id, palisade_severity_rank(severity) DESC, check_id, id)
    WHERE status IN ('fail', 'warn');
-- A check's open findings across the fleet (the check page), without walking the whole table.
CREATE INDEX findings_open_by_check ON findings (check_id, id) WHERE status IN ('fail', 'warn');
-- The findings explorer's default order (worst severity, then check), read in order and stopped at
-- the page's last row instead of sorting every open finding of the fleet.
CREATE INDEX findings_open_by_rank ON findings (palisade_severity_rank(severity) DESC, check_id, cluster_id, id)
    WHERE status IN ('fail', 'warn');

-- Rebuild the read model of clusters `ids` from their findings: all of it, or with `changed` (the
-- findings a stored scan wrote) only the checks and resources those findings belong to. A deleted
-- cluster has no open findings here (its rows go, and the fleet totals lose them).
CREATE FUNCTION palisade_refresh_open_summary(ids uuid[], changed uuid[] DEFAULT NULL) RETURNS void
-- Bulk statements: hash joins and in-memory sorts (the touched-key tables are never analyzed, and a
-- nested loop over a cluster's findings per key costs seconds).
LANGUAGE plpgsql SET work_mem = '64MB' SET enable_nestloop = off AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS palisade_touched_checks (cluster_id uuid, check_id text, severity text)
        ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS palisade_touched_resources
        (cluster_id uuid, resource_kind text, resource_namespace text, resource_name text, resource_node text)
        ON COMMIT DELETE ROWS;
    TRUNCATE palisade_touched_checks, palisade_touched_resources;
    CREATE TEMP TABLE IF NOT EXISTS palisade_new_checks
        (cluster_id uuid, check_id text, severity text, area text, title text, failing integer, warning integer)
        ON COMMIT DELETE ROWS;
    TRUNCATE palisade_new_checks;
    IF changed IS NULL THEN
        -- Everything: the checks open before (read model) or now (findings), every resource.
        INSERT INTO palisade_new_checks
        SELECT f.cluster_id, f.check_id, f.severity, min(f.area), min(f.title),
               count(*) FILTER (WHERE f.status = 'fail'), count(*) FILTER (WHERE f.status = 'warn')
        FROM findings f JOIN clusters c ON c.id = f.cluster_id
        WHERE f.cluster_id = ANY(ids) AND f.status IN ('fail', 'warn') AND c.deleted_at IS NULL
        GROUP BY f.cluster_id, f.check_id, f.severity;
        INSERT INTO palisade_touched_checks
        SELECT cluster_id, check_id, severity FROM open_checks WHERE cluster_id = ANY(ids)
        UNION SELECT cluster_id, check_id, severity FROM palisade_new_checks;
        DELETE FROM open_resources WHERE cluster_id = ANY(ids);
    ELSE
        INSERT INTO palisade_touched_checks
        SELECT DISTINCT cluster_id, check_id, severity FROM findings WHERE cluster_id = ANY(ids) AND id = ANY(changed);
        INSERT INTO palisade_touched_resources
        SELECT DISTINCT cluster_id, resource_kind, resource_namespace, resource_name, resource_node FROM findings
        WHERE cluster_id = ANY(ids) AND id = ANY(changed);
        INSERT INTO palisade_new_checks
        SELECT f.cluster_id, f.check_id, f.severity, min(f.area), min(f.title),
               count(*) FILTER (WHERE f.status = 'fail'), count(*) FILTER (WHERE f.status = 'warn')
        FROM findings f JOIN palisade_touched_checks k USING (cluster_id, check_id, severity)
        JOIN clusters c ON c.id = f.cluster_id
        WHERE f.status IN ('fail', 'warn') AND c.deleted_at IS NULL
        GROUP BY f.cluster_id, f.check_id, f.severity;
    END IF;

    -- The fleet totals move by (new - old) of the touched checks, in one statement whose rows are
    -- locked in key order: concurrent refreshes of other clusters wait for each other, never deadlock.
    INSERT INTO fleet_checks AS t (check_id, severity, area, title, failing_clusters, failing, warning)
    SELECT check_id, severity, min(area), min(title), sum(sign * (failing > 0)::int), sum(sign * failing),
           sum(sign * warning)
    FROM (
        SELECT -1 AS sign, o.check_id, o.severity, o.area, o.title, o.failing, o.warning
        FROM open_checks o JOIN palisade_touched_checks k USING (cluster_id, check_id, severity)
        UNION ALL
        SELECT 1, n.check_id, n.severity, n.area, n.title, n.failing, n.warning FROM palisade_new_checks n
    ) d
    GROUP BY check_id, severity
    ORDER BY check_id, severity
    ON CONFLICT (check_id, severity) DO UPDATE
        SET failing_clusters = t.failing_clusters + excluded.failing_clusters,
            failing = t.failing + excluded.failing, warning = t.warning + excluded.warning;

    DELETE FROM open_checks o USING palisade_touched_checks k
    WHERE o.cluster_id = k.cluster_id AND o.check_id = k.check_id AND o.severity = k.severity;
    INSERT INTO open_checks (cluster_id, check_id, severity, area, title, failing, warning)
    SELECT cluster_id, check_id, severity, area, title, failing, warning FROM palisade_new_checks;

    -- Resources are matched on equalities (NULL namespace and node as ''), so they hash-join. In the
    -- full refresh their rows are gone already and every open finding of the clusters counts.
    DELETE FROM open_resources r USING palisade_touched_resources k
    WHERE r.cluster_id = k.cluster_id AND r.resource_kind = k.resource_kind AND r.resource_name = k.resource_name
      AND COALESCE(r.resource_namespace, '') = COALESCE(k.resource_namespace, '')
      AND COALESCE(r.resource_node, '') = COALESCE(k.resource_node, '');
    -- One sort of the findings (by resource, then worst check first) feeds every aggregate in order,
    -- instead of a sort per aggregate and resource. `areas` keep one entry per check (readers
    -- deduplicate them).
    INSERT INTO open_resources (cluster_id, resource_kind, resource_namespace, resource_name, resource_node,
                                worst, results, checks, areas, fail_worst, fail_results, fail_checks, fail_areas)
    SELECT f.cluster_id, f.resource_kind, f.resource_namespace, f.resource_name, f.resource_node,
           max(f.rank), count(*), array_agg(f.check_id), array_agg(f.area),
           COALESCE(max(f.rank) FILTER (WHERE f.status = 'fail'), 0), count(*) FILTER (WHERE f.status = 'fail'),
           COALESCE(array_agg(f.check_id) FILTER (WHERE f.status = 'fail'), '{}'),
           COALESCE(array_agg(f.area) FILTER (WHERE f.status = 'fail'), '{}')
    FROM (
        SELECT f.cluster_id, f.resource_kind, f.resource_namespace, f.resource_name, f.resource_node, f.check_id,
               f.area, f.status, palisade_severity_rank(f.severity) AS rank
        FROM findings f JOIN clusters c ON c.id = f.cluster_id
        WHERE f.cluster_id = ANY(ids) AND f.status IN ('fail', 'warn') AND c.deleted_at IS NULL
          AND (changed IS NULL OR EXISTS (
              SELECT 1 FROM palisade_touched_resources k
              WHERE k.cluster_id = f.cluster_id AND k.resource_kind = f.resource_kind
                AND k.resource_name = f.resource_name
                AND COALESCE(k.resource_namespace, '') = COALESCE(f.resource_namespace, '')
                AND COALESCE(k.resource_node, '') = COALESCE(f.resource_node, '')))
        ORDER BY f.cluster_id, f.resource_kind, f.resource_namespace, f.resource_name, f.resource_node,
                 palisade_severity_rank(f.severity) DESC, f.check_id
    ) f
    GROUP BY f.cluster_id, f.resource_kind, f.resource_namespace, f.resource_name, f.resource_node;

    -- Per cluster, from its resource rows.
    UPDATE cluster_scan_state s
    SET failing_resources = COALESCE(g.failing, 0), critical_resources = COALESCE(g.critical, 0),
        high_resources = COALESCE(g.high, 0)
    FROM unnest(ids) AS u(id)
    LEFT JOIN (
        SELECT cluster_id, count(*) AS failing, count(*) FILTER (WHERE fail_worst = 4) AS critical,
               count(*) FILTER (WHERE fail_worst = 3) AS high
        FROM open_resources WHERE cluster_id = ANY(ids) AND fail_results > 0
        GROUP BY cluster_id
    ) g ON g.cluster_id = u.id
    WHERE s.cluster_id = u.id;
END
$$;

UPDATE cluster_scan_state s SET last_result_score = lr.score FROM scans lr WHERE lr.id = s.last_result_scan_id;
SELECT palisade_refresh_open_summary(ARRAY(SELECT cluster_id FROM cluster_scan_state));
