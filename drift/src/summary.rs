//! What a test needs to know about one side of one column: the sorted distinct finite values with their
//! counts (numerical) or the category counts (categorical).
//!
//! Every test in [`crate::stats`] reads only these summaries, never the raw rows. That is what makes a saved
//! [`crate::Profile`] give *bit-identical* results to the raw reference: the raw path builds the very same
//! summary first. Distinct values with counts are also exact (KS and Wasserstein need the full empirical
//! distribution) and are smaller than the raw column whenever values repeat.

use std::collections::BTreeMap;

use crate::data::{ColumnType, Values, MISSING};
use crate::error::{DriftError, Side};

/// Sorted distinct finite values of a numerical column and how often each occurs.
#[derive(Debug, Clone, PartialEq)]
pub struct NumSummary {
    /// Strictly increasing; `-0.0` is folded into `0.0` as pandas does.
    pub(crate) values: Vec<f64>,
    /// `counts[i]` rows hold `values[i]`; all counts are ≥ 1.
    pub(crate) counts: Vec<u64>,
    /// Rows after NaN/±inf were dropped: the sum of `counts`.
    pub(crate) n: u64,
    /// The column was an integer column on this side (see [`Values::Integer`]): numpy's integer
    /// binning rule applies when both sides are.
    pub(crate) integer: bool,
}

/// Categories of a categorical column (sorted by their text) and how often each occurs.
#[derive(Debug, Clone, PartialEq)]
pub struct CatSummary {
    pub(crate) categories: Vec<String>,
    pub(crate) counts: Vec<u64>,
    pub(crate) n: u64,
}

/// One side of one column, ready for testing.
#[derive(Debug, Clone, PartialEq)]
pub enum Summary {
    /// A numerical column.
    Num(NumSummary),
    /// A categorical column.
    Cat(CatSummary),
}

/// Maps an `f64` to a `u64` whose unsigned order is the float order, so sorting is an integer sort (much
/// faster than `sort_by(f64::total_cmp)` on a million rows).
fn order_key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

fn from_order_key(k: u64) -> f64 {
    if k >> 63 == 1 {
        f64::from_bits(k & !(1 << 63))
    } else {
        f64::from_bits(!k)
    }
}

impl NumSummary {
    /// Drops NaN and ±inf, sorts, and counts repeats.
    pub fn from_values(values: &[f64]) -> Self {
        // `+ 0.0` turns -0.0 into 0.0: numpy and pandas treat them as one value.
        let mut keys: Vec<u64> = values
            .iter()
            .filter(|x| x.is_finite())
            .map(|&x| order_key(x + 0.0))
            .collect();
        keys.sort_unstable();
        let mut out = NumSummary {
            values: Vec::new(),
            counts: Vec::new(),
            n: keys.len() as u64,
            integer: false,
        };
        let mut i = 0;
        while i < keys.len() {
            let mut j = i + 1;
            while j < keys.len() && keys[j] == keys[i] {
                j += 1;
            }
            out.values.push(from_order_key(keys[i]));
            out.counts.push((j - i) as u64);
            i = j;
        }
        out
    }

    /// An integer column. The values are compared as `f64`, as numpy compares them with float bin
    /// edges; beyond 2^53 neighbouring integers share a float, which numpy's edges cannot tell apart
    /// either.
    pub fn from_integers(values: &[i64]) -> Self {
        let floats: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        NumSummary {
            integer: true,
            ..Self::from_values(&floats)
        }
    }

    /// Builds a summary from distinct values and counts (used when reading a profile).
    pub(crate) fn from_parts(values: Vec<f64>, counts: Vec<u64>, integer: bool) -> Option<Self> {
        let ok = values.len() == counts.len()
            && values.iter().all(|v| v.is_finite())
            && values.windows(2).all(|w| w[0] < w[1])
            && counts.iter().all(|&c| c > 0)
            && (!integer || values.iter().all(|v| v.fract() == 0.0));
        ok.then(|| {
            let n = counts.iter().sum();
            NumSummary {
                values,
                counts,
                n,
                integer,
            }
        })
    }

    /// True when the column held integers on this side.
    pub fn is_integer(&self) -> bool {
        self.integer
    }

    /// Rows after NaN/±inf were dropped.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True when no finite value is left.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Population standard deviation (numpy's `np.std`, ddof 0). Two passes with compensated sums, so a
    /// million rows lose no more precision than numpy's pairwise sum does.
    pub fn std(&self) -> f64 {
        let n = self.n as f64;
        let mut sum = Neumaier::default();
        for (v, c) in self.values.iter().zip(&self.counts) {
            sum.add(v * (*c as f64));
        }
        let mean = sum.total() / n;
        let mut sq = Neumaier::default();
        for (v, c) in self.values.iter().zip(&self.counts) {
            let d = v - mean;
            sq.add(d * d * (*c as f64));
        }
        (sq.total() / n).sqrt()
    }

