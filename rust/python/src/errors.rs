//! Mapping of core errors onto the exception classes of `evospikenet.errors`,
//! and the one helper that runs core work with the interpreter detached.

use evospikenet_core::Error;
use pyo3::prelude::*;

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
