//! Closed-loop control episodes (`evospikenet_core::control`) for Python:
//! CartPole through the generic episode runner.

use evospikenet_core::control::{run_episode, CartPole, Episode, RateEncoder};
use pyo3::prelude::*;

use crate::engine::Engine;
use crate::interruptible;

/// Run one `CartPole-v1` episode in the core with the network of `engine`
/// as the controller (after `Network::reset`); return the episode's return.
/// Ctrl-C stops it within about 50 ms.
#[pyfunction]
#[pyo3(signature = (
    engine, input_pop, gains_pa, bias_pa, neurons_per_feature, scale, outputs, window_steps,
    initial_state, max_steps
))]
#[allow(clippy::too_many_arguments)]
fn cartpole_episode(
    py: Python<'_>,
    mut engine: PyRefMut<'_, Engine>,
    input_pop: usize,
    gains_pa: Vec<f64>,
    bias_pa: f64,
    neurons_per_feature: usize,
    scale: Vec<f64>,
    outputs: Vec<usize>,
    window_steps: u64,
    initial_state: [f64; 4],
    max_steps: u32,
) -> PyResult<u32> {
    let encoder = RateEncoder {
        pop: input_pop,
        gains_pa,
        bias_pa,
        neurons_per_feature,
        scale,
    };
    let net = &mut engine.net;
    let episode = Episode {
        encoder: &encoder,
        outputs: &outputs,
        window_steps,
        initial_state: &initial_state,
        max_steps,
    };
    interruptible(py, |hook| {
        run_episode(net, &mut CartPole::default(), &episode, hook)
    })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cartpole_episode, m)?)
}
