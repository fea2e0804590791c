//! Double-pole balancing (Wieland 1991) as an [`Environment`], with and
//! without velocity inputs: the benchmark of Stanley & Miikkulainen (2002)
//! and Gomez, Schmidhuber & Miikkulainen (2008).
//!
//! Two poles of different length hinged side by side on a cart that moves
//! on a 4.8 m track. The equations of motion (Wieland 1991, as written by
//! Gomez et al. 2008, appendix), for poles `i = 1, 2`:
//!
//! ```text
//! x''     = (F - mu_c sgn(x') + sum_i F~_i) / (M + sum_i m~_i)
//! th_i''  = -3 / (4 l_i) (x'' cos th_i + g sin th_i + mu_p th_i' / (m_i l_i))
//! F~_i    = m_i l_i th_i'^2 sin th_i + 3/4 m_i cos th_i (mu_p th_i' / (m_i l_i) + g sin th_i)
//! m~_i    = m_i (1 - 3/4 cos^2 th_i)
//! ```
//!
//! with `g = -9.8 m/s^2` (the sign convention of those equations), `M = 1 kg`,
//! `m_1 = 0.1 kg`, `m_2 = 0.01 kg`, half-lengths `l_1 = 0.5 m`, `l_2 = 0.05 m`,
//! cart friction `mu_c = 5e-4`, hinge friction `mu_p = 2e-6`. They are
//! integrated with the classical 4th-order Runge–Kutta method at
//! `h = 0.01 s`, two steps per control step (one force every 0.02 s), as in
//! the NEAT and ESP code. The episode fails when `|x| > 2.4 m` or either pole
//! is beyond 36 degrees (0.628329 rad in that code).

use super::Environment;
use crate::{Error, Result};

/// Physical constants and limits of the double-pole task (see the module docs).
pub mod consts {
    /// Gravity in the sign convention of Wieland's equations (m/s^2).
    pub const GRAVITY: f64 = -9.8;
    /// Cart mass (kg).
    pub const MASS_CART: f64 = 1.0;
    /// Long pole mass (kg).
    pub const MASS_POLE_1: f64 = 0.1;
    /// Short pole mass (kg).
    pub const MASS_POLE_2: f64 = 0.01;
    /// Long pole half-length (m).
    pub const LENGTH_1: f64 = 0.5;
    /// Short pole half-length (m).
    pub const LENGTH_2: f64 = 0.05;
    /// Coefficient of friction of the cart on the track.
    pub const MU_C: f64 = 0.0005;
    /// Coefficient of friction of the pole hinges.
    pub const MU_P: f64 = 0.000_002;
    /// Largest force on the cart (N); the force is in `[-FORCE_MAG, FORCE_MAG]`.
    pub const FORCE_MAG: f64 = 10.0;
    /// Runge–Kutta step (s).
    pub const TAU: f64 = 0.01;
    /// Runge–Kutta steps per control step (one control step = 0.02 s).
    pub const RK_STEPS: usize = 2;
    /// Half the track (m): failure at `|x| > X_LIMIT`.
    pub const X_LIMIT: f64 = 2.4;
    /// Failure angle of either pole (rad): 36 degrees as written in the NEAT and ESP code.
    pub const ANGLE_LIMIT: f64 = 0.628_329;
    /// Initial angle of the long pole (rad): 4.5 degrees.
    pub const INITIAL_ANGLE: f64 = 4.5 * std::f64::consts::PI / 180.0;
}

use consts::{
    ANGLE_LIMIT, FORCE_MAG, GRAVITY, LENGTH_1, LENGTH_2, MASS_CART, MASS_POLE_1, MASS_POLE_2, MU_C,
    MU_P, RK_STEPS, TAU, X_LIMIT,
};

/// Derivatives of the state `(x, x', th1, th1', th2, th2')` under `force` (N).
#[must_use]
pub fn derivatives(s: &[f64; 6], force: f64) -> [f64; 6] {
    derivatives_with(s, force, MU_C, MU_P)
}

