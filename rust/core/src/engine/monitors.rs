//! Monitors: spike and state monitors, and per-population chunk buffers
//! drained by `take_chunk`.

use super::{Network, Var};
use crate::validate::{at_least, less_than};
use crate::Result;

/// Records spikes of a population.
#[derive(Clone, Debug, Default)]
pub struct SpikeMonitor {
    /// Population index.
    pub pop: usize,
    pub(super) mask: Option<Vec<bool>>,
    /// Steps of recorded spikes.
    pub steps: Vec<u64>,
    /// Neurons of recorded spikes.
    pub neurons: Vec<u32>,
}

/// Samples a state variable of chosen neurons every `every` steps.
#[derive(Clone, Debug)]
pub struct StateMonitor {
    /// Population index.
    pub pop: usize,
    /// Variable.
    pub var: Var,
    /// Recorded neurons.
    pub neurons: Vec<u32>,
    /// Sampling interval in steps.
    pub every: u64,
    /// Steps of the samples.
    pub steps: Vec<u64>,
    /// Samples, row-major `(n_samples, neurons.len())`.
    pub values: Vec<f64>,
}

impl Network {
    /// Record spikes of `pop` (of `neurons` only, when given).
    pub fn add_spike_monitor(&mut self, pop: usize, neurons: Option<&[u32]>) -> Result<usize> {
        self.pop_index(pop)?;
        let n = self.populations[pop].n;
        let mask = match neurons {
            None => None,
            Some(list) => {
                let mut mask = vec![false; n as usize];
                for (k, &i) in list.iter().enumerate() {
                    less_than(&format!("neurons[{k}]"), i, "n", n)?;
                    mask[i as usize] = true;
                }
                Some(mask)
            }
        };
        self.spike_monitors.push(SpikeMonitor {
            pop,
            mask,
            ..SpikeMonitor::default()
        });
        Ok(self.spike_monitors.len() - 1)
    }

    /// Sample `var` of `neurons` of `pop` every `every` steps.
    pub fn add_state_monitor(
        &mut self,
        pop: usize,
        var: Var,
        neurons: Vec<u32>,
        every: u64,
    ) -> Result<usize> {
        self.pop_index(pop)?;
        self.populations[pop].state(var)?;
        at_least("every_steps", every, 1)?;
        let n = self.populations[pop].n;
        for (k, &i) in neurons.iter().enumerate() {
            less_than(&format!("neurons[{k}]"), i, "n", n)?;
        }
        self.state_monitors.push(StateMonitor {
            pop,
            var,
            neurons,
            every,
            steps: Vec::new(),
            values: Vec::new(),
        });
        Ok(self.state_monitors.len() - 1)
    }

    /// Record the spikes of exactly the populations `pops` into their chunk
    /// buffers (emptied now) until [`Network::take_chunk`]; other
    /// populations record nothing.
    pub fn record_chunk(&mut self, pops: &[usize]) -> Result<()> {
        for &p in pops {
            self.pop_index(p)?;
        }
        for pop in &mut self.populations {
            pop.chunk = None;
        }
        for &p in pops {
            self.populations[p].chunk = Some((Vec::new(), Vec::new()));
        }
        Ok(())
    }

    /// The spikes `(steps, neurons)` recorded for `pop` since
    /// [`Network::record_chunk`] (empty if not recorded); stops its recording.
    pub fn take_chunk(&mut self, pop: usize) -> Result<(Vec<u64>, Vec<u32>)> {
        self.pop_index(pop)?;
        Ok(self.populations[pop].chunk.take().unwrap_or_default())
    }
}
