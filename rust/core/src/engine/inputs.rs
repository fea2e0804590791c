//! Inputs: Poisson generators with per-neuron rates, Gaussian current
//! noise, step currents, per-neuron currents and bias currents.

use std::collections::HashMap;

use super::{check_per_neuron, Model, Network, Population, Receptor};
use crate::poisson::PoissonCounts;
use crate::rng::{self, tag, Stream};
use crate::validate::{finite, less_than, non_negative};
use crate::{Error, Result};

/// Independent Poisson spike trains summed per target neuron, with a rate
/// per neuron.
#[derive(Clone, Debug)]
pub(super) struct PoissonInput {
    pub(super) target: usize,
    pub(super) receptor: Receptor,
    pub(super) weight: f64,
    /// Per neuron, the index of its sampler in `dists`.
    pub(super) which: Vec<u32>,
    /// One sampler per distinct rate (`None` for rate 0).
    pub(super) dists: Vec<Option<PoissonCounts>>,
    /// Whether any neuron has a nonzero rate.
    pub(super) active: bool,
    /// One stream per neuron.
    pub(super) streams: Vec<Stream>,
    /// Rate changes still to come, by increasing step.
    pub(super) schedule: Vec<ScheduledRates>,
    /// Index in `schedule` of the next change.
    pub(super) next: usize,
}

/// Per-neuron rates that a Poisson input takes from step `step` on.
#[derive(Clone, Debug)]
pub(super) struct ScheduledRates {
    pub(super) step: u64,
    pub(super) which: Vec<u32>,
    pub(super) dists: Vec<Option<PoissonCounts>>,
    pub(super) active: bool,
}

impl PoissonInput {
    /// Take the scheduled rates due at step `s` (the latest change with a
    /// step <= `s`).
    pub(super) fn apply_schedule(&mut self, s: u64) {
        while let Some(change) = self.schedule.get_mut(self.next) {
            if change.step > s {
                break;
            }
            self.which = std::mem::take(&mut change.which);
            self.dists = std::mem::take(&mut change.dists);
            self.active = change.active;
            self.next += 1;
        }
    }
}

/// Samplers of per-neuron rates: `(which, dists, active)`, one sampler per
/// distinct rate.
pub(super) fn poisson_samplers(
    rates_hz: &[f64],
    dt_ms: f64,
) -> Result<(Vec<u32>, Vec<Option<PoissonCounts>>, bool)> {
    for (k, &r) in rates_hz.iter().enumerate() {
        non_negative(&format!("rate_hz[{k}]"), r)?;
    }
    let mut index: HashMap<u64, u32> = HashMap::new();
    let mut dists = Vec::new();
    let mut which = Vec::with_capacity(rates_hz.len());
    for &r in rates_hz {
        let slot = if let Some(&slot) = index.get(&r.to_bits()) {
            slot
        } else {
            let lambda = r * dt_ms * 1e-3;
            dists.push(if lambda > 0.0 {
                Some(PoissonCounts::new(lambda)?)
            } else {
                None
            });
            let slot = (dists.len() - 1) as u32;
            index.insert(r.to_bits(), slot);
            slot
        };
        which.push(slot);
    }
    let active = dists.iter().any(Option::is_some);
    Ok((which, dists, active))
}

/// One stream per neuron of `pop`: `(seed, kind, pop key, ordinal, global id)`.
pub(super) fn neuron_streams(seed: u64, kind: u64, pop: &Population, ordinal: u64) -> Vec<Stream> {
    let base = rng::mix(seed, &[kind, pop.rng_key, ordinal]);
    (0..pop.n)
        .map(|i| rng::from_state(rng::extend(base, pop.global_id(i))))
        .collect()
}

/// Gaussian white current noise, redrawn every step.
#[derive(Clone, Debug)]
pub(super) struct NoiseInput {
    pub(super) target: usize,
    pub(super) mean_pa: f64,
    pub(super) std_pa: f64,
    /// One stream per neuron.
    pub(super) streams: Vec<Stream>,
}

/// A constant current per neuron (pA), changeable between runs.
#[derive(Clone, Debug)]
pub(super) struct CurrentInput {
    pub(super) target: usize,
    pub(super) amplitudes_pa: Vec<f64>,
}

/// Piecewise-constant current (pA) into chosen neurons.
#[derive(Clone, Debug)]
pub(super) struct StepCurrent {
    pub(super) target: usize,
    pub(super) neurons: Option<Vec<u32>>,
    pub(super) steps: Vec<u64>,
    pub(super) amplitudes_pa: Vec<f64>,
}

