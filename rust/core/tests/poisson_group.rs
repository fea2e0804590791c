//! Poisson groups: independent Poisson spike trains with a rate per neuron,
//! at most one spike per step with probability `1 - exp(-rate dt)`, keyed by
//! (pop key, global neuron id) so the threads and the other populations do
//! not change them.

use evospikenet_core::engine::Network;

const DT_MS: f64 = 0.1;

fn spikes(threads: usize, rates: &[f64], steps: u64) -> (Vec<u64>, Vec<u32>) {
    let mut net = Network::new(DT_MS, 7, threads).unwrap();
    net.set_par_min_neurons(0);
    let g = net.add_poisson_group("g", rates).unwrap();
    let m = net.add_spike_monitor(g, None).unwrap();
    net.run(steps).unwrap();
    let mon = &net.spike_monitors()[m];
    (mon.steps.clone(), mon.neurons.clone())
}

#[test]
fn counts_match_the_per_step_probability() {
    let rates: Vec<f64> = (0..200)
        .map(|i| if i % 2 == 0 { 0.0 } else { 400.0 })
        .collect();
    let steps = 20_000;
    let (s, n) = spikes(1, &rates, steps);
    assert!(n.iter().all(|&i| i % 2 == 1), "a neuron of rate 0 spiked");
    // at most one spike per neuron and step
    let mut pairs: Vec<(u64, u32)> = s.iter().copied().zip(n.iter().copied()).collect();
    let len = pairs.len();
    pairs.sort_unstable();
    pairs.dedup();
    assert_eq!(pairs.len(), len);
    let p = -(-400.0 * DT_MS * 1e-3_f64).exp_m1();
    let expected = p * 100.0 * steps as f64;
    let sd = (expected * (1.0 - p)).sqrt();
    assert!(
        (len as f64 - expected).abs() < 5.0 * sd,
        "{len} vs {expected}"
    );
}

#[test]
fn threads_and_other_populations_do_not_change_the_spikes() {
    let rates = vec![50.0; 5000];
    let one = spikes(1, &rates, 2000);
    assert_eq!(one, spikes(3, &rates, 2000));
    // an earlier population of another name does not shift the streams
    let mut net = Network::new(DT_MS, 7, 1).unwrap();
    net.add_poisson_group("other", &[50.0; 10]).unwrap();
    let g = net.add_poisson_group("g", &rates).unwrap();
    let m = net.add_spike_monitor(g, None).unwrap();
    net.run(2000).unwrap();
    let mon = &net.spike_monitors()[m];
    assert_eq!((mon.steps.clone(), mon.neurons.clone()), one);
}

#[test]
fn rates_change_between_runs_and_are_checked() {
    let mut net = Network::new(DT_MS, 1, 1).unwrap();
    let g = net.add_poisson_group("g", &[1000.0; 20]).unwrap();
    let m = net.add_spike_monitor(g, None).unwrap();
    net.run(1000).unwrap();
    let before = net.spike_monitors()[m].steps.len();
    assert!(before > 0);
    net.set_poisson_group_rates(g, &[0.0; 20]).unwrap();
    net.run(1000).unwrap();
    assert_eq!(net.spike_monitors()[m].steps.len(), before);
    assert_eq!(net.poisson_group_rates(g), Some(&[0.0; 20][..]));
    assert!(net.set_poisson_group_rates(g, &[1.0; 3]).is_err());
    assert!(net.set_poisson_group_rates(g, &[-1.0; 20]).is_err());
    assert!(net.add_poisson_group("h", &[f64::NAN]).is_err());
    let lif_like = net.add_input_port("port", 2, 0).unwrap();
    assert!(net.set_poisson_group_rates(lif_like, &[1.0; 2]).is_err());
}

#[test]
fn a_shard_with_the_whole_identity_draws_as_the_whole() {
    let rates = vec![200.0; 10];
    let whole = spikes(1, &rates, 3000);
    let mut net = Network::new(DT_MS, 7, 1).unwrap();
    let g = net.add_poisson_group("shard", &rates[..4]).unwrap();
    let key = evospikenet_core::rng::name_key("g");
    net.set_identity(g, Some(key), Some(vec![6, 7, 8, 9]))
        .unwrap();
    let m = net.add_spike_monitor(g, None).unwrap();
    net.run(3000).unwrap();
    let mon = &net.spike_monitors()[m];
    let want: Vec<(u64, u32)> = whole
        .0
        .iter()
        .zip(&whole.1)
        .filter(|(_, &i)| i >= 6)
        .map(|(&s, &i)| (s, i - 6))
        .collect();
    let got: Vec<(u64, u32)> = mon
        .steps
        .iter()
        .copied()
        .zip(mon.neurons.iter().copied())
        .collect();
    assert_eq!(got, want);
}