/// [`derivatives`] with the friction coefficients given.
fn derivatives_with(s: &[f64; 6], force: f64, mu_c: f64, mu_p: f64) -> [f64; 6] {
    let sgn = if s[1] > 0.0 {
        1.0
    } else if s[1] < 0.0 {
        -1.0
    } else {
        0.0
    };
    let (sin1, cos1) = s[2].sin_cos();
    let (sin2, cos2) = s[4].sin_cos();
    let ml1 = LENGTH_1 * MASS_POLE_1;
    let ml2 = LENGTH_2 * MASS_POLE_2;
    let fric1 = mu_p * s[3] / ml1;
    let fric2 = mu_p * s[5] / ml2;
    let f1 = ml1 * s[3] * s[3] * sin1 + 0.75 * MASS_POLE_1 * cos1 * (fric1 + GRAVITY * sin1);
    let f2 = ml2 * s[5] * s[5] * sin2 + 0.75 * MASS_POLE_2 * cos2 * (fric2 + GRAVITY * sin2);
    let m1 = MASS_POLE_1 * (1.0 - 0.75 * cos1 * cos1);
    let m2 = MASS_POLE_2 * (1.0 - 0.75 * cos2 * cos2);
    let xacc = (force - mu_c * sgn + f1 + f2) / (m1 + m2 + MASS_CART);
    let th1acc = -0.75 * (xacc * cos1 + GRAVITY * sin1 + fric1) / LENGTH_1;
    let th2acc = -0.75 * (xacc * cos2 + GRAVITY * sin2 + fric2) / LENGTH_2;
    [s[1], xacc, s[3], th1acc, s[5], th2acc]
}

/// One classical Runge–Kutta step of `h` seconds under a constant `force` (N).
#[must_use]
pub fn rk4(s: &[f64; 6], force: f64, h: f64) -> [f64; 6] {
    rk4_with(s, force, h, MU_C, MU_P)
}

