//! One run's info row, and the check every write to a run starts with. Shared by the run writes
//! (`runs`) and the logged-model writes that touch runs (`logged_models`).

use super::search::RUN_COLUMNS;
use super::{run_not_found, Dialect};
use crate::store::{StoreError, StoreResult};
use protocol::{RunInfo, RunStatus};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// A `runs` row as stored: the experiment id is the integer the database keys on. It becomes a
/// wire [`RunInfo`] (string id, as MLflow's JSON has it) only on the way out.
#[derive(Debug, Clone)]
pub(super) struct RunRow {
    pub(super) run_id: String,
    pub(super) experiment_id: i64,
    pub(super) run_name: String,
    pub(super) user_id: String,
    pub(super) status: RunStatus,
    pub(super) start_time: i64,
    pub(super) end_time: Option<i64>,
    pub(super) artifact_uri: String,
    pub(super) lifecycle_stage: String,
}

impl RunRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let status: String = row.try_get(4)?;
        Ok(Self {
            run_id: row.try_get(0)?,
            experiment_id: row.try_get(1)?,
            run_name: row.try_get(2)?,
            user_id: row.try_get(3)?,
            status: RunStatus::parse(&status).unwrap_or(RunStatus::Running),
            start_time: row.try_get(5)?,
            end_time: row.try_get(6)?,
            artifact_uri: row.try_get(7)?,
            lifecycle_stage: row.try_get(8)?,
        })
    }

    pub(super) fn into_info(self) -> RunInfo {
        RunInfo {
            run_uuid: self.run_id.clone(),
            run_id: self.run_id,
            experiment_id: self.experiment_id.to_string(),
            run_name: self.run_name,
            user_id: self.user_id,
            status: self.status,
            start_time: self.start_time,
            end_time: self.end_time,
            artifact_uri: self.artifact_uri,
            lifecycle_stage: self.lifecycle_stage,
        }
    }
}

pub(super) async fn fetch_run(conn: &mut AnyConnection, run_id: &str) -> StoreResult<RunRow> {
    fetch_run_with(conn, run_id, "").await
}

async fn fetch_run_with(conn: &mut AnyConnection, run_id: &str, lock: &str) -> StoreResult<RunRow> {
    let row = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM runs r WHERE r.run_uuid = $1{lock}"
    ))
    .bind(run_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| run_not_found(run_id))?;
    Ok(RunRow::from_row(&row)?)
}

/// Writes to a run require it to exist and be active (MLflow's `_check_run_is_active`).
pub(super) async fn require_active_run(
    conn: &mut AnyConnection,
    run_id: &str,
) -> StoreResult<RunRow> {
    active(fetch_run(conn, run_id).await?, run_id)
}

/// [`require_active_run`], and on PostgreSQL a lock on the run row until the transaction ends,
/// taken by the writes of metric points.
///
/// Why: metric points have no foreign key to their series there (migration 0008); this one lock
/// per request, instead of one per point, keeps a concurrent purge of the run from deleting the
/// series under points not yet committed (the purge waits). And it is exclusive between batches of
/// one run (`FOR NO KEY UPDATE`): two batches of the same run (a client retrying one, or logging
/// from several threads) update the same latest-value rows and insert the same point keys, each in
/// its own order, and PostgreSQL answered the second with "deadlock detected". Batches of one run
/// now take turns; other runs' batches, and reads, do not wait. SQLite has a single writer, so
/// nothing can interleave.
pub(super) async fn lock_active_run(conn: &mut AnyConnection, run_id: &str) -> StoreResult<RunRow> {
    let lock = match Dialect::of(conn) {
        Dialect::Postgres => " FOR NO KEY UPDATE",
        Dialect::Sqlite => "",
    };
    active(fetch_run_with(conn, run_id, lock).await?, run_id)
}

fn active(run: RunRow, run_id: &str) -> StoreResult<RunRow> {
    check_active(run_id, &run.lifecycle_stage)?;
    Ok(run)
}

/// MLflow's error for a write to a run in another lifecycle stage than `active`.
pub(super) fn check_active(run_id: &str, lifecycle_stage: &str) -> StoreResult<()> {
    if lifecycle_stage != "active" {
        return Err(StoreError::InvalidState(format!(
            "The run {run_id} must be in the 'active' state. Current state is {lifecycle_stage}."
        )));
    }
    Ok(())
}
