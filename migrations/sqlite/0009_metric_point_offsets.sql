-- A metric point keeps its timestamp as an offset from its series' base timestamp (the first
-- point's, set when the series is created), not as milliseconds since 1970.
--
-- SQLite stores integers in 0, 1, 2, 3, 4, 6 or 8 bytes by magnitude: an epoch timestamp in
-- milliseconds takes 6 bytes in every point, an offset within a training run 0–4 (0 for a series'
-- first point). Points are most of a store's bytes; the key of a single-point series shrinks from
-- ~26 to ~20 bytes.
--
-- Existing series get base 0, so their points keep their absolute timestamps and nothing is
-- rewritten: the upgrade is instant whatever the store's size, and only new series are compact.
-- Reads keep their shape through the `metrics` view. PostgreSQL keeps absolute timestamps (its
-- integers have a fixed width, so an offset would save nothing there).

DROP VIEW metrics;

ALTER TABLE metric_series ADD COLUMN base_timestamp INTEGER NOT NULL DEFAULT 0;

ALTER TABLE metric_points RENAME COLUMN timestamp TO ts_offset;

CREATE VIEW metrics AS
SELECT s.run_uuid, s.key, s.base_timestamp + p.ts_offset AS timestamp, p.step, p.value, p.is_nan
FROM metric_points p JOIN metric_series s ON s.series_id = p.series_id;
