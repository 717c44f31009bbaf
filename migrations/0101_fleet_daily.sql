-- Fleet-wide end-of-day totals, kept up to date by every stored scan (the change of that cluster's
-- end-of-day row is added), so the fleet trend over a year reads 365 rows instead of one per
-- cluster and day.
CREATE TABLE fleet_daily (
    day date PRIMARY KEY,
    -- Clusters with results that day, and those of them with a score.
    clusters integer NOT NULL,
    scored integer NOT NULL,
    score_sum double precision NOT NULL,
    failures bigint NOT NULL
);

-- Sub-day trends read the scans of a time window across the fleet.
CREATE INDEX scans_results_by_time ON scans (finished_at) WHERE result_seq IS NOT NULL;
