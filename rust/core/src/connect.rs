//! Connection rules: the seeded builders that draw a projection's synapses
//! (NEST's connection rules, weight and delay distributions) into a
//! [`Csr`], whose storage lives in [`crate::csr`].

use rand::RngExt;
use rand_distr::{Binomial, Distribution, Normal};
use rayon::prelude::*;

use crate::csr::{delay_to_steps, pattern_from_pairs, Csr};
use crate::rng::Stream;
use crate::validate::{count, delay_on_grid, finite, non_negative, unit_interval};
use crate::{Error, Result};

/// A hook called every few thousand rows or draws of a long build; an error
/// (e.g. [`Error::Interrupted`] on Ctrl-C) stops the build and is returned.
pub type Hook<'a> = &'a mut dyn FnMut() -> Result<()>;

/// Iterations of a generation loop between two calls of the [`Hook`].
const HOOK_EVERY: u64 = 1 << 16;

/// The random streams of one `connect` (see [`crate::rng`] for the keys).
pub struct Streams<'a> {
    /// Draws of rules that draw globally: the pairs of fixed probability,
    /// the row lengths (a multinomial) of fixed total number.
    pub pairs: Stream,
    /// The stream of target neuron `j` (local index), for rules that draw
    /// per target (fixed in-degree).
    pub target: &'a (dyn Fn(u32) -> Stream + Sync),
    /// The stream of source neuron `i` (local index), for rules that draw
    /// per source (fixed out-degree, the targets of a fixed-total-number row).
    pub source: &'a (dyn Fn(u32) -> Stream + Sync),
    /// The stream of the weights and delays of row `i` (synapses of source
    /// neuron `i`, local index): the row's weights in CSR order, then its
    /// delays.
    pub values: &'a (dyn Fn(u32) -> Stream + Sync),
}

/// What a rule-based projection is built from (besides its streams).
#[derive(Clone, Debug)]
pub struct BuildSpec<'a> {
    /// The connection rule.
    pub rule: &'a Rule,
    /// Presynaptic population size.
    pub n_pre: u32,
    /// Postsynaptic population size.
    pub n_post: u32,
    /// Whether pre `i` may connect to post `i`.
    pub allow_autapses: bool,
    /// Weight distribution.
    pub weight: &'a Dist,
    /// Delay distribution (ms).
    pub delay_ms: &'a Dist,
    /// Time step (ms).
    pub dt_ms: f64,
}

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
    /// Each pre neuron gets exactly `k` postsynaptic partners drawn
    /// uniformly (multapses allowed, as NEST's `fixed_outdegree` by default).
    FixedOutdegree {
        /// Out-degree.
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

impl Rule {
    /// The rule named `name` (`fixed_probability`, `fixed_indegree`,
    /// `fixed_outdegree`, `fixed_total_number`, `all_to_all`, `one_to_one`)
    /// with its parameter `value` (probability, in-degree, out-degree or
    /// number; ignored by the last two).
    pub fn from_name(name: &str, value: f64) -> Result<Self> {
        match name {
            "fixed_probability" => Ok(Rule::FixedProbability { p: value }),
            "fixed_indegree" => Ok(Rule::FixedIndegree {
                k: count("indegree", value)?,
            }),
            "fixed_outdegree" => Ok(Rule::FixedOutdegree {
                k: count("outdegree", value)?,
            }),
            "fixed_total_number" => Ok(Rule::FixedTotalNumber {
                n: count("total_number", value)?,
            }),
            "all_to_all" => Ok(Rule::AllToAll),
            "one_to_one" => Ok(Rule::OneToOne),
            _ => Err(Error::invalid("rule", name, "unknown connection rule")),
        }
    }
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
    /// The distribution `kind` (`constant`, `uniform`, `normal`) with its
    /// arguments (`[v]`, `[low, high]`, `[mean, std, low, high]`), named
    /// `name` in errors.
    pub fn from_parts(name: &str, kind: &str, args: &[f64]) -> Result<Self> {
        match (kind, args) {
            ("constant", [v]) => Ok(Dist::Constant(*v)),
            ("uniform", [low, high]) => Ok(Dist::Uniform {
                low: *low,
                high: *high,
            }),
            ("normal", [mean, std, low, high]) => Ok(Dist::Normal {
                mean: *mean,
                std: *std,
                low: *low,
                high: *high,
            }),
            _ => Err(Error::invalid(
                name,
                format!("{kind}{args:?}"),
                "expected ('constant', [v]), ('uniform', [low, high]) or ('normal', [mean, std, low, high])",
            )),
        }
    }

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
        Sampler::new(self).sample(rng)
    }
}

