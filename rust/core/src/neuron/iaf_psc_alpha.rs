//! NEST `iaf_psc_alpha`: leaky integrate-and-fire neurons with alpha-shaped
//! postsynaptic currents, integrated exactly.
//!
//! ```text
//! C_m dV/dt = -C_m/tau_m (V - E_L) + I_ex + I_in + I_e + I_stim
//! I_x(t) = sum_k w_k e/tau_x (t - t_k) exp(-(t - t_k)/tau_x)     (x = ex, in)
//! ```
//!
//! A spike of weight `w` (pA) gives a current that peaks at `w` after
//! `tau_x`. Each alpha current is the output of the linear system
//! `dI/dt = dI_x - I/tau_x`, `d(dI_x)/dt = -dI_x/tau_x`, an arriving spike
//! adding `e/tau_x w` to `dI_x`; with the membrane the system is linear and
//! time-invariant, so one step is the product with its propagator matrix
//! (Rotter & Diesmann 1999, Biol Cybern 81:381, doi:10.1007/s004220050570),
//! exact up to rounding. The update order is NEST's: propagate `V` from the
//! state at the step start (unless refractory), propagate the currents, add
//! the spikes of the step to `dI_x`, test the threshold; a neuron reaching
//! `V_th` is reset to `V_reset` and held there for `round(t_ref/dt)` steps,
//! during which its membrane ignores all input (the currents keep evolving).
//!
//! Differences from NEST, by design of the engine: a current of the engine's
//! inputs (step currents, noise) acts in the step it is given for, NEST's
//! current generators in the step after; `V_min` (NEST's optional lower
//! bound, `-inf` by default) is not offered.

use crate::neuron::point::ParamSet;
use crate::validate::{finite, non_negative, positive};
use crate::{Error, Result};

/// Parameters of an `iaf_psc_alpha` population (NEST's names and units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IafPscAlphaParams {
    /// Membrane capacitance `C_m` (pF).
    pub c_m_pf: f64,
    /// Membrane time constant `tau_m` (ms).
    pub tau_m_ms: f64,
    /// Rise time of the excitatory alpha current `tau_syn_ex` (ms).
    pub tau_syn_ex_ms: f64,
    /// Rise time of the inhibitory alpha current `tau_syn_in` (ms).
    pub tau_syn_in_ms: f64,
    /// Absolute refractory period `t_ref` (ms).
    pub t_ref_ms: f64,
    /// Resting potential `E_L` (mV).
    pub e_l_mv: f64,
    /// Spike threshold `V_th` (mV).
    pub v_th_mv: f64,
    /// Reset potential `V_reset` (mV).
    pub v_reset_mv: f64,
    /// Constant input current `I_e` (pA), the initial bias of every neuron.
    pub i_e_pa: f64,
}

impl Default for IafPscAlphaParams {
    /// NEST 3.10's defaults.
    fn default() -> Self {
        Self {
            c_m_pf: 250.0,
            tau_m_ms: 10.0,
            tau_syn_ex_ms: 2.0,
            tau_syn_in_ms: 2.0,
            t_ref_ms: 2.0,
            e_l_mv: -70.0,
            v_th_mv: -55.0,
            v_reset_mv: -70.0,
            i_e_pa: 0.0,
        }
    }
}

impl IafPscAlphaParams {
    /// Read every parameter by name from `set` (all must be present).
    pub fn from_set(set: &mut ParamSet<'_>) -> Result<Self> {
        Ok(Self {
            c_m_pf: set.get("c_m_pf")?,
            tau_m_ms: set.get("tau_m_ms")?,
            tau_syn_ex_ms: set.get("tau_syn_ex_ms")?,
            tau_syn_in_ms: set.get("tau_syn_in_ms")?,
            t_ref_ms: set.get("t_ref_ms")?,
            e_l_mv: set.get("e_l_mv")?,
            v_th_mv: set.get("v_th_mv")?,
            v_reset_mv: set.get("v_reset_mv")?,
            i_e_pa: set.get("i_e_pa")?,
        })
    }

