//! Synaptic plasticity of projections: pair-based STDP, reward-modulated
//! (three-factor) STDP, BCM and Oja.
//!
//! Spike-timing rules are event-driven: a synapse is touched only when a
//! presynaptic spike *arrives* at it (after its delay, as Brian2's `on_pre`)
//! or when its postsynaptic neuron spikes (Brian2's `on_post`), never by a
//! loop over all synapses every step. Traces decay lazily: each stores its
//! value and the time it was last updated, and is decayed in closed form
//! when next read. Postsynaptic spikes reach their synapses through a
//! by-postsynaptic index (a CSC permutation of the CSR synapse arrays).
//!
//! Synapses of one presynaptic neuron with one delay receive the same
//! arrivals, so their presynaptic traces are equal: one trace per such
//! *group* is kept (one per presynaptic neuron when all delays are equal),
//! and arrivals are queued per group. This keeps the traces that the
//! post-side loop reads in a small array (per synapse, they are scattered
//! over the whole projection and every read misses cache) and takes one
//! queue entry per spike and delay instead of one per synapse; the results
//! are those of per-synapse traces, bit for bit. The remaining scattered
//! reads (a spiking neuron's column of weights; the arriving rows) are
//! issued first in tight loops, so their cache misses overlap
//! (`benches/README.md`, plasticity, has the measurements).
//!
//! Within a step, arrivals are handled before postsynaptic spikes (Brian2's
//! order of the `pre` and `post` pathways), and a spike transmits the weight
//! it finds on arrival, before its own update (`ge += w` first in Brian2).
//!
//! Rate rules (BCM, Oja) read exponentially filtered spike trains and update
//! every weight of the projection once per `interval_ms` (see [`RateParams`]).
//!
//! Traces keep the step of their last update and decay by a table of
//! `exp(-n dt / tau)` (exact `exp` past 8 tau); reward-modulated STDP keeps
//! times in ms (`t = step * dt_ms`).

#[cfg(test)]
mod tests;

use crate::csr::Csr;
use crate::validate::{finite, non_negative, positive, steps_exact, unit_interval};
use crate::{Error, Result};

/// How a weight change depends on the current weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightDependence {
    /// `dw+ = a_plus x`, `dw- = -a_minus y` (Song, Miller & Abbott 2000),
    /// with hard bounds `[0, w_max]`.
    Additive,
    /// `dw+ = a_plus (1 - w/w_max) x`, `dw- = -a_minus (w/w_max) y`: soft
    /// bounds, Gütig et al. (2003) with `mu = 1` (van Rossum, Bi &
    /// Turrigiano 2000 make depression proportional to `w` in the same way).
    Multiplicative,
}

impl std::str::FromStr for WeightDependence {
    type Err = Error;

    /// `"additive"` or `"multiplicative"`.
    fn from_str(name: &str) -> Result<Self> {
        match name {
            "additive" => Ok(Self::Additive),
            "multiplicative" => Ok(Self::Multiplicative),
            _ => Err(Error::invalid(
                "weight_dependence",
                name,
                "must be 'additive' or 'multiplicative'",
            )),
        }
    }
}

/// Which spike pairs a spike-timing rule sums over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traces {
    /// Every pre spike pairs with every post spike: traces add 1 per spike.
    AllToAll,
    /// Symmetric nearest-neighbour: each spike pairs only with the nearest
    /// spike of the other side before it; traces are reset to 1 per spike
    /// (Morrison, Diesmann & Gerstner 2008, Biol Cybern 98:459, Fig. 7B).
    Nearest,
}

/// Pair-based STDP parameters. Weight changes are in the unit of the
/// projection's weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StdpParams {
    /// Potentiation amplitude (> 0, weight unit): a pre spike followed by a
    /// post spike `dt` later adds `a_plus exp(-dt / tau_plus_ms)`.
    pub a_plus: f64,
    /// Depression amplitude (> 0, weight unit): a post spike followed by a
    /// pre arrival `dt` later subtracts `a_minus exp(-dt / tau_minus_ms)`.
    pub a_minus: f64,
    /// Potentiation window (ms, > 0).
    pub tau_plus_ms: f64,
    /// Depression window (ms, > 0).
    pub tau_minus_ms: f64,
    /// Upper weight bound (> 0); the lower bound is 0.
    pub w_max: f64,
    /// Weight dependence of the update.
    pub weight_dependence: WeightDependence,
    /// Pairing scheme.
    pub traces: Traces,
}

