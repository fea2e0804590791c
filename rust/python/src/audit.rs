//! `evospikenet._core` audit functions: the binding of `evospikenet_core::audit`.
//!
//! Hashes cross the boundary as `sha256:<hex>` strings; entries go in as
//! tuples with `detail` as JSON text and come out as tuples. Every call that
//! reads a file runs with the interpreter detached.

use std::path::PathBuf;

use evospikenet_core::audit::{
    self, canonical, entry::HASH_PREFIX, format_hash, parse_hash, Appender, Hash32, NewEntry,
    Report, TreeHead, Verifier,
};
use evospikenet_core::validate::non_negative;
use evospikenet_core::Error;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::{detached, to_py_err};

fn hash_arg(py: Python<'_>, name: &str, text: &str) -> PyResult<Hash32> {
    parse_hash(text).ok_or_else(|| {
        to_py_err(
            py,
            Error::invalid(name, text, "must be sha256:<64 lowercase hex>"),
        )
    })
}

fn hashes_arg(py: Python<'_>, name: &str, texts: &[String]) -> PyResult<Vec<Hash32>> {
    texts.iter().map(|t| hash_arg(py, name, t)).collect()
}

fn report_dict<'py>(py: Python<'py>, report: &Report) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("valid", report.valid)?;
    out.set_item("checked", report.checked)?;
    out.set_item("first_bad_seq", report.first_bad_seq())?;
    match &report.error {
        None => out.set_item("error", py.None())?,
        Some(e) => {
            let error = PyDict::new(py);
            error.set_item("kind", e.kind.as_str())?;
            error.set_item("seq", e.seq)?;
            error.set_item("offset", e.offset)?;
            error.set_item("reason", &e.reason)?;
            out.set_item("error", error)?;
        }
    }
    out.set_item("tree_size", report.head.size)?;
    out.set_item("root_hash", format_hash(&report.head.root))?;
    out.set_item("last_hash", format_hash(&report.last_hash))?;
    out.set_item("good_bytes", report.good_bytes)?;
    Ok(out)
}

/// Verify the log at `path`, optionally against a saved head, calling
/// `progress(bytes_done, total_bytes)` after each block.
#[pyfunction]
#[pyo3(signature = (path, head_size=None, head_root=None, progress=None))]
fn audit_verify<'py>(
    py: Python<'py>,
    path: PathBuf,
    head_size: Option<u64>,
    head_root: Option<&str>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let saved = match (head_size, head_root) {
        (Some(size), Some(root)) => Some(TreeHead {
            size,
            root: hash_arg(py, "head_root", root)?,
        }),
        (None, None) => None,
        _ => {
            return Err(to_py_err(
                py,
                Error::invalid("head", "partial", "give both head_size and head_root"),
            ))
        }
    };
    let mut verifier = detached(py, || Verifier::open(&path, saved))?;
    loop {
        let done = detached(py, || verifier.step())?;
        py.check_signals()?;
        if let Some(callback) = &progress {
            callback.call1((verifier.bytes_done(), verifier.total_bytes()))?;
        }
        if done {
            break;
        }
    }
    report_dict(py, &verifier.report())
}

/// Appends entries to one log under an exclusive `flock` of the log file.
#[pyclass(module = "evospikenet._core")]
struct AuditAppender {
    inner: Appender,
}

#[pymethods]
impl AuditAppender {
    #[new]
    #[pyo3(signature = (path, lock_timeout_s=60.0))]
    fn new(py: Python<'_>, path: PathBuf, lock_timeout_s: f64) -> PyResult<Self> {
        let secs = non_negative("lock_timeout_s", lock_timeout_s).map_err(|e| to_py_err(py, e))?;
        let timeout = std::time::Duration::try_from_secs_f64(secs)
            .map_err(|e| to_py_err(py, Error::invalid("lock_timeout_s", secs, e.to_string())))?;
        Ok(Self {
            inner: Appender::with_timeout(&path, timeout),
        })
    }

