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
//!    delta synapses: the jump buffer, see below), so they act from step
//!    `s + 1`. Target populations are independent here and run in
//!    parallel.
//! 6. plastic projections ([`crate::plasticity`]) deliver through their
//!    own arrival queues, serially: the arrivals of step `s` add their
//!    current weights (acting from step `s + 1`, as above) and take the
//!    pre-side update, then the spikes of step `s` take the post-side one.
//!
//! A nominal delay `D` therefore first acts on the membrane at
//! `(s + 1) dt + D`, as in Brian2 (whose default zero delay acts from the
//! next step) and NEST's `iaf_psc_exp`. Delta synapses follow NEST's
//! `iaf_psc_delta` instead: their population takes the events of steps `s`
//! and `s + 1` at the end of step `s`, and step `s + 1` adds them after
//! propagating the membrane and before the threshold test, so a spike of
//! step `s` over `d >= 1` steps can make its target fire in step `s + d`
//! (latency exactly `D`; a delay of 0 acts as one step).
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

mod building;
mod delivery;
mod gap;
mod inputs;
mod monitors;
mod plastic;
mod populations;
mod queue;

use std::collections::HashMap;

pub use building::{ConnectSpec, Window};
pub use gap::GapJunctions;
use inputs::{CurrentInput, NoiseInput, PoissonInput, StepCurrent};
pub use monitors::{SpikeMonitor, StateMonitor};
pub use populations::{Model, Population, Projection, Receptor, Var};
pub use queue::EventQueue;

use crate::validate::{at_least, finite, positive};

/// A hook called between steps (and every few thousand rows of a
/// `connect`); its error stops the call at a step boundary.
pub type Hook<'a> = &'a mut dyn FnMut() -> Result<()>;
use crate::{Error, Result};

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
    populations: Vec<Population>,
    /// Projections.
    projections: Vec<Projection>,
    /// Per population, the indices of the projections onto it, ascending.
    incoming: Vec<Vec<usize>>,
    poisson: Vec<PoissonInput>,
    noise: Vec<NoiseInput>,
    currents: Vec<StepCurrent>,
    current_inputs: Vec<CurrentInput>,
    /// Number of `connect` calls so far per (pre key, post key).
    connect_ordinals: HashMap<(u64, u64), u64>,
    /// Spike monitors.
    spike_monitors: Vec<SpikeMonitor>,
    /// State monitors.
    state_monitors: Vec<StateMonitor>,
    /// Gap junctions (see `gap.rs`).
    gaps: Vec<GapJunctions>,
    /// Per population, the spike buffer a step swaps with the population's
    /// own while delivering (kept between steps: no allocation per step).
    spike_buf: Vec<Vec<u32>>,
    /// Fewest neurons (all populations together) for which a step uses
    /// the thread pool.
    par_min_neurons: usize,
}

/// Default of [`Network::set_par_min_neurons`].
pub const PAR_MIN_NEURONS: usize = 16_384;

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
        at_least("threads", threads, 1)?;
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
            spike_buf: Vec::new(),
            par_min_neurons: PAR_MIN_NEURONS,
        })
    }

    /// Fewest neurons (all populations together) for which a step uses the
    /// thread pool (default [`PAR_MIN_NEURONS`]); smaller networks step
    /// serially, where the pool's hand-offs cost more than they save.
    /// Results never depend on it (every partition gives the same numbers);
    /// tests set 0 to exercise the parallel path on small networks.
    pub fn set_par_min_neurons(&mut self, neurons: usize) {
        self.par_min_neurons = neurons;
    }

    /// The populations, by index.
    pub fn populations(&self) -> &[Population] {
        &self.populations
    }

    /// The projections, by index.
    pub fn projections(&self) -> &[Projection] {
        &self.projections
    }

    /// The spike monitors, by index.
    pub fn spike_monitors(&self) -> &[SpikeMonitor] {
        &self.spike_monitors
    }

    /// The state monitors, by index.
    pub fn state_monitors(&self) -> &[StateMonitor] {
        &self.state_monitors
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

    /// Rebuild the thread pool in a forked child (the parent's worker
    /// threads do not exist there).
    fn ensure_pool(&mut self) -> Result<()> {
        if self.pool_pid != std::process::id() {
            self.pool = build_pool(self.threads)?;
            self.pool_pid = std::process::id();
        }
        Ok(())
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
}
