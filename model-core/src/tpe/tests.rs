use rand::SeedableRng;

use super::*;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

#[test]
fn quniform_prior_gives_end_points_half_the_mass() {
    let space = SearchSpace::default().with(
        "d",
        Dimension::QUniform {
            low: 2.0,
            high: 5.0,
            q: 1.0,
        },
    );
    let mut r = rng(1);
    let mut counts = [0usize; 4];
    let n = 60_000;
    for _ in 0..n {
        match space.sample_prior(&mut r)[0] {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Value::Num(x) => counts[(x - 2.0) as usize] += 1,
            Value::Choice(_) => unreachable!("numeric dimension"),
        }
    }
    // Expected 1/6, 1/3, 1/3, 1/6 of the draws.
    for (c, expected) in counts
        .iter()
        .zip([1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0])
    {
        #[allow(clippy::cast_precision_loss)]
        let got = *c as f64 / f64::from(n);
        assert!((got - expected).abs() < 0.01, "{counts:?}");
    }
}

#[test]
fn log_dimensions_stay_inside_their_bounds() {
    let space = SearchSpace::default()
        .with(
            "a",
            Dimension::LogUniform {
                low: 0.01,
                high: 1.0,
            },
        )
        .with(
            "b",
            Dimension::QLogUniform {
                low: 1.0,
                high: 64.0,
                q: 1.0,
            },
        );
    let mut r = rng(2);
    for _ in 0..5_000 {
        let v = space.sample_prior(&mut r);
        assert!(matches!(v[0], Value::Num(x) if (0.01..=1.0).contains(&x)));
        assert!(matches!(v[1], Value::Num(x) if (1.0..=64.0).contains(&x) && x.fract() == 0.0));
    }
}

#[test]
fn forgetting_ramps_the_oldest_observations() {
    assert_eq!(forgetting_weights(3, 25), vec![1.0; 3]);
    let w = forgetting_weights(30, 25);
    assert_eq!(w.len(), 30);
    assert!((w[0] - 1.0 / 30.0).abs() < 1e-15);
    assert!((w[4] - 1.0).abs() < 1e-15);
    assert!(w[..5].windows(2).all(|p| p[0] < p[1]));
}

#[test]
fn parzen_bandwidths_follow_hyperopt() {
    let s = TpeSettings::default();
    // One observation: σ = ½ σ_prior for it, σ_prior for the prior.
    let one = Parzen::new(&[1.0], 0.0, 10.0, &s);
    assert_eq!(one.mus, vec![1.0, 5.0]);
    assert_eq!(one.sigmas, vec![5.0, 10.0]);
    // Several: the larger neighbour gap, clipped below at σ_prior / min(100, 1 + n).
    let many = Parzen::new(&[1.0, 1.1, 9.0], 0.0, 10.0, &s);
    assert_eq!(many.mus, vec![1.0, 1.1, 5.0, 9.0]);
    let min_sigma = 10.0 / 5.0;
    assert_eq!(many.sigmas[0], min_sigma, "gap 0.1 is clipped up");
    assert!((many.sigmas[1] - 3.9).abs() < 1e-12);
    assert_eq!(many.sigmas[2], 10.0, "the prior keeps its width");
    assert!((many.sigmas[3] - 4.0).abs() < 1e-12);
    assert!((many.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn start_up_trials_are_prior_draws() {
    let space = SearchSpace::default().with(
        "x",
        Dimension::Uniform {
            low: 0.0,
            high: 1.0,
        },
    );
    let history = vec![Observation {
        values: vec![Value::Num(0.5)],
        loss: 1.0,
    }];
    let settings = TpeSettings {
        n_startup: 2,
        ..TpeSettings::default()
    };
    assert_eq!(
        suggest(&space, &settings, &history, &mut rng(3)),
        space.sample_prior(&mut rng(3))
    );
}

#[test]
fn tpe_concentrates_on_the_good_region() {
    // Loss is (x − 0.8)² and option 2 is always best: after 30 trials TPE's suggestions should sit near
    // 0.8 and mostly pick option 2, far more than the prior's 1/3.
    let space = SearchSpace::default()
        .with(
            "x",
            Dimension::Uniform {
                low: 0.0,
                high: 1.0,
            },
        )
        .with(
            "c",
            Dimension::Choice {
                options: vec!["a".into(), "b".into(), "c".into()],
            },
        );
    let mut r = rng(4);
    let history: Vec<Observation> = (0..30)
        .map(|_| {
            let values = space.sample_prior(&mut r);
            let (Value::Num(x), Value::Choice(c)) = (values[0], values[1]) else {
                unreachable!("space order")
            };
            let loss = (x - 0.8).powi(2) + if c == 2 { 0.0 } else { 0.5 };
            Observation { values, loss }
        })
        .collect();
    let settings = TpeSettings::default();
    let (mut near, mut picks) = (0, 0);
    for seed in 0..100 {
        let v = suggest(&space, &settings, &history, &mut rng(100 + seed));
        if matches!(v[0], Value::Num(x) if (x - 0.8).abs() < 0.2) {
            near += 1;
        }
        if v[1] == Value::Choice(2) {
            picks += 1;
        }
    }
    assert!(near > 70, "{near}/100 suggestions near the optimum");
    assert!(picks > 60, "{picks}/100 suggestions of the best option");
}
