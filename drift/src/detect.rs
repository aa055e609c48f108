//! The drift run: resolve each column's type, test and threshold, score all columns in parallel, apply the
//! optional correction, and decide dataset drift.

use rayon::prelude::*;

use crate::data::{ColumnType, Dataset};
use crate::error::{DriftError, Side};
use crate::multivariate::sample::RowSample;
use crate::multivariate::{self, Multivariate, CURRENT_SEED, REFERENCE_SEED};
use crate::options::{Correction, Settings};
use crate::profile::{plan_data, Planned, Profile};
use crate::report::{chart_for, ColumnDrift, DatasetDrift, DriftReport, PredictionDrift};
use crate::stats::default_test;
use crate::summary::Summary;

/// Where the reference comes from: raw rows, or a [`Profile`] saved from them. Both give identical
/// results because the raw rows are summarised into exactly what a profile stores.
#[derive(Debug, Clone, Copy)]
pub enum Reference<'a> {
    /// Raw reference rows.
    Data(&'a Dataset),
    /// A saved reference profile.
    Profile(&'a Profile),
}

/// Compares `current` with `reference` column by column.
///
/// # Errors
/// See [`DriftError`]: missing columns on either side, empty data or columns, text in a numerical column,
/// a test not allowed for a column's type, invalid options.
pub fn detect(
    reference: Reference<'_>,
    current: &Dataset,
    settings: &Settings,
) -> Result<DriftReport, DriftError> {
    settings.validate()?;
    let plan = plan(reference, settings)?;
    if current.rows() == 0 {
        return Err(DriftError::EmptyDataset {
            side: Side::Current,
        });
    }
    for (name, _) in current.columns() {
        if !plan.iter().any(|p| p.name == name) {
            return Err(DriftError::MissingColumn {
                column: name.clone(),
                side: Side::Reference,
            });
        }
    }
    for name in settings.named_columns() {
        if !plan.iter().any(|p| p.name == name) {
            return Err(DriftError::UnknownColumn {
                column: name.clone(),
            });
        }
    }

    let data = match reference {
        Reference::Data(d) => Some(d),
        Reference::Profile(_) => None,
    };
    // The classifier runs beside the column tests: both use rayon, and neither waits for the other.
    let (columns, multivariate) = rayon::join(
        || {
            plan.par_iter()
                .map(|p| score_column(p, data, current, settings))
                .collect::<Result<Vec<_>, _>>()
        },
        || multivariate_test(reference, &plan, current, settings),
    );
    let mut columns = columns?;

    apply_correction(&mut columns, settings.correction);

    let drifted = columns.iter().filter(|c| c.drift_detected).count();
    let share = drifted as f64 / columns.len() as f64;
    let prediction = settings.prediction.as_deref().and_then(|name| {
        columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| PredictionDrift {
                column: c.name.clone(),
                stattest: c.stattest,
                threshold: c.threshold,
                drift_score: c.drift_score,
                drift_detected: c.drift_detected,
            })
    });
    Ok(DriftReport {
        dataset: DatasetDrift {
            number_of_columns: columns.len(),
            number_of_drifted_columns: drifted,
            share_of_drifted_columns: share,
            drift_share: settings.drift_share,
            dataset_drift: share >= settings.drift_share,
        },
        columns,
        prediction,
        correction: settings.correction,
        multivariate,
    })
}

/// The domain-classifier test on seeded samples of both sides, or `None` when it is switched off.
fn multivariate_test(
    reference: Reference<'_>,
    plan: &[Planned<'_>],
    current: &Dataset,
    settings: &Settings,
) -> Option<Multivariate> {
    let m = &settings.multivariate;
    if !m.enabled {
        return None;
    }
    let types: Vec<(&str, ColumnType)> = plan.iter().map(|p| (p.name, p.ty)).collect();
    let owned;
    let reference_sample = match reference {
        Reference::Data(d) => {
            owned = RowSample::take(d, &types, m.max_rows, REFERENCE_SEED);
            &owned
        }
        Reference::Profile(p) => match &p.sample {
            Some(s) => s,
            None => {
                return Some(Multivariate::skipped(
                    "the reference profile has no row sample (saved by an older mltrack): save it again to test multivariate drift",
                ))
            }
        },
    };
    let current_sample = RowSample::take(current, &types, m.max_rows, CURRENT_SEED);
    Some(multivariate::test(
        &types,
        reference_sample,
        &current_sample,
        m.threshold,
    ))
}

/// Settles the column list and types from the reference.
fn plan<'a>(reference: Reference<'a>, settings: &Settings) -> Result<Vec<Planned<'a>>, DriftError> {
    let mut plan = Vec::new();
    match reference {
        Reference::Data(d) => plan.extend(plan_data(d, settings)?),
        Reference::Profile(p) => {
            for (name, summary) in &p.columns {
                let ty = summary.column_type();
                if let Some(declared) = settings.declared(name)? {
                    if declared != ty {
                        return Err(DriftError::TypeMismatch {
                            column: name.clone(),
                            expected: ty.word(),
                            found: declared.word(),
                        });
                    }
                }
                plan.push(Planned {
                    name,
                    ty,
                    reference: Some(summary),
                });
            }
        }
    }
    if plan.is_empty() {
        return Err(DriftError::NoColumns);
    }
    Ok(plan)
}

