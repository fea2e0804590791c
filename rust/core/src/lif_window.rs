//! A LIF layer over a window of time steps and its surrogate-gradient
//! backward pass (BPTT), fused: the kernel behind the torch module's
//! `lif_sequence` (issue 18).
//!
//! The arrays are `(B, T, C)` row-major, `B` independent windows: row `t` of
//! a window holds its `C` neurons at step `t`, so each step sweeps one
//! contiguous row. Forward, per neuron, with `v_{-1} = 0`:
//!
//! ```text
//! pre_t = beta v_{t-1} + x_t                (integer: trunc(beta v_{t-1}) + x_t)
//! s_t   = [pre_t >= theta]                  (levels = 1)
//!       = clip(floor(pre_t / theta), 0, K)  (levels = K > 1, graded spikes)
//! v_t   = pre_t - s_t theta                 (reset by subtraction)
//! rel_t = (pre_t - theta) / theta           (saved for the backward pass)
//! ```
//!
//! Backward, with the reset detached: `dL/dx_k = sum_{t >= k} beta^(t-k)
//! gain sg(rel_t) dL/ds_t`, a reverse decayed cumulative sum, where `sg` is
//! the surrogate derivative (fast sigmoid, Zenke & Ganguli 2018, or arctan,
//! Fang et al. 2021) of the nearest threshold and `gain = scale / theta`.
//!
//! Every operation is the one the torch reference loop performs, in the same
//! order and with the same roundings: `a + alpha b` is one fused
//! multiply-add (torch's vectorised `add` with `alpha`), floor division is
//! Python's (`fmod`-based, as `torch.div(..., rounding_mode="floor")`), and
//! rounding is half to even (`torch.round`). So on the same inputs the kernel
//! gives the loop's spikes and gradients bit for bit, where torch takes its
//! vectorised path (rows of a multiple of 8 or 16 floats).

use crate::error::{Error, Result};

/// Surrogate derivative of the spike nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surrogate {
    /// `1 / (1 + 10 |x|)^2` (Zenke & Ganguli 2018).
    FastSigmoid,
    /// `1 / (1 + (pi x)^2)`, the arctan surrogate with alpha = 2 (Fang et al. 2021).
    Atan,
}

impl Surrogate {
    /// Parse `"fast_sigmoid"` or `"atan"`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `surrogate` for any other name.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "fast_sigmoid" => Ok(Self::FastSigmoid),
            "atan" => Ok(Self::Atan),
            other => Err(Error::InvalidParameter {
                name: "surrogate".to_owned(),
                value: other.to_owned(),
                reason: "expected 'fast_sigmoid' or 'atan'".to_owned(),
            }),
        }
    }

    #[inline]
    fn grad(self, x: f32) -> f32 {
        match self {
            Self::FastSigmoid => {
                let r = 1.0 / (x.abs() * 10.0 + 1.0);
                r * r
            }
            Self::Atan => {
                // torch: (x * (pi / 2 * alpha)).square_().add_(1).reciprocal_().mul_(alpha / 2)
                #[allow(clippy::cast_possible_truncation)]
                let k = (std::f64::consts::PI / 2.0 * 2.0) as f32;
                let y = x * k;
                1.0 / (y * y + 1.0)
            }
        }
    }
}

/// Parameters of one LIF layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LifParams {
    /// Membrane decay per step, in [0, 1].
    pub beta: f32,
    /// Firing threshold (> 0), in the units of the drive.
    pub theta: f32,
    /// Largest spike value `K` (1: binary spikes).
    pub levels: u32,
    /// Integer state (EvoLIF): the decayed membrane is truncated toward 0.
    pub integer: bool,
}

impl LifParams {
    /// Check the parameters as a whole.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `beta` (outside [0, 1]), `threshold`
    /// (not finite and > 0) or `levels` (0).
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, value: String, reason: &str| {
            Err(Error::InvalidParameter {
                name: name.to_owned(),
                value,
                reason: reason.to_owned(),
            })
        };
        if !(0.0..=1.0).contains(&self.beta) {
            return bad("beta", self.beta.to_string(), "must be in [0, 1]");
        }
        if !(self.theta.is_finite() && self.theta > 0.0) {
            return bad(
                "threshold",
                self.theta.to_string(),
                "must be finite and > 0",
            );
        }
        if self.levels == 0 {
            return bad("levels", "0".to_owned(), "must be >= 1");
        }
        Ok(())
    }
}

