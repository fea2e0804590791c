//! Connectome delta JSON (seed 000, "sync_connectome"; ARCHITECTURE.md):
//!
//! ```json
//! {"schema_version": "1.0",
//!  "materialization_version_from": 42, "materialization_version_to": 43,
//!  "added":   [{"pre_id": 100, "post_id": 200, "weight": 0.15, "delay_ms": 1.5}],
//!  "removed": [{"pre_id": 50, "post_id": 80}]}
//! ```
//!
//! Entries may carry `synapse_type` (default 0, chemical). Other top-level
//! fields (`added_neurons`, `removed_neurons`, `meta`, ...) are kept as JSON
//! for the caller. Parsing and writing live here because a delta of a million
//! edges is too slow to go through Python dicts.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::Edges;
use crate::{Error, Result};

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Added {
    pre_id: i64,
    post_id: i64,
    weight: f32,
    delay_ms: f32,
    #[serde(default)]
    synapse_type: u8,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Removed {
    pre_id: i64,
    post_id: i64,
    #[serde(default)]
    synapse_type: u8,
}

#[derive(Deserialize)]
struct Raw {
    schema_version: String,
    materialization_version_from: u64,
    materialization_version_to: u64,
    #[serde(default)]
    added: Vec<Added>,
    #[serde(default)]
    removed: Vec<Removed>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// A parsed delta: header, edge columns and the other top-level fields.
#[derive(Clone, Debug, PartialEq)]
pub struct DeltaDoc {
    /// `schema_version`, e.g. "1.0".
    pub schema_version: String,
    /// Version the delta applies to.
    pub materialization_version_from: u64,
    /// Version the result carries.
    pub materialization_version_to: u64,
    /// Added edges (file order).
    pub added: Edges,
    /// Removed keys (file order; weight and delay_ms are 0).
    pub removed: Edges,
    /// Every other top-level field, as JSON.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Parse delta JSON text.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `delta` with the line and column of a
/// syntax error, a missing field or a wrong type.
pub fn parse_delta(text: &str) -> Result<DeltaDoc> {
    let raw: Raw = serde_json::from_str(text).map_err(|e| {
        Error::invalid(
            "delta",
            format!("line {} column {}", e.line(), e.column()),
            e.to_string(),
        )
    })?;
    let mut added = Edges::with_capacity(raw.added.len());
    for a in &raw.added {
        added.pre_id.push(a.pre_id);
        added.post_id.push(a.post_id);
        added.weight.push(a.weight);
        added.delay_ms.push(a.delay_ms);
        added.synapse_type.push(a.synapse_type);
    }
    let mut removed = Edges::with_capacity(raw.removed.len());
    for r in &raw.removed {
        removed.pre_id.push(r.pre_id);
        removed.post_id.push(r.post_id);
        removed.weight.push(0.0);
        removed.delay_ms.push(0.0);
        removed.synapse_type.push(r.synapse_type);
    }
    Ok(DeltaDoc {
        schema_version: raw.schema_version,
        materialization_version_from: raw.materialization_version_from,
        materialization_version_to: raw.materialization_version_to,
        added,
        removed,
        extra: raw.extra,
    })
}

/// Read and parse a delta JSON file (no copy through Python strings).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read (or is not UTF-8); otherwise as
/// [`parse_delta`].
pub fn read_delta_file(path: &std::path::Path) -> Result<DeltaDoc> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_delta(&text)
}

/// Write a delta as JSON text, one edge entry per line (diff-friendly).
///
/// Weights and delays are written in the shortest form that reads back to
/// the same `f32`, so parse ∘ write is the identity on the edge columns.
///
/// # Errors
/// [`Error::ShapeMismatch`] for edge arrays of unequal length.
pub fn write_delta(doc: &DeltaDoc) -> Result<String> {
    let n_add = doc.added.view().checked_len("added")?;
    let n_rm = doc.removed.view().checked_len("removed")?;
    let mut s = String::with_capacity(64 * (n_add + n_rm) + 256);
    s.push_str("{\n\"schema_version\": ");
    s.push_str(&json(doc.schema_version.as_str()));
    let _ = write!(
        s,
        ",\n\"materialization_version_from\": {},\n\"materialization_version_to\": {}",
        doc.materialization_version_from, doc.materialization_version_to
    );
    for (k, v) in &doc.extra {
        if k == "added" || k == "removed" {
            continue;
        }
        let _ = write!(s, ",\n{}: {}", json(k.as_str()), json(v));
    }
    s.push_str(",\n\"removed\": [");
    for i in 0..n_rm {
        let e = Removed {
            pre_id: doc.removed.pre_id[i],
            post_id: doc.removed.post_id[i],
            synapse_type: doc.removed.synapse_type[i],
        };
        s.push_str(if i == 0 { "\n" } else { ",\n" });
        s.push_str(&json(&e));
    }
    s.push_str("\n],\n\"added\": [");
    for i in 0..n_add {
        let e = Added {
            pre_id: doc.added.pre_id[i],
            post_id: doc.added.post_id[i],
            weight: doc.added.weight[i],
            delay_ms: doc.added.delay_ms[i],
            synapse_type: doc.added.synapse_type[i],
        };
        s.push_str(if i == 0 { "\n" } else { ",\n" });
        s.push_str(&json(&e));
    }
    s.push_str("\n]\n}\n");
    Ok(s)
}

/// Serialize a value that cannot fail to serialize (plain structs, strings, JSON values).
fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_example_parses_with_chemical_default() {
        let text = r#"{"schema_version": "1.0", "materialization_version_from": 42,
            "materialization_version_to": 43,
            "added": [{"pre_id": 100, "post_id": 200, "weight": 0.15, "delay_ms": 1.5}],
            "removed": [{"pre_id": 50, "post_id": 80}]}"#;
        let d = parse_delta(text).unwrap();
        assert_eq!(d.materialization_version_from, 42);
        assert_eq!(d.added.weight, vec![0.15f32]);
        assert_eq!(d.removed.synapse_type, vec![0]);
        assert!(d.extra.is_empty());
    }

    #[test]
    fn round_trip_keeps_bits_and_extra() {
        let mut d = parse_delta(
            r#"{"schema_version": "1.0", "materialization_version_from": 1,
            "materialization_version_to": 2, "added_neurons": [{"neuron_id": 7}]}"#,
        )
        .unwrap();
        for (i, w) in [0.1f32, 1.0 / 3.0, 16_777_217.0, 1e-38, 3.4e38]
            .iter()
            .enumerate()
        {
            d.added.pre_id.push(i as i64);
            d.added.post_id.push(-(i as i64));
            d.added.weight.push(*w);
            d.added.delay_ms.push(w.sqrt());
            d.added.synapse_type.push((i % 2) as u8);
        }
        let back = parse_delta(&write_delta(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn errors_name_the_place() {
        let err = parse_delta(r#"{"schema_version": "1.0", "materialization_version_from": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("materialization_version_to"), "{err}");
        let err = parse_delta(
            r#"{"schema_version": "1.0", "materialization_version_from": 1,
            "materialization_version_to": 2, "added": [{"pre_id": 1, "post_id": 2, "weight": 1}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("delay_ms") && err.contains("line 2"), "{err}");
    }
}
