//! Hodgkin–Huxley neurons with Traub & Miles (1991) sodium and potassium
//! channels and exponential conductance synapses: NEST's
//! `hh_cond_exp_traub`, the neuron of Brette et al. (2007) benchmark 3
//! (Brian2's `examples/COBAHH.py`).
//!
//! ```text
//! C_m dV/dt = -g_Na m^3 h (V - E_Na) - g_K n^4 (V - E_K) - g_L (V - E_L)
//!             - g_ex (V - E_ex) - g_in (V - E_in) + I_e + I_stim
//! dx/dt = alpha_x(V) (1 - x) - beta_x(V) x          (x = m, h, n; rates in 1/ms)
//! alpha_m = 0.32 (13 - u) / (exp((13 - u)/4) - 1)    beta_m = 0.28 (u - 40) / (exp((u - 40)/5) - 1)
//! alpha_h = 0.128 exp((17 - u)/18)                   beta_h = 4 / (1 + exp((40 - u)/5))
//! alpha_n = 0.032 (15 - u) / (exp((15 - u)/5) - 1)   beta_n = 0.5 exp((10 - u)/40)
//! u = V - V_T;  dg/dt = -g/tau_syn  (nS)
//! ```
//!
//! Integration: exponential Euler, as Brian2's `exponential_euler` (the
//! method of `COBAHH.py`), in `ceil(dt / max_substep_ms)` equal sub-steps:
//! each variable's equation is linear in that variable, so over a sub-step
//! `V` relaxes exactly towards its conductance-weighted equilibrium and each
//! gate towards `alpha/(alpha + beta)` with the other variables frozen at
//! the sub-step start; the conductances decay exactly. First order in the
//! sub-step (measured in `tests::exponential_euler_is_first_order`).
//!
//! Spikes: a neuron spikes in a step in which `V` ends above `v_th_mv`
//! (Brian2's `threshold='v > -20*mV'`), unless it is refractory: a spike
//! starts `round(t_ref/dt)` steps in which it cannot spike again (there is
//! no reset and no clamping; the action potential is the channels' work).
//! NEST's `hh_cond_exp_traub` detects a spike at the peak of a potential
//! above `V_T + 30` mV instead, some 0.1–0.3 ms later in the same action
//! potential. Input weights add to `g_ex`, `g_in` at the end of the step in
//! which they arrive. Neurons start at `V_m = E_L` with the gates at their
//! steady state there (NEST).

use crate::neuron::point::ParamSet;
use crate::validate::{finite, non_negative, positive};
use crate::Result;

/// Parameters of a `hh_cond_exp_traub` population (NEST's names and units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HhParams {
    /// Membrane capacitance `C_m` (pF).
    pub c_m_pf: f64,
    /// Sodium peak conductance `g_Na` (nS).
    pub g_na_ns: f64,
    /// Potassium peak conductance `g_K` (nS).
    pub g_k_ns: f64,
    /// Leak conductance `g_L` (nS).
    pub g_l_ns: f64,
    /// Sodium reversal potential `E_Na` (mV).
    pub e_na_mv: f64,
    /// Potassium reversal potential `E_K` (mV).
    pub e_k_mv: f64,
    /// Leak reversal potential `E_L` (mV).
    pub e_l_mv: f64,
    /// Voltage offset of the gating rates `V_T` (mV).
    pub v_t_mv: f64,
    /// Excitatory reversal potential `E_ex` (mV).
    pub e_ex_mv: f64,
    /// Inhibitory reversal potential `E_in` (mV).
    pub e_in_mv: f64,
    /// Excitatory synaptic time constant `tau_syn_ex` (ms).
    pub tau_syn_ex_ms: f64,
    /// Inhibitory synaptic time constant `tau_syn_in` (ms).
    pub tau_syn_in_ms: f64,
    /// Refractory period `t_ref` (ms): no second spike within it.
    pub t_ref_ms: f64,
    /// Spike detection threshold (mV).
    pub v_th_mv: f64,
    /// Constant input current `I_e` (pA).
    pub i_e_pa: f64,
    /// Largest exponential-Euler sub-step (ms).
    pub max_substep_ms: f64,
}