fn check_shape(
    name: &str,
    len: usize,
    batch: usize,
    time_steps: usize,
    width: usize,
) -> Result<()> {
    if batch
        .checked_mul(time_steps)
        .and_then(|n| n.checked_mul(width))
        == Some(len)
    {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            name: name.to_owned(),
            expected: format!(
                "{batch} x {time_steps} x {width} = batch x time_steps x width values"
            ),
            got: len.to_string(),
        })
    }
}

/// Python's floor division of floats, as `c10::div_floor_floating` (what
/// `torch.div(a, b, rounding_mode="floor")` computes), for `b > 0`.
#[inline]
fn div_floor(a: f32, b: f32) -> f32 {
    let m = a % b; // fmod: exact
    let mut div = (a - m) / b;
    if m < 0.0 {
        div -= 1.0;
    }
    if div == 0.0 {
        return 0.0_f32.copysign(a / b);
    }
    let mut floordiv = div.floor();
    if div - floordiv > 0.5 {
        floordiv += 1.0;
    }
    floordiv
}

/// One row of the forward pass before the reset: `pre` into `rr`, the spikes
/// (for graded spikes from the rounded quotient) into `sr`; returns how many
/// graded entries lie within `band` of a threshold multiple. Monomorphised per
/// mode so that the loop has no branches and vectorises (hence `&`, `|` on
/// booleans: both sides are cheap compares, evaluated without a jump).
#[inline]
#[allow(clippy::too_many_arguments, clippy::needless_bitwise_bool)]
fn first_pass<const INTEGER: bool, const GRADED: bool>(
    v: &mut [f32],
    xr: &[f32],
    sr: &mut [f32],
    rr: &mut [f32],
    beta: f32,
    theta: f32,
    k: f32,
    band: f32,
) -> f32 {
    let mut near = 0.0_f32;
    for ((vi, &xi), (si, ri)) in v.iter_mut().zip(xr).zip(sr.iter_mut().zip(rr.iter_mut())) {
        let pre = if INTEGER {
            xi + (*vi * beta).trunc()
        } else {
            vi.mul_add(beta, xi)
        };
        *ri = pre;
        if GRADED {
            let q = pre / theta;
            let f = q.floor();
            let frac = q - f;
            let risky = (frac < band) | (frac > 1.0 - band);
            let inside = (q > -2.0) & (q < k + 2.0);
            near += f32::from(u8::from(risky & inside));
            *si = f.clamp(0.0, k);
        } else {
            *si = f32::from(u8::from(pre >= theta));
        }
    }
    near
}

/// Forward pass over `x`, `(batch, time_steps, width)` row-major: `batch`
/// independent windows, each starting at rest.
///
/// Returns `(spikes, rel)`, both shaped like `x`: the spikes (0/1, or 0..K)
/// and `rel_t = (pre_t - theta) / theta` for [`lif_window_backward`].
///
/// # Errors
/// [`Error::InvalidParameter`] for bad [`LifParams`]; [`Error::ShapeMismatch`]
/// if `x.len() != batch * time_steps * width`.
pub fn lif_window_forward(
    x: &[f32],
    batch: usize,
    time_steps: usize,
    width: usize,
    p: &LifParams,
) -> Result<(Vec<f32>, Vec<f32>)> {
    p.validate()?;
    check_shape("x", x.len(), batch, time_steps, width)?;
    let mut spikes = vec![0.0_f32; x.len()];
    let mut rel = vec![0.0_f32; x.len()];
    if width == 0 {
        return Ok((spikes, rel));
    }
    let mut v = vec![0.0_f32; width];
    #[allow(clippy::cast_precision_loss)]
    let k = p.levels as f32;
    let (beta, theta) = (p.beta, p.theta);
    // Graded spikes: floor(pre / theta) through one (vectorised) division. The
    // rounded quotient is within (K + 2) 2^-24 of the true one where the clip does
    // not decide the result (-2 < q < K + 2), so its floor is the true floor (what
    // torch's fmod-based floor division returns) unless it lies within `band` of an
    // integer; those few entries are recomputed with the exact algorithm.
    let band = (1e-6_f32).max((k + 2.0) * f32::EPSILON * 2.0);
    for (((xr, sr), rr), t) in x
        .chunks_exact(width)
        .zip(spikes.chunks_exact_mut(width))
        .zip(rel.chunks_exact_mut(width))
        .zip((0..time_steps).cycle())
    {
        if t == 0 {
            v.fill(0.0); // a new window starts at rest
        }
        let near = match (p.integer, p.levels == 1) {
            (false, true) => first_pass::<false, false>(&mut v, xr, sr, rr, beta, theta, k, band),
            (false, false) => first_pass::<false, true>(&mut v, xr, sr, rr, beta, theta, k, band),
            (true, true) => first_pass::<true, false>(&mut v, xr, sr, rr, beta, theta, k, band),
            (true, false) => first_pass::<true, true>(&mut v, xr, sr, rr, beta, theta, k, band),
        };
        if near > 0.0 {
            for (si, &pre) in sr.iter_mut().zip(rr.iter()) {
                let q = pre / theta;
                let frac = q - q.floor();
                if (frac < band || frac > 1.0 - band) && q > -2.0 && q < k + 2.0 {
                    *si = div_floor(pre, theta).clamp(0.0, k);
                }
            }
        }
        for ((vi, &si), ri) in v.iter_mut().zip(sr.iter()).zip(rr.iter_mut()) {
            let pre = *ri;
            *vi = si.mul_add(-theta, pre);
            *ri = (pre - theta) / theta;
        }
    }
    Ok((spikes, rel))
}

