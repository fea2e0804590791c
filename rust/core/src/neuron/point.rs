//! The NEST point-neuron models (`iaf_psc_alpha`, AdEx, `hh_cond_exp_traub`) behind one interface, so that the engine
//! registers them with one population kind ([`PointNeuron`]) and builds
//! them from `(name, value)` parameter pairs ([`PointNeuron::build`]).

use crate::neuron::aeif::{Aeif, AeifParams};
use crate::neuron::hh::{Hh, HhParams};
use crate::neuron::iaf_psc_alpha::{IafPscAlpha, IafPscAlphaParams};
use crate::{Error, Result};

/// Model names [`PointNeuron::build`] takes (NEST's).
pub const MODELS: [&str; 4] = [
    "iaf_psc_alpha",
    "aeif_cond_exp",
    "aeif_psc_exp",
    "hh_cond_exp_traub",
];

/// Named parameter values, each to be read exactly once.
pub struct ParamSet<'a> {
    pairs: &'a [(String, f64)],
    used: Vec<bool>,
}

impl<'a> ParamSet<'a> {
    /// The set of `pairs`.
    pub fn new(pairs: &'a [(String, f64)]) -> Self {
        Self {
            pairs,
            used: vec![false; pairs.len()],
        }
    }

    /// The value of `name`; an error names it when it is missing.
    pub fn get(&mut self, name: &str) -> Result<f64> {
        match self.pairs.iter().position(|(n, _)| n == name) {
            Some(k) => {
                self.used[k] = true;
                Ok(self.pairs[k].1)
            }
            None => Err(Error::invalid(name, "missing", "parameter required")),
        }
    }

    /// Refuse names that were not read, naming the first.
    pub fn finish(self, model: &str) -> Result<()> {
        match self.used.iter().position(|u| !u) {
            Some(k) => Err(Error::invalid(
                &self.pairs[k].0,
                self.pairs[k].1,
                format!("unknown parameter of {model}"),
            )),
            None => Ok(()),
        }
    }
}

/// A population of one of the NEST point-neuron models.
#[derive(Clone, Debug)]
pub enum PointNeuron {
    /// `iaf_psc_alpha`.
    IafPscAlpha(IafPscAlpha),
    /// `aeif_cond_exp` or `aeif_psc_exp`.
    Aeif(Aeif),
    /// `hh_cond_exp_traub`.
    Hh(Hh),
}

impl PointNeuron {
    /// `n` neurons of `model` (one of [`MODELS`]) with parameters `pairs`
    /// (every parameter of the model, none other), for step `dt_ms`.
    pub fn build(model: &str, n: usize, pairs: &[(String, f64)], dt_ms: f64) -> Result<Self> {
        let mut set = ParamSet::new(pairs);
        let out = match model {
            "iaf_psc_alpha" => Self::IafPscAlpha(IafPscAlpha::new(
                IafPscAlphaParams::from_set(&mut set)?,
                n,
                dt_ms,
            )?),
            "aeif_cond_exp" | "aeif_psc_exp" => {
                let cond = model == "aeif_cond_exp";
                Self::Aeif(Aeif::new(AeifParams::from_set(&mut set, cond)?, n, dt_ms)?)
            }
            "hh_cond_exp_traub" => Self::Hh(Hh::new(HhParams::from_set(&mut set)?, n, dt_ms)?),
            _ => {
                return Err(Error::invalid(
                    "model",
                    model,
                    format!("unknown neuron model (known: {})", MODELS.join(", ")),
                ))
            }
        };
        set.finish(model)?;
        Ok(out)
    }

