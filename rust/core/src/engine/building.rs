//! Building a network: populations (neurons, spike sources, input ports),
//! state initialisation, identity, projections (rules and arrays).

use std::collections::BTreeSet;

use super::{check_per_neuron, Hook, Model, Network, Population, Projection, Receptor, Var};
use crate::connect::{self, BuildSpec, Dist, Rule, Streams};
use crate::csr::{self, Csr, SynapseArrays};
use crate::neuron::izhikevich::{IzhParams, IzhState};
use crate::neuron::lif::{LifParams, LifPropagator, LifState};
use crate::neuron::point::PointNeuron;
use crate::rng::{self, tag};
use crate::validate::{less_than, non_negative};
use crate::{Error, Result};

/// What [`Network::connect`] builds.
#[derive(Clone, Debug)]
pub struct ConnectSpec<'a> {
    /// Presynaptic population index.
    pub pre: usize,
    /// Postsynaptic population index.
    pub post: usize,
    /// Target receptor.
    pub receptor: Receptor,
    /// Connection rule.
    pub rule: &'a Rule,
    /// Whether a neuron may connect to itself when `pre == post`.
    pub allow_autapses: bool,
    /// Weight distribution (unit of the target variable).
    pub weight: &'a Dist,
    /// Delay distribution (ms).
    pub delay_ms: &'a Dist,
}

/// Where a part's objects sit in a projection between populations split
/// over parts ([`Network::connect_window`], `evospikenet.partition`).
#[derive(Clone, Debug)]
pub struct Window<'a> {
    /// Global neuron ids of the whole presynaptic population (its length is
    /// the whole size; the keys of the per-neuron streams).
    pub pre_ids: &'a [u64],
    /// Global neuron ids of the whole postsynaptic population.
    pub post_ids: &'a [u64],
    /// Column of the post object's neuron 0 in the whole post population.
    pub post_from: u32,
    /// Whether pre and post are one whole population (autapses).
    pub same_population: bool,
    /// The part's presynaptic objects as `(object, lo, hi, from)`: rows
    /// `lo..hi` of the whole are neurons `lo - from..hi - from` of `object`
    /// (a population holding a slice of the whole, or the input port
    /// standing for the whole).
    pub pieces: &'a [(usize, u32, u32, u32)],
}

/// The whole populations a projection is drawn between.
struct Whole<'a> {
    keys: (u64, u64),
    n_pre: u32,
    n_post: u32,
    pre_gid: &'a (dyn Fn(u32) -> u64 + Sync),
    post_gid: &'a (dyn Fn(u32) -> u64 + Sync),
    allow_autapses: bool,
}

impl Network {
    pub(super) fn push_population(&mut self, name: &str, n: u32, model: Model) -> Result<usize> {
        if name.is_empty() {
            return Err(Error::invalid(
                "name",
                "''",
                "population name must not be empty",
            ));
        }
        if self.populations.iter().any(|p| p.name == name) {
            return Err(Error::invalid(
                "name",
                name,
                "a population with this name exists",
            ));
        }
        self.populations
            .push(Population::new(name.to_owned(), n, model));
        self.incoming.push(Vec::new());
        Ok(self.populations.len() - 1)
    }

    /// Add `n` LIF neurons, all starting at `v_reset_mv`.
    pub fn add_lif(&mut self, name: &str, n: u32, params: LifParams) -> Result<usize> {
        params.validate(self.dt_ms)?;
        let prop = LifPropagator::new(&params, self.dt_ms);
        let state = LifState::new(n as usize, params.v_reset_mv);
        self.push_population(
            name,
            n,
            Model::Lif {
                params,
                prop,
                state,
            },
        )
    }

    /// Add Izhikevich neurons with per-neuron `a b c d` (one entry each).
    pub fn add_izhikevich(
        &mut self,
        name: &str,
        params: IzhParams,
        a: Vec<f64>,
        b: Vec<f64>,
        c: Vec<f64>,
        d: Vec<f64>,
    ) -> Result<usize> {
        params.validate()?;
        let n = a.len() as u32;
        let state = IzhState::new(a, b, c, d)?;
        self.push_population(name, n, Model::Izhikevich { params, state })
    }

    /// Add `n` neurons of one of NEST's point-neuron models (`model`, one
    /// of [`crate::neuron::point::MODELS`]) with every parameter of the
    /// model given once in `params` (NEST's names with unit suffixes).
    pub fn add_point(
        &mut self,
        name: &str,
        n: u32,
        model: &str,
        params: &[(String, f64)],
    ) -> Result<usize> {
        let neuron = PointNeuron::build(model, n as usize, params, self.dt_ms)?;
        self.push_population(name, n, Model::Point(neuron))
    }

