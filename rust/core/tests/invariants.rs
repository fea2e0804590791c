//! Property tests (proptest) of engine invariants, connection-rule counts,
//! and the convergence order of the Izhikevich Euler scheme.

mod common;

use evospikenet_core::connect::{Dist, Rule};
use evospikenet_core::engine::{ConnectSpec, Network, Receptor, Var};
use evospikenet_core::neuron::izhikevich::IzhParams;
use evospikenet_core::neuron::lif::{LifParams, LifSynapse};
use proptest::prelude::*;

fn synapse_strategy() -> impl Strategy<Value = LifSynapse> {
    prop_oneof![
        (0.1f64..20.0, 0.1f64..20.0).prop_map(|(a, b)| LifSynapse::CurrentExp {
            tau_syn_ex_ms: a,
            tau_syn_in_ms: b,
        }),
        (0.1f64..20.0, 0.1f64..20.0).prop_map(|(a, b)| LifSynapse::CondExp {
            tau_syn_ex_ms: a,
            tau_syn_in_ms: b,
            e_ex_mv: 0.0,
            e_in_mv: -80.0,
        }),
        Just(LifSynapse::Delta),
    ]
}

fn params_strategy() -> impl Strategy<Value = LifParams> {
    (
        50.0f64..500.0,
        1.0f64..50.0,
        -80.0f64..-55.0,
        1.0f64..20.0,
        0.0f64..5.0,
        synapse_strategy(),
    )
        .prop_map(|(c_m, tau_m, e_l, gap, t_ref, synapse)| LifParams {
            c_m_pf: c_m,
            tau_m_ms: tau_m,
            e_l_mv: e_l,
            v_th_mv: e_l + gap,
            v_reset_mv: e_l,
            t_ref_ms: t_ref,
            synapse,
        })
}

/// A recurrent E/I network with Poisson drive and a bias current.
fn network(
    params: LifParams,
    n_e: u32,
    seed: u64,
    threads: usize,
    bias: f64,
    w_ex: f64,
    w_in: f64,
) -> Network {
    let mut net = Network::new(0.1, seed, threads).unwrap();
    // Exercise the parallel path on this small network too.
    net.set_par_min_neurons(0);
    let e = net.add_lif("E", n_e, params).unwrap();
    let i = net.add_lif("I", 75, params).unwrap();
    for pop in [e, i] {
        net.init_state(
            pop,
            Var::V,
            &Dist::Uniform {
                low: params.e_l_mv,
                high: params.v_th_mv,
            },
        )
        .unwrap();
        net.set_bias(pop, &vec![bias; net.populations()[pop].n as usize])
            .unwrap();
        net.add_poisson_uniform(pop, Receptor::Excitatory, 2000.0, w_ex)
            .unwrap();
    }
    let inh_sign = if matches!(params.synapse, LifSynapse::CondExp { .. }) {
        1.0
    } else {
        -1.0
    };
    for post in [e, i] {
        let delay = Dist::Uniform {
            low: 0.1,
            high: 3.0,
        };
        net.connect(&ConnectSpec {
            pre: e,
            post,
            receptor: Receptor::Excitatory,
            rule: &Rule::FixedProbability {
                p: 30.0 / f64::from(n_e),
            },
            allow_autapses: true,
            weight: &Dist::Constant(w_ex),
            delay_ms: &delay,
        })
        .unwrap();
        net.connect(&ConnectSpec {
            pre: i,
            post,
            receptor: Receptor::Inhibitory,
            rule: &Rule::FixedIndegree { k: 10 },
            allow_autapses: true,
            weight: &Dist::Constant(inh_sign * w_in),
            delay_ms: &delay,
        })
        .unwrap();
    }
    net.add_spike_monitor(e, None).unwrap();
    net.add_spike_monitor(i, None).unwrap();
    net.add_state_monitor(e, Var::V, (0..300).collect(), 1)
        .unwrap();
    net
}

