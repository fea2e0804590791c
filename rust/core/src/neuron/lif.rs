//! Leaky integrate-and-fire neurons with exact integration.
//!
//! Subthreshold dynamics (NEST `iaf_psc_exp` / `iaf_cond_exp` conventions):
//!
//! ```text
//! C_m dV/dt = -g_L (V - E_L) + I_syn + I_e          g_L = C_m / tau_m
//! current-based:      I_syn = i_ex + i_in,  di/dt = -i / tau_syn   (pA)
//! conductance-based:  I_syn = g_ex (E_ex - V) + g_in (E_in - V),  dg/dt = -g / tau_syn   (nS)
//! delta:              incoming weights are voltage jumps (mV)
//! ```
//!
//! Current-based and delta synapses are integrated exactly over a step
//! (Rotter & Diesmann 1999, Biol Cybern 81:381): the linear system is
//! propagated with its matrix exponential, so the result matches the closed
//! form to rounding. Conductance-based synapses make the system bilinear; the
//! membrane is then advanced with the conductances held at their value at the
//! start of the step (exponential Euler, as Brian2's `exponential_euler`),
//! the conductances themselves decay exactly.
//!
//! Delta synapses follow NEST `iaf_psc_delta`: the jumps arriving in a step
//! (buffered in `syn_ex`) are added after the membrane is propagated and
//! before the threshold test, so a spike of step `s` over a delay of `d`
//! steps (`d >= 1`) can make its target fire in step `s + d`.
//!
//! After a spike the membrane is clamped to `v_reset_mv` for
//! `round(t_ref_ms / dt_ms)` steps; synaptic variables keep evolving, and
//! delta-synapse jumps arriving during that time are discarded (NEST
//! `iaf_psc_delta`).

use crate::validate::{finite, non_negative, positive};
use crate::{Error, Result};

/// How a LIF population receives synaptic input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LifSynapse {
    /// Exponentially decaying currents (pA), weights in pA.
    CurrentExp {
        /// Decay time constant of excitatory currents (ms).
        tau_syn_ex_ms: f64,
        /// Decay time constant of inhibitory currents (ms).
        tau_syn_in_ms: f64,
    },
    /// Exponentially decaying conductances (nS), weights in nS.
    CondExp {
        /// Decay time constant of excitatory conductances (ms).
        tau_syn_ex_ms: f64,
        /// Decay time constant of inhibitory conductances (ms).
        tau_syn_in_ms: f64,
        /// Excitatory reversal potential (mV).
        e_ex_mv: f64,
        /// Inhibitory reversal potential (mV).
        e_in_mv: f64,
    },
    /// Instantaneous voltage jumps, weights in mV.
    Delta,
}

impl LifSynapse {
    /// The synapse model named `name` (`current`, `conductance`, `delta`)
    /// with its parameters (those a model does not use are ignored).
    pub fn from_name(
        name: &str,
        tau_syn_ex_ms: f64,
        tau_syn_in_ms: f64,
        e_ex_mv: f64,
        e_in_mv: f64,
    ) -> Result<Self> {
        match name {
            "current" => Ok(Self::CurrentExp {
                tau_syn_ex_ms,
                tau_syn_in_ms,
            }),
            "conductance" => Ok(Self::CondExp {
                tau_syn_ex_ms,
                tau_syn_in_ms,
                e_ex_mv,
                e_in_mv,
            }),
            "delta" => Ok(Self::Delta),
            _ => Err(Error::invalid(
                "synapse",
                name,
                "must be 'current', 'conductance' or 'delta'",
            )),
        }
    }
}

/// Parameters of a LIF population (shared by all its neurons).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LifParams {
    /// Membrane capacitance (pF).
    pub c_m_pf: f64,
    /// Membrane time constant (ms).
    pub tau_m_ms: f64,
    /// Leak reversal potential (mV).
    pub e_l_mv: f64,
    /// Spike threshold (mV).
    pub v_th_mv: f64,
    /// Reset potential (mV).
    pub v_reset_mv: f64,
    /// Absolute refractory period (ms).
    pub t_ref_ms: f64,
    /// Synapse model.
    pub synapse: LifSynapse,
}

