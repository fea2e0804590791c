//! Unit tests of the plasticity rules, driving [`Plasticity`] with chosen
//! spike times (exact expectations: the pair window in closed form).
// Exact comparisons are intended: clipped and untouched weights are exact.
#![allow(clippy::float_cmp)]

use super::*;

const DT: f64 = 0.1;

/// `n_pre` presynaptic neurons each connected to postsynaptic neuron 0
/// with weight `w0` and delay `delay` steps.
fn csr(n_pre: usize, w0: f32, delay: u16) -> Csr {
    Csr {
        indptr: (0..=n_pre as u64).collect(),
        indices: vec![0; n_pre],
        weight: vec![w0; n_pre],
        delay_steps: vec![delay; n_pre],
    }
}

fn stdp(wd: WeightDependence, traces: Traces) -> Rule {
    Rule::Stdp(StdpParams {
        a_plus: 0.01,
        a_minus: 0.0105,
        tau_plus_ms: 20.0,
        tau_minus_ms: 30.0,
        w_max: 1.0,
        weight_dependence: wd,
        traces,
    })
}

/// Run steps `0..n` with pre spikes `pre[(step, neuron)]` and post spikes of
/// neuron 0 at `post` steps; returns the weights.
fn drive(rule: Rule, c: &Csr, pre: &[(u64, u32)], post: &[u64], n: u64) -> Plasticity {
    let mut p = Plasticity::new(rule, c, 1, DT).unwrap();
    let mut target = vec![0.0];
    for s in 0..n {
        let pre_s: Vec<u32> = pre.iter().filter(|x| x.0 == s).map(|x| x.1).collect();
        let post_s: Vec<u32> = if post.contains(&s) { vec![0] } else { vec![] };
        p.push_spikes(&pre_s, s);
        p.step(c, s, s as f64 * DT, &pre_s, &post_s, &mut target, None);
    }
    p
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-3), "{a} != {b}");
}

#[test]
fn pair_window_potentiation_is_a_plus_exp() {
    let c = csr(1, 0.5, 0);
    for lag in [0u64, 1, 50, 200] {
        let p = drive(
            stdp(WeightDependence::Additive, Traces::AllToAll),
            &c,
            &[(10, 0)],
            &[10 + lag],
            400,
        );
        let dt_ms = lag as f64 * DT;
        close(p.w[0] - 0.5, 0.01 * (-dt_ms / 20.0).exp());
    }
}

#[test]
fn pair_window_depression_is_minus_a_minus_exp() {
    let c = csr(1, 0.5, 0);
    for lag in [1u64, 50, 200] {
        let p = drive(
            stdp(WeightDependence::Additive, Traces::AllToAll),
            &c,
            &[(10 + lag, 0)],
            &[10],
            400,
        );
        let dt_ms = lag as f64 * DT;
        close(p.w[0] - 0.5, -0.0105 * (-dt_ms / 30.0).exp());
    }
}

#[test]
fn pre_side_update_happens_at_arrival_after_the_delay() {
    // Pre spike at step 10 over a 30-step delay arrives at step 40; a post
    // spike at step 25 precedes the arrival by 15 steps: depression.
    let c = csr(1, 0.5, 30);
    let p = drive(
        stdp(WeightDependence::Additive, Traces::AllToAll),
        &c,
        &[(10, 0)],
        &[25],
        100,
    );
    close(p.w[0] - 0.5, -0.0105 * (-1.5f64 / 30.0).exp());
}

