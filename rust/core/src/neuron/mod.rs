//! Neuron models: leaky integrate-and-fire (exact integration), Izhikevich,
//! and NEST's `iaf_psc_alpha`, AdEx (`aeif_cond_exp`, `aeif_psc_exp`) and
//! `hh_cond_exp_traub` behind [`point::PointNeuron`].

pub mod aeif;
pub mod hh;
pub mod iaf_psc_alpha;
pub mod izhikevich;
pub mod lif;
pub mod point;
