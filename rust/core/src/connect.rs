//! Projections: synapses stored as CSR by presynaptic neuron, and the seeded
//! builders that create them (NEST's connection rules).

use rand::RngExt;
use rand_distr::{Distribution, Normal};

use crate::neuron::{finite, non_negative};
use crate::rng::Stream;
use crate::{Error, Result};

/// How many synapses a projection makes (NEST connection rules).
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Every pair (pre, post) independently with probability `p`.
    FixedProbability {
        /// Connection probability in [0, 1].
        p: f64,
    },
    /// Each post neuron gets exactly `k` presynaptic partners drawn uniformly.
    FixedIndegree {
        /// In-degree.
        k: u64,
    },
    /// Exactly `n` synapses with pre and post drawn uniformly and
    /// independently (multapses always allowed), as in Potjans & Diesmann (2014).
    FixedTotalNumber {
        /// Number of synapses.
        n: u64,
    },
    /// Every pre to every post.
    AllToAll,
    /// Pre `i` to post `i` (equal sizes).
    OneToOne,
}

/// A distribution of synaptic weights or delays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dist {
    /// Always `value`.
    Constant(f64),
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Normal(mean, std) truncated to `[low, high]` by redrawing (NEST's
    /// `normal_clipped`); after 1000 rejected draws the value is clipped.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation (>= 0).
        std: f64,
        /// Lower bound (may be -inf).
        low: f64,
        /// Upper bound (may be +inf).
        high: f64,
    },
}