#[test]
fn nearest_and_all_to_all_differ_on_triplets() {
    let c = csr(1, 0.5, 0);
    let e = |steps: f64, tau: f64| (-steps * DT / tau).exp();
    // pre-pre-post: all-to-all pairs the post with both pre spikes, nearest
    // only with the second.
    let pre = [(10, 0), (60, 0)];
    let all = drive(
        stdp(WeightDependence::Additive, Traces::AllToAll),
        &c,
        &pre,
        &[100],
        300,
    );
    let near = drive(
        stdp(WeightDependence::Additive, Traces::Nearest),
        &c,
        &pre,
        &[100],
        300,
    );
    close(all.w[0] - 0.5, 0.01 * (e(90.0, 20.0) + e(40.0, 20.0)));
    close(near.w[0] - 0.5, 0.01 * e(40.0, 20.0));
    // post-post-pre: depression from both post spikes vs the nearest one.
    let all = drive(
        stdp(WeightDependence::Additive, Traces::AllToAll),
        &c,
        &[(100, 0)],
        &[10, 60],
        300,
    );
    let near = drive(
        stdp(WeightDependence::Additive, Traces::Nearest),
        &c,
        &[(100, 0)],
        &[10, 60],
        300,
    );
    close(all.w[0] - 0.5, -0.0105 * (e(90.0, 30.0) + e(40.0, 30.0)));
    close(near.w[0] - 0.5, -0.0105 * e(40.0, 30.0));
    // pre-post-post: symmetric nearest-neighbour pairs both posts with the
    // one pre (each post's nearest earlier pre), like all-to-all.
    let all = drive(
        stdp(WeightDependence::Additive, Traces::AllToAll),
        &c,
        &[(10, 0)],
        &[50, 90],
        300,
    );
    let near = drive(
        stdp(WeightDependence::Additive, Traces::Nearest),
        &c,
        &[(10, 0)],
        &[50, 90],
        300,
    );
    close(all.w[0], near.w[0]);
}

#[test]
fn multiplicative_scales_with_distance_to_the_bounds() {
    let c = csr(1, 0.25, 0);
    let p = drive(
        stdp(WeightDependence::Multiplicative, Traces::AllToAll),
        &c,
        &[(10, 0)],
        &[30],
        100,
    );
    close(p.w[0] - 0.25, 0.01 * (-2.0f64 / 20.0).exp() * 0.75);
    let p = drive(
        stdp(WeightDependence::Multiplicative, Traces::AllToAll),
        &c,
        &[(30, 0)],
        &[10],
        100,
    );
    close(p.w[0] - 0.25, -0.0105 * (-2.0f64 / 30.0).exp() * 0.25);
}

#[test]
fn transmitted_weight_is_the_weight_before_the_update() {
    let c = csr(1, 0.5, 0);
    let mut p = Plasticity::new(
        stdp(WeightDependence::Additive, Traces::AllToAll),
        &c,
        1,
        DT,
    )
    .unwrap();
    let mut target = vec![0.0];
    // post spike at step 0, pre at step 1: depression on arrival, after
    // transmitting 0.5.
    p.step(&c, 0, 0.0, &[], &[0], &mut target, None);
    p.push_spikes(&[0], 1);
    p.step(&c, 1, DT, &[0], &[], &mut target, None);
    assert_eq!(target[0], 0.5);
    assert!(p.w[0] < 0.5);
}

#[test]
fn hard_bounds_and_scale() {
    let c = csr(1, 0.999, 0);
    let p = drive(
        stdp(WeightDependence::Additive, Traces::AllToAll),
        &c,
        &[(10, 0)],
        &[11],
        100,
    );
    assert_eq!(p.w[0], 1.0);
    let c = csr(1, 0.001, 0);
    let p = drive(
        stdp(WeightDependence::Additive, Traces::AllToAll),
        &c,
        &[(11, 0)],
        &[10],
        100,
    );
    assert_eq!(p.w[0], 0.0);
    // scale 0 freezes weights, scale 2 doubles the change.
    let c = csr(1, 0.5, 0);
    for scale in [0.0, 2.0] {
        let mut p = Plasticity::new(
            stdp(WeightDependence::Additive, Traces::AllToAll),
            &c,
            1,
            DT,
        )
        .unwrap();
        p.set_scale(scale, 0.0).unwrap();
        let mut target = vec![0.0];
        p.push_spikes(&[0], 0);
        p.step(&c, 0, 0.0, &[0], &[], &mut target, None);
        p.step(&c, 10, 1.0, &[], &[0], &mut target, None);
        close(p.w[0] - 0.5, scale * 0.01 * (-1.0f64 / 20.0).exp());
    }
    assert!(Plasticity::new(
        stdp(WeightDependence::Additive, Traces::AllToAll),
        &c,
        1,
        DT
    )
    .unwrap()
    .set_scale(-1.0, 0.0)
    .is_err());
}

