//! One audit entry: its canonical form (RFC 8785), its SHA-256 hash, its
//! line in the JSON Lines file, and the strict parser of such a line.
//!
//! The hash input of an entry is the RFC 8785 canonical JSON of the entry
//! without `entry_hash`. Canonical key order (UTF-16 code units) is
//! `action, actor, detail, entry_hash, prev_hash, resource, result, seq,
//! timestamp`, so the writer emits the whole line canonically and the hash
//! input is that line without its `"entry_hash":"…",` member. Values are
//! written by [`super::canonical`].

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::canonical;
use super::scan::scan_line;

/// A SHA-256 digest (FIPS 180-4).
pub type Hash32 = [u8; 32];

/// Prefix of every hash as it appears in the log: `sha256:<64 lowercase hex>`.
pub const HASH_PREFIX: &str = "sha256:";

/// `prev_hash` of entry 0: `sha256:` followed by 64 zeros (the all-zero digest).
pub const GENESIS_PREV_HASH: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The all-zero digest that [`GENESIS_PREV_HASH`] spells.
pub const GENESIS: Hash32 = [0; 32];

/// Longest line (bytes, without the newline) that the writer emits and the
/// verifier accepts; anything longer is a malformed line.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Largest `seq`: RFC 8785 numbers are IEEE-754 doubles, which hold every
/// integer up to 2^53 exactly.
pub const MAX_SEQ: u64 = (1 << 53) - 1;

/// The values a `result` may take.
pub const RESULTS: [&str; 3] = ["success", "failure", "error"];

/// SHA-256 of `data`.
///
/// Never inlined: the crate's SHA-NI code is legacy-SSE encoded, and inlined
/// after 256-bit AVX moves (this crate is built with `target-cpu=native`) it
/// ran 80 times slower from AVX-SSE transition stalls; a call boundary puts
/// a `vzeroupper` in between.
#[inline(never)]
pub fn sha256(data: &[u8]) -> Hash32 {
    Sha256::digest(data).into()
}

/// `sha256:<hex>` form of a digest.
pub fn format_hash(hash: &Hash32) -> String {
    let mut out = String::with_capacity(HASH_PREFIX.len() + 64);
    out.push_str(HASH_PREFIX);
    push_hex(&mut out, hash);
    out
}

/// Lowercase hex of `bytes`, appended to `out`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// Parse `sha256:<64 lowercase hex>` exactly; anything else (uppercase hex,
/// other length, other prefix) is `None`, so that a stored hash has one
/// spelling only.
pub fn parse_hash(text: &str) -> Option<Hash32> {
    // Table lookup, no branch per digit: a lowercase hex digit maps to its
    // value, every other byte to 0x10, which the OR of all digits keeps.
    const NIBBLE: [u8; 256] = {
        let mut table = [0x10u8; 256];
        let mut c = 0;
        while c < 10 {
            table[b'0' as usize + c] = c as u8;
            c += 1;
        }
        let mut c = 0;
        while c < 6 {
            table[b'a' as usize + c] = 10 + c as u8;
            c += 1;
        }
        table
    };
    let hex = text.strip_prefix(HASH_PREFIX)?.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0xf);
    }
    (bad < 0x10).then_some(out)
}

/// The fields of an entry other than `entry_hash`, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    /// Position in the log, from 0.
    pub seq: u64,
    /// RFC 3339 UTC time of writing.
    pub timestamp: &'a str,
    /// Who acted.
    pub actor: &'a str,
    /// What was done (dotted name, e.g. `simulate.run`).
    pub action: &'a str,
    /// What it was done to.
    pub resource: &'a str,
    /// `success`, `failure` or `error`.
    pub result: &'a str,
    /// Free-form JSON detail.
    pub detail: &'a Value,
    /// `entry_hash` of the previous entry, or [`GENESIS`].
    pub prev_hash: &'a Hash32,
}

