//! An audit log line: checking never panics, and a line that checks (its
//! stored hash matching) is exactly the line the writer emits for its content.
#![no_main]

use evospikenet_core::audit::entry::{check_line, format_line, parse_entry, Fields};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(checked) = check_line(data) else {
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
    if checked.hash_ok {
        assert_eq!(line.as_slice(), data, "a verified line has one spelling");
    }
});
