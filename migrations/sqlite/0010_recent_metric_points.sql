-- Points are written first to `metric_points_recent`, which has `metric_points`' layout, and moved
-- into `metric_points` a run at a time, in bulk (see tracking-server/src/store/sql/point_merge.rs).
--
-- Both tables are ordered by series. A training loop's batch adds one point to each of a run's
-- series, so once each series outgrows a page, a batch written straight into `metric_points`
-- changed one page per series (500 pages for 500 metrics), each copied whole into the write-ahead
-- log. In the small table a run's recent points fill a few pages; moving them in bulk changes each
-- series' page once per move instead of once per batch. A point is in one table or the other, never
-- both; reads go through the `metrics` view, which reads both.

CREATE TABLE metric_points_recent (
    series_id INTEGER NOT NULL REFERENCES metric_series (series_id) ON DELETE CASCADE,
    ts_offset INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    value     REAL    NOT NULL,
    is_nan    INTEGER NOT NULL,
    PRIMARY KEY (series_id, ts_offset, step, value, is_nan)
) WITHOUT ROWID;

DROP VIEW metrics;

CREATE VIEW metrics AS
SELECT s.run_uuid, s.key, s.base_timestamp + p.ts_offset AS timestamp, p.step, p.value, p.is_nan
FROM metric_points p JOIN metric_series s ON s.series_id = p.series_id
UNION ALL
SELECT s.run_uuid, s.key, s.base_timestamp + r.ts_offset AS timestamp, r.step, r.value, r.is_nan
FROM metric_points_recent r JOIN metric_series s ON s.series_id = r.series_id;
