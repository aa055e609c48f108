use std::collections::BTreeMap;

use linfa::prelude::*;
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

/// y = 10·x0 + 3·[x1 > 0.5] + N(0, 0.25²); x2 is noise.
fn synthetic(n: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, 3), |_| rng.gen::<f64>());
    let y = x
        .rows()
        .into_iter()
        .map(|r| 10.0 * r[0] + if r[1] > 0.5 { 3.0 } else { 0.0 } + 0.25 * (rng.gen::<f64>() - 0.5))
        .collect();
    (x, y)
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("f{i}")).collect()
}

fn rmse(a: &[f64], b: &[f64]) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let n = a.len() as f64;
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / n).sqrt()
}

#[test]
fn a_forest_beats_the_mean_on_held_out_rows() {
    let (x, y) = synthetic(2000, 1);
    let (xt, yt) = synthetic(500, 2);
    let model = RandomForestParams::new()
        .max_depth(8)
        .check()
        .and_then(|p| p.fit_arrays(x.view(), &y, &names(3)))
        .expect("fits");
    let pred = model.predict_array(xt.view()).expect("predicts");
    #[allow(clippy::cast_precision_loss)]
    let mean = yt.iter().sum::<f64>() / yt.len() as f64;
    let baseline = rmse(&yt, &vec![mean; yt.len()]);
    let got = rmse(&yt, pred.as_slice().expect("contiguous"));
    assert!(got < 0.25 * baseline, "rmse {got} vs baseline {baseline}");
}

#[test]
fn the_same_seed_gives_the_same_forest_on_any_thread_count() {
    let (x, y) = synthetic(800, 3);
    let params = RandomForestParams::new()
        .num_trees(12)
        .seed(7)
        .check()
        .expect("valid");
    let fit_on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| params.fit_arrays(x.view(), &y, &names(3)).expect("fits"))
    };
    let one = fit_on(1);
    assert_eq!(one, fit_on(3));
    let other_seed = RandomForestParams::new()
        .num_trees(12)
        .seed(8)
        .check()
        .expect("valid");
    assert_ne!(
        one,
        other_seed
            .fit_arrays(x.view(), &y, &names(3))
            .expect("fits")
    );
}

#[test]
fn categories_are_split_as_a_set_ordered_by_mean_label() {
    // Category means 10, 40, 20: ordered 0, 2, 1, so the best split sends {0, 2} left, which no single
    // threshold on the index could do.
    let cats = [0.0, 1.0, 2.0];
    let means = [10.0, 40.0, 20.0];
    let n = 300;
    let x = Array2::from_shape_fn((n, 1), |(i, _)| cats[i % 3]);
    let y: Vec<f64> = (0..n).map(|i| means[i % 3]).collect();
    let model = RandomForestParams::new()
        .num_trees(1)
        .max_depth(1)
        .categorical_features(BTreeMap::from([(0, 3)]))
        .check()
        .and_then(|p| p.fit_arrays(x.view(), &y, &names(1)))
        .expect("fits");
    let root = model.trees()[0].nodes[0]
        .split
        .as_ref()
        .expect("root splits");
    assert_eq!(
        root.rule,
        Split::Categorical {
            feature: 0,
            categories: vec![0, 2]
        }
    );
    assert_eq!(model.predict_row(&[1.0]), 40.0);
    assert_eq!(model.predict_row(&[2.0]), 15.0);
}

#[test]
fn depth_and_min_instances_bound_every_tree() {
    let (x, y) = synthetic(1000, 4);
    for depth in [0, 1, 3] {
        let model = RandomForestParams::new()
            .max_depth(depth)
            .min_instances_per_node(40)
            .check()
            .and_then(|p| p.fit_arrays(x.view(), &y, &names(3)))
            .expect("fits");
        for tree in model.trees() {
            assert!(tree.depth() <= depth);
            assert!(
                tree.nodes.iter().all(|n| n.weight >= 40.0),
                "a node below minInstancesPerNode"
            );
        }
    }
}

