//! Moving a run's recent metric points into `metric_points`, in bulk (SQLite only; the tables are in
//! migrations/sqlite/0010).
//!
//! Why: both tables are ordered by series, and a training loop's batch adds one point to each of a
//! run's series. Written straight into the big table, a batch changed one page per series once
//! each series outgrew a page: 500 pages, each copied whole into the write-ahead log, for 500
//! points (a 500-metric batch fell from ~290 to ~170 requests/s over a minute of logging). In the
//! small table the run's recent points fill a few pages, and a move every [`MOVE_EVERY`] batches
//! changes each series' page in the big table once for all of them.
//!
//! A run that stops before its next move keeps up to [`MOVE_EVERY`] − 1 batches in the small table,
//! where reads find them as well (the `metrics` view reads both). The counts live in the batch
//! writer's thread only: after a restart a run's next move comes [`MOVE_EVERY`] batches later.

use super::{Arg, SqlBuf};
use std::collections::HashMap;

/// Batches of a run between two moves.
pub(super) const MOVE_EVERY: u32 = 16;

/// Runs counted at most; past it the counts start again (forgetting delays a move, nothing else).
const RUNS_COUNTED: usize = 100_000;

/// Committed batches per run since its last move.
#[derive(Default)]
pub(super) struct Staged(HashMap<String, u32>);

impl Staged {
    /// Counts a committed batch; true when the run's points are due to move.
    pub(super) fn count(&mut self, run_id: &str) -> bool {
        if self.0.len() >= RUNS_COUNTED && !self.0.contains_key(run_id) {
            self.0.clear();
        }
        let n = self.0.entry(run_id.to_string()).or_insert(0);
        *n += 1;
        if *n >= MOVE_EVERY {
            self.0.remove(run_id);
            return true;
        }
        false
    }
}

/// The move, in its own transaction: a point already in `metric_points` is kept once.
pub(super) fn move_run(run_id: &str) -> SqlBuf {
    let mut sql = SqlBuf::new(
        "BEGIN IMMEDIATE;\n\
         INSERT OR IGNORE INTO metric_points (series_id, ts_offset, step, value, is_nan) \
         SELECT r.series_id, r.ts_offset, r.step, r.value, r.is_nan \
         FROM metric_series s JOIN metric_points_recent r ON r.series_id = s.series_id \
         WHERE s.run_uuid = ",
    );
    sql.bind(Arg::Str(run_id.to_string()))
        .push(
            ";\nDELETE FROM metric_points_recent WHERE series_id IN \
             (SELECT series_id FROM metric_series WHERE run_uuid = ",
        )
        .bind(Arg::Str(run_id.to_string()))
        .push(");\nCOMMIT;");
    sql
}

#[cfg(test)]
mod tests {
    use super::{Staged, MOVE_EVERY};

    #[test]
    fn a_run_moves_every_so_many_batches() {
        let mut staged = Staged::default();
        let due: Vec<u32> = (1..=3 * MOVE_EVERY).filter(|_| staged.count("a")).collect();
        assert_eq!(due.len(), 3);
        assert!(!staged.count("b"));
    }
}
