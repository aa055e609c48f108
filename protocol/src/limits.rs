//! MLflow's limits (`mlflow/utils/validation.py`), in one place for the server that enforces them
//! and the client that splits its batches by them.

/// `MAX_ENTITY_KEY_LENGTH`: metric names, param keys, run/experiment tag keys.
pub const MAX_KEY_LENGTH: usize = 250;
/// `MAX_PARAM_VAL_LENGTH`; longer values are truncated, as the server does by default.
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// `MAX_TAG_VAL_LENGTH` for run tags; longer values are truncated.
pub const MAX_RUN_TAG_VALUE_LENGTH: usize = 8000;
pub const MAX_EXPERIMENT_TAG_VALUE_LENGTH: usize = 20000;
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
pub const MAX_ARTIFACT_LOCATION_LENGTH: usize = 2048;
/// `log-batch`: at most this many metrics, params and tags, and this many in all.
pub const MAX_BATCH_METRICS: usize = 1000;
pub const MAX_BATCH_PARAMS: usize = 100;
pub const MAX_BATCH_TAGS: usize = 100;
pub const MAX_BATCH_TOTAL: usize = 1000;
pub const MAX_DATASET_NAME_LENGTH: usize = 500;
pub const MAX_DATASET_DIGEST_LENGTH: usize = 36;
pub const MAX_DATASET_SOURCE_LENGTH: usize = 65535;
pub const MAX_DATASET_SCHEMA_LENGTH: usize = 1_048_575;
pub const MAX_DATASET_PROFILE_LENGTH: usize = 16_777_215;
pub const MAX_INPUT_TAG_KEY_LENGTH: usize = 255;
pub const MAX_INPUT_TAG_VALUE_LENGTH: usize = 500;