#[test]
fn importances_sum_to_one_and_favour_the_signal() {
    let (x, y) = synthetic(1500, 5);
    let model = RandomForestParams::new()
        .check()
        .and_then(|p| p.fit_arrays(x.view(), &y, &names(3)))
        .expect("fits");
    let imp = model.feature_importances();
    assert!((imp.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(imp[0] > imp[1] && imp[1] > imp[2], "{imp:?}");
}

#[test]
fn nan_features_and_bad_categories_are_refused_with_their_place() {
    let (mut x, y) = synthetic(50, 6);
    x[[7, 2]] = f64::NAN;
    let params = RandomForestParams::new().check().expect("valid");
    let msg = params
        .fit_arrays(x.view(), &y, &names(3))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("`f2`") && msg.contains("row 7"), "{msg}");

    let (mut x, y) = synthetic(50, 6);
    x[[3, 0]] = 2.0;
    let cat = RandomForestParams::new()
        .categorical_features(BTreeMap::from([(0, 2)]))
        .check()
        .expect("valid");
    x.column_mut(0)
        .mapv_inplace(|v| if v > 1.0 { v } else { v.round() });
    let msg = cat
        .fit_arrays(x.view(), &y, &names(3))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("feature 0 row 3"), "{msg}");
}

#[test]
fn poisson_bagging_has_the_sampling_rate_as_mean() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for rate in [0.5, 1.0] {
        let w = bag_weights(200_000, rate, true, &mut rng);
        #[allow(clippy::cast_precision_loss)]
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        #[allow(clippy::cast_precision_loss)]
        let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / w.len() as f64;
        assert!(
            (mean - rate).abs() < 0.01 && (var - rate).abs() < 0.02,
            "{rate}: {mean} {var}"
        );
    }
}

#[test]
fn linfa_fit_and_predict_work_on_a_dataset() {
    let (x, y) = synthetic(400, 10);
    let dataset = Dataset::new(x.clone(), Array1::from(y)).with_feature_names(names(3));
    let model = RandomForestParams::new()
        .fit(&dataset)
        .expect("fits through ParamGuard");
    let pred: Array1<f64> = model.predict(&x);
    assert_eq!(model.feature_names(), names(3).as_slice());
    assert_eq!(pred, model.predict_array(x.view()).expect("predicts"));
    let bad = RandomForestParams::new()
        .max_bins(1)
        .fit(&dataset)
        .unwrap_err();
    assert!(bad.to_string().contains("maxBins"), "{bad}");
}

/// The flattened predictor routes every row exactly as the trees do, including NaN, fractional and
/// out-of-range category values, and categories past the first 64 (a second bitset word).
#[test]
fn compiled_prediction_is_bit_identical_to_walking_the_trees() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 3000;
    let x = Array2::from_shape_fn((n, 3), |(_, j)| match j {
        0 => f64::from(rng.gen_range(0..90u32)),
        _ => rng.gen::<f64>(),
    });
    let y: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| if r[0].rem_euclid(7.0) < 3.0 { 5.0 } else { 0.0 } + 2.0 * r[1])
        .collect();
    let model = RandomForestParams::new()
        .num_trees(15)
        .max_depth(6)
        .max_bins(100)
        .categorical_features(BTreeMap::from([(0, 90)]))
        .check()
        .and_then(|p| p.fit_arrays(x.view(), &y, &names(3)))
        .expect("fits");
    let mut probe = Array2::from_shape_fn((10_000, 3), |(_, j)| match j {
        0 => f64::from(rng.gen_range(0..95u32)),
        _ => rng.gen::<f64>(),
    });
    for (i, v) in [f64::NAN, -1.0, 2.5, 1e12, f64::INFINITY, 64.0, 89.0]
        .iter()
        .enumerate()
    {
        probe[[i, 0]] = *v;
        probe[[i + 10, 1]] = f64::NAN;
    }
    let fast = model.predict_array(probe.view()).expect("predicts");
    for (r, got) in probe.rows().into_iter().zip(fast.iter()) {
        let row: Vec<f64> = r.to_vec();
        assert_eq!(
            got.to_bits(),
            model.predict_row(&row).to_bits(),
            "row {row:?}"
        );
    }
}
