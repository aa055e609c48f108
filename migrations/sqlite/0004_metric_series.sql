-- Metric history keyed by a small integer per (run, key) instead of the run id and key in every point.
-- A 500-metric batch writes one point into 500 series, each in its own place in the history's
-- primary key, so the pages a batch dirties (and SQLite copies to its WAL) grow with the bytes per
-- point: 75 with the 32-character run id and the key repeated, 28 without.
-- Reads keep their shape through the `metrics` view.

CREATE TABLE metric_series (
    series_id INTEGER PRIMARY KEY,
    run_uuid  TEXT    NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    UNIQUE (run_uuid, key)
);

CREATE TABLE metric_points (
    series_id INTEGER NOT NULL REFERENCES metric_series (series_id) ON DELETE CASCADE,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    value     REAL    NOT NULL,
    is_nan    INTEGER NOT NULL,
    PRIMARY KEY (series_id, timestamp, step, value, is_nan)
) WITHOUT ROWID;

INSERT INTO metric_series (run_uuid, key)
SELECT DISTINCT run_uuid, key FROM metrics ORDER BY run_uuid, key;

INSERT INTO metric_points (series_id, timestamp, step, value, is_nan)
SELECT s.series_id, m.timestamp, m.step, m.value, m.is_nan
FROM metrics m JOIN metric_series s ON s.run_uuid = m.run_uuid AND s.key = m.key;

DROP TABLE metrics;

CREATE VIEW metrics AS
SELECT s.run_uuid, s.key, p.timestamp, p.step, p.value, p.is_nan
FROM metric_points p JOIN metric_series s ON s.series_id = p.series_id;