/// Reward-modulated STDP (Izhikevich 2007, Cereb Cortex 17:2443).
///
/// Additive all-to-all STDP pairs feed an eligibility trace `c` per synapse
/// instead of the weight; `dc/dt = -c / tau_c_ms`, the dopamine
/// concentration `d` decays with `tau_d_ms` and jumps by
/// [`crate::engine::Network::add_dopamine`]; `dw/dt = c d` (per ms), with
/// hard bounds `[0, w_max]`. Between events `c` and `d` decay exponentially,
/// so the weight change over an interval is integrated in closed form.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RstdpParams {
    /// Eligibility increment of a pre-before-post pair (> 0).
    pub a_plus: f64,
    /// Eligibility decrement of a post-before-pre pair (> 0).
    pub a_minus: f64,
    /// Potentiation window (ms, > 0).
    pub tau_plus_ms: f64,
    /// Depression window (ms, > 0).
    pub tau_minus_ms: f64,
    /// Eligibility time constant (ms, > 0; 1000 in the paper).
    pub tau_c_ms: f64,
    /// Dopamine time constant (ms, > 0; 200 in the paper).
    pub tau_d_ms: f64,
    /// Upper weight bound (> 0).
    pub w_max: f64,
}

/// STDP accumulated into a per-synapse derivative `sd` that moves the
/// weight only at fixed intervals, as in Izhikevich (2006, Neural Comput
/// 18:245) `spnet`: pairs change `sd` (nearest-neighbour traces, additive);
/// every `interval_ms`, `w += drift + sd`, `sd *= sd_decay`, `w` clipped to
/// `[0, w_max]`. As in `spnet`, a step's postsynaptic spikes are handled
/// before its arrivals, so a pair at the same step depresses (lag 0 on the
/// depression side, lags >= 1 step on the potentiation side).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DerivativeStdpParams {
    /// `sd` increment of a pre-before-post pair at lag 0 (spnet: 0.1).
    pub a_plus: f64,
    /// `sd` decrement of a post-before-pre pair at lag 0 (spnet: 0.12).
    pub a_minus: f64,
    /// Potentiation window (ms; spnet: `-1 / ln 0.95` = 19.5 ms).
    pub tau_plus_ms: f64,
    /// Depression window (ms).
    pub tau_minus_ms: f64,
    /// Upper weight bound (spnet: 10).
    pub w_max: f64,
    /// Interval between weight updates (ms; spnet: 1000).
    pub interval_ms: f64,
    /// Constant added to every weight per update (spnet: 0.01).
    pub drift: f64,
    /// Factor applied to `sd` after each update (spnet: 0.9).
    pub sd_decay: f64,
}

impl std::str::FromStr for Traces {
    type Err = Error;

    /// `"all_to_all"` or `"nearest"`.
    fn from_str(name: &str) -> Result<Self> {
        match name {
            "all_to_all" => Ok(Self::AllToAll),
            "nearest" => Ok(Self::Nearest),
            _ => Err(Error::invalid(
                "traces",
                name,
                "must be 'all_to_all' or 'nearest'",
            )),
        }
    }
}

/// Which rate rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateRule {
    /// `dw/dt = eta x y (y - theta)`, `theta` tracking `<y^2>` (Bienenstock,
    /// Cooper & Munro 1982, in the form of Intrator & Cooper 1992).
    Bcm,
    /// `dw/dt = eta y (x - y w / w_max) w_max` (Oja 1982).
    Oja,
}

impl std::str::FromStr for RateRule {
    type Err = Error;

    /// `"bcm"` or `"oja"`.
    fn from_str(name: &str) -> Result<Self> {
        match name {
            "bcm" => Ok(Self::Bcm),
            "oja" => Ok(Self::Oja),
            _ => Err(Error::invalid("rule", name, "must be 'bcm' or 'oja'")),
        }
    }
}

/// Parameters of the rate rules (BCM, Oja).
///
/// Rates are estimated per neuron by an exponential filter of its spike
/// train, `r(t) = sum_f exp(-(t - t_f) / tau_rate_ms) / tau_rate_ms` (Hz
/// after scaling; its mean is the firing rate of a stationary train),
/// presynaptic trains at emission (delays ignored). Rates enter the rules
/// normalised, `x = r_pre / rate_ref_hz`, `y = r_post / rate_ref_hz`. Every
/// `interval_ms` all weights of the projection take one Euler step of length
/// `interval_ms` with the filtered rates of that moment, then are clipped to
/// `[0, w_max]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateParams {
    /// Which rule.
    pub rule: RateRule,
    /// Learning rate (weight unit per second for BCM; per second for Oja,
    /// which works on `w / w_max`) (> 0).
    pub learning_rate: f64,
    /// Rate-filter time constant (ms, > 0).
    pub tau_rate_ms: f64,
    /// BCM threshold time constant (ms, > 0): `theta` relaxes to `y^2`.
    pub tau_theta_ms: f64,
    /// Reference rate normalising rates (Hz, > 0).
    pub rate_ref_hz: f64,
    /// Interval between weight updates (ms, > 0, multiple of dt).
    pub interval_ms: f64,
    /// Upper weight bound (> 0).
    pub w_max: f64,
}

/// A plasticity rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// Pair-based STDP.
    Stdp(StdpParams),
    /// Reward-modulated STDP.
    Rstdp(RstdpParams),
    /// BCM or Oja.
    Rate(RateParams),
    /// STDP into a derivative applied at intervals (Izhikevich 2006).
    DerivativeStdp(DerivativeStdpParams),
}