impl Dist {
    /// Validate, naming the distribution `name` in errors.
    pub fn validate(&self, name: &str) -> Result<()> {
        match *self {
            Dist::Constant(v) => {
                finite(name, v)?;
            }
            Dist::Uniform { low, high } => {
                finite(&format!("{name}.low"), low)?;
                finite(&format!("{name}.high"), high)?;
                if high < low {
                    return Err(Error::invalid(
                        format!("{name}.high"),
                        high,
                        format!("must be >= low = {low}"),
                    ));
                }
            }
            Dist::Normal {
                mean,
                std,
                low,
                high,
            } => {
                finite(&format!("{name}.mean"), mean)?;
                non_negative(&format!("{name}.std"), std)?;
                if low.is_nan() || high.is_nan() || high < low {
                    return Err(Error::invalid(
                        format!("{name}.low"),
                        low,
                        format!("bounds must satisfy low <= high (high = {high})"),
                    ));
                }
                if mean < low && (low - mean) > 10.0 * std
                    || mean > high && (mean - high) > 10.0 * std
                {
                    return Err(Error::invalid(
                        format!("{name}.mean"),
                        mean,
                        "more than 10 standard deviations outside [low, high]",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Draw one value.
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        match *self {
            Dist::Constant(v) => v,
            Dist::Uniform { low, high } => {
                if high > low {
                    rng.random_range(low..high)
                } else {
                    low
                }
            }
            Dist::Normal {
                mean,
                std,
                low,
                high,
            } => {
                if std == 0.0 {
                    return mean.clamp(low, high);
                }
                let normal = Normal::new(mean, std).expect("validated std");
                for _ in 0..1000 {
                    let x: f64 = normal.sample(rng);
                    if (low..=high).contains(&x) {
                        return x;
                    }
                }
                mean.clamp(low, high)
            }
        }
    }
}

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

/// Convert a delay in ms to whole steps (>= 0).
///
/// Constant delays must be multiples of `dt_ms` (error otherwise); drawn
/// delays are rounded to the nearest step.
fn delay_to_steps(delay_ms: f64, dt_ms: f64) -> u16 {
    let steps = (delay_ms / dt_ms).round().max(0.0);
    steps.min(f64::from(u16::MAX)) as u16
}

/// Validate a delay distribution against `dt_ms`.
fn validate_delay(delay: &Dist, dt_ms: f64) -> Result<()> {
    delay.validate("delay_ms")?;
    let check_grid = |v: f64| -> Result<()> {
        if v < 0.0 {
            return Err(Error::invalid("delay_ms", v, "must be >= 0"));
        }
        let ratio = v / dt_ms;
        if (ratio - ratio.round()).abs() > 1e-6 {
            return Err(Error::invalid(
                "delay_ms",
                v,
                format!("a constant delay must be a multiple of dt_ms = {dt_ms}"),
            ));
        }
        if ratio.round() > f64::from(u16::MAX) {
            return Err(Error::invalid("delay_ms", v, "longer than 65535 steps"));
        }
        Ok(())
    };
    match *delay {
        Dist::Constant(v) => check_grid(v),
        Dist::Uniform { low, high } if low < 0.0 || high / dt_ms > f64::from(u16::MAX) => Err(
            Error::invalid("delay_ms.low", low, "delays must lie in [0, 65535 dt]"),
        ),
        Dist::Normal { low, .. } if low < 0.0 => Err(Error::invalid(
            "delay_ms.low",
            low,
            "a delay distribution must be bounded below by 0 or more",
        )),
        _ => Ok(()),
    }
}

/// Draw synapse pairs of `rule`, calling `emit(pre, post)` for each, in a
/// deterministic order given the stream. Used twice with the same seed by
/// [`build`]: once to count row lengths, once to fill rows.
fn generate(
    rule: &Rule,
    n_pre: u32,
    n_post: u32,
    allow_autapses: bool,
    rng: &mut Stream,
    emit: &mut dyn FnMut(u32, u32),
) {
    let autapse_ok = |i: u32, j: u32| allow_autapses || i != j;
    match *rule {
        Rule::AllToAll => {
            for i in 0..n_pre {
                for j in 0..n_post {
                    if autapse_ok(i, j) {
                        emit(i, j);
                    }
                }
            }
        }
        Rule::OneToOne => {
            for i in 0..n_pre.min(n_post) {
                emit(i, i);
            }
        }
        Rule::FixedProbability { p } => {
            if p <= 0.0 {
                return;
            }
            let total = u64::from(n_pre) * u64::from(n_post);
            if p >= 1.0 {
                for idx in 0..total {
                    let (i, j) = (
                        (idx / u64::from(n_post)) as u32,
                        (idx % u64::from(n_post)) as u32,
                    );
                    if autapse_ok(i, j) {
                        emit(i, j);
                    }
                }
                return;
            }
            // Geometric skipping over the flattened pair index: the gaps
            // between successes of independent Bernoulli(p) trials.
            let log_q = (-p).ln_1p();
            let mut idx: u64 = 0;
            loop {
                let u: f64 = 1.0 - rng.random::<f64>();
                let skip = (u.ln() / log_q).floor();
                if !skip.is_finite() || skip >= (total - idx) as f64 {
                    break;
                }
                idx += skip as u64;
                let (i, j) = (
                    (idx / u64::from(n_post)) as u32,
                    (idx % u64::from(n_post)) as u32,
                );
                if autapse_ok(i, j) {
                    emit(i, j);
                }
                idx += 1;
                if idx >= total {
                    break;
                }
            }
        }
        Rule::FixedIndegree { k } => {
            for j in 0..n_post {
                let mut made = 0;
                while made < k {
                    let i = rng.random_range(0..n_pre);
                    if autapse_ok(i, j) {
                        emit(i, j);
                        made += 1;
                    }
                }
            }
        }
        Rule::FixedTotalNumber { n } => {
            let mut made = 0;
            while made < n {
                let i = rng.random_range(0..n_pre);
                let j = rng.random_range(0..n_post);
                if autapse_ok(i, j) {
                    emit(i, j);
                    made += 1;
                }
            }
        }
    }
}

/// Check that `rule` can be realised between populations of these sizes.
fn validate_rule(rule: &Rule, n_pre: u32, n_post: u32, allow_autapses: bool) -> Result<()> {
    match *rule {
        Rule::FixedProbability { p } => {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::invalid(
                    "p",
                    p,
                    "connection probability must lie in [0, 1]",
                ));
            }
        }
        Rule::FixedIndegree { k } => {
            let available = if allow_autapses {
                n_pre
            } else {
                n_pre.saturating_sub(1)
            };
            if k > 0 && available == 0 {
                return Err(Error::invalid("indegree", k, "no presynaptic candidates"));
            }
        }
        Rule::FixedTotalNumber { n } => {
            if n > 0
                && (n_pre == 0 || n_post == 0 || (!allow_autapses && n_pre == 1 && n_post == 1))
            {
                return Err(Error::invalid("total_number", n, "no candidate pairs"));
            }
        }
        Rule::OneToOne => {
            if n_pre != n_post {
                return Err(Error::invalid(
                    "rule",
                    "one_to_one",
                    format!("needs equal sizes, got {n_pre} pre and {n_post} post"),
                ));
            }
        }
        Rule::AllToAll => {}
    }
    Ok(())
}

/// Build a projection with `rule` between `n_pre` and `n_post` neurons.
///
/// Pairs are drawn from a stream derived from `seed`; the pair sequence is
/// generated twice (count, then fill), so no (pre, post) list is ever held in
/// memory beyond the CSR arrays themselves. Weights and delays are then drawn
/// in CSR order from a second stream.
pub fn build(
    rule: &Rule,
    n_pre: u32,
    n_post: u32,
    allow_autapses: bool,
    weight: &Dist,
    delay_ms: &Dist,
    dt_ms: f64,
    seed_pairs: &Stream,
    seed_values: &Stream,
) -> Result<Csr> {
    validate_rule(rule, n_pre, n_post, allow_autapses)?;
    weight.validate("weight")?;
    validate_delay(delay_ms, dt_ms)?;

    let mut counts = vec![0u64; n_pre as usize + 1];
    generate(
        rule,
        n_pre,
        n_post,
        allow_autapses,
        &mut seed_pairs.clone(),
        &mut |i, _| {
            counts[i as usize + 1] += 1;
        },
    );
    for i in 0..n_pre as usize {
        counts[i + 1] += counts[i];
    }
    let indptr = counts;
    let total = indptr[n_pre as usize] as usize;
    let mut indices = vec![0u32; total];
    let mut fill: Vec<u64> = indptr[..n_pre as usize].to_vec();
    generate(
        rule,
        n_pre,
        n_post,
        allow_autapses,
        &mut seed_pairs.clone(),
        &mut |i, j| {
            let slot = &mut fill[i as usize];
            indices[*slot as usize] = j;
            *slot += 1;
        },
    );
    for i in 0..n_pre as usize {
        indices[indptr[i] as usize..indptr[i + 1] as usize].sort_unstable();
    }
    let mut rng = seed_values.clone();
    let weight_values = (0..total).map(|_| weight.sample(&mut rng) as f32).collect();
    let delay_steps = (0..total)
        .map(|_| delay_to_steps(delay_ms.sample(&mut rng), dt_ms))
        .collect();
    Ok(Csr {
        indptr,
        indices,
        weight: weight_values,
        delay_steps,
    })
}

/// Build a projection from explicit synapse arrays (any order).
pub fn from_arrays(
    n_pre: u32,
    n_post: u32,
    pre: &[u32],
    post: &[u32],
    weight: &[f64],
    delay_ms: &[f64],
    dt_ms: f64,
) -> Result<Csr> {
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
        if i >= n_pre {
            return Err(Error::invalid(
                format!("pre[{k}]"),
                i,
                format!("must be < n_pre = {n_pre}"),
            ));
        }
        if j >= n_post {
            return Err(Error::invalid(
                format!("post[{k}]"),
                j,
                format!("must be < n_post = {n_post}"),
            ));
        }
    }
    for (k, &w) in weight.iter().enumerate() {
        finite(&format!("weight[{k}]"), w)?;
    }
    for &d in delay_ms {
        validate_delay(&Dist::Constant(d), dt_ms)?;
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
