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
///
/// With `differences`, the features of an observation `o_t` of `n` values
/// are `2 n`: `o_t` followed by its change since the previous control step,
/// `o_t - o_{t-1}` (0 at the first step of an episode); the encoder keeps
/// that one observation of memory ([`RateEncoder::features`]).
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
    /// Append the change of each observed value since the previous step.
    pub differences: bool,
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
        if self.differences && self.gains_pa.len() % 2 != 0 {
            return Err(Error::invalid(
                "gains_pa",
                self.gains_pa.len(),
                "with differences: one gain per observed value and one per its change",
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

    /// Number of observed values the encoder takes: the features, or half
    /// of them with `differences`.
    #[must_use]
    pub fn n_observed(&self) -> usize {
        if self.differences {
            self.gains_pa.len() / 2
        } else {
            self.gains_pa.len()
        }
    }

    /// Write the features of observation `obs` into `out`: `obs` itself,
    /// then with `differences` `obs - prev` per value (`prev` the previous
    /// step's observation, `None` at the first step: changes 0).
    pub fn features(&self, obs: &[f64], prev: Option<&[f64]>, out: &mut [f64]) {
        let n = obs.len();
        out[..n].copy_from_slice(obs);
        if self.differences {
            for i in 0..n {
                out[n + i] = prev.map_or(0.0, |p| obs[i] - p[i]);
            }
        }
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
/// the higher summed membrane potential, then to the lower index. `counts`
/// receives the spikes of each output since `last`.
pub(crate) fn decide(
    net: &Network,
    outputs: &[usize],
    last: &mut [u64],
    counts: &mut [u64],
) -> Result<usize> {
    for (k, &pop) in outputs.iter().enumerate() {
        let now = net.populations()[pop].spike_count;
        counts[k] = now - last[k];
        last[k] = now;
    }
    let top = counts.iter().copied().max().unwrap_or(0);
    let mut best: Option<(usize, f64)> = None;
    for (k, &c) in counts.iter().enumerate() {
        if c != top {
            continue;
        }
        let v: f64 = net.populations()[outputs[k]].state(Var::V)?.iter().sum();
        if best.is_none_or(|(_, bv)| v > bv) {
            best = Some((k, v));
        }
    }
    Ok(best.map_or(0, |(k, _)| k))
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    fn encoder(differences: bool, n: usize) -> RateEncoder {
        RateEncoder {
            pop: 0,
            gains_pa: vec![100.0; n],
            bias_pa: 10.0,
            neurons_per_feature: 2,
            scale: vec![1.0; n],
            differences,
        }
    }

    #[test]
    fn differences_follow_the_values_and_start_at_zero() {
        let enc = encoder(true, 4);
        assert_eq!(enc.n_observed(), 2);
        let mut out = [f64::NAN; 4];
        enc.features(&[0.5, -0.25], None, &mut out);
        assert_eq!(out, [0.5, -0.25, 0.0, 0.0]);
        enc.features(&[0.75, -0.5], Some(&[0.5, -0.25]), &mut out);
        assert_eq!(out, [0.75, -0.5, 0.25, -0.25]);
        let plain = encoder(false, 2);
        assert_eq!(plain.n_observed(), 2);
        let mut out = [f64::NAN; 2];
        plain.features(&[0.75, -0.5], Some(&[0.5, -0.25]), &mut out);
        assert_eq!(out, [0.75, -0.5]);
    }

    #[test]
    fn a_negative_change_drives_the_second_neuron_of_its_pair() {
        let enc = encoder(true, 4);
        let mut features = [0.0; 4];
        enc.features(&[0.5, 0.0], Some(&[0.75, 0.0]), &mut features);
        let mut currents = [0.0; 8];
        enc.encode(&features, &mut currents);
        // value 0.5 -> +50 pA on neuron 0; change -0.25 -> +25 pA on neuron 5
        assert_eq!(currents, [60.0, 10.0, 10.0, 10.0, 10.0, 35.0, 10.0, 10.0]);
    }
}