impl Rule {
    /// Upper weight bound.
    pub fn w_max(&self) -> f64 {
        match self {
            Rule::Stdp(p) => p.w_max,
            Rule::Rstdp(p) => p.w_max,
            Rule::Rate(p) => p.w_max,
            Rule::DerivativeStdp(p) => p.w_max,
        }
    }

    /// Update interval of rules that update at intervals.
    fn interval_ms(&self) -> Option<f64> {
        match self {
            Rule::Rate(p) => Some(p.interval_ms),
            Rule::DerivativeStdp(p) => Some(p.interval_ms),
            _ => None,
        }
    }

    /// Check every parameter, naming the bad one.
    pub fn validate(&self, dt_ms: f64) -> Result<()> {
        match self {
            Rule::Stdp(p) => {
                positive("a_plus", p.a_plus)?;
                positive("a_minus", p.a_minus)?;
                positive("tau_plus_ms", p.tau_plus_ms)?;
                positive("tau_minus_ms", p.tau_minus_ms)?;
                positive("w_max", p.w_max)?;
            }
            Rule::Rstdp(p) => {
                positive("a_plus", p.a_plus)?;
                positive("a_minus", p.a_minus)?;
                positive("tau_plus_ms", p.tau_plus_ms)?;
                positive("tau_minus_ms", p.tau_minus_ms)?;
                positive("tau_c_ms", p.tau_c_ms)?;
                positive("tau_d_ms", p.tau_d_ms)?;
                positive("w_max", p.w_max)?;
            }
            Rule::Rate(p) => {
                positive("learning_rate", p.learning_rate)?;
                positive("tau_rate_ms", p.tau_rate_ms)?;
                positive("tau_theta_ms", p.tau_theta_ms)?;
                positive("rate_ref_hz", p.rate_ref_hz)?;
                positive("w_max", p.w_max)?;
                steps_exact("interval_ms", p.interval_ms, dt_ms)?;
                positive("interval_ms", p.interval_ms)?;
            }
            Rule::DerivativeStdp(p) => {
                positive("a_plus", p.a_plus)?;
                positive("a_minus", p.a_minus)?;
                positive("tau_plus_ms", p.tau_plus_ms)?;
                positive("tau_minus_ms", p.tau_minus_ms)?;
                positive("w_max", p.w_max)?;
                finite("drift", p.drift)?;
                unit_interval("sd_decay", p.sd_decay)?;
                steps_exact("interval_ms", p.interval_ms, dt_ms)?;
                positive("interval_ms", p.interval_ms)?;
            }
        }
        Ok(())
    }
}

/// Decay factors `exp(-n dt / tau)` for lags of `n` steps: a table for the
/// lags that matter (up to 8 tau), `exp` beyond (still exact).
#[derive(Clone, Debug, Default)]
struct Decay {
    table: Vec<f64>,
    dt_over_tau: f64,
}

impl Decay {
    fn new(tau_ms: f64, dt_ms: f64) -> Self {
        let dt_over_tau = dt_ms / tau_ms;
        let len = ((8.0 / dt_over_tau).ceil() as usize).clamp(1, 1 << 16);
        Self {
            table: (0..len)
                .map(|n| (-(n as f64) * dt_over_tau).exp())
                .collect(),
            dt_over_tau,
        }
    }

    #[inline]
    fn factor(&self, steps: u64) -> f64 {
        match self.table.get(steps as usize) {
            Some(&f) => f,
            None => (-(steps as f64) * self.dt_over_tau).exp(),
        }
    }
}

/// A lazily decaying trace: `value` at step `step`.
#[derive(Clone, Copy, Debug, Default)]
struct Lazy {
    value: f64,
    step: u64,
}

impl Lazy {
    #[inline]
    fn at(&self, s: u64, decay: &Decay) -> f64 {
        if self.value == 0.0 {
            0.0
        } else {
            self.value * decay.factor(s - self.step)
        }
    }

    /// Decay to step `s`, then add `inc` (all-to-all) or reset to `inc`.
    #[inline]
    fn bump(&mut self, s: u64, decay: &Decay, inc: f64, reset: bool) {
        self.value = if reset { inc } else { self.at(s, decay) + inc };
        self.step = s;
    }
}

/// Per-synapse state of reward-modulated STDP.
#[derive(Clone, Debug, Default)]
struct Eligibility {
    /// Eligibility `c` at `t_ms[k]`.
    c: Vec<f64>,
    /// Time up to which synapse `k`'s weight is integrated.
    t_ms: Vec<f64>,
    /// Dopamine concentration `d` at `d_t_ms` (no jumps since then).
    d: f64,
    d_t_ms: f64,
}

