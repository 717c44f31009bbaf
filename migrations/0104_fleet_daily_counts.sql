-- Fleet-wide end-of-day result counts per area/severity and status (the same 50 cells as
-- scans.counts, summed over the clusters' end-of-day rows), kept up to date by every stored scan
-- like the other fleet_daily totals, so a year of failures or scores split by area or severity
-- reads 365 rows instead of one per cluster and day.
ALTER TABLE fleet_daily ADD COLUMN counts bigint[];

UPDATE fleet_daily f SET counts = x.counts
FROM (
    SELECT day, array_agg(total ORDER BY i) AS counts
    FROM (
        SELECT d.day, t.i, sum(t.v)::bigint AS total
        FROM scan_daily d, unnest(d.counts) WITH ORDINALITY AS t(v, i)
        GROUP BY d.day, t.i
    ) cells
    GROUP BY day
) x
WHERE x.day = f.day;

UPDATE fleet_daily SET counts = array_fill(0::bigint, ARRAY[50]) WHERE counts IS NULL;
ALTER TABLE fleet_daily ALTER COLUMN counts SET NOT NULL;