    /// NEST's name of the model.
    pub fn model_name(&self) -> &'static str {
        match self {
            Self::IafPscAlpha(_) => "iaf_psc_alpha",
            Self::Aeif(a) if a.params.conductance => "aeif_cond_exp",
            Self::Aeif(_) => "aeif_psc_exp",
            Self::Hh(_) => "hh_cond_exp_traub",
        }
    }

    /// Whether synaptic weights are conductances (nS, >= 0 on both receptors).
    pub fn conductance(&self) -> bool {
        match self {
            Self::IafPscAlpha(_) => false,
            Self::Aeif(a) => a.params.conductance,
            Self::Hh(_) => true,
        }
    }

    /// The variable that arriving weights add to (excitatory or inhibitory).
    pub fn input_mut(&mut self, excitatory: bool) -> &mut [f64] {
        match (self, excitatory) {
            (Self::IafPscAlpha(m), true) => &mut m.state.arrived_ex,
            (Self::IafPscAlpha(m), false) => &mut m.state.arrived_in,
            (Self::Aeif(m), true) => &mut m.state.syn_ex,
            (Self::Aeif(m), false) => &mut m.state.syn_in,
            (Self::Hh(m), true) => &mut m.state.g_ex,
            (Self::Hh(m), false) => &mut m.state.g_in,
        }
    }

    /// The state variable of engine name `name` (`v`, `syn_ex`, `syn_in`, `w`, `m`, `h`, `n`).
    pub fn var_mut(&mut self, name: &str) -> Option<&mut Vec<f64>> {
        match (self, name) {
            (Self::IafPscAlpha(m), "v") => Some(&mut m.state.v_mv),
            (Self::IafPscAlpha(m), "syn_ex") => Some(&mut m.state.i_ex),
            (Self::IafPscAlpha(m), "syn_in") => Some(&mut m.state.i_in),
            (Self::Aeif(m), "v") => Some(&mut m.state.v_mv),
            (Self::Aeif(m), "w") => Some(&mut m.state.w_pa),
            (Self::Aeif(m), "syn_ex") => Some(&mut m.state.syn_ex),
            (Self::Aeif(m), "syn_in") => Some(&mut m.state.syn_in),
            (Self::Hh(m), "v") => Some(&mut m.state.v_mv),
            (Self::Hh(m), "m") => Some(&mut m.state.m),
            (Self::Hh(m), "h") => Some(&mut m.state.h),
            (Self::Hh(m), "n") => Some(&mut m.state.n),
            (Self::Hh(m), "syn_ex") => Some(&mut m.state.g_ex),
            (Self::Hh(m), "syn_in") => Some(&mut m.state.g_in),
            _ => None,
        }
    }

    /// The state variable of engine name `name`, read-only.
    pub fn var(&self, name: &str) -> Option<&[f64]> {
        match (self, name) {
            (Self::IafPscAlpha(m), "v") => Some(&m.state.v_mv),
            (Self::IafPscAlpha(m), "syn_ex") => Some(&m.state.i_ex),
            (Self::IafPscAlpha(m), "syn_in") => Some(&m.state.i_in),
            (Self::Aeif(m), "v") => Some(&m.state.v_mv),
            (Self::Aeif(m), "w") => Some(&m.state.w_pa),
            (Self::Aeif(m), "syn_ex") => Some(&m.state.syn_ex),
            (Self::Aeif(m), "syn_in") => Some(&m.state.syn_in),
            (Self::Hh(m), "v") => Some(&m.state.v_mv),
            (Self::Hh(m), "m") => Some(&m.state.m),
            (Self::Hh(m), "h") => Some(&m.state.h),
            (Self::Hh(m), "n") => Some(&m.state.n),
            (Self::Hh(m), "syn_ex") => Some(&m.state.g_ex),
            (Self::Hh(m), "syn_in") => Some(&m.state.g_in),
            _ => None,
        }
    }

    /// Every state variable an episode reset restores.
    pub fn reset_vars(&mut self) -> Vec<&mut Vec<f64>> {
        match self {
            Self::IafPscAlpha(m) => {
                let s = &mut m.state;
                vec![
                    &mut s.v_mv,
                    &mut s.i_ex,
                    &mut s.di_ex,
                    &mut s.i_in,
                    &mut s.di_in,
                    &mut s.arrived_ex,
                    &mut s.arrived_in,
                    &mut s.ref_left,
                ]
            }
            Self::Aeif(m) => {
                let s = &mut m.state;
                vec![
                    &mut s.v_mv,
                    &mut s.w_pa,
                    &mut s.syn_ex,
                    &mut s.syn_in,
                    &mut s.ref_left,
                ]
            }
            Self::Hh(m) => {
                let s = &mut m.state;
                vec![
                    &mut s.v_mv,
                    &mut s.m,
                    &mut s.h,
                    &mut s.n,
                    &mut s.g_ex,
                    &mut s.g_in,
                    &mut s.ref_left,
                ]
            }
        }
    }

    /// The bias currents `I_e` (pA).
    pub fn bias_mut(&mut self) -> &mut Vec<f64> {
        match self {
            Self::IafPscAlpha(m) => &mut m.state.i_e_pa,
            Self::Aeif(m) => &mut m.state.i_e_pa,
            Self::Hh(m) => &mut m.state.i_e_pa,
        }
    }

    /// Advance one step with external currents `i_ext` (pA, one per
    /// neuron); push the indices of neurons that fire onto `spikes`.
    pub fn step(&mut self, i_ext: &[f64], spikes: &mut Vec<u32>) {
        match self {
            Self::IafPscAlpha(m) => m.step(i_ext, spikes),
            Self::Aeif(m) => m.step(i_ext, spikes),
            Self::Hh(m) => m.step(i_ext, spikes),
        }
    }
}
