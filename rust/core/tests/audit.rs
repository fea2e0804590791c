//! Audit log on real files: append, verify, tamper, proofs, torn tails.

use std::path::{Path, PathBuf};

use evospikenet_core::audit::{
    consistency_proof, inclusion_proof, read_tail, torn_tail, tree_head, truncate_torn_tail,
    verify_consistency, verify_file, verify_inclusion, Appender, ErrorKind, NewEntry, TreeHead,
    GENESIS,
};
use proptest::prelude::*;
use serde_json::json;

fn temp_log(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("evospikenet-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

fn entry(i: usize) -> NewEntry {
    NewEntry {
        actor: format!("user{}", i % 3),
        action: "model.train".to_owned(),
        resource: format!("/runs/{i}"),
        result: ["success", "failure", "error"][i % 3].to_owned(),
        detail: json!({"i": i, "rate_hz": 10.5, "note": "é\u{2028}\n"}),
    }
}

fn write_log(path: &Path, n: usize) -> Vec<u8> {
    let mut appender = Appender::new(path);
    for chunk in (0..n).collect::<Vec<_>>().chunks(7) {
        let entries: Vec<NewEntry> = chunk.iter().map(|&i| entry(i)).collect();
        appender.append(&entries, false).unwrap();
    }
    std::fs::read(path).unwrap()
}

fn line_offsets(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    out
}

#[test]
fn appended_log_verifies_and_chains_from_genesis() {
    let path = temp_log("ok.jsonl");
    write_log(&path, 40);
    let report = verify_file(&path, None).unwrap();
    assert!(report.valid, "{report:?}");
    assert_eq!(report.checked, 40);
    let tail = read_tail(&path).unwrap();
    assert_eq!(tail.next_seq, 40);
    assert_eq!(tail.last_hash, report.last_hash);
    assert_eq!(report.head, tree_head(&path, 40).unwrap());
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        first["prev_hash"],
        evospikenet_core::audit::GENESIS_PREV_HASH
    );
    assert_eq!(first["seq"], 0);
    assert_ne!(report.last_hash, GENESIS);
}

#[test]
fn a_second_appender_sees_the_first_ones_entries() {
    let path = temp_log("two.jsonl");
    let mut a = Appender::new(&path);
    let mut b = Appender::new(&path);
    for i in 0..10 {
        let who = if i % 2 == 0 { &mut a } else { &mut b };
        let out = who.append(&[entry(i)], i % 3 == 0).unwrap();
        assert_eq!(out[0].seq, i as u64);
    }
    assert!(verify_file(&path, None).unwrap().valid);
}

#[test]
fn invalid_entries_are_refused_before_writing() {
    let path = temp_log("invalid.jsonl");
    let mut a = Appender::new(&path);
    let mut bad = entry(0);
    bad.result = "maybe".to_owned();
    assert!(a.append(&[entry(1), bad], true).is_err());
    let mut empty = entry(0);
    empty.action = String::new();
    assert!(a.append(&[empty], true).is_err());
    let mut huge = entry(0);
    huge.detail = json!("x".repeat(2 << 20));
    assert!(a.append(&[huge], true).is_err());
    assert_eq!(read_tail(&path).unwrap().next_seq, 0);
}

fn first_bad(path: &Path, bytes: &[u8]) -> (Option<u64>, ErrorKind) {
    std::fs::write(path, bytes).unwrap();
    let report = verify_file(path, None).unwrap();
    assert!(!report.valid);
    let error = report.error.unwrap();
    (error.seq, error.kind)
}

#[test]
fn deletion_swap_insertion_are_caught_at_the_right_seq() {
    let path = temp_log("edit.jsonl");
    let bytes = write_log(&path, 20);
    let lines = line_offsets(&bytes);
    let line = |k: usize| &bytes[lines[k].0..lines[k].1];
    let join = |parts: Vec<&[u8]>| parts.concat();

    let deleted = join(vec![&bytes[..lines[5].0], &bytes[lines[6].0..]]);
    assert_eq!(
        first_bad(&path, &deleted),
        (Some(5), ErrorKind::SeqMismatch)
    );

    let swapped = join(vec![
        &bytes[..lines[5].0],
        line(6),
        line(5),
        &bytes[lines[7].0..],
    ]);
    assert_eq!(
        first_bad(&path, &swapped),
        (Some(5), ErrorKind::SeqMismatch)
    );

    let duplicated = join(vec![&bytes[..lines[5].0], line(4), &bytes[lines[5].0..]]);
    assert_eq!(
        first_bad(&path, &duplicated),
        (Some(5), ErrorKind::SeqMismatch)
    );

    let torn = &bytes[..lines[12].0 + 10];
    assert_eq!(first_bad(&path, torn), (Some(12), ErrorKind::TornFinalLine));
}

#[test]
fn consistent_rewrite_and_clean_truncation_are_caught_only_by_a_saved_head() {
    let path = temp_log("rewrite.jsonl");
    write_log(&path, 30);
    let saved = verify_file(&path, None).unwrap().head;

    // Truncate cleanly to 20 entries: the chain alone is still valid.
    let bytes = std::fs::read(&path).unwrap();
    let cut = line_offsets(&bytes)[19].1;
    std::fs::write(&path, &bytes[..cut]).unwrap();
    assert!(verify_file(&path, None).unwrap().valid);
    let report = verify_file(&path, Some(saved)).unwrap();
    assert_eq!(report.error.unwrap().kind, ErrorKind::HeadMismatch);

    // Rewrite the whole log consistently, with one detail changed.
    std::fs::remove_file(&path).unwrap();
    let mut appender = Appender::new(&path);
    for i in 0..30 {
        let mut e = entry(i);
        if i == 3 {
            e.result = "success".to_owned();
        }
        appender.append(&[e], false).unwrap();
    }
    assert!(verify_file(&path, None).unwrap().valid);
    let report = verify_file(&path, Some(saved)).unwrap();
    assert!(!report.valid);
    assert_eq!(report.error.unwrap().kind, ErrorKind::HeadMismatch);
    // A head of the log as it is now matches, also for a prefix.
    let now = tree_head(&path, 12).unwrap();
    assert!(verify_file(&path, Some(now)).unwrap().valid);
}

#[test]
fn proofs_from_the_file_verify_against_heads() {
    let path = temp_log("proofs.jsonl");
    write_log(&path, 37);
    let heads: Vec<TreeHead> = (0..=37).map(|n| tree_head(&path, n).unwrap()).collect();
    for n in [1u64, 2, 5, 16, 17, 37] {
        for index in [0, n / 2, n - 1] {
            let proof = inclusion_proof(&path, index, n).unwrap();
            let root = heads[n as usize].root;
            assert!(verify_inclusion(
                &proof.entry_hash,
                index,
                n,
                &proof.path,
                &root
            ));
        }
        for old in [0u64, 1, n / 3, n] {
            let proof = consistency_proof(&path, old, n).unwrap();
            let (a, b) = (heads[old as usize].root, heads[n as usize].root);
            assert!(verify_consistency(old, n, &a, &b, &proof), "{old} -> {n}");
        }
    }
    assert!(inclusion_proof(&path, 37, 37).is_err());
    assert!(tree_head(&path, 38).is_err());
    assert!(consistency_proof(&path, 5, 4).is_err());
}

#[test]
fn no_proof_vouches_for_an_altered_entry() {
    let path = temp_log("altered.jsonl");
    let bytes = write_log(&path, 9);
    let head = tree_head(&path, 9).unwrap();
    // Change entry 4's content after the head was saved, keeping its stored hash.
    let (start, end) = line_offsets(&bytes)[4];
    let line = String::from_utf8(bytes[start..end].to_vec()).unwrap();
    let altered = line.replacen("/runs/4", "/runs/X", 1);
    assert_ne!(altered, line);
    let mut tampered = bytes[..start].to_vec();
    tampered.extend_from_slice(altered.as_bytes());
    tampered.extend_from_slice(&bytes[end..]);
    std::fs::write(&path, &tampered).unwrap();
    // The stored leaves still give the old head, but entry 4 gets no proof.
    assert_eq!(tree_head(&path, 9).unwrap(), head);
    let err = inclusion_proof(&path, 4, 9).unwrap_err().to_string();
    assert!(err.contains("does not hash"), "{err}");
    // Untouched entries are still proven against the saved head.
    let proof = inclusion_proof(&path, 3, 9).unwrap();
    assert!(verify_inclusion(
        &proof.entry_hash,
        3,
        9,
        &proof.path,
        &head.root
    ));
    // A re-spelled (non-canonical) line gets no proof either.
    let respelled = line.replacen(':', ": ", 1);
    let mut spaced = bytes[..start].to_vec();
    spaced.extend_from_slice(respelled.as_bytes());
    spaced.extend_from_slice(&bytes[end..]);
    std::fs::write(&path, &spaced).unwrap();
    let err = inclusion_proof(&path, 4, 9).unwrap_err().to_string();
    assert!(err.contains("canonical"), "{err}");
}

#[test]
fn torn_tail_blocks_appends_and_is_truncated_alone() {
    let path = temp_log("torn.jsonl");
    let bytes = write_log(&path, 10);
    let mut torn = bytes.clone();
    torn.extend_from_slice(b"{\"action\":\"x\",\"ac");
    std::fs::write(&path, &torn).unwrap();
    assert!(read_tail(&path).is_err());
    assert!(Appender::new(&path).append(&[entry(10)], true).is_err());
    let offset = torn_tail(&path).unwrap().unwrap();
    assert_eq!(offset, bytes.len() as u64);
    assert!(truncate_torn_tail(&path, offset - 1).is_err());
    assert_eq!(truncate_torn_tail(&path, offset).unwrap(), 17);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(torn_tail(&path).unwrap(), None);
    assert!(truncate_torn_tail(&path, offset).is_err());
    assert!(verify_file(&path, None).unwrap().valid);
}

#[test]
fn huge_and_non_utf8_lines_are_malformed() {
    let path = temp_log("huge.jsonl");
    let bytes = write_log(&path, 4);
    let lines = line_offsets(&bytes);
    let mut huge = bytes[..lines[2].0].to_vec();
    huge.extend(std::iter::repeat_n(b'x', 3 << 20));
    huge.push(b'\n');
    assert_eq!(first_bad(&path, &huge), (Some(2), ErrorKind::MalformedLine));
    let mut latin1 = bytes.clone();
    let at = lines[1].0 + 3;
    latin1[at] = 0xe9;
    assert_eq!(
        first_bad(&path, &latin1),
        (Some(1), ErrorKind::MalformedLine)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Flipping any bits of any byte of entry k is caught with first bad seq k.
    #[test]
    fn any_flipped_byte_is_caught_at_its_entry(pos in 0usize..1_000_000, mask in 1u8..=255) {
        let path = temp_log(&format!("flip-{pos}-{mask}.jsonl"));
        let bytes = write_log(&path, 6);
        let pos = pos % bytes.len();
        let lines = line_offsets(&bytes);
        let k = lines.iter().position(|&(a, b)| a <= pos && pos < b).unwrap();
        let mut bad = bytes.clone();
        bad[pos] ^= mask;
        let (seq, _) = first_bad(&path, &bad);
        std::fs::remove_file(&path).unwrap();
        prop_assert_eq!(seq, Some(k as u64));
    }
}