/// Canonical JSON of `fields`, with `entry_hash` spliced in at its sorted
/// place when given. Returns the byte range of the `"entry_hash":"…",`
/// member (empty when `entry_hash` is `None`).
fn write_canonical(
    fields: &Fields<'_>,
    entry_hash: Option<&Hash32>,
    out: &mut Vec<u8>,
) -> std::ops::Range<usize> {
    out.push(b'{');
    out.extend_from_slice(b"\"action\":");
    canonical::write_str(fields.action, out);
    out.extend_from_slice(b",\"actor\":");
    canonical::write_str(fields.actor, out);
    out.extend_from_slice(b",\"detail\":");
    canonical::write_value(fields.detail, out);
    out.push(b',');
    let start = out.len();
    if let Some(hash) = entry_hash {
        out.extend_from_slice(b"\"entry_hash\":\"");
        out.extend_from_slice(format_hash(hash).as_bytes());
        out.extend_from_slice(b"\",");
    }
    let splice = start..out.len();
    out.extend_from_slice(b"\"prev_hash\":\"");
    out.extend_from_slice(format_hash(fields.prev_hash).as_bytes());
    out.extend_from_slice(b"\",\"resource\":");
    canonical::write_str(fields.resource, out);
    out.extend_from_slice(b",\"result\":");
    canonical::write_str(fields.result, out);
    out.extend_from_slice(b",\"seq\":");
    canonical::write_u64(fields.seq, out);
    out.extend_from_slice(b",\"timestamp\":");
    canonical::write_str(fields.timestamp, out);
    out.push(b'}');
    splice
}

/// RFC 8785 canonical JSON of the entry without `entry_hash`: the hash input.
pub fn canonical_bytes(fields: &Fields<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_canonical(fields, None, &mut out);
    out
}

/// `entry_hash` of an entry: SHA-256 of [`canonical_bytes`].
pub fn entry_hash(fields: &Fields<'_>) -> Hash32 {
    sha256(&canonical_bytes(fields))
}

/// The canonical line of an entry (no newline) and its hash; the same
/// bytes, less the `entry_hash` member, are what was hashed.
pub fn format_line(fields: &Fields<'_>) -> (Vec<u8>, Hash32) {
    let mut line = Vec::with_capacity(320);
    let splice = write_canonical(fields, None, &mut line);
    let hash = sha256(&line);
    let member = format!("\"entry_hash\":\"{}\",", format_hash(&hash));
    line.splice(splice.start..splice.start, member.bytes());
    (line, hash)
}

/// A line as it is stored, every field of the fixed format present, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    seq: u64,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow)]
    actor: Cow<'a, str>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    resource: Cow<'a, str>,
    #[serde(borrow)]
    result: Cow<'a, str>,
    detail: Value,
    #[serde(borrow)]
    prev_hash: Cow<'a, str>,
    #[serde(borrow)]
    entry_hash: Cow<'a, str>,
}

/// What the verifier needs of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// The `seq` field.
    pub seq: u64,
    /// The `prev_hash` field.
    pub prev_hash: Hash32,
    /// The hash recomputed from the content.
    pub computed: Hash32,
    /// Whether the stored `entry_hash` equals `computed`.
    pub hash_ok: bool,
}

/// A parsed entry, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// RFC 3339 UTC time of writing.
    pub timestamp: String,
    /// Who acted.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub resource: String,
    /// `success`, `failure` or `error`.
    pub result: String,
    /// Free-form JSON detail.
    pub detail: Value,
    /// The stored `prev_hash`.
    pub prev_hash: Hash32,
    /// The stored `entry_hash`.
    pub entry_hash: Hash32,
}

impl Entry {
    /// The hashed fields, borrowed.
    pub fn fields(&self) -> Fields<'_> {
        Fields {
            seq: self.seq,
            timestamp: &self.timestamp,
            actor: &self.actor,
            action: &self.action,
            resource: &self.resource,
            result: &self.result,
            detail: &self.detail,
            prev_hash: &self.prev_hash,
        }
    }
}

