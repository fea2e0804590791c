//! Per-target delay queues of synaptic events.

/// Synaptic events waiting to arrive at a population, for the next `len`
/// steps: slot `s % len` holds the `(target neuron, weight)` pairs that
/// arrive at step `s`, in delivery order (so sums are formed in the same
/// order on every run).
///
/// Sparse on purpose: a step touches only the neurons that receive input,
/// instead of reading and clearing a dense row of the whole population.
#[derive(Clone, Debug, Default)]
pub struct EventQueue {
    slots: Vec<Vec<(u32, f32)>>,
}

impl EventQueue {
    /// A queue able to hold events up to `max_delay` steps ahead.
    pub fn new(max_delay: usize) -> Self {
        Self {
            slots: vec![Vec::new(); max_delay + 1],
        }
    }

    /// Number of slots (max delay + 1).
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    fn index(&self, step: u64) -> usize {
        (step % self.slots.len() as u64) as usize
    }

    /// The slot of step `step`, for [`EventQueue::push_ahead`].
    #[inline]
    pub fn base(&self, step: u64) -> usize {
        self.index(step)
    }

    /// Queue `weight` for neuron `target` `delay` steps after the step whose
    /// slot is `base` (`delay` < number of slots). Avoids a 64-bit division
    /// per event.
    #[inline]
    pub fn push_ahead(&mut self, base: usize, delay: usize, target: u32, weight: f32) {
        let mut i = base + delay;
        if i >= self.slots.len() {
            i -= self.slots.len();
        }
        self.slots[i].push((target, weight));
    }

    /// Apply the events of step `step` with `apply(target, weight)` and clear
    /// them (keeping the slot's capacity).
    #[inline]
    pub fn drain(&mut self, step: u64, mut apply: impl FnMut(usize, f64)) {
        let i = self.index(step);
        for &(target, weight) in &self.slots[i] {
            apply(target as usize, f64::from(weight));
        }
        self.slots[i].clear();
    }

    /// Drop every pending event (keeping the slots' capacity).
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(Vec::clear);
    }

    /// Grow to hold `max_delay`, keeping pending events at their steps.
    /// `now` is the current step.
    pub fn ensure(&mut self, max_delay: usize, now: u64) {
        if max_delay < self.slots.len() {
            return;
        }
        let mut grown = EventQueue::new(max_delay);
        for ahead in 0..self.slots.len() as u64 {
            let old = self.index(now + ahead);
            let new = grown.index(now + ahead);
            grown.slots[new] = std::mem::take(&mut self.slots[old]);
        }
        *self = grown;
    }
}
