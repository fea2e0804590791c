//! Gap junctions (electrical synapses) between LIF neurons.
//!
//! A gap junction of conductance `g` (nS) between neurons `a` and `b`
//! carries the current
//!
//! ```text
//! I_a = g (V_b - V_a)   into a,      I_b = g (V_a - V_b) = -I_a   into b   (pA)
//! ```
//!
//! symmetric and ohmic, as the `gap_junction` synapse of NEST (Hahne et al.
//! 2015, Front Neuroinform 9:22) with its default of no waveform relaxation.
//!
//! # Integration scheme
//!
//! At the start of each step the junction currents are computed from the
//! membrane potentials at that time (`t = s dt`, after the refractory clamp of
//! the previous step) and added to the populations' external current, which
//! the LIF propagator holds constant over the step and integrates exactly
//! with the leak and synaptic currents. The coupling is thus explicit
//! (forward Euler in the coupling term only): local error `O(dt^2)`, global
//! error `O(dt)` in the junction current; the rest of the LIF dynamics stays
//! exact. NEST without waveform relaxation (`use_wfr = False`) likewise
//! couples with the potentials of the previous communication interval
//! (Hahne et al. 2015); here that interval is one step.
//!
//! # Stability
//!
//! For passive membranes the step maps `V - E_L` linearly with the matrix
//! `M = P I - diag(p) G`, with `P = e^{-dt/tau_m}`, `p = tau_m (1 - P) / C_m`
//! (mV/pA) and `G` the junction Laplacian (row `i`: `+sum_j g_ij` on the
//! diagonal, `-g_ij` off it). By Gershgorin's theorem on the rows of `M`,
//! its infinity norm is below 1, so the scheme is a contraction, whenever
//! every neuron satisfies
//!
//! ```text
//! 2 p_i sum_j g_ij < 1 + P_i.
//! ```
//!
//! For small `dt` this is `dt sum_j g_ij / C_m < 1`. Adding junctions that
//! break it is rejected with an error naming the neuron, its total junction
//! conductance and the bound; a smaller `dt_ms` or weaker junctions fix it.

use super::{Model, Network, Population, Var};
use crate::neuron::lif::{LifParams, LifPropagator};
use crate::validate::{less_than, non_negative};
use crate::{Error, Result};

/// A set of gap junctions between two LIF populations (`pop_a` may equal
/// `pop_b`).
#[derive(Clone, Debug)]
pub struct GapJunctions {
    /// First population index.
    pub pop_a: usize,
    /// Second population index.
    pub pop_b: usize,
    /// Neuron in `pop_a` of each junction.
    pub a: Vec<u32>,
    /// Neuron in `pop_b` of each junction.
    pub b: Vec<u32>,
    /// Conductance of each junction (nS), >= 0.
    pub g_ns: Vec<f64>,
    /// Scratch: the current into `a` of each junction (pA) this step.
    current: Vec<f64>,
}

impl GapJunctions {
    /// Validated junctions: equal lengths, indices below `n_a` / `n_b`,
    /// finite conductances >= 0, no junction of a neuron with itself.
    pub fn new(
        pop_a: usize,
        pop_b: usize,
        n_a: u32,
        n_b: u32,
        a: &[u32],
        b: &[u32],
        g_ns: &[f64],
    ) -> Result<Self> {
        for (name, len) in [("post_index", b.len()), ("g_ns", g_ns.len())] {
            if len != a.len() {
                return Err(Error::ShapeMismatch {
                    name: name.into(),
                    expected: format!("({},) like pre_index", a.len()),
                    got: format!("({len},)"),
                });
            }
        }
        for (k, ((&i, &j), &g)) in a.iter().zip(b).zip(g_ns).enumerate() {
            less_than(&format!("pre_index[{k}]"), i, "n", n_a)?;
            less_than(&format!("post_index[{k}]"), j, "n", n_b)?;
            non_negative(&format!("g_ns[{k}]"), g)?;
            if pop_a == pop_b && i == j {
                return Err(Error::invalid(
                    format!("post_index[{k}]"),
                    j,
                    "a gap junction needs two distinct neurons",
                ));
            }
        }
        Ok(Self {
            pop_a,
            pop_b,
            a: a.to_vec(),
            b: b.to_vec(),
            g_ns: g_ns.to_vec(),
            current: vec![0.0; a.len()],
        })
    }

    /// Add each junction's conductance to the per-neuron totals `g_a`, `g_b`
    /// (the same slice when `pop_a == pop_b`, handled by the caller).
    pub fn accumulate(&self, totals: &mut [Vec<f64>]) {
        for ((&i, &j), &g) in self.a.iter().zip(&self.b).zip(&self.g_ns) {
            totals[self.pop_a][i as usize] += g;
            totals[self.pop_b][j as usize] += g;
        }
    }

