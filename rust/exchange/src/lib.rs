//! Spike exchange of EvoSpikeNet's lockstep shards over Zenoh.
//!
//! The numerical core (`evospikenet-core`) does no I/O; this crate holds the
//! transport the binding drives: the packet layout ([`packet`]), one shard's
//! session ([`transport`]) and the lockstep loop ([`lockstep`]), generic over
//! the simulated part so it runs without Python.

pub mod lockstep;
pub mod packet;
pub mod transport;
