-- Per-group end-of-day totals (issue 16: trends by group read 90 days × groups rows instead of one
-- row per cluster and day). Kept up to date by every stored scan like fleet_daily: the change of
-- that cluster's end-of-day row is added to its group's row. A cluster counts in the group it was
-- in when its end-of-day row was written (scan_daily.cluster_group), so moving a cluster to
-- another group moves its counts on that day only, and history stays where it was; clusters
-- deleted since still count on the days they were scanned. '' is "no group".
ALTER TABLE scan_daily ADD COLUMN cluster_group text NOT NULL DEFAULT '';
UPDATE scan_daily d SET cluster_group = c.cluster_group
FROM clusters c WHERE c.id = d.cluster_id AND c.cluster_group IS NOT NULL;

CREATE TABLE group_daily (
    cluster_group text NOT NULL,
    day date NOT NULL,
    clusters integer NOT NULL,
    scored integer NOT NULL,
    score_sum double precision NOT NULL,
    failures bigint NOT NULL,
    counts bigint[] NOT NULL,
    PRIMARY KEY (cluster_group, day)
);

INSERT INTO group_daily (cluster_group, day, clusters, scored, score_sum, failures, counts)
SELECT g.cluster_group, g.day, g.clusters, g.scored, g.score_sum, g.failures, x.counts
FROM (
    SELECT cluster_group, day, count(*) AS clusters, count(score) AS scored,
           COALESCE(sum(score), 0) AS score_sum, sum(failures) AS failures
    FROM scan_daily GROUP BY cluster_group, day
) g
JOIN (
    SELECT cluster_group, day, array_agg(total ORDER BY i) AS counts
    FROM (
        SELECT d.cluster_group, d.day, t.i, sum(t.v)::bigint AS total
        FROM scan_daily d, unnest(d.counts) WITH ORDINALITY AS t(v, i)
        GROUP BY d.cluster_group, d.day, t.i
    ) cells
    GROUP BY cluster_group, day
) x ON x.cluster_group = g.cluster_group AND x.day = g.day;
