//! Connection rules: the seeded builders that draw a projection's synapses
//! (NEST's connection rules, weight and delay distributions) into a
//! [`Csr`], whose storage lives in [`crate::csr`].

use rand::RngExt;
use rand_distr::{Distribution, Normal};

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
    /// Pairs of rules that draw globally (fixed probability, total number).
    pub pairs: Stream,
    /// Weights and delays, in CSR order.
    pub values: Stream,
    /// The stream of target neuron `j` (local index), for rules that draw
    /// per target (fixed in-degree).
    pub target: &'a dyn Fn(u32) -> Stream,
    /// The stream of source neuron `i` (local index), for rules that draw
    /// per source (fixed out-degree).
    pub source: &'a dyn Fn(u32) -> Stream,
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

/// Draw synapse pairs of `rule`, calling `emit(pre, post)` for each, in a
/// deterministic order given the streams. Used twice with the same streams
/// by [`build`] (through [`pattern_from_pairs`]): once to count row
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
        Rule::AllToAll => {
            for i in 0..n_pre {
                tick(hook, u64::from(n_post))?;
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
                tick(hook, k.max(1))?;
                let mut rng = (streams.target)(j);
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
        Rule::FixedOutdegree { k } => {
            for i in 0..n_pre {
                tick(hook, k.max(1))?;
                let mut rng = (streams.source)(i);
                let mut made = 0;
                while made < k {
                    let j = rng.random_range(0..n_post);
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
                tick(hook, 1)?;
                let i = rng.random_range(0..n_pre);
                let j = rng.random_range(0..n_post);
                if autapse_ok(i, j) {
                    emit(i, j);
                    made += 1;
                }
            }
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

/// Build a projection of `spec` from `streams`, calling `hook` every few
/// thousand rows or draws (its error stops the build).
///
/// The pair sequence is generated twice (count, then fill; see
/// [`pattern_from_pairs`]). Weights and delays are then drawn in CSR order
/// from `streams.values`.
pub fn build(spec: &BuildSpec<'_>, streams: &Streams<'_>, hook: Hook<'_>) -> Result<Csr> {
    let (n_pre, n_post) = (spec.n_pre, spec.n_post);
    validate_rule(spec.rule, n_pre, n_post, spec.allow_autapses)?;
    spec.weight.validate("weight")?;
    validate_delay(spec.delay_ms, spec.dt_ms)?;

    let (indptr, indices) = pattern_from_pairs(n_pre, hook, |hook, emit| {
        generate(spec, streams, hook, emit)
    })?;
    let total = indices.len();
    let mut rng = streams.values.clone();
    let mut weight_values = Vec::with_capacity(total);
    for k in 0..total {
        if k as u64 % HOOK_EVERY == 0 {
            hook()?;
        }
        weight_values.push(spec.weight.sample(&mut rng) as f32);
    }
    let mut delay_steps = Vec::with_capacity(total);
    for k in 0..total {
        if k as u64 % HOOK_EVERY == 0 {
            hook()?;
        }
        delay_steps.push(delay_to_steps(spec.delay_ms.sample(&mut rng), spec.dt_ms));
    }
    Ok(Csr {
        indptr,
        indices,
        weight: weight_values,
        delay_steps,
    })
}