impl LifParams {
    /// Validate the whole parameter set for time step `dt_ms`.
    pub fn validate(&self, dt_ms: f64) -> Result<()> {
        positive("c_m_pf", self.c_m_pf)?;
        positive("tau_m_ms", self.tau_m_ms)?;
        finite("e_l_mv", self.e_l_mv)?;
        finite("v_th_mv", self.v_th_mv)?;
        finite("v_reset_mv", self.v_reset_mv)?;
        non_negative("t_ref_ms", self.t_ref_ms)?;
        if self.v_reset_mv >= self.v_th_mv {
            return Err(Error::invalid(
                "v_reset_mv",
                self.v_reset_mv,
                format!("must be below v_th_mv = {}", self.v_th_mv),
            ));
        }
        match self.synapse {
            LifSynapse::CurrentExp {
                tau_syn_ex_ms,
                tau_syn_in_ms,
            } => {
                positive("tau_syn_ex_ms", tau_syn_ex_ms)?;
                positive("tau_syn_in_ms", tau_syn_in_ms)?;
            }
            LifSynapse::CondExp {
                tau_syn_ex_ms,
                tau_syn_in_ms,
                e_ex_mv,
                e_in_mv,
            } => {
                positive("tau_syn_ex_ms", tau_syn_ex_ms)?;
                positive("tau_syn_in_ms", tau_syn_in_ms)?;
                finite("e_ex_mv", e_ex_mv)?;
                finite("e_in_mv", e_in_mv)?;
            }
            LifSynapse::Delta => {}
        }
        positive("dt_ms", dt_ms)?;
        Ok(())
    }

    /// Number of steps a neuron stays clamped after a spike.
    pub fn refractory_steps(&self, dt_ms: f64) -> u32 {
        (self.t_ref_ms / dt_ms).round() as u32
    }
}

/// Coefficient of a synaptic current in the exact membrane propagator:
/// the voltage change over `h` caused by a current of 1 pA at the start of
/// the step decaying with `tau_s`, for a membrane with `tau_m`, `c_m`.
///
/// `(1/C) tau_s tau_m / (tau_m - tau_s) (e^{-h/tau_m} - e^{-h/tau_s})`,
/// written with `expm1` so that it stays accurate as `tau_s -> tau_m`
/// (where it tends to `h/C e^{-h/tau_m}`).
pub fn current_propagator(h: f64, tau_m: f64, tau_s: f64, c_m: f64) -> f64 {
    let delta = 1.0 / tau_s - 1.0 / tau_m;
    let ratio = if (delta * h).abs() < 1e-14 {
        h
    } else {
        (delta * h).exp_m1() / delta
    };
    (-h / tau_s).exp() * ratio / c_m
}

/// Precomputed per-step constants of a LIF population.
#[derive(Clone, Copy, Debug)]
pub struct LifPropagator {
    /// `e^{-dt/tau_m}`.
    pub p_mm: f64,
    /// Voltage change per pA of constant current over a step: `R (1 - e^{-dt/tau_m})` (mV/pA).
    pub p_mi: f64,
    /// Decay factors of the two synaptic variables.
    pub decay_ex: f64,
    /// See `decay_ex`.
    pub decay_in: f64,
    /// Voltage change per unit synaptic current at step start (mV/pA), current-based only.
    pub p_ex: f64,
    /// See `p_ex`.
    pub p_in: f64,
    /// Leak conductance `C_m / tau_m` (nS).
    pub g_l_ns: f64,
    /// `dt / C_m` (ms/pF), the membrane rate per nS of total conductance.
    pub h_over_c: f64,
    /// Refractory steps.
    pub ref_steps: u32,
}

