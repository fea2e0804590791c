//! gymnasium's `CartPole-v1` as an [`Environment`].

use super::Environment;
use crate::{Error, Result};

/// gymnasium `CartPole-v1` dynamics (`gymnasium/envs/classic_control/cartpole.py`):
/// Barto, Sutton & Anderson (1983) with gymnasium's constants and explicit
/// Euler integrator, operation for operation, so trajectories match
/// gymnasium's bit for bit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
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

    /// Angle beyond which the episode terminates: 12 degrees, computed as gymnasium does.
    #[must_use]
    pub fn theta_threshold() -> f64 {
        12.0 * 2.0 * std::f64::consts::PI / 360.0
    }
}

impl Environment for CartPole {
    const NAME: &'static str = "CartPole";
    const N_FEATURES: usize = 4;
    const N_ACTIONS: usize = 2;
    /// Episode length limit of `CartPole-v1` (gymnasium's `TimeLimit`).
    const MAX_STEPS: u32 = 500;
    type Observation = [f64; 4];

    /// Set the state to `initial_state` = `(x, x_dot, theta, theta_dot)`.
    fn reset(&mut self, initial_state: &[f64]) -> Result<()> {
        self.state = initial_state.try_into().map_err(|_| Error::ShapeMismatch {
            name: "initial_state".into(),
            expected: "(4,)".into(),
            got: format!("({},)", initial_state.len()),
        })?;
        Ok(())
    }

    /// The observation gymnasium returns: the state rounded to `float32`.
    fn observation(&self) -> [f64; 4] {
        #[allow(clippy::cast_possible_truncation)]
        self.state.map(|v| f64::from(v as f32))
    }

    /// Advance one step of 20 ms with action 0 (push left) or 1 (push right);
    /// return whether the episode terminated.
    fn step(&mut self, action: usize) -> bool {
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
}

#[cfg(test)]
// Exact comparisons are intended: the checks return their input unchanged.
#[allow(clippy::float_cmp)]
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

    #[test]
    fn reset_takes_four_values() {
        let mut env = CartPole::default();
        env.reset(&[0.1, 0.2, 0.3, 0.4]).unwrap();
        assert_eq!(env.state, [0.1, 0.2, 0.3, 0.4]);
        assert!(matches!(
            env.reset(&[0.0; 3]),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
