//! Range checks of parameters, shared by the whole core.
//!
//! Every check names the parameter and builds one
//! [`Error::InvalidParameter`] `{ name, value, reason }` whose reason reads
//! "must be ..." (displayed as `invalid parameter {name} = {value}: {reason}`).
//! A check returns the accepted value, so it can sit inside an expression.

use std::fmt::Display;

use crate::{Error, Result};

/// A floating-point value the checks accept (`f64`, or `f32` for stored
/// arrays such as connectome weights); the message shows it as given.
pub trait Real: Copy + PartialOrd + Display {
    /// Zero of the type.
    const ZERO: Self;
    /// Neither infinite nor NaN.
    fn is_finite(self) -> bool;
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

/// Check that `value` is finite, naming the parameter otherwise.
pub fn finite<T: Real>(name: &str, value: T) -> Result<T> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::invalid(name, value, "must be finite"))
    }
}

/// Check that `value` is finite and strictly positive.
pub fn positive<T: Real>(name: &str, value: T) -> Result<T> {
    if value.is_finite() && value > T::ZERO {
        Ok(value)
    } else {
        Err(Error::invalid(name, value, "must be finite and > 0"))
    }
}

/// Check that `value` is finite and not negative.
pub fn non_negative<T: Real>(name: &str, value: T) -> Result<T> {
    if value.is_finite() && value >= T::ZERO {
        Ok(value)
    } else {
        Err(Error::invalid(name, value, "must be finite and >= 0"))
    }
}

/// Check that `value` lies in `[0, 1]` (NaN is rejected).
pub fn unit_interval(name: &str, value: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid(name, value, "must lie in [0, 1]"))
    }
}

/// Check that `value` is a whole number >= 0 and return it as a count.
pub fn count(name: &str, value: f64) -> Result<u64> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 {
        Ok(value as u64)
    } else {
        Err(Error::invalid(
            name,
            value,
            "must be a non-negative integer",
        ))
    }
}

/// Check that `value >= min`.
pub fn at_least<T: PartialOrd + Display>(name: &str, value: T, min: T) -> Result<T> {
    if value >= min {
        Ok(value)
    } else {
        Err(Error::invalid(name, &value, format!("must be >= {min}")))
    }
}

/// Check that the index `value` is below `bound`, called `bound_name` in the
/// message (`must be < n = 10`).
pub fn less_than<T: PartialOrd + Display>(
    name: &str,
    value: T,
    bound_name: &str,
    bound: T,
) -> Result<T> {
    if value < bound {
        Ok(value)
    } else {
        Err(Error::invalid(
            name,
            &value,
            format!("must be < {bound_name} = {bound}"),
        ))
    }
}

/// Number of whole steps in `duration_ms`, rejecting durations that are
/// negative, not finite, or not a multiple of `dt_ms` (to 1e-9 relative).
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

/// Check one synaptic delay given in ms (after a finite check): >= 0, a
/// multiple of `dt_ms` (to 1e-6 steps), and at most 65535 steps.
pub fn delay_on_grid(name: &str, delay_ms: f64, dt_ms: f64) -> Result<f64> {
    if delay_ms < 0.0 {
        return Err(Error::invalid(name, delay_ms, "must be >= 0"));
    }
    let ratio = delay_ms / dt_ms;
    if (ratio - ratio.round()).abs() > 1e-6 {
        return Err(Error::invalid(
            name,
            delay_ms,
            format!("a constant delay must be a multiple of dt_ms = {dt_ms}"),
        ));
    }
    if ratio.round() > f64::from(u16::MAX) {
        return Err(Error::invalid(name, delay_ms, "longer than 65535 steps"));
    }
    Ok(delay_ms)
}

/// Prefix the reason of an [`Error::InvalidParameter`] with `context` (e.g.
/// `edge 3` gives `edge 3: must be finite`), for values checked item by item
/// under one parameter name. Other errors pass through.
pub fn within<T>(result: Result<T>, context: impl FnOnce() -> String) -> Result<T> {
    result.map_err(|e| match e {
        Error::InvalidParameter {
            name,
            value,
            reason,
        } => Error::InvalidParameter {
            name,
            value,
            reason: format!("{}: {reason}", context()),
        },
        other => other,
    })
}

#[cfg(test)]
// Exact comparisons are intended: the checks return their input unchanged.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    fn reason(e: Error) -> String {
        match e {
            Error::InvalidParameter { reason, .. } => reason,
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn accepts_and_returns_values_in_range() {
        assert_eq!(finite("x", -1.5).unwrap(), -1.5);
        assert_eq!(positive("x", 2.0).unwrap(), 2.0);
        assert_eq!(non_negative("x", 0.0).unwrap(), 0.0);
        assert_eq!(unit_interval("p", 1.0).unwrap(), 1.0);
        assert_eq!(count("k", 3.0).unwrap(), 3);
        assert_eq!(at_least("threads", 1_usize, 1).unwrap(), 1);
        assert_eq!(less_than("i", 2_u32, "n", 3).unwrap(), 2);
        assert_eq!(steps_exact("t_ms", 1.5, 0.1).unwrap(), 15);
        assert_eq!(delay_on_grid("delay_ms", 0.3, 0.1).unwrap(), 0.3);
    }

    #[test]
    fn rejects_with_one_message_format() {
        let e = positive("tau_m_ms", -1.0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid parameter tau_m_ms = -1: must be finite and > 0"
        );
        assert!(finite("x", f64::NAN).is_err());
        assert!(non_negative("x", f64::INFINITY).is_err());
        assert!(unit_interval("p", f64::NAN).is_err());
        assert!(count("k", 1.5).is_err());
        assert_eq!(
            reason(at_least("every", 0_u64, 1).unwrap_err()),
            "must be >= 1"
        );
        assert_eq!(
            reason(less_than("neurons[0]", 5_u32, "n", 5).unwrap_err()),
            "must be < n = 5"
        );
        assert!(steps_exact("t_ms", 0.25, 0.1).is_err());
        assert!(delay_on_grid("delay_ms", 0.25, 0.1).is_err());
        assert!(delay_on_grid("delay_ms", 1e9, 0.1).is_err());
    }

    #[test]
    fn within_prefixes_the_reason_only() {
        let e = within(finite("weight", f64::NAN), || "edge 3".into()).unwrap_err();
        assert_eq!(reason(e), "edge 3: must be finite");
        let other: Result<()> = Err(Error::Interrupted);
        assert!(matches!(
            within(other, || "edge 3".into()),
            Err(Error::Interrupted)
        ));
    }
}
