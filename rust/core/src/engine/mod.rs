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
//! Randomness comes from streams keyed by global identity (population rng
//! key, global neuron id, ordinal of an input; see [`crate::rng`]): one
//! stream per neuron, so a run gives identical spikes whatever the number of
//! threads, and a sub-network built from a subset of the populations draws
//! the same numbers as the whole.
//!
//! Between runs the engine takes spikes in through input ports
//! ([`Network::add_input_port`], [`Network::push_port_spikes`]) and hands
//! them out through chunk buffers ([`Network::record_chunk`],
//! [`Network::take_chunk`]); [`Network::reset`] starts a new episode.

mod gap;
mod queue;

use std::collections::{BTreeSet, HashMap};

use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

pub use gap::GapJunctions;
pub use queue::EventQueue;

use crate::connect::{self, BuildSpec, Csr, Dist, Rule, Streams};
use crate::neuron::izhikevich::{self, IzhBlock, IzhParams, IzhState};
use crate::neuron::lif::{self, LifBlock, LifParams, LifPropagator, LifState, LifSynapse};
use crate::neuron::{finite, non_negative, positive};
use crate::plasticity::{self, Plasticity};
use crate::poisson::PoissonCounts;
use crate::rng::{self, tag, Stream, BLOCK};

/// A hook called between steps (and every few thousand rows of a
/// `connect`); its error stops the call at a step boundary.
pub type Hook<'a> = &'a mut dyn FnMut() -> Result<()>;
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

impl std::str::FromStr for Receptor {
    type Err = Error;

    /// `"excitatory"` or `"inhibitory"`.
    fn from_str(name: &str) -> Result<Self> {
        match name {
            "excitatory" => Ok(Self::Excitatory),
            "inhibitory" => Ok(Self::Inhibitory),
            _ => Err(Error::invalid(
                "receptor",
                name,
                "must be 'excitatory' or 'inhibitory'",
            )),
        }
    }
}

impl std::str::FromStr for Var {
    type Err = Error;

    /// `"v"`, `"u"`, `"syn_ex"` or `"syn_in"`.
    fn from_str(name: &str) -> Result<Self> {
        match name {
            "v" => Ok(Self::V),
            "u" => Ok(Self::U),
            "syn_ex" => Ok(Self::SynEx),
            "syn_in" => Ok(Self::SynIn),
            _ => Err(Error::invalid(
                "variable",
                name,
                "must be one of v, u, syn_ex, syn_in",
            )),
        }
    }
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
    /// An input port: spikes pushed from outside between runs, emitted
    /// `latency_steps` after the step they carry.
    Port {
        /// Fixed latency (steps) between the remote emission and the port's.
        latency_steps: u64,
        /// Pending `(port emission step, neuron)`, sorted, without duplicates.
        pending: BTreeSet<(u64, u32)>,
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
    /// Key of the population's random streams (default: FNV-1a of the name).
    rng_key: u64,
    /// Global neuron ids (default `0..n`).
    neuron_ids: Option<Vec<u64>>,
    /// State at the first step of the first run (for [`Network::reset`]).
    initial: Option<Vec<Vec<f64>>>,
    /// Spikes of the current chunk, when recorded ([`Network::record_chunk`]).
    chunk: Option<(Vec<u64>, Vec<u32>)>,
}

impl Population {
    fn new(name: String, n: u32, model: Model) -> Self {
        let name_copy = name.clone();
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
            rng_key: rng::name_key(&name_copy),
            neuron_ids: None,
            initial: None,
            chunk: None,
        }
    }

    /// Key of the population's random streams.
    pub fn rng_key(&self) -> u64 {
        self.rng_key
    }

    /// Global id of local neuron `i`.
    #[inline]
    pub fn global_id(&self, i: u32) -> u64 {
        self.neuron_ids
            .as_ref()
            .map_or(u64::from(i), |ids| ids[i as usize])
    }

    /// The state variables restored by [`Network::reset`].
    fn reset_vars(&mut self) -> Vec<&mut Vec<f64>> {
        match &mut self.model {
            Model::Lif { state, .. } => vec![
                &mut state.v_mv,
                &mut state.syn_ex,
                &mut state.syn_in,
                &mut state.ref_left,
            ],
            Model::Izhikevich { state, .. } => {
                vec![&mut state.v_mv, &mut state.u, &mut state.i_syn]
            }
            Model::Source { .. } | Model::Port { .. } => Vec::new(),
        }
    }

    fn take_snapshot(&mut self) {
        if self.initial.is_none() {
            let vars = self.reset_vars().into_iter().map(|v| v.clone()).collect();
            self.initial = Some(vars);
        }
    }

