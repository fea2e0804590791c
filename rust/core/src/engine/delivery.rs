//! Running: the step (inputs, integration, recording, delivery), runs with
//! an interrupt hook, and episode resets.

use rand::RngExt;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

use super::{gap, EventQueue, Hook, Model, Network, Population};
use crate::csr::Csr;
use crate::neuron::izhikevich::{self, IzhBlock};
use crate::neuron::lif::{self, LifBlock};
use crate::rng::{Stream, BLOCK};
use crate::Result;

/// One block of a Poisson input: block index, target variables, streams,
/// sampler indices.
type PoissonWork<'a> = (usize, ((&'a mut [f64], &'a mut [Stream]), &'a [u32]));

impl Network {
    /// Run `n_steps` steps.
    pub fn run(&mut self, n_steps: u64) -> Result<()> {
        self.run_with(n_steps, &mut || Ok(()))
    }

    /// Run `n_steps` steps, calling `hook` before each; an error of the hook
    /// stops the run at that step boundary (the network stays consistent:
    /// plastic weights are synced) and is returned.
    pub fn run_with(&mut self, n_steps: u64, hook: Hook<'_>) -> Result<()> {
        self.ensure_pool()?;
        for pop in &mut self.populations {
            pop.take_snapshot();
        }
        let mut result = Ok(());
        for _ in 0..n_steps {
            if let Err(e) = hook() {
                result = Err(e);
                break;
            }
            self.advance();
        }
        self.sync_plastic_weights();
        result
    }

    /// Start a new episode: restore every population's state (membrane,
    /// recovery variable, synaptic variables, refractory counters) to its
    /// values at the first step of its first run (a snapshot taken when that
    /// run starts; populations never run keep their state), and drop
    /// everything in flight: event queues, plastic arrival queues and
    /// traces, pending port spikes. Weights, bias currents, inputs and
    /// monitors are kept; the step counter and the random streams continue
    /// (time is monotonic, each episode gets fresh noise).
    pub fn reset(&mut self) {
        let t_ms = self.step as f64 * self.dt_ms;
        for pop in &mut self.populations {
            pop.reset();
        }
        for proj in &mut self.projections {
            if let Some(state) = proj.plasticity.as_mut() {
                state.reset_activity(t_ms);
            }
        }
        self.sync_plastic_weights();
    }

    pub(super) fn advance(&mut self) {
        let pool = self.pool.take();
        // Below `par_min_neurons` a step is a few tens of microseconds and
        // the pool's hand-offs and joins cost more than they save (two
        // threads measured slower than one at 4,000 neurons): run serially.
        // The partition never changes results, so neither does this.
        let neurons: usize = self.populations.iter().map(|p| p.n as usize).sum();
        match &pool {
            // One entry into the pool per step: the phases below fork and
            // join inside it, on its workers, instead of handing each phase
            // to the pool from outside and waiting for it.
            Some(p) if neurons >= self.par_min_neurons => p.install(|| self.advance_on(Some(p))),
            _ => self.advance_on(None),
        }
        self.pool = pool;
        self.step += 1;
    }

    fn advance_on(&mut self, pool: Option<&rayon::ThreadPool>) {
        let s = self.step;

        // 1. Inputs: Poisson draws, currents. Every neuron draws from its
        //    own stream, so the work partition does not change the numbers.
        for input in &mut self.poisson {
            input.apply_schedule(s);
            if !input.active {
                continue;
            }
            let (weight, dists) = (input.weight, &input.dists);
            let (target, gate) = self.populations[input.target]
                .input_mut(input.receptor)
                .expect("checked when added");
            let body = |(b, ((chunk, rngs), which)): PoissonWork<'_>| {
                let lo = b * BLOCK;
                let gate = gate.map(|g| &g[lo..lo + chunk.len()]);
                for (k, x) in chunk.iter_mut().enumerate() {
                    let Some(dist) = &dists[which[k] as usize] else {
                        continue;
                    };
                    let count = dist.sample(&mut rngs[k]);
                    if gate.is_none_or(|g| g[k] <= 1.0) {
                        *x += count * weight;
                    }
                }
            };
            let n_blocks = target.len().div_ceil(BLOCK);
            match pool {
                Some(p) if n_blocks > 1 => p.install(|| {
                    target
                        .par_chunks_mut(BLOCK)
                        .zip(input.streams.par_chunks_mut(BLOCK))
                        .zip(input.which.par_chunks(BLOCK))
                        .enumerate()
                        .for_each(body);
                }),
                _ => target
                    .chunks_mut(BLOCK)
                    .zip(input.streams.chunks_mut(BLOCK))
                    .zip(input.which.chunks(BLOCK))
                    .enumerate()
                    .for_each(body),
            }
        }
        for pop in self.populations.iter_mut().filter(|p| p.has_ext) {
            pop.i_ext.iter_mut().for_each(|x| *x = 0.0);
        }
        for c in &self.currents {
            let amp = c.amplitude_at(s);
            if amp == 0.0 {
                continue;
            }
            let i_ext = &mut self.populations[c.target].i_ext;
            match &c.neurons {
                None => i_ext.iter_mut().for_each(|x| *x += amp),
                Some(list) => list.iter().for_each(|&i| i_ext[i as usize] += amp),
            }
        }
        for c in &self.current_inputs {
            let i_ext = &mut self.populations[c.target].i_ext;
            for (x, &a) in i_ext.iter_mut().zip(&c.amplitudes_pa) {
                *x += a;
            }
        }
        for input in &mut self.noise {
            let normal = Normal::new(input.mean_pa, input.std_pa).expect("validated std");
            let i_ext = &mut self.populations[input.target].i_ext;
            let body = |(chunk, rngs): (&mut [f64], &mut [Stream])| {
                for (x, rng) in chunk.iter_mut().zip(rngs) {
                    let value: f64 = normal.sample(rng);
                    *x += value;
                }
            };
            match pool {
                Some(p) if i_ext.len() > BLOCK => p.install(|| {
                    i_ext
                        .par_chunks_mut(BLOCK)
                        .zip(input.streams.par_chunks_mut(BLOCK))
                        .for_each(body);
                }),
                _ => i_ext
                    .chunks_mut(BLOCK)
                    .zip(input.streams.chunks_mut(BLOCK))
                    .for_each(body),
            }
        }

