//! `evospikenet._core` connectome functions: the binding of
//! `evospikenet_core::connectome` (delta merge, diff, delta JSON).
//!
//! Edge sets cross the boundary as tuples of five 1-d arrays
//! `(pre_id int64, post_id int64, weight float32, delay_ms float32,
//! synapse_type uint8)`; key sets as `(pre_id, post_id, synapse_type)`.

use evospikenet_core::connectome::{
    self, parse_delta, read_delta_file, write_delta, DeltaDoc, Edges, EdgesView, KeysView,
};
use std::path::PathBuf;

use evospikenet_core::{npz, Error};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::{detached, to_py_err};

type EdgeArgs<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f32>,
    PyReadonlyArray1<'py, f32>,
    PyReadonlyArray1<'py, u8>,
);

type KeyArgs<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, u8>,
);

type EdgeArrays<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<u8>>,
);

fn slice<'a, T: numpy::Element>(
    py: Python<'_>,
    name: &str,
    arr: &'a PyReadonlyArray1<'_, T>,
) -> PyResult<&'a [T]> {
    arr.as_slice().map_err(|_| {
        to_py_err(
            py,
            Error::invalid(name, "non-contiguous array", "must be C-contiguous and 1-d"),
        )
    })
}

fn edges_view<'a>(py: Python<'_>, name: &str, e: &'a EdgeArgs<'_>) -> PyResult<EdgesView<'a>> {
    Ok(EdgesView {
        pre_id: slice(py, &format!("{name}.pre_id"), &e.0)?,
        post_id: slice(py, &format!("{name}.post_id"), &e.1)?,
        weight: slice(py, &format!("{name}.weight"), &e.2)?,
        delay_ms: slice(py, &format!("{name}.delay_ms"), &e.3)?,
        synapse_type: slice(py, &format!("{name}.synapse_type"), &e.4)?,
    })
}

fn keys_view<'a>(py: Python<'_>, name: &str, k: &'a KeyArgs<'_>) -> PyResult<KeysView<'a>> {
    Ok(KeysView {
        pre_id: slice(py, &format!("{name}.pre_id"), &k.0)?,
        post_id: slice(py, &format!("{name}.post_id"), &k.1)?,
        synapse_type: slice(py, &format!("{name}.synapse_type"), &k.2)?,
    })
}

fn edge_arrays(py: Python<'_>, e: Edges) -> EdgeArrays<'_> {
    (
        e.pre_id.into_pyarray(py),
        e.post_id.into_pyarray(py),
        e.weight.into_pyarray(py),
        e.delay_ms.into_pyarray(py),
        e.synapse_type.into_pyarray(py),
    )
}

fn owned(v: &EdgesView<'_>) -> Edges {
    Edges {
        pre_id: v.pre_id.to_vec(),
        post_id: v.post_id.to_vec(),
        weight: v.weight.to_vec(),
        delay_ms: v.delay_ms.to_vec(),
        synapse_type: v.synapse_type.to_vec(),
    }
}

/// Apply removals then additions to `base`; returns the sorted result edges
/// and a report dict.
#[pyfunction]
#[pyo3(signature = (base, removed, added, strict=false))]
fn connectome_apply_delta<'py>(
    py: Python<'py>,
    base: EdgeArgs<'py>,
    removed: KeyArgs<'py>,
    added: EdgeArgs<'py>,
    strict: bool,
) -> PyResult<(EdgeArrays<'py>, Bound<'py, PyDict>)> {
    let b = edges_view(py, "base", &base)?;
    let r = keys_view(py, "removed", &removed)?;
    let a = edges_view(py, "added", &added)?;
    let (out, report) = detached(py, || connectome::apply_delta(&b, &r, &a, strict))?;
    let d = PyDict::new(py);
    d.set_item("n_base", report.n_base)?;
    d.set_item("n_result", report.n_result)?;
    d.set_item("n_removed", report.n_removed)?;
    d.set_item("n_added", report.n_added)?;
    d.set_item("removed_absent", report.removed_absent.clone())?;
    d.set_item("added_existing", report.added_existing.clone())?;
    Ok((edge_arrays(py, out), d))
}

/// The delta from `old` to `new`: `(removed, added)` edge arrays, sorted by key.
#[pyfunction]
fn connectome_diff<'py>(
    py: Python<'py>,
    old: EdgeArgs<'py>,
    new: EdgeArgs<'py>,
) -> PyResult<(EdgeArrays<'py>, EdgeArrays<'py>)> {
    let o = edges_view(py, "old", &old)?;
    let n = edges_view(py, "new", &new)?;
    let (rm, add) = detached(py, || connectome::diff(&o, &n))?;
    Ok((edge_arrays(py, rm), edge_arrays(py, add)))
}

type ParsedDelta<'py> = (String, u64, u64, EdgeArrays<'py>, EdgeArrays<'py>, String);

fn parsed(py: Python<'_>, doc: DeltaDoc) -> ParsedDelta<'_> {
    let extra = serde_json::Value::Object(doc.extra).to_string();
    (
        doc.schema_version,
        doc.materialization_version_from,
        doc.materialization_version_to,
        edge_arrays(py, doc.removed),
        edge_arrays(py, doc.added),
        extra,
    )
}

/// Parse delta JSON text: `(schema_version, from, to, removed, added, extra_json)`.
#[pyfunction]
fn connectome_parse_delta<'py>(py: Python<'py>, text: &str) -> PyResult<ParsedDelta<'py>> {
    let doc = detached(py, || parse_delta(text))?;
    Ok(parsed(py, doc))
}