/// Backward pass: the gradient with respect to the forward input `x`.
///
/// `rel` is the forward pass's second output, `grad` the upstream gradient
/// `dL/ds` (both `(batch, time_steps, width)`), `gain` the factor
/// `scale / theta` (`scale` = 1000 for the integer state, else 1).
///
/// # Errors
/// [`Error::InvalidParameter`] for bad [`LifParams`]; [`Error::ShapeMismatch`]
/// if `rel` or `grad` is not `batch * time_steps * width` long.
pub fn lif_window_backward(
    rel: &[f32],
    grad: &[f32],
    batch: usize,
    time_steps: usize,
    width: usize,
    p: &LifParams,
    surrogate: Surrogate,
    gain: f32,
) -> Result<Vec<f32>> {
    p.validate()?;
    check_shape("rel", rel.len(), batch, time_steps, width)?;
    check_shape("grad", grad.len(), batch, time_steps, width)?;
    let mut g = vec![0.0_f32; rel.len()];
    if width == 0 || time_steps == 0 {
        return Ok(g);
    }
    #[allow(clippy::cast_precision_loss)]
    let top = (p.levels - 1) as f32;
    // Walk each window's rows from the last step back:
    // g_t = sg_t dL/ds_t + beta g_{t+1}.
    let window = time_steps * width;
    for ((gw, rw), dw) in g
        .chunks_exact_mut(window)
        .zip(rel.chunks_exact(window))
        .zip(grad.chunks_exact(window))
    {
        backward_window(gw, rw, dw, time_steps, width, p, surrogate, gain, top);
    }
    Ok(g)
}

