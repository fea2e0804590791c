//! `evospikenet-core`: the pure-Rust numerical core of EvoSpikeNet.
//!
//! No Python types live here; the `evospikenet-python` crate binds this crate
//! to `evospikenet._core`. Time inside the engine is an integer step;
//! `t_ms = step * dt_ms`. Units follow NEST: ms, mV, pA, pF, nS, Hz.

pub mod audit;
pub mod connect;
pub mod csr;
// Connectome delta merge / diff (issue 5).
pub mod connectome;
pub mod control;
pub mod engine;
pub mod error;
pub mod neuron;
pub mod npz;
pub mod plasticity;
pub mod poisson;
pub mod rng;
pub mod validate;

pub use error::{Error, Result};
// ChronoSpikeAttention causal masks (issue 18).
pub mod attention;
pub mod lif_window;
