//! Seeded row samples: what the domain classifier reads from each side, and what a profile keeps of
//! the reference rows (a profile has no raw rows otherwise).
//!
//! The generator is `SplitMix64`, written out here rather than taken from `rand`: a profile saved today
//! must draw the same rows from the same data next year, so the stream cannot depend on a crate's
//! version. Sampling is Knuth's selection sampling (Algorithm S): one pass, the rows come out in file
//! order, and every subset of `k` rows is equally likely.

use crate::data::{ColumnType, Dataset, Values, MISSING};

/// `SplitMix64` (Steele, Lea and Flood 2014; the seeding generator of xoshiro).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-40 for the sizes used here).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        let wide = u128::from(self.next_u64()) * n as u128;
        // The high word of a 64×64-bit product is below `n`, so it fits.
        #[allow(clippy::cast_possible_truncation)]
        let i = (wide >> 64) as usize;
        i
    }

    /// Fisher–Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// `k` of the row indices `0..n`, increasing, chosen uniformly (all of them when `k >= n`).
pub(crate) fn choose_rows(n: usize, k: usize, seed: u64) -> Vec<usize> {
    if k >= n {
        return (0..n).collect();
    }
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(k);
    for i in 0..n {
        let left = (n - i) as f64;
        if left * rng.unit() < (k - out.len()) as f64 {
            out.push(i);
            if out.len() == k {
                break;
            }
        }
    }
    out
}

/// One column of a sample: numbers (NaN is missing) or category names (`None` is missing).
#[derive(Debug, Clone)]
pub(crate) enum SampleColumn {
    Num(Vec<f64>),
    Cat(Vec<Option<String>>),
}

/// Bit equality, so that a missing number (NaN) equals itself and a profile equals its JSON copy.
impl PartialEq for SampleColumn {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (SampleColumn::Num(a), SampleColumn::Num(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            (SampleColumn::Cat(a), SampleColumn::Cat(b)) => a == b,
            _ => false,
        }
    }
}

impl SampleColumn {
    pub(crate) fn len(&self) -> usize {
        match self {
            SampleColumn::Num(v) => v.len(),
            SampleColumn::Cat(v) => v.len(),
        }
    }
}

/// Some rows of a dataset, each column already in the form its drift type compares.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowSample {
    pub(crate) columns: Vec<(String, SampleColumn)>,
}

impl RowSample {
    /// Rows in the sample.
    pub(crate) fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }

    /// The column called `name`.
    pub(crate) fn column(&self, name: &str) -> Option<&SampleColumn> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// Up to `max_rows` rows of `data`, seeded, for the columns and types in `plan`. A number in a
    /// categorical column is named as [`crate::summary::CatSummary::from_numbers`] names it, so both
    /// sides and the profile's summaries agree on category names; text in a numerical column (an
    /// error the column tests report first) is missing here.
    pub(crate) fn take(
        data: &Dataset,
        plan: &[(&str, ColumnType)],
        max_rows: usize,
        seed: u64,
    ) -> Self {
        let rows = choose_rows(data.rows(), max_rows, seed);
        let columns = plan
            .iter()
            .map(|&(name, ty)| {
                let column = match (ty, data.column(name)) {
                    (ColumnType::Numerical, Some(Values::Numeric(v))) => {
                        SampleColumn::Num(rows.iter().map(|&i| finite_or_nan(v[i])).collect())
                    }
                    (ColumnType::Numerical, Some(Values::Integer(v))) => {
                        SampleColumn::Num(rows.iter().map(|&i| v[i] as f64).collect())
                    }
                    (ColumnType::Numerical, _) => SampleColumn::Num(vec![f64::NAN; rows.len()]),
                    (ColumnType::Categorical, Some(Values::Text { codes, dictionary })) => {
                        SampleColumn::Cat(
                            rows.iter()
                                .map(|&i| match codes[i] {
                                    MISSING => None,
                                    c => dictionary.get(c as usize).cloned(),
                                })
                                .collect(),
                        )
                    }
                    (ColumnType::Categorical, Some(Values::Numeric(v))) => {
                        SampleColumn::Cat(rows.iter().map(|&i| number_name(v[i])).collect())
                    }
                    (ColumnType::Categorical, Some(Values::Integer(v))) => {
                        SampleColumn::Cat(rows.iter().map(|&i| number_name(v[i] as f64)).collect())
                    }
                    (ColumnType::Categorical, None) => SampleColumn::Cat(vec![None; rows.len()]),
                };
                (name.to_owned(), column)
            })
            .collect();
        RowSample { columns }
    }
}

fn finite_or_nan(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::NAN
    }
}

/// The category name of a number: its shortest round-trip text, `-0` folded into `0`.
fn number_name(x: f64) -> Option<String> {
    x.is_finite().then(|| format!("{}", x + 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_rows_and_another_seed_others() {
        let a = choose_rows(10_000, 50, 7);
        assert_eq!(a, choose_rows(10_000, 50, 7));
        assert_ne!(a, choose_rows(10_000, 50, 8));
        assert_eq!(a.len(), 50);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(choose_rows(5, 50, 7), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn selection_sampling_is_uniform_over_rows() {
        // 2000 draws of 10 rows out of 100: each row is drawn 200 times on average.
        let mut hits = [0u32; 100];
        for seed in 0..2000 {
            for i in choose_rows(100, 10, seed) {
                hits[i] += 1;
            }
        }
        assert!(hits.iter().all(|&h| (130..=270).contains(&h)), "{hits:?}");
    }

    #[test]
    fn numbers_in_categorical_columns_are_named_like_the_summaries() {
        let d = Dataset::new()
            .with("n", Values::Numeric(vec![1.0, -0.0, f64::NAN]))
            .and_then(|d| d.with("i", Values::Integer(vec![3, 4, 5])))
            .unwrap_or_default();
        let s = RowSample::take(
            &d,
            &[("n", ColumnType::Categorical), ("i", ColumnType::Numerical)],
            10,
            1,
        );
        assert_eq!(
            s.column("n"),
            Some(&SampleColumn::Cat(vec![
                Some("1".into()),
                Some("0".into()),
                None
            ]))
        );
        assert_eq!(s.column("i"), Some(&SampleColumn::Num(vec![3.0, 4.0, 5.0])));
    }
}
