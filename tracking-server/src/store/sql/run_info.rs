//! One run's info row, and the check every write to a run starts with. Shared by the run writes
//! (`runs`) and the logged-model writes that touch runs (`logged_models`).

use super::run_not_found;
use super::search::RUN_COLUMNS;
use crate::store::{StoreError, StoreResult};
use protocol::{RunInfo, RunStatus};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

fn run_info_from_row(row: &AnyRow) -> Result<RunInfo, sqlx::Error> {
    let run_id: String = row.try_get(0)?;
    let status: String = row.try_get(4)?;
    Ok(RunInfo {
        run_uuid: run_id.clone(),
        run_id,
        experiment_id: row.try_get::<i64, _>(1)?.to_string(),
        run_name: row.try_get(2)?,
        user_id: row.try_get(3)?,
        status: RunStatus::parse(&status).unwrap_or(RunStatus::Running),
        start_time: row.try_get(5)?,
        end_time: row.try_get(6)?,
        artifact_uri: row.try_get(7)?,
        lifecycle_stage: row.try_get(8)?,
    })
}

pub(super) async fn fetch_run_info(conn: &mut AnyConnection, run_id: &str) -> StoreResult<RunInfo> {
    let row = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM runs r WHERE r.run_uuid = $1"
    ))
    .bind(run_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| run_not_found(run_id))?;
    Ok(run_info_from_row(&row)?)
}

/// Writes to a run require it to exist and be active (MLflow's `_check_run_is_active`).
pub(super) async fn require_active_run(
    conn: &mut AnyConnection,
    run_id: &str,
) -> StoreResult<RunInfo> {
    let info = fetch_run_info(conn, run_id).await?;
    if info.lifecycle_stage != "active" {
        return Err(StoreError::InvalidState(format!(
            "The run {run_id} must be in the 'active' state. Current state is {}.",
            info.lifecycle_stage
        )));
    }
    Ok(info)
}
