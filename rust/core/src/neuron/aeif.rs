//! Adaptive exponential integrate-and-fire neurons (AdEx; Brette & Gerstner
//! 2005, J Neurophysiol 94:3637, doi:10.1152/jn.00686.2005), as NEST's
//! `aeif_cond_exp` (conductance synapses) and `aeif_psc_exp` (current
//! synapses).
//!
//! ```text
//! C_m dV/dt = -g_L (V - E_L) + g_L Delta_T exp((V - V_th)/Delta_T) + I_syn - w + I_e + I_stim
//! tau_w dw/dt = a (V - E_L) - w
//! cond: I_syn = -g_ex (V - E_ex) - g_in (V - E_in),  dg/dt = -g/tau_syn    (nS)
//! psc:  I_syn = I_ex + I_in,                         dI/dt = -I/tau_syn    (pA, I_in <= 0)
//! V >= V_peak:  V <- V_reset, w <- w + b, refractory for t_ref
//! ```
//!
//! Integration: the classical fourth-order Runge–Kutta method on the whole
//! state `(V, w, syn_ex, syn_in)` with `ceil(dt / h_max)` equal sub-steps per
//! step (`h_max = max_substep_ms`, 0.01 ms by default). As in NEST, the
//! right-hand side uses `min(V, V_peak)` (so the exponential cannot overflow
//! within a sub-step), and `V = V_reset`, `dV/dt = 0` while refractory; the
//! threshold `V_peak` (`V_th` when `Delta_T = 0`) is tested after every
//! sub-step. In a sub-step that crosses it, the crossing is located by
//! bisection (10 halvings, to `h_max / 1024`), `V` is reset there, `b` added
//! to `w`, and the rest of the sub-step and the remaining sub-steps continue
//! from the reset. The spike is stamped with the step (at most one per
//! step). Without spikes the scheme is of order 4 in the sub-step (measured
//! in `tests::rk4_converges_with_order_four`); with spikes the reset time is
//! off by at most `h_max / 1024` (order one, but small). NEST uses GSL's
//! adaptive RKF45 (absolute error 1e-6 per step) and resets at the end of
//! the internal step that crosses; the spike times agree within one step
//! for Naud et al. (2008)'s patterns (`tests/test_nest_models.py`).
//!
//! NEST's refractory counter is kept: a spike sets it to `round(t_ref/dt) +
//! 1` (0 when `t_ref = 0`), and it counts down at the end of every step.
//! Input spikes add their weight to `g_x` / `I_x` at the end of the step in
//! which they arrive (acting from the next step, as NEST). An engine
//! current (`I_stim`) acts in the step it is given for; NEST's current
//! generators in the step after.

use crate::neuron::point::ParamSet;
use crate::validate::{finite, non_negative, positive};
use crate::{Error, Result};

/// Parameters of an AdEx population (NEST's names and units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AeifParams {
    /// Membrane capacitance `C_m` (pF).
    pub c_m_pf: f64,
    /// Leak conductance `g_L` (nS).
    pub g_l_ns: f64,
    /// Leak reversal potential `E_L` (mV).
    pub e_l_mv: f64,
    /// Spike initiation threshold `V_th` (mV).
    pub v_th_mv: f64,
    /// Slope factor `Delta_T` (mV); 0 makes the model an adaptive LIF.
    pub delta_t_mv: f64,
    /// Spike detection threshold `V_peak` (mV).
    pub v_peak_mv: f64,
    /// Reset potential `V_reset` (mV).
    pub v_reset_mv: f64,
    /// Absolute refractory period `t_ref` (ms).
    pub t_ref_ms: f64,
    /// Subthreshold adaptation `a` (nS).
    pub a_ns: f64,
    /// Spike-triggered adaptation `b` (pA).
    pub b_pa: f64,
    /// Adaptation time constant `tau_w` (ms).
    pub tau_w_ms: f64,
    /// Excitatory synaptic time constant `tau_syn_ex` (ms).
    pub tau_syn_ex_ms: f64,
    /// Inhibitory synaptic time constant `tau_syn_in` (ms).
    pub tau_syn_in_ms: f64,
    /// Excitatory reversal potential `E_ex` (mV), conductance synapses.
    pub e_ex_mv: f64,
    /// Inhibitory reversal potential `E_in` (mV), conductance synapses.
    pub e_in_mv: f64,
    /// Constant input current `I_e` (pA), the initial bias of every neuron.
    pub i_e_pa: f64,
    /// Largest Runge–Kutta sub-step (ms).
    pub max_substep_ms: f64,
    /// Conductance (`true`, `aeif_cond_exp`) or current synapses (`aeif_psc_exp`).
    pub conductance: bool,
}

