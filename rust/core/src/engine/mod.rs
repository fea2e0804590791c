//! The clock-driven simulation engine.
//!
//! A [`Network`] holds populations (structure-of-arrays state), projections
//! (CSR by presynaptic neuron), inputs and monitors. One step `s` (covering
//! `t = s dt .. (s+1) dt`) does, in order:
//!
//! 1. Poisson inputs add their draws to the synaptic variables; step
//!    currents and noise fill each population's external current, and so
//!    do gap-junction currents computed from the membrane potentials at
//!    `t = s dt` (held constant over the step, see `gap.rs`);
//! 2. state monitors sample (the state at `t = s dt`);
//! 3. every population integrates one step; neurons crossing threshold
//!    spike at step `s` (stamped `t = s dt`);
//! 4. spike monitors record;
//! 5. spikes are delivered: a spike of step `s` over a synapse of delay `d`
//!    steps (`d >= 0`) is queued for step `s + d`; then the events queued
//!    for step `s` are added to the synaptic variables (the membrane, for
//!    delta synapses), so they act from step `s + 1`. Target populations
//!    are independent here and run in parallel.
//! 6. plastic projections ([`crate::plasticity`]) deliver through their
//!    own arrival queues, serially: the arrivals of step `s` add their
//!    current weights (acting from step `s + 1`, as above) and take the
//!    pre-side update, then the spikes of step `s` take the post-side one.
//!
//! A nominal delay `D` therefore first acts on the membrane at
//! `(s + 1) dt + D`, as in Brian2 (whose default zero delay acts from the
//! next step) and NEST.
//!
//! Randomness comes from streams derived from the seed per object and per
//! fixed block of neurons ([`crate::rng::BLOCK`]), so a run gives identical
//! spikes whatever the number of threads.

mod gap;
mod queue;

use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

pub use gap::GapJunctions;
pub use queue::EventQueue;

use crate::connect::{self, Csr, Dist, Rule};
use crate::neuron::izhikevich::{self, IzhBlock, IzhParams, IzhState};
use crate::neuron::lif::{self, LifBlock, LifParams, LifPropagator, LifState, LifSynapse};
use crate::neuron::{finite, non_negative, positive};
use crate::plasticity::{self, Plasticity};
use crate::poisson::PoissonCounts;
use crate::rng::{self, tag, Stream, BLOCK};
use crate::{Error, Result};

/// Which synaptic variable of the target a projection or input feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receptor {
    /// Excitatory (weights >= 0).
    Excitatory,
    /// Inhibitory (weights <= 0 for current and voltage synapses, >= 0 for
    /// conductances).
    Inhibitory,
}

/// A state variable that monitors can sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Var {
    /// Membrane potential (mV).
    V,
    /// Izhikevich recovery variable.
    U,
    /// Excitatory synaptic variable (pA or nS); Izhikevich: the synaptic current.
    SynEx,
    /// Inhibitory synaptic variable (pA or nS).
    SynIn,
}

/// Neuron model and state of a population.
#[derive(Clone, Debug)]
pub enum Model {
    /// Leaky integrate-and-fire.
    Lif {
        /// Parameters.
        params: LifParams,
        /// Precomputed propagators.
        prop: LifPropagator,
        /// State.
        state: LifState,
    },
    /// Izhikevich (2003).
    Izhikevich {
        /// Settings.
        params: IzhParams,
        /// State and per-neuron parameters.
        state: IzhState,
    },
    /// Spikes given in advance (sorted by step, then neuron).
    Source {
        /// Steps of the spikes.
        steps: Vec<u64>,
        /// Neurons of the spikes.
        neurons: Vec<u32>,
        /// Next spike to emit.
        cursor: usize,
    },
}

/// A population of neurons of one model.
#[derive(Clone, Debug)]
pub struct Population {
    /// Name (unique in the network).
    pub name: String,
    /// Number of neurons.
    pub n: u32,
    /// Model and state.
    pub model: Model,
    queue_ex: EventQueue,
    queue_in: EventQueue,
    i_ext: Vec<f64>,
    /// Whether any step current or noise feeds `i_ext` (else it stays 0).
    has_ext: bool,
    /// Whether any neuron has a nonzero bias current.
    has_bias: bool,
    /// Neurons that spiked in the last step, ascending.
    pub spikes: Vec<u32>,
    /// Total spikes emitted so far.
    pub spike_count: u64,
}

impl Population {
    fn new(name: String, n: u32, model: Model) -> Self {
        Self {
            name,
            n,
            model,
            queue_ex: EventQueue::new(0),
            queue_in: EventQueue::new(0),
            i_ext: vec![0.0; n as usize],
            has_ext: false,
            has_bias: false,
            spikes: Vec::new(),
            spike_count: 0,
        }
    }

    fn queue_mut(&mut self, receptor: Receptor) -> &mut EventQueue {
        match receptor {
            Receptor::Excitatory => &mut self.queue_ex,
            Receptor::Inhibitory => &mut self.queue_in,
        }
    }

