//! Causal temporal-proximity masks (`evospikenet_core::attention`) for Python.

use evospikenet_core::attention;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3, PyArrayMethods};
use pyo3::prelude::*;

use crate::detached;

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
    m.add_function(wrap_pyfunction!(chrono_row_sums, m)?)
}
