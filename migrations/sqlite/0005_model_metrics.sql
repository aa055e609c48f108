-- MLflow 3: metrics logged against a logged model (with the dataset they were computed on), which
-- the model's answers list and `search-logged-models` filters by dataset; and the logged models a
-- run took as inputs (`log-inputs` with `models`).

CREATE TABLE logged_model_metrics (
    id             INTEGER PRIMARY KEY,
    model_id       TEXT    NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key            TEXT    NOT NULL,
    timestamp      INTEGER NOT NULL,
    step           INTEGER NOT NULL,
    value          REAL    NOT NULL,
    is_nan         INTEGER NOT NULL,
    run_uuid       TEXT    NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    experiment_id  INTEGER NOT NULL,
    dataset_name   TEXT,
    dataset_digest TEXT
);
-- Logging the same point twice keeps one row, as MLflow's primary key does.
CREATE UNIQUE INDEX logged_model_metrics_point ON logged_model_metrics (
    model_id, key, timestamp, step, run_uuid, COALESCE(dataset_name, ''), COALESCE(dataset_digest, '')
);
CREATE INDEX logged_model_metrics_by_run ON logged_model_metrics (run_uuid);

CREATE TABLE run_model_inputs (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    PRIMARY KEY (run_uuid, model_id)
) WITHOUT ROWID;