fn parse_wire(line: &[u8]) -> Result<Wire<'_>, String> {
    if line.len() > MAX_LINE_BYTES {
        return Err(format!(
            "line of {} bytes is longer than the limit of {MAX_LINE_BYTES} bytes",
            line.len()
        ));
    }
    if line.is_empty() {
        return Err("empty line".to_owned());
    }
    if let Err(e) = std::str::from_utf8(line) {
        return Err(format!("not UTF-8: {e}"));
    }
    let wire: Wire<'_> = serde_json::from_slice(line).map_err(|e| format!("not an entry: {e}"))?;
    if wire.seq > MAX_SEQ {
        return Err(format!("seq {} is larger than 2^53 - 1", wire.seq));
    }
    Ok(wire)
}

fn hashes_of(wire: &Wire<'_>) -> Result<(Hash32, Hash32), String> {
    let prev = parse_hash(&wire.prev_hash)
        .ok_or_else(|| "prev_hash is not sha256:<64 lowercase hex>".to_owned())?;
    let stored = parse_hash(&wire.entry_hash)
        .ok_or_else(|| "entry_hash is not sha256:<64 lowercase hex>".to_owned())?;
    Ok((prev, stored))
}

/// Parse one line (without its newline) and recompute its hash.
///
/// Errors (as text) are malformed lines: not UTF-8, not JSON, a field missing,
/// unknown, duplicated or of the wrong type, a hash not spelled
/// `sha256:<64 lowercase hex>`, a line over [`MAX_LINE_BYTES`].
///
/// A line must also be byte for byte the canonical line the writer emits for
/// its content ([`format_line`] with the stored `entry_hash`): whitespace,
/// other escapes (`\u00e9`, `\/`), other spellings of a number (`1E21`,
/// `2.50`, `-0`), reordered keys and duplicate keys anywhere (which a JSON
/// parser resolves one way and another parser may resolve the other) are
/// malformed, so that a verified log has exactly one reading.
///
/// A canonical line is recognised by [`super::scan::scan_line`] without
/// parsing it into a tree; any other line goes through
/// [`check_line_parsed`], which decides and words the error.
pub fn check_line(line: &[u8]) -> Result<Checked, String> {
    match scan_line(line) {
        Some(scanned) => {
            let computed = hash_without(line, scanned.member);
            Ok(Checked {
                seq: scanned.seq,
                prev_hash: scanned.prev_hash,
                computed,
                hash_ok: computed == scanned.entry_hash,
            })
        }
        None => check_line_parsed(line),
    }
}

/// [`check_line`] by definition: parse the line (serde_json, `detail` into
/// a `Value`), write the canonical line of that content, compare byte for
/// byte. Slower; the reference the scanner is tested against.
pub fn check_line_parsed(line: &[u8]) -> Result<Checked, String> {
    let wire = parse_wire(line)?;
    let (prev_hash, stored) = hashes_of(&wire)?;
    let fields = Fields {
        seq: wire.seq,
        timestamp: &wire.timestamp,
        actor: &wire.actor,
        action: &wire.action,
        resource: &wire.resource,
        result: &wire.result,
        detail: &wire.detail,
        prev_hash: &prev_hash,
    };
    let mut canonical_line = Vec::with_capacity(line.len());
    let member = write_canonical(&fields, Some(&stored), &mut canonical_line);
    if canonical_line != line {
        return Err(format!(
            "not the canonical (RFC 8785) line of its content: {}",
            first_difference(line, &canonical_line)
        ));
    }
    let computed = hash_without(&canonical_line, member);
    Ok(Checked {
        seq: wire.seq,
        prev_hash,
        computed,
        hash_ok: computed == stored,
    })
}

/// SHA-256 of `line` less the byte range `member` (the `entry_hash` member):
/// the hash input, without copying the line.
#[inline(never)]
fn hash_without(line: &[u8], member: std::ops::Range<usize>) -> Hash32 {
    let mut hasher = Sha256::new();
    hasher.update(&line[..member.start]);
    hasher.update(&line[member.end..]);
    hasher.finalize().into()
}