    /// Restore the snapshot and drop everything in flight.
    fn reset(&mut self) {
        if let Some(initial) = self.initial.take() {
            for (var, values) in self.reset_vars().into_iter().zip(&initial) {
                var.copy_from_slice(values);
            }
            self.initial = Some(initial);
        }
        self.queue_ex.clear();
        self.queue_in.clear();
        self.spikes.clear();
        if let Model::Port { pending, .. } = &mut self.model {
            pending.clear();
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
            (Model::Source { .. } | Model::Port { .. }, _) => None,
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
            (Model::Source { .. } | Model::Port { .. }, _) => None,
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
            Model::Source { .. } | Model::Port { .. } => None,
        }
    }
}

/// What [`Network::connect`] builds.
#[derive(Clone, Debug)]
pub struct ConnectSpec<'a> {
    /// Presynaptic population index.
    pub pre: usize,
    /// Postsynaptic population index.
    pub post: usize,
    /// Target receptor.
    pub receptor: Receptor,
    /// Connection rule.
    pub rule: &'a Rule,
    /// Whether a neuron may connect to itself when `pre == post`.
    pub allow_autapses: bool,
    /// Weight distribution (unit of the target variable).
    pub weight: &'a Dist,
    /// Delay distribution (ms).
    pub delay_ms: &'a Dist,
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

/// Independent Poisson spike trains summed per target neuron, with a rate
/// per neuron.
#[derive(Clone, Debug)]
struct PoissonInput {
    target: usize,
    receptor: Receptor,
    weight: f64,
    /// Per neuron, the index of its sampler in `dists`.
    which: Vec<u32>,
    /// One sampler per distinct rate (`None` for rate 0).
    dists: Vec<Option<PoissonCounts>>,
    /// Whether any neuron has a nonzero rate.
    active: bool,
    /// One stream per neuron.
    streams: Vec<Stream>,
}

/// Samplers of per-neuron rates: `(which, dists, active)`, one sampler per
/// distinct rate.
fn poisson_samplers(
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
        let slot = match index.get(&r.to_bits()) {
            Some(&slot) => slot,
            None => {
                let lambda = r * dt_ms * 1e-3;
                dists.push(if lambda > 0.0 {
                    Some(PoissonCounts::new(lambda)?)
                } else {
                    None
                });
                let slot = (dists.len() - 1) as u32;
                index.insert(r.to_bits(), slot);
                slot
            }
        };
        which.push(slot);
    }
    let active = dists.iter().any(Option::is_some);
    Ok((which, dists, active))
}

/// One stream per neuron of `pop`: `(seed, kind, pop key, ordinal, global id)`.
fn neuron_streams(seed: u64, kind: u64, pop: &Population, ordinal: u64) -> Vec<Stream> {
    let base = rng::mix(seed, &[kind, pop.rng_key, ordinal]);
    (0..pop.n)
        .map(|i| rng::from_state(rng::extend(base, pop.global_id(i))))
        .collect()
}

/// Gaussian white current noise, redrawn every step.
#[derive(Clone, Debug)]
struct NoiseInput {
    target: usize,
    mean_pa: f64,
    std_pa: f64,
    /// One stream per neuron.
    streams: Vec<Stream>,
}

/// A constant current per neuron (pA), changeable between runs.
#[derive(Clone, Debug)]
struct CurrentInput {
    target: usize,
    amplitudes_pa: Vec<f64>,
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
    current_inputs: Vec<CurrentInput>,
    /// Number of `connect` calls so far per (pre key, post key).
    connect_ordinals: HashMap<(u64, u64), u64>,
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
            current_inputs: Vec::new(),
            connect_ordinals: HashMap::new(),
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

    /// Draw `var` of every neuron of `pop` from `dist`: neuron `i` from the
    /// stream `(seed, INIT, rng key, var, global id of i)`.
    pub fn init_state(&mut self, pop: usize, var: Var, dist: &Dist) -> Result<()> {
        self.pop_index(pop)?;
        dist.validate("init")?;
        let p = &mut self.populations[pop];
        let base = rng::mix(self.seed, &[tag::INIT, p.rng_key, var as u64]);
        let values: Vec<f64> = (0..p.n)
            .map(|i| dist.sample(&mut rng::from_state(rng::extend(base, p.global_id(i)))))
            .collect();
        p.state_mut(var)?.copy_from_slice(&values);
        Ok(())
    }

