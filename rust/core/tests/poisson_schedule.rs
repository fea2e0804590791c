//! Poisson rate schedules: piecewise-constant rates that the engine takes at
//! the start of the given steps, exactly as `set_poisson_rates` called there.

mod common;

use evospikenet_core::engine::{Network, Receptor};
use evospikenet_core::Error;

const DT_MS: f64 = 0.1;

/// Neurons driven by a Poisson input onto a very low threshold, so their
/// spikes follow the input draws; returns the network and input index.
fn driven(rates: &[f64]) -> (Network, usize, usize) {
    let mut net = Network::new(DT_MS, 5, 1).unwrap();
    let p = net
        .add_lif("p", rates.len() as u32, common::cuba(-69.0))
        .unwrap();
    let input = net
        .add_poisson(p, Receptor::Excitatory, rates, 500.0)
        .unwrap();
    let m = net.add_spike_monitor(p, None).unwrap();
    (net, input, m)
}

#[test]
fn a_schedule_equals_set_rates_at_those_steps() {
    let n = 50;
    let first = vec![10.0; n];
    let second: Vec<f64> = (0..n).map(|i| 20.0 * i as f64).collect();
    let third = vec![0.0; n];
    let (mut planned, input, m) = driven(&first);
    let flat: Vec<f64> = [second.clone(), third.clone()].concat();
    planned
        .set_poisson_schedule(input, &[700, 1500], &flat)
        .unwrap();
    planned.run(1000).unwrap();
    planned.run(1000).unwrap(); // across a run boundary too

    let (mut manual, input, m2) = driven(&first);
    manual.run(700).unwrap();
    manual.set_poisson_rates(input, &second).unwrap();
    manual.run(800).unwrap();
    manual.set_poisson_rates(input, &third).unwrap();
    manual.run(500).unwrap();

    let (a, b) = (&planned.spike_monitors()[m], &manual.spike_monitors()[m2]);
    assert!(a.steps.len() > 100);
    assert_eq!((&a.steps, &a.neurons), (&b.steps, &b.neurons));
    // the rates did change: neuron 0 gets no input from step 700 on
    let late: Vec<u64> = a
        .steps
        .iter()
        .zip(&a.neurons)
        .filter(|&(&s, &i)| i == 0 && s >= 750)
        .map(|(&s, _)| s)
        .collect();
    assert!(late.is_empty(), "{late:?}");
}

#[test]
fn bad_schedules_are_refused_naming_the_field() {
    let (mut net, input, _) = driven(&[5.0; 3]);
    net.run(10).unwrap();
    let name = |e: Error| match e {
        Error::InvalidParameter { name, .. } => name,
        other => panic!("{other:?}"),
    };
    let past = net
        .set_poisson_schedule(input, &[5], &[1.0; 3])
        .unwrap_err();
    assert_eq!(name(past), "times_ms[0]");
    let order = net
        .set_poisson_schedule(input, &[20, 20], &[1.0; 6])
        .unwrap_err();
    assert_eq!(name(order), "times_ms[1]");
    let negative = net
        .set_poisson_schedule(input, &[20, 30], &[1.0, 1.0, 1.0, 1.0, -1.0, 1.0])
        .unwrap_err();
    assert_eq!(name(negative), "rates_hz[1][1]");
    let shape = net
        .set_poisson_schedule(input, &[20], &[1.0; 2])
        .unwrap_err();
    assert!(matches!(shape, Error::ShapeMismatch { .. }));
}