/// Per-neuron state of the rate rules.
#[derive(Clone, Debug, Default)]
struct Rates {
    pre: Vec<Lazy>,
    post: Vec<Lazy>,
    theta: Vec<f64>,
    /// Steps until the next weight update.
    countdown: u64,
    interval_steps: u64,
}

/// An incoming synapse of a postsynaptic neuron, in the by-postsynaptic
/// index: the synapse (CSR order) and its presynaptic trace group.
#[derive(Clone, Copy, Debug)]
struct Incoming {
    syn: u32,
    group: u32,
}

/// The plastic state of one projection.
#[derive(Clone, Debug)]
pub struct Plasticity {
    /// The rule.
    pub rule: Rule,
    /// Current weights in CSR order (f64; the CSR's f32 copy is synced
    /// after each run).
    pub w: Vec<f64>,
    /// Multiplies every weight change (>= 0; neuromodulator gating).
    pub scale: f64,
    /// CSC column pointers (length n_post + 1) into `csc`.
    cscptr: Vec<usize>,
    /// Synapses (CSR order, with their trace group) sorted by postsynaptic
    /// neuron, ascending CSR index within a neuron.
    csc: Vec<Incoming>,
    /// Trace groups of presynaptic neuron `i`: `row_groups[i]..row_groups[i + 1]`.
    row_groups: Vec<u32>,
    /// Synapses of group `g`: `gsyn[gptr[g]..gptr[g + 1]]`.
    gptr: Vec<u32>,
    /// Synapse indices (CSR order) by group: by presynaptic neuron, then
    /// delay, then CSR index; empty when that is the CSR order itself.
    gsyn: Vec<u32>,
    /// Delay (steps) of each group.
    gdelay: Vec<u16>,
    /// Presynaptic trace per group (STDP, R-STDP, derivative STDP).
    pre: Vec<Lazy>,
    /// Postsynaptic trace per postsynaptic neuron (STDP, R-STDP).
    post: Vec<Lazy>,
    elig: Eligibility,
    rates: Rates,
    /// Arrival queue: slot `s % len` holds the groups whose pre spike
    /// arrives at step `s`.
    arrivals: Vec<Vec<u32>>,
    /// Presynaptic neuron of each synapse (rate rules).
    pre_of: Vec<u32>,
    /// Weight derivative per synapse (derivative STDP).
    sd: Vec<f64>,
    /// Decay of the presynaptic trace (STDP) or of the rate filter.
    decay_plus: Decay,
    /// Decay of the postsynaptic trace (STDP).
    decay_minus: Decay,
    /// Scratch: the weights of one postsynaptic neuron's synapses.
    gather: Vec<f64>,
}

