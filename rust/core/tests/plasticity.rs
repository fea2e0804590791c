//! Property tests of plasticity: under random spike trains, delays and rule
//! parameters, weights stay finite and within `[0, w_max]`; results do not
//! depend on the thread count; a static projection's transmission is
//! unchanged when a rule with zero scale is attached.

mod common;

use evospikenet_core::connect::{Dist, Rule};
use evospikenet_core::engine::{ConnectSpec, Network, Receptor};
use evospikenet_core::plasticity::{
    RateParams, RateRule, RstdpParams, Rule as PRule, StdpParams, Traces, WeightDependence,
};
use proptest::prelude::*;

fn rule_strategy() -> impl Strategy<Value = PRule> {
    let w_max = 0.1f64..50.0;
    prop_oneof![
        (
            1e-4f64..10.0,
            1e-4f64..10.0,
            0.5f64..100.0,
            0.5f64..100.0,
            w_max.clone(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(
                |(ap, am, tp, tm, w_max, mult, near)| PRule::Stdp(StdpParams {
                    a_plus: ap * w_max,
                    a_minus: am * w_max,
                    tau_plus_ms: tp,
                    tau_minus_ms: tm,
                    w_max,
                    weight_dependence: if mult {
                        WeightDependence::Multiplicative
                    } else {
                        WeightDependence::Additive
                    },
                    traces: if near {
                        Traces::Nearest
                    } else {
                        Traces::AllToAll
                    },
                })
            ),
        (
            1e-4f64..10.0,
            1e-4f64..10.0,
            0.5f64..100.0,
            10.0f64..2000.0,
            10.0f64..500.0,
            w_max.clone()
        )
            .prop_map(|(ap, am, tau, tc, td, w_max)| PRule::Rstdp(RstdpParams {
                a_plus: ap,
                a_minus: am,
                tau_plus_ms: tau,
                tau_minus_ms: tau,
                tau_c_ms: tc,
                tau_d_ms: td,
                w_max,
            })),
        (
            any::<bool>(),
            1e-4f64..100.0,
            1.0f64..500.0,
            1.0f64..5000.0,
            1.0f64..50.0,
            1u32..50,
            w_max
        )
            .prop_map(
                |(bcm, eta, tr, tt, rref, every, w_max)| PRule::Rate(RateParams {
                    rule: if bcm { RateRule::Bcm } else { RateRule::Oja },
                    learning_rate: eta,
                    tau_rate_ms: tr,
                    tau_theta_ms: tt,
                    rate_ref_hz: rref,
                    interval_ms: f64::from(every) * 0.1,
                    w_max,
                })
            ),
    ]
}

/// Random source spikes onto 20 LIF neurons kept firing by Poisson drive;
/// all-to-all plastic projection with random delays.
fn network(rule: PRule, seed: u64, threads: usize, spikes: &[(f64, u32)]) -> (Network, usize) {
    let mut net = Network::new(0.1, seed, threads).unwrap();
    net.set_par_min_neurons(0);
    let (times, neurons): (Vec<f64>, Vec<u32>) = spikes.iter().copied().unzip();
    let src = net.add_spike_source("src", 30, &times, &neurons).unwrap();
    let post = net.add_lif("post", 20, common::cuba(-55.0)).unwrap();
    net.add_poisson_uniform(post, Receptor::Excitatory, 3000.0, 40.0)
        .unwrap();
    let w_max = rule.w_max();
    let proj = net
        .connect(&ConnectSpec {
            pre: src,
            post,
            receptor: Receptor::Excitatory,
            rule: &Rule::AllToAll,
            allow_autapses: true,
            weight: &Dist::Uniform {
                low: 0.0,
                high: w_max,
            },
            delay_ms: &Dist::Uniform {
                low: 0.0,
                high: 5.0,
            },
        })
        .unwrap();
    net.add_plasticity(proj, rule, false).unwrap();
    (net, proj)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn weights_stay_finite_and_bounded(
        rule in rule_strategy(),
        seed in 0u64..1000,
        spikes in prop::collection::vec((0.0f64..300.0, 0u32..30), 0..600),
        dopamine in prop::collection::vec(-2.0f64..5.0, 3),
    ) {
        let (mut net, proj) = network(rule, seed, 1, &spikes);
        for d in dopamine {
            net.run(1000).unwrap();
            net.add_dopamine(d).unwrap();
            net.set_plasticity_scale(proj, d.abs()).unwrap();
        }
        let w = net.weights(proj).unwrap();
        let w_max = rule.w_max();
        prop_assert!(w.iter().all(|x| x.is_finite() && (0.0..=w_max).contains(x)));
    }

    #[test]
    fn threads_do_not_change_learning(
        rule in rule_strategy(),
        seed in 0u64..1000,
        spikes in prop::collection::vec((0.0f64..200.0, 0u32..30), 0..300),
    ) {
        let (mut a, pa) = network(rule, seed, 1, &spikes);
        let (mut b, pb) = network(rule, seed, 3, &spikes);
        a.run(2000).unwrap();
        b.run(2000).unwrap();
        prop_assert_eq!(a.weights(pa).unwrap(), b.weights(pb).unwrap());
    }
}

#[test]
fn zero_scale_plastic_projection_transmits_like_a_static_one() {
    // Same network twice: once static, once with STDP at scale 0. The spike
    // trains must be identical (plastic delivery adds the same weights at the
    // same steps through its own queue).
    let spikes: Vec<(f64, u32)> = (0u32..400)
        .map(|k| (f64::from(k * 37 % 3000) * 0.1, k * 7 % 30))
        .collect();
    let rule = PRule::Stdp(StdpParams {
        a_plus: 1.0,
        a_minus: 1.0,
        tau_plus_ms: 20.0,
        tau_minus_ms: 20.0,
        w_max: 200.0,
        weight_dependence: WeightDependence::Additive,
        traces: Traces::AllToAll,
    });
    let run = |plastic: bool| {
        let (mut net, proj) = network(rule, 5, 1, &spikes);
        if plastic {
            net.set_plasticity_scale(proj, 0.0).unwrap();
        } else {
            net.remove_plasticity(proj).unwrap();
        }
        let mon = net.add_spike_monitor(1, None).unwrap();
        net.run(3000).unwrap();
        (
            net.spike_monitors()[mon].steps.clone(),
            net.spike_monitors()[mon].neurons.clone(),
        )
    };
    let (a, b) = (run(false), run(true));
    assert!(!a.0.is_empty());
    assert_eq!(a, b);
}
