//! Delta JSON: parsing never panics, and a parsed delta written back parses
//! to the same delta (write is exact on f32 weights and delays).
#![no_main]

use evospikenet_core::connectome::{parse_delta, write_delta};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(doc) = parse_delta(text) else {
        return;
    };
    let Ok(written) = write_delta(&doc) else {
        return; // unequal column lengths are refused on write
    };
    let back = parse_delta(&written).expect("a written delta parses");
    assert_eq!(back, doc);
});