impl Default for AeifParams {
    /// NEST 3.10's `aeif_cond_exp` defaults.
    fn default() -> Self {
        Self {
            c_m_pf: 281.0,
            g_l_ns: 30.0,
            e_l_mv: -70.6,
            v_th_mv: -50.4,
            delta_t_mv: 2.0,
            v_peak_mv: 0.0,
            v_reset_mv: -60.0,
            t_ref_ms: 0.0,
            a_ns: 4.0,
            b_pa: 80.5,
            tau_w_ms: 144.0,
            tau_syn_ex_ms: 0.2,
            tau_syn_in_ms: 2.0,
            e_ex_mv: 0.0,
            e_in_mv: -85.0,
            i_e_pa: 0.0,
            max_substep_ms: 0.01,
            conductance: true,
        }
    }
}

impl AeifParams {
    /// Read every parameter by name from `set` (all must be present).
    pub fn from_set(set: &mut ParamSet<'_>, conductance: bool) -> Result<Self> {
        Ok(Self {
            c_m_pf: set.get("c_m_pf")?,
            g_l_ns: set.get("g_l_ns")?,
            e_l_mv: set.get("e_l_mv")?,
            v_th_mv: set.get("v_th_mv")?,
            delta_t_mv: set.get("delta_t_mv")?,
            v_peak_mv: set.get("v_peak_mv")?,
            v_reset_mv: set.get("v_reset_mv")?,
            t_ref_ms: set.get("t_ref_ms")?,
            a_ns: set.get("a_ns")?,
            b_pa: set.get("b_pa")?,
            tau_w_ms: set.get("tau_w_ms")?,
            tau_syn_ex_ms: set.get("tau_syn_ex_ms")?,
            tau_syn_in_ms: set.get("tau_syn_in_ms")?,
            e_ex_mv: if conductance {
                set.get("e_ex_mv")?
            } else {
                0.0
            },
            e_in_mv: if conductance {
                set.get("e_in_mv")?
            } else {
                0.0
            },
            i_e_pa: set.get("i_e_pa")?,
            max_substep_ms: set.get("max_substep_ms")?,
            conductance,
        })
    }

    /// Validate the whole parameter set (NEST's checks).
    pub fn validate(&self) -> Result<()> {
        positive("c_m_pf", self.c_m_pf)?;
        positive("g_l_ns", self.g_l_ns)?;
        finite("e_l_mv", self.e_l_mv)?;
        finite("v_th_mv", self.v_th_mv)?;
        non_negative("delta_t_mv", self.delta_t_mv)?;
        finite("v_peak_mv", self.v_peak_mv)?;
        finite("v_reset_mv", self.v_reset_mv)?;
        non_negative("t_ref_ms", self.t_ref_ms)?;
        finite("a_ns", self.a_ns)?;
        finite("b_pa", self.b_pa)?;
        positive("tau_w_ms", self.tau_w_ms)?;
        positive("tau_syn_ex_ms", self.tau_syn_ex_ms)?;
        positive("tau_syn_in_ms", self.tau_syn_in_ms)?;
        finite("e_ex_mv", self.e_ex_mv)?;
        finite("e_in_mv", self.e_in_mv)?;
        finite("i_e_pa", self.i_e_pa)?;
        positive("max_substep_ms", self.max_substep_ms)?;
        if self.v_peak_mv < self.v_th_mv {
            return Err(Error::invalid(
                "v_peak_mv",
                self.v_peak_mv,
                format!("must be >= v_th_mv = {}", self.v_th_mv),
            ));
        }
        if self.v_reset_mv >= self.spike_threshold() {
            return Err(Error::invalid(
                "v_reset_mv",
                self.v_reset_mv,
                format!(
                    "must be below the spike threshold {}",
                    self.spike_threshold()
                ),
            ));
        }
        if self.delta_t_mv > 0.0 {
            // NEST: the exponential must not overflow at V_peak.
            let x = (self.v_peak_mv - self.v_th_mv) / self.delta_t_mv;
            if x > 600.0 {
                return Err(Error::invalid(
                    "delta_t_mv",
                    self.delta_t_mv,
                    "too small: exp((v_peak_mv - v_th_mv) / delta_t_mv) overflows",
                ));
            }
        }
        Ok(())
    }

