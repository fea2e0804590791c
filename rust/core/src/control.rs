//! Closed-loop control run inside the core: a spiking network drives an
//! environment step by step without returning to Python.
//!
//! [`CartPole`] is gymnasium's `CartPole-v1` (Barto, Sutton & Anderson 1983,
//! with gymnasium's constants and explicit Euler integrator), operation for
//! operation, so trajectories match gymnasium's bit for bit (checked by the
//! Python tests against gymnasium itself). The network reads the observation
//! through a rate encoder (constant input currents for one window) and acts
//! through the output population with the most spikes in the window.

use crate::engine::{Hook, Network, Var};
use crate::{Error, Result};

/// gymnasium `CartPole-v1` dynamics (`gymnasium/envs/classic_control/cartpole.py`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CartPole {
    /// `(x (m), x_dot (m/s), theta (rad), theta_dot (rad/s))`.
    pub state: [f64; 4],
}

impl CartPole {
    const GRAVITY: f64 = 9.8;
    const MASSCART: f64 = 1.0;
    const MASSPOLE: f64 = 0.1;
    const LENGTH: f64 = 0.5;
    const FORCE_MAG: f64 = 10.0;
    const TAU: f64 = 0.02;
    const X_THRESHOLD: f64 = 2.4;
    /// Episode length limit of `CartPole-v1` (gymnasium's `TimeLimit`).
    pub const MAX_STEPS: u32 = 500;

    /// Angle beyond which the episode terminates: 12 degrees, computed as gymnasium does.
    #[must_use]
    pub fn theta_threshold() -> f64 {
        12.0 * 2.0 * std::f64::consts::PI / 360.0
    }

    /// Advance one step of 20 ms with action 0 (push left) or 1 (push right);
    /// return whether the episode terminated.
    pub fn step(&mut self, action: usize) -> bool {
        let total_mass = Self::MASSPOLE + Self::MASSCART;
        let polemass_length = Self::MASSPOLE * Self::LENGTH;
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if action == 1 {
            Self::FORCE_MAG
        } else {
            -Self::FORCE_MAG
        };
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
        let thetaacc = (Self::GRAVITY * sintheta - costheta * temp)
            / (Self::LENGTH * (4.0 / 3.0 - Self::MASSPOLE * (costheta * costheta) / total_mass));
        let xacc = temp - polemass_length * thetaacc * costheta / total_mass;
        self.state = [
            x + Self::TAU * x_dot,
            x_dot + Self::TAU * xacc,
            theta + Self::TAU * theta_dot,
            theta_dot + Self::TAU * thetaacc,
        ];
        let [x, _, theta, _] = self.state;
        let limit = Self::theta_threshold();
        !(-Self::X_THRESHOLD..=Self::X_THRESHOLD).contains(&x) || !(-limit..=limit).contains(&theta)
    }

    /// The observation gymnasium returns: the state rounded to `float32`.
    #[must_use]
    pub fn observation(&self) -> [f64; 4] {
        #[allow(clippy::cast_possible_truncation)]
        self.state.map(|v| f64::from(v as f32))
    }
}

/// Rate code of a feature vector into the constant currents (pA) of an input population.
///
/// Feature `i` is divided by `scale[i]`; with `drive = gains_pa[i] * x_i`,
/// one neuron per feature gets `drive + bias_pa`, two neurons (push-pull)
/// get `max(drive, 0) + bias_pa` and `max(-drive, 0) + bias_pa`.
#[derive(Clone, Debug)]
pub struct RateEncoder {
    /// Input population.
    pub pop: usize,
    /// Gain per feature (pA per unit of the scaled feature).
    pub gains_pa: Vec<f64>,
    /// Bias current of every input neuron (pA).
    pub bias_pa: f64,
    /// 1 or 2.
    pub neurons_per_feature: usize,
    /// Divisor of each feature.
    pub scale: Vec<f64>,
}

impl RateEncoder {
    fn check(&self, net: &Network) -> Result<()> {
        if !(1..=2).contains(&self.neurons_per_feature) {
            return Err(Error::invalid(
                "neurons_per_feature",
                self.neurons_per_feature,
                "must be 1 or 2",
            ));
        }
        if self.scale.len() != self.gains_pa.len() {
            return Err(Error::ShapeMismatch {
                name: "scale".into(),
                expected: format!("({},)", self.gains_pa.len()),
                got: format!("({},)", self.scale.len()),
            });
        }
        let pop = net
            .populations()
            .get(self.pop)
            .ok_or(Error::IndexOutOfRange {
                kind: "population".into(),
                index: self.pop,
                len: net.populations().len(),
            })?;
        let n = self.gains_pa.len() * self.neurons_per_feature;
        if pop.n as usize != n {
            return Err(Error::ShapeMismatch {
                name: "gains_pa".into(),
                expected: format!(
                    "{} neurons per feature x features = {}",
                    self.neurons_per_feature, pop.n
                ),
                got: format!("{n}"),
            });
        }
        Ok(())
    }