    /// Smallest value.
    pub fn min(&self) -> f64 {
        self.values.first().copied().unwrap_or(f64::NAN)
    }

    /// Largest value.
    pub fn max(&self) -> f64 {
        self.values.last().copied().unwrap_or(f64::NAN)
    }
}

impl CatSummary {
    /// Counts the non-missing codes of a text column.
    pub fn from_codes(codes: &[u32], dictionary: &[String]) -> Self {
        let mut counts = vec![0u64; dictionary.len()];
        for &code in codes {
            if code != MISSING {
                if let Some(c) = counts.get_mut(code as usize) {
                    *c += 1;
                }
            }
        }
        let mut pairs: Vec<(String, u64)> = dictionary
            .iter()
            .zip(counts)
            .filter(|(_, c)| *c > 0)
            .map(|(s, c)| (s.clone(), c))
            .collect();
        pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Self::from_sorted_pairs(pairs)
    }

    /// Numbers used as categories (a 0/1 flag declared categorical, say): each distinct finite number is a
    /// category named by its shortest round-trip text, so `1.0` is `"1"` on both sides.
    pub fn from_numbers(values: &[f64]) -> Self {
        let num = NumSummary::from_values(values);
        let mut map: BTreeMap<String, u64> = BTreeMap::new();
        for (v, c) in num.values.iter().zip(&num.counts) {
            *map.entry(format!("{v}")).or_default() += c;
        }
        Self::from_sorted_pairs(map.into_iter().collect())
    }

    fn from_sorted_pairs(pairs: Vec<(String, u64)>) -> Self {
        let n = pairs.iter().map(|p| p.1).sum();
        let (categories, counts) = pairs.into_iter().unzip();
        CatSummary {
            categories,
            counts,
            n,
        }
    }

    /// Builds a summary from categories and counts (used when reading a profile).
    pub(crate) fn from_parts(categories: Vec<String>, counts: Vec<u64>) -> Option<Self> {
        let ok = categories.len() == counts.len()
            && categories.windows(2).all(|w| w[0] < w[1])
            && counts.iter().all(|&c| c > 0);
        ok.then(|| Self::from_sorted_pairs(categories.into_iter().zip(counts).collect()))
    }

    /// Non-missing rows.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True when every value is missing.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

impl Summary {
    /// Summarises `values` as a column of type `ty`, or explains why it cannot be one.
    ///
    /// # Errors
    /// [`DriftError::NotNumerical`] for text in a numerical column, [`DriftError::EmptyColumn`] when nothing
    /// finite is left.
    pub fn build(
        column: &str,
        ty: ColumnType,
        values: &Values,
        side: Side,
    ) -> Result<Self, DriftError> {
        let summary = match (ty, values) {
            (ColumnType::Numerical, Values::Numeric(v)) => Summary::Num(NumSummary::from_values(v)),
            (ColumnType::Numerical, Values::Integer(v)) => {
                Summary::Num(NumSummary::from_integers(v))
            }
            (ColumnType::Numerical, Values::Text { .. }) => {
                return Err(DriftError::NotNumerical {
                    column: column.to_owned(),
                    side,
                })
            }
            (ColumnType::Categorical, Values::Numeric(v)) => {
                Summary::Cat(CatSummary::from_numbers(v))
            }
            (ColumnType::Categorical, Values::Integer(v)) => {
                let floats: Vec<f64> = v.iter().map(|&x| x as f64).collect();
                Summary::Cat(CatSummary::from_numbers(&floats))
            }
            (ColumnType::Categorical, Values::Text { codes, dictionary }) => {
                Summary::Cat(CatSummary::from_codes(codes, dictionary))
            }
        };
        if summary.is_empty() {
            return Err(DriftError::EmptyColumn {
                column: column.to_owned(),
                side,
            });
        }
        Ok(summary)
    }

    /// Rows left after missing values were dropped.
    pub fn len(&self) -> u64 {
        match self {
            Summary::Num(s) => s.n,
            Summary::Cat(s) => s.n,
        }
    }

    /// True when no value is left.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The column type this summary was built as.
    pub fn column_type(&self) -> ColumnType {
        match self {
            Summary::Num(_) => ColumnType::Numerical,
            Summary::Cat(_) => ColumnType::Categorical,
        }
    }

    /// Number of distinct values on this side.
    pub fn distinct(&self) -> usize {
        match self {
            Summary::Num(s) => s.values.len(),
            Summary::Cat(s) => s.categories.len(),
        }
    }
}

/// Counts of both sides over the union of their distinct values, in sorted key order. This is Evidently's
/// `keys` + `value_counts` step for chi-square, Z, and the unbinned PSI/KL/JS/Hellinger.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Aligned {
    pub reference: Vec<u64>,
    pub current: Vec<u64>,
}

