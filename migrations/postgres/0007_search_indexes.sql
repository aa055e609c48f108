-- Indexes that let a run search start from the runs a filter or an ordering names, instead of
-- reading every run of the experiment (see `tracking-server/src/store/sql/search_plan.rs`).
--
-- Text values are indexed by their first 200 characters: PostgreSQL refuses B-tree entries over
-- ~2.7 kB, and MLflow allows params of 6,000 and tags of 8,000 characters. Queries compare the
-- same prefix, then the whole value when it is longer. (SQLite indexes whole values.)

-- `metrics.x > 0.9` and `ORDER BY metrics.x` read the latest values of one key in value order.
CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, is_nan, value);

-- `params.x = 'v'`.
CREATE INDEX params_by_key_value ON params (key, substr(value, 1, 200));

-- The child runs of given parents (the web UI's nested runs table): only child runs are indexed.
CREATE INDEX tags_by_parent ON tags (substr(value, 1, 200)) WHERE key = 'mlflow.parentRunId';

-- (SQLite also gets `runs_by_id`, a covering index of a run's scope by its id; PostgreSQL's planner
-- sorts driving candidates from the table's own rows.)