    /// Append `(actor, action, resource, result, detail_json)` tuples in one
    /// write; returns `(seq, entry_hash, timestamp)` per entry.
    #[pyo3(signature = (entries, sync))]
    fn append(
        &mut self,
        py: Python<'_>,
        entries: Vec<(String, String, String, String, String)>,
        sync: bool,
    ) -> PyResult<Vec<(u64, String, String)>> {
        let mut parsed = Vec::with_capacity(entries.len());
        for (actor, action, resource, result, detail) in entries {
            let detail = serde_json::from_str(&detail).map_err(|e| {
                to_py_err(
                    py,
                    Error::invalid("detail", &detail, format!("not JSON: {e}")),
                )
            })?;
            parsed.push(NewEntry {
                actor,
                action,
                resource,
                result,
                detail,
            });
        }
        let inner = &mut self.inner;
        let appended = detached(py, || inner.append(&parsed, sync))?;
        Ok(appended
            .into_iter()
            .map(|a| (a.seq, format_hash(&a.entry_hash), a.timestamp))
            .collect())
    }

    /// Append entries given as the dicts `AuditLogManager.write_many` takes,
    /// converting `detail` to JSON here instead of through `json.dumps`;
    /// returns the `WriteResult` dicts. Returns `None`, having written
    /// nothing, when an entry is anything but a plain dict of plain strings
    /// and plain JSON values (see `detail_value`): the caller then takes the
    /// `json.dumps` path, which decides and words any error.
    #[pyo3(signature = (entries, sync))]
    fn append_dicts<'py>(
        &mut self,
        py: Python<'py>,
        entries: &Bound<'py, PyList>,
        sync: bool,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let mut parsed = Vec::with_capacity(entries.len());
        for item in entries.iter() {
            let Some(entry) = plain_entry(&item)? else {
                return Ok(None);
            };
            parsed.push(entry);
        }
        let inner = &mut self.inner;
        let appended = detached(py, || inner.append(&parsed, sync))?;
        let out = PyList::empty(py);
        for a in appended {
            let hash = format_hash(&a.entry_hash);
            let result = PyDict::new(py);
            result.set_item("entry_id", &hash[HASH_PREFIX.len()..HASH_PREFIX.len() + 32])?;
            result.set_item("seq", a.seq)?;
            result.set_item("entry_hash", hash)?;
            out.append(result)?;
        }
        Ok(Some(out))
    }

    /// fdatasync the log file.
    fn sync(&mut self, py: Python<'_>) -> PyResult<()> {
        let inner = &mut self.inner;
        detached(py, || inner.sync())
    }
}

/// Deepest nesting `detail_value` converts; deeper details take the
/// `json.dumps` path (and serde_json's recursion limit of 128).
const MAX_DETAIL_DEPTH: u32 = 64;

/// A field of a plain entry dict: an exact `str`, or `None` (give up).
fn plain_str(entry: &Bound<'_, PyDict>, name: &str) -> PyResult<Option<String>> {
    Ok(match entry.get_item(name)? {
        Some(v) if v.is_exact_instance_of::<PyString>() => {
            v.cast::<PyString>()?.to_str().ok().map(str::to_owned)
        }
        _ => None,
    })
}

/// An entry dict as a `NewEntry`, or `None` when it is not plain.
fn plain_entry(item: &Bound<'_, PyAny>) -> PyResult<Option<NewEntry>> {
    if !item.is_exact_instance_of::<PyDict>() {
        return Ok(None);
    }
    let entry = item.cast::<PyDict>()?;
    let (Some(actor), Some(action), Some(resource), Some(result)) = (
        plain_str(entry, "actor")?,
        plain_str(entry, "action")?,
        plain_str(entry, "resource")?,
        plain_str(entry, "result")?,
    ) else {
        return Ok(None);
    };
    let detail = match entry.get_item("detail")? {
        None => Value::Object(Map::new()),
        Some(d) if d.is_none() => Value::Object(Map::new()),
        Some(d) => match detail_value(&d, 0)? {
            Some(v) => v,
            None => return Ok(None),
        },
    };
    Ok(Some(NewEntry {
        actor,
        action,
        resource,
        result,
        detail,
    }))
}