    /// `V_peak`, or `V_th` when `Delta_T = 0` (NEST).
    pub fn spike_threshold(&self) -> f64 {
        if self.delta_t_mv > 0.0 {
            self.v_peak_mv
        } else {
            self.v_th_mv
        }
    }
}

/// State of an AdEx population, structure of arrays.
#[derive(Clone, Debug, Default)]
pub struct AeifState {
    /// Membrane potential `V_m` (mV).
    pub v_mv: Vec<f64>,
    /// Adaptation current `w` (pA).
    pub w_pa: Vec<f64>,
    /// Excitatory synaptic conductance (nS) or current (pA).
    pub syn_ex: Vec<f64>,
    /// Inhibitory synaptic conductance (nS) or current (pA, <= 0).
    pub syn_in: Vec<f64>,
    /// Refractory counter (NEST's `r`).
    pub ref_left: Vec<f64>,
    /// Bias current `I_e` per neuron (pA).
    pub i_e_pa: Vec<f64>,
}

/// An AdEx population.
#[derive(Clone, Debug)]
pub struct Aeif {
    /// Parameters.
    pub params: AeifParams,
    /// State.
    pub state: AeifState,
    n_sub: u32,
    h: f64,
    ref_steps: u32,
}

/// Bisections locating a threshold crossing within a sub-step: the reset
/// happens within `max_substep_ms / 2^BISECTIONS` of the crossing.
const BISECTIONS: u32 = 10;

/// The right-hand side: derivatives of `(V, w, s_ex, s_in)`.
#[inline]
fn rhs(p: &AeifParams, y: [f64; 4], refractory: bool, i_in: f64) -> [f64; 4] {
    let v = if refractory {
        p.v_reset_mv
    } else {
        y[0].min(p.v_peak_mv)
    };
    let [_, w, s_ex, s_in] = y;
    let i_spike = if p.delta_t_mv > 0.0 {
        p.g_l_ns * p.delta_t_mv * ((v - p.v_th_mv) / p.delta_t_mv).exp()
    } else {
        0.0
    };
    let i_syn = if p.conductance {
        -s_ex * (v - p.e_ex_mv) - s_in * (v - p.e_in_mv)
    } else {
        s_ex + s_in
    };
    let dv = if refractory {
        0.0
    } else {
        (-p.g_l_ns * (v - p.e_l_mv) + i_spike + i_syn - w + i_in) / p.c_m_pf
    };
    [
        dv,
        (p.a_ns * (v - p.e_l_mv) - w) / p.tau_w_ms,
        -s_ex / p.tau_syn_ex_ms,
        -s_in / p.tau_syn_in_ms,
    ]
}