    /// Compute this step's junction currents from the membrane potentials
    /// `v_a`, `v_b` (mV) of the two populations.
    pub fn compute(&mut self, v_a: &[f64], v_b: &[f64]) {
        for (((c, &i), &j), &g) in self
            .current
            .iter_mut()
            .zip(&self.a)
            .zip(&self.b)
            .zip(&self.g_ns)
        {
            *c = g * (v_b[j as usize] - v_a[i as usize]);
        }
    }

    /// Add the computed currents (pA) into the external currents of the two
    /// populations: `+I` into `a`, `-I` into `b`.
    pub fn apply(&self, i_ext_a: &mut [f64]) {
        for (&i, &c) in self.a.iter().zip(&self.current) {
            i_ext_a[i as usize] += c;
        }
    }

    /// See [`GapJunctions::apply`]: the side of `b`.
    pub fn apply_b(&self, i_ext_b: &mut [f64]) {
        for (&j, &c) in self.b.iter().zip(&self.current) {
            i_ext_b[j as usize] -= c;
        }
    }
}

/// Check the stability condition of the module docs for one population of
/// `params` whose neurons carry total junction conductances `g_total` (nS).
pub fn check_stable(name: &str, params: &LifParams, dt_ms: f64, g_total: &[f64]) -> Result<()> {
    let prop = LifPropagator::new(params, dt_ms);
    let bound = (1.0 + prop.p_mm) / (2.0 * prop.p_mi);
    if let Some((i, &g)) = g_total.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)) {
        if g >= bound {
            return Err(Error::invalid(
                "g_ns",
                g,
                format!(
                    "neuron {i} of population {name} would carry a total gap-junction \
                     conductance of {g} nS; the explicit coupling is stable only below \
                     (1 + exp(-dt/tau_m)) / (2 tau_m (1 - exp(-dt/tau_m)) / C_m) = {bound} nS \
                     at dt_ms = {dt_ms} (use a smaller dt_ms or weaker junctions)"
                ),
            ));
        }
    }
    Ok(())
}

/// Add this step's junction currents into the populations' external
/// currents (called by the engine at the start of every step, after the
/// external currents were reset and filled).
pub(super) fn add_currents(gaps: &mut [GapJunctions], pops: &mut [Population]) {
    for gj in gaps {
        let v_a = pops[gj.pop_a]
            .state(Var::V)
            .expect("LIF checked when added");
        let v_b = pops[gj.pop_b]
            .state(Var::V)
            .expect("LIF checked when added");
        gj.compute(v_a, v_b);
        gj.apply(&mut pops[gj.pop_a].i_ext);
        gj.apply_b(&mut pops[gj.pop_b].i_ext);
    }
}

impl Network {
    /// Add gap junctions of conductance `g_ns[k]` (nS) between neuron
    /// `pre_index[k]` of LIF population `pre` and neuron `post_index[k]` of
    /// LIF population `post` (see the module docs for the current, the
    /// integration scheme and the stability bound that is enforced). The
    /// junctions are symmetric: `pre`/`post` only name the two ends.
    pub fn add_gap_junctions(
        &mut self,
        pre: usize,
        post: usize,
        pre_index: &[u32],
        post_index: &[u32],
        g_ns: &[f64],
    ) -> Result<usize> {
        self.pop_index(pre)?;
        self.pop_index(post)?;
        for (field, p) in [("pre", pre), ("post", post)] {
            if !matches!(self.populations[p].model, Model::Lif { .. }) {
                return Err(Error::invalid(
                    field,
                    &self.populations[p].name,
                    "gap junctions join LIF populations only",
                ));
            }
        }
        let gj = GapJunctions::new(
            pre,
            post,
            self.populations[pre].n,
            self.populations[post].n,
            pre_index,
            post_index,
            g_ns,
        )?;
        let mut totals: Vec<Vec<f64>> = self
            .populations
            .iter()
            .map(|p| vec![0.0; p.n as usize])
            .collect();
        for other in self.gaps.iter().chain(std::iter::once(&gj)) {
            other.accumulate(&mut totals);
        }
        for p in [pre, post] {
            let pop = &self.populations[p];
            if let Model::Lif { params, .. } = &pop.model {
                check_stable(&pop.name, params, self.dt_ms, &totals[p])?;
            }
        }
        self.populations[pre].has_ext = true;
        self.populations[post].has_ext = true;
        self.gaps.push(gj);
        Ok(self.gaps.len() - 1)
    }

    /// Number of gap junctions in set `index`.
    pub fn gap_junction_count(&self, index: usize) -> Result<usize> {
        self.gaps
            .get(index)
            .map(|g| g.a.len())
            .ok_or(Error::IndexOutOfRange {
                kind: "gap junction set".into(),
                index,
                len: self.gaps.len(),
            })
    }
}
