//! Neuron models: leaky integrate-and-fire (exact integration), Izhikevich,
//! and NEST's `iaf_psc_alpha` and AdEx (`aeif_cond_exp`, `aeif_psc_exp`)
//! behind [`point::PointNeuron`].

pub mod aeif;
pub mod iaf_psc_alpha;
pub mod izhikevich;
pub mod lif;
pub mod point;
