//! Per-target delay ring buffers.

/// Input waiting to arrive at each neuron of a population, for the next
/// `len` steps. Slot `s % len` holds what arrives at step `s`.
#[derive(Clone, Debug, Default)]
pub struct Ring {
    n: usize,
    len: usize,
    data: Vec<f64>,
}

impl Ring {
    /// A buffer for `n` neurons able to hold arrivals up to `max_delay`
    /// steps ahead.
    pub fn new(n: usize, max_delay: usize) -> Self {
        let len = max_delay + 1;
        Self {
            n,
            len,
            data: vec![0.0; n * len],
        }
    }

    /// Number of slots (max delay + 1).
    pub fn slots(&self) -> usize {
        self.len
    }

    /// Mutable slot for step `step`.
    pub fn slot_mut(&mut self, step: u64) -> &mut [f64] {
        let s = (step % self.len as u64) as usize;
        &mut self.data[s * self.n..(s + 1) * self.n]
    }

    /// Slot for step `step`.
    pub fn slot(&self, step: u64) -> &[f64] {
        let s = (step % self.len as u64) as usize;
        &self.data[s * self.n..(s + 1) * self.n]
    }

    /// Add `w` to what arrives at neuron `i` at step `step`.
    #[inline]
    pub fn add(&mut self, step: u64, i: usize, w: f64) {
        let s = (step % self.len as u64) as usize;
        self.data[s * self.n + i] += w;
    }

    /// Grow to hold `max_delay`, keeping pending arrivals at their steps.
    /// `now` is the current step.
    pub fn ensure(&mut self, max_delay: usize, now: u64) {
        if max_delay < self.len {
            return;
        }
        let mut grown = Ring::new(self.n, max_delay);
        for ahead in 0..self.len as u64 {
            let src = self.slot(now + ahead).to_vec();
            grown.slot_mut(now + ahead).copy_from_slice(&src);
        }
        *self = grown;
    }
}