impl Default for HhParams {
    /// NEST 3.10's `hh_cond_exp_traub` defaults, spike threshold -20 mV
    /// (Brian2's COBAHH).
    fn default() -> Self {
        Self {
            c_m_pf: 200.0,
            g_na_ns: 20_000.0,
            g_k_ns: 6_000.0,
            g_l_ns: 10.0,
            e_na_mv: 50.0,
            e_k_mv: -90.0,
            e_l_mv: -60.0,
            v_t_mv: -63.0,
            e_ex_mv: 0.0,
            e_in_mv: -80.0,
            tau_syn_ex_ms: 5.0,
            tau_syn_in_ms: 10.0,
            t_ref_ms: 2.0,
            v_th_mv: -20.0,
            i_e_pa: 0.0,
            max_substep_ms: 0.1,
        }
    }
}

impl HhParams {
    /// Read every parameter by name from `set` (all must be present).
    pub fn from_set(set: &mut ParamSet<'_>) -> Result<Self> {
        Ok(Self {
            c_m_pf: set.get("c_m_pf")?,
            g_na_ns: set.get("g_na_ns")?,
            g_k_ns: set.get("g_k_ns")?,
            g_l_ns: set.get("g_l_ns")?,
            e_na_mv: set.get("e_na_mv")?,
            e_k_mv: set.get("e_k_mv")?,
            e_l_mv: set.get("e_l_mv")?,
            v_t_mv: set.get("v_t_mv")?,
            e_ex_mv: set.get("e_ex_mv")?,
            e_in_mv: set.get("e_in_mv")?,
            tau_syn_ex_ms: set.get("tau_syn_ex_ms")?,
            tau_syn_in_ms: set.get("tau_syn_in_ms")?,
            t_ref_ms: set.get("t_ref_ms")?,
            v_th_mv: set.get("v_th_mv")?,
            i_e_pa: set.get("i_e_pa")?,
            max_substep_ms: set.get("max_substep_ms")?,
        })
    }

    /// Validate the whole parameter set.
    pub fn validate(&self) -> Result<()> {
        positive("c_m_pf", self.c_m_pf)?;
        non_negative("g_na_ns", self.g_na_ns)?;
        non_negative("g_k_ns", self.g_k_ns)?;
        non_negative("g_l_ns", self.g_l_ns)?;
        for (name, v) in [
            ("e_na_mv", self.e_na_mv),
            ("e_k_mv", self.e_k_mv),
            ("e_l_mv", self.e_l_mv),
            ("v_t_mv", self.v_t_mv),
            ("e_ex_mv", self.e_ex_mv),
            ("e_in_mv", self.e_in_mv),
            ("v_th_mv", self.v_th_mv),
            ("i_e_pa", self.i_e_pa),
        ] {
            finite(name, v)?;
        }
        positive("tau_syn_ex_ms", self.tau_syn_ex_ms)?;
        positive("tau_syn_in_ms", self.tau_syn_in_ms)?;
        non_negative("t_ref_ms", self.t_ref_ms)?;
        positive("max_substep_ms", self.max_substep_ms)?;
        Ok(())
    }
}

/// `(e^x - 1) / x`, 1 at 0.
#[inline]
fn exprel(x: f64) -> f64 {
    if x.abs() < 1e-8 {
        1.0 + 0.5 * x
    } else {
        x.exp_m1() / x
    }
}