/// Where a stored line first departs from the canonical one, for the error.
fn first_difference(stored: &[u8], canonical: &[u8]) -> String {
    let at = stored
        .iter()
        .zip(canonical)
        .position(|(a, b)| a != b)
        .unwrap_or(stored.len().min(canonical.len()));
    let show = |bytes: &[u8]| {
        let end = (at + 16).min(bytes.len());
        String::from_utf8_lossy(&bytes[at..end]).into_owned()
    };
    format!(
        "byte {at} is {:?} where the canonical line has {:?}",
        show(stored),
        show(canonical)
    )
}

/// Parse one line into an owned [`Entry`] (hashes as stored, not checked).
pub fn parse_entry(line: &[u8]) -> Result<Entry, String> {
    let wire = parse_wire(line)?;
    let (prev_hash, entry_hash) = hashes_of(&wire)?;
    Ok(Entry {
        seq: wire.seq,
        timestamp: wire.timestamp.into_owned(),
        actor: wire.actor.into_owned(),
        action: wire.action.into_owned(),
        resource: wire.resource.into_owned(),
        result: wire.result.into_owned(),
        detail: wire.detail,
        prev_hash,
        entry_hash,
    })
}

/// Only the stored `entry_hash` of a line (the Merkle leaves), without
/// recomputing it: a quicker pass for proofs.
pub fn stored_hash(line: &[u8]) -> Result<Hash32, String> {
    #[derive(Deserialize)]
    struct HashOnly<'a> {
        #[serde(borrow)]
        entry_hash: Cow<'a, str>,
    }
    let only: HashOnly<'_> =
        serde_json::from_slice(line).map_err(|e| format!("not an entry: {e}"))?;
    parse_hash(&only.entry_hash)
        .ok_or_else(|| "entry_hash is not sha256:<64 lowercase hex>".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(detail: &Value) -> Fields<'_> {
        Fields {
            seq: 7,
            timestamp: "2026-02-20T12:00:00.000001Z",
            actor: "ci",
            action: "model.deploy",
            resource: "/models/genome_v3",
            result: "success",
            detail,
            prev_hash: &GENESIS,
        }
    }

    #[test]
    fn genesis_spelling_parses_to_zero_digest() {
        assert_eq!(parse_hash(GENESIS_PREV_HASH), Some(GENESIS));
        assert_eq!(format_hash(&GENESIS), GENESIS_PREV_HASH);
    }

    #[test]
    fn hash_spelling_is_strict() {
        let h = format_hash(&sha256(b"abc"));
        assert!(parse_hash(&h).is_some());
        assert!(parse_hash(&h.to_uppercase()).is_none());
        assert!(parse_hash(&h.replace("sha256:", "sha256:A")[..71]).is_none());
        assert!(parse_hash(&h[..70]).is_none());
        assert!(parse_hash(&h.replace("sha256", "sha512")).is_none());
    }

    #[test]
    fn sha256_matches_fips_180_4_example() {
        // FIPS 180-4 / NIST CSRC example "abc".
        assert_eq!(
            format_hash(&sha256(b"abc")),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn canonical_bytes_equal_the_crate_on_the_whole_object() {
        let detail =
            json!({"z": [1.0, 1e21, -0.0, "\u{2028}"], "a": {"\u{20ac}": 1, "\r": 2}, "n": null});
        let fields = sample(&detail);
        let whole = json!({
            "timestamp": fields.timestamp, "seq": fields.seq, "result": fields.result,
            "resource": fields.resource, "prev_hash": GENESIS_PREV_HASH, "detail": detail,
            "actor": fields.actor, "action": fields.action,
        });
        let expected = serde_json_canonicalizer::to_vec(&whole).unwrap();
        assert_eq!(canonical_bytes(&fields), expected);
    }

    #[test]
    fn line_is_canonical_and_hash_excludes_entry_hash() {
        let detail = json!({"b": 2, "a": "x"});
        let fields = sample(&detail);
        let (line, hash) = format_line(&fields);
        let value: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(serde_json_canonicalizer::to_vec(&value).unwrap(), line);
        let mut without = value.clone();
        without.as_object_mut().unwrap().remove("entry_hash");
        assert_eq!(
            sha256(&serde_json_canonicalizer::to_vec(&without).unwrap()),
            hash
        );
        let checked = check_line(&line).unwrap();
        assert!(checked.hash_ok);
        assert_eq!(checked.computed, hash);
        assert_eq!(stored_hash(&line).unwrap(), hash);
        assert_eq!(parse_entry(&line).unwrap().fields().detail, &detail);
    }

    #[test]
    fn only_the_canonical_spelling_of_a_line_verifies() {
        let detail = json!({"name": "\u{e9}t\u{e9}/x", "n": 1e21, "x": 2.5, "z": 0, "v": "1"});
        let (line, _) = format_line(&sample(&detail));
        let text = String::from_utf8(line.clone()).unwrap();
        assert!(check_line(&line).unwrap().hash_ok);
        // Each variant parses to the same JSON value as the canonical line.
        let variants: Vec<(&str, String)> = vec![
            (
                "space after a colon",
                text.replacen("\"actor\":", "\"actor\": ", 1),
            ),
            ("trailing space", format!("{text} ")),
            ("carriage return (CRLF)", format!("{text}\r")),
            ("\\u escape", text.replacen('\u{e9}', "\\u00e9", 1)),
            ("escaped solidus", text.replacen("/x", "\\/x", 1)),
            ("exponent spelling", text.replacen("1e+21", "1E21", 1)),
            ("trailing zero", text.replacen("2.5", "2.50", 1)),
            ("negative zero", text.replacen("\"z\":0", "\"z\":-0", 1)),
            (
                "reordered keys",
                text.replacen(
                    "{\"action\":\"model.deploy\",\"actor\":\"ci\"",
                    "{\"actor\":\"ci\",\"action\":\"model.deploy\"",
                    1,
                ),
            ),
            (
                "duplicate key in detail",
                text.replacen("\"v\":\"1\"", "\"v\":\"9\",\"v\":\"1\"", 1),
            ),
        ];
        for (what, variant) in variants {
            assert_ne!(variant, text, "{what}: the variant must differ");
            // Same canonical form, hence the same hash: only the spelling differs.
            let same: Value = serde_json::from_str(&variant).unwrap();
            assert_eq!(
                serde_json_canonicalizer::to_vec(&same).unwrap(),
                line,
                "{what}: must canonicalize to the stored line"
            );
            let err = check_line(variant.as_bytes()).unwrap_err();
            assert!(err.contains("not the canonical"), "{what}: {err}");
        }
    }

    #[test]
    fn malformed_lines_are_rejected_with_reasons() {
        let detail = json!({});
        let (line, _) = format_line(&sample(&detail));
        let text = String::from_utf8(line).unwrap();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "empty line"),
            (b"{".to_vec(), "not an entry"),
            (vec![0xff, 0xfe], "not UTF-8"),
            (
                text.replace("\"seq\":7", "\"seq\":\"7\"").into_bytes(),
                "invalid type",
            ),
            (
                text.replace("\"seq\":7", "\"seq\":7.5").into_bytes(),
                "invalid type",
            ),
            (
                text.replace("\"actor\"", "\"actos\"").into_bytes(),
                "unknown field",
            ),
            (
                text.replace(",\"actor\":\"ci\"", "").into_bytes(),
                "missing field",
            ),
            (
                text.replacen('{', "{\"seq\":7,", 1).into_bytes(),
                "duplicate field",
            ),
            (
                text.replace("sha256:", "SHA256:").into_bytes(),
                "lowercase hex",
            ),
            (vec![b' '; MAX_LINE_BYTES + 1], "longer than the limit"),
        ];
        for (bad, why) in cases {
            let err = check_line(&bad).unwrap_err();
            assert!(err.contains(why), "{err:?} should mention {why:?}");
        }
    }
}