impl StepCurrent {
    pub(super) fn amplitude_at(&self, step: u64) -> f64 {
        let k = self.steps.partition_point(|&s| s <= step);
        if k == 0 {
            0.0
        } else {
            self.amplitudes_pa[k - 1]
        }
    }
}

impl Network {
    /// Set the constant bias current (pA) of each neuron of `pop`.
    pub fn set_bias(&mut self, pop: usize, i_e_pa: &[f64]) -> Result<()> {
        self.pop_index(pop)?;
        let p = &mut self.populations[pop];
        check_per_neuron("i_e_pa", i_e_pa, p.n)?;
        let name = p.name.clone();
        p.bias_mut()
            .ok_or_else(|| Error::invalid("population", name, "a spike source takes no current"))?
            .copy_from_slice(i_e_pa);
        p.has_bias = i_e_pa.iter().any(|&x| x != 0.0);
        Ok(())
    }

    /// Poisson input into every neuron of `target`: a train of total rate
    /// `rates_hz[i]` into neuron `i` (independent sources summed, so one draw
    /// per neuron per step; rate 0 = no input), each spike adding `weight`
    /// to `receptor`.
    pub fn add_poisson(
        &mut self,
        target: usize,
        receptor: Receptor,
        rates_hz: &[f64],
        weight: f64,
    ) -> Result<usize> {
        self.pop_index(target)?;
        let pop = &self.populations[target];
        if rates_hz.len() != pop.n as usize {
            return Err(Error::ShapeMismatch {
                name: "rate_hz".into(),
                expected: format!("({},)", pop.n),
                got: format!("({},)", rates_hz.len()),
            });
        }
        let (which, dists, active) = poisson_samplers(rates_hz, self.dt_ms)?;
        finite("weight", weight)?;
        self.check_weight_sign(target, receptor, weight, weight)?;
        let ordinal = self.poisson.iter().filter(|p| p.target == target).count() as u64;
        let streams = neuron_streams(self.seed, tag::POISSON, pop, ordinal);
        self.poisson.push(PoissonInput {
            target,
            receptor,
            weight,
            which,
            dists,
            active,
            streams,
            schedule: Vec::new(),
            next: 0,
        });
        Ok(self.poisson.len() - 1)
    }

    /// [`Network::add_poisson`] with the same rate `rate_hz` for every neuron.
    pub fn add_poisson_uniform(
        &mut self,
        target: usize,
        receptor: Receptor,
        rate_hz: f64,
        weight: f64,
    ) -> Result<usize> {
        self.pop_index(target)?;
        non_negative("rate_hz", rate_hz)?;
        let rates = vec![rate_hz; self.populations[target].n as usize];
        self.add_poisson(target, receptor, &rates, weight)
    }

    /// Replace the per-neuron rates (Hz, finite, >= 0) of Poisson input
    /// `input` from the next step on.
    pub fn set_poisson_rates(&mut self, input: usize, rates_hz: &[f64]) -> Result<()> {
        let len = self.poisson.len();
        let p = self.poisson.get_mut(input).ok_or(Error::IndexOutOfRange {
            kind: "poisson input".into(),
            index: input,
            len,
        })?;
        if rates_hz.len() != p.streams.len() {
            return Err(Error::ShapeMismatch {
                name: "rate_hz".into(),
                expected: format!("({},)", p.streams.len()),
                got: format!("({},)", rates_hz.len()),
            });
        }
        let (which, dists, active) = poisson_samplers(rates_hz, self.dt_ms)?;
        p.which = which;
        p.dists = dists;
        p.active = active;
        Ok(())
    }

    /// Schedule piecewise-constant rates for Poisson input `input`: from
    /// step `steps[k]` on, neuron `i` gets rate `rates_hz[k * n + i]` (Hz,
    /// finite, >= 0; `n` the target's size). Replaces any earlier schedule;
    /// the current rates hold until the first change. `steps` must increase
    /// strictly and not lie before the current step.
    pub fn set_poisson_schedule(
        &mut self,
        input: usize,
        steps: &[u64],
        rates_hz: &[f64],
    ) -> Result<()> {
        let (dt_ms, now) = (self.dt_ms, self.step);
        let len = self.poisson.len();
        let p = self.poisson.get_mut(input).ok_or(Error::IndexOutOfRange {
            kind: "poisson input".into(),
            index: input,
            len,
        })?;
        let n = p.streams.len();
        if rates_hz.len() != steps.len() * n {
            return Err(Error::ShapeMismatch {
                name: "rates_hz".into(),
                expected: format!("({}, {n})", steps.len()),
                got: format!("({},)", rates_hz.len()),
            });
        }
        let mut schedule = Vec::with_capacity(steps.len());
        for (k, &step) in steps.iter().enumerate() {
            if step < now {
                return Err(Error::invalid(
                    format!("times_ms[{k}]"),
                    step as f64 * dt_ms,
                    format!("lies before the current time {} ms", now as f64 * dt_ms),
                ));
            }
            if k > 0 && step <= steps[k - 1] {
                return Err(Error::invalid(
                    format!("times_ms[{k}]"),
                    step as f64 * dt_ms,
                    "times must increase strictly",
                ));
            }
            let rates = if n == 0 {
                &[][..]
            } else {
                &rates_hz[k * n..(k + 1) * n]
            };
            let (which, dists, active) = poisson_samplers(rates, dt_ms).map_err(|e| match e {
                Error::InvalidParameter {
                    name,
                    value,
                    reason,
                } => Error::InvalidParameter {
                    name: name.replacen("rate_hz", &format!("rates_hz[{k}]"), 1),
                    value,
                    reason,
                },
                other => other,
            })?;
            schedule.push(ScheduledRates {
                step,
                which,
                dists,
                active,
            });
        }
        p.schedule = schedule;
        p.next = 0;
        Ok(())
    }