impl LifPropagator {
    /// Constants of `params` for step `dt_ms` (validate `params` first).
    pub fn new(params: &LifParams, dt_ms: f64) -> Self {
        let h = dt_ms;
        let p_mm = (-h / params.tau_m_ms).exp();
        let p_mi = -(-h / params.tau_m_ms).exp_m1() * params.tau_m_ms / params.c_m_pf;
        let (decay_ex, decay_in, p_ex, p_in) = match params.synapse {
            LifSynapse::CurrentExp {
                tau_syn_ex_ms,
                tau_syn_in_ms,
            } => (
                (-h / tau_syn_ex_ms).exp(),
                (-h / tau_syn_in_ms).exp(),
                current_propagator(h, params.tau_m_ms, tau_syn_ex_ms, params.c_m_pf),
                current_propagator(h, params.tau_m_ms, tau_syn_in_ms, params.c_m_pf),
            ),
            LifSynapse::CondExp {
                tau_syn_ex_ms,
                tau_syn_in_ms,
                ..
            } => (
                (-h / tau_syn_ex_ms).exp(),
                (-h / tau_syn_in_ms).exp(),
                0.0,
                0.0,
            ),
            LifSynapse::Delta => (0.0, 0.0, 0.0, 0.0),
        };
        Self {
            p_mm,
            p_mi,
            decay_ex,
            decay_in,
            p_ex,
            p_in,
            g_l_ns: params.c_m_pf / params.tau_m_ms,
            h_over_c: h / params.c_m_pf,
            ref_steps: params.refractory_steps(dt_ms),
        }
    }
}

/// State of a LIF population, structure of arrays (one entry per neuron).
#[derive(Clone, Debug, Default)]
pub struct LifState {
    /// Membrane potential (mV).
    pub v_mv: Vec<f64>,
    /// Excitatory synaptic variable: current (pA) or conductance (nS).
    pub syn_ex: Vec<f64>,
    /// Inhibitory synaptic variable: current (pA) or conductance (nS).
    pub syn_in: Vec<f64>,
    /// Refractory counter (whole steps, stored as f64 so that the update
    /// loop is all-f64 and vectorises): the neuron is clamped while it is
    /// > 1; a spike sets it to `refractory_steps + 1` (see [`step_block`]).
    pub ref_left: Vec<f64>,
    /// Constant bias current per neuron (pA).
    pub i_e_pa: Vec<f64>,
}

impl LifState {
    /// All neurons at `v0` (mV), no synaptic input, not refractory.
    pub fn new(n: usize, v0_mv: f64) -> Self {
        Self {
            v_mv: vec![v0_mv; n],
            syn_ex: vec![0.0; n],
            syn_in: vec![0.0; n],
            ref_left: vec![0.0; n],
            i_e_pa: vec![0.0; n],
        }
    }
}

/// Mutable views of one block of a LIF population for one step.
///
/// The synaptic events of the step have already been added to `syn_ex`,
/// `syn_in` (or, for delta synapses, to `v`).
pub struct LifBlock<'a> {
    /// Membrane potentials (mV).
    pub v: &'a mut [f64],
    /// Excitatory synaptic variable.
    pub syn_ex: &'a mut [f64],
    /// Inhibitory synaptic variable.
    pub syn_in: &'a mut [f64],
    /// Refractory counters.
    pub ref_left: &'a mut [f64],
    /// Bias currents (pA).
    pub i_e: &'a [f64],
    /// External current of this step (pA): step currents, noise.
    pub i_ext: &'a [f64],
}

