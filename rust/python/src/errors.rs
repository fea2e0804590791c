//! Mapping of core errors onto the exception classes of `evospikenet.errors`,
//! and the one helper that runs core work with the interpreter detached.

use std::time::{Duration, Instant};

use evospikenet_core::Error;
use pyo3::prelude::*;

/// Wall time between two looks at pending signals (Ctrl-C) during a long
/// call: bounds the Ctrl-C latency whatever the size of a step.
const SIGNAL_INTERVAL: Duration = Duration::from_millis(50);

/// Convert a core error into an instance of its `evospikenet.errors` class.
///
/// The classes are defined in Python so that they can also derive from the
/// matching builtin (`InvalidParameterError` is a `ValueError`, ...).
pub(crate) fn to_py_err(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    let built = (|| -> PyResult<PyErr> {
        let module = py.import("evospikenet.errors")?;
        let instance =
            match &err {
                Error::InvalidParameter {
                    name,
                    value,
                    reason,
                } => module.getattr("InvalidParameterError")?.call1((
                    message,
                    name.as_str(),
                    value.as_str(),
                    reason.as_str(),
                ))?,
                Error::ShapeMismatch {
                    name,
                    expected,
                    got,
                } => module.getattr("ShapeMismatchError")?.call1((
                    message,
                    name.as_str(),
                    expected.as_str(),
                    got.as_str(),
                ))?,
                Error::IndexOutOfRange { kind, index, len } => module
                    .getattr("IndexOutOfRangeError")?
                    .call1((message, kind.as_str(), *index, *len))?,
                Error::Io { path, source } => module.getattr("FileIOError")?.call1((
                    message,
                    path.as_str(),
                    source.raw_os_error(),
                ))?,
                Error::Interrupted => {
                    return Ok(pyo3::exceptions::PyKeyboardInterrupt::new_err(message));
                }
                Error::ChainBroken { seq, reason } => module
                    .getattr("ChainBrokenError")?
                    .call1((message, *seq, reason.as_str()))?,
            };
        Ok(PyErr::from_value(instance))
    })();
    built.unwrap_or_else(|import_err| import_err)
}

/// Run `work` with the interpreter detached (other Python threads run
/// meanwhile) and map its error. Use for every call that can take over ~1 ms.
pub(crate) fn detached<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> evospikenet_core::Result<T> + Send,
{
    py.detach(work).map_err(|e| to_py_err(py, e))
}

/// Run `work` with the interpreter detached, handing it a hook for the
/// core's long loops (steps, connect rows, episode windows): when at least
/// 50 ms of wall time passed since the last look, the hook re-attaches and
/// calls `py.check_signals()`; a raised exception (KeyboardInterrupt) stops
/// the core call at a step boundary and is re-raised here.
pub(crate) fn interruptible<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&mut dyn FnMut() -> evospikenet_core::Result<()>) -> evospikenet_core::Result<T>
        + Send,
{
    let mut pending: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut last = Instant::now();
        // Reading the clock costs ~25 ns, a tenth of a step of a small
        // network: look only every `stride` calls, doubling the stride while
        // looks come less than 1 ms apart and dropping it to 1 when they come
        // more than 5 ms apart, so a signal still waits ~50 ms (+ ~1 ms).
        let (mut read_at, mut calls, mut stride) = (last, 0u32, 1u32);
        let mut hook = || -> evospikenet_core::Result<()> {
            calls += 1;
            if calls < stride {
                return Ok(());
            }
            calls = 0;
            let now = Instant::now();
            let gap = now - read_at;
            read_at = now;
            if gap < Duration::from_millis(1) {
                stride = (stride * 2).min(1024);
            } else if gap > Duration::from_millis(5) {
                stride = 1;
            }
            if now - last < SIGNAL_INTERVAL {
                return Ok(());
            }
            last = now;
            #[allow(clippy::redundant_closure_for_method_calls)] // lifetimes: a closure is needed
            Python::attach(|py| py.check_signals()).map_err(|e| {
                pending = Some(e);
                Error::Interrupted
            })
        };
        work(&mut hook)
    });
    result.map_err(|e| match (e, pending.take()) {
        (Error::Interrupted, Some(raised)) => raised,
        (e, _) => to_py_err(py, e),
    })
}