impl Plasticity {
    /// Plastic state for `csr` (whose weights must lie in `[0, w_max]`).
    pub fn new(rule: Rule, csr: &Csr, n_post: u32, dt_ms: f64) -> Result<Self> {
        rule.validate(dt_ms)?;
        let w_max = rule.w_max();
        let w: Vec<f64> = csr.weight.iter().map(|&x| f64::from(x)).collect();
        if let Some((k, &x)) = w
            .iter()
            .enumerate()
            .find(|(_, &x)| !(0.0..=w_max).contains(&x))
        {
            return Err(Error::invalid(
                format!("weight[{k}]"),
                x,
                format!("initial weights of a plastic projection must lie in [0, w_max = {w_max}]"),
            ));
        }
        if csr.len() > u32::MAX as usize {
            return Err(Error::invalid(
                "projection",
                csr.len(),
                "plasticity supports at most 2**32 - 1 synapses per projection",
            ));
        }
        let n_post = n_post as usize;
        let mut cscptr = vec![0usize; n_post + 1];
        for &j in &csr.indices {
            cscptr[j as usize + 1] += 1;
        }
        for j in 0..n_post {
            cscptr[j + 1] += cscptr[j];
        }
        // Trace groups: per presynaptic neuron, its synapses by delay.
        let n_syn = csr.len();
        let mut row_groups = Vec::with_capacity(csr.n_pre() + 1);
        let mut gptr = vec![0u32];
        let mut gsyn: Vec<u32> = (0..n_syn as u32).collect();
        let mut gdelay = Vec::new();
        let mut group_of = vec![0u32; n_syn];
        row_groups.push(0u32);
        for i in 0..csr.n_pre() {
            let (lo, hi) = (csr.indptr[i] as usize, csr.indptr[i + 1] as usize);
            let row = &mut gsyn[lo..hi];
            // Stable: CSR order within a delay.
            row.sort_by_key(|&k| csr.delay_steps[k as usize]);
            for (idx, &k) in row.iter().enumerate() {
                let d = csr.delay_steps[k as usize];
                if idx == 0 || gdelay.last() != Some(&d) {
                    if idx > 0 {
                        gptr.push((lo + idx) as u32);
                    }
                    gdelay.push(d);
                }
                group_of[k as usize] = (gdelay.len() - 1) as u32;
            }
            if hi > lo {
                gptr.push(hi as u32);
            }
            row_groups.push(gdelay.len() as u32);
        }
        let n_groups = gdelay.len();
        if gsyn.iter().enumerate().all(|(idx, &k)| k as usize == idx) {
            // Delays ascending within every row (always with one delay):
            // groups are CSR ranges; an empty `gsyn` stands for the identity.
            gsyn = Vec::new();
        }
        let mut fill = cscptr.clone();
        let mut csc = vec![Incoming { syn: 0, group: 0 }; n_syn];
        for (k, &j) in csr.indices.iter().enumerate() {
            csc[fill[j as usize]] = Incoming {
                syn: k as u32,
                group: group_of[k],
            };
            fill[j as usize] += 1;
        }
        let spike_timing = !matches!(rule, Rule::Rate(_));
        let mut elig = Eligibility::default();
        if let Rule::Rstdp(_) = rule {
            elig.c = vec![0.0; n_syn];
            elig.t_ms = vec![0.0; n_syn];
        }
        let mut rates = Rates::default();
        let mut pre_of = Vec::new();
        if let Some(interval_ms) = rule.interval_ms() {
            rates.interval_steps = steps_exact("interval_ms", interval_ms, dt_ms)?;
            rates.countdown = rates.interval_steps;
        }
        if let Rule::Rate(_) = rule {
            rates.pre = vec![Lazy::default(); csr.n_pre()];
            rates.post = vec![Lazy::default(); n_post];
            rates.theta = vec![0.0; n_post];
            pre_of = csr.to_coo().0;
        }
        let taus = match rule {
            Rule::Stdp(p) => (p.tau_plus_ms, p.tau_minus_ms),
            Rule::Rstdp(p) => (p.tau_plus_ms, p.tau_minus_ms),
            Rule::DerivativeStdp(p) => (p.tau_plus_ms, p.tau_minus_ms),
            Rule::Rate(p) => (p.tau_rate_ms, p.tau_rate_ms),
        };
        let sd = if let Rule::DerivativeStdp(_) = rule {
            vec![0.0; n_syn]
        } else {
            Vec::new()
        };
        Ok(Self {
            rule,
            w,
            scale: 1.0,
            cscptr,
            csc,
            row_groups,
            gptr,
            gsyn,
            gdelay,
            pre: if spike_timing {
                vec![Lazy::default(); n_groups]
            } else {
                Vec::new()
            },
            post: if spike_timing {
                vec![Lazy::default(); n_post]
            } else {
                Vec::new()
            },
            elig,
            rates,
            arrivals: vec![Vec::new(); usize::from(csr.max_delay()) + 1],
            pre_of,
            sd,
            decay_plus: Decay::new(taus.0, dt_ms),
            decay_minus: Decay::new(taus.1, dt_ms),
            gather: Vec::new(),
        })
    }

    /// Set the time at which the projection starts (R-STDP integrates
    /// weights from there).
    pub fn start_at(&mut self, t_ms: f64) {
        self.elig.t_ms.iter_mut().for_each(|t| *t = t_ms);
        self.elig.d_t_ms = t_ms;
    }

    /// Drop the activity of the projection at `t_ms` (an episode reset):
    /// integrate R-STDP weights up to now, then clear the arrival queue, the
    /// pre- and postsynaptic traces, eligibility traces, dopamine and the
    /// rate filters. Weights, BCM thresholds and the scale are kept.
    pub fn reset_activity(&mut self, t_ms: f64) {
        self.flush(t_ms);
        self.arrivals.iter_mut().for_each(Vec::clear);
        self.pre.iter_mut().for_each(|x| *x = Lazy::default());
        self.post.iter_mut().for_each(|x| *x = Lazy::default());
        self.elig.c.iter_mut().for_each(|c| *c = 0.0);
        self.elig.d = 0.0;
        self.elig.d_t_ms = t_ms;
        self.rates.pre.iter_mut().for_each(|x| *x = Lazy::default());
        self.rates
            .post
            .iter_mut()
            .for_each(|x| *x = Lazy::default());
        self.sd.iter_mut().for_each(|x| *x = 0.0);
    }

    /// Replace the weights (each in `[0, w_max]`, one per synapse).
    pub fn set_weights(&mut self, values: &[f64]) -> Result<()> {
        if values.len() != self.w.len() {
            return Err(Error::ShapeMismatch {
                name: "values".into(),
                expected: format!("({},)", self.w.len()),
                got: format!("({},)", values.len()),
            });
        }
        let w_max = self.rule.w_max();
        for (k, &x) in values.iter().enumerate() {
            finite(&format!("values[{k}]"), x)?;
            if !(0.0..=w_max).contains(&x) {
                return Err(Error::invalid(
                    format!("values[{k}]"),
                    x,
                    format!("must lie in [0, w_max = {w_max}]"),
                ));
            }
        }
        self.w.copy_from_slice(values);
        Ok(())
    }

