//! LIF kernels against closed forms.
#![allow(clippy::float_cmp, clippy::needless_range_loop)] // exact values are the point; step indices are the time axis
//!
//! Exact integration (Rotter & Diesmann 1999) reproduces the analytic
//! solution of the linear subthreshold system on the step grid up to
//! floating-point rounding: the tolerance 1e-12 (relative to the 10–20 mV
//! excursions here) leaves room for ~1e4 accumulated roundings of 1e-16.

mod common;

use evospikenet_core::connect::{Dist, Rule};
use evospikenet_core::engine::{ConnectSpec, Network, Receptor, Var};
use evospikenet_core::neuron::lif::{LifParams, LifSynapse};

#[test]
fn membrane_under_constant_current_matches_closed_form() {
    let params = common::cuba(1e9);
    let dt = 0.1;
    let mut net = Network::new(dt, 1, 1).unwrap();
    let p = net.add_lif("n", 1, params).unwrap();
    let i_e = 300.0; // pA
    net.set_bias(p, &[i_e]).unwrap();
    let m = net.add_state_monitor(p, Var::V, vec![0], 1).unwrap();
    net.run(2000).unwrap();
    let mon = &net.state_monitors()[m];
    let r = params.tau_m_ms / params.c_m_pf; // GOhm = mV/pA
    for (&step, &v) in mon.steps.iter().zip(&mon.values) {
        let t = step as f64 * dt;
        let expected = params.e_l_mv + r * i_e * (1.0 - (-t / params.tau_m_ms).exp());
        assert!(
            (v - expected).abs() < 1e-12 * 20.0,
            "t={t} v={v} expected={expected}"
        );
    }
}

#[test]
fn firing_period_matches_formula() {
    let params = common::cuba(-55.0);
    let dt = 0.1;
    let mut net = Network::new(dt, 1, 1).unwrap();
    let p = net.add_lif("n", 1, params).unwrap();
    let i_e = 400.0;
    net.set_bias(p, &[i_e]).unwrap();
    let m = net.add_spike_monitor(p, None).unwrap();
    net.run(20_000).unwrap();
    let steps = &net.spike_monitors()[m].steps;
    assert!(steps.len() > 10);
    let r = params.tau_m_ms / params.c_m_pf;
    let v_inf = params.e_l_mv + r * i_e;
    let t_free = params.tau_m_ms * ((v_inf - params.v_reset_mv) / (v_inf - params.v_th_mv)).ln();
    // On the grid: clamped for round(t_ref/dt) steps, then the first step
    // whose end lies at or past the crossing time.
    let expected_steps = (params.t_ref_ms / dt).round() as u64 + (t_free / dt).ceil() as u64;
    for w in steps.windows(2) {
        assert_eq!(w[1] - w[0], expected_steps);
    }
    let period_ms = expected_steps as f64 * dt;
    let analytic_ms = params.t_ref_ms + t_free;
    assert!(
        (period_ms - analytic_ms).abs() <= dt,
        "{period_ms} vs {analytic_ms}"
    );
}

fn psp_net(delay_ms: f64, spike_ms: f64) -> (Network, usize, usize, usize) {
    let params = common::cuba(1e9);
    let mut net = Network::new(0.1, 1, 1).unwrap();
    let src = net.add_spike_source("src", 1, &[spike_ms], &[0]).unwrap();
    let p = net.add_lif("n", 1, params).unwrap();
    net.set_state(p, Var::V, &[params.e_l_mv]).unwrap();
    net.connect(&ConnectSpec {
        pre: src,
        post: p,
        receptor: Receptor::Excitatory,
        rule: &Rule::OneToOne,
        allow_autapses: true,
        weight: &Dist::Constant(100.0),
        delay_ms: &Dist::Constant(delay_ms),
    })
    .unwrap();
    let mv = net.add_state_monitor(p, Var::V, vec![0], 1).unwrap();
    let mi = net.add_state_monitor(p, Var::SynEx, vec![0], 1).unwrap();
    (net, p, mv, mi)
}

