//! How a network reads an observation and picks an action: a rate encoder
//! into constant input currents, and a spike-count decoder over output
//! populations.

use crate::engine::{Network, Var};
use crate::{Error, Result};

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
    /// Check the encoder against `net`: 1 or 2 neurons per feature, one
    /// scale per gain, and an input population of `features x
    /// neurons_per_feature` neurons.
    pub(crate) fn check(&self, net: &Network) -> Result<()> {
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

/// The action decoded from the output populations `outputs` (one per
/// action): the one with the most spikes since `last` (updated); ties go to
/// the higher summed membrane potential, then to the lower index.
pub(crate) fn decide(net: &Network, outputs: &[usize], last: &mut [u64]) -> Result<usize> {
    // Spikes of output k in this window: count(k) - last[k]; no allocation
    // per window (this runs every environment step).
    let pops = net.populations();
    let count = |k: usize, last: &[u64]| pops[outputs[k]].spike_count - last[k];
    let top = (0..outputs.len())
        .map(|k| count(k, last))
        .max()
        .unwrap_or(0);
    let mut best: Option<(usize, f64)> = None;
    for (k, &pop) in outputs.iter().enumerate() {
        if count(k, last) != top {
            continue;
        }
        let v: f64 = pops[pop].state(Var::V)?.iter().sum();
        if best.is_none_or(|(_, bv)| v > bv) {
            best = Some((k, v));
        }
    }
    for (k, &pop) in outputs.iter().enumerate() {
        last[k] = pops[pop].spike_count;
    }
    Ok(best.map_or(0, |(k, _)| k))
}
