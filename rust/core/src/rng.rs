//! Seeded random streams.
//!
//! Every consumer of randomness (a projection builder, a Poisson input block,
//! an initial-condition draw) gets its own stream derived from the network
//! seed and a fixed tag path, so results never depend on the number of
//! threads or on the order in which unrelated objects draw.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator used everywhere in the core (Blackman & Vigna 2018).
pub type Stream = Xoshiro256PlusPlus;

/// Number of neurons sharing one random stream in per-neuron parallel loops.
/// Fixed, so that the partition (and hence the draws) is independent of the
/// thread count.
pub const BLOCK: usize = 2048;

/// SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream for `seed` and a path of tags (kind, object index, block, ...).
pub fn stream(seed: u64, tags: &[u64]) -> Stream {
    let mut state = splitmix64(seed);
    for &tag in tags {
        state = splitmix64(state ^ splitmix64(tag));
    }
    Stream::seed_from_u64(state)
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
}
