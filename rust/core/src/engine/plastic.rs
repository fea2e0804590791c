//! Plasticity glue: attaching rules to projections, weights, dopamine,
//! and the plastic step.

use super::{Network, Receptor};
use crate::plasticity::{self, Plasticity};
use crate::validate::finite;
use crate::{Error, Result};

impl Network {
    pub(super) fn projection_index(&self, proj: usize) -> Result<()> {
        if proj < self.projections.len() {
            Ok(())
        } else {
            Err(Error::IndexOutOfRange {
                kind: "projection".into(),
                index: proj,
                len: self.projections.len(),
            })
        }
    }

    /// Attach plasticity `rule` to projection `proj` from the current step
    /// on. Only excitatory projections unless `allow_inhibitory` (and then
    /// only onto conductance-based receptors, whose weights are >= 0); the
    /// projection's weights must lie in `[0, w_max]`.
    pub fn add_plasticity(
        &mut self,
        proj: usize,
        rule: plasticity::Rule,
        allow_inhibitory: bool,
    ) -> Result<()> {
        self.projection_index(proj)?;
        let p = &self.projections[proj];
        let post = &self.populations[p.post];
        if p.plasticity.is_some() {
            return Err(Error::invalid(
                "projection",
                proj,
                "already has a plasticity rule",
            ));
        }
        if p.receptor == Receptor::Inhibitory {
            if !allow_inhibitory {
                return Err(Error::invalid(
                    "projection",
                    proj,
                    format!(
                        "targets the inhibitory receptor of {}; plasticity applies to excitatory projections unless the rule sets allow_inhibitory=True",
                        post.name
                    ),
                ));
            }
            if post.weight_sign(Receptor::Inhibitory) != Some(true) {
                return Err(Error::invalid(
                    "projection",
                    proj,
                    format!(
                        "inhibitory weights onto {} are <= 0 (current or voltage synapse); plasticity needs weights in [0, w_max] (conductance synapses)",
                        post.name
                    ),
                ));
            }
        }
        let mut state = Plasticity::new(rule, &p.csr, post.n, self.dt_ms)?;
        state.start_at(self.step as f64 * self.dt_ms);
        self.projections[proj].plasticity = Some(Box::new(state));
        Ok(())
    }

    /// Detach the plasticity rule of projection `proj` (if any); its
    /// weights stay as learnt so far and are static from now on.
    pub fn remove_plasticity(&mut self, proj: usize) -> Result<()> {
        self.projection_index(proj)?;
        let t = self.step as f64 * self.dt_ms;
        let p = &mut self.projections[proj];
        if let Some(mut state) = p.plasticity.take() {
            state.flush(t);
            for (w, &x) in p.csr.weight.iter_mut().zip(&state.w) {
                *w = x as f32;
            }
        }
        Ok(())
    }

    /// Multiply every later weight change of projection `proj` by `scale`
    /// (finite, >= 0).
    pub fn set_plasticity_scale(&mut self, proj: usize, scale: f64) -> Result<()> {
        self.projection_index(proj)?;
        let t = self.step as f64 * self.dt_ms;
        match self.projections[proj].plasticity.as_mut() {
            Some(p) => p.set_scale(scale, t),
            None => Err(Error::invalid(
                "projection",
                proj,
                "has no plasticity rule (add one first)",
            )),
        }
    }

    /// Add `amount` to the dopamine concentration of every reward-modulated
    /// projection, now.
    pub fn add_dopamine(&mut self, amount: f64) -> Result<()> {
        finite("amount", amount)?;
        let t = self.step as f64 * self.dt_ms;
        for p in &mut self.projections {
            if let Some(state) = p.plasticity.as_mut() {
                state.add_dopamine(amount, t);
            }
        }
        Ok(())
    }

    /// Current weights of projection `proj` in CSR order (f64).
    pub fn weights(&self, proj: usize) -> Result<Vec<f64>> {
        self.projection_index(proj)?;
        let p = &self.projections[proj];
        Ok(match &p.plasticity {
            Some(state) => state.w.clone(),
            None => p.csr.weight.iter().map(|&w| f64::from(w)).collect(),
        })
    }

    /// Replace the weights of projection `proj` (CSR order, one per synapse).
    /// Plastic projections keep them in `[0, w_max]`; static ones keep the
    /// sign convention of the receptor.
    pub fn set_weights(&mut self, proj: usize, values: &[f64]) -> Result<()> {
        self.projection_index(proj)?;
        let n = self.projections[proj].csr.len();
        if values.len() != n {
            return Err(Error::ShapeMismatch {
                name: "values".into(),
                expected: format!("({n},)"),
                got: format!("({},)", values.len()),
            });
        }
        for (k, &x) in values.iter().enumerate() {
            finite(&format!("values[{k}]"), x)?;
        }
        let (post, receptor) = (self.projections[proj].post, self.projections[proj].receptor);
        if !values.is_empty() {
            let low = values.iter().copied().fold(f64::INFINITY, f64::min);
            let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            self.check_weight_sign(post, receptor, low, high)?;
        }
        let t = self.step as f64 * self.dt_ms;
        let p = &mut self.projections[proj];
        if let Some(state) = p.plasticity.as_mut() {
            state.flush(t);
            state.set_weights(values)?;
        }
        for (w, &x) in p.csr.weight.iter_mut().zip(values) {
            *w = x as f32;
        }
        Ok(())
    }

    /// Copy the f64 weights of plastic projections into their CSR (f32).
    pub(super) fn sync_plastic_weights(&mut self) {
        for p in &mut self.projections {
            if let Some(state) = &p.plasticity {
                for (w, &x) in p.csr.weight.iter_mut().zip(&state.w) {
                    *w = x as f32;
                }
            }
        }
    }

    pub(super) fn step_plastic(&mut self, s: u64, spikes: &[Vec<u32>]) {
        let t_ms = s as f64 * self.dt_ms;
        for proj in &mut self.projections {
            let Some(state) = proj.plasticity.as_mut() else {
                continue;
            };
            state.push_spikes(&spikes[proj.pre], s);
            let (target, gate) = self.populations[proj.post]
                .input_mut(proj.receptor)
                .expect("plastic projections target neurons");
            state.step(
                &proj.csr,
                s,
                t_ms,
                &spikes[proj.pre],
                &spikes[proj.post],
                target,
                gate,
            );
        }
    }
}
