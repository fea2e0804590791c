//! Causal temporal-proximity masks of ChronoSpikeAttention (issue 18).
//!
//! The mask weighs a key at time step `t'` seen from a query at step `t` by
//! its temporal proximity and hides the future:
//!
//! ```text
//! M[t, t'] = exp(-(t - t') / tau)   if t' <= t
//!          = 0                      otherwise
//! ```
//!
//! `tau` (in time steps) defaults to `T / 4` in the Python module. Because
//! `M[t, t']` depends only on the lag `t - t'`, the `T` distinct values are
//! computed once in `f64` and rounded to `f32`, so every entry is the
//! correctly rounded value of the formula (error below half an `f32` ulp,
//! under 6e-8 for values in (0, 1]).
//!
//! The same decay gives the recurrent (retention) form: with
//! `gamma = exp(-1 / tau)`, `sum_{t' <= t} M[t, t'] x[t'] = S[t]` where
//! `S[t] = gamma * S[t - 1] + x[t]`.

use crate::error::{Error, Result};

/// Largest number of mask entries built in one call (`heads * T * T`):
/// 2^31 `f32` values, 8 GiB.
pub const MAX_MASK_ENTRIES: usize = 1 << 31;

fn check_tau(name: &str, tau: f64) -> Result<()> {
    if tau.is_finite() && tau > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: name.to_owned(),
            value: tau.to_string(),
            reason: "must be a finite number > 0 (time steps)".to_owned(),
        })
    }
}

fn check_size(time_steps: usize, heads: usize) -> Result<usize> {
    if time_steps == 0 {
        return Err(Error::InvalidParameter {
            name: "time_steps".to_owned(),
            value: "0".to_owned(),
            reason: "must be >= 1".to_owned(),
        });
    }
    match time_steps
        .checked_mul(time_steps)
        .and_then(|n| n.checked_mul(heads))
    {
        Some(n) if n <= MAX_MASK_ENTRIES => Ok(n),
        _ => Err(Error::InvalidParameter {
            name: "time_steps".to_owned(),
            value: time_steps.to_string(),
            reason: format!(
                "{heads} head(s) of {time_steps} x {time_steps} exceed {MAX_MASK_ENTRIES} entries"
            ),
        }),
    }
}

/// `exp(-lag / tau)` for `lag = 0 .. time_steps`, correctly rounded to `f32`.
fn lag_weights(time_steps: usize, tau: f64) -> Vec<f32> {
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    (0..time_steps)
        .map(|lag| (-(lag as f64) / tau).exp() as f32)
        .collect()
}

fn fill_mask(out: &mut [f32], weights: &[f32]) {
    let t_len = weights.len();
    for (t, row) in out.chunks_exact_mut(t_len).enumerate() {
        // row[t'] = weights[t - t'] for t' <= t; the rest stays 0.
        for (dst, w) in row[..=t].iter_mut().zip(weights[..=t].iter().rev()) {
            *dst = *w;
        }
    }
}

/// The causal temporal-proximity mask, row-major `(time_steps, time_steps)`.
///
/// # Errors
/// [`Error::InvalidParameter`] if `time_steps` is 0 or too large, or `tau`
/// is not a finite number > 0.
pub fn chrono_mask(time_steps: usize, tau: f64) -> Result<Vec<f32>> {
    check_tau("tau", tau)?;
    let n = check_size(time_steps, 1)?;
    let mut out = vec![0.0_f32; n];
    fill_mask(&mut out, &lag_weights(time_steps, tau));
    Ok(out)
}

