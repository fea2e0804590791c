//! Criterion benchmarks of NEST's point-neuron models (neuron-steps/s):
//! `iaf_psc_alpha` (exact propagator), AdEx `aeif_cond_exp` (RK4, 10
//! sub-steps per 0.1 ms step), `hh_cond_exp_traub` (exponential Euler, one
//! sub-step), each driven above threshold by a bias current so that the
//! spike paths run too; and the COBAHH network of Brette et al. (2007).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use evospikenet_core::connect::{Dist, Rule};
use evospikenet_core::engine::{ConnectSpec, Network, Receptor, Var};
use std::hint::black_box;

fn pairs(values: &[(&str, f64)]) -> Vec<(String, f64)> {
    values.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn iaf_psc_alpha() -> Vec<(String, f64)> {
    pairs(&[
        ("c_m_pf", 250.0),
        ("tau_m_ms", 10.0),
        ("tau_syn_ex_ms", 2.0),
        ("tau_syn_in_ms", 2.0),
        ("t_ref_ms", 2.0),
        ("e_l_mv", -70.0),
        ("v_th_mv", -55.0),
        ("v_reset_mv", -70.0),
        ("i_e_pa", 420.0),
    ])
}

fn aeif_cond_exp() -> Vec<(String, f64)> {
    pairs(&[
        ("c_m_pf", 281.0),
        ("g_l_ns", 30.0),
        ("e_l_mv", -70.6),
        ("v_th_mv", -50.4),
        ("delta_t_mv", 2.0),
        ("v_peak_mv", 0.0),
        ("v_reset_mv", -60.0),
        ("t_ref_ms", 0.0),
        ("a_ns", 4.0),
        ("b_pa", 80.5),
        ("tau_w_ms", 144.0),
        ("tau_syn_ex_ms", 0.2),
        ("tau_syn_in_ms", 2.0),
        ("e_ex_mv", 0.0),
        ("e_in_mv", -85.0),
        ("i_e_pa", 800.0),
        ("max_substep_ms", 0.01),
    ])
}

fn hh_cond_exp_traub(t_ref_ms: f64, i_e_pa: f64) -> Vec<(String, f64)> {
    pairs(&[
        ("c_m_pf", 200.0),
        ("g_na_ns", 20_000.0),
        ("g_k_ns", 6_000.0),
        ("g_l_ns", 10.0),
        ("e_na_mv", 50.0),
        ("e_k_mv", -90.0),
        ("e_l_mv", -60.0),
        ("v_t_mv", -63.0),
        ("e_ex_mv", 0.0),
        ("e_in_mv", -80.0),
        ("tau_syn_ex_ms", 5.0),
        ("tau_syn_in_ms", 10.0),
        ("t_ref_ms", t_ref_ms),
        ("v_th_mv", -20.0),
        ("i_e_pa", i_e_pa),
        ("max_substep_ms", 0.1),
    ])
}

fn point_update(c: &mut Criterion) {
    let mut group = c.benchmark_group("point_neuron_update");
    let steps = 100;
    let n = 4_000u32;
    let models = [
        ("iaf_psc_alpha", iaf_psc_alpha()),
        ("aeif_cond_exp", aeif_cond_exp()),
        ("hh_cond_exp_traub", hh_cond_exp_traub(2.0, 1000.0)),
    ];
    for (model, params) in models {
        let mut net = Network::new(0.1, 1, 1).unwrap();
        net.add_point("n", n, model, &params).unwrap();
        group.throughput(Throughput::Elements(u64::from(n) * steps));
        group.bench_with_input(BenchmarkId::new(model, n), &n, |b, _| {
            b.iter(|| net.run(black_box(steps)).unwrap());
        });
    }
    group.finish();
}

fn cobahh(c: &mut Criterion) {
    // Brette et al. (2007) benchmark 3, as evospikenet.models.cobahh (4000 neurons).
    let mut group = c.benchmark_group("cobahh");
    group.sample_size(10);
    let (n_e, n_i) = (3200u32, 800u32);
    let mut net = Network::new(0.1, 1, 1).unwrap();
    let params = hh_cond_exp_traub(3.0, 0.0);
    let e = net
        .add_point("E", n_e, "hh_cond_exp_traub", &params)
        .unwrap();
    let i = net
        .add_point("I", n_i, "hh_cond_exp_traub", &params)
        .unwrap();
    for pop in [e, i] {
        for (var, dist) in [
            (
                Var::V,
                Dist::Normal {
                    mean: -65.0,
                    std: 5.0,
                    low: f64::NEG_INFINITY,
                    high: f64::INFINITY,
                },
            ),
            (
                Var::SynEx,
                Dist::Normal {
                    mean: 40.0,
                    std: 15.0,
                    low: f64::NEG_INFINITY,
                    high: f64::INFINITY,
                },
            ),
            (
                Var::SynIn,
                Dist::Normal {
                    mean: 200.0,
                    std: 120.0,
                    low: f64::NEG_INFINITY,
                    high: f64::INFINITY,
                },
            ),
        ] {
            net.init_state(pop, var, &dist).unwrap();
        }
        for var in [Var::M, Var::H, Var::N] {
            net.set_state(pop, var, &vec![0.0; net.populations()[pop].n as usize])
                .unwrap();
        }
    }
    let rule = Rule::FixedProbability { p: 0.02 };
    for post in [e, i] {
        for (pre, receptor, w) in [
            (e, Receptor::Excitatory, 6.0),
            (i, Receptor::Inhibitory, 67.0),
        ] {
            net.connect(&ConnectSpec {
                pre,
                post,
                receptor,
                rule: &rule,
                allow_autapses: true,
                weight: &Dist::Constant(w),
                delay_ms: &Dist::Constant(0.0),
            })
            .unwrap();
        }
    }
    let steps = 1000; // 100 ms
    group.throughput(Throughput::Elements(u64::from(n_e + n_i) * steps));
    group.bench_function("4000_neurons_100ms", |b| {
        b.iter(|| net.run(black_box(steps)).unwrap());
    });
    group.finish();
}

criterion_group!(benches, point_update, cobahh);
criterion_main!(benches);