/// One column, start to finish. Runs on a rayon worker; the raw columns are only borrowed, and the
/// summaries (one sorted copy per side) live only for this call, so peak memory grows with the number of
/// threads, not of columns.
fn score_column(
    p: &Planned<'_>,
    data: Option<&Dataset>,
    current: &Dataset,
    settings: &Settings,
) -> Result<ColumnDrift, DriftError> {
    let owned;
    let reference = match (p.reference, data) {
        (Some(summary), _) => summary,
        (None, Some(d)) => {
            let values = d.column(p.name).ok_or_else(|| DriftError::MissingColumn {
                column: p.name.to_owned(),
                side: Side::Reference,
            })?;
            owned = Summary::build(p.name, p.ty, values, Side::Reference)?;
            &owned
        }
        (None, None) => {
            return Err(DriftError::MissingColumn {
                column: p.name.to_owned(),
                side: Side::Reference,
            })
        }
    };
    let values = current
        .column(p.name)
        .ok_or_else(|| DriftError::MissingColumn {
            column: p.name.to_owned(),
            side: Side::Current,
        })?;
    let cur = Summary::build(p.name, p.ty, values, Side::Current)?;

    let test = match settings.stattest.resolve(p.name, p.ty) {
        Some(t) if !t.allows(p.ty) => {
            return Err(DriftError::InvalidStatTest {
                test: t.name(),
                column: p.name.to_owned(),
                column_type: p.ty.word(),
            })
        }
        Some(t) => t,
        None => default_test(reference, &cur),
    };
    let threshold = settings
        .threshold
        .resolve(p.name, p.ty)
        .unwrap_or_else(|| test.default_threshold());
    let score = test.score(reference, &cur);
    Ok(ColumnDrift {
        name: p.name.to_owned(),
        column_type: p.ty,
        stattest: test,
        threshold,
        drift_score: score,
        drift_detected: test.detects(score, threshold),
        adjusted_p_value: None,
        reference_rows: reference.len(),
        current_rows: cur.len(),
        chart: chart_for(reference, &cur),
    })
}

/// Replaces the drift decision of p-value columns by one on adjusted p-values. NaN p-values (a constant
/// column under chi-square) stay NaN and are not counted in m.
fn apply_correction(columns: &mut [ColumnDrift], correction: Correction) {
    if correction == Correction::None {
        return;
    }
    let mut idx: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].stattest.is_p_value() && !columns[i].drift_score.is_nan())
        .collect();
    let m = idx.len() as f64;
    let adjusted: Vec<(usize, f64)> = match correction {
        Correction::None => Vec::new(),
        Correction::Bonferroni => idx
            .iter()
            .map(|&i| (i, (columns[i].drift_score * m).min(1.0)))
            .collect(),
        Correction::Fdr => {
            // Benjamini–Hochberg: q_(k) = min over j ≥ k of p_(j)·m/j, in ascending p order.
            idx.sort_by(|&a, &b| columns[a].drift_score.total_cmp(&columns[b].drift_score));
            let mut out = vec![(0, 0.0); idx.len()];
            let mut running = 1.0f64;
            for (rank, &i) in idx.iter().enumerate().rev() {
                running = running.min(columns[i].drift_score * m / (rank + 1) as f64);
                out[rank] = (i, running);
            }
            out
        }
    };
    for (i, q) in adjusted {
        let c = &mut columns[i];
        c.adjusted_p_value = Some(q);
        c.drift_detected = c.stattest.detects(q, c.threshold);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Chart;
    use crate::stats::StatTest;

    fn col(name: &str, test: StatTest, score: f64) -> ColumnDrift {
        ColumnDrift {
            name: name.into(),
            column_type: ColumnType::Numerical,
            stattest: test,
            threshold: 0.05,
            drift_score: score,
            drift_detected: test.detects(score, 0.05),
            adjusted_p_value: None,
            reference_rows: 1,
            current_rows: 1,
            chart: Chart::Numeric {
                edges: Vec::new(),
                reference: Vec::new(),
                current: Vec::new(),
            },
        }
    }

    #[test]
    fn benjamini_hochberg_adjusts_in_rank_order_and_skips_distances() {
        // Textbook example: p = 0.01, 0.04, 0.03, 0.2 with m = 4 gives q = 0.04, 0.0533, 0.0533, 0.2.
        let mut cols = vec![
            col("a", StatTest::Ks, 0.01),
            col("b", StatTest::Chisquare, 0.04),
            col("c", StatTest::Z, 0.03),
            col("d", StatTest::Ks, 0.2),
            col("e", StatTest::Wasserstein, 0.5),
            col("f", StatTest::Chisquare, f64::NAN),
        ];
        apply_correction(&mut cols, Correction::Fdr);
        let q: Vec<Option<f64>> = cols.iter().map(|c| c.adjusted_p_value).collect();
        let close = |x: Option<f64>, y: f64| x.is_some_and(|x| (x - y).abs() < 1e-15);
        assert!(
            close(q[0], 0.04)
                && close(q[1], 0.16 / 3.0)
                && close(q[2], 0.16 / 3.0)
                && close(q[3], 0.2),
            "{q:?}"
        );
        assert_eq!((q[4], q[5]), (None, None));
        let drifted: Vec<bool> = cols.iter().map(|c| c.drift_detected).collect();
        assert_eq!(drifted, [true, false, false, false, true, false]);
    }

    #[test]
    fn no_correction_leaves_decisions_alone() {
        let mut cols = vec![col("a", StatTest::Ks, 0.04), col("b", StatTest::Ks, 0.04)];
        apply_correction(&mut cols, Correction::None);
        assert!(cols
            .iter()
            .all(|c| c.drift_detected && c.adjusted_p_value.is_none()));
    }
}