fn weights_for(params: &LifParams) -> (f64, f64) {
    match params.synapse {
        LifSynapse::CurrentExp { .. } => (30.0, 60.0),
        LifSynapse::CondExp { .. } => (1.0, 3.0),
        LifSynapse::Delta => (0.5, 1.0),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn state_stays_finite_and_below_threshold(params in params_strategy(), seed in 0u64..1000, bias in 0.0f64..500.0) {
        let (w_ex, w_in) = weights_for(&params);
        let mut net = network(params, 300, seed, 1, bias, w_ex, w_in);
        net.run(2000).unwrap();
        for &v in &net.state_monitors()[0].values {
            prop_assert!(v.is_finite());
            // Samples are taken after a step's arrivals: below threshold
            // (a neuron either did not reach it or was reset), except that a
            // delta synapse's jumps show before the next threshold check.
            if params.synapse == LifSynapse::Delta {
                prop_assert!(v < params.v_th_mv + 100.0 * w_ex);
            } else {
                prop_assert!(v < params.v_th_mv);
            }
        }
        for pop in net.populations() {
            for var in [Var::V, Var::SynEx, Var::SynIn] {
                if let Ok(values) = pop.state(var) {
                    prop_assert!(values.iter().all(|x| x.is_finite()));
                }
            }
        }
    }

    #[test]
    fn same_seed_same_spikes_with_one_or_two_threads(params in params_strategy(), seed in 0u64..1000) {
        let (w_ex, w_in) = weights_for(&params);
        // 4500 neurons: three blocks of the parallel partition.
        let mut a = network(params, 4500, seed, 1, 100.0, w_ex, w_in);
        let mut b = network(params, 4500, seed, 2, 100.0, w_ex, w_in);
        a.run(1000).unwrap();
        b.run(1000).unwrap();
        for k in 0..2 {
            prop_assert_eq!(&a.spike_monitors()[k].steps, &b.spike_monitors()[k].steps);
            prop_assert_eq!(&a.spike_monitors()[k].neurons, &b.spike_monitors()[k].neurons);
        }
    }

    #[test]
    fn spike_count_is_monotone_in_input_current(params in params_strategy(), i_low in 0.0f64..1000.0, extra in 0.0f64..1000.0) {
        // Unconnected neurons driven by a constant current: more current,
        // never fewer spikes.
        let count = |current: f64| {
            let mut net = Network::new(0.1, 1, 1).unwrap();
            let p = net.add_lif("n", 1, params).unwrap();
            net.set_bias(p, &[current]).unwrap();
            let m = net.add_spike_monitor(p, None).unwrap();
            net.run(5000).unwrap();
            net.spike_monitors()[m].steps.len()
        };
        prop_assert!(count(i_low) <= count(i_low + extra));
    }

    #[test]
    fn fixed_rules_make_exact_counts(n_pre in 1u32..200, n_post in 1u32..200, k in 0u64..30, total in 0u64..5000, seed in 0u64..100) {
        let mut net = Network::new(0.1, seed, 1).unwrap();
        let a = net.add_lif("a", n_pre, common::cuba(-50.0)).unwrap();
        let b = net.add_lif("b", n_post, common::cuba(-50.0)).unwrap();
        let w = Dist::Constant(1.0);
        let d = Dist::Constant(0.1);
        let p1 = net.connect(&ConnectSpec { pre: a, post: b, receptor: Receptor::Excitatory, rule: &Rule::FixedIndegree { k }, allow_autapses: true, weight: &w, delay_ms: &d }).unwrap();
        let p2 = net.connect(&ConnectSpec { pre: a, post: b, receptor: Receptor::Excitatory, rule: &Rule::FixedTotalNumber { n: total }, allow_autapses: true, weight: &w, delay_ms: &d }).unwrap();
        let p3 = net.connect(&ConnectSpec { pre: a, post: b, receptor: Receptor::Excitatory, rule: &Rule::FixedOutdegree { k }, allow_autapses: true, weight: &w, delay_ms: &d }).unwrap();
        // Out-degree onto the population itself without autapses: each row
        // has exactly k entries, none on the diagonal.
        let p4 = net.connect(&ConnectSpec { pre: b, post: b, receptor: Receptor::Excitatory, rule: &Rule::FixedOutdegree { k }, allow_autapses: false, weight: &w, delay_ms: &d });
        let csr = &net.projections()[p1].csr;
        let mut indeg = vec![0u64; n_post as usize];
        for &j in &csr.indices {
            indeg[j as usize] += 1;
        }
        prop_assert!(indeg.iter().all(|&c| c == k));
        prop_assert_eq!(net.projections()[p2].csr.len() as u64, total);
        let out = &net.projections()[p3].csr;
        for i in 0..n_pre as usize {
            prop_assert_eq!(out.indptr[i + 1] - out.indptr[i], k);
        }
        if n_post == 1 && k > 0 {
            prop_assert!(p4.is_err());
        } else {
            let own = &net.projections()[p4.unwrap()].csr;
            for i in 0..n_post as usize {
                let row = &own.indices[own.indptr[i] as usize..own.indptr[i + 1] as usize];
                prop_assert_eq!(row.len() as u64, k);
                prop_assert!(row.iter().all(|&j| j as usize != i));
            }
        }
        for proj in net.projections() {
            let csr = &proj.csr;
            let rows = if proj.pre == a { n_pre } else { n_post } as usize;
            prop_assert_eq!(csr.indptr.len(), rows + 1);
            for i in 0..rows {
                let row = &csr.indices[csr.indptr[i] as usize..csr.indptr[i + 1] as usize];
                prop_assert!(row.windows(2).all(|w| w[0] <= w[1]));
            }
        }
    }

    #[test]
    fn izhikevich_state_stays_finite(current in -50.0f64..2000.0, preset in 0usize..7, dt in prop_oneof![Just(0.1), Just(0.5), Just(1.0)]) {
        let (_, [a, b, c, d]) = evospikenet_core::neuron::izhikevich::PRESETS[preset];
        let mut net = Network::new(dt, 1, 1).unwrap();
        let p = net.add_izhikevich("n", IzhParams { tau_syn_ms: 0.0 }, vec![a; 4], vec![b; 4], vec![c; 4], vec![d; 4]).unwrap();
        net.set_bias(p, &[current; 4]).unwrap();
        net.run(2000).unwrap();
        for var in [Var::V, Var::U] {
            prop_assert!(net.populations()[p].state(var).unwrap().iter().all(|x| x.is_finite()));
        }
    }
}

/// Forward Euler is first order: halving `dt` halves the error of the
/// subthreshold trajectory. Reference: the same scheme at dt = 0.0005 ms.
#[test]
fn izhikevich_euler_converges_at_first_order() {
    let v_at = |dt: f64, t_ms: f64| -> f64 {
        let mut net = Network::new(dt, 1, 1).unwrap();
        // RS with a subthreshold current: smooth approach to rest, no spike.
        let p = net
            .add_izhikevich(
                "n",
                IzhParams { tau_syn_ms: 0.0 },
                vec![0.02],
                vec![0.2],
                vec![-65.0],
                vec![8.0],
            )
            .unwrap();
        net.set_state(p, Var::V, &[-70.0]).unwrap();
        net.set_bias(p, &[3.0]).unwrap();
        net.run((t_ms / dt).round() as u64).unwrap();
        net.populations()[p].state(Var::V).unwrap()[0]
    };
    let reference = v_at(0.0005, 20.0);
    let errors: Vec<f64> = [0.4, 0.2, 0.1, 0.05]
        .iter()
        .map(|&dt| (v_at(dt, 20.0) - reference).abs())
        .collect();
    for w in errors.windows(2) {
        let ratio = w[0] / w[1];
        // First order: ratio 2; allow 1.7..2.3 for the higher-order terms
        // at the coarsest step.
        assert!((1.7..2.3).contains(&ratio), "errors {errors:?}");
    }
}

/// Izhikevich (2003) Fig. 2: a regular-spiking neuron under constant
/// current 10 fires tonically with spike-frequency adaptation (the first
/// interval is the shortest).
#[test]
fn regular_spiking_adapts() {
    let mut net = Network::new(0.25, 1, 1).unwrap();
    let p = net
        .add_izhikevich(
            "n",
            IzhParams { tau_syn_ms: 0.0 },
            vec![0.02],
            vec![0.2],
            vec![-65.0],
            vec![8.0],
        )
        .unwrap();
    net.set_bias(p, &[10.0]).unwrap();
    let m = net.add_spike_monitor(p, None).unwrap();
    net.run(4000).unwrap();
    let steps = &net.spike_monitors()[m].steps;
    assert!(steps.len() > 5);
    let isi: Vec<u64> = steps.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(isi[0] < *isi.last().unwrap(), "{isi:?}");
}