    /// Validate the whole parameter set.
    pub fn validate(&self) -> Result<()> {
        positive("c_m_pf", self.c_m_pf)?;
        positive("tau_m_ms", self.tau_m_ms)?;
        positive("tau_syn_ex_ms", self.tau_syn_ex_ms)?;
        positive("tau_syn_in_ms", self.tau_syn_in_ms)?;
        non_negative("t_ref_ms", self.t_ref_ms)?;
        finite("e_l_mv", self.e_l_mv)?;
        finite("v_th_mv", self.v_th_mv)?;
        finite("v_reset_mv", self.v_reset_mv)?;
        finite("i_e_pa", self.i_e_pa)?;
        if self.v_reset_mv >= self.v_th_mv {
            return Err(Error::invalid(
                "v_reset_mv",
                self.v_reset_mv,
                format!("must be below v_th_mv = {}", self.v_th_mv),
            ));
        }
        Ok(())
    }
}

/// `(1 - e^{-x}(1 + x)) / x^2`, accurate for every `x` (a series near 0).
fn alpha_integral(x: f64) -> f64 {
    if x.abs() < 0.05 {
        // sum_k (-1)^k (k + 1) x^k / (k + 2)!, truncated after x^7 (error < 1e-14).
        let mut term = 0.5; // k = 0: 1 / 2!
        let mut sum = term;
        for k in 1..8 {
            let kf = f64::from(k);
            // term_k / term_{k-1} = -x (k + 1) / (k (k + 2))
            term *= -x * (kf + 1.0) / (kf * (kf + 2.0));
            sum += term;
        }
        sum
    } else {
        (-(-x).exp_m1() - x * (-x).exp()) / (x * x)
    }
}

/// Propagator entries of one alpha-current channel over a step `h`.
#[derive(Clone, Copy, Debug)]
pub struct AlphaChannel {
    /// `dI -> dI`: `e^{-h/tau_s}`.
    pub p11: f64,
    /// `dI -> I`: `h e^{-h/tau_s}`.
    pub p21: f64,
    /// `I -> I`: `e^{-h/tau_s}`.
    pub p22: f64,
    /// `dI -> V` (mV per pA/ms): `(1/C) e^{-h/tau_m} h^2 f((1/tau_s - 1/tau_m) h)`,
    /// `f(x) = (1 - e^{-x}(1+x))/x^2`.
    pub p31: f64,
    /// `I -> V` (mV per pA).
    pub p32: f64,
    /// Jump of `dI` per pA of weight: `e / tau_s` (1/ms).
    pub psc_initial: f64,
}

impl AlphaChannel {
    /// Entries for rise time `tau_s`, membrane `tau_m`, `c_m`, step `h` (ms).
    pub fn new(h: f64, tau_m: f64, tau_s: f64, c_m: f64) -> Self {
        let decay = (-h / tau_s).exp();
        let delta = 1.0 / tau_s - 1.0 / tau_m;
        // V(h) from I(t) = t e^{-t/tau_s}: (1/C) int_0^h e^{-(h-t)/tau_m} t e^{-t/tau_s} dt.
        let p31 = (-h / tau_m).exp() * h * h * alpha_integral(delta * h) / c_m;
        Self {
            p11: decay,
            p21: h * decay,
            p22: decay,
            p31,
            p32: super::lif::current_propagator(h, tau_m, tau_s, c_m),
            psc_initial: std::f64::consts::E / tau_s,
        }
    }
}

/// Precomputed per-step constants of an `iaf_psc_alpha` population.
#[derive(Clone, Copy, Debug)]
pub struct IafPscAlphaPropagator {
    /// `e^{-h/tau_m} - 1`.
    pub expm1_tau_m: f64,
    /// Voltage change per pA of constant current over a step (mV/pA).
    pub p30: f64,
    /// Excitatory channel.
    pub ex: AlphaChannel,
    /// Inhibitory channel.
    pub inh: AlphaChannel,
    /// Refractory steps.
    pub ref_steps: u32,
}

