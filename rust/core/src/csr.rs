//! Synapse storage: one projection's synapses in CSR layout by presynaptic
//! neuron, built from explicit arrays or from a stream of (pre, post) pairs.
//! The connection rules that produce the pairs live in [`crate::connect`].

use crate::validate::{delay_on_grid, finite, less_than};
use crate::{Error, Result};

/// Synapses of one projection in CSR layout by presynaptic neuron.
///
/// Row `i` (synapses of pre neuron `i`) is `indptr[i]..indptr[i+1]`; within
/// a row, targets are sorted ascending.
#[derive(Clone, Debug, Default)]
pub struct Csr {
    /// Row pointers, length `n_pre + 1`.
    pub indptr: Vec<u64>,
    /// Postsynaptic neuron of each synapse.
    pub indices: Vec<u32>,
    /// Weight of each synapse (unit of the target's synaptic variable).
    pub weight: Vec<f32>,
    /// Transmission delay of each synapse in steps (>= 0).
    pub delay_steps: Vec<u16>,
}

impl Csr {
    /// Number of synapses.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// True when the projection has no synapses.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Number of presynaptic neurons.
    pub fn n_pre(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Largest delay in steps (0 when empty).
    pub fn max_delay(&self) -> u16 {
        self.delay_steps.iter().copied().max().unwrap_or(0)
    }

    /// The synapses of some rows onto columns `col_from..col_from + n_cols`,
    /// as a projection of `n_rows` rows and `n_cols` columns: `rows` lists
    /// `(lo, hi, from)`, meaning rows `lo..hi` of `self` become rows
    /// `lo - from..hi - from`; other rows are empty. Each kept row keeps its
    /// synapses' order (CSR order of `self`), its columns shifted by
    /// `-col_from`. Used to cut a part's synapses out of a projection between
    /// populations split over parts ([`crate::engine::Window`]).
    ///
    /// `rows` must lie within `self`'s rows and map into `0..n_rows`
    /// (checked by the caller).
    #[must_use]
    pub fn window(&self, n_rows: u32, rows: &[(u32, u32, u32)], col_from: u32, n_cols: u32) -> Csr {
        let mut source: Vec<Option<usize>> = vec![None; n_rows as usize];
        for &(lo, hi, from) in rows {
            for i in lo..hi {
                source[(i - from) as usize] = Some(i as usize);
            }
        }
        let mut out = Csr {
            indptr: Vec::with_capacity(n_rows as usize + 1),
            indices: Vec::new(),
            weight: Vec::new(),
            delay_steps: Vec::new(),
        };
        out.indptr.push(0);
        let cols = u64::from(col_from)..u64::from(col_from) + u64::from(n_cols);
        for row in source {
            if let Some(i) = row {
                for k in self.indptr[i] as usize..self.indptr[i + 1] as usize {
                    let j = self.indices[k];
                    if cols.contains(&u64::from(j)) {
                        out.indices.push(j - col_from);
                        out.weight.push(self.weight[k]);
                        out.delay_steps.push(self.delay_steps[k]);
                    }
                }
            }
            out.indptr.push(out.indices.len() as u64);
        }
        out
    }

    /// Expand to (pre, post, weight, delay_steps) arrays in CSR order.
    pub fn to_coo(&self) -> (Vec<u32>, Vec<u32>, Vec<f32>, Vec<u16>) {
        let mut pre = Vec::with_capacity(self.len());
        for i in 0..self.n_pre() {
            let count = (self.indptr[i + 1] - self.indptr[i]) as usize;
            pre.extend(std::iter::repeat_n(i as u32, count));
        }
        (
            pre,
            self.indices.clone(),
            self.weight.clone(),
            self.delay_steps.clone(),
        )
    }
}

/// Convert a delay in ms to whole steps (>= 0), rounding to the nearest step
/// and saturating at 65535.
///
/// Constant delays are checked to lie on the step grid beforehand
/// ([`delay_on_grid`]); drawn delays are rounded.
pub fn delay_to_steps(delay_ms: f64, dt_ms: f64) -> u16 {
    let steps = (delay_ms / dt_ms).round().max(0.0);
    steps.min(f64::from(u16::MAX)) as u16
}

/// The sparsity pattern (`indptr`, `indices`) of the pairs that `pairs`
/// emits, targets sorted within each row; `n_pre` rows.
///
/// `pairs` is called twice with the same `hook` and must emit the same
/// sequence both times (count, then fill), so no (pre, post) list is ever
/// held in memory beyond the CSR arrays themselves. `hook` is also called
/// every 4096 rows while the rows are sorted; its error stops the build.
pub fn pattern_from_pairs<F>(
    n_pre: u32,
    hook: &mut dyn FnMut() -> Result<()>,
    mut pairs: F,
) -> Result<(Vec<u64>, Vec<u32>)>
where
    F: FnMut(&mut dyn FnMut() -> Result<()>, &mut dyn FnMut(u32, u32)) -> Result<()>,
{
    let mut counts = vec![0u64; n_pre as usize + 1];
    pairs(hook, &mut |i, _| {
        counts[i as usize + 1] += 1;
    })?;
    for i in 0..n_pre as usize {
        counts[i + 1] += counts[i];
    }
    let indptr = counts;
    let total = indptr[n_pre as usize] as usize;
    let mut indices = vec![0u32; total];
    let mut fill: Vec<u64> = indptr[..n_pre as usize].to_vec();
    pairs(hook, &mut |i, j| {
        let slot = &mut fill[i as usize];
        indices[*slot as usize] = j;
        *slot += 1;
    })?;
    for i in 0..n_pre as usize {
        if i % 4096 == 0 {
            hook()?;
        }
        indices[indptr[i] as usize..indptr[i + 1] as usize].sort_unstable();
    }
    Ok((indptr, indices))
}

/// Explicit synapses: synapse `k` from `pre[k]` to `post[k]` (indices local
/// to each population) with `weight[k]` and `delay_ms[k]`.
#[derive(Clone, Copy, Debug)]
pub struct SynapseArrays<'a> {
    /// Presynaptic neuron of each synapse.
    pub pre: &'a [u32],
    /// Postsynaptic neuron of each synapse.
    pub post: &'a [u32],
    /// Weight of each synapse.
    pub weight: &'a [f64],
    /// Delay of each synapse (ms, on the step grid).
    pub delay_ms: &'a [f64],
}