        // 1b. Gap-junction currents from the voltages at t = s dt (gap.rs).
        gap::add_currents(&mut self.gaps, &mut self.populations);

        // 2. State monitors sample the state at t = s dt (with this step's
        //    Poisson input, before integration).
        for m in &mut self.state_monitors {
            if s % m.every == 0 {
                let values = self.populations[m.pop]
                    .state(m.var)
                    .expect("checked when added");
                m.steps.push(s);
                m.values
                    .extend(m.neurons.iter().map(|&i| values[i as usize]));
            }
        }

        // 3. Integrate.
        let dt = self.dt_ms;
        for pop in &mut self.populations {
            update_population(pop, s, dt, pool);
            pop.spike_count += pop.spikes.len() as u64;
        }

        // 4. Record and deliver.
        for pop in &mut self.populations {
            if let Some((steps, neurons)) = &mut pop.chunk {
                steps.extend(std::iter::repeat_n(s, pop.spikes.len()));
                neurons.extend_from_slice(&pop.spikes);
            }
        }
        for m in &mut self.spike_monitors {
            let spikes = &self.populations[m.pop].spikes;
            for &i in spikes {
                if m.mask.as_ref().is_none_or(|mask| mask[i as usize]) {
                    m.steps.push(s);
                    m.neurons.push(i);
                }
            }
        }
        // 5. Deliver, then add the events of step s (they act from step
        //    s + 1). Each target population takes its incoming projections in
        //    index order, so targets can run in parallel with results
        //    independent of the thread count.
        let mut spikes = std::mem::take(&mut self.spike_buf);
        spikes.resize_with(self.populations.len(), Vec::new);
        for (pop, buf) in self.populations.iter_mut().zip(spikes.iter_mut()) {
            std::mem::swap(&mut pop.spikes, buf);
        }
        let projections = &self.projections;
        let incoming = &self.incoming;
        let work = |(target, pop): (usize, &mut Population)| {
            for &k in &incoming[target] {
                let proj = &projections[k];
                if proj.plasticity.is_none() && !spikes[proj.pre].is_empty() {
                    deliver(
                        &proj.csr,
                        &spikes[proj.pre],
                        s,
                        pop.queue_mut(proj.receptor),
                    );
                }
            }
            pop.apply_events(s);
        };
        // Expected synaptic events this step: below a few thousand, handing
        // work to the pool costs more than it saves.
        let events: usize = projections
            .iter()
            .map(|p| spikes[p.pre].len() * p.csr.len() / p.csr.n_pre().max(1))
            .sum();
        match pool {
            Some(p) if self.populations.len() > 1 && events > 4096 => p.install(|| {
                self.populations.par_iter_mut().enumerate().for_each(work);
            }),
            _ => self.populations.iter_mut().enumerate().for_each(work),
        }
        // 6. Plastic projections, serially in index order: arrivals of step
        //    s transmit their current weight and take the pre-side update,
        //    then this step's postsynaptic spikes take the post-side update.
        self.step_plastic(s, &spikes);
        for (pop, buf) in self.populations.iter_mut().zip(spikes.iter_mut()) {
            std::mem::swap(&mut pop.spikes, buf);
        }
        self.spike_buf = spikes;
    }
}

/// Queue the weights of the synapses of `spikes` for step + delay.
pub(super) fn deliver(csr: &Csr, spikes: &[u32], s: u64, queue: &mut EventQueue) {
    let base = queue.base(s);
    for &i in spikes {
        let lo = csr.indptr[i as usize] as usize;
        let hi = csr.indptr[i as usize + 1] as usize;
        for k in lo..hi {
            queue.push_ahead(
                base,
                usize::from(csr.delay_steps[k]),
                csr.indices[k],
                csr.weight[k],
            );
        }
    }
}

