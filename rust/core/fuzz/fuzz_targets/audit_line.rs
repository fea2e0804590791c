//! An audit log line: checking never panics, the fast scanner and the
//! parsing check agree on every line, and a line that checks (its stored
//! hash matching) is exactly the line the writer emits for its content.
#![no_main]

use evospikenet_core::audit::entry::{check_line, check_line_parsed, format_line, parse_entry, Fields};
use evospikenet_core::audit::scan::scan_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let outcome = check_line(data);
    // The scanner only accepts: whatever it accepts the parsing check
    // accepts with the same fields, so the two checks never differ.
    if scan_line(data).is_some() {
        assert_eq!(
            outcome,
            check_line_parsed(data),
            "the scanner accepted a line the parsing check reads otherwise"
        );
    }
    let Ok(checked) = outcome else {
        return;
    };
    let entry = parse_entry(data).expect("a line that checks parses");
    assert_eq!(entry.seq, checked.seq);
    let fields = Fields {
        seq: entry.seq,
        timestamp: &entry.timestamp,
        actor: &entry.actor,
        action: &entry.action,
        resource: &entry.resource,
        result: &entry.result,
        detail: &entry.detail,
        prev_hash: &entry.prev_hash,
    };
    let (line, hash) = format_line(&fields);
    assert_eq!(hash, checked.computed);
    // What the writer writes, the scanner recognises (no slow path).
    assert!(scan_line(&line).is_some(), "the scanner refused a written line");
    if checked.hash_ok {
        assert_eq!(line.as_slice(), data, "a verified line has one spelling");
    }
});