#[allow(clippy::too_many_arguments)]
fn backward_window(
    g: &mut [f32],
    rel: &[f32],
    grad: &[f32],
    time_steps: usize,
    width: usize,
    p: &LifParams,
    surrogate: Surrogate,
    gain: f32,
    top: f32,
) {
    let beta = p.beta;
    for t in (0..time_steps).rev() {
        let (head, tail) = g.split_at_mut((t + 1) * width);
        let row = &mut head[t * width..];
        let rr = &rel[t * width..(t + 1) * width];
        let gr = &grad[t * width..(t + 1) * width];
        for (gi, (&ri, &di)) in row.iter_mut().zip(rr.iter().zip(gr)) {
            let r = if p.levels > 1 {
                ri - ri.round_ties_even().clamp(0.0, top)
            } else {
                ri
            };
            *gi = surrogate.grad(r) * gain * di;
        }
        if t + 1 < time_steps {
            for (gi, &ni) in row.iter_mut().zip(&tail[..width]) {
                *gi = ni.mul_add(beta, *gi);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(levels: u32) -> LifParams {
        LifParams {
            beta: 0.5,
            theta: 1.0,
            levels,
            integer: false,
        }
    }

    #[test]
    fn binary_neuron_integrates_fires_and_resets() {
        // One neuron, constant drive 0.6: v = 0.6, 0.9, 1.05 -> spike, reset to 0.05, ...
        let (s, rel) = lif_window_forward(&[0.6; 4], 1, 4, 1, &params(1)).unwrap();
        assert_eq!(s, vec![0.0, 0.0, 1.0, 0.0]);
        assert!((rel[2] - 0.05).abs() < 1e-6);
        assert!((rel[3] - (0.025 + 0.6 - 1.0)).abs() < 1e-6);
    }

    #[test]
    fn graded_spikes_are_clipped_and_reset_by_as_many_thresholds() {
        let (s, rel) = lif_window_forward(&[2.5, 7.0, 0.0], 1, 3, 1, &params(4)).unwrap();
        // 2.5 -> 2 spikes, v = 0.5; 0.25 + 7 = 7.25 -> clipped at 4, v = 3.25; 1.625 -> 1.
        assert_eq!(s, vec![2.0, 4.0, 1.0]);
        assert!((rel[2] - 0.625).abs() < 1e-6);
    }

    #[test]
    fn floor_division_matches_python() {
        for &(a, b) in &[
            (7.0_f32, 2.0_f32),
            (-7.0, 2.0),
            (0.3, 0.1),
            (-0.0, 1.0),
            (5.0, 0.7),
        ] {
            let want = (f64::from(a) / f64::from(b)).floor();
            let got = f64::from(div_floor(a, b));
            assert!((got - want).abs() <= 1.0, "{a} // {b}: {got} vs {want}");
        }
        assert_eq!(div_floor(-7.0, 2.0).to_bits(), (-4.0_f32).to_bits());
        assert_eq!(div_floor(6.0, 3.0).to_bits(), 2.0_f32.to_bits());
    }

    #[test]
    fn graded_spikes_near_a_threshold_multiple_use_exact_floor_division() {
        // pre / theta lands on or next to an integer: the exact path decides.
        let p = LifParams {
            beta: 0.0,
            theta: 0.1,
            levels: 4,
            integer: false,
        };
        let x = [0.3_f32, 0.2, 0.299_999_98, 0.400_000_03, -0.1];
        let (s, _) = lif_window_forward(&x, 1, 5, 1, &p).unwrap();
        let want: Vec<f32> = x
            .iter()
            .map(|&a| div_floor(a, 0.1).clamp(0.0, 4.0))
            .collect();
        assert_eq!(s, want);
    }

    #[test]
    fn backward_is_the_reverse_decayed_sum() {
        // rel = 0 everywhere: the surrogate is 1, so g_k = sum_t beta^(t-k) grad_t.
        let rel = vec![0.0_f32; 3];
        let g = lif_window_backward(
            &rel,
            &[1.0, 2.0, 4.0],
            1,
            3,
            1,
            &params(1),
            Surrogate::FastSigmoid,
            1.0,
        )
        .unwrap();
        assert_eq!(g, vec![1.0 + 0.5 * 2.0 + 0.25 * 4.0, 2.0 + 0.5 * 4.0, 4.0]);
    }

    #[test]
    fn windows_of_a_batch_are_independent() {
        let x = [0.6_f32, 0.6, 0.6, 0.3, 0.6, 0.6, 0.6, 0.3];
        let (s, rel) = lif_window_forward(&x, 2, 4, 1, &params(1)).unwrap();
        let (s1, rel1) = lif_window_forward(&x[..4], 1, 4, 1, &params(1)).unwrap();
        assert_eq!(&s[4..], s1.as_slice());
        assert_eq!(&rel[4..], rel1.as_slice());
        let g = lif_window_backward(&rel, &x, 2, 4, 1, &params(1), Surrogate::Atan, 1.0).unwrap();
        let g1 =
            lif_window_backward(&rel1, &x[..4], 1, 4, 1, &params(1), Surrogate::Atan, 1.0).unwrap();
        assert_eq!(&g[4..], g1.as_slice());
    }

    #[test]
    fn bad_input_names_the_field() {
        let e = lif_window_forward(&[0.0; 5], 1, 2, 2, &params(1)).unwrap_err();
        assert!(e.to_string().contains("shape mismatch for x"), "{e}");
        let mut p = params(1);
        p.beta = 1.5;
        let e = lif_window_forward(&[0.0; 4], 1, 2, 2, &p).unwrap_err();
        assert!(e.to_string().contains("beta"), "{e}");
        assert!(Surrogate::parse("relu").is_err());
    }
}