    /// A constant current per neuron of `target` (pA; `amplitudes_pa`, one
    /// per neuron), changeable between runs with
    /// [`Network::set_current_amplitudes`]. Adds to the bias current.
    pub fn add_current_input(&mut self, target: usize, amplitudes_pa: &[f64]) -> Result<usize> {
        self.pop_index(target)?;
        let p = &mut self.populations[target];
        check_per_neuron("amplitudes_pa", amplitudes_pa, p.n)?;
        if p.bias_mut().is_none() {
            return Err(Error::invalid(
                "target",
                &p.name,
                "a spike source or input port takes no current",
            ));
        }
        p.has_ext = true;
        self.current_inputs.push(CurrentInput {
            target,
            amplitudes_pa: amplitudes_pa.to_vec(),
        });
        Ok(self.current_inputs.len() - 1)
    }

    /// Replace the amplitudes (pA, finite) of current input `input`.
    pub fn set_current_amplitudes(&mut self, input: usize, amplitudes_pa: &[f64]) -> Result<()> {
        let len = self.current_inputs.len();
        let c = self
            .current_inputs
            .get_mut(input)
            .ok_or(Error::IndexOutOfRange {
                kind: "current input".into(),
                index: input,
                len,
            })?;
        check_per_neuron("amplitudes_pa", amplitudes_pa, c.amplitudes_pa.len() as u32)?;
        c.amplitudes_pa.copy_from_slice(amplitudes_pa);
        Ok(())
    }

    /// Gaussian current noise (pA) redrawn every step for each neuron of `target`.
    pub fn add_noise(&mut self, target: usize, mean_pa: f64, std_pa: f64) -> Result<usize> {
        self.pop_index(target)?;
        finite("mean_pa", mean_pa)?;
        non_negative("std_pa", std_pa)?;
        if self.populations[target].bias_mut().is_none() {
            return Err(Error::invalid(
                "target",
                &self.populations[target].name,
                "a spike source takes no current",
            ));
        }
        let id = self.noise.len();
        let ordinal = self.noise.iter().filter(|p| p.target == target).count() as u64;
        let streams = neuron_streams(self.seed, tag::NOISE, &self.populations[target], ordinal);
        self.populations[target].has_ext = true;
        self.noise.push(NoiseInput {
            target,
            mean_pa,
            std_pa,
            streams,
        });
        Ok(id)
    }

    /// A piecewise-constant current: `amplitudes_pa[k]` from `times_ms[k]`
    /// (ascending, on the step grid) until the next time; 0 before the first.
    /// Into `neurons` of `target` (all when `None`).
    pub fn add_step_current(
        &mut self,
        target: usize,
        neurons: Option<Vec<u32>>,
        times_ms: &[f64],
        amplitudes_pa: &[f64],
    ) -> Result<usize> {
        self.pop_index(target)?;
        if times_ms.len() != amplitudes_pa.len() {
            return Err(Error::ShapeMismatch {
                name: "amplitudes_pa".into(),
                expected: format!("({},) like times_ms", times_ms.len()),
                got: format!("({},)", amplitudes_pa.len()),
            });
        }
        let mut steps = Vec::with_capacity(times_ms.len());
        for (k, &t) in times_ms.iter().enumerate() {
            let s = crate::validate::steps_exact(&format!("times_ms[{k}]"), t, self.dt_ms)?;
            if steps.last().is_some_and(|&prev| s <= prev) {
                return Err(Error::invalid(
                    format!("times_ms[{k}]"),
                    t,
                    "times must be strictly increasing",
                ));
            }
            steps.push(s);
        }
        for (k, &a) in amplitudes_pa.iter().enumerate() {
            finite(&format!("amplitudes_pa[{k}]"), a)?;
        }
        let n = self.populations[target].n;
        for (k, &i) in neurons.iter().flatten().enumerate() {
            less_than(&format!("neurons[{k}]"), i, "n", n)?;
        }
        if self.populations[target].bias_mut().is_none() {
            return Err(Error::invalid(
                "target",
                &self.populations[target].name,
                "a spike source takes no current",
            ));
        }
        self.populations[target].has_ext = true;
        self.currents.push(StepCurrent {
            target,
            neurons,
            steps,
            amplitudes_pa: amplitudes_pa.to_vec(),
        });
        Ok(self.currents.len() - 1)
    }

