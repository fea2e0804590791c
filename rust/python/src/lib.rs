//! `evospikenet._core`: the PyO3 binding of `evospikenet-core`.
//!
//! Each binding function extracts its arguments, releases the interpreter
//! around the core call ([`detached`]), and converts the result. No numerics
//! live here.

use pyo3::prelude::*;

mod attention;
mod audit;
// Connectome delta merge / diff (issue 5).
mod connectome;
mod control;
mod engine;
mod errors;
mod exchange;

pub(crate) use errors::{detached, interruptible, to_py_err};

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // the git revision the extension was built from ("" outside a checkout); build.rs
    m.add("__git_revision__", env!("EVOSPIKENET_GIT_REVISION"))?;
    engine::register(m)?;
    audit::register(m)?;
    connectome::register(m)?;
    control::register(m)?;
    attention::register(m)?; // issue 18
    exchange::register(m)?;
    Ok(())
}
