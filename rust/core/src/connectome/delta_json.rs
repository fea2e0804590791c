//! Connectome delta JSON (seed 000, "sync_connectome"; ARCHITECTURE.md):
//!
//! ```json
//! {"schema_version": "1.0",
//!  "materialization_version_from": 42, "materialization_version_to": 43,
//!  "added":   [{"pre_id": 100, "post_id": 200, "weight": 0.15, "delay_ms": 1.5}],
//!  "removed": [{"pre_id": 50, "post_id": 80}]}
//! ```
//!
//! Entries may carry `synapse_type` (default 0, chemical). The optional
//! top-level fields `added_neurons`, `removed_neurons` and `meta` are kept as
//! JSON for the caller; any other top-level field is an error. Parsing and writing live here because a delta of a million
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
    /// Accepted (a producer may echo the removed edge's values) and ignored.
    #[serde(default, skip_serializing, rename = "weight")]
    _weight: Option<f32>,
    /// Accepted and ignored, as `weight`.
    #[serde(default, skip_serializing, rename = "delay_ms")]
    _delay_ms: Option<f32>,
}

/// Edge entries deserialized straight into columns (no `Vec` of structs).
#[derive(Default)]
struct Columns(Edges);

impl<'de> Deserialize<'de> for Columns {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Columns;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of edge objects")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Columns, A::Error> {
                let mut e = Edges::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(a) = seq.next_element::<Added>()? {
                    e.pre_id.push(a.pre_id);
                    e.post_id.push(a.post_id);
                    e.weight.push(a.weight);
                    e.delay_ms.push(a.delay_ms);
                    e.synapse_type.push(a.synapse_type);
                }
                Ok(Columns(e))
            }
        }
        d.deserialize_seq(V)
    }
}

/// Removed keys deserialized straight into columns (weight and delay 0).
#[derive(Default)]
struct KeyColumns(Edges);

impl<'de> Deserialize<'de> for KeyColumns {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = KeyColumns;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of edge key objects")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<KeyColumns, A::Error> {
                let mut e = Edges::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(r) = seq.next_element::<Removed>()? {
                    e.pre_id.push(r.pre_id);
                    e.post_id.push(r.post_id);
                    e.weight.push(0.0);
                    e.delay_ms.push(0.0);
                    e.synapse_type.push(r.synapse_type);
                }
                Ok(KeyColumns(e))
            }
        }
        d.deserialize_seq(V)
    }
}

/// The top level. No `#[serde(flatten)]`: it would buffer the whole document
/// (a million edge objects) before deserializing. Unknown top-level fields
/// are errors, so a misspelt `removed` cannot silently remove nothing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    schema_version: String,
    materialization_version_from: u64,
    materialization_version_to: u64,
    #[serde(default)]
    added: Columns,
    #[serde(default)]
    removed: KeyColumns,
    added_neurons: Option<serde_json::Value>,
    removed_neurons: Option<serde_json::Value>,
    meta: Option<serde_json::Value>,
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
    /// `added_neurons`, `removed_neurons` and `meta` when present, as JSON.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The delta schema versions this reader knows (seed 000's is "1.0"). A
/// delta of another version may mean something else by the same fields, so
/// it is refused rather than applied.
pub const DELTA_SCHEMA_VERSIONS: &[&str] = &["1.0"];

/// Parse delta JSON text.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `delta` with the line and column of a
/// syntax error, a missing field or a wrong type, or naming
/// `schema_version` when the version is not one of [`DELTA_SCHEMA_VERSIONS`].
pub fn parse_delta(text: &str) -> Result<DeltaDoc> {
    let raw: Raw = serde_json::from_str(text).map_err(|e| {
        Error::invalid(
            "delta",
            format!("line {} column {}", e.line(), e.column()),
            e.to_string(),
        )
    })?;
    if !DELTA_SCHEMA_VERSIONS.contains(&raw.schema_version.as_str()) {
        return Err(Error::invalid(
            "schema_version",
            &raw.schema_version,
            format!("unknown delta schema version (known: {DELTA_SCHEMA_VERSIONS:?})"),
        ));
    }
    let mut extra = serde_json::Map::new();
    for (key, value) in [
        ("added_neurons", raw.added_neurons),
        ("removed_neurons", raw.removed_neurons),
        ("meta", raw.meta),
    ] {
        if let Some(v) = value {
            extra.insert(key.to_owned(), v);
        }
    }
    Ok(DeltaDoc {
        schema_version: raw.schema_version,
        materialization_version_from: raw.materialization_version_from,
        materialization_version_to: raw.materialization_version_to,
        added: raw.added.0,
        removed: raw.removed.0,
        extra,
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
            _weight: None,
            _delay_ms: None,
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
            "removed": [{"pre_id": 50, "post_id": 80}, {"pre_id": 1, "post_id": 2, "weight": 3.0}]}"#;
        let d = parse_delta(text).unwrap();
        assert_eq!(d.materialization_version_from, 42);
        assert_eq!(d.added.weight, vec![0.15f32]);
        assert_eq!(d.removed.synapse_type, vec![0, 0]);
        assert_eq!(d.removed.pre_id, vec![50, 1]);
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
        let err = parse_delta(
            r#"{"schema_version": "99.0", "materialization_version_from": 1,
                "materialization_version_to": 2}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("schema_version") && err.contains("99.0"),
            "{err}"
        );
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
        let err = parse_delta(
            r#"{"schema_version": "1.0", "materialization_version_from": 1,
            "materialization_version_to": 2, "remove": []}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `remove`"), "{err}");
    }
}