    /// Give population `pop` the rng key `rng_key` (default: FNV-1a of its
    /// name) and global neuron ids `neuron_ids` (default `0..n`), so that it
    /// draws as those neurons of another population would. Applies to draws
    /// made afterwards (set it right after adding the population).
    pub fn set_identity(
        &mut self,
        pop: usize,
        rng_key: Option<u64>,
        neuron_ids: Option<Vec<u64>>,
    ) -> Result<()> {
        self.pop_index(pop)?;
        let p = &mut self.populations[pop];
        if let Some(ids) = &neuron_ids {
            if ids.len() != p.n as usize {
                return Err(Error::ShapeMismatch {
                    name: "neuron_ids".into(),
                    expected: format!("({},)", p.n),
                    got: format!("({},)", ids.len()),
                });
            }
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return Err(Error::invalid(
                    "neuron_ids",
                    w[0],
                    "global neuron ids must be distinct",
                ));
            }
        }
        if let Some(key) = rng_key {
            p.rng_key = key;
        }
        p.neuron_ids = neuron_ids;
        Ok(())
    }

    /// Add an input port of `n` neurons: a population whose spikes are
    /// pushed from outside ([`Network::push_port_spikes`]) and emitted
    /// `latency_steps` after the (remote) step they carry. Projections from
    /// the port store their delays reduced by `latency_steps`, so a port
    /// with a projection of delay `d` acts exactly like the remote population
    /// with delay `d`.
    pub fn add_input_port(&mut self, name: &str, n: u32, latency_steps: u64) -> Result<usize> {
        if latency_steps > u64::from(u16::MAX) {
            return Err(Error::invalid(
                "latency_ms",
                latency_steps as f64 * self.dt_ms,
                "longer than 65535 steps",
            ));
        }
        self.push_population(
            name,
            n,
            Model::Port {
                latency_steps,
                pending: BTreeSet::new(),
            },
        )
    }

    /// Latency (steps) of population `pop` if it is an input port.
    pub fn port_latency(&self, pop: usize) -> Option<u64> {
        match self.populations.get(pop).map(|p| &p.model) {
            Some(Model::Port { latency_steps, .. }) => Some(*latency_steps),
            _ => None,
        }
    }

    /// Push spikes into input port `pop`: neuron `neurons[k]` emitted by the
    /// remote population at step `steps[k]`, emitted by the port at
    /// `steps[k] + latency`. All are checked before any is stored; a spike
    /// the port would emit before the current step is refused (into the
    /// past), as is an index out of range. Duplicates collapse.
    pub fn push_port_spikes(&mut self, pop: usize, steps: &[u64], neurons: &[u32]) -> Result<()> {
        self.push_port(pop, steps, neurons, "steps", &|s| s.to_string())
    }

    /// [`Network::push_port_spikes`] with times (ms, finite, >= 0) rounded
    /// to the step grid.
    pub fn push_port_spikes_ms(
        &mut self,
        pop: usize,
        times_ms: &[f64],
        neurons: &[u32],
    ) -> Result<()> {
        let mut steps = Vec::with_capacity(times_ms.len());
        for (k, &t) in times_ms.iter().enumerate() {
            non_negative(&format!("t_ms[{k}]"), t)?;
            steps.push((t / self.dt_ms).round() as u64);
        }
        let dt = self.dt_ms;
        self.push_port(pop, &steps, neurons, "t_ms", &|s| {
            format!("{}", s as f64 * dt)
        })
    }

    fn push_port(
        &mut self,
        pop: usize,
        steps: &[u64],
        neurons: &[u32],
        field: &str,
        show: &dyn Fn(u64) -> String,
    ) -> Result<()> {
        self.pop_index(pop)?;
        if steps.len() != neurons.len() {
            return Err(Error::ShapeMismatch {
                name: "neurons".into(),
                expected: format!("({},) like {field}", steps.len()),
                got: format!("({},)", neurons.len()),
            });
        }
        let now = self.step;
        let p = &mut self.populations[pop];
        let n = p.n;
        let Model::Port {
            latency_steps,
            pending,
        } = &mut p.model
        else {
            return Err(Error::invalid(
                "population",
                &p.name,
                "is not an input port",
            ));
        };
        let latency = *latency_steps;
        for (k, (&s, &i)) in steps.iter().zip(neurons).enumerate() {
            if i >= n {
                return Err(Error::invalid(
                    format!("neurons[{k}]"),
                    i,
                    format!("must be < n = {n}"),
                ));
            }
            if s.saturating_add(latency) < now {
                return Err(Error::invalid(
                    format!("{field}[{k}]"),
                    show(s),
                    format!(
                        "into the past: the port would emit it at step {} (latency {latency} steps), but step {now} is next",
                        s.saturating_add(latency)
                    ),
                ));
            }
        }
        pending.extend(
            steps
                .iter()
                .map(|&s| s + latency)
                .zip(neurons.iter().copied()),
        );
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

    fn push_projection(
        &mut self,
        pre: usize,
        post: usize,
        receptor: Receptor,
        mut csr: Csr,
    ) -> Result<usize> {
        if let Some(latency) = self.port_latency(pre).filter(|&l| l > 0) {
            let latency = latency as u16;
            if let Some(&d) = csr.delay_steps.iter().find(|&&d| d < latency) {
                return Err(Error::invalid(
                    "delay_ms",
                    f64::from(d) * self.dt_ms,
                    format!(
                        "a projection from input port {} needs delays >= its latency {} ms",
                        self.populations[pre].name,
                        f64::from(latency) * self.dt_ms
                    ),
                ));
            }
            csr.delay_steps.iter_mut().for_each(|d| *d -= latency);
        }
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
        Ok(self.projections.len() - 1)
    }

    /// Connect `pre` to `post` with a connection rule; weights and delays
    /// (ms) drawn from distributions. Returns the projection index.
    pub fn connect(&mut self, spec: &ConnectSpec<'_>) -> Result<usize> {
        self.connect_with(spec, &mut || Ok(()))
    }

    /// [`Network::connect`], calling `hook` every few thousand rows or draws;
    /// an error of the hook stops the build (nothing is added).
    pub fn connect_with(&mut self, spec: &ConnectSpec<'_>, hook: Hook<'_>) -> Result<usize> {
        let (pre, post) = (spec.pre, spec.post);
        self.pop_index(pre)?;
        self.pop_index(post)?;
        let (low, high) = match *spec.weight {
            Dist::Constant(v) => (v, v),
            Dist::Uniform { low, high } | Dist::Normal { low, high, .. } => (low, high),
        };
        self.check_weight_sign(post, spec.receptor, low, high)?;
        let (pre_pop, post_pop) = (&self.populations[pre], &self.populations[post]);
        let keys = (pre_pop.rng_key, post_pop.rng_key);
        let ordinal = self.connect_ordinals.get(&keys).copied().unwrap_or(0);
        let base = rng::mix(self.seed, &[tag::CONNECT, keys.0, keys.1, ordinal]);
        let target_base = rng::extend(base, 2);
        let target = |j: u32| rng::from_state(rng::extend(target_base, post_pop.global_id(j)));
        let streams = Streams {
            pairs: rng::from_state(rng::extend(base, 0)),
            values: rng::from_state(rng::extend(base, 1)),
            target: &target,
        };
        let build = BuildSpec {
            rule: spec.rule,
            n_pre: pre_pop.n,
            n_post: post_pop.n,
            allow_autapses: spec.allow_autapses || pre != post,
            weight: spec.weight,
            delay_ms: spec.delay_ms,
            dt_ms: self.dt_ms,
        };
        let csr = connect::build(&build, &streams, hook)?;
        let index = self.push_projection(pre, post, spec.receptor, csr)?;
        self.connect_ordinals.insert(keys, ordinal + 1);
        Ok(index)
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
        let index = self.push_projection(pre, post, receptor, csr)?;
        // Counts as a connect of the pair, so that a projection rebuilt from
        // its arrays leaves the draws of later connects unchanged.
        let keys = (self.populations[pre].rng_key, self.populations[post].rng_key);
        *self.connect_ordinals.entry(keys).or_insert(0) += 1;
        Ok(index)
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
        self.run_with(n_steps, &mut || Ok(()))
    }

    /// Run `n_steps` steps, calling `hook` before each; an error of the hook
    /// stops the run at that step boundary (the network stays consistent:
    /// plastic weights are synced) and is returned.
    pub fn run_with(&mut self, n_steps: u64, hook: Hook<'_>) -> Result<()> {
        if self.pool_pid != std::process::id() {
            self.pool = build_pool(self.threads)?;
            self.pool_pid = std::process::id();
        }
        for pop in &mut self.populations {
            pop.take_snapshot();
        }
        let mut result = Ok(());
        for _ in 0..n_steps {
            if let Err(e) = hook() {
                result = Err(e);
                break;
            }
            self.advance();
        }
        self.sync_plastic_weights();
        result
    }

    /// Start a new episode: restore every population's state (membrane,
    /// recovery variable, synaptic variables, refractory counters) to its
    /// values at the first step of its first run (a snapshot taken when that
    /// run starts; populations never run keep their state), and drop
    /// everything in flight: event queues, plastic arrival queues and
    /// traces, pending port spikes. Weights, bias currents, inputs and
    /// monitors are kept; the step counter and the random streams continue
    /// (time is monotonic, each episode gets fresh noise).
    pub fn reset(&mut self) {
        let t_ms = self.step as f64 * self.dt_ms;
        for pop in &mut self.populations {
            pop.reset();
        }
        for proj in &mut self.projections {
            if let Some(state) = proj.plasticity.as_mut() {
                state.reset_activity(t_ms);
            }
        }
        self.sync_plastic_weights();
    }

    /// Record the spikes of exactly the populations `pops` into their chunk
    /// buffers (emptied now) until [`Network::take_chunk`]; other
    /// populations record nothing.
    pub fn record_chunk(&mut self, pops: &[usize]) -> Result<()> {
        for &p in pops {
            self.pop_index(p)?;
        }
        for pop in &mut self.populations {
            pop.chunk = None;
        }
        for &p in pops {
            self.populations[p].chunk = Some((Vec::new(), Vec::new()));
        }
        Ok(())
    }

    /// The spikes `(steps, neurons)` recorded for `pop` since
    /// [`Network::record_chunk`] (empty if not recorded); stops its recording.
    pub fn take_chunk(&mut self, pop: usize) -> Result<(Vec<u64>, Vec<u32>)> {
        self.pop_index(pop)?;
        Ok(self.populations[pop].chunk.take().unwrap_or_default())
    }

    fn advance(&mut self) {
        let s = self.step;
        let pool = self.pool.take();

        // 1. Inputs: Poisson draws, currents. Every neuron draws from its
        //    own stream, so the work partition does not change the numbers.
        for input in &mut self.poisson {
            if !input.active {
                continue;
            }
            let (weight, dists) = (input.weight, &input.dists);
            let (target, gate) = self.populations[input.target]
                .input_mut(input.receptor)
                .expect("checked when added");
            type Work<'a> = (
                ((&'a mut [f64], &'a mut [Stream]), &'a [u32]),
                Option<&'a [f64]>,
            );
            let body = |(((chunk, rngs), which), gate): Work<'_>| {
                for (k, x) in chunk.iter_mut().enumerate() {
                    let Some(dist) = &dists[which[k] as usize] else {
                        continue;
                    };
                    let count = dist.sample(&mut rngs[k]);
                    if gate.is_none_or(|g| g[k] <= 1.0) {
                        *x += count * weight;
                    }
                }
            };
            let n_blocks = target.len().div_ceil(BLOCK);
            let gates: Vec<Option<&[f64]>> = match gate {
                Some(g) => g.chunks(BLOCK).map(Some).collect(),
                None => vec![None; n_blocks],
            };
            match &pool {
                Some(p) if n_blocks > 1 => p.install(|| {
                    target
                        .par_chunks_mut(BLOCK)
                        .zip(input.streams.par_chunks_mut(BLOCK))
                        .zip(input.which.par_chunks(BLOCK))
                        .zip(gates)
                        .for_each(body);
                }),
                _ => target
                    .chunks_mut(BLOCK)
                    .zip(input.streams.chunks_mut(BLOCK))
                    .zip(input.which.chunks(BLOCK))
                    .zip(gates)
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
        for c in &self.current_inputs {
            let i_ext = &mut self.populations[c.target].i_ext;
            for (x, &a) in i_ext.iter_mut().zip(&c.amplitudes_pa) {
                *x += a;
            }
        }
        for input in &mut self.noise {
            let normal = Normal::new(input.mean_pa, input.std_pa).expect("validated std");
            let i_ext = &mut self.populations[input.target].i_ext;
            let body = |(chunk, rngs): (&mut [f64], &mut [Stream])| {
                for (x, rng) in chunk.iter_mut().zip(rngs) {
                    let value: f64 = normal.sample(rng);
                    *x += value;
                }
            };
            match &pool {
                Some(p) if i_ext.len() > BLOCK => p.install(|| {
                    i_ext
                        .par_chunks_mut(BLOCK)
                        .zip(input.streams.par_chunks_mut(BLOCK))
                        .for_each(body);
                }),
                _ => i_ext
                    .chunks_mut(BLOCK)
                    .zip(input.streams.chunks_mut(BLOCK))
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
        for pop in &mut self.populations {
            if let Some((steps, neurons)) = &mut pop.chunk {
                steps.extend(std::iter::repeat_n(s, pop.spikes.len()));
                neurons.extend_from_slice(&pop.spikes);
            }
        }
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
        Model::Port { pending, .. } => {
            while let Some(&(step, i)) = pending.first() {
                if step > s {
                    break;
                }
                pending.pop_first();
                if step == s {
                    pop.spikes.push(i);
                }
            }
        }
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