impl IafPscAlphaPropagator {
    /// Constants of `p` for step `h` (ms); validate `p` first.
    pub fn new(p: &IafPscAlphaParams, h: f64) -> Self {
        Self {
            expm1_tau_m: (-h / p.tau_m_ms).exp_m1(),
            p30: -(-h / p.tau_m_ms).exp_m1() * p.tau_m_ms / p.c_m_pf,
            ex: AlphaChannel::new(h, p.tau_m_ms, p.tau_syn_ex_ms, p.c_m_pf),
            inh: AlphaChannel::new(h, p.tau_m_ms, p.tau_syn_in_ms, p.c_m_pf),
            ref_steps: (p.t_ref_ms / h).round() as u32,
        }
    }
}

/// State of an `iaf_psc_alpha` population, structure of arrays.
#[derive(Clone, Debug, Default)]
pub struct IafPscAlphaState {
    /// Membrane potential `V_m` (mV).
    pub v_mv: Vec<f64>,
    /// Excitatory synaptic current `I_syn_ex` (pA).
    pub i_ex: Vec<f64>,
    /// Its derivative variable `dI_syn_ex` (pA/ms).
    pub di_ex: Vec<f64>,
    /// Inhibitory synaptic current `I_syn_in` (pA, <= 0).
    pub i_in: Vec<f64>,
    /// Its derivative variable (pA/ms).
    pub di_in: Vec<f64>,
    /// Excitatory weights arrived at the end of the last step (pA).
    pub arrived_ex: Vec<f64>,
    /// Inhibitory weights arrived at the end of the last step (pA).
    pub arrived_in: Vec<f64>,
    /// Refractory steps left.
    pub ref_left: Vec<f64>,
    /// Bias current `I_e` per neuron (pA).
    pub i_e_pa: Vec<f64>,
}

/// An `iaf_psc_alpha` population: parameters, propagator, state.
#[derive(Clone, Debug)]
pub struct IafPscAlpha {
    /// Parameters.
    pub params: IafPscAlphaParams,
    /// Propagator for the network's step.
    pub prop: IafPscAlphaPropagator,
    /// State.
    pub state: IafPscAlphaState,
}

impl IafPscAlpha {
    /// `n` neurons at rest (`V_m = E_L`, as NEST), for step `dt_ms`.
    pub fn new(params: IafPscAlphaParams, n: usize, dt_ms: f64) -> Result<Self> {
        params.validate()?;
        let z = vec![0.0; n];
        Ok(Self {
            prop: IafPscAlphaPropagator::new(&params, dt_ms),
            state: IafPscAlphaState {
                v_mv: vec![params.e_l_mv; n],
                i_ex: z.clone(),
                di_ex: z.clone(),
                i_in: z.clone(),
                di_in: z.clone(),
                arrived_ex: z.clone(),
                arrived_in: z.clone(),
                ref_left: z,
                i_e_pa: vec![params.i_e_pa; n],
            },
            params,
        })
    }

