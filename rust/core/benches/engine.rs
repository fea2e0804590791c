//! Criterion benchmarks of the engine kernels:
//! neuron update (neuron-steps/s), spike delivery (synaptic events/s), and
//! the whole CUBA benchmark network (neuron-steps/s).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use evospikenet_core::connect::{Dist, Rule};
use evospikenet_core::engine::{ConnectSpec, Network, Receptor, Var};
use evospikenet_core::neuron::lif::{LifParams, LifSynapse};
use std::hint::black_box;

fn lif(synapse: LifSynapse) -> LifParams {
    LifParams {
        c_m_pf: 200.0,
        tau_m_ms: 20.0,
        e_l_mv: -49.0,
        v_th_mv: -50.0,
        v_reset_mv: -60.0,
        t_ref_ms: 5.0,
        synapse,
    }
}

const CUBA: LifSynapse = LifSynapse::CurrentExp {
    tau_syn_ex_ms: 5.0,
    tau_syn_in_ms: 10.0,
};
const COBA: LifSynapse = LifSynapse::CondExp {
    tau_syn_ex_ms: 5.0,
    tau_syn_in_ms: 10.0,
    e_ex_mv: 0.0,
    e_in_mv: -80.0,
};

fn neuron_update(c: &mut Criterion) {
    let mut group = c.benchmark_group("neuron_update");
    let steps = 100;
    for (name, synapse) in [("lif_cuba", CUBA), ("lif_coba", COBA)] {
        for n in [4_000u32, 40_000] {
            let mut net = Network::new(0.1, 1, 1).unwrap();
            let p = net.add_lif("n", n, lif(synapse)).unwrap();
            net.init_state(
                p,
                Var::V,
                &Dist::Uniform {
                    low: -60.0,
                    high: -50.0,
                },
            )
            .unwrap();
            group.throughput(Throughput::Elements(u64::from(n) * steps));
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| net.run(black_box(steps)).unwrap());
            });
        }
    }
    group.finish();
}

fn spike_delivery(c: &mut Criterion) {
    // Every source neuron fires every step into 100 targets each.
    let mut group = c.benchmark_group("spike_delivery");
    let (n_src, n_tgt, k, steps) = (1_000u32, 10_000u32, 100u64, 50u64);
    let mut net = Network::new(0.1, 1, 1).unwrap();
    // Enough spikes for every iteration Criterion runs (20k steps).
    let mut t_all = Vec::new();
    let mut i_all = Vec::new();
    for s in 0..20_000u32 {
        for i in 0..n_src {
            t_all.push(f64::from(s) * 0.1);
            i_all.push(i);
        }
    }
    let src = net.add_spike_source("src", n_src, &t_all, &i_all).unwrap();
    let tgt = net.add_lif("tgt", n_tgt, lif(CUBA)).unwrap();
    net.connect(&ConnectSpec {
        pre: src,
        post: tgt,
        receptor: Receptor::Excitatory,
        rule: &Rule::FixedTotalNumber {
            n: u64::from(n_src) * k,
        },
        allow_autapses: true,
        weight: &Dist::Constant(1.0),
        delay_ms: &Dist::Uniform {
            low: 0.1,
            high: 2.0,
        },
    })
    .unwrap();
    group.throughput(Throughput::Elements(u64::from(n_src) * k * steps));
    group.bench_function("fixed_total_100k_synapses_all_firing", |b| {
        b.iter(|| net.run(black_box(steps)).unwrap());
    });
    group.finish();
}

fn cuba_network(c: &mut Criterion) {
    let mut group = c.benchmark_group("cuba_network");
    group.sample_size(10);
    for threads in [1usize, 2] {
        let n = 4000u32;
        let mut net = Network::new(0.1, 1, threads).unwrap();
        let e = net.add_lif("E", 3200, lif(CUBA)).unwrap();
        let i = net.add_lif("I", 800, lif(CUBA)).unwrap();
        for pop in [e, i] {
            net.init_state(
                pop,
                Var::V,
                &Dist::Uniform {
                    low: -60.0,
                    high: -50.0,
                },
            )
            .unwrap();
        }
        let d = Dist::Constant(0.1);
        for post in [e, i] {
            net.connect(&ConnectSpec {
                pre: e,
                post,
                receptor: Receptor::Excitatory,
                rule: &Rule::FixedProbability { p: 0.02 },
                allow_autapses: true,
                weight: &Dist::Constant(16.2),
                delay_ms: &d,
            })
            .unwrap();
            net.connect(&ConnectSpec {
                pre: i,
                post,
                receptor: Receptor::Inhibitory,
                rule: &Rule::FixedProbability { p: 0.02 },
                allow_autapses: true,
                weight: &Dist::Constant(-90.0),
                delay_ms: &d,
            })
            .unwrap();
        }
        let steps = 1000;
        group.throughput(Throughput::Elements(u64::from(n) * steps));
        group.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, _| {
            b.iter(|| net.run(black_box(steps)).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, neuron_update, spike_delivery, cuba_network);
criterion_main!(benches);