/// Read and parse a delta JSON file; as `connectome_parse_delta`.
#[pyfunction]
fn connectome_read_delta(py: Python<'_>, path: PathBuf) -> PyResult<ParsedDelta<'_>> {
    let doc = detached(py, || read_delta_file(&path))?;
    Ok(parsed(py, doc))
}

/// Write delta JSON text from its header, `extra_json` (a JSON object of
/// further top-level fields) and the removed / added edge arrays.
#[pyfunction]
fn connectome_write_delta<'py>(
    py: Python<'py>,
    schema_version: String,
    materialization_version_from: u64,
    materialization_version_to: u64,
    extra_json: &str,
    removed: EdgeArgs<'py>,
    added: EdgeArgs<'py>,
) -> PyResult<String> {
    let Ok(serde_json::Value::Object(extra)) = serde_json::from_str(extra_json) else {
        return Err(to_py_err(
            py,
            Error::invalid("extra_json", extra_json, "must be a JSON object"),
        ));
    };
    let doc = DeltaDoc {
        schema_version,
        materialization_version_from,
        materialization_version_to,
        removed: owned(&edges_view(py, "removed", &removed)?),
        added: owned(&edges_view(py, "added", &added)?),
        extra,
    };
    detached(py, || write_delta(&doc))
}

/// Check edge arrays against the NPZ contract (see the core's
/// `validate_edges`); returns whether they are sorted by key.
#[pyfunction]
fn connectome_validate_edges<'py>(
    py: Python<'py>,
    edges: EdgeArgs<'py>,
    neuron_id: PyReadonlyArray1<'py, i64>,
) -> PyResult<bool> {
    let e = edges_view(py, "edges", &edges)?;
    let ids = slice(py, "neuron_id", &neuron_id)?;
    detached(py, || connectome::validate_edges(&e, ids))
}

/// `connectome_validate_edges` without the key checks (order, repeats).
#[pyfunction]
fn connectome_validate_edge_values<'py>(
    py: Python<'py>,
    edges: EdgeArgs<'py>,
    neuron_id: PyReadonlyArray1<'py, i64>,
) -> PyResult<()> {
    let e = edges_view(py, "edges", &edges)?;
    let ids = slice(py, "neuron_id", &neuron_id)?;
    detached(py, || connectome::validate_edge_values(&e, ids))
}

/// Chemical synapses by presynaptic sign:
/// `(exc_edges, inh_edges, exc_weight, inh_weight)`.
#[pyfunction]
fn connectome_ei_counts<'py>(
    py: Python<'py>,
    pre_id: PyReadonlyArray1<'py, i64>,
    synapse_type: PyReadonlyArray1<'py, u8>,
    weight: PyReadonlyArray1<'py, f32>,
    neuron_id: PyReadonlyArray1<'py, i64>,
    neuron_sign: PyReadonlyArray1<'py, i8>,
) -> PyResult<(u64, u64, f64, f64)> {
    let pre = slice(py, "pre_id", &pre_id)?;
    let st = slice(py, "synapse_type", &synapse_type)?;
    let w = slice(py, "weight", &weight)?;
    let ids = slice(py, "neuron_id", &neuron_id)?;
    let signs = slice(py, "neuron_sign", &neuron_sign)?;
    let c = detached(py, || connectome::ei_counts(pre, st, w, ids, signs))?;
    Ok((c.exc_edges, c.inh_edges, c.exc_weight, c.inh_weight))
}

/// Write an `.npz` archive at `path` (stored members, CRC-32, Zip64
/// records): `members` are `(name, npy_header, data)` with the array's bytes
/// as a 1-d uint8 view. No fsync (the caller's atomic write does it).
#[pyfunction]
fn write_npz<'py>(
    py: Python<'py>,
    path: PathBuf,
    members: Vec<(String, Vec<u8>, PyReadonlyArray1<'py, u8>)>,
) -> PyResult<()> {
    let mut views = Vec::with_capacity(members.len());
    for (name, header, data) in &members {
        views.push(npz::Member {
            name,
            header,
            data: slice(py, &format!("{name}.data"), data)?,
        });
    }
    detached(py, || npz::write_npz(&path, &views))
}

/// CRC-32 (zip's) of `data`, a 1-d uint8 array.
#[pyfunction]
fn crc32<'py>(py: Python<'py>, data: PyReadonlyArray1<'py, u8>) -> PyResult<u32> {
    let bytes = slice(py, "data", &data)?;
    Ok(py.detach(|| npz::crc32(bytes)))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(connectome_apply_delta, m)?)?;
    m.add_function(wrap_pyfunction!(connectome_diff, m)?)?;
    m.add_function(wrap_pyfunction!(connectome_ei_counts, m)?)?;
    m.add_function(wrap_pyfunction!(connectome_validate_edges, m)?)?;
    m.add_function(wrap_pyfunction!(connectome_validate_edge_values, m)?)?;
    m.add_function(wrap_pyfunction!(connectome_parse_delta, m)?)?;
    m.add_function(wrap_pyfunction!(connectome_read_delta, m)?)?;
    m.add_function(wrap_pyfunction!(connectome_write_delta, m)?)?;
    m.add_function(wrap_pyfunction!(write_npz, m)?)?;
    m.add_function(wrap_pyfunction!(crc32, m)?)?;
    Ok(())
}