    /// Bring every synapse up to `t_ms` (R-STDP: integrate `dw = c d dt`),
    /// so that a change of dopamine or scale applies from `t_ms` on.
    pub fn flush(&mut self, t_ms: f64) {
        if let Rule::Rstdp(p) = self.rule {
            for k in 0..self.w.len() {
                self.integrate(&p, k, t_ms);
            }
        }
    }

    /// Set the scale of weight changes from `t_ms` on.
    pub fn set_scale(&mut self, scale: f64, t_ms: f64) -> Result<()> {
        non_negative("scale", scale)?;
        self.flush(t_ms);
        self.scale = scale;
        Ok(())
    }

    /// Add `amount` to the dopamine concentration at `t_ms` (R-STDP only;
    /// other rules ignore it).
    pub fn add_dopamine(&mut self, amount: f64, t_ms: f64) {
        if let Rule::Rstdp(p) = self.rule {
            self.flush(t_ms);
            let d = self.elig.d * (-(t_ms - self.elig.d_t_ms) / p.tau_d_ms).exp();
            self.elig.d = d + amount;
            self.elig.d_t_ms = t_ms;
        }
    }

    /// Current dopamine concentration at `t_ms` (0 for other rules).
    pub fn dopamine(&self, t_ms: f64) -> f64 {
        match self.rule {
            Rule::Rstdp(p) => self.elig.d * (-(t_ms - self.elig.d_t_ms) / p.tau_d_ms).exp(),
            _ => 0.0,
        }
    }

    /// R-STDP: integrate synapse `k`'s weight to `t_ms` in closed form.
    ///
    /// With `c(u) = c_k e^{-u/tau_c}` and `d(u) = d_k e^{-u/tau_d}` on
    /// `[t_k, t]` (no dopamine jump inside: jumps flush first),
    /// `int c d du = c_k d_k tau_e (1 - e^{-T/tau_e})`,
    /// `1/tau_e = 1/tau_c + 1/tau_d`. `c d` keeps its sign on the interval,
    /// so clipping at the end equals clipping continuously.
    #[inline]
    fn integrate(&mut self, p: &RstdpParams, k: usize, t_ms: f64) {
        let span = t_ms - self.elig.t_ms[k];
        if span <= 0.0 {
            return;
        }
        let c = self.elig.c[k];
        if c != 0.0 {
            let d_k = self.elig.d * (-(self.elig.t_ms[k] - self.elig.d_t_ms) / p.tau_d_ms).exp();
            if d_k != 0.0 {
                let tau_e = 1.0 / (1.0 / p.tau_c_ms + 1.0 / p.tau_d_ms);
                let dw = c * d_k * tau_e * -(-span / tau_e).exp_m1();
                self.w[k] = (self.w[k] + self.scale * dw).clamp(0.0, p.w_max);
            }
            self.elig.c[k] = c * (-span / p.tau_c_ms).exp();
        }
        self.elig.t_ms[k] = t_ms;
    }

    /// Queue the trace groups of this step's presynaptic `spikes` for their
    /// arrival steps (the groups were built from the CSR in [`Plasticity::new`]).
    pub fn push_spikes(&mut self, spikes: &[u32], s: u64) {
        let len = self.arrivals.len();
        let base = (s % len as u64) as usize;
        for &i in spikes {
            let lo = self.row_groups[i as usize];
            let hi = self.row_groups[i as usize + 1];
            for g in lo..hi {
                let mut slot = base + usize::from(self.gdelay[g as usize]);
                if slot >= len {
                    slot -= len;
                }
                self.arrivals[slot].push(g);
            }
        }
    }