    /// The state variable that input onto `receptor` adds to (the synaptic
    /// current or conductance, the membrane for delta synapses, or the
    /// Izhikevich synaptic current), with the refractory counters when
    /// input must be dropped during refractoriness (delta synapses, as
    /// NEST's `iaf_psc_delta`). `None` for spike sources.
    fn input_mut(&mut self, receptor: Receptor) -> Option<(&mut [f64], Option<&[f64]>)> {
        match (&mut self.model, receptor) {
            (Model::Lif { params, state, .. }, _) => Some(match (params.synapse, receptor) {
                (LifSynapse::Delta, _) => (&mut state.v_mv, Some(&state.ref_left)),
                (_, Receptor::Excitatory) => (&mut state.syn_ex, None),
                (_, Receptor::Inhibitory) => (&mut state.syn_in, None),
            }),
            (Model::Izhikevich { state, .. }, _) => Some((&mut state.i_syn, None)),
            (Model::Source { .. }, _) => None,
        }
    }

    /// Add the synaptic events arriving at step `s` to the state.
    fn apply_events(&mut self, s: u64) {
        for receptor in [Receptor::Excitatory, Receptor::Inhibitory] {
            let mut queue = std::mem::take(self.queue_mut(receptor));
            match self.input_mut(receptor) {
                Some((target, None)) => queue.drain(s, |i, w| target[i] += w),
                Some((target, Some(ref_left))) => queue.drain(s, |i, w| {
                    if ref_left[i] <= 1.0 {
                        target[i] += w;
                    }
                }),
                None => {}
            }
            *self.queue_mut(receptor) = queue;
        }
    }

    /// Sign convention of weights onto `receptor` of this population:
    /// `Some(true)` weights must be >= 0, `Some(false)` <= 0, `None` no target.
    fn weight_sign(&self, receptor: Receptor) -> Option<bool> {
        match (&self.model, receptor) {
            (Model::Source { .. }, _) => None,
            (
                Model::Lif {
                    params:
                        LifParams {
                            synapse: LifSynapse::CondExp { .. },
                            ..
                        },
                    ..
                },
                _,
            )
            | (_, Receptor::Excitatory) => Some(true),
            (_, Receptor::Inhibitory) => Some(false),
        }
    }

    /// Values of `var` for all neurons.
    pub fn state(&self, var: Var) -> Result<&[f64]> {
        let bad = || {
            Error::invalid(
                "variable",
                format!("{var:?}"),
                format!("not a state variable of population {}", self.name),
            )
        };
        match (&self.model, var) {
            (Model::Lif { state, .. }, Var::V) => Ok(&state.v_mv),
            (Model::Lif { state, .. }, Var::SynEx) => Ok(&state.syn_ex),
            (Model::Lif { state, .. }, Var::SynIn) => Ok(&state.syn_in),
            (Model::Izhikevich { state, .. }, Var::V) => Ok(&state.v_mv),
            (Model::Izhikevich { state, .. }, Var::U) => Ok(&state.u),
            (Model::Izhikevich { state, .. }, Var::SynEx) => Ok(&state.i_syn),
            _ => Err(bad()),
        }
    }

    fn state_mut(&mut self, var: Var) -> Result<&mut Vec<f64>> {
        let name = self.name.clone();
        let bad = move || {
            Error::invalid(
                "variable",
                format!("{var:?}"),
                format!("not a state variable of population {name}"),
            )
        };
        match (&mut self.model, var) {
            (Model::Lif { state, .. }, Var::V) => Ok(&mut state.v_mv),
            (Model::Lif { state, .. }, Var::SynEx) => Ok(&mut state.syn_ex),
            (Model::Lif { state, .. }, Var::SynIn) => Ok(&mut state.syn_in),
            (Model::Izhikevich { state, .. }, Var::V) => Ok(&mut state.v_mv),
            (Model::Izhikevich { state, .. }, Var::U) => Ok(&mut state.u),
            (Model::Izhikevich { state, .. }, Var::SynEx) => Ok(&mut state.i_syn),
            _ => Err(bad()),
        }
    }

    fn bias_mut(&mut self) -> Option<&mut Vec<f64>> {
        match &mut self.model {
            Model::Lif { state, .. } => Some(&mut state.i_e_pa),
            Model::Izhikevich { state, .. } => Some(&mut state.i_e_pa),
            Model::Source { .. } => None,
        }
    }
}

/// Synapses from one population to another.
#[derive(Clone, Debug)]
pub struct Projection {
    /// Presynaptic population index.
    pub pre: usize,
    /// Postsynaptic population index.
    pub post: usize,
    /// Target receptor.
    pub receptor: Receptor,
    /// The synapses.
    pub csr: Csr,
    /// Plastic state, when a plasticity rule is attached.
    pub plasticity: Option<Box<Plasticity>>,
}

/// Independent Poisson spike trains summed per target neuron.
#[derive(Clone, Debug)]
struct PoissonInput {
    target: usize,
    receptor: Receptor,
    weight: f64,
    dist: Option<PoissonCounts>,
    streams: Vec<Stream>,
}

/// Gaussian white current noise, redrawn every step.
#[derive(Clone, Debug)]
struct NoiseInput {
    target: usize,
    mean_pa: f64,
    std_pa: f64,
    streams: Vec<Stream>,
}

