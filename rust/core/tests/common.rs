//! Helpers shared by the integration tests.
#![allow(dead_code)]

use evospikenet_core::neuron::lif::{LifParams, LifSynapse};

/// A current-based LIF parameter set (NEST iaf_psc_exp defaults).
pub fn cuba(v_th_mv: f64) -> LifParams {
    LifParams {
        c_m_pf: 250.0,
        tau_m_ms: 10.0,
        e_l_mv: -70.0,
        v_th_mv,
        v_reset_mv: -70.0,
        t_ref_ms: 2.0,
        synapse: LifSynapse::CurrentExp {
            tau_syn_ex_ms: 2.0,
            tau_syn_in_ms: 2.0,
        },
    }
}
