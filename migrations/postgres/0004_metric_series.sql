-- Metric history keyed by a small integer per (run, key) instead of the run id and key in every point
-- (see the SQLite migration of the same name). Reads keep their shape through the `metrics` view.

CREATE TABLE metric_series (
    series_id BIGSERIAL PRIMARY KEY,
    run_uuid  TEXT   NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    key       TEXT   NOT NULL,
    UNIQUE (run_uuid, key)
);

CREATE TABLE metric_points (
    series_id BIGINT NOT NULL REFERENCES metric_series (series_id) ON DELETE CASCADE,
    timestamp BIGINT NOT NULL,
    step      BIGINT NOT NULL,
    value     DOUBLE PRECISION NOT NULL,
    is_nan    BIGINT NOT NULL,
    PRIMARY KEY (series_id, timestamp, step, value, is_nan)
);

INSERT INTO metric_series (run_uuid, key)
SELECT DISTINCT run_uuid, key FROM metrics ORDER BY run_uuid, key;

INSERT INTO metric_points (series_id, timestamp, step, value, is_nan)
SELECT s.series_id, m.timestamp, m.step, m.value, m.is_nan
FROM metrics m JOIN metric_series s ON s.run_uuid = m.run_uuid AND s.key = m.key;

DROP TABLE metrics;

CREATE VIEW metrics AS
SELECT s.run_uuid, s.key, p.timestamp, p.step, p.value, p.is_nan
FROM metric_points p JOIN metric_series s ON s.series_id = p.series_id;