/// The JSON value `json.dumps` would write for `obj`, read back by serde_json
/// (so the same `Value`): exact `dict` with `str` keys, `list`, `tuple`,
/// `str`, `bool`, `int` within 64 bits, finite `float`, `None`. Anything
/// else (subclasses, other key types, big ints, NaN, lone surrogates,
/// nesting past `MAX_DETAIL_DEPTH`) gives `None`: `json.dumps` decides.
/// A float converts exactly: `json.dumps` writes its shortest round-trip
/// `repr`, which serde_json (`float_roundtrip`) reads back to the same double.
fn detail_value(obj: &Bound<'_, PyAny>, depth: u32) -> PyResult<Option<Value>> {
    if depth > MAX_DETAIL_DEPTH {
        return Ok(None);
    }
    if obj.is_none() {
        return Ok(Some(Value::Null));
    }
    if obj.is_exact_instance_of::<PyString>() {
        return Ok(obj
            .cast::<PyString>()?
            .to_str()
            .ok()
            .map(|s| Value::String(s.to_owned())));
    }
    if obj.is_exact_instance_of::<PyBool>() {
        return Ok(Some(Value::Bool(obj.extract::<bool>()?)));
    }
    if obj.is_exact_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Some(Value::Number(Number::from(i))));
        }
        return Ok(obj
            .extract::<u64>()
            .ok()
            .map(|u| Value::Number(Number::from(u))));
    }
    if obj.is_exact_instance_of::<PyFloat>() {
        let f = obj.cast::<PyFloat>()?.value();
        return Ok(Number::from_f64(f).map(Value::Number));
    }
    if obj.is_exact_instance_of::<PyDict>() {
        let dict = obj.cast::<PyDict>()?;
        let mut map = Map::new();
        for (k, v) in dict.iter() {
            if !k.is_exact_instance_of::<PyString>() {
                return Ok(None);
            }
            let Ok(key) = k.cast::<PyString>()?.to_str() else {
                return Ok(None);
            };
            let Some(value) = detail_value(&v, depth + 1)? else {
                return Ok(None);
            };
            map.insert(key.to_owned(), value);
        }
        return Ok(Some(Value::Object(map)));
    }
    let items: Vec<Bound<'_, PyAny>> = if obj.is_exact_instance_of::<PyList>() {
        obj.cast::<PyList>()?.iter().collect()
    } else if obj.is_exact_instance_of::<PyTuple>() {
        obj.cast::<PyTuple>()?.iter().collect()
    } else {
        return Ok(None);
    };
    let mut array = Vec::with_capacity(items.len());
    for item in &items {
        let Some(value) = detail_value(item, depth + 1)? else {
            return Ok(None);
        };
        array.push(value);
    }
    Ok(Some(Value::Array(array)))
}

/// `(next_seq, last_hash)` of the log (refuses a torn or damaged tail).
#[pyfunction]
fn audit_tail(py: Python<'_>, path: PathBuf) -> PyResult<(u64, String)> {
    let tail = detached(py, || audit::read_tail(&path))?;
    Ok((tail.next_seq, format_hash(&tail.last_hash)))
}

/// Merkle root over the stored hashes of the first `size` entries.
#[pyfunction]
fn audit_tree_head(py: Python<'_>, path: PathBuf, size: u64) -> PyResult<String> {
    let head = detached(py, || audit::tree_head(&path, size))?;
    Ok(format_hash(&head.root))
}

/// `(entry_hash, path)`: inclusion proof of entry `index` in the first `size` entries.
#[pyfunction]
fn audit_inclusion_proof(
    py: Python<'_>,
    path: PathBuf,
    index: u64,
    size: u64,
) -> PyResult<(String, Vec<String>)> {
    let proof = detached(py, || audit::inclusion_proof(&path, index, size))?;
    Ok((
        format_hash(&proof.entry_hash),
        proof.path.iter().map(format_hash).collect(),
    ))
}

/// Consistency proof between the first `old_size` and `new_size` entries.
#[pyfunction]
fn audit_consistency_proof(
    py: Python<'_>,
    path: PathBuf,
    old_size: u64,
    new_size: u64,
) -> PyResult<Vec<String>> {
    let proof = detached(py, || audit::consistency_proof(&path, old_size, new_size))?;
    Ok(proof.iter().map(format_hash).collect())
}

