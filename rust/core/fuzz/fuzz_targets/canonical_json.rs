//! Canonical JSON (RFC 8785): our serializer agrees with the reference
//! implementation (serde_json_canonicalizer) on every value, and is a fixed
//! point (canonical text parses back to the same canonical text).
#![no_main]

use evospikenet_core::audit::canonical::to_vec;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let ours = to_vec(&value);
    if let Ok(reference) = serde_json_canonicalizer::to_vec(&value) {
        assert_eq!(ours, reference, "differs from the RFC 8785 reference");
    }
    let again: Value = serde_json::from_slice(&ours).expect("canonical JSON parses");
    assert_eq!(to_vec(&again), ours, "not a fixed point");
});
