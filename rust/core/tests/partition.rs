//! A network split into two `Network`s exchanging boundary spikes through
//! input ports gives the spikes of the whole network bit for bit.
//!
//! Whole: LIF populations A and B with Poisson input, current noise, drawn
//! initial potentials, drawn connectivity (all four pairs, three rules) and
//! drawn delays (between A and B at least `L` = 3 steps). Split: part 1 holds
//! A and an input port named "B", part 2 holds B and a port named "A"; each
//! part is built alone (its own populations only), and after every chunk of
//! `L` steps each part's spikes are pushed into the other part's port. Random
//! streams are keyed by population names, so both parts draw what the whole
//! draws.

mod common;

use evospikenet_core::connect::{Dist, Rule};
use evospikenet_core::engine::{ConnectSpec, Network, Receptor, Var, Window};

const DT_MS: f64 = 0.1;
const SEED: u64 = 20_240_611;
const N_A: u32 = 120;
const N_B: u32 = 80;
/// Latency of the ports = smallest delay between the parts (steps).
const L: u64 = 3;
const CHUNKS: u64 = 700;

/// Which populations a network holds for real (the others are ports).
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Whole,
    A,
    B,
}

fn between() -> Dist {
    // Delays of 3..=8 steps, drawn.
    Dist::Uniform {
        low: L as f64 * DT_MS,
        high: 0.8,
    }
}

fn within() -> Dist {
    Dist::Uniform {
        low: 0.0,
        high: 0.5,
    }
}

/// Build the network (or one part of it); returns it with the indices of A
/// and B (a port where the part does not hold the population).
fn build(part: Part, threads: usize) -> (Network, usize, usize) {
    let mut net = Network::new(DT_MS, SEED, threads).unwrap();
    net.set_par_min_neurons(0);
    let params = common::cuba(-55.0);
    let latency = L;
    let a = if part == Part::B {
        net.add_input_port("A", N_A, latency).unwrap()
    } else {
        net.add_lif("A", N_A, params).unwrap()
    };
    let b = if part == Part::A {
        net.add_input_port("B", N_B, latency).unwrap()
    } else {
        net.add_lif("B", N_B, params).unwrap()
    };
    let local: Vec<usize> = match part {
        Part::Whole => vec![a, b],
        Part::A => vec![a],
        Part::B => vec![b],
    };
    for &pop in &local {
        net.init_state(
            pop,
            Var::V,
            &Dist::Uniform {
                low: -70.0,
                high: -55.0,
            },
        )
        .unwrap();
        net.add_poisson_uniform(pop, Receptor::Excitatory, 9000.0, 40.0)
            .unwrap();
        net.add_noise(pop, 0.0, 30.0).unwrap();
    }
    // Connections in the same order in every build; each part makes those
    // onto its own populations.
    let conns = [
        (a, a, Rule::FixedProbability { p: 0.1 }, 30.0, within()),
        (b, a, Rule::FixedIndegree { k: 12 }, -60.0, between()),
        (a, b, Rule::FixedProbability { p: 0.15 }, 35.0, between()),
        (b, b, Rule::FixedTotalNumber { n: 600 }, -50.0, within()),
        (a, b, Rule::FixedOutdegree { k: 9 }, 20.0, between()),
    ];
    for (pre, post, rule, w, delay) in &conns {
        if !local.contains(post) {
            continue;
        }
        let receptor = if *w < 0.0 {
            Receptor::Inhibitory
        } else {
            Receptor::Excitatory
        };
        net.connect(&ConnectSpec {
            pre: *pre,
            post: *post,
            receptor,
            rule,
            allow_autapses: false,
            weight: &Dist::Constant(*w),
            delay_ms: delay,
        })
        .unwrap();
    }
    for &pop in &local {
        net.add_spike_monitor(pop, None).unwrap();
    }
    (net, a, b)
}

type Train = (Vec<u64>, Vec<u32>);

fn whole(threads: usize) -> (Train, Train) {
    let (mut net, _, _) = build(Part::Whole, threads);
    net.run(L * CHUNKS).unwrap();
    let m = net.spike_monitors();
    (
        (m[0].steps.clone(), m[0].neurons.clone()),
        (m[1].steps.clone(), m[1].neurons.clone()),
    )
}

fn split(threads: usize) -> (Train, Train) {
    let (mut net_a, a, port_b) = build(Part::A, threads);
    let (mut net_b, port_a, b) = build(Part::B, threads);
    for _ in 0..CHUNKS {
        net_a.record_chunk(&[a]).unwrap();
        net_a.run(L).unwrap();
        let (steps_a, neurons_a) = net_a.take_chunk(a).unwrap();
        net_b.record_chunk(&[b]).unwrap();
        net_b.run(L).unwrap();
        let (steps_b, neurons_b) = net_b.take_chunk(b).unwrap();
        net_b
            .push_port_spikes(port_a, &steps_a, &neurons_a)
            .unwrap();
        net_a
            .push_port_spikes(port_b, &steps_b, &neurons_b)
            .unwrap();
    }
    let (ma, mb) = (&net_a.spike_monitors()[0], &net_b.spike_monitors()[0]);
    (
        (ma.steps.clone(), ma.neurons.clone()),
        (mb.steps.clone(), mb.neurons.clone()),
    )
}

#[test]
fn split_network_matches_whole_bit_for_bit() {
    let reference = whole(1);
    let (a, b) = &reference;
    // The test means something only if both populations fire and drive
    // each other.
    assert!(a.0.len() > 500, "A fired {} spikes", a.0.len());
    assert!(b.0.len() > 500, "B fired {} spikes", b.0.len());
    for threads in [1, 2] {
        assert_eq!(whole(threads), reference, "whole, {threads} threads");
        let (sa, sb) = split(threads);
        assert_eq!(&sa, a, "part A, {threads} threads");
        assert_eq!(&sb, b, "part B, {threads} threads");
    }
}