#[test]
fn initial_weights_outside_bounds_are_rejected() {
    let c = csr(2, 1.5, 0);
    let err = Plasticity::new(
        stdp(WeightDependence::Additive, Traces::AllToAll),
        &c,
        1,
        DT,
    )
    .unwrap_err();
    assert!(err.to_string().contains("weight[0]"), "{err}");
}

#[test]
fn rstdp_closed_form_matches_fine_euler_integration() {
    // One pair (pre at 10 ms, post at 15 ms), dopamine 0.5 at 1000 ms and
    // 0.3 at 1500 ms; compare w at 4000 ms with an explicit Euler
    // integration of dc/dt = -c/tau_c, dd/dt = -d/tau_d, dw/dt = c d at
    // h = 0.01 ms (first-order error ~ h/tau ~ 1e-5 relative).
    let params = RstdpParams {
        a_plus: 1.0,
        a_minus: 1.5,
        tau_plus_ms: 20.0,
        tau_minus_ms: 20.0,
        tau_c_ms: 1000.0,
        tau_d_ms: 200.0,
        w_max: 100.0,
    };
    let c = csr(1, 1.0, 0);
    let mut p = Plasticity::new(Rule::Rstdp(params), &c, 1, DT).unwrap();
    p.start_at(0.0);
    let mut target = vec![0.0];
    p.push_spikes(&[0], 100);
    p.step(&c, 100, 10.0, &[0], &[], &mut target, None);
    p.step(&c, 150, 15.0, &[], &[0], &mut target, None);
    p.add_dopamine(0.5, 1000.0);
    p.add_dopamine(0.3, 1500.0);
    p.flush(4000.0);
    let c0 = (-5.0f64 / 20.0).exp();
    let (mut cc, mut d, mut w) = (c0, 0.0, 1.0);
    let h = 0.01;
    let mut t: f64 = 15.0;
    while t < 4000.0 - 1e-9 {
        if (t - 1000.0).abs() < h / 2.0 {
            d += 0.5;
        }
        if (t - 1500.0).abs() < h / 2.0 {
            d += 0.3;
        }
        w += h * cc * d;
        cc -= h * cc / 1000.0;
        d -= h * d / 200.0;
        t += h;
    }
    let gain = p.w[0] - 1.0;
    assert!(gain > 0.0);
    assert!(
        ((gain - (w - 1.0)) / gain).abs() < 1e-3,
        "{} vs {}",
        gain,
        w - 1.0
    );
}

#[test]
fn oja_converges_to_the_principal_eigenvector() {
    // Linear neuron y = u . x with zero-mean Gaussian inputs of covariance
    // C = [[3, 1], [1, 2]]; Oja (1982): u -> unit principal eigenvector of C
    // (analytic: eigenvalue (5 + sqrt 5)/2). The noise of the stochastic
    // update with eta = 1e-3 leaves |u - e1| of order sqrt(eta) ~ 0.03;
    // we accept 0.05 in angle and norm.
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
    let mut u = [0.3, -0.2];
    for _ in 0..200_000 {
        let (z1, z2): (f64, f64) = (
            StandardNormal.sample(&mut rng),
            StandardNormal.sample(&mut rng),
        );
        // Cholesky of C: L = [[sqrt3, 0], [1/sqrt3, sqrt(2 - 1/3)]]
        let x = [
            3f64.sqrt() * z1,
            z1 / 3f64.sqrt() + (2.0 - 1.0 / 3.0f64).sqrt() * z2,
        ];
        let y = u[0] * x[0] + u[1] * x[1];
        let d0 = oja_du(1e-3, x[0], y, u[0]);
        let d1 = oja_du(1e-3, x[1], y, u[1]);
        u[0] += d0;
        u[1] += d1;
    }
    let lambda = f64::midpoint(5.0, 5f64.sqrt());
    let e = [1.0, lambda - 3.0];
    let ne = (e[0] * e[0] + e[1] * e[1]).sqrt();
    let nu = (u[0] * u[0] + u[1] * u[1]).sqrt();
    let cos = ((u[0] * e[0] + u[1] * e[1]) / (nu * ne)).abs();
    assert!((nu - 1.0).abs() < 0.05, "norm {nu}");
    assert!(cos > 1.0 - 0.05 * 0.05, "cos {cos}");
}