    /// Add `n` spike sources firing at `times_ms` (neuron `neurons[k]` at
    /// `times_ms[k]`); times are rounded to the step grid.
    pub fn add_spike_source(
        &mut self,
        name: &str,
        n: u32,
        times_ms: &[f64],
        neurons: &[u32],
    ) -> Result<usize> {
        if times_ms.len() != neurons.len() {
            return Err(Error::ShapeMismatch {
                name: "neurons".into(),
                expected: format!("({},) like times_ms", times_ms.len()),
                got: format!("({},)", neurons.len()),
            });
        }
        let mut pairs = Vec::with_capacity(times_ms.len());
        for (k, (&t, &i)) in times_ms.iter().zip(neurons).enumerate() {
            non_negative(&format!("times_ms[{k}]"), t)?;
            less_than(&format!("neurons[{k}]"), i, "n", n)?;
            pairs.push(((t / self.dt_ms).round() as u64, i));
        }
        pairs.sort_unstable();
        pairs.dedup();
        let (steps, neurons) = pairs.into_iter().unzip();
        self.push_population(
            name,
            n,
            Model::Source {
                steps,
                neurons,
                cursor: 0,
            },
        )
    }

    /// Set `var` of every neuron of `pop` from `values` (length n).
    pub fn set_state(&mut self, pop: usize, var: Var, values: &[f64]) -> Result<()> {
        self.pop_index(pop)?;
        let p = &mut self.populations[pop];
        check_per_neuron("values", values, p.n)?;
        p.state_mut(var)?.copy_from_slice(values);
        Ok(())
    }

    /// Draw `var` of every neuron of `pop` from `dist`: neuron `i` from the
    /// stream `(seed, INIT, rng key, var, global id of i)`.
    pub fn init_state(&mut self, pop: usize, var: Var, dist: &Dist) -> Result<()> {
        self.pop_index(pop)?;
        dist.validate("init")?;
        let p = &mut self.populations[pop];
        let base = rng::mix(self.seed, &[tag::INIT, p.rng_key, var as u64]);
        let values: Vec<f64> = (0..p.n)
            .map(|i| dist.sample(&mut rng::from_state(rng::extend(base, p.global_id(i)))))
            .collect();
        p.state_mut(var)?.copy_from_slice(&values);
        Ok(())
    }