#[test]
fn boundary_projections_matter() {
    // Without the exchange, part A's spikes differ from the whole network's:
    // the identity above is not trivially true.
    let (reference, _) = whole(1);
    let (mut net_a, _, _) = build(Part::A, 1);
    net_a.run(L * CHUNKS).unwrap();
    let m = &net_a.spike_monitors()[0];
    assert_ne!((m.steps.clone(), m.neurons.clone()), reference);
}

#[test]
fn port_refuses_the_past_and_short_delays() {
    let (mut net, a, port_b) = build(Part::A, 1);
    net.run(10).unwrap();
    // Emitted by the port at 6 + 3 = 9 < 10: into the past.
    let err = net.push_port_spikes(port_b, &[6], &[0]).unwrap_err();
    assert!(err.to_string().contains("steps[0]"), "{err}");
    // 7 + 3 = 10 is the next step: accepted.
    net.push_port_spikes(port_b, &[7], &[0]).unwrap();
    let err = net.push_port_spikes(port_b, &[20], &[N_B]).unwrap_err();
    assert!(err.to_string().contains("neurons[0]"), "{err}");
    let err = net
        .connect(&ConnectSpec {
            pre: port_b,
            post: a,
            receptor: Receptor::Excitatory,
            rule: &Rule::AllToAll,
            allow_autapses: true,
            weight: &Dist::Constant(1.0),
            delay_ms: &Dist::Constant(0.2),
        })
        .unwrap_err();
    assert!(err.to_string().contains("delay_ms"), "{err}");
}

/// The synapses of `proj` of `net` as sorted `(pre, post, weight bits, delay)`
/// rows, pre rows shifted by `pre_from`, columns by `post_from`, delays by
/// `latency`.
fn rows(
    net: &Network,
    proj: usize,
    pre_from: u32,
    post_from: u32,
    latency: u16,
) -> Vec<(u32, u32, u32, u16)> {
    let (pre, post, w, d) = net.projections()[proj].csr.to_coo();
    (0..pre.len())
        .map(|k| {
            (
                pre[k] + pre_from,
                post[k] + post_from,
                w[k].to_bits(),
                d[k] + latency,
            )
        })
        .collect()
}

#[test]
fn windows_of_a_split_population_are_the_whole_projection_cut() {
    // A (30 neurons) onto itself split as 0..12 | 12..30 over two parts: each
    // part holds its range (with its global ids) and a port standing for the
    // whole A; the pieces of every rule, with drawn weights and delays, make
    // up the whole network's projection exactly.
    const N: u32 = 30;
    let weight = Dist::Normal {
        mean: 20.0,
        std: 5.0,
        low: 0.0,
        high: f64::INFINITY,
    };
    let delay = between();
    let rules = [
        Rule::FixedProbability { p: 0.3 },
        Rule::FixedIndegree { k: 4 },
        Rule::FixedOutdegree { k: 5 },
        Rule::FixedTotalNumber { n: 200 },
        Rule::AllToAll,
    ];
    let spec = |pre: usize, post: usize, rule| ConnectSpec {
        pre,
        post,
        receptor: Receptor::Excitatory,
        rule,
        allow_autapses: false,
        weight: &weight,
        delay_ms: &delay,
    };
    let mut whole = Network::new(DT_MS, SEED, 1).unwrap();
    let a = whole.add_lif("A", N, common::cuba(-55.0)).unwrap();
    let mut expected = Vec::new();
    for rule in &rules {
        let p = whole.connect(&spec(a, a, rule)).unwrap();
        let mut r = rows(&whole, p, 0, 0, 0);
        r.sort_unstable();
        expected.push(r);
    }
    let ids: Vec<u64> = (0..u64::from(N)).collect();
    let mut got: Vec<Vec<(u32, u32, u32, u16)>> = vec![Vec::new(); rules.len()];
    for (lo, hi) in [(0u32, 12u32), (12, N)] {
        let mut net = Network::new(DT_MS, SEED, 2).unwrap();
        net.set_par_min_neurons(0);
        let here = net.add_lif("A", hi - lo, common::cuba(-55.0)).unwrap();
        let key = net.populations()[here].rng_key();
        let local_ids: Vec<u64> = (u64::from(lo)..u64::from(hi)).collect();
        net.set_identity(here, None, Some(local_ids)).unwrap();
        let port = net.add_input_port("A (other parts)", N, L).unwrap();
        net.set_identity(port, Some(key), None).unwrap();
        let mut pieces = vec![(here, lo, hi, lo)];
        pieces.extend(
            [(0, lo), (hi, N)]
                .iter()
                .filter(|r| r.0 < r.1)
                .map(|&(x, y)| (port, x, y, 0)),
        );
        for (k, rule) in rules.iter().enumerate() {
            let window = Window {
                pre_ids: &ids,
                post_ids: &ids,
                post_from: lo,
                same_population: true,
                pieces: &pieces,
            };
            let made = net
                .connect_window(&spec(here, here, rule), &window, &mut || Ok(()))
                .unwrap();
            assert_eq!(made.len(), 2);
            got[k].extend(rows(&net, made[0], lo, lo, 0));
            got[k].extend(rows(&net, made[1], 0, lo, L as u16));
        }
    }
    for (k, mut g) in got.into_iter().enumerate() {
        g.sort_unstable();
        assert!(!expected[k].is_empty());
        assert_eq!(g, expected[k], "{:?}", rules[k]);
    }
}