/// One classical Runge–Kutta step of size `h`.
#[inline]
fn rk4(p: &AeifParams, y: [f64; 4], h: f64, refractory: bool, i_in: f64) -> [f64; 4] {
    let add = |a: [f64; 4], k: [f64; 4], c: f64| std::array::from_fn(|i| a[i] + c * k[i]);
    let k1 = rhs(p, y, refractory, i_in);
    let k2 = rhs(p, add(y, k1, h / 2.0), refractory, i_in);
    let k3 = rhs(p, add(y, k2, h / 2.0), refractory, i_in);
    let k4 = rhs(p, add(y, k3, h), refractory, i_in);
    std::array::from_fn(|i| y[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

impl Aeif {
    /// `n` neurons at `V_m = E_L`, `w = 0` (NEST), for step `dt_ms`.
    pub fn new(params: AeifParams, n: usize, dt_ms: f64) -> Result<Self> {
        params.validate()?;
        let n_sub = (dt_ms / params.max_substep_ms - 1e-9).ceil().max(1.0) as u32;
        Ok(Self {
            state: AeifState {
                v_mv: vec![params.e_l_mv; n],
                w_pa: vec![0.0; n],
                syn_ex: vec![0.0; n],
                syn_in: vec![0.0; n],
                ref_left: vec![0.0; n],
                i_e_pa: vec![params.i_e_pa; n],
            },
            n_sub,
            h: dt_ms / f64::from(n_sub),
            ref_steps: (params.t_ref_ms / dt_ms).round() as u32,
            params,
        })
    }

    /// Sub-steps per step.
    pub fn substeps(&self) -> u32 {
        self.n_sub
    }

    /// Advance every neuron one step with external current `i_ext` (pA).
    pub fn step(&mut self, i_ext: &[f64], spikes: &mut Vec<u32>) {
        let p = &self.params;
        let s = &mut self.state;
        let theta = p.spike_threshold();
        for (k, &i_stim) in i_ext.iter().enumerate().take(s.v_mv.len()) {
            let i_in = s.i_e_pa[k] + i_stim;
            let mut y = [s.v_mv[k], s.w_pa[k], s.syn_ex[k], s.syn_in[k]];
            let mut r = s.ref_left[k];
            let mut fired = false;
            for _ in 0..self.n_sub {
                let y_new = rk4(p, y, self.h, r > 0.0, i_in);
                if r > 0.0 {
                    y = y_new;
                    y[0] = p.v_reset_mv;
                } else if y_new[0] >= theta {
                    // Locate the crossing within the sub-step by bisection
                    // on the length of one RK4 step from its start, reset
                    // there, and integrate the rest of the sub-step.
                    let (mut lo, mut hi) = (0.0, self.h);
                    for _ in 0..BISECTIONS {
                        let mid = 0.5 * (lo + hi);
                        if rk4(p, y, mid, false, i_in)[0] >= theta {
                            hi = mid;
                        } else {
                            lo = mid;
                        }
                    }
                    y = rk4(p, y, hi, false, i_in);
                    y[0] = p.v_reset_mv;
                    y[1] += p.b_pa;
                    r = if self.ref_steps > 0 {
                        f64::from(self.ref_steps + 1)
                    } else {
                        0.0
                    };
                    y = rk4(p, y, self.h - hi, r > 0.0, i_in);
                    if r > 0.0 {
                        y[0] = p.v_reset_mv;
                    }
                    fired = true;
                } else {
                    y = y_new;
                }
            }
            if r > 0.0 {
                r -= 1.0;
            }
            if fired {
                spikes.push(k as u32);
            }
            [s.v_mv[k], s.w_pa[k], s.syn_ex[k], s.syn_in[k]] = y;
            s.ref_left[k] = r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subthreshold(max_substep_ms: f64) -> [f64; 2] {
        // A strongly adapting neuron driven below threshold, with a decaying
        // conductance: every term of the right-hand side is active.
        let p = AeifParams {
            i_e_pa: 400.0,
            max_substep_ms,
            ..AeifParams::default()
        };
        let mut n = Aeif::new(p, 1, 0.1).unwrap();
        n.state.syn_ex[0] = 5.0;
        let mut spikes = Vec::new();
        for _ in 0..200 {
            n.step(&[0.0], &mut spikes);
        }
        assert!(spikes.is_empty());
        [n.state.v_mv[0], n.state.w_pa[0]]
    }

    #[test]
    fn rk4_converges_with_order_four() {
        let reference = subthreshold(0.1 / 64.0);
        let hs = [0.1, 0.05, 0.025, 0.0125];
        let errs: Vec<f64> = hs
            .iter()
            .map(|&h| (subthreshold(h)[0] - reference[0]).abs())
            .collect();
        // least-squares slope of log(err) against log(h)
        let (lx, ly): (Vec<f64>, Vec<f64>) =
            hs.iter().zip(&errs).map(|(h, e)| (h.ln(), e.ln())).unzip();
        let mx = lx.iter().sum::<f64>() / 4.0;
        let my = ly.iter().sum::<f64>() / 4.0;
        let slope = lx
            .iter()
            .zip(&ly)
            .map(|(x, y)| (x - mx) * (y - my))
            .sum::<f64>()
            / lx.iter().map(|x| (x - mx).powi(2)).sum::<f64>();
        eprintln!("measured order {slope:.3}, errors {errs:?}");
        assert!((slope - 4.0).abs() < 0.3, "order {slope}, errors {errs:?}");
    }

    #[test]
    fn refractory_clamps_and_counts_down() {
        let p = AeifParams {
            t_ref_ms: 1.0,
            i_e_pa: 2000.0,
            ..AeifParams::default()
        };
        let mut n = Aeif::new(p, 1, 0.1).unwrap();
        let mut spikes = Vec::new();
        let mut first = None;
        for step in 0..400 {
            spikes.clear();
            n.step(&[0.0], &mut spikes);
            if !spikes.is_empty() && first.is_none() {
                first = Some(step);
            } else if let Some(f) = first {
                if step <= f + 10 {
                    assert!(
                        (n.state.v_mv[0] - p.v_reset_mv).abs() < 1e-12,
                        "step {step}"
                    );
                    assert!(spikes.is_empty());
                }
            }
        }
        assert!(first.is_some());
    }
}
