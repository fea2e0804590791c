//! Gap junctions against the closed form of two coupled passive neurons.
//!
//! Two identical passive LIF membranes (no threshold in reach) joined by a
//! junction of conductance `g`:
//!
//! ```text
//! C dV1/dt = -C/tau (V1 - E_L) + g (V2 - V1)
//! C dV2/dt = -C/tau (V2 - E_L) + g (V1 - V2)
//! ```
//!
//! The mean `m = (V1 + V2)/2` relaxes with rate `1/tau`; the difference
//! `d = V1 - V2` with rate `1/tau + 2g/C`. The engine holds the junction
//! current constant over a step (explicit coupling, exact leak), so its
//! per-step factor for `d` is `a = e^{-h/tau} - (2 g tau / C)(1 - e^{-h/tau})`
//! against the exact `r = e^{-h (1/tau + 2g/C)}`; expanding,
//! `a - r = -h^2 beta (alpha + beta) / 2 + O(h^3)` with `alpha = 1/tau`,
//! `beta = 2g/C`, so after time `T` the relative error of `d` is
//! `T h beta (alpha + beta) / 2 + O(h^2)`: first order. The currents into
//! the two neurons cancel, so the mean is integrated exactly.

mod common;

use evospikenet_core::engine::{Network, Var};

const G_NS: f64 = 10.0;

/// Run two coupled neurons from V1 = -50, V2 = -70 mV (E_L = -70) for
/// `t_end_ms`; return (dt, C, tau, samples of V1, samples of V2).
fn run(dt: f64, t_end_ms: f64) -> (Vec<f64>, Vec<f64>) {
    let params = common::cuba(1e9);
    let mut net = Network::new(dt, 1, 1).unwrap();
    let p = net.add_lif("pair", 2, params).unwrap();
    net.set_state(p, Var::V, &[-50.0, -70.0]).unwrap();
    net.add_gap_junctions(p, p, &[0], &[1], &[G_NS]).unwrap();
    let m = net.add_state_monitor(p, Var::V, vec![0, 1], 1).unwrap();
    net.run((t_end_ms / dt).round() as u64 + 1).unwrap();
    let vals = &net.state_monitors()[m].values;
    (
        vals.iter().step_by(2).copied().collect(),
        vals.iter().skip(1).step_by(2).copied().collect(),
    )
}

#[test]
fn coupled_passive_pair_matches_closed_form() {
    let params = common::cuba(1e9);
    let (c, tau, e_l) = (params.c_m_pf, params.tau_m_ms, params.e_l_mv);
    let (alpha, beta) = (1.0 / tau, 2.0 * G_NS / c);
    let (m0, d0) = (-60.0 - e_l, 20.0);
    let t_end = 20.0;
    let mut errors = Vec::new();
    for dt in [0.1, 0.05] {
        let (v1, v2) = run(dt, t_end);
        let mut max_rel = 0.0_f64;
        for (s, (&a, &b)) in v1.iter().zip(&v2).enumerate() {
            let t = s as f64 * dt;
            let mean = e_l + m0 * (-alpha * t).exp();
            // Exact: the currents cancel in the sum.
            let m = f64::midpoint(a, b);
            assert!((m - mean).abs() < 1e-11, "mean at t={t}: {m} vs {mean}");
            let d_exact = d0 * (-(alpha + beta) * t).exp();
            let rel = ((a - b) - d_exact) / d_exact;
            // First-order prediction of the relative error (module docs),
            // within 5 %: the O(h^2) remainder is ~h (alpha + beta) = 1e-2
            // of the leading term at dt = 0.1.
            let predicted = -t * dt * beta * (alpha + beta) / 2.0;
            if t > 0.0 {
                assert!(
                    (rel - predicted).abs() <= 0.05 * predicted.abs(),
                    "dt={dt} t={t}: relative error {rel}, predicted {predicted}"
                );
            }
            max_rel = max_rel.max(rel.abs());
        }
        errors.push(max_rel);
    }
    // First order: halving dt halves the error (to 2 %).
    let ratio = errors[0] / errors[1];
    assert!((ratio - 2.0).abs() < 0.04, "error ratio {ratio}");
}

