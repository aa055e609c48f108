-- Model registry (registered models, versions, tags, aliases, stage/alias history) and MLflow 3
-- logged models. Names cascade on rename, so versions, tags and aliases follow their model.

CREATE TABLE registered_models (
    name                   TEXT    NOT NULL PRIMARY KEY,
    creation_time          INTEGER NOT NULL,
    last_updated_time      INTEGER NOT NULL,
    description            TEXT,
    user_id                TEXT,
    -- Version numbers are never reused, even after a version is deleted (as MLflow).
    next_version           INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE registered_model_tags (
    name  TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, key)
) WITHOUT ROWID;

CREATE TABLE model_versions (
    name              TEXT    NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    version           INTEGER NOT NULL,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    description       TEXT,
    user_id           TEXT,
    current_stage     TEXT    NOT NULL DEFAULT 'None',
    source            TEXT    NOT NULL,
    run_id            TEXT,
    run_link          TEXT,
    status            TEXT    NOT NULL DEFAULT 'READY',
    status_message    TEXT,
    model_id          TEXT,
    PRIMARY KEY (name, version)
);
CREATE INDEX model_versions_by_run ON model_versions (run_id);

CREATE TABLE model_version_tags (
    name    TEXT    NOT NULL,
    version INTEGER NOT NULL,
    key     TEXT    NOT NULL,
    value   TEXT    NOT NULL,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON UPDATE CASCADE ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE registered_model_aliases (
    name    TEXT    NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    alias   TEXT    NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, alias)
) WITHOUT ROWID;

-- Who moved what when: stage transitions and alias moves, kept after the version is gone.
CREATE TABLE model_version_events (
    event_id   INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    kind       TEXT    NOT NULL, -- 'stage' | 'alias_set' | 'alias_deleted' | 'created'
    from_value TEXT,
    to_value   TEXT,
    actor      TEXT    NOT NULL,
    timestamp  INTEGER NOT NULL
);
CREATE INDEX model_version_events_by_version ON model_version_events (name, version, timestamp);

CREATE TABLE logged_models (
    model_id          TEXT    NOT NULL PRIMARY KEY,
    experiment_id     INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name              TEXT    NOT NULL,
    artifact_location TEXT    NOT NULL,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    status            TEXT    NOT NULL,
    model_type        TEXT,
    source_run_id     TEXT,
    status_message    TEXT,
    lifecycle_stage   TEXT    NOT NULL DEFAULT 'active'
);
CREATE INDEX logged_models_by_experiment ON logged_models (experiment_id, creation_time);

CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE run_outputs (
    run_uuid TEXT    NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    model_id TEXT    NOT NULL,
    step     INTEGER NOT NULL,
    PRIMARY KEY (run_uuid, model_id)
) WITHOUT ROWID;