    /// Advance every neuron one step with external current `i_ext` (pA);
    /// push the indices of the neurons that fire onto `spikes`.
    pub fn step(&mut self, i_ext: &[f64], spikes: &mut Vec<u32>) {
        let (p, pr, s) = (&self.params, &self.prop, &mut self.state);
        let (ex, inh) = (&pr.ex, &pr.inh);
        let theta = p.v_th_mv - p.e_l_mv;
        let v_reset = p.v_reset_mv - p.e_l_mv;
        for (k, &i_stim) in i_ext.iter().enumerate().take(s.v_mv.len()) {
            // The spikes that arrived at the end of the last step (NEST adds
            // them to dI after propagating that step; the same state).
            s.di_ex[k] += ex.psc_initial * s.arrived_ex[k];
            s.di_in[k] += inh.psc_initial * s.arrived_in[k];
            s.arrived_ex[k] = 0.0;
            s.arrived_in[k] = 0.0;
            let mut y3 = s.v_mv[k] - p.e_l_mv;
            if s.ref_left[k] <= 0.0 {
                y3 = pr.p30 * (s.i_e_pa[k] + i_stim)
                    + ex.p31 * s.di_ex[k]
                    + ex.p32 * s.i_ex[k]
                    + inh.p31 * s.di_in[k]
                    + inh.p32 * s.i_in[k]
                    + pr.expm1_tau_m * y3
                    + y3;
            } else {
                s.ref_left[k] -= 1.0;
            }
            s.i_ex[k] = ex.p21 * s.di_ex[k] + ex.p22 * s.i_ex[k];
            s.di_ex[k] *= ex.p11;
            s.i_in[k] = inh.p21 * s.di_in[k] + inh.p22 * s.i_in[k];
            s.di_in[k] *= inh.p11;
            if y3 >= theta {
                s.ref_left[k] = f64::from(pr.ref_steps);
                y3 = v_reset;
                spikes.push(k as u32);
            }
            s.v_mv[k] = p.e_l_mv + y3;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_integral_series_meets_closed_form() {
        for x in [
            -0.2_f64, -0.051, -0.049, -1e-3, 1e-9, 1e-3, 0.049, 0.051, 0.2, 3.0,
        ] {
            let closed = (-(-x).exp_m1() - x * (-x).exp()) / (x * x);
            let got = alpha_integral(x);
            let tol = if x.abs() < 1e-3 { 1e-6 } else { 1e-12 };
            assert!((got - closed).abs() < tol, "x={x}: {got} vs {closed}");
        }
        assert!((alpha_integral(0.0) - 0.5).abs() < 1e-15);
    }

    /// Closed form of one alpha PSP, `tau_s != tau_m`, from rest.
    fn psp(t: f64, w: f64, tau_m: f64, tau_s: f64, c_m: f64) -> f64 {
        // I(t) = w e/tau_s t e^{-t/tau_s}; V(t) = (1/C) int_0^t e^{-(t-u)/tau_m} I(u) du.
        let a = 1.0 / tau_s - 1.0 / tau_m;
        let integral = (1.0 - (-a * t).exp() * (1.0 + a * t)) / (a * a);
        w * std::f64::consts::E / tau_s * (-t / tau_m).exp() * integral / c_m
    }

    #[test]
    fn single_psp_matches_closed_form() {
        let p = IafPscAlphaParams {
            v_th_mv: 1e3,
            ..IafPscAlphaParams::default()
        };
        let h = 0.1;
        let mut neuron = IafPscAlpha::new(p, 1, h).unwrap();
        neuron.state.arrived_ex[0] = 100.0;
        let mut spikes = Vec::new();
        for step in 1..=500 {
            neuron.step(&[0.0], &mut spikes);
            let want = psp(f64::from(step) * h, 100.0, 10.0, 2.0, 250.0);
            let got = neuron.state.v_mv[0] - p.e_l_mv;
            assert!((got - want).abs() < 1e-12, "step {step}: {got} vs {want}");
        }
        // and the current peaks at w after tau_s
        assert!(spikes.is_empty());
    }

    #[test]
    fn dc_charging_and_firing_period() {
        // V(t) = E_L + R I (1 - e^{-t/tau_m}); period t_ref + tau_m ln(RI/(RI - theta)).
        let p = IafPscAlphaParams {
            i_e_pa: 500.0,
            ..IafPscAlphaParams::default()
        };
        let h = 0.1;
        let mut neuron = IafPscAlpha::new(p, 1, h).unwrap();
        let mut spikes = Vec::new();
        let mut times = Vec::new();
        for step in 0..2000u32 {
            spikes.clear();
            neuron.step(&[0.0], &mut spikes);
            if !spikes.is_empty() {
                times.push(f64::from(step) * h);
            }
            if times.is_empty() {
                let t = f64::from(step + 1) * h;
                let want = p.e_l_mv + 500.0 * 10.0 / 250.0 * (1.0 - (-t / 10.0).exp());
                assert!((neuron.state.v_mv[0] - want).abs() < 1e-12);
            }
        }
        let ri = 500.0 * 10.0 / 250.0;
        let free = 10.0 * (ri / (ri - 15.0_f64)).ln();
        // The crossing is detected at the end of the step it happens in.
        assert!(
            (times[0] + h - free).abs() < h + 1e-12,
            "{} vs {free}",
            times[0]
        );
        let period = times[1] - times[0];
        assert!((period - (2.0 + free)).abs() < h + 1e-9, "{period}");
    }
}
