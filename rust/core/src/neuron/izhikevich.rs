//! Izhikevich (2003) neurons.
//!
//! ```text
//! dv/dt = 0.04 v^2 + 5 v + 140 - u + I      (v in mV, t in ms)
//! du/dt = a (b v - u)
//! if v >= 30 mV: v <- c, u <- u + d
//! ```
//!
//! Integration follows the paper's MATLAB listing (Izhikevich 2003, IEEE
//! Trans Neural Netw 14:1569, doi:10.1109/TNN.2003.820440), generalised to
//! any `dt`: `v` advances in `ceil(dt / 0.5 ms)` equal forward-Euler
//! sub-steps (two 0.5 ms half-steps at the paper's dt = 1 ms), then `u`
//! advances one Euler step of `dt` with the new `v`; a neuron with
//! `v >= 30 mV` after the step spikes and is reset. As in the listing, the
//! sub-steps of a step that crosses the peak run to the end, so `v` may
//! overshoot 30 mV before the reset and `u` is updated with that value
//! (holding `v` at the peak instead changes the network's mean rate by ~7 %).
//!
//! Input current `I` (in the paper's dimensionless current units, written pA
//! here) is the sum of bias, external and synaptic current. Synaptic input is
//! either an exponentially decaying current (`tau_syn_ms > 0`) or, with
//! `tau_syn_ms = 0`, the paper's scheme: the weights arriving in a step form
//! that step's current and are gone the next step.

use crate::validate::{finite, non_negative};
use crate::{Error, Result};

/// Membrane potential at which a spike is registered (mV).
pub const V_PEAK_MV: f64 = 30.0;

/// Largest Euler sub-step for `v` (ms), the paper's half-step.
pub const MAX_SUBSTEP_MS: f64 = 0.5;

/// The named parameter sets of Izhikevich (2003), Fig. 2: `(a, b, c, d)`.
pub const PRESETS: [(&str, [f64; 4]); 7] = [
    ("RS", [0.02, 0.2, -65.0, 8.0]),
    ("IB", [0.02, 0.2, -55.0, 4.0]),
    ("CH", [0.02, 0.2, -50.0, 2.0]),
    ("FS", [0.1, 0.2, -65.0, 2.0]),
    ("LTS", [0.02, 0.25, -65.0, 2.0]),
    ("TC", [0.02, 0.25, -65.0, 0.05]),
    ("RZ", [0.1, 0.26, -65.0, 2.0]),
];

/// Look up a preset by name (case-insensitive).
pub fn preset(name: &str) -> Result<[f64; 4]> {
    PRESETS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, p)| *p)
        .ok_or_else(|| {
            Error::invalid(
                "preset",
                name,
                "unknown Izhikevich preset (RS, IB, CH, FS, LTS, TC, RZ)",
            )
        })
}

/// Per-population settings of an Izhikevich population.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IzhParams {
    /// Synaptic current decay time constant (ms); 0 = current lasts one step.
    pub tau_syn_ms: f64,
}

impl IzhParams {
    /// Validate.
    pub fn validate(&self) -> Result<()> {
        non_negative("tau_syn_ms", self.tau_syn_ms)?;
        Ok(())
    }
}

/// State and per-neuron parameters of an Izhikevich population.
#[derive(Clone, Debug, Default)]
pub struct IzhState {
    /// Membrane potential (mV).
    pub v_mv: Vec<f64>,
    /// Recovery variable.
    pub u: Vec<f64>,
    /// Synaptic current (pA).
    pub i_syn: Vec<f64>,
    /// Bias current (pA).
    pub i_e_pa: Vec<f64>,
    /// Parameter a per neuron.
    pub a: Vec<f64>,
    /// Parameter b per neuron.
    pub b: Vec<f64>,
    /// Parameter c per neuron (mV).
    pub c: Vec<f64>,
    /// Parameter d per neuron.
    pub d: Vec<f64>,
}

impl IzhState {
    /// Neurons with per-neuron `a b c d`, starting at `v = c`... as the
    /// paper's listing: `v = -65`, `u = b v`.
    pub fn new(a: Vec<f64>, b: Vec<f64>, c: Vec<f64>, d: Vec<f64>) -> Result<Self> {
        let n = a.len();
        for (name, arr) in [("b", &b), ("c", &c), ("d", &d)] {
            if arr.len() != n {
                return Err(Error::ShapeMismatch {
                    name: name.into(),
                    expected: format!("({n},)"),
                    got: format!("({},)", arr.len()),
                });
            }
        }
        for (name, arr) in [("a", &a), ("b", &b), ("c", &c), ("d", &d)] {
            for &x in arr {
                finite(name, x)?;
            }
        }
        let v = vec![-65.0; n];
        let u = b.iter().zip(&v).map(|(bi, vi)| bi * vi).collect();
        Ok(Self {
            v_mv: v,
            u,
            i_syn: vec![0.0; n],
            i_e_pa: vec![0.0; n],
            a,
            b,
            c,
            d,
        })
    }
}

/// Mutable views of one block of an Izhikevich population for one step.
pub struct IzhBlock<'a> {
    /// Membrane potentials (mV).
    pub v: &'a mut [f64],
    /// Recovery variables.
    pub u: &'a mut [f64],
    /// Synaptic currents (pA).
    pub i_syn: &'a mut [f64],
    /// Bias currents (pA).
    pub i_e: &'a [f64],
    /// Parameter a.
    pub a: &'a [f64],
    /// Parameter b.
    pub b: &'a [f64],
    /// Parameter c.
    pub c: &'a [f64],
    /// Parameter d.
    pub d: &'a [f64],
    /// External current of this step (pA).
    pub i_ext: &'a [f64],
}

/// Advance one block by one step of `dt_ms`.
pub fn step_block(
    params: &IzhParams,
    dt_ms: f64,
    blk: IzhBlock<'_>,
    base: u32,
    spikes: &mut Vec<u32>,
) {
    let n_sub = (dt_ms / MAX_SUBSTEP_MS - 1e-9).ceil().max(1.0) as u32;
    let h = dt_ms / f64::from(n_sub);
    let decay = if params.tau_syn_ms > 0.0 {
        (-dt_ms / params.tau_syn_ms).exp()
    } else {
        0.0
    };
    for k in 0..blk.v.len() {
        // The step's synaptic events are already added to i_syn.
        let i_syn = blk.i_syn[k];
        let current = i_syn + blk.i_e[k] + blk.i_ext[k];
        let mut v = blk.v[k];
        let u = blk.u[k];
        for _ in 0..n_sub {
            v += h * (0.04 * v * v + 5.0 * v + 140.0 - u + current);
        }
        let mut u = u + dt_ms * blk.a[k] * (blk.b[k] * v - u);
        if v >= V_PEAK_MV {
            v = blk.c[k];
            u += blk.d[k];
            spikes.push(base + k as u32);
        }
        blk.v[k] = v;
        blk.u[k] = u;
        blk.i_syn[k] = i_syn * decay;
    }
}
