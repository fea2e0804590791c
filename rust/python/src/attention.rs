//! Causal temporal-proximity masks (`evospikenet_core::attention`) for Python.

use evospikenet_core::attention;
use evospikenet_core::lif_window::{self, LifParams, Surrogate};
use evospikenet_core::Error;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArray3, PyArrayMethods, PyReadonlyArray3,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::{detached, to_py_err};

/// The causal mask `M[t, t'] = exp(-(t - t')/tau)` (`t' <= t`, else 0) as a
/// float32 array of shape `(time_steps, time_steps)`.
#[pyfunction]
fn chrono_mask(py: Python<'_>, time_steps: usize, tau: f64) -> PyResult<Bound<'_, PyArray2<f32>>> {
    let flat = detached(py, || attention::chrono_mask(time_steps, tau))?;
    flat.into_pyarray(py).reshape([time_steps, time_steps])
}

/// One causal mask per head, float32 `(len(taus), time_steps, time_steps)`.
#[pyfunction]
fn chrono_mask_heads(
    py: Python<'_>,
    time_steps: usize,
    taus: Vec<f64>,
) -> PyResult<Bound<'_, PyArray3<f32>>> {
    let heads = taus.len();
    let flat = detached(py, || attention::chrono_mask_heads(time_steps, &taus))?;
    flat.into_pyarray(py)
        .reshape([heads, time_steps, time_steps])
}

/// Row sums of the mask, float32 `(time_steps,)`.
#[pyfunction]
fn chrono_row_sums(
    py: Python<'_>,
    time_steps: usize,
    tau: f64,
) -> PyResult<Bound<'_, PyArray1<f32>>> {
    let z = detached(py, || attention::chrono_row_sums(time_steps, tau))?;
    Ok(z.into_pyarray(py))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(chrono_mask, m)?)?;
    m.add_function(wrap_pyfunction!(chrono_mask_heads, m)?)?;
    m.add_function(wrap_pyfunction!(chrono_row_sums, m)?)?;
    m.add_function(wrap_pyfunction!(lif_window_forward, m)?)?;
    m.add_function(wrap_pyfunction!(lif_window_backward, m)?)
}

fn rows<'a>(py: Python<'_>, name: &str, arr: &'a PyReadonlyArray3<'_, f32>) -> PyResult<&'a [f32]> {
    let bad = || {
        to_py_err(
            py,
            Error::invalid(
                name,
                "non-contiguous array",
                "must be C-contiguous float32 (N, T, C)",
            ),
        )
    };
    // `as_slice` also accepts Fortran order, whose memory is not row-major.
    if !arr.is_c_contiguous() {
        return Err(bad());
    }
    arr.as_slice().map_err(|_| bad())
}

fn lif_params(
    py: Python<'_>,
    beta: f32,
    threshold: f32,
    levels: u32,
    integer: bool,
) -> PyResult<LifParams> {
    let p = LifParams {
        beta,
        theta: threshold,
        levels,
        integer,
    };
    p.validate().map_err(|e| to_py_err(py, e))?;
    Ok(p)
}

/// Spikes and `rel`, both float32 `(N, T, C)`.
type SpikesRel<'py> = (Bound<'py, PyArray3<f32>>, Bound<'py, PyArray3<f32>>);

/// A LIF layer over the time axis of `x` (float32 `(N, T, C)`): returns
/// `(spikes, rel)`, both `(N, T, C)`, `rel = (pre - threshold) / threshold`.
#[pyfunction]
#[pyo3(signature = (x, beta, threshold, levels=1, integer=false))]
fn lif_window_forward<'py>(
    py: Python<'py>,
    x: PyReadonlyArray3<'py, f32>,
    beta: f32,
    threshold: f32,
    levels: u32,
    integer: bool,
) -> PyResult<SpikesRel<'py>> {
    let [n, t_len, width] = [x.shape()[0], x.shape()[1], x.shape()[2]];
    let p = lif_params(py, beta, threshold, levels, integer)?;
    let xs = rows(py, "x", &x)?;
    let (s, rel) = detached(py, || {
        lif_window::lif_window_forward(xs, n, t_len, width, &p)
    })?;
    Ok((
        s.into_pyarray(py).reshape([n, t_len, width])?,
        rel.into_pyarray(py).reshape([n, t_len, width])?,
    ))
}

/// The surrogate-gradient backward pass of [`lif_window_forward`]: the
/// gradient `(N, T, C)` with respect to `x`, from `rel` and `grad = dL/ds`.
#[pyfunction]
#[pyo3(signature = (rel, grad, beta, threshold, gain, levels=1, surrogate="fast_sigmoid"))]
#[allow(clippy::too_many_arguments)]
fn lif_window_backward<'py>(
    py: Python<'py>,
    rel: PyReadonlyArray3<'py, f32>,
    grad: PyReadonlyArray3<'py, f32>,
    beta: f32,
    threshold: f32,
    gain: f32,
    levels: u32,
    surrogate: &str,
) -> PyResult<Bound<'py, PyArray3<f32>>> {
    let [n, t_len, width] = [rel.shape()[0], rel.shape()[1], rel.shape()[2]];
    let p = lif_params(py, beta, threshold, levels, false)?;
    let sg = Surrogate::parse(surrogate).map_err(|e| to_py_err(py, e))?;
    let (rs, gs) = (rows(py, "rel", &rel)?, rows(py, "grad", &grad)?);
    let g = detached(py, || {
        lif_window::lif_window_backward(rs, gs, n, t_len, width, &p, sg, gain)
    })?;
    g.into_pyarray(py).reshape([n, t_len, width])
}