/// RFC 9162 inclusion proof verification.
#[pyfunction]
fn audit_verify_inclusion(
    py: Python<'_>,
    entry_hash: &str,
    index: u64,
    size: u64,
    path: Vec<String>,
    root: &str,
) -> PyResult<bool> {
    let entry_hash = hash_arg(py, "entry_hash", entry_hash)?;
    let path = hashes_arg(py, "path", &path)?;
    let root = hash_arg(py, "root", root)?;
    Ok(audit::verify_inclusion(
        &entry_hash,
        index,
        size,
        &path,
        &root,
    ))
}

/// RFC 9162 consistency proof verification.
#[pyfunction]
fn audit_verify_consistency(
    py: Python<'_>,
    old_size: u64,
    new_size: u64,
    old_root: &str,
    new_root: &str,
    proof: Vec<String>,
) -> PyResult<bool> {
    let old_root = hash_arg(py, "old_root", old_root)?;
    let new_root = hash_arg(py, "new_root", new_root)?;
    let proof = hashes_arg(py, "proof", &proof)?;
    Ok(audit::verify_consistency(
        old_size, new_size, &old_root, &new_root, &proof,
    ))
}

/// Offset where a torn final line starts, or `None`.
#[pyfunction]
fn audit_torn_tail(py: Python<'_>, path: PathBuf) -> PyResult<Option<u64>> {
    detached(py, || audit::torn_tail(&path))
}

/// Truncate the torn final line starting at `offset`; returns bytes removed.
#[pyfunction]
fn audit_truncate_torn_tail(py: Python<'_>, path: PathBuf, offset: u64) -> PyResult<u64> {
    detached(py, || audit::truncate_torn_tail(&path, offset))
}

/// RFC 8785 canonical form of the JSON text `text`.
#[pyfunction]
fn audit_canonical_json(py: Python<'_>, text: &str) -> PyResult<String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| to_py_err(py, Error::invalid("text", "…", format!("not JSON: {e}"))))?;
    let bytes = canonical::to_vec(&value);
    Ok(String::from_utf8(bytes).expect("canonical JSON is UTF-8"))
}

/// `entry_hash` of one stored line (JSON text), recomputed.
#[pyfunction]
fn audit_entry_hash(py: Python<'_>, line: &str) -> PyResult<String> {
    audit::entry::check_line(line.as_bytes())
        .map(|c| format_hash(&c.computed))
        .map_err(|reason| to_py_err(py, Error::invalid("line", "…", reason)))
}

/// Use (or stop using) several threads for hashing; off in a forked child.
#[pyfunction]
fn audit_set_parallel(on: bool) {
    audit::set_parallel(on);
}

/// Register the audit functions on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("AUDIT_GENESIS_PREV_HASH", audit::GENESIS_PREV_HASH)?;
    m.add("AUDIT_MAX_LINE_BYTES", audit::MAX_LINE_BYTES)?;
    m.add_class::<AuditAppender>()?;
    m.add_function(wrap_pyfunction!(audit_verify, m)?)?;
    m.add_function(wrap_pyfunction!(audit_tail, m)?)?;
    m.add_function(wrap_pyfunction!(audit_tree_head, m)?)?;
    m.add_function(wrap_pyfunction!(audit_inclusion_proof, m)?)?;
    m.add_function(wrap_pyfunction!(audit_consistency_proof, m)?)?;
    m.add_function(wrap_pyfunction!(audit_verify_inclusion, m)?)?;
    m.add_function(wrap_pyfunction!(audit_verify_consistency, m)?)?;
    m.add_function(wrap_pyfunction!(audit_torn_tail, m)?)?;
    m.add_function(wrap_pyfunction!(audit_truncate_torn_tail, m)?)?;
    m.add_function(wrap_pyfunction!(audit_canonical_json, m)?)?;
    m.add_function(wrap_pyfunction!(audit_entry_hash, m)?)?;
    m.add_function(wrap_pyfunction!(audit_set_parallel, m)?)?;
    Ok(())
}
