//! Seeded random streams, keyed by global identity.
//!
//! Every consumer of randomness gets its own stream derived from the network
//! seed and a path of tags that names *what* the numbers are for in terms
//! that do not depend on how the network was assembled: no object index,
//! thread count or block partition enters a key. So a sub-network built from
//! a subset of the populations (remote populations replaced by input ports of
//! the same name) draws exactly the numbers the whole network draws for the
//! same neurons and synapses.
//!
//! Keys:
//!
//! * a population's **rng key** is, by default, [`name_key`] of its name
//!   (64-bit FNV-1a, stable across processes and platforms; not Rust's
//!   randomised `DefaultHasher`); a population may be given another key and
//!   **global neuron ids** (default `0..n`), so that a shard of a connectome
//!   population draws as the same neurons of the whole population;
//! * initial-state draws: `(seed, INIT, pop key, variable, global neuron id)`,
//!   one stream per neuron;
//! * Poisson input and current noise: `(seed, POISSON | NOISE, pop key,
//!   ordinal, global neuron id)`, one stream per neuron, where the ordinal
//!   counts the inputs of the same kind added before onto the same
//!   population (so results are independent of the thread count: a neuron
//!   always draws from its own stream);
//! * connection rules: fixed-probability pairs and fixed-total-number row
//!   lengths from `(seed, CONNECT, pre key, post key, ordinal, 0)`, the
//!   weights and delays of source `i`'s synapses from `(..., 1, global id of
//!   i)`, the targets of source `i` (fixed out-degree, fixed total number)
//!   from `(..., 3, global id of i)`, where the ordinal
//!   counts the earlier `connect` and `connect_arrays` calls with the same
//!   `(pre, post)` pair of keys; rules that draw per target neuron (fixed in-degree) draw the
//!   sources of target `j` from `(seed, CONNECT, pre key, post key, ordinal,
//!   2, global id of j)`.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator used everywhere in the core (Blackman & Vigna 2018).
pub type Stream = Xoshiro256PlusPlus;

/// Number of neurons per parallel work item in per-neuron loops (a work
/// partition only: every neuron draws from its own stream, so the
/// partition does not change the numbers).
pub const BLOCK: usize = 2048;

/// SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream for `seed` and a path of tags (kind, keys, ordinal, neuron, ...).
pub fn stream(seed: u64, tags: &[u64]) -> Stream {
    Stream::seed_from_u64(mix(seed, tags))
}

/// The 64-bit state reached from `seed` along `tags` (the seed of [`stream`]);
/// extend it with [`extend`] to derive many sibling streams cheaply.
#[inline]
pub fn mix(seed: u64, tags: &[u64]) -> u64 {
    let mut state = splitmix64(seed);
    for &tag in tags {
        state = extend(state, tag);
    }
    state
}

/// One more tag after a [`mix`] state.
#[inline]
pub fn extend(state: u64, tag: u64) -> u64 {
    splitmix64(state ^ splitmix64(tag))
}

/// The stream of a [`mix`] state.
#[inline]
pub fn from_state(state: u64) -> Stream {
    Stream::seed_from_u64(state)
}

/// 64-bit FNV-1a hash of a population name: the default rng key.
#[must_use]
pub fn name_key(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Tags naming what a stream is for (first element of the tag path).
pub mod tag {
    /// Projection construction.
    pub const CONNECT: u64 = 1;
    /// Poisson input draws.
    pub const POISSON: u64 = 2;
    /// Gaussian noise current draws.
    pub const NOISE: u64 = 3;
    /// Initial conditions and per-neuron parameter draws.
    pub const INIT: u64 = 4;
    /// Poisson spike-source populations (`Network::add_poisson_group`).
    pub const POISSON_GROUP: u64 = 5;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_values() {
        // Reference values of 64-bit FNV-1a (Fowler, Noll, Vo).
        assert_eq!(name_key(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(name_key("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(name_key("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn mix_and_extend_agree_with_stream() {
        use rand::RngExt;
        let mut a = stream(3, &[1, 2, 3]);
        let mut b = from_state(extend(mix(3, &[1, 2]), 3));
        assert_eq!(a.random::<u64>(), b.random::<u64>());
    }
}