    /// Give population `pop` the rng key `rng_key` (default: FNV-1a of its
    /// name) and global neuron ids `neuron_ids` (default `0..n`), so that it
    /// draws as those neurons of another population would. Applies to draws
    /// made afterwards (set it right after adding the population).
    pub fn set_identity(
        &mut self,
        pop: usize,
        rng_key: Option<u64>,
        neuron_ids: Option<Vec<u64>>,
    ) -> Result<()> {
        self.pop_index(pop)?;
        let p = &mut self.populations[pop];
        if let Some(ids) = &neuron_ids {
            if ids.len() != p.n as usize {
                return Err(Error::ShapeMismatch {
                    name: "neuron_ids".into(),
                    expected: format!("({},)", p.n),
                    got: format!("({},)", ids.len()),
                });
            }
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return Err(Error::invalid(
                    "neuron_ids",
                    w[0],
                    "global neuron ids must be distinct",
                ));
            }
        }
        if let Some(key) = rng_key {
            p.rng_key = key;
        }
        p.neuron_ids = neuron_ids;
        self.rebuild_group_streams(pop);
        Ok(())
    }

    /// Add an input port of `n` neurons: a population whose spikes are
    /// pushed from outside ([`Network::push_port_spikes`]) and emitted
    /// `latency_steps` after the (remote) step they carry. Projections from
    /// the port store their delays reduced by `latency_steps`, so a port
    /// with a projection of delay `d` acts exactly like the remote population
    /// with delay `d`.
    pub fn add_input_port(&mut self, name: &str, n: u32, latency_steps: u64) -> Result<usize> {
        if latency_steps > u64::from(u16::MAX) {
            return Err(Error::invalid(
                "latency_ms",
                latency_steps as f64 * self.dt_ms,
                "longer than 65535 steps",
            ));
        }
        self.push_population(
            name,
            n,
            Model::Port {
                latency_steps,
                pending: BTreeSet::new(),
            },
        )
    }

    /// Latency (steps) of population `pop` if it is an input port.
    pub fn port_latency(&self, pop: usize) -> Option<u64> {
        match self.populations.get(pop).map(|p| &p.model) {
            Some(Model::Port { latency_steps, .. }) => Some(*latency_steps),
            _ => None,
        }
    }

    /// Push spikes into input port `pop`: neuron `neurons[k]` emitted by the
    /// remote population at step `steps[k]`, emitted by the port at
    /// `steps[k] + latency`. All are checked before any is stored; a spike
    /// the port would emit before the current step is refused (into the
    /// past), as is an index out of range. Duplicates collapse.
    pub fn push_port_spikes(&mut self, pop: usize, steps: &[u64], neurons: &[u32]) -> Result<()> {
        self.push_port(pop, steps, neurons, "steps", &|s| s.to_string())
    }

    /// [`Network::push_port_spikes`] with times (ms, finite, >= 0) rounded
    /// to the step grid.
    pub fn push_port_spikes_ms(
        &mut self,
        pop: usize,
        times_ms: &[f64],
        neurons: &[u32],
    ) -> Result<()> {
        let mut steps = Vec::with_capacity(times_ms.len());
        for (k, &t) in times_ms.iter().enumerate() {
            non_negative(&format!("t_ms[{k}]"), t)?;
            steps.push((t / self.dt_ms).round() as u64);
        }
        let dt = self.dt_ms;
        self.push_port(pop, &steps, neurons, "t_ms", &|s| {
            format!("{}", s as f64 * dt)
        })
    }

    pub(super) fn push_port(
        &mut self,
        pop: usize,
        steps: &[u64],
        neurons: &[u32],
        field: &str,
        show: &dyn Fn(u64) -> String,
    ) -> Result<()> {
        self.pop_index(pop)?;
        if steps.len() != neurons.len() {
            return Err(Error::ShapeMismatch {
                name: "neurons".into(),
                expected: format!("({},) like {field}", steps.len()),
                got: format!("({},)", neurons.len()),
            });
        }
        let now = self.step;
        let p = &mut self.populations[pop];
        let n = p.n;
        let Model::Port {
            latency_steps,
            pending,
        } = &mut p.model
        else {
            return Err(Error::invalid(
                "population",
                &p.name,
                "is not an input port",
            ));
        };
        let latency = *latency_steps;
        for (k, (&s, &i)) in steps.iter().zip(neurons).enumerate() {
            less_than(&format!("neurons[{k}]"), i, "n", n)?;
            if s.saturating_add(latency) < now {
                return Err(Error::invalid(
                    format!("{field}[{k}]"),
                    show(s),
                    format!(
                        "into the past: the port would emit it at step {} (latency {latency} steps), but step {now} is next",
                        s.saturating_add(latency)
                    ),
                ));
            }
        }
        pending.extend(
            steps
                .iter()
                .map(|&s| s + latency)
                .zip(neurons.iter().copied()),
        );
        Ok(())
    }

    pub(super) fn check_weight_sign(
        &self,
        post: usize,
        receptor: Receptor,
        low: f64,
        high: f64,
    ) -> Result<()> {
        let p = &self.populations[post];
        match p.weight_sign(receptor) {
            None => Err(Error::invalid("post", &p.name, "a spike source cannot receive synapses")),
            Some(true) if low < 0.0 => Err(Error::invalid(
                "weight",
                low,
                format!("weights onto the {receptor:?} receptor of {} must be >= 0", p.name),
            )),
            Some(false) if high > 0.0 => Err(Error::invalid(
                "weight",
                high,
                format!("weights onto the Inhibitory receptor of {} must be <= 0 (current or voltage synapse)", p.name),
            )),
            _ => Ok(()),
        }
    }

    pub(super) fn push_projection(
        &mut self,
        pre: usize,
        post: usize,
        receptor: Receptor,
        mut csr: Csr,
    ) -> Result<usize> {
        if let Some(latency) = self.port_latency(pre).filter(|&l| l > 0) {
            let latency = latency as u16;
            // A delta synapse acts in the step its spike arrives, so the
            // population takes it in at the end of the step before: the
            // port must have emitted it one step earlier still.
            let extra = u16::from(self.populations[post].is_delta());
            if let Some(&d) = csr.delay_steps.iter().find(|&&d| d < latency + extra) {
                return Err(Error::invalid(
                    "delay_ms",
                    f64::from(d) * self.dt_ms,
                    format!(
                        "a projection from input port {} needs delays >= its latency {} ms{}",
                        self.populations[pre].name,
                        f64::from(latency) * self.dt_ms,
                        if extra > 0 {
                            " plus one step (delta synapses act in the step their spike arrives)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            csr.delay_steps.iter_mut().for_each(|d| *d -= latency);
        }
        let max_delay = csr.max_delay() as usize;
        let now = self.step;
        self.populations[post]
            .queue_mut(receptor)
            .ensure(max_delay, now);
        self.projections.push(Projection {
            pre,
            post,
            receptor,
            csr,
            plasticity: None,
        });
        self.incoming[post].push(self.projections.len() - 1);
        Ok(self.projections.len() - 1)
    }

    /// Connect `pre` to `post` with a connection rule; weights and delays
    /// (ms) drawn from distributions. Returns the projection index.
    pub fn connect(&mut self, spec: &ConnectSpec<'_>) -> Result<usize> {
        self.connect_with(spec, &mut || Ok(()))
    }

    /// [`Network::connect`], calling `hook` every few thousand rows or draws;
    /// an error of the hook stops the build (nothing is added).
    pub fn connect_with(&mut self, spec: &ConnectSpec<'_>, hook: Hook<'_>) -> Result<usize> {
        let (pre, post) = (spec.pre, spec.post);
        self.ensure_pool()?;
        self.pop_index(pre)?;
        self.pop_index(post)?;
        self.check_spec_sign(spec)?;
        let (pre_pop, post_pop) = (&self.populations[pre], &self.populations[post]);
        let pre_gid = |i: u32| pre_pop.global_id(i);
        let post_gid = |j: u32| post_pop.global_id(j);
        let whole = Whole {
            keys: (pre_pop.rng_key, post_pop.rng_key),
            n_pre: pre_pop.n,
            n_post: post_pop.n,
            pre_gid: &pre_gid,
            post_gid: &post_gid,
            allow_autapses: spec.allow_autapses || pre != post,
        };
        let csr = self.draw(spec, &whole, hook)?;
        let keys = whole.keys;
        let index = self.push_projection(pre, post, spec.receptor, csr)?;
        self.bump_ordinal(keys);
        Ok(index)
    }

    /// Check the weights of `spec` against the receptor of `spec.post`.
    fn check_spec_sign(&self, spec: &ConnectSpec<'_>) -> Result<()> {
        let (low, high) = match *spec.weight {
            Dist::Constant(v) => (v, v),
            Dist::Uniform { low, high } | Dist::Normal { low, high, .. } => (low, high),
        };
        self.check_weight_sign(spec.post, spec.receptor, low, high)
    }

    fn bump_ordinal(&mut self, keys: (u64, u64)) {
        *self.connect_ordinals.entry(keys).or_insert(0) += 1;
    }

    /// Draw the projection of `spec` between the whole populations `whole`
    /// describes, from the streams of its key pair and ordinal
    /// (`docs/random-streams.md`).
    fn draw(&self, spec: &ConnectSpec<'_>, whole: &Whole<'_>, hook: Hook<'_>) -> Result<Csr> {
        let keys = whole.keys;
        let ordinal = self.connect_ordinals.get(&keys).copied().unwrap_or(0);
        let base = rng::mix(self.seed, &[tag::CONNECT, keys.0, keys.1, ordinal]);
        let target_base = rng::extend(base, 2);
        let target = |j: u32| rng::from_state(rng::extend(target_base, (whole.post_gid)(j)));
        let source_base = rng::extend(base, 3);
        let source = |i: u32| rng::from_state(rng::extend(source_base, (whole.pre_gid)(i)));
        let values_base = rng::extend(base, 1);
        let values = |i: u32| rng::from_state(rng::extend(values_base, (whole.pre_gid)(i)));
        let streams = Streams {
            pairs: rng::from_state(rng::extend(base, 0)),
            target: &target,
            source: &source,
            values: &values,
        };
        let build = BuildSpec {
            rule: spec.rule,
            n_pre: whole.n_pre,
            n_post: whole.n_post,
            allow_autapses: whole.allow_autapses,
            weight: spec.weight,
            delay_ms: spec.delay_ms,
            dt_ms: self.dt_ms,
        };
        connect::build(&build, &streams, self.pool.as_ref(), hook)
    }

    /// Connect with a rule where the populations are split over parts: build
    /// this part's synapses of the projection between the *whole*
    /// populations (`window`), drawn exactly as a network holding them
    /// whole draws them, and return the indices of the projections made,
    /// one per presynaptic object of `window.pieces` (in order of first
    /// appearance).
    ///
    /// `spec.pre` names the pre population's rng key (every piece's object
    /// must have it), `spec.post` is the object whose neurons are columns
    /// `window.post_from..` of the whole post population. The whole
    /// projection is drawn (its pairs, weights and delays: the time and,
    /// transiently, the memory of the whole), then cut
    /// ([`Csr::window`]). Counts as one `connect` of the key pair.
    ///
    /// # Errors
    ///
    /// As [`Network::connect`]; [`Error::InvalidParameter`] for a piece
    /// outside the whole population or its object, an object of another
    /// rng key, or columns outside the whole post population.
    pub fn connect_window(
        &mut self,
        spec: &ConnectSpec<'_>,
        window: &Window<'_>,
        hook: Hook<'_>,
    ) -> Result<Vec<usize>> {
        let post = spec.post;
        self.ensure_pool()?;
        self.pop_index(spec.pre)?;
        self.pop_index(post)?;
        self.check_spec_sign(spec)?;
        let n_pre = u32::try_from(window.pre_ids.len())
            .map_err(|_| Error::invalid("pre_ids", window.pre_ids.len(), "too many neurons"))?;
        let n_post = u32::try_from(window.post_ids.len())
            .map_err(|_| Error::invalid("post_ids", window.post_ids.len(), "too many neurons"))?;
        let post_n = self.populations[post].n;
        if u64::from(window.post_from) + u64::from(post_n) > u64::from(n_post) {
            return Err(Error::invalid(
                "post_from",
                window.post_from,
                format!("{post_n} columns from there pass the {n_post} neurons of the whole"),
            ));
        }
        let key = self.populations[spec.pre].rng_key;
        let mut objects: Vec<usize> = Vec::new();
        for &(object, lo, hi, from) in window.pieces {
            self.pop_index(object)?;
            let p = &self.populations[object];
            if p.rng_key != key {
                return Err(Error::invalid(
                    "pieces",
                    &p.name,
                    "every presynaptic object must have the rng key of `pre`",
                ));
            }
            if !(from <= lo && lo <= hi && hi <= n_pre && hi - from <= p.n) {
                return Err(Error::invalid(
                    "pieces",
                    format!("({object}, {lo}, {hi}, {from})"),
                    format!(
                        "rows lo..hi must lie in the {n_pre} of the whole and map (minus from) into the {} neurons of {}",
                        p.n, p.name
                    ),
                ));
            }
            if !objects.contains(&object) {
                objects.push(object);
            }
        }
        let csr = {
            let (pre_ids, post_ids) = (window.pre_ids, window.post_ids);
            let pre_gid = |i: u32| pre_ids[i as usize];
            let post_gid = |j: u32| post_ids[j as usize];
            let whole = Whole {
                keys: (key, self.populations[post].rng_key),
                n_pre,
                n_post,
                pre_gid: &pre_gid,
                post_gid: &post_gid,
                allow_autapses: spec.allow_autapses || !window.same_population,
            };
            self.draw(spec, &whole, hook)?
        };
        let keys = (key, self.populations[post].rng_key);
        let mut made = Vec::with_capacity(objects.len());
        for object in objects {
            let rows: Vec<(u32, u32, u32)> = window
                .pieces
                .iter()
                .filter(|p| p.0 == object)
                .map(|&(_, lo, hi, from)| (lo, hi, from))
                .collect();
            let part = csr.window(self.populations[object].n, &rows, window.post_from, post_n);
            made.push(self.push_projection(object, post, spec.receptor, part)?);
        }
        self.bump_ordinal(keys);
        Ok(made)
    }

    /// Connect `pre` to `post` onto `receptor` with explicit synapses.
    pub fn connect_arrays(
        &mut self,
        pre: usize,
        post: usize,
        receptor: Receptor,
        arrays: &SynapseArrays<'_>,
    ) -> Result<usize> {
        let weight = arrays.weight;
        self.pop_index(pre)?;
        self.pop_index(post)?;
        let low = weight.iter().copied().fold(f64::INFINITY, f64::min);
        let high = weight.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !weight.is_empty() {
            self.check_weight_sign(post, receptor, low, high)?;
        }
        let csr = csr::from_arrays(
            self.populations[pre].n,
            self.populations[post].n,
            arrays,
            self.dt_ms,
        )?;
        let index = self.push_projection(pre, post, receptor, csr)?;
        // Counts as a connect of the pair, so that a projection rebuilt from
        // its arrays leaves the draws of later connects unchanged.
        let keys = (
            self.populations[pre].rng_key,
            self.populations[post].rng_key,
        );
        *self.connect_ordinals.entry(keys).or_insert(0) += 1;
        Ok(index)
    }
}