/// Piecewise-constant current (pA) into chosen neurons.
#[derive(Clone, Debug)]
struct StepCurrent {
    target: usize,
    neurons: Option<Vec<u32>>,
    steps: Vec<u64>,
    amplitudes_pa: Vec<f64>,
}

impl StepCurrent {
    fn amplitude_at(&self, step: u64) -> f64 {
        let k = self.steps.partition_point(|&s| s <= step);
        if k == 0 {
            0.0
        } else {
            self.amplitudes_pa[k - 1]
        }
    }
}

/// Records spikes of a population.
#[derive(Clone, Debug, Default)]
pub struct SpikeMonitor {
    /// Population index.
    pub pop: usize,
    mask: Option<Vec<bool>>,
    /// Steps of recorded spikes.
    pub steps: Vec<u64>,
    /// Neurons of recorded spikes.
    pub neurons: Vec<u32>,
}

/// Samples a state variable of chosen neurons every `every` steps.
#[derive(Clone, Debug)]
pub struct StateMonitor {
    /// Population index.
    pub pop: usize,
    /// Variable.
    pub var: Var,
    /// Recorded neurons.
    pub neurons: Vec<u32>,
    /// Sampling interval in steps.
    pub every: u64,
    /// Steps of the samples.
    pub steps: Vec<u64>,
    /// Samples, row-major `(n_samples, neurons.len())`.
    pub values: Vec<f64>,
}

/// A simulated network.
pub struct Network {
    dt_ms: f64,
    seed: u64,
    step: u64,
    threads: usize,
    pool: Option<rayon::ThreadPool>,
    /// Process that built `pool`: a forked child must not reuse its
    /// parent's worker threads (they do not exist in the child).
    pool_pid: u32,
    /// Populations.
    pub populations: Vec<Population>,
    /// Projections.
    pub projections: Vec<Projection>,
    /// Per population, the indices of the projections onto it, ascending.
    incoming: Vec<Vec<usize>>,
    poisson: Vec<PoissonInput>,
    noise: Vec<NoiseInput>,
    currents: Vec<StepCurrent>,
    /// Spike monitors.
    pub spike_monitors: Vec<SpikeMonitor>,
    /// State monitors.
    pub state_monitors: Vec<StateMonitor>,
    /// Gap junctions (see `gap.rs`).
    gaps: Vec<GapJunctions>,
}

/// Check that `values` has one finite entry per neuron of a population of `n`.
fn check_per_neuron(name: &str, values: &[f64], n: u32) -> Result<()> {
    if values.len() != n as usize {
        return Err(Error::ShapeMismatch {
            name: name.into(),
            expected: format!("({n},)"),
            got: format!("({},)", values.len()),
        });
    }
    for (k, &x) in values.iter().enumerate() {
        finite(&format!("{name}[{k}]"), x)?;
    }
    Ok(())
}