    /// Add `n` independent Poisson spike trains (a spike-source population,
    /// Brian2's `PoissonGroup`, NEST's `poisson_generator` feeding
    /// `parrot_neuron`s) with rate `rates_hz[i]` (Hz, finite, >= 0) for
    /// neuron `i`. Each step, neuron `i` spikes at most once, with
    /// probability `p = 1 - exp(-rate_hz[i] * dt)` (dt in s): the
    /// probability that a Poisson process of that rate has at least one
    /// event in the step, so the emitted rate is `p / dt`, below `rate`
    /// by a fraction of about `rate * dt / 2`. Neuron `i` draws one uniform
    /// number per step (when its rate is nonzero) from its own stream
    /// `(seed, POISSON_GROUP, pop key, global id of i)`.
    pub fn add_poisson_group(&mut self, name: &str, rates_hz: &[f64]) -> Result<usize> {
        let n = u32::try_from(rates_hz.len())
            .map_err(|_| Error::invalid("n", rates_hz.len(), "must fit in 32 bits"))?;
        let p_spike = spike_probabilities(rates_hz, self.dt_ms)?;
        let index = self.push_population(
            name,
            n,
            Model::PoissonGroup {
                rates_hz: rates_hz.to_vec(),
                p_spike,
                streams: Vec::new(),
            },
        )?;
        self.rebuild_group_streams(index);
        Ok(index)
    }

    /// Replace the rates (Hz, finite, >= 0, one per neuron) of Poisson group
    /// `pop` from the next step on.
    pub fn set_poisson_group_rates(&mut self, pop: usize, rates_hz: &[f64]) -> Result<()> {
        self.pop_index(pop)?;
        let dt_ms = self.dt_ms;
        let p = &mut self.populations[pop];
        let n = p.n;
        let name = p.name.clone();
        let Model::PoissonGroup {
            rates_hz: rates,
            p_spike,
            ..
        } = &mut p.model
        else {
            return Err(Error::invalid("population", name, "is not a Poisson group"));
        };
        if rates_hz.len() != n as usize {
            return Err(Error::ShapeMismatch {
                name: "rate_hz".into(),
                expected: format!("({n},)"),
                got: format!("({},)", rates_hz.len()),
            });
        }
        *p_spike = spike_probabilities(rates_hz, dt_ms)?;
        rates.copy_from_slice(rates_hz);
        Ok(())
    }

    /// The rates (Hz) of Poisson group `pop`, if it is one.
    pub fn poisson_group_rates(&self, pop: usize) -> Option<&[f64]> {
        match self.populations.get(pop).map(|p| &p.model) {
            Some(Model::PoissonGroup { rates_hz, .. }) => Some(rates_hz),
            _ => None,
        }
    }

    /// (Re)derive the streams of a Poisson group from its current identity.
    pub(super) fn rebuild_group_streams(&mut self, pop: usize) {
        let seed = self.seed;
        let p = &mut self.populations[pop];
        if !matches!(p.model, Model::PoissonGroup { .. }) {
            return;
        }
        let base = rng::mix(seed, &[tag::POISSON_GROUP, p.rng_key]);
        let fresh: Vec<Stream> = (0..p.n)
            .map(|i| rng::from_state(rng::extend(base, p.global_id(i))))
            .collect();
        if let Model::PoissonGroup { streams, .. } = &mut p.model {
            *streams = fresh;
        }
    }
}

/// Per-step spike probabilities `1 - exp(-rate dt)` of per-neuron rates.
fn spike_probabilities(rates_hz: &[f64], dt_ms: f64) -> Result<Vec<f64>> {
    rates_hz
        .iter()
        .enumerate()
        .map(|(k, &r)| {
            non_negative(&format!("rate_hz[{k}]"), r)?;
            Ok(-(-r * dt_ms * 1e-3).exp_m1())
        })
        .collect()
}