    /// Write the currents for features `x` into `out`.
    pub fn encode(&self, x: &[f64], out: &mut [f64]) {
        for (i, (&xi, (&g, &s))) in x
            .iter()
            .zip(self.gains_pa.iter().zip(&self.scale))
            .enumerate()
        {
            let drive = g * (xi / s);
            if self.neurons_per_feature == 1 {
                out[i] = drive + self.bias_pa;
            } else {
                out[2 * i] = drive.max(0.0) + self.bias_pa;
                out[2 * i + 1] = (-drive).max(0.0) + self.bias_pa;
            }
        }
    }
}

/// The output with the most spikes since `last` (updated); ties go to the
/// higher summed membrane potential, then to the lower index.
fn decide(net: &Network, outputs: &[usize], last: &mut [u64]) -> Result<usize> {
    let mut counts = Vec::with_capacity(outputs.len());
    for (k, &pop) in outputs.iter().enumerate() {
        let now = net.populations()[pop].spike_count;
        counts.push(now - last[k]);
        last[k] = now;
    }
    let top = counts.iter().copied().max().unwrap_or(0);
    let mut best: Option<(usize, f64)> = None;
    for (k, &c) in counts.iter().enumerate() {
        if c != top {
            continue;
        }
        let v: f64 = net.populations()[outputs[k]].state(Var::V)?.iter().sum();
        if best.is_none_or(|(_, bv)| v > bv) {
            best = Some((k, v));
        }
    }
    Ok(best.map_or(0, |(k, _)| k))
}

/// What a CartPole episode is run with (besides the network).
#[derive(Clone, Debug)]
pub struct Episode<'a> {
    /// Observation encoder.
    pub encoder: &'a RateEncoder,
    /// The two output populations (actions 0 and 1).
    pub outputs: &'a [usize],
    /// Network steps per environment step.
    pub window_steps: u64,
    /// Initial `(x, x_dot, theta, theta_dot)`.
    pub initial_state: [f64; 4],
    /// Episode length limit.
    pub max_steps: u32,
}

/// Run one `CartPole-v1` episode from `initial_state` with the network as
/// the controller; return its return (1 per step, at most `max_steps`).
///
/// The episode starts with [`Network::reset`] (state of the first step,
/// nothing in flight). Each step presents the observation for
/// `window_steps` steps of the network and takes the action [`decide`]
/// picks. `hook` is called between network steps (Ctrl-C).
///
/// # Errors
///
/// Bad population indices or encoder shapes; errors of the network run or
/// of the hook.
pub fn cartpole_episode(net: &mut Network, episode: &Episode<'_>, hook: Hook<'_>) -> Result<u32> {
    let Episode {
        encoder,
        outputs,
        window_steps,
        initial_state,
        max_steps,
    } = *episode;
    encoder.check(net)?;
    if encoder.gains_pa.len() != 4 {
        return Err(Error::invalid(
            "gains_pa",
            encoder.gains_pa.len(),
            "CartPole has 4 features",
        ));
    }
    if outputs.len() != 2 {
        return Err(Error::invalid(
            "outputs",
            outputs.len(),
            "CartPole has 2 actions",
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
    net.reset();
    let mut env = CartPole {
        state: initial_state,
    };
    let mut last: Vec<u64> = outputs
        .iter()
        .map(|&p| net.populations()[p].spike_count)
        .collect();
    let mut currents = vec![0.0; 4 * encoder.neurons_per_feature];
    let mut total = 0;
    while total < max_steps {
        encoder.encode(&env.observation(), &mut currents);
        net.set_bias(encoder.pop, &currents)?;
        net.run_with(window_steps, hook)?;
        let action = decide(net, outputs, &mut last)?;
        total += 1;
        if env.step(action) {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pole_falls_under_constant_push_and_the_cart_stays_in_bounds() {
        let mut env = CartPole {
            state: [0.0, 0.0, 0.01, 0.0],
        };
        let mut steps = 0;
        while !env.step(1) {
            steps += 1;
            assert!(steps < 100, "pole should fall within 2 s");
        }
        // Pushing right tilts the pole left (negative theta) past 12 degrees.
        assert!(env.state[2] < -CartPole::theta_threshold());
    }

    #[test]
    fn observation_is_float32() {
        let env = CartPole {
            state: [0.1, 0.2, 0.3, 0.4],
        };
        #[allow(clippy::cast_possible_truncation)]
        let expected = f64::from(0.1_f64 as f32);
        assert_eq!(env.observation()[0].to_bits(), expected.to_bits());
    }
}