/// Run `step` over the blocks of a population: the whole population as one
/// block when serial, [`BLOCK`]-sized blocks on the pool otherwise (the
/// updates draw no random numbers, so the partition does not change
/// results). Appends the spikes to `spikes` in ascending order; `parts`
/// holds each block's spikes (reused between steps).
pub(super) fn run_blocks<B: Send>(
    blocks: Vec<B>,
    chunk: usize,
    pool: Option<&rayon::ThreadPool>,
    step: impl Fn(B, u32, &mut Vec<u32>) + Sync,
    parts: &mut Vec<Vec<u32>>,
    spikes: &mut Vec<u32>,
) {
    match pool {
        Some(p) if blocks.len() > 1 => {
            let n_blocks = blocks.len();
            parts.resize_with(n_blocks, Vec::new);
            p.install(|| {
                blocks
                    .into_par_iter()
                    .zip(parts.par_iter_mut())
                    .enumerate()
                    .for_each(|(b, (blk, out))| {
                        out.clear();
                        step(blk, (b * chunk) as u32, out);
                    });
            });
            for part in &parts[..n_blocks] {
                spikes.extend_from_slice(part);
            }
        }
        _ => {
            for (b, blk) in blocks.into_iter().enumerate() {
                step(blk, (b * chunk) as u32, spikes);
            }
        }
    }
}

pub(super) fn update_population(
    pop: &mut Population,
    s: u64,
    dt_ms: f64,
    pool: Option<&rayon::ThreadPool>,
) {
    pop.spikes.clear();
    let n = pop.n as usize;
    let chunk = match pool {
        Some(_) if n > BLOCK => BLOCK,
        _ => n.max(1),
    };
    let with_current = pop.has_ext || pop.has_bias;
    match &mut pop.model {
        Model::Port { pending, .. } => {
            while let Some(&(step, i)) = pending.first() {
                if step > s {
                    break;
                }
                pending.pop_first();
                if step == s {
                    pop.spikes.push(i);
                }
            }
        }
        Model::PoissonGroup {
            p_spike, streams, ..
        } => {
            // One uniform draw per neuron with a nonzero rate, from its own
            // stream: the spikes do not depend on the threads.
            for (i, (&p, rng)) in p_spike.iter().zip(streams.iter_mut()).enumerate() {
                if p > 0.0 {
                    let u: f64 = rng.random();
                    if u < p {
                        pop.spikes.push(i as u32);
                    }
                }
            }
        }
        Model::Source {
            steps,
            neurons,
            cursor,
        } => {
            while *cursor < steps.len() && steps[*cursor] < s {
                *cursor += 1;
            }
            while *cursor < steps.len() && steps[*cursor] == s {
                pop.spikes.push(neurons[*cursor]);
                *cursor += 1;
            }
        }
        Model::Lif {
            params,
            prop,
            state,
        } => {
            let blocks: Vec<LifBlock<'_>> = state
                .v_mv
                .chunks_mut(chunk)
                .zip(state.syn_ex.chunks_mut(chunk))
                .zip(state.syn_in.chunks_mut(chunk))
                .zip(state.ref_left.chunks_mut(chunk))
                .zip(state.i_e_pa.chunks(chunk).zip(pop.i_ext.chunks(chunk)))
                .map(
                    |((((v, syn_ex), syn_in), ref_left), (i_e, i_ext))| LifBlock {
                        v,
                        syn_ex,
                        syn_in,
                        ref_left,
                        i_e,
                        i_ext,
                    },
                )
                .collect();
            let (params, prop) = (*params, *prop);
            // One branch per block picks the monomorphised loop.
            let step = |blk, base, out: &mut Vec<u32>| {
                if with_current {
                    lif::step_block::<true>(&params, &prop, blk, base, out);
                } else {
                    lif::step_block::<false>(&params, &prop, blk, base, out);
                }
            };
            run_blocks(
                blocks,
                chunk,
                pool,
                step,
                &mut pop.block_spikes,
                &mut pop.spikes,
            );
        }
        Model::Point(m) => m.step(&pop.i_ext, &mut pop.spikes),
        Model::Izhikevich { params, state } => {
            let blocks: Vec<IzhBlock<'_>> = state
                .v_mv
                .chunks_mut(chunk)
                .zip(state.u.chunks_mut(chunk))
                .zip(state.i_syn.chunks_mut(chunk))
                .zip(state.i_e_pa.chunks(chunk))
                .zip(state.a.chunks(chunk).zip(state.b.chunks(chunk)))
                .zip(state.c.chunks(chunk).zip(state.d.chunks(chunk)))
                .zip(pop.i_ext.chunks(chunk))
                .map(
                    |((((((v, u), i_syn), i_e), (a, b)), (c, d)), i_ext)| IzhBlock {
                        v,
                        u,
                        i_syn,
                        i_e,
                        a,
                        b,
                        c,
                        d,
                        i_ext,
                    },
                )
                .collect();
            let params = *params;
            let step = |blk, base, out: &mut Vec<u32>| {
                izhikevich::step_block(&params, dt_ms, blk, base, out);
            };
            run_blocks(
                blocks,
                chunk,
                pool,
                step,
                &mut pop.block_spikes,
                &mut pop.spikes,
            );
        }
    }
}