#[test]
fn junction_between_two_populations_is_symmetric() {
    // The same pair split over two populations, ends swapped: same result.
    let params = common::cuba(1e9);
    let mut net = Network::new(0.1, 1, 2).unwrap();
    net.set_par_min_neurons(0);
    let a = net.add_lif("a", 3, params).unwrap();
    let b = net.add_lif("b", 1, params).unwrap();
    net.set_state(a, Var::V, &[-70.0, -70.0, -70.0]).unwrap();
    net.set_state(b, Var::V, &[-50.0]).unwrap();
    net.add_gap_junctions(b, a, &[0], &[2], &[G_NS]).unwrap();
    let ma = net.add_state_monitor(a, Var::V, vec![0, 2], 1).unwrap();
    let mb = net.add_state_monitor(b, Var::V, vec![0], 1).unwrap();
    net.run(201).unwrap();
    let (v1, v2) = run(0.1, 20.0);
    let va = &net.state_monitors()[ma].values;
    let vb = &net.state_monitors()[mb].values;
    for s in 0..v1.len() {
        assert!((vb[s] - v1[s]).abs() < 1e-12);
        assert!((va[2 * s + 1] - v2[s]).abs() < 1e-12);
        // The unjoined neuron stays at rest.
        assert!((va[2 * s] - params.e_l_mv).abs() < 1e-12);
    }
}

#[test]
fn unstable_coupling_is_rejected() {
    let params = common::cuba(1e9);
    let dt = 0.1;
    let mut net = Network::new(dt, 1, 1).unwrap();
    let p = net.add_lif("n", 3, params).unwrap();
    let pm = (-dt / params.tau_m_ms).exp();
    let pi = params.tau_m_ms * (1.0 - pm) / params.c_m_pf;
    let bound = (1.0 + pm) / (2.0 * pi);
    // One junction just below the bound is accepted ...
    net.add_gap_junctions(p, p, &[0], &[1], &[0.6 * bound])
        .unwrap();
    // ... a second one on neuron 1 pushes its total over it.
    let err = net
        .add_gap_junctions(p, p, &[1], &[2], &[0.6 * bound])
        .unwrap_err();
    assert!(err.to_string().contains("neuron 1"), "{err}");
    // Just below the bound the step factor of the difference is near -1:
    // it oscillates but decays.
    let mut net = Network::new(dt, 1, 1).unwrap();
    let p = net.add_lif("n", 2, params).unwrap();
    net.add_gap_junctions(p, p, &[0], &[1], &[0.99 * bound])
        .unwrap();
    net.set_state(p, Var::V, &[-60.0, -70.0]).unwrap();
    net.run(2000).unwrap();
    let v = net.populations()[p].state(Var::V).unwrap();
    assert!((v[0] - v[1]).abs() < 10.0, "stable below the bound: {v:?}");
}

#[test]
fn bad_junctions_are_rejected() {
    let params = common::cuba(1e9);
    let mut net = Network::new(0.1, 1, 1).unwrap();
    let p = net.add_lif("n", 2, params).unwrap();
    let src = net.add_spike_source("s", 2, &[], &[]).unwrap();
    assert!(net.add_gap_junctions(p, p, &[0], &[0], &[1.0]).is_err());
    assert!(net.add_gap_junctions(p, p, &[0], &[2], &[1.0]).is_err());
    assert!(net.add_gap_junctions(p, p, &[0], &[1], &[-1.0]).is_err());
    assert!(net
        .add_gap_junctions(p, p, &[0], &[1], &[f64::NAN])
        .is_err());
    assert!(net.add_gap_junctions(p, p, &[0, 1], &[1], &[1.0]).is_err());
    assert!(net.add_gap_junctions(p, src, &[0], &[1], &[1.0]).is_err());
    assert!(net.add_gap_junctions(p, 7, &[0], &[1], &[1.0]).is_err());
}