#[test]
fn bcm_threshold_tracks_mean_squared_rate() {
    // Postsynaptic Poisson train at r = 20 Hz filtered with tau_r = 100 ms:
    // E[r_hat^2] = r^2 + r / (2 tau_r) = 400 + 100 = 500 Hz^2 (Campbell's
    // theorem). theta (tau_theta = 2 s) averaged over 100 s of updates must
    // match 500 / rate_ref^2 to 5 % (the filtered rate's samples are
    // correlated over ~tau_r, leaving ~2 % standard error on the mean).
    use rand::{RngExt, SeedableRng};
    let params = RateParams {
        rule: RateRule::Bcm,
        learning_rate: 1e-3,
        tau_rate_ms: 100.0,
        tau_theta_ms: 2000.0,
        rate_ref_hz: 10.0,
        interval_ms: 1.0,
        w_max: 1.0,
    };
    let c = csr(1, 0.5, 0);
    let mut p = Plasticity::new(Rule::Rate(params), &c, 1, DT).unwrap();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
    let mut target = vec![0.0];
    let (mut sum, mut count) = (0.0, 0u64);
    let prob = 20.0 * DT * 1e-3;
    for s in 0..1_100_000u64 {
        let post: Vec<u32> = if rng.random::<f64>() < prob {
            vec![0]
        } else {
            vec![]
        };
        p.step(&c, s, s as f64 * DT, &[], &post, &mut target, None);
        if s >= 100_000 && s % 10 == 0 {
            sum += p.theta()[0];
            count += 1;
        }
    }
    let mean = sum / count as f64;
    assert!((mean - 5.0).abs() < 0.25, "mean theta {mean}");
}

#[test]
fn derivative_stdp_moves_weights_only_at_the_interval() {
    // spnet rule: a pair at lag 2 ms adds a_plus e^{-2/tau} to sd; the weight
    // moves by drift + sd at the 1 s update, then sd decays by 0.9.
    let params = DerivativeStdpParams {
        a_plus: 0.1,
        a_minus: 0.12,
        tau_plus_ms: 20.0,
        tau_minus_ms: 20.0,
        w_max: 10.0,
        interval_ms: 1000.0,
        drift: 0.01,
        sd_decay: 0.9,
    };
    let c = csr(1, 6.0, 0);
    let p = drive(Rule::DerivativeStdp(params), &c, &[(10, 0)], &[30], 9_999);
    let sd0 = 0.1 * (-2.0f64 / 20.0).exp();
    assert_eq!(p.w[0], 6.0);
    close(p.derivative()[0], sd0);
    let p = drive(Rule::DerivativeStdp(params), &c, &[(10, 0)], &[30], 10_000);
    close(p.w[0], 6.0 + 0.01 + sd0);
    close(p.derivative()[0], 0.9 * sd0);
    let p = drive(Rule::DerivativeStdp(params), &c, &[(10, 0)], &[30], 20_000);
    close(p.w[0], 6.0 + 0.02 + sd0 * 1.9);
}

#[test]
fn derivative_stdp_same_step_pair_depresses() {
    // spnet order: post spikes before arrivals, so a same-step pair takes the
    // full a_minus and no potentiation; one step later it potentiates.
    let params = DerivativeStdpParams {
        a_plus: 0.1,
        a_minus: 0.12,
        tau_plus_ms: 20.0,
        tau_minus_ms: 20.0,
        w_max: 10.0,
        interval_ms: 1000.0,
        drift: 0.0,
        sd_decay: 0.9,
    };
    let c = csr(1, 6.0, 0);
    let p = drive(Rule::DerivativeStdp(params), &c, &[(10, 0)], &[10], 100);
    close(p.derivative()[0], -0.12);
    let p = drive(Rule::DerivativeStdp(params), &c, &[(10, 0)], &[11], 100);
    close(p.derivative()[0], 0.1 * (-0.1f64 / 20.0).exp());
}