/// Aligns two summaries of the same kind. Both key lists are sorted, so this is a linear merge.
pub(crate) fn align(reference: &Summary, current: &Summary) -> Aligned {
    match (reference, current) {
        (Summary::Num(r), Summary::Num(c)) => {
            merge(&r.values, &r.counts, &c.values, &c.counts, |a, b| {
                a.total_cmp(b)
            })
        }
        (Summary::Cat(r), Summary::Cat(c)) => {
            merge(&r.categories, &r.counts, &c.categories, &c.counts, Ord::cmp)
        }
        // The caller builds both sides with the same column type; mixed kinds align to nothing.
        _ => Aligned {
            reference: Vec::new(),
            current: Vec::new(),
        },
    }
}

fn merge<T>(
    rk: &[T],
    rc: &[u64],
    ck: &[T],
    cc: &[u64],
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> Aligned {
    use std::cmp::Ordering;
    let (mut i, mut j) = (0, 0);
    let mut out = Aligned {
        reference: Vec::new(),
        current: Vec::new(),
    };
    while i < rk.len() || j < ck.len() {
        let order = match (rk.get(i), ck.get(j)) {
            (Some(a), Some(b)) => cmp(a, b),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                out.reference.push(rc[i]);
                out.current.push(0);
                i += 1;
            }
            Ordering::Greater => {
                out.reference.push(0);
                out.current.push(cc[j]);
                j += 1;
            }
            Ordering::Equal => {
                out.reference.push(rc[i]);
                out.current.push(cc[j]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Number of distinct values over both sides together (Evidently's `pd.concat([ref, cur]).nunique()`).
pub(crate) fn union_distinct(reference: &Summary, current: &Summary) -> usize {
    fn count<T>(a: &[T], b: &[T], cmp: impl Fn(&T, &T) -> std::cmp::Ordering) -> usize {
        let (mut i, mut j, mut n) = (0, 0, 0);
        while i < a.len() && j < b.len() {
            let order = cmp(&a[i], &b[j]);
            i += usize::from(order.is_le());
            j += usize::from(order.is_ge());
            n += 1;
        }
        n + (a.len() - i) + (b.len() - j)
    }
    match (reference, current) {
        (Summary::Num(r), Summary::Num(c)) => count(&r.values, &c.values, f64::total_cmp),
        (Summary::Cat(r), Summary::Cat(c)) => count(&r.categories, &c.categories, Ord::cmp),
        _ => 0,
    }
}

/// Neumaier's compensated sum: stays accurate over millions of terms where a naive loop drifts.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Neumaier {
    sum: f64,
    comp: f64,
}

impl Neumaier {
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    pub(crate) fn total(self) -> f64 {
        // An infinite term (chi-square with an expected count of 0) makes the compensation NaN.
        if self.sum.is_finite() {
            self.sum + self.comp
        } else {
            self.sum
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_sort_like_floats() {
        let xs = [-3.5, -0.0, 0.0, 1e-300, 2.0, f64::MAX, -f64::MAX];
        for a in xs {
            assert_eq!(from_order_key(order_key(a)).to_bits(), a.to_bits());
            for b in xs {
                assert_eq!(order_key(a).cmp(&order_key(b)), a.total_cmp(&b));
            }
        }
    }

    #[test]
    fn numeric_summary_drops_non_finite_and_merges_signed_zero() {
        let s = NumSummary::from_values(&[1.0, f64::NAN, -0.0, 0.0, f64::INFINITY, 1.0, -2.0]);
        assert_eq!(s.values, vec![-2.0, 0.0, 1.0]);
        assert_eq!(s.counts, vec![1, 2, 2]);
        assert_eq!(s.n, 5);
        assert_eq!(s.values[1].to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn alignment_covers_categories_seen_on_one_side_only() {
        let r = Summary::Cat(CatSummary::from_sorted_pairs(vec![
            ("a".into(), 3),
            ("b".into(), 1),
        ]));
        let c = Summary::Cat(CatSummary::from_sorted_pairs(vec![
            ("b".into(), 2),
            ("c".into(), 5),
        ]));
        let a = align(&r, &c);
        assert_eq!(a.reference, vec![3, 1, 0]);
        assert_eq!(a.current, vec![0, 2, 5]);
        assert_eq!(union_distinct(&r, &c), 3);
    }

    #[test]
    fn numbers_as_categories_are_named_by_shortest_text() {
        let s = CatSummary::from_numbers(&[1.0, 0.0, 1.0, f64::NAN]);
        assert_eq!(s.categories, vec!["0".to_owned(), "1".to_owned()]);
        assert_eq!(s.counts, vec![1, 2]);
    }
}
