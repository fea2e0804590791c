//! A software safety monitor for closed-loop control (seed 002 §10.3: the
//! FPGA safety service, here in software): an [`Environment`] wrapper that
//! checks every observation against per-feature limits, records each
//! violation and stops the episode at the first step that has one.

use super::Environment;
use crate::{Error, Result};

/// One observation feature beyond its limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Violation {
    /// Environment step after which it was seen (0: the initial state).
    pub step: u32,
    /// Index of the feature in the observation.
    pub feature: usize,
    /// The observed value.
    pub value: f64,
    /// The limit on its absolute value.
    pub limit: f64,
}

/// `env` under a safety monitor: `|observation[i]| <= limits[i]` must hold
/// after every step (`f64::INFINITY`: no limit on that feature).
///
/// [`Environment::step`] of the wrapper steps `env`, records the new
/// observation in [`Guarded::trajectory`], records every feature beyond its
/// limit in [`Guarded::violations`] and reports termination when `env`
/// terminates or a limit is exceeded (an emergency stop: the controller gets
/// no further step). A violation in the initial state is recorded by
/// [`Environment::reset`]; the episode then still runs its first step, and
/// stops after it.
#[derive(Clone, Debug)]
pub struct Guarded<E> {
    /// The monitored environment.
    pub env: E,
    limits: Vec<f64>,
    /// Violations of the current episode, in order.
    pub violations: Vec<Violation>,
    /// Observations of the current episode, flattened: the initial one, then
    /// one per step (`N_FEATURES` values each).
    pub trajectory: Vec<f64>,
    step: u32,
}

impl<E: Environment> Guarded<E> {
    /// Wrap `env` with `limits`, one per feature.
    ///
    /// # Errors
    ///
    /// `limits` of the wrong length, or a limit that is NaN or not > 0.
    pub fn new(env: E, limits: &[f64]) -> Result<Self> {
        if limits.len() != E::N_FEATURES {
            return Err(Error::invalid(
                "limits",
                limits.len(),
                format!("{} has {} features", E::NAME, E::N_FEATURES),
            ));
        }
        if let Some(bad) = limits.iter().find(|v| v.is_nan() || **v <= 0.0) {
            return Err(Error::invalid("limits", bad, "must be > 0 (inf: no limit)"));
        }
        Ok(Self {
            env,
            limits: limits.to_vec(),
            violations: Vec::new(),
            trajectory: Vec::new(),
            step: 0,
        })
    }

    /// Count the step and check it; whether the episode stops.
    fn after_step(&mut self, done: bool) -> bool {
        self.step += 1;
        self.check();
        // any violation, this step's or the initial state's, stops the episode
        done || !self.violations.is_empty()
    }

    /// Record the current observation and any feature beyond its limit.
    fn check(&mut self) {
        let obs = self.env.observation();
        for (feature, (&value, &limit)) in obs.as_ref().iter().zip(&self.limits).enumerate() {
            self.trajectory.push(value);
            if value.abs() > limit || value.is_nan() {
                self.violations.push(Violation {
                    step: self.step,
                    feature,
                    value,
                    limit,
                });
            }
        }
    }
}

impl<E: Environment> Environment for Guarded<E> {
    const NAME: &'static str = E::NAME;
    const N_FEATURES: usize = E::N_FEATURES;
    const N_ACTIONS: usize = E::N_ACTIONS;
    const MAX_STEPS: u32 = E::MAX_STEPS;
    type Observation = E::Observation;

    fn reset(&mut self, initial_state: &[f64]) -> Result<()> {
        self.env.reset(initial_state)?;
        self.violations.clear();
        self.trajectory.clear();
        self.step = 0;
        self.check();
        Ok(())
    }

    fn observation(&self) -> E::Observation {
        self.env.observation()
    }

    fn step(&mut self, action: usize) -> bool {
        let done = self.env.step(action);
        self.after_step(done)
    }

    fn step_counts(&mut self, action: usize, counts: &[u64]) -> bool {
        let done = self.env.step_counts(action, counts);
        self.after_step(done)
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
mod tests {
    use super::super::CartPole;
    use super::*;

    #[test]
    fn a_constant_push_violates_a_tight_velocity_limit_and_stops() {
        let limits = [f64::INFINITY, 0.5, f64::INFINITY, f64::INFINITY];
        let mut env = Guarded::new(CartPole::default(), &limits).unwrap();
        env.reset(&[0.0; 4]).unwrap();
        let mut steps = 0;
        while !env.step(1) {
            steps += 1;
        }
        // x_dot grows by about 0.195 m/s per 20 ms step under a 10 N push:
        // the limit of 0.5 m/s is passed at the third step.
        assert_eq!(steps + 1, 3);
        assert_eq!(env.violations.len(), 1);
        let v = env.violations[0];
        assert_eq!((v.step, v.feature, v.limit), (3, 1, 0.5));
        assert!(v.value > 0.5);
        assert_eq!(env.trajectory.len(), 4 * 4);
        assert_eq!(env.trajectory[4 * 3 + 1], v.value);
    }

    #[test]
    fn no_limit_no_violation_and_the_plain_termination() {
        let mut env = Guarded::new(CartPole::default(), &[f64::INFINITY; 4]).unwrap();
        let mut plain = CartPole::default();
        env.reset(&[0.0, 0.0, 0.01, 0.0]).unwrap();
        plain.reset(&[0.0, 0.0, 0.01, 0.0]).unwrap();
        loop {
            let (a, b) = (env.step(1), plain.step(1));
            assert_eq!(a, b);
            assert_eq!(env.env.state, plain.state);
            if a {
                break;
            }
        }
        assert!(env.violations.is_empty());
    }

    #[test]
    fn bad_limits_are_refused() {
        assert!(Guarded::new(CartPole::default(), &[1.0; 3]).is_err());
        assert!(Guarded::new(CartPole::default(), &[1.0, 0.0, 1.0, 1.0]).is_err());
        assert!(Guarded::new(CartPole::default(), &[1.0, f64::NAN, 1.0, 1.0]).is_err());
    }
}
