-- Scan outcomes and durations for GET /metrics (issue 15), as Prometheus counters: how many scans
-- ended per outcome and a histogram of how long they ran, kept by a trigger on every scan that
-- reaches an end state. A scrape reads three rows whatever the size of the history, every replica
-- reports the same totals, and they only grow (a purged cluster's scans stay counted), as
-- Prometheus counters must. Owned by src/store/metrics.rs.
--
-- The totals row of an outcome is locked from the scan's end until its transaction commits. A
-- stored scan's transaction already waits on fleet_daily's row of the day right after it (and
-- never the other way round), so this adds no wait and no lock cycle.

-- The histogram's upper bounds in seconds (the `le` labels; +Inf is implied). Changing them needs
-- a migration that rebuilds `buckets` the way the backfill below does.
CREATE FUNCTION palisade_scan_duration_bounds() RETURNS double precision[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800]::double precision[]
$$;

-- The 1-based bucket of a duration: the first bound at or above it, or the last (+Inf) bucket.
CREATE FUNCTION palisade_scan_duration_bucket(secs double precision) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN secs IS NULL THEN NULL ELSE COALESCE(
        (SELECT min(n)::integer FROM unnest(palisade_scan_duration_bounds()) WITH ORDINALITY AS b(le, n)
         WHERE secs <= le),
        cardinality(palisade_scan_duration_bounds()) + 1) END
$$;

-- The seconds a scan ran, from its (last) start to its end; NULL when it never started.
CREATE FUNCTION palisade_scan_seconds(started_at timestamptz, finished_at timestamptz) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN started_at IS NULL OR finished_at IS NULL THEN NULL
                ELSE greatest(extract(epoch FROM finished_at - started_at)::double precision, 0) END
$$;

CREATE TABLE scan_outcome_totals (
    outcome text PRIMARY KEY CHECK (outcome IN ('succeeded', 'partial', 'failed')),
    -- Scans that ended so (each attempt of a retried scan is a scan).
    scans bigint NOT NULL DEFAULT 0,
    -- Of those, the ones that ran (have a start time): the histogram's count and sum of seconds.
    timed bigint NOT NULL DEFAULT 0,
    seconds_sum double precision NOT NULL DEFAULT 0,
    -- Timed scans per bucket of palisade_scan_duration_bucket(), not cumulative.
    buckets bigint[] NOT NULL
);

INSERT INTO scan_outcome_totals (outcome, buckets)
SELECT o, array_fill(0::bigint, ARRAY[cardinality(palisade_scan_duration_bounds()) + 1])
FROM unnest(ARRAY['succeeded', 'partial', 'failed']) AS o;

-- The scans that ended before this migration.
WITH per AS (
    SELECT state, palisade_scan_duration_bucket(secs) AS i, count(*) AS n, COALESCE(sum(secs), 0) AS total
    FROM (SELECT state, palisade_scan_seconds(started_at, finished_at) AS secs FROM scans
          WHERE state IN ('succeeded', 'partial', 'failed')) d
    GROUP BY 1, 2
)
UPDATE scan_outcome_totals t SET
    scans = (SELECT COALESCE(sum(n), 0) FROM per WHERE per.state = t.outcome),
    timed = (SELECT COALESCE(sum(n), 0) FROM per WHERE per.state = t.outcome AND per.i IS NOT NULL),
    seconds_sum = (SELECT COALESCE(sum(total), 0) FROM per WHERE per.state = t.outcome),
    buckets = ARRAY(SELECT COALESCE((SELECT n FROM per WHERE per.state = t.outcome AND per.i = g), 0)
                    FROM generate_series(1, cardinality(t.buckets)) AS g ORDER BY g);

CREATE FUNCTION palisade_count_scan_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    secs double precision := palisade_scan_seconds(NEW.started_at, NEW.finished_at);
    i integer := palisade_scan_duration_bucket(secs);
BEGIN
    IF i IS NULL THEN
        UPDATE scan_outcome_totals SET scans = scans + 1 WHERE outcome = NEW.state;
    ELSE
        UPDATE scan_outcome_totals
        SET scans = scans + 1, timed = timed + 1, seconds_sum = seconds_sum + secs, buckets[i] = buckets[i] + 1
        WHERE outcome = NEW.state;
    END IF;
    RETURN NULL;
END
$$;

-- A scan ends once: queued or running to succeeded, partial or failed (complete, fail, quarantine),
-- or inserted already ended (an import).
CREATE TRIGGER scans_count_outcome_on_end
    AFTER UPDATE OF state ON scans FOR EACH ROW
    WHEN (OLD.state IN ('queued', 'running') AND NEW.state IN ('succeeded', 'partial', 'failed'))
    EXECUTE FUNCTION palisade_count_scan_outcome();

CREATE TRIGGER scans_count_outcome_on_insert
    AFTER INSERT ON scans FOR EACH ROW
    WHEN (NEW.state IN ('succeeded', 'partial', 'failed'))
    EXECUTE FUNCTION palisade_count_scan_outcome();