#[test]
fn delay_is_exact_and_psc_decays_exponentially() {
    let (mut net, _, mv, mi) = psp_net(2.5, 1.0);
    net.run(400).unwrap();
    let v = &net.state_monitors()[mv].values;
    let i = &net.state_monitors()[mi].values;
    // Spike at step 10, delay 25 steps: queued for step 35 and added at its
    // end, so the sample of step 36 (the state at t = 3.6 ms) is the first
    // with the current, and the membrane moves from the sample of step 37.
    let onset = 36;
    for s in 0..onset {
        assert_eq!(i[s], 0.0, "current before arrival at step {s}");
    }
    for s in 0..=onset {
        assert_eq!(v[s], -70.0, "voltage before arrival at step {s}");
    }
    assert!(v[onset + 1] > -70.0);
    let tau_s = 2.0;
    for s in onset..400 {
        let t = (s - onset) as f64 * 0.1;
        let expected = 100.0 * (-t / tau_s).exp();
        assert!(
            (i[s] - expected).abs() < 1e-9 * 100.0,
            "step {s}: {} vs {expected}",
            i[s]
        );
    }
}

#[test]
fn psp_matches_closed_form() {
    let (mut net, _, mv, _) = psp_net(0.1, 0.0);
    net.run(1000).unwrap();
    let v = &net.state_monitors()[mv].values;
    let (c, tau_m, tau_s, w) = (250.0, 10.0, 2.0, 100.0);
    // Spike at step 0, delay one step: the current is there from t = 0.2 ms.
    let onset = 2;
    for s in onset..1000 {
        let t = (s - onset) as f64 * 0.1;
        let expected = -70.0
            + w / c * tau_s * tau_m / (tau_m - tau_s) * ((-t / tau_m).exp() - (-t / tau_s).exp());
        assert!(
            (v[s] - expected).abs() < 1e-12 * 10.0,
            "step {s}: {} vs {expected}",
            v[s]
        );
    }
}

#[test]
fn equal_time_constants_use_the_limit_form() {
    // tau_syn == tau_m: the PSP is the alpha-like w/C t e^{-t/tau}.
    let mut params = common::cuba(1e9);
    params.synapse = LifSynapse::CurrentExp {
        tau_syn_ex_ms: 10.0,
        tau_syn_in_ms: 10.0,
    };
    let mut net = Network::new(0.1, 1, 1).unwrap();
    let src = net.add_spike_source("src", 1, &[0.0], &[0]).unwrap();
    let p = net.add_lif("n", 1, params).unwrap();
    net.set_state(p, Var::V, &[-70.0]).unwrap();
    net.connect(&ConnectSpec {
        pre: src,
        post: p,
        receptor: Receptor::Excitatory,
        rule: &Rule::OneToOne,
        allow_autapses: true,
        weight: &Dist::Constant(50.0),
        delay_ms: &Dist::Constant(0.1),
    })
    .unwrap();
    let mv = net.add_state_monitor(p, Var::V, vec![0], 1).unwrap();
    net.run(500).unwrap();
    let v = &net.state_monitors()[mv].values;
    for s in 2..500 {
        let t = (s - 2) as f64 * 0.1;
        let expected = -70.0 + 50.0 / 250.0 * t * (-t / 10.0).exp();
        assert!(
            (v[s] - expected).abs() < 1e-12 * 10.0,
            "step {s}: {} vs {expected}",
            v[s]
        );
    }
}

#[test]
fn conductance_based_membrane_is_exact_without_input() {
    // With no synaptic conductance the COBA membrane is linear and the
    // exponential-Euler step is exact.
    let params = LifParams {
        c_m_pf: 200.0,
        tau_m_ms: 20.0,
        e_l_mv: -60.0,
        v_th_mv: 1e9,
        v_reset_mv: -60.0,
        t_ref_ms: 5.0,
        synapse: LifSynapse::CondExp {
            tau_syn_ex_ms: 5.0,
            tau_syn_in_ms: 10.0,
            e_ex_mv: 0.0,
            e_in_mv: -80.0,
        },
    };
    let mut net = Network::new(0.1, 1, 1).unwrap();
    let p = net.add_lif("n", 1, params).unwrap();
    net.set_bias(p, &[150.0]).unwrap();
    let m = net.add_state_monitor(p, Var::V, vec![0], 1).unwrap();
    net.run(1000).unwrap();
    let mon = &net.state_monitors()[m];
    for (&step, &v) in mon.steps.iter().zip(&mon.values) {
        let t = step as f64 * 0.1;
        let expected = -60.0 + 150.0 * 20.0 / 200.0 * (1.0 - (-t / 20.0).exp());
        assert!(
            (v - expected).abs() < 1e-11,
            "t={t} v={v} expected={expected}"
        );
    }
}

