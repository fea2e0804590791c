//! Closed-loop control episodes (`evospikenet_core::control`) for Python:
//! CartPole through the generic episode runner, plain or under the safety
//! monitor; double-pole balancing with and without velocities, and its
//! physics alone (for checking ports of it).

use evospikenet_core::control::{
    double_pole, run_episode, CartPole, DoublePole, Episode, Guarded, RateEncoder,
};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
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
        differences: false,
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

/// One violation: (step, feature, value, limit).
type ViolationTuple = (u32, usize, f64, f64);

/// Run one `CartPole-v1` episode as [`cartpole_episode`] does, under the
/// safety monitor (`Guarded`) with `limits` on `|x|, |x_dot|, |theta|,
/// |theta_dot|`; return the return, the violations and the observed states
/// (shape `(steps + 1, 4)`).
#[pyfunction]
#[pyo3(signature = (
    engine, input_pop, gains_pa, bias_pa, neurons_per_feature, scale, outputs, window_steps,
    initial_state, max_steps, limits
))]
#[allow(clippy::too_many_arguments)]
fn cartpole_episode_guarded<'py>(
    py: Python<'py>,
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
    limits: Vec<f64>,
) -> PyResult<(u32, Vec<ViolationTuple>, Bound<'py, PyArray2<f64>>)> {
    let encoder = RateEncoder {
        pop: input_pop,
        gains_pa,
        bias_pa,
        neurons_per_feature,
        scale,
        differences: false,
    };
    let mut env =
        Guarded::new(CartPole::default(), &limits).map_err(|e| crate::to_py_err(py, e))?;
    let net = &mut engine.net;
    let episode = Episode {
        encoder: &encoder,
        outputs: &outputs,
        window_steps,
        initial_state: &initial_state,
        max_steps,
    };
    let ret = interruptible(py, |hook| run_episode(net, &mut env, &episode, hook))?;
    let violations = env
        .violations
        .iter()
        .map(|v| (v.step, v.feature, v.value, v.limit))
        .collect();
    let rows = env.trajectory.len() / 4;
    let states = Array2::from_shape_vec((rows, 4), env.trajectory)
        .expect("the trajectory holds whole observations");
    Ok((ret, violations, states.into_pyarray(py)))
}

/// Run one double-pole episode in the core (velocities observed or not)
/// with the network of `engine` as the controller (after `Network::reset`),
/// the force decoded with `full_force_spikes` (`force_from_counts`), and
/// with `differences` the change of each observed value since the previous
/// step encoded after the values (`RateEncoder::differences`);
/// return `(steps balanced, jiggle summed over the last 100 balanced steps)`.
/// Ctrl-C stops it within about 50 ms.
#[pyfunction]
#[pyo3(signature = (
    engine, input_pop, gains_pa, bias_pa, neurons_per_feature, scale, outputs, window_steps,
    initial_state, max_steps, velocities, full_force_spikes, differences = false
))]
#[allow(clippy::too_many_arguments)]
fn double_pole_episode(
    py: Python<'_>,
    mut engine: PyRefMut<'_, Engine>,
    input_pop: usize,
    gains_pa: Vec<f64>,
    bias_pa: f64,
    neurons_per_feature: usize,
    scale: Vec<f64>,
    outputs: Vec<usize>,
    window_steps: u64,
    initial_state: [f64; 6],
    max_steps: u32,
    velocities: bool,
    full_force_spikes: u32,
    differences: bool,
) -> PyResult<(u32, f64)> {
    let encoder = RateEncoder {
        pop: input_pop,
        gains_pa,
        bias_pa,
        neurons_per_feature,
        scale,
        differences,
    };
    let net = &mut engine.net;
    let episode = Episode {
        encoder: &encoder,
        outputs: &outputs,
        window_steps,
        initial_state: &initial_state,
        max_steps,
    };
    if velocities {
        let mut env = DoublePole::<true>::default();
        env.full_force_spikes = full_force_spikes;
        interruptible(py, |hook| run_episode(net, &mut env, &episode, hook))?;
        Ok((env.balanced, env.jiggle_sum()))
    } else {
        let mut env = DoublePole::<false>::default();
        env.full_force_spikes = full_force_spikes;
        interruptible(py, |hook| run_episode(net, &mut env, &episode, hook))?;
        Ok((env.balanced, env.jiggle_sum()))
    }
}

/// The double pole's physics alone: from `state`, apply each force of
/// `forces_n` (N) for one control step (0.02 s, two Runge–Kutta steps of
/// 0.01 s); return the states after each step, shape `(len(forces_n), 6)`,
/// and whether each is a failure.
#[pyfunction]
fn double_pole_trajectory(
    py: Python<'_>,
    state: [f64; 6],
    forces_n: Vec<f64>,
) -> (Bound<'_, PyArray2<f64>>, Vec<bool>) {
    let mut s = state;
    let mut rows = Vec::with_capacity(6 * forces_n.len());
    let mut fails = Vec::with_capacity(forces_n.len());
    for &f in &forces_n {
        s = double_pole::control_step(&s, f);
        rows.extend_from_slice(&s);
        fails.push(double_pole::failed(&s));
    }
    let states = Array2::from_shape_vec((forces_n.len(), 6), rows)
        .expect("the trajectory holds whole states");
    (states.into_pyarray(py), fails)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cartpole_episode, m)?)?;
    m.add_function(wrap_pyfunction!(cartpole_episode_guarded, m)?)?;
    m.add_function(wrap_pyfunction!(double_pole_episode, m)?)?;
    m.add_function(wrap_pyfunction!(double_pole_trajectory, m)?)
}