#[test]
fn mixed_delays_in_a_row_match_the_pair_sum_per_synapse() {
    // Presynaptic traces are kept per (neuron, delay) group; rows here mix
    // delays out of order and repeat pre-post pairs with different delays.
    // Additive all-to-all STDP far from the bounds is the sum over every
    // (arrival, post spike) pair of the synapse (Song et al. 2000):
    // +a_plus exp(-lag/tau_plus) when the arrival is at or before the post
    // spike (arrivals are handled first within a step), -a_minus
    // exp(-lag/tau_minus) otherwise. Tolerance 1e-12 relative: the lazy
    // traces multiply table factors instead of summing exponents (a few ulp
    // per update, tens of updates per synapse).
    let rows: [&[(u32, u16)]; 3] = [
        &[(0, 4), (1, 0), (1, 4)],
        &[(1, 2), (0, 2), (0, 7)],
        &[(0, 0)],
    ];
    let mut c = Csr {
        indptr: vec![0],
        indices: Vec::new(),
        weight: Vec::new(),
        delay_steps: Vec::new(),
    };
    for row in rows {
        for &(j, d) in row {
            c.indices.push(j);
            c.weight.push(0.5);
            c.delay_steps.push(d);
        }
        c.indptr.push(c.indices.len() as u64);
    }
    let pre: Vec<(u64, u32)> = (0..40u64).map(|n| (n * 37 % 600, (n % 3) as u32)).collect();
    let post: [Vec<u64>; 2] = [
        (0..12u64).map(|n| n * 53 % 600 + 3).collect(),
        (0..9u64).map(|n| n * 71 % 600 + 1).collect(),
    ];
    let (a_plus, a_minus, tau_plus, tau_minus) = (1e-3, 1.05e-3, 20.0, 30.0);
    let rule = Rule::Stdp(StdpParams {
        a_plus,
        a_minus,
        tau_plus_ms: tau_plus,
        tau_minus_ms: tau_minus,
        w_max: 1.0,
        weight_dependence: WeightDependence::Additive,
        traces: Traces::AllToAll,
    });
    let mut p = Plasticity::new(rule, &c, 2, DT).unwrap();
    let mut target = vec![0.0; 2];
    let n = 700;
    for s in 0..n {
        let mut pre_s: Vec<u32> = pre.iter().filter(|x| x.0 == s).map(|x| x.1).collect();
        pre_s.sort_unstable();
        pre_s.dedup();
        let post_s: Vec<u32> = (0..2u32)
            .filter(|&j| post[j as usize].contains(&s))
            .collect();
        p.push_spikes(&pre_s, s);
        p.step(&c, s, s as f64 * DT, &pre_s, &post_s, &mut target, None);
    }
    let mut pre_steps: Vec<(u64, u32)> = pre.clone();
    pre_steps.sort_unstable();
    pre_steps.dedup();
    for i in 0..3usize {
        for k in c.indptr[i] as usize..c.indptr[i + 1] as usize {
            let (j, d) = (c.indices[k] as usize, u64::from(c.delay_steps[k]));
            let mut dw = 0.0;
            for &(s_pre, _) in pre_steps.iter().filter(|x| x.1 as usize == i) {
                let t_arr = s_pre + d;
                if t_arr >= n {
                    continue;
                }
                for &t_post in &post[j] {
                    if t_arr <= t_post {
                        dw += a_plus * (-((t_post - t_arr) as f64) * DT / tau_plus).exp();
                    } else {
                        dw -= a_minus * (-((t_arr - t_post) as f64) * DT / tau_minus).exp();
                    }
                }
            }
            assert!(dw.abs() > 1e-4, "synapse {k}: no pairs");
            close(p.w[k] - 0.5, dw);
        }
    }
}