/// A [`Dist`] prepared for many draws (the normal distribution is built
/// once): draws exactly what [`Dist::sample`] draws from the same stream.
#[derive(Clone, Copy, Debug)]
enum Sampler {
    Constant(f64),
    Uniform {
        low: f64,
        high: f64,
    },
    Normal {
        normal: Normal<f64>,
        low: f64,
        high: f64,
        mean: f64,
    },
}

impl Sampler {
    fn new(dist: &Dist) -> Self {
        match *dist {
            Dist::Constant(v) => Sampler::Constant(v),
            Dist::Uniform { low, high } if high > low => Sampler::Uniform { low, high },
            Dist::Uniform { low, .. } => Sampler::Constant(low),
            Dist::Normal {
                mean,
                std,
                low,
                high,
            } => {
                if std == 0.0 {
                    Sampler::Constant(mean.clamp(low, high))
                } else {
                    Sampler::Normal {
                        normal: Normal::new(mean, std).expect("validated std"),
                        low,
                        high,
                        mean,
                    }
                }
            }
        }
    }

    /// Whether draws consume no random numbers.
    fn is_constant(&self) -> bool {
        matches!(self, Sampler::Constant(_))
    }

    #[inline]
    fn sample(&self, rng: &mut Stream) -> f64 {
        match *self {
            Sampler::Constant(v) => v,
            Sampler::Uniform { low, high } => rng.random_range(low..high),
            Sampler::Normal {
                normal,
                low,
                high,
                mean,
            } => {
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

/// Validate a delay distribution against `dt_ms`.
fn validate_delay(delay: &Dist, dt_ms: f64) -> Result<()> {
    delay.validate("delay_ms")?;
    match *delay {
        Dist::Constant(v) => delay_on_grid("delay_ms", v, dt_ms).map(|_| ()),
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

/// Draw synapse pairs of the rules drawn pair by pair (one-to-one, fixed
/// probability, fixed in-degree), calling `emit(pre, post)` for each, in a
/// deterministic order given the streams. Used twice with the same streams
/// by [`pattern`] (through [`pattern_from_pairs`]): once to count row
/// lengths, once to fill rows.
#[allow(clippy::too_many_lines)]
fn generate(
    spec: &BuildSpec<'_>,
    streams: &Streams<'_>,
    hook: &mut dyn FnMut() -> Result<()>,
    emit: &mut dyn FnMut(u32, u32),
) -> Result<()> {
    let (n_pre, n_post, allow_autapses) = (spec.n_pre, spec.n_post, spec.allow_autapses);
    let autapse_ok = |i: u32, j: u32| allow_autapses || i != j;
    let mut rng = streams.pairs.clone();
    let mut ticks: u64 = 0;
    let mut tick = |hook: &mut dyn FnMut() -> Result<()>, work: u64| -> Result<()> {
        ticks += work;
        if ticks >= HOOK_EVERY {
            ticks = 0;
            hook()?;
        }
        Ok(())
    };
    match *spec.rule {
        Rule::OneToOne => {
            for i in 0..n_pre.min(n_post) {
                emit(i, i);
            }
        }
        Rule::FixedProbability { p } => {
            if p <= 0.0 {
                return Ok(());
            }
            let total = u64::from(n_pre) * u64::from(n_post);
            if p >= 1.0 {
                for idx in 0..total {
                    tick(hook, 1)?;
                    let (i, j) = (
                        (idx / u64::from(n_post)) as u32,
                        (idx % u64::from(n_post)) as u32,
                    );
                    if autapse_ok(i, j) {
                        emit(i, j);
                    }
                }
                return Ok(());
            }
            // Geometric skipping over the flattened pair index: the gaps
            // between successes of independent Bernoulli(p) trials.
            let log_q = (-p).ln_1p();
            let mut idx: u64 = 0;
            loop {
                tick(hook, 1)?;
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
                tick(hook, 1)?;
                let mut rng = (streams.target)(j);
                let mut made = 0;
                while made < k {
                    // Within the row too: one target may take 10^12 draws.
                    tick(hook, 1)?;
                    let i = rng.random_range(0..n_pre);
                    if autapse_ok(i, j) {
                        emit(i, j);
                        made += 1;
                    }
                }
            }
        }
        Rule::AllToAll | Rule::FixedOutdegree { .. } | Rule::FixedTotalNumber { .. } => {
            unreachable!("drawn row by row in `pattern`")
        }
    }
    Ok(())
}

/// Check that `rule` can be realised between populations of these sizes.
fn validate_rule(rule: &Rule, n_pre: u32, n_post: u32, allow_autapses: bool) -> Result<()> {
    match *rule {
        Rule::FixedProbability { p } => {
            unit_interval("p", p)?;
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
        Rule::FixedOutdegree { k } => {
            let available = if allow_autapses {
                n_post
            } else {
                n_post.saturating_sub(1)
            };
            if k > 0 && available == 0 {
                return Err(Error::invalid("outdegree", k, "no postsynaptic candidates"));
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

/// Synapses per work chunk of a row-wise build: `hook` is called between
/// chunks on the calling thread, so a long build stops within a chunk
/// (a few tens of milliseconds). A work partition only: every row draws from
/// its own streams, so neither the chunks nor the threads change the numbers.
const CHUNK_SYNAPSES: u64 = 1 << 21;

/// Rows per chunk at most (bounds the per-chunk list of row slices).
const CHUNK_ROWS: usize = 1 << 14;

/// The row ranges `lo..hi` of the work chunks of a CSR with row pointers
/// `indptr`: about [`CHUNK_SYNAPSES`] synapses each, at least one row.
fn row_chunks(indptr: &[u64]) -> Vec<(usize, usize)> {
    let n = indptr.len() - 1;
    let mut out = Vec::new();
    let mut lo = 0;
    while lo < n {
        let limit = indptr[lo].saturating_add(CHUNK_SYNAPSES);
        let end = indptr.partition_point(|&x| x <= limit).saturating_sub(1);
        let hi = end.clamp(lo + 1, n).min(lo + CHUNK_ROWS);
        out.push((lo, hi));
        lo = hi;
    }
    out
}

/// The rows `lo..hi` of `data` (which starts at row `lo`) as slices.
fn split_rows<'a, T>(
    indptr: &[u64],
    lo: usize,
    hi: usize,
    mut data: &'a mut [T],
) -> Vec<&'a mut [T]> {
    let mut rows = Vec::with_capacity(hi - lo);
    for i in lo..hi {
        let (row, rest) =
            std::mem::take(&mut data).split_at_mut((indptr[i + 1] - indptr[i]) as usize);
        rows.push(row);
        data = rest;
    }
    rows
}

/// Call `f(i, a_i, b_i)` for every row `i` of the two CSR-ordered arrays `a`
/// and `b`, on `pool` when given, chunk by chunk with `hook` between chunks.
fn for_each_row<A: Send, B: Send>(
    indptr: &[u64],
    a: &mut [A],
    b: &mut [B],
    pool: Option<&rayon::ThreadPool>,
    hook: &mut dyn FnMut() -> Result<()>,
    f: impl Fn(u32, &mut [A], &mut [B]) + Sync,
) -> Result<()> {
    for (lo, hi) in row_chunks(indptr) {
        hook()?;
        let (start, end) = (indptr[lo] as usize, indptr[hi] as usize);
        let rows_a = split_rows(indptr, lo, hi, &mut a[start..end]);
        let rows_b = split_rows(indptr, lo, hi, &mut b[start..end]);
        let body = |(k, (ra, rb)): (usize, (&mut [A], &mut [B]))| f((lo + k) as u32, ra, rb);
        match pool {
            Some(p) if hi - lo > 1 => p.install(|| {
                rows_a
                    .into_par_iter()
                    .zip(rows_b)
                    .enumerate()
                    .for_each(body);
            }),
            _ => rows_a.into_iter().zip(rows_b).enumerate().for_each(body),
        }
    }
    Ok(())
}

/// Number of candidate targets of source `i` (all posts but itself when
/// autapses are excluded).
fn candidates(spec: &BuildSpec<'_>, i: u32) -> u64 {
    u64::from(spec.n_post) - u64::from(!spec.allow_autapses && i < spec.n_post)
}

/// Row pointers of `n` synapses whose pairs are uniform over the candidate
/// pairs: the row lengths are multinomial with probabilities proportional
/// to the candidates of each row, drawn from `rng` as conditional binomials
/// row by row (as NEST splits `fixed_total_number` over processes).
fn total_number_rows(
    spec: &BuildSpec<'_>,
    n: u64,
    rng: &mut Stream,
    hook: &mut dyn FnMut() -> Result<()>,
) -> Result<Vec<u64>> {
    let mut pairs_left: u64 = (0..spec.n_pre).map(|i| candidates(spec, i)).sum();
    let mut left = n;
    let mut indptr = Vec::with_capacity(spec.n_pre as usize + 1);
    indptr.push(0u64);
    let mut at = 0u64;
    for i in 0..spec.n_pre {
        if i % 4096 == 0 {
            hook()?;
        }
        let c = candidates(spec, i);
        let count = if left == 0 || c == 0 {
            0
        } else if c >= pairs_left {
            left
        } else {
            Binomial::new(left, c as f64 / pairs_left as f64)
                .expect("0 < p < 1")
                .sample(rng)
        };
        left -= count;
        pairs_left -= c;
        at += count;
        indptr.push(at);
    }
    Ok(indptr)
}

/// Draw `row.len()` targets of source `i` uniformly (multapses allowed,
/// autapses redrawn unless allowed) from `rng`, in draw order.
#[inline]
fn draw_targets(spec: &BuildSpec<'_>, i: u32, rng: &mut Stream, row: &mut [u32]) {
    for x in row.iter_mut() {
        loop {
            let j = rng.random_range(0..spec.n_post);
            if spec.allow_autapses || i != j {
                *x = j;
                break;
            }
        }
    }
}

/// Sort `row` ascending, all values `< 2^bits`: a least-significant-digit
/// radix sort by bytes for long rows (a few linear passes instead of
/// `n log n` unpredictable comparisons), `sort_unstable` for short ones.
fn sort_row(row: &mut [u32], bits: u32) {
    const SHORT: usize = 96;
    if row.len() <= SHORT {
        row.sort_unstable();
        return;
    }
    let mut scratch = vec![0u32; row.len()];
    let passes = bits.div_ceil(8).max(1);
    let (mut from, mut to) = (&mut *row, &mut scratch[..]);
    for pass in 0..passes {
        let shift = 8 * pass;
        let mut offsets = [0usize; 257];
        for &x in from.iter() {
            offsets[((x >> shift) & 0xff) as usize + 1] += 1;
        }
        for d in 0..256 {
            offsets[d + 1] += offsets[d];
        }
        for &x in from.iter() {
            let slot = &mut offsets[((x >> shift) & 0xff) as usize];
            to[*slot] = x;
            *slot += 1;
        }
        std::mem::swap(&mut from, &mut to);
    }
    if passes % 2 == 1 {
        // The sorted values are in the scratch buffer (`from`); `to` is `row`.
        to.copy_from_slice(from);
    }
}

/// The sparsity pattern of `spec`'s rule: row pointers and targets, sorted
/// within each row. Rules whose rows are independent (fixed total number,
/// fixed out-degree, all-to-all) are drawn row by row in parallel, each row
/// from the stream of its source; the others through [`pattern_from_pairs`].
fn pattern(
    spec: &BuildSpec<'_>,
    streams: &Streams<'_>,
    pool: Option<&rayon::ThreadPool>,
    hook: &mut dyn FnMut() -> Result<()>,
) -> Result<(Vec<u64>, Vec<u32>)> {
    let n_pre = spec.n_pre;
    let indptr: Vec<u64> = match *spec.rule {
        Rule::FixedTotalNumber { n } => {
            total_number_rows(spec, n, &mut streams.pairs.clone(), hook)?
        }
        Rule::FixedOutdegree { k } => {
            if u64::from(n_pre)
                .checked_mul(k)
                .is_none_or(|t| t > usize::MAX as u64 / 16)
            {
                return Err(Error::invalid(
                    "outdegree",
                    k,
                    format!("{n_pre} sources x {k} synapses do not fit in memory"),
                ));
            }
            (0..=u64::from(n_pre)).map(|i| i * k).collect()
        }
        Rule::AllToAll => {
            let mut at = 0;
            std::iter::once(0)
                .chain((0..n_pre).map(|i| {
                    at += candidates(spec, i);
                    at
                }))
                .collect()
        }
        _ => {
            return pattern_from_pairs(n_pre, hook, |hook, emit| {
                generate(spec, streams, hook, emit)
            });
        }
    };
    let total = usize::try_from(indptr[n_pre as usize]).map_err(|_| {
        Error::invalid(
            "total_number",
            indptr[n_pre as usize],
            "does not fit in memory",
        )
    })?;
    let mut indices = vec![0u32; total];
    // A zero-sized companion array: no memory, rows split like `indices`.
    let mut none = vec![(); total];
    let all_to_all = *spec.rule == Rule::AllToAll;
    let bits = u32::BITS - spec.n_post.saturating_sub(1).leading_zeros();
    for_each_row(&indptr, &mut indices, &mut none, pool, hook, |i, row, _| {
        if all_to_all {
            let targets = (0..spec.n_post).filter(|&j| spec.allow_autapses || i != j);
            for (x, j) in row.iter_mut().zip(targets) {
                *x = j;
            }
        } else {
            // Fixed out-degree draws exactly as `generate` did (the stream
            // of the source, in draw order); both rules then sort the row.
            draw_targets(spec, i, &mut (streams.source)(i), row);
            sort_row(row, bits);
        }
    })?;
    Ok((indptr, indices))
}

/// Build a projection of `spec` from `streams`, on `pool` when given,
/// calling `hook` every few thousand rows or draws (its error stops the
/// build).
///
/// The pattern comes from [`pattern`]. Weights and delays are then drawn row
/// by row: row `i` from `streams.values(i)`, its weights in CSR order, then
/// its delays (constant distributions draw nothing).
pub fn build(
    spec: &BuildSpec<'_>,
    streams: &Streams<'_>,
    pool: Option<&rayon::ThreadPool>,
    hook: Hook<'_>,
) -> Result<Csr> {
    validate_rule(spec.rule, spec.n_pre, spec.n_post, spec.allow_autapses)?;
    spec.weight.validate("weight")?;
    validate_delay(spec.delay_ms, spec.dt_ms)?;

    let (indptr, indices) = pattern(spec, streams, pool, hook)?;
    let total = indices.len();
    let (weight, delay) = (Sampler::new(spec.weight), Sampler::new(spec.delay_ms));
    let dt_ms = spec.dt_ms;
    let (mut weight_values, mut delay_steps);
    if weight.is_constant() && delay.is_constant() {
        weight_values = vec![weight.sample(&mut streams.pairs.clone()) as f32; total];
        delay_steps = vec![delay_to_steps(delay.sample(&mut streams.pairs.clone()), dt_ms); total];
    } else {
        weight_values = vec![0f32; total];
        delay_steps = vec![0u16; total];
        for_each_row(
            &indptr,
            &mut weight_values,
            &mut delay_steps,
            pool,
            hook,
            |i, w, d| {
                let mut rng = (streams.values)(i);
                for x in w.iter_mut() {
                    *x = weight.sample(&mut rng) as f32;
                }
                for x in d.iter_mut() {
                    *x = delay_to_steps(delay.sample(&mut rng), dt_ms);
                }
            },
        )?;
    }
    Ok(Csr {
        indptr,
        indices,
        weight: weight_values,
        delay_steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    fn streams_for<'a>(
        target: &'a (dyn Fn(u32) -> Stream + Sync),
        source: &'a (dyn Fn(u32) -> Stream + Sync),
        values: &'a (dyn Fn(u32) -> Stream + Sync),
    ) -> Streams<'a> {
        Streams {
            pairs: rng::stream(7, &[0]),
            target,
            source,
            values,
        }
    }

    fn build_with(rule: &Rule, n_pre: u32, n_post: u32, autapses: bool, threads: usize) -> Csr {
        let target = |j: u32| rng::stream(7, &[2, u64::from(j)]);
        let source = |i: u32| rng::stream(7, &[3, u64::from(i)]);
        let values = |i: u32| rng::stream(7, &[1, u64::from(i)]);
        let streams = streams_for(&target, &source, &values);
        let weight = Dist::Normal {
            mean: 87.8,
            std: 8.78,
            low: 0.0,
            high: f64::INFINITY,
        };
        let delay = Dist::Normal {
            mean: 1.5,
            std: 0.75,
            low: 0.1,
            high: f64::INFINITY,
        };
        let spec = BuildSpec {
            rule,
            n_pre,
            n_post,
            allow_autapses: autapses,
            weight: &weight,
            delay_ms: &delay,
            dt_ms: 0.1,
        };
        let pool = (threads > 1).then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
        });
        build(&spec, &streams, pool.as_ref(), &mut || Ok(())).unwrap()
    }

    #[test]
    fn radix_sort_matches_comparison_sort() {
        let mut r = rng::stream(1, &[]);
        for bits in [1u32, 7, 8, 9, 15, 16, 17, 24, 31, 32] {
            for len in [0usize, 1, 95, 96, 97, 1000, 5000] {
                let max = if bits == 32 {
                    u32::MAX
                } else {
                    (1u32 << bits) - 1
                };
                let mut row: Vec<u32> = (0..len).map(|_| r.random_range(0..=max)).collect();
                let mut expected = row.clone();
                expected.sort_unstable();
                sort_row(&mut row, bits);
                assert_eq!(row, expected, "bits {bits}, len {len}");
            }
        }
    }

    #[test]
    fn row_wise_builds_do_not_depend_on_threads_or_chunks() {
        // 4.5 M synapses: several work chunks of CHUNK_SYNAPSES.
        for (rule, autapses) in [
            (Rule::FixedTotalNumber { n: 4_500_000 }, false),
            (Rule::FixedOutdegree { k: 15_000 }, true),
            (Rule::AllToAll, false),
        ] {
            let one = build_with(&rule, 300, 300, autapses, 1);
            let two = build_with(&rule, 300, 300, autapses, 2);
            assert!(one.len() > 2 * CHUNK_SYNAPSES as usize || rule == Rule::AllToAll);
            assert_eq!(one.indptr, two.indptr, "{rule:?}");
            assert_eq!(one.indices, two.indices, "{rule:?}");
            assert_eq!(one.weight, two.weight, "{rule:?}");
            assert_eq!(one.delay_steps, two.delay_steps, "{rule:?}");
            for i in 0..300 {
                let row = &one.indices[one.indptr[i] as usize..one.indptr[i + 1] as usize];
                assert!(row.windows(2).all(|w| w[0] <= w[1]), "row {i} sorted");
                assert!(
                    autapses || !row.contains(&(i as u32)),
                    "no autapse in row {i}"
                );
            }
        }
    }

    /// Pearson's chi-square statistic of `counts` against expectations
    /// proportional to `weights`, and its degrees of freedom.
    fn chi_square(counts: &[u64], weights: &[f64]) -> (f64, f64) {
        let total = counts.iter().sum::<u64>() as f64;
        let norm: f64 = weights.iter().sum();
        let stat = counts
            .iter()
            .zip(weights)
            .map(|(&c, &w)| {
                let e = total * w / norm;
                (c as f64 - e).powi(2) / e
            })
            .sum();
        (stat, (counts.len() - 1) as f64)
    }

    #[test]
    fn fixed_total_number_is_uniform_over_candidate_pairs() {
        // NEST's fixed_total_number: n pairs drawn uniformly and
        // independently among the candidate pairs (no autapses here), so
        // the pair counts are multinomial with equal probabilities. Pearson's
        // statistic then follows chi-square with (cells - 1) degrees of
        // freedom: mean dof, std sqrt(2 dof). Bounds at 5 std on either side
        // (a seeded draw, but the bounds hold for almost every seed); the
        // lower one catches draws that are too even (e.g. equal rows).
        let (n_pre, n_post, n) = (50u32, 40u32, 1_000_000u64);
        let csr = build_with(&Rule::FixedTotalNumber { n }, n_pre, n_post, false, 1);
        assert_eq!(csr.len() as u64, n);
        let mut cells = vec![0u64; (n_pre * n_post) as usize];
        let mut rows = vec![0u64; n_pre as usize];
        for i in 0..n_pre as usize {
            for &j in &csr.indices[csr.indptr[i] as usize..csr.indptr[i + 1] as usize] {
                assert_ne!(i as u32, j);
                cells[i * n_post as usize + j as usize] += 1;
                rows[i] += 1;
            }
        }
        // Drop the diagonal (never a candidate).
        let cells: Vec<u64> = cells
            .iter()
            .enumerate()
            .filter(|&(c, _)| c / n_post as usize != c % n_post as usize)
            .map(|(_, &x)| x)
            .collect();
        // Rows 40.. have 40 candidates, rows ..40 have 39 (no autapse).
        let row_weights: Vec<f64> = (0..n_pre)
            .map(|i| if i < n_post { 39.0 } else { 40.0 })
            .collect();
        for (counts, weights) in [
            (&cells[..], &vec![1.0; cells.len()][..]),
            (&rows[..], &row_weights[..]),
        ] {
            let (stat, dof) = chi_square(counts, weights);
            let sd = (2.0 * dof).sqrt();
            assert!((stat - dof).abs() < 5.0 * sd, "chi2 {stat} for {dof} dof");
        }
    }

    #[test]
    fn drawn_weights_and_delays_follow_their_distributions() {
        // Clipped normal weights (clipping at 10 std is negligible): mean
        // 87.8, std 8.78 within 5 standard errors; delays drawn from
        // N(1.5, 0.75) truncated below at 0.1 ms, rounded to 0.1 ms steps.
        let csr = build_with(&Rule::FixedTotalNumber { n: 400_000 }, 200, 200, true, 2);
        let n = csr.len() as f64;
        let mean = csr.weight.iter().map(|&w| f64::from(w)).sum::<f64>() / n;
        let var = csr
            .weight
            .iter()
            .map(|&w| (f64::from(w) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!((mean - 87.8).abs() < 5.0 * 8.78 / n.sqrt(), "mean {mean}");
        assert!(
            (var.sqrt() - 8.78).abs() < 5.0 * 8.78 / (2.0 * n).sqrt(),
            "std {}",
            var.sqrt()
        );
        assert!(csr.delay_steps.iter().all(|&d| d >= 1));
        // Truncated-normal mean: mu + sigma phi(a) / (1 - Phi(a)), a = -1.8667;
        // phi(a) = 0.06987, 1 - Phi(a) = 0.96903 -> 1.55408 ms. Rounding to
        // the grid moves it by far less than 5 standard errors (0.006 ms).
        let d_mean = csr
            .delay_steps
            .iter()
            .map(|&d| f64::from(d) * 0.1)
            .sum::<f64>()
            / n;
        assert!(
            (d_mean - 1.55408).abs() < 5.0 * 0.75 / n.sqrt() + 0.002,
            "delay mean {d_mean}"
        );
    }
}