/// Traub–Miles rates `(alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n)` (1/ms) at `u = V - V_T`.
#[inline]
pub fn rates(u: f64) -> [f64; 6] {
    [
        1.28 / exprel((13.0 - u) / 4.0),
        1.4 / exprel((u - 40.0) / 5.0),
        0.128 * ((17.0 - u) / 18.0).exp(),
        4.0 / (1.0 + ((40.0 - u) / 5.0).exp()),
        0.16 / exprel((15.0 - u) / 5.0),
        0.5 * ((10.0 - u) / 40.0).exp(),
    ]
}

/// State of a `hh_cond_exp_traub` population, structure of arrays.
#[derive(Clone, Debug, Default)]
pub struct HhState {
    /// Membrane potential `V_m` (mV).
    pub v_mv: Vec<f64>,
    /// Sodium activation `m`.
    pub m: Vec<f64>,
    /// Sodium inactivation `h`.
    pub h: Vec<f64>,
    /// Potassium activation `n`.
    pub n: Vec<f64>,
    /// Excitatory conductance (nS).
    pub g_ex: Vec<f64>,
    /// Inhibitory conductance (nS).
    pub g_in: Vec<f64>,
    /// Refractory steps left.
    pub ref_left: Vec<f64>,
    /// Bias current `I_e` (pA).
    pub i_e_pa: Vec<f64>,
}

/// A `hh_cond_exp_traub` population.
#[derive(Clone, Debug)]
pub struct Hh {
    /// Parameters.
    pub params: HhParams,
    /// State.
    pub state: HhState,
    n_sub: u32,
    h: f64,
    decay_ex: f64,
    decay_in: f64,
    ref_steps: u32,
}

impl Hh {
    /// `n` neurons at `V_m = E_L`, gates at their steady state there.
    pub fn new(params: HhParams, n: usize, dt_ms: f64) -> Result<Self> {
        params.validate()?;
        let n_sub = (dt_ms / params.max_substep_ms - 1e-9).ceil().max(1.0) as u32;
        let h = dt_ms / f64::from(n_sub);
        let [am, bm, ah, bh, an, bn] = rates(params.e_l_mv - params.v_t_mv);
        Ok(Self {
            state: HhState {
                v_mv: vec![params.e_l_mv; n],
                m: vec![am / (am + bm); n],
                h: vec![ah / (ah + bh); n],
                n: vec![an / (an + bn); n],
                g_ex: vec![0.0; n],
                g_in: vec![0.0; n],
                ref_left: vec![0.0; n],
                i_e_pa: vec![params.i_e_pa; n],
            },
            n_sub,
            h,
            decay_ex: (-h / params.tau_syn_ex_ms).exp(),
            decay_in: (-h / params.tau_syn_in_ms).exp(),
            ref_steps: (params.t_ref_ms / dt_ms).round() as u32,
            params,
        })
    }

