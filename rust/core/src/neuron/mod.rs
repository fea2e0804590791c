//! Neuron models: leaky integrate-and-fire (exact integration) and Izhikevich.

pub mod izhikevich;
pub mod lif;

use crate::{Error, Result};

/// Check that `value` is finite, naming the parameter otherwise.
pub(crate) fn finite(name: &str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::invalid(name, value, "must be finite"))
    }
}

/// Check that `value` is finite and strictly positive.
pub(crate) fn positive(name: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::invalid(name, value, "must be finite and > 0"))
    }
}

/// Check that `value` is finite and not negative.
pub(crate) fn non_negative(name: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::invalid(name, value, "must be finite and >= 0"))
    }
}

/// Number of whole steps in `duration_ms`, rejecting durations that are not a
/// multiple of `dt_ms` (to 1e-9 relative).
pub fn steps_exact(name: &str, duration_ms: f64, dt_ms: f64) -> Result<u64> {
    non_negative(name, duration_ms)?;
    let ratio = duration_ms / dt_ms;
    let rounded = ratio.round();
    if (ratio - rounded).abs() > 1e-9 * rounded.max(1.0) {
        return Err(Error::invalid(
            name,
            duration_ms,
            format!("must be a multiple of dt_ms = {dt_ms}"),
        ));
    }
    Ok(rounded as u64)
}
