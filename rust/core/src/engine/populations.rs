//! Populations: neuron models, their state, and what synapses and inputs
//! feed (receptors, state variables); projections.

use std::collections::BTreeSet;

use super::EventQueue;
use crate::csr::Csr;
use crate::neuron::izhikevich::{IzhParams, IzhState};
use crate::neuron::lif::{LifParams, LifPropagator, LifState, LifSynapse};
use crate::neuron::point::PointNeuron;
use crate::plasticity::Plasticity;
use crate::rng::{self};
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

    /// `"v"`, `"u"`, `"syn_ex"`, `"syn_in"`, `"w"`, `"m"`, `"h"` or `"n"`.
    fn from_str(name: &str) -> Result<Self> {
        match name {
            "v" => Ok(Self::V),
            "u" => Ok(Self::U),
            "syn_ex" => Ok(Self::SynEx),
            "syn_in" => Ok(Self::SynIn),
            "w" => Ok(Self::W),
            "m" => Ok(Self::M),
            "h" => Ok(Self::H),
            "n" => Ok(Self::N),
            _ => Err(Error::invalid(
                "variable",
                name,
                "must be one of v, u, syn_ex, syn_in, w, m, h, n",
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
    /// AdEx adaptation current (pA).
    W,
    /// Hodgkin–Huxley sodium activation.
    M,
    /// Hodgkin–Huxley sodium inactivation.
    H,
    /// Hodgkin–Huxley potassium activation.
    N,
}

impl Var {
    /// The engine's name of the variable.
    pub fn name(self) -> &'static str {
        match self {
            Self::V => "v",
            Self::U => "u",
            Self::SynEx => "syn_ex",
            Self::SynIn => "syn_in",
            Self::W => "w",
            Self::M => "m",
            Self::H => "h",
            Self::N => "n",
        }
    }
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
    /// One of NEST's point-neuron models (`iaf_psc_alpha`, AdEx).
    Point(PointNeuron),
    /// An input port: spikes pushed from outside between runs, emitted
    /// `latency_steps` after the step they carry.
    Port {
        /// Fixed latency (steps) between the remote emission and the port's.
        latency_steps: u64,
        /// Pending `(port emission step, neuron)`, sorted, without duplicates.
        pending: BTreeSet<(u64, u32)>,
    },
    /// Independent Poisson spike trains, one per neuron (Brian2's
    /// `PoissonGroup`, NEST's `poisson_generator` + `parrot_neuron`): at
    /// most one spike per neuron and step, with probability
    /// `p = 1 - exp(-rate dt)` (the probability that a Poisson process of
    /// that rate has at least one event in the step).
    PoissonGroup {
        /// Rate per neuron (Hz).
        rates_hz: Vec<f64>,
        /// Spike probability per step per neuron (0 = silent, no draw).
        p_spike: Vec<f64>,
        /// One stream per neuron: `(seed, POISSON_GROUP, pop key, global id)`.
        streams: Vec<rng::Stream>,
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
    pub(super) queue_ex: EventQueue,
    pub(super) queue_in: EventQueue,
    pub(super) i_ext: Vec<f64>,
    /// Whether any step current or noise feeds `i_ext` (else it stays 0).
    pub(super) has_ext: bool,
    /// Whether any neuron has a nonzero bias current.
    pub(super) has_bias: bool,
    /// Neurons that spiked in the last step, ascending.
    pub spikes: Vec<u32>,
    /// Total spikes emitted so far.
    pub spike_count: u64,
    /// Key of the population's random streams (default: FNV-1a of the name).
    pub(super) rng_key: u64,
    /// Global neuron ids (default `0..n`).
    pub(super) neuron_ids: Option<Vec<u64>>,
    /// State at the first step of the first run (for [`Network::reset`]).
    pub(super) initial: Option<Vec<Vec<f64>>>,
    /// Spikes of the current chunk, when recorded ([`Network::record_chunk`]).
    pub(super) chunk: Option<(Vec<u64>, Vec<u32>)>,
    /// Per block of a parallel update, the spikes the block found (kept
    /// between steps: no allocation per step).
    pub(super) block_spikes: Vec<Vec<u32>>,
}

impl Population {
    pub(super) fn new(name: String, n: u32, model: Model) -> Self {
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
            block_spikes: Vec::new(),
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
    pub(super) fn reset_vars(&mut self) -> Vec<&mut Vec<f64>> {
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
            Model::Point(m) => m.reset_vars(),
            Model::Source { .. } | Model::Port { .. } | Model::PoissonGroup { .. } => Vec::new(),
        }
    }

    pub(super) fn take_snapshot(&mut self) {
        if self.initial.is_none() {
            let vars = self.reset_vars().into_iter().map(|v| v.clone()).collect();
            self.initial = Some(vars);
        }
    }

    /// Restore the snapshot and drop everything in flight.
    pub(super) fn reset(&mut self) {
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

    pub(super) fn queue_mut(&mut self, receptor: Receptor) -> &mut EventQueue {
        match receptor {
            Receptor::Excitatory => &mut self.queue_ex,
            Receptor::Inhibitory => &mut self.queue_in,
        }
    }

    /// The state variable that input onto `receptor` adds to (the synaptic
    /// current or conductance, the Izhikevich synaptic current, or for
    /// delta synapses the buffer of voltage jumps that the next integration
    /// adds after propagating the membrane, as NEST's `iaf_psc_delta`),
    /// with the refractory counters when input must be dropped at arrival.
    /// `None` for spike sources.
    pub(super) fn input_mut(&mut self, receptor: Receptor) -> Option<(&mut [f64], Option<&[f64]>)> {
        match (&mut self.model, receptor) {
            (Model::Lif { params, state, .. }, _) => Some(match (params.synapse, receptor) {
                // Delta jumps of both signs share the buffer `syn_ex`; jumps
                // into a refractory neuron are discarded by the integration
                // (the membrane is clamped), not here.
                (LifSynapse::Delta, _) | (_, Receptor::Excitatory) => (&mut state.syn_ex, None),
                (_, Receptor::Inhibitory) => (&mut state.syn_in, None),
            }),
            (Model::Izhikevich { state, .. }, _) => Some((&mut state.i_syn, None)),
            (Model::Point(m), r) => Some((m.input_mut(r == Receptor::Excitatory), None)),
            (Model::Source { .. } | Model::Port { .. } | Model::PoissonGroup { .. }, _) => None,
        }
    }

    /// Whether this is a LIF population with delta (voltage-jump) synapses.
    pub(super) fn is_delta(&self) -> bool {
        matches!(&self.model, Model::Lif { params, .. } if params.synapse == LifSynapse::Delta)
    }

    /// Add the synaptic events arriving at step `s` to the state (they act
    /// from step `s + 1`). Delta synapses act in the step their event
    /// arrives (NEST `iaf_psc_delta`: the jump is added after propagating
    /// the membrane and before the threshold test), so at the end of step
    /// `s` their population takes the events of step `s + 1` into the jump
    /// buffer, and those of step `s` (zero delay, queued this step) too.
    pub(super) fn apply_events(&mut self, s: u64) {
        let delta = self.is_delta();
        for receptor in [Receptor::Excitatory, Receptor::Inhibitory] {
            let mut queue = std::mem::take(self.queue_mut(receptor));
            match self.input_mut(receptor) {
                Some((target, None)) if delta => {
                    queue.drain(s, |i, w| target[i] += w);
                    queue.drain(s + 1, |i, w| target[i] += w);
                }
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
    pub(super) fn weight_sign(&self, receptor: Receptor) -> Option<bool> {
        match (&self.model, receptor) {
            (Model::Source { .. } | Model::Port { .. } | Model::PoissonGroup { .. }, _) => None,
            (Model::Point(m), _) if m.conductance() => Some(true),
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
            (Model::Point(m), var) => m.var(var.name()).ok_or_else(bad),
            _ => Err(bad()),
        }
    }

    pub(super) fn state_mut(&mut self, var: Var) -> Result<&mut Vec<f64>> {
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
            (Model::Point(m), var) => m.var_mut(var.name()).ok_or_else(bad),
            _ => Err(bad()),
        }
    }

    pub(super) fn bias_mut(&mut self) -> Option<&mut Vec<f64>> {
        match &mut self.model {
            Model::Lif { state, .. } => Some(&mut state.i_e_pa),
            Model::Izhikevich { state, .. } => Some(&mut state.i_e_pa),
            Model::Point(m) => Some(m.bias_mut()),
            Model::Source { .. } | Model::Port { .. } | Model::PoissonGroup { .. } => None,
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