#[test]
fn conductance_decays_and_pulls_towards_reversal() {
    let params = LifParams {
        c_m_pf: 200.0,
        tau_m_ms: 20.0,
        e_l_mv: -60.0,
        v_th_mv: 1e9,
        v_reset_mv: -60.0,
        t_ref_ms: 5.0,
        synapse: LifSynapse::CondExp {
            tau_syn_ex_ms: 5.0,
            tau_syn_in_ms: 10.0,
            e_ex_mv: 0.0,
            e_in_mv: -80.0,
        },
    };
    let mut net = Network::new(0.1, 1, 1).unwrap();
    let src = net.add_spike_source("src", 1, &[0.0], &[0]).unwrap();
    let p = net.add_lif("n", 1, params).unwrap();
    net.set_state(p, Var::V, &[-60.0]).unwrap();
    net.connect(&ConnectSpec {
        pre: src,
        post: p,
        receptor: Receptor::Inhibitory,
        rule: &Rule::OneToOne,
        allow_autapses: true,
        weight: &Dist::Constant(20.0),
        delay_ms: &Dist::Constant(0.1),
    })
    .unwrap();
    let mg = net.add_state_monitor(p, Var::SynIn, vec![0], 1).unwrap();
    let mv = net.add_state_monitor(p, Var::V, vec![0], 1).unwrap();
    net.run(300).unwrap();
    let g = &net.state_monitors()[mg].values;
    for s in 2..300 {
        let expected = 20.0 * (-((s - 2) as f64) * 0.1 / 10.0).exp();
        assert!((g[s] - expected).abs() < 1e-9);
    }
    let v = &net.state_monitors()[mv].values;
    assert!(v[1..].iter().all(|&x| (-80.0..=-60.0).contains(&x)));
    assert!(
        v[50] < -60.5,
        "inhibitory conductance hyperpolarises: {}",
        v[50]
    );
}

#[test]
fn refractory_clamps_and_delta_jumps_are_dropped() {
    let params = LifParams {
        c_m_pf: 250.0,
        tau_m_ms: 20.0,
        e_l_mv: 0.0,
        v_th_mv: 20.0,
        v_reset_mv: 10.0,
        t_ref_ms: 2.0,
        synapse: LifSynapse::Delta,
    };
    let mut net = Network::new(0.1, 1, 1).unwrap();
    // Three jumps over a one-step delay, each added in the step it arrives
    // (after propagation, before the threshold test: NEST `iaf_psc_delta`):
    // the first makes it fire in the step after its source's; the second
    // arrives while refractory and is lost; the third lands after.
    let src = net
        .add_spike_source("src", 1, &[0.0, 1.0, 3.0], &[0, 0, 0])
        .unwrap();
    let p = net.add_lif("n", 1, params).unwrap();
    net.set_state(p, Var::V, &[0.0]).unwrap();
    net.connect(&ConnectSpec {
        pre: src,
        post: p,
        receptor: Receptor::Excitatory,
        rule: &Rule::OneToOne,
        allow_autapses: true,
        weight: &Dist::Constant(25.0),
        delay_ms: &Dist::Constant(0.1),
    })
    .unwrap();
    let ms = net.add_spike_monitor(p, None).unwrap();
    let mv = net.add_state_monitor(p, Var::V, vec![0], 1).unwrap();
    net.run(60).unwrap();
    assert_eq!(net.spike_monitors()[ms].steps, vec![1, 31]);
    let v = &net.state_monitors()[mv].values;
    // Clamped at reset for 20 steps after the spike at step 1 (sampled at
    // the start of each step).
    for s in 2..=22 {
        assert_eq!(v[s], 10.0, "step {s}");
    }
}