fn build_pool(threads: usize) -> Result<Option<rayon::ThreadPool>> {
    if threads <= 1 {
        return Ok(None);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map(Some)
        .map_err(|e| Error::invalid("threads", threads, e.to_string()))
}

fn block_streams(seed: u64, kind: u64, id: usize, n: u32) -> Vec<Stream> {
    (0..(n as usize).div_ceil(BLOCK))
        .map(|b| rng::stream(seed, &[kind, id as u64, b as u64]))
        .collect()
}

impl Network {
    /// An empty network with time step `dt_ms`, master `seed`, and `threads`
    /// worker threads (1 = no thread pool).
    pub fn new(dt_ms: f64, seed: u64, threads: usize) -> Result<Self> {
        positive("dt_ms", dt_ms)?;
        if threads == 0 {
            return Err(Error::invalid("threads", threads, "must be >= 1"));
        }
        Ok(Self {
            dt_ms,
            seed,
            step: 0,
            threads,
            pool: build_pool(threads)?,
            pool_pid: std::process::id(),
            populations: Vec::new(),
            projections: Vec::new(),
            incoming: Vec::new(),
            poisson: Vec::new(),
            noise: Vec::new(),
            currents: Vec::new(),
            spike_monitors: Vec::new(),
            state_monitors: Vec::new(),
            gaps: Vec::new(),
        })
    }

    /// Time step (ms).
    pub fn dt_ms(&self) -> f64 {
        self.dt_ms
    }

    /// Current step (number of steps simulated).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Master seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn pop_index(&self, pop: usize) -> Result<()> {
        if pop < self.populations.len() {
            Ok(())
        } else {
            Err(Error::IndexOutOfRange {
                kind: "population".into(),
                index: pop,
                len: self.populations.len(),
            })
        }
    }

    fn push_population(&mut self, name: &str, n: u32, model: Model) -> Result<usize> {
        if name.is_empty() {
            return Err(Error::invalid(
                "name",
                "''",
                "population name must not be empty",
            ));
        }
        if self.populations.iter().any(|p| p.name == name) {
            return Err(Error::invalid(
                "name",
                name,
                "a population with this name exists",
            ));
        }
        self.populations
            .push(Population::new(name.to_owned(), n, model));
        self.incoming.push(Vec::new());
        Ok(self.populations.len() - 1)
    }

    /// Add `n` LIF neurons, all starting at `v_reset_mv`.
    pub fn add_lif(&mut self, name: &str, n: u32, params: LifParams) -> Result<usize> {
        params.validate(self.dt_ms)?;
        let prop = LifPropagator::new(&params, self.dt_ms);
        let state = LifState::new(n as usize, params.v_reset_mv);
        self.push_population(
            name,
            n,
            Model::Lif {
                params,
                prop,
                state,
            },
        )
    }

    /// Add Izhikevich neurons with per-neuron `a b c d` (one entry each).
    pub fn add_izhikevich(
        &mut self,
        name: &str,
        params: IzhParams,
        a: Vec<f64>,
        b: Vec<f64>,
        c: Vec<f64>,
        d: Vec<f64>,
    ) -> Result<usize> {
        params.validate()?;
        let n = a.len() as u32;
        let state = IzhState::new(a, b, c, d)?;
        self.push_population(name, n, Model::Izhikevich { params, state })
    }

    /// Add `n` spike sources firing at `times_ms` (neuron `neurons[k]` at
    /// `times_ms[k]`); times are rounded to the step grid.
    pub fn add_spike_source(
        &mut self,
        name: &str,
        n: u32,
        times_ms: &[f64],
        neurons: &[u32],
    ) -> Result<usize> {
        if times_ms.len() != neurons.len() {
            return Err(Error::ShapeMismatch {
                name: "neurons".into(),
                expected: format!("({},) like times_ms", times_ms.len()),
                got: format!("({},)", neurons.len()),
            });
        }
        let mut pairs = Vec::with_capacity(times_ms.len());
        for (k, (&t, &i)) in times_ms.iter().zip(neurons).enumerate() {
            non_negative(&format!("times_ms[{k}]"), t)?;
            if i >= n {
                return Err(Error::invalid(
                    format!("neurons[{k}]"),
                    i,
                    format!("must be < n = {n}"),
                ));
            }
            pairs.push(((t / self.dt_ms).round() as u64, i));
        }
        pairs.sort_unstable();
        pairs.dedup();
        let (steps, neurons) = pairs.into_iter().unzip();
        self.push_population(
            name,
            n,
            Model::Source {
                steps,
                neurons,
                cursor: 0,
            },
        )
    }

    /// Set `var` of every neuron of `pop` from `values` (length n).
    pub fn set_state(&mut self, pop: usize, var: Var, values: &[f64]) -> Result<()> {
        self.pop_index(pop)?;
        let p = &mut self.populations[pop];
        check_per_neuron("values", values, p.n)?;
        p.state_mut(var)?.copy_from_slice(values);
        Ok(())
    }

    /// Draw `var` of every neuron of `pop` from `dist` (seeded per population
    /// and variable).
    pub fn init_state(&mut self, pop: usize, var: Var, dist: &Dist) -> Result<()> {
        self.pop_index(pop)?;
        dist.validate("init")?;
        let mut rng = rng::stream(self.seed, &[tag::INIT, pop as u64, var as u64]);
        let p = &mut self.populations[pop];
        for x in p.state_mut(var)?.iter_mut() {
            *x = dist.sample(&mut rng);
        }
        Ok(())
    }

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

    fn check_weight_sign(
        &self,
        post: usize,
        receptor: Receptor,
        low: f64,
        high: f64,
    ) -> Result<()> {
        let p = &self.populations[post];
        match p.weight_sign(receptor) {
            None => Err(Error::invalid("post", &p.name, "a spike source cannot receive synapses")),
            Some(true) if low < 0.0 => Err(Error::invalid(
                "weight",
                low,
                format!("weights onto the {receptor:?} receptor of {} must be >= 0", p.name),
            )),
            Some(false) if high > 0.0 => Err(Error::invalid(
                "weight",
                high,
                format!("weights onto the Inhibitory receptor of {} must be <= 0 (current or voltage synapse)", p.name),
            )),
            _ => Ok(()),
        }
    }

    fn push_projection(&mut self, pre: usize, post: usize, receptor: Receptor, csr: Csr) -> usize {
        let max_delay = csr.max_delay() as usize;
        let now = self.step;
        self.populations[post]
            .queue_mut(receptor)
            .ensure(max_delay, now);
        self.projections.push(Projection {
            pre,
            post,
            receptor,
            csr,
            plasticity: None,
        });
        self.incoming[post].push(self.projections.len() - 1);
        self.projections.len() - 1
    }

    /// Connect `pre` to `post` with a connection rule; weights and delays
    /// (ms) drawn from distributions. Returns the projection index.
    pub fn connect(
        &mut self,
        pre: usize,
        post: usize,
        receptor: Receptor,
        rule: &Rule,
        allow_autapses: bool,
        weight: &Dist,
        delay_ms: &Dist,
    ) -> Result<usize> {
        self.pop_index(pre)?;
        self.pop_index(post)?;
        let (low, high) = match *weight {
            Dist::Constant(v) => (v, v),
            Dist::Uniform { low, high } | Dist::Normal { low, high, .. } => (low, high),
        };
        self.check_weight_sign(post, receptor, low, high)?;
        let id = self.projections.len() as u64;
        let csr = connect::build(
            rule,
            self.populations[pre].n,
            self.populations[post].n,
            allow_autapses || pre != post,
            weight,
            delay_ms,
            self.dt_ms,
            &rng::stream(self.seed, &[tag::CONNECT, id, 0]),
            &rng::stream(self.seed, &[tag::CONNECT, id, 1]),
        )?;
        Ok(self.push_projection(pre, post, receptor, csr))
    }

    /// Connect with explicit synapse arrays (indices local to each population).
    pub fn connect_arrays(
        &mut self,
        pre: usize,
        post: usize,
        receptor: Receptor,
        pre_idx: &[u32],
        post_idx: &[u32],
        weight: &[f64],
        delay_ms: &[f64],
    ) -> Result<usize> {
        self.pop_index(pre)?;
        self.pop_index(post)?;
        let low = weight.iter().copied().fold(f64::INFINITY, f64::min);
        let high = weight.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !weight.is_empty() {
            self.check_weight_sign(post, receptor, low, high)?;
        }
        let csr = connect::from_arrays(
            self.populations[pre].n,
            self.populations[post].n,
            pre_idx,
            post_idx,
            weight,
            delay_ms,
            self.dt_ms,
        )?;
        Ok(self.push_projection(pre, post, receptor, csr))
    }

    /// Poisson input into every neuron of `target`: a train of total rate
    /// `rate_hz` per neuron (independent sources summed, so one draw per
    /// neuron per step), each spike adding `weight` to `receptor`.
    pub fn add_poisson(
        &mut self,
        target: usize,
        receptor: Receptor,
        rate_hz: f64,
        weight: f64,
    ) -> Result<usize> {
        self.pop_index(target)?;
        non_negative("rate_hz", rate_hz)?;
        finite("weight", weight)?;
        self.check_weight_sign(target, receptor, weight, weight)?;
        let lambda = rate_hz * self.dt_ms * 1e-3;
        let dist = if lambda > 0.0 {
            Some(PoissonCounts::new(lambda)?)
        } else {
            None
        };
        let id = self.poisson.len();
        let streams = block_streams(self.seed, tag::POISSON, id, self.populations[target].n);
        self.poisson.push(PoissonInput {
            target,
            receptor,
            weight,
            dist,
            streams,
        });
        Ok(id)
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
        let streams = block_streams(self.seed, tag::NOISE, id, self.populations[target].n);
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
            let s = crate::neuron::steps_exact(&format!("times_ms[{k}]"), t, self.dt_ms)?;
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
        if let Some(list) = &neurons {
            if let Some((k, &i)) = list.iter().enumerate().find(|(_, &i)| i >= n) {
                return Err(Error::invalid(
                    format!("neurons[{k}]"),
                    i,
                    format!("must be < n = {n}"),
                ));
            }
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

    /// Record spikes of `pop` (of `neurons` only, when given).
    pub fn add_spike_monitor(&mut self, pop: usize, neurons: Option<&[u32]>) -> Result<usize> {
        self.pop_index(pop)?;
        let n = self.populations[pop].n;
        let mask = match neurons {
            None => None,
            Some(list) => {
                let mut mask = vec![false; n as usize];
                for (k, &i) in list.iter().enumerate() {
                    if i >= n {
                        return Err(Error::invalid(
                            format!("neurons[{k}]"),
                            i,
                            format!("must be < n = {n}"),
                        ));
                    }
                    mask[i as usize] = true;
                }
                Some(mask)
            }
        };
        self.spike_monitors.push(SpikeMonitor {
            pop,
            mask,
            ..SpikeMonitor::default()
        });
        Ok(self.spike_monitors.len() - 1)
    }

    /// Sample `var` of `neurons` of `pop` every `every` steps.
    pub fn add_state_monitor(
        &mut self,
        pop: usize,
        var: Var,
        neurons: Vec<u32>,
        every: u64,
    ) -> Result<usize> {
        self.pop_index(pop)?;
        self.populations[pop].state(var)?;
        if every == 0 {
            return Err(Error::invalid("every_steps", every, "must be >= 1"));
        }
        let n = self.populations[pop].n;
        if let Some((k, &i)) = neurons.iter().enumerate().find(|(_, &i)| i >= n) {
            return Err(Error::invalid(
                format!("neurons[{k}]"),
                i,
                format!("must be < n = {n}"),
            ));
        }
        self.state_monitors.push(StateMonitor {
            pop,
            var,
            neurons,
            every,
            steps: Vec::new(),
            values: Vec::new(),
        });
        Ok(self.state_monitors.len() - 1)
    }

    /// Run `n_steps` steps.
    pub fn run(&mut self, n_steps: u64) -> Result<()> {
        if self.pool_pid != std::process::id() {
            self.pool = build_pool(self.threads)?;
            self.pool_pid = std::process::id();
        }
        for _ in 0..n_steps {
            self.advance();
        }
        self.sync_plastic_weights();
        Ok(())
    }

    fn advance(&mut self) {
        let s = self.step;
        let pool = self.pool.take();

        // 1. Inputs: Poisson draws, currents.
        for input in &mut self.poisson {
            let Some(dist) = &input.dist else { continue };
            let weight = input.weight;
            let (target, gate) = self.populations[input.target]
                .input_mut(input.receptor)
                .expect("checked when added");
            let body = |((chunk, rng), gate): ((&mut [f64], &mut Stream), Option<&[f64]>)| {
                for (k, x) in chunk.iter_mut().enumerate() {
                    let count = dist.sample(rng);
                    if gate.is_none_or(|g| g[k] <= 1.0) {
                        *x += count * weight;
                    }
                }
            };
            let gates = |n: usize| -> Vec<Option<&[f64]>> {
                match gate {
                    Some(g) => g.chunks(BLOCK).map(Some).collect(),
                    None => vec![None; n],
                }
            };
            let n_blocks = input.streams.len();
            match &pool {
                Some(p) if n_blocks > 1 => p.install(|| {
                    target
                        .par_chunks_mut(BLOCK)
                        .zip(input.streams.par_iter_mut())
                        .zip(gates(n_blocks))
                        .for_each(body);
                }),
                _ => target
                    .chunks_mut(BLOCK)
                    .zip(input.streams.iter_mut())
                    .zip(gates(n_blocks))
                    .for_each(body),
            }
        }
        for pop in self.populations.iter_mut().filter(|p| p.has_ext) {
            pop.i_ext.iter_mut().for_each(|x| *x = 0.0);
        }
        for c in &self.currents {
            let amp = c.amplitude_at(s);
            if amp == 0.0 {
                continue;
            }
            let i_ext = &mut self.populations[c.target].i_ext;
            match &c.neurons {
                None => i_ext.iter_mut().for_each(|x| *x += amp),
                Some(list) => list.iter().for_each(|&i| i_ext[i as usize] += amp),
            }
        }
        for input in &mut self.noise {
            let normal = Normal::new(input.mean_pa, input.std_pa).expect("validated std");
            let i_ext = &mut self.populations[input.target].i_ext;
            let body = |(chunk, rng): (&mut [f64], &mut Stream)| {
                for x in chunk.iter_mut() {
                    let value: f64 = normal.sample(rng);
                    *x += value;
                }
            };
            match &pool {
                Some(p) if input.streams.len() > 1 => p.install(|| {
                    i_ext
                        .par_chunks_mut(BLOCK)
                        .zip(input.streams.par_iter_mut())
                        .for_each(body);
                }),
                _ => i_ext
                    .chunks_mut(BLOCK)
                    .zip(input.streams.iter_mut())
                    .for_each(body),
            }
        }

        // 1b. Gap-junction currents from the voltages at t = s dt (gap.rs).
        gap::add_currents(&mut self.gaps, &mut self.populations);

        // 2. State monitors sample the state at t = s dt (with this step's
        //    Poisson input, before integration).
        for m in &mut self.state_monitors {
            if s % m.every == 0 {
                let values = self.populations[m.pop]
                    .state(m.var)
                    .expect("checked when added");
                m.steps.push(s);
                m.values
                    .extend(m.neurons.iter().map(|&i| values[i as usize]));
            }
        }

        // 3. Integrate.
        let dt = self.dt_ms;
        for pop in &mut self.populations {
            update_population(pop, s, dt, pool.as_ref());
            pop.spike_count += pop.spikes.len() as u64;
        }

        // 4. Record and deliver.
        for m in &mut self.spike_monitors {
            let spikes = &self.populations[m.pop].spikes;
            for &i in spikes {
                if m.mask.as_ref().is_none_or(|mask| mask[i as usize]) {
                    m.steps.push(s);
                    m.neurons.push(i);
                }
            }
        }
        // 5. Deliver, then add the events of step s (they act from step
        //    s + 1). Each target population takes its incoming projections in
        //    index order, so targets can run in parallel with results
        //    independent of the thread count.
        let spikes: Vec<Vec<u32>> = self
            .populations
            .iter_mut()
            .map(|p| std::mem::take(&mut p.spikes))
            .collect();
        let projections = &self.projections;
        let incoming = &self.incoming;
        let work = |(target, pop): (usize, &mut Population)| {
            for &k in &incoming[target] {
                let proj = &projections[k];
                if proj.plasticity.is_none() && !spikes[proj.pre].is_empty() {
                    deliver(
                        &proj.csr,
                        &spikes[proj.pre],
                        s,
                        pop.queue_mut(proj.receptor),
                    );
                }
            }
            pop.apply_events(s);
        };
        // Expected synaptic events this step: below a few thousand, handing
        // work to the pool costs more than it saves.
        let events: usize = projections
            .iter()
            .map(|p| spikes[p.pre].len() * p.csr.len() / p.csr.n_pre().max(1))
            .sum();
        match &pool {
            Some(p) if self.populations.len() > 1 && events > 4096 => p.install(|| {
                self.populations.par_iter_mut().enumerate().for_each(work);
            }),
            _ => self.populations.iter_mut().enumerate().for_each(work),
        }
        // 6. Plastic projections, serially in index order: arrivals of step
        //    s transmit their current weight and take the pre-side update,
        //    then this step's postsynaptic spikes take the post-side update.
        self.step_plastic(s, &spikes);
        for (pop, spikes) in self.populations.iter_mut().zip(spikes) {
            pop.spikes = spikes;
        }
        self.pool = pool;
        self.step += 1;
    }
}

/// Queue the weights of the synapses of `spikes` for step + delay.
fn deliver(csr: &Csr, spikes: &[u32], s: u64, queue: &mut EventQueue) {
    let base = queue.base(s);
    for &i in spikes {
        let lo = csr.indptr[i as usize] as usize;
        let hi = csr.indptr[i as usize + 1] as usize;
        for k in lo..hi {
            queue.push_ahead(
                base,
                usize::from(csr.delay_steps[k]),
                csr.indices[k],
                csr.weight[k],
            );
        }
    }
}

/// Run `step` over the blocks of a population: the whole population as one
/// block when serial, [`BLOCK`]-sized blocks on the pool otherwise (the
/// updates draw no random numbers, so the partition does not change
/// results). Returns the spikes in ascending order.
fn run_blocks<B: Send>(
    blocks: Vec<B>,
    chunk: usize,
    pool: Option<&rayon::ThreadPool>,
    step: impl Fn(B, u32, &mut Vec<u32>) + Sync,
    spikes: &mut Vec<u32>,
) {
    match pool {
        Some(p) if blocks.len() > 1 => {
            let parts: Vec<Vec<u32>> = p.install(|| {
                blocks
                    .into_par_iter()
                    .enumerate()
                    .map(|(b, blk)| {
                        let mut out = Vec::new();
                        step(blk, (b * chunk) as u32, &mut out);
                        out
                    })
                    .collect()
            });
            spikes.extend(parts.into_iter().flatten());
        }
        _ => {
            for (b, blk) in blocks.into_iter().enumerate() {
                step(blk, (b * chunk) as u32, spikes);
            }
        }
    }
}

fn update_population(pop: &mut Population, s: u64, dt_ms: f64, pool: Option<&rayon::ThreadPool>) {
    pop.spikes.clear();
    let n = pop.n as usize;
    let chunk = match pool {
        Some(_) if n > BLOCK => BLOCK,
        _ => n.max(1),
    };
    let with_current = pop.has_ext || pop.has_bias;
    match &mut pop.model {
        Model::Source {
            steps,
            neurons,
            cursor,
        } => {
            while *cursor < steps.len() && steps[*cursor] < s {
                *cursor += 1;
            }
            while *cursor < steps.len() && steps[*cursor] == s {
                pop.spikes.push(neurons[*cursor]);
                *cursor += 1;
            }
        }
        Model::Lif {
            params,
            prop,
            state,
        } => {
            let blocks: Vec<LifBlock<'_>> = state
                .v_mv
                .chunks_mut(chunk)
                .zip(state.syn_ex.chunks_mut(chunk))
                .zip(state.syn_in.chunks_mut(chunk))
                .zip(state.ref_left.chunks_mut(chunk))
                .zip(state.i_e_pa.chunks(chunk).zip(pop.i_ext.chunks(chunk)))
                .map(
                    |((((v, syn_ex), syn_in), ref_left), (i_e, i_ext))| LifBlock {
                        v,
                        syn_ex,
                        syn_in,
                        ref_left,
                        i_e,
                        i_ext,
                    },
                )
                .collect();
            let (params, prop) = (*params, *prop);
            if with_current {
                let step = |blk, base, out: &mut Vec<u32>| {
                    lif::step_block::<true>(&params, &prop, blk, base, out);
                };
                run_blocks(blocks, chunk, pool, step, &mut pop.spikes);
            } else {
                let step = |blk, base, out: &mut Vec<u32>| {
                    lif::step_block::<false>(&params, &prop, blk, base, out);
                };
                run_blocks(blocks, chunk, pool, step, &mut pop.spikes);
            }
        }
        Model::Izhikevich { params, state } => {
            let blocks: Vec<IzhBlock<'_>> = state
                .v_mv
                .chunks_mut(chunk)
                .zip(state.u.chunks_mut(chunk))
                .zip(state.i_syn.chunks_mut(chunk))
                .zip(state.i_e_pa.chunks(chunk))
                .zip(state.a.chunks(chunk).zip(state.b.chunks(chunk)))
                .zip(state.c.chunks(chunk).zip(state.d.chunks(chunk)))
                .zip(pop.i_ext.chunks(chunk))
                .map(
                    |((((((v, u), i_syn), i_e), (a, b)), (c, d)), i_ext)| IzhBlock {
                        v,
                        u,
                        i_syn,
                        i_e,
                        a,
                        b,
                        c,
                        d,
                        i_ext,
                    },
                )
                .collect();
            let params = *params;
            let step = |blk, base, out: &mut Vec<u32>| {
                izhikevich::step_block(&params, dt_ms, blk, base, out);
            };
            run_blocks(blocks, chunk, pool, step, &mut pop.spikes);
        }
    }
}

// ---- plasticity -----------------------------------------------------------

impl Network {
    fn projection_index(&self, proj: usize) -> Result<()> {
        if proj < self.projections.len() {
            Ok(())
        } else {
            Err(Error::IndexOutOfRange {
                kind: "projection".into(),
                index: proj,
                len: self.projections.len(),
            })
        }
    }

    /// Attach plasticity `rule` to projection `proj` from the current step
    /// on. Only excitatory projections unless `allow_inhibitory` (and then
    /// only onto conductance-based receptors, whose weights are >= 0); the
    /// projection's weights must lie in `[0, w_max]`.
    pub fn add_plasticity(
        &mut self,
        proj: usize,
        rule: plasticity::Rule,
        allow_inhibitory: bool,
    ) -> Result<()> {
        self.projection_index(proj)?;
        let p = &self.projections[proj];
        let post = &self.populations[p.post];
        if p.plasticity.is_some() {
            return Err(Error::invalid(
                "projection",
                proj,
                "already has a plasticity rule",
            ));
        }
        if p.receptor == Receptor::Inhibitory {
            if !allow_inhibitory {
                return Err(Error::invalid(
                    "projection",
                    proj,
                    format!(
                        "targets the inhibitory receptor of {}; plasticity applies to excitatory projections unless the rule sets allow_inhibitory=True",
                        post.name
                    ),
                ));
            }
            if post.weight_sign(Receptor::Inhibitory) != Some(true) {
                return Err(Error::invalid(
                    "projection",
                    proj,
                    format!(
                        "inhibitory weights onto {} are <= 0 (current or voltage synapse); plasticity needs weights in [0, w_max] (conductance synapses)",
                        post.name
                    ),
                ));
            }
        }
        let mut state = Plasticity::new(rule, &p.csr, post.n, self.dt_ms)?;
        state.start_at(self.step as f64 * self.dt_ms);
        self.projections[proj].plasticity = Some(Box::new(state));
        Ok(())
    }

    /// Multiply every later weight change of projection `proj` by `scale`
    /// (finite, >= 0).
    pub fn set_plasticity_scale(&mut self, proj: usize, scale: f64) -> Result<()> {
        self.projection_index(proj)?;
        let t = self.step as f64 * self.dt_ms;
        match self.projections[proj].plasticity.as_mut() {
            Some(p) => p.set_scale(scale, t),
            None => Err(Error::invalid(
                "projection",
                proj,
                "has no plasticity rule (add one first)",
            )),
        }
    }

    /// Add `amount` to the dopamine concentration of every reward-modulated
    /// projection, now.
    pub fn add_dopamine(&mut self, amount: f64) -> Result<()> {
        finite("amount", amount)?;
        let t = self.step as f64 * self.dt_ms;
        for p in &mut self.projections {
            if let Some(state) = p.plasticity.as_mut() {
                state.add_dopamine(amount, t);
            }
        }
        Ok(())
    }

    /// Current weights of projection `proj` in CSR order (f64).
    pub fn weights(&self, proj: usize) -> Result<Vec<f64>> {
        self.projection_index(proj)?;
        let p = &self.projections[proj];
        Ok(match &p.plasticity {
            Some(state) => state.w.clone(),
            None => p.csr.weight.iter().map(|&w| f64::from(w)).collect(),
        })
    }

    /// Replace the weights of projection `proj` (CSR order, one per synapse).
    /// Plastic projections keep them in `[0, w_max]`; static ones keep the
    /// sign convention of the receptor.
    pub fn set_weights(&mut self, proj: usize, values: &[f64]) -> Result<()> {
        self.projection_index(proj)?;
        let n = self.projections[proj].csr.len();
        if values.len() != n {
            return Err(Error::ShapeMismatch {
                name: "values".into(),
                expected: format!("({n},)"),
                got: format!("({},)", values.len()),
            });
        }
        for (k, &x) in values.iter().enumerate() {
            finite(&format!("values[{k}]"), x)?;
        }
        let (post, receptor) = (self.projections[proj].post, self.projections[proj].receptor);
        if !values.is_empty() {
            let low = values.iter().copied().fold(f64::INFINITY, f64::min);
            let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            self.check_weight_sign(post, receptor, low, high)?;
        }
        let t = self.step as f64 * self.dt_ms;
        let p = &mut self.projections[proj];
        if let Some(state) = p.plasticity.as_mut() {
            state.flush(t);
            state.set_weights(values)?;
        }
        for (w, &x) in p.csr.weight.iter_mut().zip(values) {
            *w = x as f32;
        }
        Ok(())
    }

    /// Copy the f64 weights of plastic projections into their CSR (f32).
    fn sync_plastic_weights(&mut self) {
        for p in &mut self.projections {
            if let Some(state) = &p.plasticity {
                for (w, &x) in p.csr.weight.iter_mut().zip(&state.w) {
                    *w = x as f32;
                }
            }
        }
    }

    fn step_plastic(&mut self, s: u64, spikes: &[Vec<u32>]) {
        let t_ms = s as f64 * self.dt_ms;
        for proj in &mut self.projections {
            let Some(state) = proj.plasticity.as_mut() else {
                continue;
            };
            state.push_spikes(&spikes[proj.pre], s);
            let (target, gate) = self.populations[proj.post]
                .input_mut(proj.receptor)
                .expect("plastic projections target neurons");
            state.step(
                &proj.csr,
                s,
                t_ms,
                &spikes[proj.pre],
                &spikes[proj.post],
                target,
                gate,
            );
        }
    }
}