    /// Step `s` (time `t_ms`): transmit the arrivals of this step into
    /// `target` (the postsynaptic variable; `gate` = refractory counters for
    /// delta synapses), applying the pre-side update, then the post-side
    /// update for `post_spikes`, then (rate rules) the rate filters and, at
    /// the interval, the weight update.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        csr: &Csr,
        s: u64,
        t_ms: f64,
        pre_spikes: &[u32],
        post_spikes: &[u32],
        target: &mut [f64],
        gate: Option<&[f64]>,
    ) {
        // spnet order for derivative STDP: its post-spike loop runs before
        // delivery, so same-step pairs depress there (see the rule's docs).
        let post_first = matches!(self.rule, Rule::DerivativeStdp(_));
        if post_first {
            self.on_post(post_spikes, s, t_ms);
        }
        let slot = (s % self.arrivals.len() as u64) as usize;
        let mut arrivals = std::mem::take(&mut self.arrivals[slot]);
        self.on_pre(&arrivals, csr, s, t_ms, target, gate);
        arrivals.clear();
        self.arrivals[slot] = arrivals;
        if !post_first {
            self.on_post(post_spikes, s, t_ms);
        }
        match self.rule {
            Rule::Rate(p) => self.rate_step(&p, pre_spikes, post_spikes, s),
            Rule::DerivativeStdp(p) => {
                self.rates.countdown -= 1;
                if self.rates.countdown == 0 {
                    self.rates.countdown = self.rates.interval_steps;
                    for (w, sd) in self.w.iter_mut().zip(self.sd.iter_mut()) {
                        *w = (*w + self.scale * (p.drift + *sd)).clamp(0.0, p.w_max);
                        *sd *= p.sd_decay;
                    }
                }
            }
            _ => {}
        }
    }

    /// Weight derivatives `sd` (derivative STDP; empty for other rules).
    pub fn derivative(&self) -> &[f64] {
        &self.sd
    }

    /// Pre-side: each synapse of each arriving group transmits its weight
    /// into `target`, then takes its update; then the group's presynaptic
    /// trace takes the spike (no synapse update reads it).
    fn on_pre(
        &mut self,
        arrivals: &[u32],
        csr: &Csr,
        s: u64,
        t_ms: f64,
        target: &mut [f64],
        gate: Option<&[f64]>,
    ) {
        let rule = self.rule;
        let scale = self.scale;
        if self.gsyn.is_empty() {
            // Touch one element per cache line of every arriving row first:
            // independent loads, many misses in flight.
            let mut touch = 0u64;
            for &g in arrivals {
                let g = g as usize;
                let (lo, hi) = (self.gptr[g] as usize, self.gptr[g + 1] as usize);
                for &j in csr.indices[lo..hi].iter().step_by(16) {
                    touch = touch.wrapping_add(u64::from(j));
                }
                for &w in self.w[lo..hi].iter().step_by(8) {
                    touch = touch.wrapping_add(w.to_bits());
                }
            }
            std::hint::black_box(touch);
        }
        for &g in arrivals {
            let g = g as usize;
            let (lo, hi) = (self.gptr[g] as usize, self.gptr[g + 1] as usize);
            let (post, decay_minus) = (&self.post, &self.decay_minus);
            let identity = self.gsyn.is_empty();
            match rule {
                Rule::Stdp(p) => {
                    let mut synapse = |j: usize, w: &mut f64| {
                        let w0 = *w;
                        if gate.is_none_or(|gt| gt[j] <= 1.0) {
                            target[j] += w0;
                        }
                        let y = post[j].at(s, decay_minus);
                        if y != 0.0 {
                            let dep = match p.weight_dependence {
                                WeightDependence::Additive => p.a_minus * y,
                                WeightDependence::Multiplicative => p.a_minus * y * w0 / p.w_max,
                            };
                            *w = (w0 - scale * dep).clamp(0.0, p.w_max);
                        }
                    };
                    if identity {
                        let pairs = csr.indices[lo..hi].iter().zip(&mut self.w[lo..hi]);
                        for (&j, w) in pairs {
                            synapse(j as usize, w);
                        }
                    } else {
                        for &k in &self.gsyn[lo..hi] {
                            let k = k as usize;
                            synapse(csr.indices[k] as usize, &mut self.w[k]);
                        }
                    }
                    self.pre[g].bump(s, &self.decay_plus, 1.0, p.traces == Traces::Nearest);
                }
                Rule::Rstdp(p) => {
                    for idx in lo..hi {
                        let k = if identity {
                            idx
                        } else {
                            self.gsyn[idx] as usize
                        };
                        let j = csr.indices[k] as usize;
                        if gate.is_none_or(|gt| gt[j] <= 1.0) {
                            target[j] += self.w[k];
                        }
                        self.integrate(&p, k, t_ms);
                        let y = self.post[j].at(s, &self.decay_minus);
                        self.elig.c[k] -= p.a_minus * y;
                    }
                    self.pre[g].bump(s, &self.decay_plus, 1.0, false);
                }
                Rule::DerivativeStdp(p) => {
                    for idx in lo..hi {
                        let k = if identity {
                            idx
                        } else {
                            self.gsyn[idx] as usize
                        };
                        let j = csr.indices[k] as usize;
                        if gate.is_none_or(|gt| gt[j] <= 1.0) {
                            target[j] += self.w[k];
                        }
                        self.sd[k] -= p.a_minus * post[j].at(s, decay_minus);
                    }
                    self.pre[g].bump(s, &self.decay_plus, 1.0, true);
                }
                Rule::Rate(_) => {
                    for idx in lo..hi {
                        let k = if identity {
                            idx
                        } else {
                            self.gsyn[idx] as usize
                        };
                        let j = csr.indices[k] as usize;
                        if gate.is_none_or(|gt| gt[j] <= 1.0) {
                            target[j] += self.w[k];
                        }
                    }
                }
            }
        }
    }

    /// Post-side: each spiking neuron's trace takes the spike, then each of
    /// its incoming synapses takes its update from its group's trace.
    fn on_post(&mut self, post_spikes: &[u32], s: u64, t_ms: f64) {
        let rule = self.rule;
        let scale = self.scale;
        for &j in post_spikes {
            let j = j as usize;
            let (lo, hi) = (self.cscptr[j], self.cscptr[j + 1]);
            match rule {
                Rule::Stdp(p) => {
                    self.post[j].bump(s, &self.decay_minus, 1.0, p.traces == Traces::Nearest);
                    let (pre, decay_plus) = (&self.pre, &self.decay_plus);
                    let column = &self.csc[lo..hi];
                    // Gather the column's weights first: a tight loop of
                    // independent loads keeps many cache misses in flight.
                    self.gather.clear();
                    self.gather
                        .extend(column.iter().map(|inc| self.w[inc.syn as usize]));
                    for (inc, &w) in column.iter().zip(&self.gather) {
                        let x = pre[inc.group as usize].at(s, decay_plus);
                        if x != 0.0 {
                            let k = inc.syn as usize;
                            let pot = match p.weight_dependence {
                                WeightDependence::Additive => p.a_plus * x,
                                WeightDependence::Multiplicative => {
                                    p.a_plus * x * (1.0 - w / p.w_max)
                                }
                            };
                            self.w[k] = (w + scale * pot).clamp(0.0, p.w_max);
                        }
                    }
                }
                Rule::Rstdp(p) => {
                    self.post[j].bump(s, &self.decay_minus, 1.0, false);
                    for idx in lo..hi {
                        let inc = self.csc[idx];
                        let k = inc.syn as usize;
                        self.integrate(&p, k, t_ms);
                        self.elig.c[k] +=
                            p.a_plus * self.pre[inc.group as usize].at(s, &self.decay_plus);
                    }
                }
                Rule::DerivativeStdp(p) => {
                    self.post[j].bump(s, &self.decay_minus, 1.0, true);
                    let (pre, decay_plus) = (&self.pre, &self.decay_plus);
                    for inc in &self.csc[lo..hi] {
                        self.sd[inc.syn as usize] +=
                            p.a_plus * pre[inc.group as usize].at(s, decay_plus);
                    }
                }
                Rule::Rate(_) => {}
            }
        }
    }

    fn rate_step(&mut self, p: &RateParams, pre_spikes: &[u32], post_spikes: &[u32], s: u64) {
        let inc = 1000.0 / p.tau_rate_ms; // Hz per spike
        for &i in pre_spikes {
            self.rates.pre[i as usize].bump(s, &self.decay_plus, inc, false);
        }
        for &j in post_spikes {
            self.rates.post[j as usize].bump(s, &self.decay_plus, inc, false);
        }
        self.rates.countdown -= 1;
        if self.rates.countdown > 0 {
            return;
        }
        self.rates.countdown = self.rates.interval_steps;
        let h_s = p.interval_ms * 1e-3;
        let x: Vec<f64> = self
            .rates
            .pre
            .iter()
            .map(|r| r.at(s, &self.decay_plus) / p.rate_ref_hz)
            .collect();
        let y: Vec<f64> = self
            .rates
            .post
            .iter()
            .map(|r| r.at(s, &self.decay_plus) / p.rate_ref_hz)
            .collect();
        let eta = self.scale * p.learning_rate * h_s;
        // BCM: theta relaxes towards y^2 (exact for y^2 held over the interval).
        let theta_decay = (-p.interval_ms / p.tau_theta_ms).exp();
        for (j, &yj) in y.iter().enumerate() {
            let (lo, hi) = (self.cscptr[j], self.cscptr[j + 1]);
            match p.rule {
                RateRule::Bcm => {
                    let theta = self.rates.theta[j];
                    for inc in &self.csc[lo..hi] {
                        let k = inc.syn as usize;
                        let xi = x[self.pre_of[k] as usize];
                        let dw = bcm_dw(eta, xi, yj, theta);
                        self.w[k] = (self.w[k] + dw).clamp(0.0, p.w_max);
                    }
                    self.rates.theta[j] = yj * yj + (theta - yj * yj) * theta_decay;
                }
                RateRule::Oja => {
                    for inc in &self.csc[lo..hi] {
                        let k = inc.syn as usize;
                        let xi = x[self.pre_of[k] as usize];
                        let u = self.w[k] / p.w_max;
                        let du = oja_du(eta, xi, yj, u);
                        self.w[k] = ((u + du) * p.w_max).clamp(0.0, p.w_max);
                    }
                }
            }
        }
    }

    /// BCM threshold of each postsynaptic neuron (normalised rate squared;
    /// empty for other rules).
    pub fn theta(&self) -> &[f64] {
        &self.rates.theta
    }
}

/// One Euler step of BCM: `eta x y (y - theta)` (`eta` already times the step).
#[inline]
pub fn bcm_dw(eta: f64, x: f64, y: f64, theta: f64) -> f64 {
    eta * x * y * (y - theta)
}

/// One Euler step of Oja's rule on the normalised weight `u`:
/// `eta y (x - y u)` (`eta` already times the step).
#[inline]
pub fn oja_du(eta: f64, x: f64, y: f64, u: f64) -> f64 {
    eta * y * (x - y * u)
}
