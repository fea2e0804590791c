//! Neuron models: leaky integrate-and-fire (exact integration) and Izhikevich.

pub mod izhikevich;
pub mod lif;