/// Advance one block by one step; push the local indices of spiking neurons
/// (offset by `base`) onto `spikes`.
///
/// `CURRENT = false` skips the bias and external currents (all zero), which
/// saves two memory streams. The loops carry no data-dependent branch, so
/// they vectorise: every neuron's free trajectory is computed, and
/// [`threshold`] then applies refractoriness, threshold and reset
/// arithmetically. The refractory counter doubles as the spike mark: a
/// neuron that fires gets `ref_steps + 1`, is free again once the counter is
/// down to 1, and a second cheap pass collects the neurons holding the mark.
pub fn step_block<const CURRENT: bool>(
    params: &LifParams,
    prop: &LifPropagator,
    b: LifBlock<'_>,
    base: u32,
    spikes: &mut Vec<u32>,
) {
    let n = b.v.len();
    let (e_l, v_th, v_reset) = (params.e_l_mv, params.v_th_mv, params.v_reset_mv);
    let mark = f64::from(prop.ref_steps + 1);
    let v = &mut b.v[..n];
    let (syn_ex, syn_in, ref_left) = (&mut b.syn_ex[..n], &mut b.syn_in[..n], &mut b.ref_left[..n]);
    let (i_e, i_ext) = if CURRENT {
        (&b.i_e[..n], &b.i_ext[..n])
    } else {
        (&b.i_e[..0], &b.i_ext[..0])
    };
    let current = |k: usize| if CURRENT { i_e[k] + i_ext[k] } else { 0.0 };
    match params.synapse {
        LifSynapse::CurrentExp { .. } => {
            for k in 0..n {
                let (i_x, i_i) = (syn_ex[k], syn_in[k]);
                let y = prop.p_mm * (v[k] - e_l)
                    + prop.p_mi * current(k)
                    + prop.p_ex * i_x
                    + prop.p_in * i_i;
                (v[k], ref_left[k]) = threshold(e_l + y, ref_left[k], v_th, v_reset, mark);
                syn_ex[k] = i_x * prop.decay_ex;
                syn_in[k] = i_i * prop.decay_in;
            }
        }
        LifSynapse::CondExp {
            e_ex_mv, e_in_mv, ..
        } => {
            for k in 0..n {
                let (g_ex, g_in) = (syn_ex[k], syn_in[k]);
                // Exponential Euler with conductances frozen over the step.
                let g_tot = prop.g_l_ns + g_ex + g_in;
                let v_inf =
                    (prop.g_l_ns * e_l + g_ex * e_ex_mv + g_in * e_in_mv + current(k)) / g_tot;
                let decay = (-prop.h_over_c * g_tot).exp();
                let v_new = v_inf + (v[k] - v_inf) * decay;
                (v[k], ref_left[k]) = threshold(v_new, ref_left[k], v_th, v_reset, mark);
                syn_ex[k] = g_ex * prop.decay_ex;
                syn_in[k] = g_in * prop.decay_in;
            }
        }
        LifSynapse::Delta => {
            // NEST `iaf_psc_delta`: propagate, add the jumps arriving in
            // this step (buffered in `syn_ex`), then test the threshold; a
            // refractory neuron is clamped, so its jumps are discarded.
            for k in 0..n {
                let y = prop.p_mm * (v[k] - e_l) + prop.p_mi * current(k) + syn_ex[k];
                syn_ex[k] = 0.0;
                (v[k], ref_left[k]) = threshold(e_l + y, ref_left[k], v_th, v_reset, mark);
            }
        }
    }
    // The mark is the largest value a counter can hold: skip 16 neurons at
    // a time when none of them has it.
    for (c, chunk) in ref_left.chunks(16).enumerate() {
        if chunk.iter().fold(0.0_f64, |m, &r| m.max(r)) >= mark {
            for (k, &r) in chunk.iter().enumerate() {
                #[allow(clippy::float_cmp)] // counters hold small whole numbers exactly
                if r == mark {
                    spikes.push(base + (c * 16 + k) as u32);
                }
            }
        }
    }
}

/// Refractoriness, threshold and reset of one neuron.
///
/// `v_new` is the freely integrated membrane potential. A refractory neuron
/// (counter > 1) or one reaching `v_th` is set to `v_reset`; a neuron that
/// fires gets the counter `mark`, the others count down to 0. Written as
/// multiplications by exact 0/1 factors rather than selects: the result is
/// bit-identical for finite values, and the compiler cannot turn it into
/// masked loads and stores, which are slow on some x86 cores.
#[inline]
fn threshold(v_new: f64, ref_left: f64, v_th: f64, v_reset: f64, mark: f64) -> (f64, f64) {
    let free = ref_left <= 1.0;
    let fired = f64::from(u8::from(free && v_new >= v_th));
    let reset = f64::from(u8::from(!free || v_new >= v_th));
    let v = v_new * (1.0 - reset) + v_reset * reset;
    let counter = fired * mark + (1.0 - fired) * (ref_left - 1.0).max(0.0);
    (v, counter)
}
