-- Indexes that let a run search start from the runs a filter or an ordering names, instead of
-- reading every run of the experiment (see `tracking-server/src/store/sql/search_plan.rs`).
--
-- PostgreSQL indexes text values by their first 200 characters (its B-tree entries are limited to
-- ~2.7 kB); SQLite has no such limit and indexes whole values, so that the index alone answers.

-- `metrics.x > 0.9` and `ORDER BY metrics.x` read the latest values of one key in value order.
CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, is_nan, value);

-- `params.x = 'v'`.
CREATE INDEX params_by_key_value ON params (key, value);

-- The child runs of given parents (the web UI's nested runs table): only child runs are indexed.
CREATE INDEX tags_by_parent ON tags (value) WHERE key = 'mlflow.parentRunId';

-- A run's scope and start time by its id: a driving clause's candidates are checked and sorted
-- from this index without reading each run's row.
CREATE INDEX runs_by_id ON runs (run_uuid, experiment_id, lifecycle_stage, start_time);