    /// Advance every neuron one step with external current `i_ext` (pA).
    pub fn step(&mut self, i_ext: &[f64], spikes: &mut Vec<u32>) {
        let p = &self.params;
        let s = &mut self.state;
        let hc = self.h / p.c_m_pf;
        for (k, &i_stim) in i_ext.iter().enumerate().take(s.v_mv.len()) {
            let i_in = s.i_e_pa[k] + i_stim;
            let (mut v, mut m, mut h, mut n) = (s.v_mv[k], s.m[k], s.h[k], s.n[k]);
            let (mut g_ex, mut g_in) = (s.g_ex[k], s.g_in[k]);
            for _ in 0..self.n_sub {
                let g_na = p.g_na_ns * m * m * m * h;
                let n2 = n * n;
                let g_k = p.g_k_ns * n2 * n2;
                let g_tot = p.g_l_ns + g_ex + g_in + g_na + g_k;
                let v_inf = (p.g_l_ns * p.e_l_mv
                    + g_ex * p.e_ex_mv
                    + g_in * p.e_in_mv
                    + g_na * p.e_na_mv
                    + g_k * p.e_k_mv
                    + i_in)
                    / g_tot;
                let [am, bm, ah, bh, an, bn] = rates(v - p.v_t_mv);
                let gate = |x: f64, a: f64, b: f64| {
                    let tot = a + b;
                    let x_inf = a / tot;
                    x_inf + (x - x_inf) * (-tot * self.h).exp()
                };
                v = v_inf + (v - v_inf) * (-g_tot * hc).exp();
                m = gate(m, am, bm);
                h = gate(h, ah, bh);
                n = gate(n, an, bn);
                g_ex *= self.decay_ex;
                g_in *= self.decay_in;
            }
            let mut r = s.ref_left[k];
            if r > 0.0 {
                r -= 1.0;
            }
            if r <= 0.0 && v > p.v_th_mv {
                r = f64::from(self.ref_steps);
                spikes.push(k as u32);
            }
            (s.v_mv[k], s.m[k], s.h[k], s.n[k]) = (v, m, h, n);
            (s.g_ex[k], s.g_in[k], s.ref_left[k]) = (g_ex, g_in, r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_membrane_meets_closed_form() {
        // Without channels the membrane is linear: V = E_L + I/g_L (1 - e^{-t g_L/C}),
        // which exponential Euler integrates exactly.
        let p = HhParams {
            g_na_ns: 0.0,
            g_k_ns: 0.0,
            i_e_pa: 100.0,
            v_th_mv: 1e3,
            ..HhParams::default()
        };
        let mut hh = Hh::new(p, 1, 0.1).unwrap();
        let mut spikes = Vec::new();
        for s in 1..=500 {
            hh.step(&[0.0], &mut spikes);
            let t = f64::from(s) * 0.1;
            let want = -60.0 + 100.0 / 10.0 * (1.0 - (-t * 10.0 / 200.0).exp());
            assert!((hh.state.v_mv[0] - want).abs() < 1e-10);
        }
    }

    #[test]
    fn cobahh_neurons_fire_without_input() {
        // With Brette et al. (2007)'s parameters there is no resting state:
        // the steady-state channel current at E_L is depolarising (~40 pA),
        // so a neuron without synaptic input fires by itself.
        let mut hh = Hh::new(HhParams::default(), 1, 0.1).unwrap();
        let mut spikes = Vec::new();
        for _ in 0..2000 {
            hh.step(&[0.0], &mut spikes);
        }
        assert!(!spikes.is_empty());
    }

    #[test]
    fn dc_drives_repetitive_spikes_with_refractoriness() {
        let p = HhParams {
            i_e_pa: 1000.0,
            ..HhParams::default()
        };
        let mut hh = Hh::new(p, 1, 0.1).unwrap();
        let mut spikes = Vec::new();
        let mut steps = Vec::new();
        for s in 0..5000u32 {
            spikes.clear();
            hh.step(&[0.0], &mut spikes);
            if !spikes.is_empty() {
                steps.push(s);
            }
        }
        assert!(steps.len() > 10, "{} spikes", steps.len());
        assert!(steps.windows(2).all(|w| w[1] - w[0] >= 20));
    }

    fn v_after(max_substep_ms: f64) -> f64 {
        let p = HhParams {
            i_e_pa: 1000.0,
            max_substep_ms,
            ..HhParams::default()
        };
        let mut hh = Hh::new(p, 1, 0.1).unwrap();
        let mut spikes = Vec::new();
        for _ in 0..10 {
            hh.step(&[0.0], &mut spikes); // 1 ms, before the first spike
        }
        assert!(spikes.is_empty());
        hh.state.v_mv[0]
    }

    #[test]
    fn exponential_euler_is_first_order() {
        let reference = v_after(0.1 / 2048.0);
        let hs = [0.1 / 2.0, 0.1 / 4.0, 0.1 / 8.0, 0.1 / 16.0];
        let errs: Vec<f64> = hs.iter().map(|&h| (v_after(h) - reference).abs()).collect();
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
        assert!((slope - 1.0).abs() < 0.25, "order {slope}, errors {errs:?}");
    }
}
