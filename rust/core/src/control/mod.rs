//! Closed-loop control run inside the core: a spiking network drives an
//! environment step by step without returning to Python.
//!
//! An [`Environment`] has an observation vector, discrete actions and a
//! termination test; [`run_episode`] runs one episode of any environment
//! with the network as the controller. The network reads the observation
//! through a [`RateEncoder`] (constant input currents for one window) and
//! acts through the output population with the most spikes in the window.
//! [`CartPole`] is gymnasium's `CartPole-v1`, matched bit for bit (checked
//! by the Python tests against gymnasium itself); [`DoublePole`] is
//! Wieland's double-pole balancing with (DPV) and without (DPNV) velocities.

mod cartpole;
mod coding;
pub mod double_pole;
mod safety;

pub use cartpole::CartPole;
pub use coding::RateEncoder;
pub use double_pole::DoublePole;
pub use safety::{Guarded, Violation};

use crate::engine::{Hook, Network};
use crate::{Error, Result};

/// A discrete-action environment stepped by [`run_episode`].
///
/// The initial state is drawn by the caller and handed to
/// [`Environment::reset`]: gymnasium draws it in Python with its own seeded
/// generator, and reproducing gymnasium bit for bit means taking it as given.
pub trait Environment {
    /// Name used in error messages (`CartPole`).
    const NAME: &'static str;
    /// Length of the observation vector (features of the encoder).
    const N_FEATURES: usize;
    /// Number of actions, `0..N_ACTIONS` (one output population each).
    const N_ACTIONS: usize;
    /// Episode length limit of the standard task (gymnasium's `TimeLimit`).
    const MAX_STEPS: u32;
    /// An observation: `N_FEATURES` values.
    type Observation: AsRef<[f64]>;

    /// Start an episode from `initial_state`.
    ///
    /// # Errors
    ///
    /// An initial state of the wrong length or out of the environment's domain.
    fn reset(&mut self, initial_state: &[f64]) -> Result<()>;

    /// What the controller sees of the current state.
    fn observation(&self) -> Self::Observation;

    /// Apply `action` for one environment step; return whether the episode
    /// terminated (the step that terminates still counts for the return).
    fn step(&mut self, action: usize) -> bool;

    /// Apply one environment step given the decoded `action` and the spike
    /// counts of the output populations in the window (one per action);
    /// return whether the episode terminated. The default takes `action`
    /// ([`Environment::step`]); an environment with a continuous action
    /// (the double pole's force) decodes the counts itself.
    fn step_counts(&mut self, action: usize, counts: &[u64]) -> bool {
        let _ = counts;
        self.step(action)
    }
}

/// What an episode is run with (besides the network and the environment).
#[derive(Clone, Debug)]
pub struct Episode<'a> {
    /// Observation encoder (`Environment::N_FEATURES` gains).
    pub encoder: &'a RateEncoder,
    /// The output populations, one per action (`Environment::N_ACTIONS`).
    pub outputs: &'a [usize],
    /// Network steps per environment step.
    pub window_steps: u64,
    /// Initial state, handed to [`Environment::reset`].
    pub initial_state: &'a [f64],
    /// Episode length limit.
    pub max_steps: u32,
}

/// Run one episode of `env` from `episode.initial_state` with the network
/// as the controller; return its return (1 per step, at most `max_steps`).
///
/// The episode starts with [`Environment::reset`] and [`Network::reset`]
/// (state of the first step, nothing in flight). Each step presents the
/// observation for `window_steps` steps of the network and takes the action
/// the output spike counts pick. `hook` is called between network steps
/// (Ctrl-C).
///
/// # Errors
///
/// Bad population indices or encoder shapes, a bad initial state; errors of
/// the network run or of the hook.
pub fn run_episode<E: Environment>(
    net: &mut Network,
    env: &mut E,
    episode: &Episode<'_>,
    hook: Hook<'_>,
) -> Result<u32> {
    let Episode {
        encoder,
        outputs,
        window_steps,
        initial_state,
        max_steps,
    } = *episode;
    encoder.check(net)?;
    if encoder.n_observed() != E::N_FEATURES {
        return Err(Error::invalid(
            "gains_pa",
            encoder.gains_pa.len(),
            format!(
                "{} has {} features{}",
                E::NAME,
                E::N_FEATURES,
                if encoder.differences {
                    " (twice as many gains with differences)"
                } else {
                    ""
                }
            ),
        ));
    }
    if outputs.len() != E::N_ACTIONS {
        return Err(Error::invalid(
            "outputs",
            outputs.len(),
            format!("{} has {} actions", E::NAME, E::N_ACTIONS),
        ));
    }
    for &pop in outputs {
        if pop >= net.populations().len() {
            return Err(Error::IndexOutOfRange {
                kind: "population".into(),
                index: pop,
                len: net.populations().len(),
            });
        }
    }
    env.reset(initial_state)?;
    net.reset();
    let mut last: Vec<u64> = outputs
        .iter()
        .map(|&p| net.populations()[p].spike_count)
        .collect();
    let mut currents = vec![0.0; encoder.gains_pa.len() * encoder.neurons_per_feature];
    let mut features = vec![0.0; encoder.gains_pa.len()];
    let mut prev: Option<E::Observation> = None;
    let mut counts = vec![0; outputs.len()];
    let mut total = 0;
    while total < max_steps {
        let obs = env.observation();
        encoder.features(
            obs.as_ref(),
            prev.as_ref().map(AsRef::as_ref),
            &mut features,
        );
        if encoder.differences {
            prev = Some(obs);
        }
        encoder.encode(&features, &mut currents);
        net.set_bias(encoder.pop, &currents)?;
        net.run_with(window_steps, hook)?;
        let action = coding::decide(net, outputs, &mut last, &mut counts)?;
        total += 1;
        if env.step_counts(action, &counts) {
            break;
        }
    }
    Ok(total)
}