fn rk4_with(s: &[f64; 6], force: f64, h: f64, mu_c: f64, mu_p: f64) -> [f64; 6] {
    let derivatives = |s: &[f64; 6], force: f64| derivatives_with(s, force, mu_c, mu_p);
    let add = |a: &[f64; 6], k: &[f64; 6], c: f64| -> [f64; 6] {
        std::array::from_fn(|i| a[i] + c * k[i])
    };
    let k1 = derivatives(s, force);
    let k2 = derivatives(&add(s, &k1, 0.5 * h), force);
    let k3 = derivatives(&add(s, &k2, 0.5 * h), force);
    let k4 = derivatives(&add(s, &k3, h), force);
    std::array::from_fn(|i| s[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

/// One control step (0.02 s: two Runge–Kutta steps of 0.01 s) under `force` (N).
#[must_use]
pub fn control_step(s: &[f64; 6], force: f64) -> [f64; 6] {
    let mut out = *s;
    for _ in 0..RK_STEPS {
        out = rk4(&out, force, TAU);
    }
    out
}

/// Whether the state has failed: `|x| > 2.4 m` or a pole beyond 36 degrees.
#[must_use]
pub fn failed(s: &[f64; 6]) -> bool {
    s[0].abs() > X_LIMIT
        || s[2].abs() > ANGLE_LIMIT
        || s[4].abs() > ANGLE_LIMIT
        || s.iter().any(|v| v.is_nan())
}

/// The force decoded from the spike counts of the two output populations
/// (push left, push right). With `full_force_spikes = K > 0`: proportional,
/// `clip(FORCE_MAG (n_right - n_left) / K, -FORCE_MAG, FORCE_MAG)`; with 0:
/// the normalised difference `FORCE_MAG (n_right - n_left) / (n_right +
/// n_left)`, 0 N when both are silent.
#[must_use]
pub fn force_from_counts(counts: &[u64], full_force_spikes: u32) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let (left, right) = (counts[0] as f64, counts[1] as f64);
    if full_force_spikes > 0 {
        (FORCE_MAG * (right - left) / f64::from(full_force_spikes)).clamp(-FORCE_MAG, FORCE_MAG)
    } else if left + right == 0.0 {
        0.0
    } else {
        FORCE_MAG * (right - left) / (right + left)
    }
}

/// How many of the last balanced steps the damping term sums (Gruau et al. 1996).
pub const JIGGLE_STEPS: usize = 100;

/// Double-pole balancing: `VELOCITIES` = true is the Markovian task (DPV,
/// observation `(x, x', th1, th1', th2, th2')`), false the one without
/// velocities (DPNV, observation `(x, th1, th2)`).
///
/// Actions: 2 output populations (push left, push right); the force of a
/// step is [`force_from_counts`] of their spike counts in the window, so
/// it takes graded values in [-10, 10] N as in the NEAT and ESP experiments
/// (action 0 / 1 through [`Environment::step`] is -10 / +10 N).
///
/// Besides the state it keeps what the damping fitness of Gruau et al.
/// (1996) needs: the number of steps balanced and the "jiggle"
/// `|x| + |x'| + |th1| + |th1'|` after each of the last
/// [`JIGGLE_STEPS`] balanced steps.
#[derive(Clone, Debug)]
pub struct DoublePole<const VELOCITIES: bool> {
    /// `(x (m), x' (m/s), th1 (rad), th1' (rad/s), th2 (rad), th2' (rad/s))`.
    pub state: [f64; 6],
    /// Steps after which the state had not failed.
    pub balanced: u32,
    /// Decoding of the force ([`force_from_counts`]; 0: normalised difference).
    pub full_force_spikes: u32,
    jiggle: [f64; JIGGLE_STEPS],
}

impl<const V: bool> Default for DoublePole<V> {
    fn default() -> Self {
        Self {
            state: [0.0; 6],
            balanced: 0,
            full_force_spikes: 0,
            jiggle: [0.0; JIGGLE_STEPS],
        }
    }
}

impl<const V: bool> DoublePole<V> {
    /// The standard initial state: everything 0 but the long pole at 4.5 degrees.
    #[must_use]
    pub fn initial_state() -> [f64; 6] {
        [0.0, 0.0, consts::INITIAL_ANGLE, 0.0, 0.0, 0.0]
    }

    /// Sum of the jiggle over the last `min(balanced, 100)` balanced steps.
    #[must_use]
    pub fn jiggle_sum(&self) -> f64 {
        let n = (self.balanced as usize).min(JIGGLE_STEPS);
        let end = self.balanced as usize;
        (end - n..end).map(|k| self.jiggle[k % JIGGLE_STEPS]).sum()
    }

    fn apply(&mut self, force: f64) -> bool {
        self.state = control_step(&self.state, force);
        if failed(&self.state) {
            return true;
        }
        let s = &self.state;
        self.jiggle[self.balanced as usize % JIGGLE_STEPS] =
            s[0].abs() + s[1].abs() + s[2].abs() + s[3].abs();
        self.balanced += 1;
        false
    }
}

/// An observation of up to 6 values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoleObservation {
    values: [f64; 6],
    len: usize,
}

impl AsRef<[f64]> for PoleObservation {
    fn as_ref(&self) -> &[f64] {
        &self.values[..self.len]
    }
}

impl<const V: bool> Environment for DoublePole<V> {
    const NAME: &'static str = if V { "DoublePole" } else { "DoublePoleNV" };
    const N_FEATURES: usize = if V { 6 } else { 3 };
    const N_ACTIONS: usize = 2;
    /// Solved: balanced for 100,000 steps (33 min of simulated time).
    const MAX_STEPS: u32 = 100_000;
    type Observation = PoleObservation;

    /// Set the state to `initial_state` (6 values, finite, not failed).
    fn reset(&mut self, initial_state: &[f64]) -> Result<()> {
        let state: [f64; 6] = initial_state.try_into().map_err(|_| Error::ShapeMismatch {
            name: "initial_state".into(),
            expected: "(6,)".into(),
            got: format!("({},)", initial_state.len()),
        })?;
        if let Some(bad) = state.iter().find(|v| !v.is_finite()) {
            return Err(Error::invalid("initial_state", bad, "must be finite"));
        }
        if failed(&state) {
            return Err(Error::invalid(
                "initial_state",
                format!("{state:?}"),
                "already outside the track or the 36 degree limit",
            ));
        }
        *self = Self {
            state,
            full_force_spikes: self.full_force_spikes,
            ..Self::default()
        };
        Ok(())
    }

    fn observation(&self) -> PoleObservation {
        let s = self.state;
        if V {
            PoleObservation { values: s, len: 6 }
        } else {
            PoleObservation {
                values: [s[0], s[2], s[4], 0.0, 0.0, 0.0],
                len: 3,
            }
        }
    }

    /// Bang-bang: action 0 pushes with -10 N, 1 with +10 N.
    fn step(&mut self, action: usize) -> bool {
        self.apply(if action == 1 { FORCE_MAG } else { -FORCE_MAG })
    }

    /// The force of the window's spike counts ([`force_from_counts`]).
    fn step_counts(&mut self, _action: usize, counts: &[u64]) -> bool {
        self.apply(force_from_counts(counts, self.full_force_spikes))
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn at_rest_upright_is_an_equilibrium() {
        let s = control_step(&[0.0; 6], 0.0);
        assert_eq!(s, [0.0; 6]);
    }

    #[test]
    fn unforced_long_pole_falls_to_its_side_and_fails() {
        let mut env = DoublePole::<true>::default();
        env.reset(&DoublePole::<true>::initial_state()).unwrap();
        let mut steps = 0;
        while !env.step_counts(0, &[0, 0]) {
            steps += 1;
            assert!(steps < 500, "the poles should fall within 10 s");
        }
        // the long pole starts leaning right (positive) and falls that way
        assert!(env.state[2] > ANGLE_LIMIT || env.state[4].abs() > ANGLE_LIMIT);
        assert_eq!(env.balanced, steps);
    }

    #[test]
    fn rk4_converges_at_fourth_order() {
        // error against a fine reference, halving h: ratio ~ 2^4 = 16
        let s0 = [0.1, 0.2, 0.05, -0.1, -0.02, 0.3];
        let run = |h: f64, n: usize| {
            let mut s = s0;
            for _ in 0..n {
                s = rk4(&s, 3.0, h);
            }
            s
        };
        let reference = run(0.0005, 800);
        let e1 = (run(0.02, 20)[4] - reference[4]).abs();
        let e2 = (run(0.01, 40)[4] - reference[4]).abs();
        let ratio = e1 / e2;
        assert!((12.0..20.0).contains(&ratio), "ratio {ratio}");
    }

    #[test]
    fn energy_is_conserved_without_friction_and_drops_with_it() {
        // cart + two uniform rods of half-length l (inertia m l^2 / 3 about the
        // centre), centre of mass at (x + l sin th, l cos th), g = 9.8 m/s^2 down
        let energy = |s: &[f64; 6]| {
            let mut ke = 0.5 * MASS_CART * s[1] * s[1];
            let mut pe = 0.0;
            for (m, l, th, w) in [
                (MASS_POLE_1, LENGTH_1, s[2], s[3]),
                (MASS_POLE_2, LENGTH_2, s[4], s[5]),
            ] {
                let vx = s[1] + l * w * th.cos();
                let vy = -l * w * th.sin();
                ke += 0.5 * m * (vx * vx + vy * vy) + 0.5 * (m * l * l / 3.0) * w * w;
                pe += m * 9.8 * l * th.cos();
            }
            ke + pe
        };
        let s0 = [0.0, 0.0, 0.1, 0.0, -0.05, 0.0];
        let e0 = energy(&s0);
        let (mut free, mut damped) = (s0, s0);
        // 1 s: both poles fall over and swing fast (up to ~24 rad/s)
        for _ in 0..100 {
            free = rk4_with(&free, 0.0, TAU, 0.0, 0.0);
            damped = rk4(&damped, 0.0, TAU);
        }
        // RK4 at h = 0.01 s keeps the energy of the conservative system to ~1e-7
        assert!(
            (energy(&free) - e0).abs() < 1e-6 * e0,
            "{e0} -> {}",
            energy(&free)
        );
        // the published frictions only remove energy
        assert!(energy(&damped) < e0 - 1e-5, "{e0} -> {}", energy(&damped));
    }

    #[test]
    fn nv_observes_positions_only_and_reset_checks_the_state() {
        let mut env = DoublePole::<false>::default();
        env.reset(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]).unwrap();
        assert_eq!(env.observation().as_ref(), &[0.1, 0.3, 0.5]);
        assert!(env.reset(&[0.0; 5]).is_err());
        assert!(env.reset(&[3.0, 0.0, 0.0, 0.0, 0.0, 0.0]).is_err());
        assert!(env.reset(&[f64::NAN, 0.0, 0.0, 0.0, 0.0, 0.0]).is_err());
    }

    #[test]
    fn jiggle_sums_the_last_hundred_balanced_steps() {
        let mut env = DoublePole::<false>::default();
        env.reset(&DoublePole::<false>::initial_state()).unwrap();
        let mut all = Vec::new();
        for _ in 0..150 {
            // a weak alternating push keeps it up for a while
            let counts = if env.state[2] > 0.0 { [0, 1] } else { [1, 0] };
            if env.step_counts(0, &counts) {
                break;
            }
            let s = env.state;
            all.push(s[0].abs() + s[1].abs() + s[2].abs() + s[3].abs());
        }
        let n = all.len().min(JIGGLE_STEPS);
        let want: f64 = all[all.len() - n..].iter().sum();
        assert!((env.jiggle_sum() - want).abs() < 1e-12);
        assert_eq!(env.balanced as usize, all.len());
    }

    #[test]
    fn force_is_the_normalised_count_difference() {
        assert_eq!(force_from_counts(&[0, 0], 0), 0.0);
        assert_eq!(force_from_counts(&[0, 3], 0), 10.0);
        assert_eq!(force_from_counts(&[3, 1], 0), -5.0);
        assert_eq!(force_from_counts(&[3, 1], 4), -5.0);
        assert_eq!(force_from_counts(&[0, 9], 4), 10.0);
        assert_eq!(force_from_counts(&[1, 2], 4), 2.5);
    }
}