/// One mask per head, row-major `(taus.len(), time_steps, time_steps)`;
/// head `h` decays with `taus[h]`.
///
/// # Errors
/// [`Error::InvalidParameter`] if `taus` is empty, any `tau` is not a finite
/// number > 0, or the masks would be too large.
pub fn chrono_mask_heads(time_steps: usize, taus: &[f64]) -> Result<Vec<f32>> {
    if taus.is_empty() {
        return Err(Error::InvalidParameter {
            name: "tau".to_owned(),
            value: "[]".to_owned(),
            reason: "need at least one head".to_owned(),
        });
    }
    for &tau in taus {
        check_tau("tau", tau)?;
    }
    let n = check_size(time_steps, taus.len())?;
    let mut out = vec![0.0_f32; n];
    for (head, &tau) in out.chunks_exact_mut(time_steps * time_steps).zip(taus) {
        fill_mask(head, &lag_weights(time_steps, tau));
    }
    Ok(out)
}

/// Row sums `Z[t] = sum_{t' <= t} M[t, t'] = (1 - gamma^(t+1)) / (1 - gamma)`,
/// `gamma = exp(-1/tau)`: the normaliser that keeps the masked weights from
/// growing with `tau` (and so with `T`). Accumulated in `f64`.
///
/// # Errors
/// As [`chrono_mask`].
pub fn chrono_row_sums(time_steps: usize, tau: f64) -> Result<Vec<f32>> {
    check_tau("tau", tau)?;
    check_size(time_steps, 1)?;
    let gamma = (-1.0 / tau).exp();
    let mut z = 0.0_f64;
    #[allow(clippy::cast_possible_truncation)]
    Ok((0..time_steps)
        .map(|_| {
            z = gamma * z + 1.0;
            z as f32
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::cast_precision_loss)]
    fn formula(t: usize, s: usize, tau: f64) -> f64 {
        if s <= t {
            (-((t - s) as f64) / tau).exp()
        } else {
            0.0
        }
    }

    #[test]
    fn mask_matches_formula_up_to_4096() {
        for &t_len in &[1_usize, 2, 7, 16, 100, 1024, 4096] {
            #[allow(clippy::cast_precision_loss)]
            let tau = t_len as f64 / 4.0;
            let m = chrono_mask(t_len, tau).unwrap();
            let mut worst = 0.0_f64;
            for t in 0..t_len {
                for s in 0..t_len {
                    let err = (f64::from(m[t * t_len + s]) - formula(t, s, tau)).abs();
                    worst = worst.max(err);
                }
            }
            // f32 rounding of values in [0, 1]: at most 2^-25 < 3e-8.
            assert!(worst <= 1e-7, "T = {t_len}: max error {worst}");
        }
    }

    #[test]
    fn mask_is_causal_with_unit_diagonal() {
        let m = chrono_mask(33, 3.0).unwrap();
        for t in 0..33 {
            assert!((m[t * 33 + t] - 1.0).abs() < f32::EPSILON);
            assert!(m[t * 33 + t + 1..(t + 1) * 33].iter().all(|&x| x == 0.0));
        }
    }

    #[test]
    fn heads_use_their_own_tau() {
        let taus = [1.0, 4.0, 64.0];
        let m = chrono_mask_heads(50, &taus).unwrap();
        for (h, &tau) in taus.iter().enumerate() {
            let single = chrono_mask(50, tau).unwrap();
            assert_eq!(&m[h * 2500..(h + 1) * 2500], single.as_slice());
        }
    }

    #[test]
    fn row_sums_match_the_mask() {
        let m = chrono_mask(300, 75.0).unwrap();
        let z = chrono_row_sums(300, 75.0).unwrap();
        for t in 0..300 {
            let s: f64 = m[t * 300..(t + 1) * 300]
                .iter()
                .map(|&x| f64::from(x))
                .sum();
            assert!((s - f64::from(z[t])).abs() < 1e-4 * s, "row {t}");
        }
    }

    #[test]
    fn bad_parameters_are_rejected() {
        for tau in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                chrono_mask(4, tau),
                Err(Error::InvalidParameter { .. })
            ));
        }
        assert!(matches!(
            chrono_mask(0, 1.0),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            chrono_mask(1 << 20, 1.0),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            chrono_mask_heads(4, &[]),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            chrono_mask_heads(4, &[1.0, 0.0]),
            Err(Error::InvalidParameter { .. })
        ));
    }
}