/// Build a projection from explicit synapse arrays (any order).
pub fn from_arrays(n_pre: u32, n_post: u32, arrays: &SynapseArrays<'_>, dt_ms: f64) -> Result<Csr> {
    let SynapseArrays {
        pre,
        post,
        weight,
        delay_ms,
    } = *arrays;
    let m = pre.len();
    for (name, len) in [
        ("post", post.len()),
        ("weight", weight.len()),
        ("delay_ms", delay_ms.len()),
    ] {
        if len != m {
            return Err(Error::ShapeMismatch {
                name: name.into(),
                expected: format!("({m},) like pre"),
                got: format!("({len},)"),
            });
        }
    }
    for (k, (&i, &j)) in pre.iter().zip(post).enumerate() {
        less_than(&format!("pre[{k}]"), i, "n_pre", n_pre)?;
        less_than(&format!("post[{k}]"), j, "n_post", n_post)?;
    }
    for (k, &w) in weight.iter().enumerate() {
        finite(&format!("weight[{k}]"), w)?;
    }
    for &d in delay_ms {
        finite("delay_ms", d)?;
        delay_on_grid("delay_ms", d, dt_ms)?;
    }
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by_key(|&k| (pre[k], post[k]));
    let mut indptr = vec![0u64; n_pre as usize + 1];
    for &i in pre {
        indptr[i as usize + 1] += 1;
    }
    for i in 0..n_pre as usize {
        indptr[i + 1] += indptr[i];
    }
    Ok(Csr {
        indptr,
        indices: order.iter().map(|&k| post[k]).collect(),
        weight: order.iter().map(|&k| weight[k] as f32).collect(),
        delay_steps: order
            .iter()
            .map(|&k| delay_to_steps(delay_ms[k], dt_ms))
            .collect(),
    })
}
