//! Checking a stored line against its canonical form without building a
//! JSON tree: one pass over the bytes that accepts a line only if it is
//! already the RFC 8785 line the writer emits for its content.
//!
//! [`super::entry::check_line`] defines what a valid line is: parse it
//! (serde, `detail` into a `Value`), write the canonical line of that
//! content, compare byte for byte. Most of its time went into allocating
//! the `Value`. This scanner decides the same question on the stored bytes:
//!
//! - no whitespace, the nine members in canonical order with their types;
//! - strings: literal UTF-8 except `"`, `\` and controls below U+0020, which
//!   must be the escapes JCS writes (`\" \\ \b \f \n \r \t`, else `\u00xx`,
//!   lowercase) and nothing else (no `\/`, no `\u00e9`);
//! - numbers: a short integer (at most 2^53 in magnitude, no leading zero,
//!   no `-0`) as is; any other number is parsed by serde_json and must equal
//!   its canonical writing ([`canonical::write_number`]), exactly as in the
//!   parsing check;
//! - object members strictly increasing by the UTF-16 code units of their
//!   decoded names: sorted, hence no duplicate names.
//!
//! It only ever accepts: on anything else (including nesting deeper than
//! [`MAX_DEPTH`]) it gives up, and the caller runs the parsing check, which
//! then decides and words the error. So the set of accepted lines cannot
//! grow; the differential tests and the `audit_line` fuzz target check that
//! the two agree on every line the scanner accepts, and that the scanner
//! accepts what the writer writes.

use std::cmp::Ordering;
use std::ops::Range;

use super::canonical;
use super::entry::{parse_hash, Hash32, MAX_LINE_BYTES, MAX_SEQ};

/// Deepest nesting of arrays and objects inside `detail` the scanner follows;
/// deeper lines go to the parsing check (whose limit, serde_json's, is 128).
pub const MAX_DEPTH: u32 = 64;

/// What the verifier needs of a canonical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    /// The `seq` field.
    pub seq: u64,
    /// The `prev_hash` field.
    pub prev_hash: Hash32,
    /// The stored `entry_hash`.
    pub entry_hash: Hash32,
    /// Byte range of the `"entry_hash":"…",` member (left out of the hash input).
    pub member: Range<usize>,
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

/// `Some(())` when the condition holds: lets `?` give up.
fn need(ok: bool) -> Option<()> {
    ok.then_some(())
}

impl<'a> Scanner<'a> {
    fn literal(&mut self, text: &[u8]) -> Option<()> {
        let end = self.i + text.len();
        need(self.b.get(self.i..end)? == text)?;
        self.i = end;
        Some(())
    }

    /// A canonical string; returns its bytes between the quotes (escapes
    /// as stored) and whether it contains an escape.
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        self.literal(b"\"")?;
        let start = self.i;
        let mut escaped = false;
        loop {
            let rest = &self.b[self.i..];
            let at = memchr::memchr2(b'"', b'\\', rest)?;
            need(rest[..at].iter().all(|&c| c >= 0x20))?;
            self.i += at;
            if rest[at] == b'"' {
                let body = &self.b[start..self.i];
                self.i += 1;
                return Some((body, escaped));
            }
            escaped = true;
            match *self.b.get(self.i + 1)? {
                b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                b'u' => {
                    let hex = self.b.get(self.i + 2..self.i + 6)?;
                    need(hex[0] == b'0' && hex[1] == b'0')?;
                    let nibble = |c: u8| match c {
                        b'0'..=b'9' => Some(c - b'0'),
                        b'a'..=b'f' => Some(c - b'a' + 10),
                        _ => None,
                    };
                    let code = (nibble(hex[2])? << 4) | nibble(hex[3])?;
                    // JCS writes these five short; \u00xx only for the other controls.
                    need(code < 0x20 && !matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d))?;
                    self.i += 6;
                }
                _ => return None,
            }
        }
    }

    /// A number, canonical as [`canonical::write_number`] writes it.
    fn number(&mut self) -> Option<()> {
        let start = self.i;
        let len = self.b[start..]
            .iter()
            .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .unwrap_or(self.b.len() - start);
        let token = &self.b[start..start + len];
        self.i += len;
        let digits = token.strip_prefix(b"-").unwrap_or(token);
        // Short integers: canonical iff no leading zero, not -0, |n| <= 2^53.
        // A 16-digit one above 2^53 is canonical iff the double writes it so:
        // the general path below decides.
        if (1..=16).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) {
            if digits == b"0" {
                return need(token.len() == 1);
            }
            need(digits[0] != b'0')?;
            let value = digits
                .iter()
                .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'));
            if value <= 1 << 53 {
                return Some(());
            }
        }
        // Anything else: serde_json's reading, then the canonical writing.
        let number: serde_json::Number = serde_json::from_slice(token).ok()?;
        let mut written = Vec::with_capacity(token.len());
        canonical::write_number(&number, &mut written);
        need(written == token)
    }

    fn value(&mut self, depth: u32) -> Option<()> {
        match *self.b.get(self.i)? {
            b'"' => self.string().map(|_| ()),
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn array(&mut self, depth: u32) -> Option<()> {
        need(depth <= MAX_DEPTH)?;
        self.literal(b"[")?;
        if self.literal(b"]").is_some() {
            return Some(());
        }
        loop {
            self.value(depth)?;
            match *self.b.get(self.i)? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn object(&mut self, depth: u32) -> Option<()> {
        need(depth <= MAX_DEPTH)?;
        self.literal(b"{")?;
        if self.literal(b"}").is_some() {
            return Some(());
        }
        let mut previous: Option<(&[u8], bool)> = None;
        loop {
            let key = self.string()?;
            if let Some(prev) = previous {
                need(name_cmp(prev, key)? == Ordering::Less)?;
            }
            previous = Some(key);
            self.literal(b":")?;
            self.value(depth)?;
            match *self.b.get(self.i)? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `"sha256:<64 lowercase hex>"`.
    fn hash(&mut self) -> Option<Hash32> {
        let (body, escaped) = self.string()?;
        need(!escaped)?;
        parse_hash(std::str::from_utf8(body).ok()?)
    }

    /// A canonical unsigned integer no larger than [`MAX_SEQ`].
    fn seq(&mut self) -> Option<u64> {
        let start = self.i;
        let len = self.b[start..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(self.b.len() - start);
        let digits = &self.b[start..start + len];
        need((1..=16).contains(&len) && (len == 1 || digits[0] != b'0'))?;
        self.i += len;
        let value = digits
            .iter()
            .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'));
        need(value <= MAX_SEQ)?;
        Some(value)
    }
}

/// Decode a canonical string body (the escapes [`Scanner::string`] admits).
fn unescape(body: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'\\' {
            out.push(body[i]);
            i += 1;
            continue;
        }
        let c = match body[i + 1] {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hex = std::str::from_utf8(&body[i + 4..i + 6]).ok()?;
                i += 4;
                u8::from_str_radix(hex, 16).ok()?
            }
            other => other,
        };
        out.push(c);
        i += 2;
    }
    String::from_utf8(out).ok()
}

/// Order of two member names as RFC 8785 sorts them (UTF-16 code units of
/// the decoded names).
fn name_cmp(a: (&[u8], bool), b: (&[u8], bool)) -> Option<Ordering> {
    if !a.1 && !b.1 {
        let (a, b) = (
            std::str::from_utf8(a.0).ok()?,
            std::str::from_utf8(b.0).ok()?,
        );
        return Some(canonical::utf16_cmp(a, b));
    }
    Some(canonical::utf16_cmp(&unescape(a.0)?, &unescape(b.0)?))
}

/// Check that `line` (no newline) is a canonical audit line and return its
/// fields; `None` means "not shown canonical here": run the parsing check.
pub fn scan_line(line: &[u8]) -> Option<Scanned> {
    need(!line.is_empty() && line.len() <= MAX_LINE_BYTES)?;
    std::str::from_utf8(line).ok()?;
    let mut s = Scanner { b: line, i: 0 };
    s.literal(b"{\"action\":")?;
    s.string()?;
    s.literal(b",\"actor\":")?;
    s.string()?;
    s.literal(b",\"detail\":")?;
    s.value(0)?;
    s.literal(b",")?;
    let member_start = s.i;
    s.literal(b"\"entry_hash\":")?;
    let entry_hash = s.hash()?;
    s.literal(b",")?;
    let member = member_start..s.i;
    s.literal(b"\"prev_hash\":")?;
    let prev_hash = s.hash()?;
    s.literal(b",\"resource\":")?;
    s.string()?;
    s.literal(b",\"result\":")?;
    s.string()?;
    s.literal(b",\"seq\":")?;
    let seq = s.seq()?;
    s.literal(b",\"timestamp\":")?;
    s.string()?;
    s.literal(b"}")?;
    need(s.i == line.len())?;
    Some(Scanned {
        seq,
        prev_hash,
        entry_hash,
        member,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::entry::{check_line, check_line_parsed, format_line, Fields, GENESIS};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn line_of(detail: &Value, seq: u64) -> Vec<u8> {
        let fields = Fields {
            seq,
            timestamp: "2026-02-20T12:00:00.000001Z",
            actor: "ci \"bot\"\n",
            action: "model.deploy",
            resource: "/models/\u{e9}t\u{e9}",
            result: "success",
            detail,
            prev_hash: &GENESIS,
        };
        format_line(&fields).0
    }

    /// Both checks on `line`: the scanner's verdict may only be "accept"
    /// where the parsing check accepts the same fields.
    fn agree(line: &[u8]) {
        let parsed = check_line_parsed(line);
        if scan_line(line).is_some() {
            assert!(
                parsed.is_ok(),
                "{:?}: {parsed:?}",
                String::from_utf8_lossy(line)
            );
        }
        assert_eq!(check_line(line), parsed);
    }

    #[test]
    fn written_lines_are_scanned_without_the_parser() {
        let details = [
            json!({}),
            json!([]),
            json!(null),
            json!("text"),
            json!(-0.0),
            json!({"n": [0, -1, 9_007_199_254_740_992_u64, -9_007_199_254_740_992_i64, 9_007_199_254_740_993_u64,
                         1e21, 1e-7, 0.1, -2.5, 5e-324, 1.797_693_134_862_315_7e308]}),
            json!({"\n": 1, "A": 2, "\u{1f600}": 3, "\u{fb33}": 4, "\u{7f}": 5, "\u{1f}": {"\u{8}": [true, false]}}),
            json!({"s": "\"\\\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}\u{2028}/\u{e9}"}),
        ];
        for detail in &details {
            for seq in [0, 7, MAX_SEQ] {
                let line = line_of(detail, seq);
                let scanned = scan_line(&line)
                    .unwrap_or_else(|| panic!("refused {}", String::from_utf8_lossy(&line)));
                assert_eq!(scanned.seq, seq);
                agree(&line);
                assert!(check_line(&line).unwrap().hash_ok);
            }
        }
    }

    #[test]
    fn non_canonical_spellings_are_left_to_the_parser() {
        let line = String::from_utf8(line_of(&json!({"a": 1.5, "b": "x/y", "c": 10}), 3)).unwrap();
        let variants = [
            line.replacen("\"a\":1.5", "\"a\":1.50", 1),
            line.replacen("\"a\":1.5", "\"a\":15e-1", 1),
            line.replacen("\"c\":10", "\"c\":1e1", 1),
            line.replacen("\"c\":10", "\"c\":010", 1),
            line.replacen("\"c\":10", "\"c\":-0", 1),
            line.replacen("x/y", "x\\/y", 1),
            line.replacen("x/y", "x\\u002fy", 1),
            line.replacen("\"b\":\"x/y\"", "\"b\":\"x/y\",\"b\":\"x/y\"", 1),
            line.replacen("\"a\":1.5,\"b\"", "\"b\":\"x/y\",\"a\":1.5,\"b\"", 1),
            line.replacen("\"seq\":3", "\"seq\":03", 1),
            line.replacen("\"seq\":3", "\"seq\":3.0", 1),
            line.replacen("\"seq\":3", "\"seq\":9007199254740992", 1),
            line.replacen(':', ": ", 1),
            line.replacen("ci \\\"bot\\\"\\n", "ci \\\"bot\\\"\\u000a", 1),
            line.replacen("ci \\\"bot\\\"\\n", "ci \\\"bot\\\"\\u000A", 1),
            format!("{line} "),
        ];
        for variant in variants {
            assert_ne!(variant, line);
            assert!(scan_line(variant.as_bytes()).is_none(), "{variant}");
            assert!(check_line(variant.as_bytes()).is_err(), "{variant}");
            agree(variant.as_bytes());
        }
        // Members sorted by their decoded names: "\n" (U+000A) before "A".
        let sorted = line_of(&json!({"\n": 1, "A": 2}), 0);
        assert!(scan_line(&sorted).is_some());
        let swapped = String::from_utf8(sorted).unwrap().replacen(
            "{\"\\n\":1,\"A\":2}",
            "{\"A\":2,\"\\n\":1}",
            1,
        );
        assert!(scan_line(swapped.as_bytes()).is_none());
        agree(swapped.as_bytes());
    }

    #[test]
    fn deep_nesting_goes_to_the_parser() {
        let mut deep = json!(1);
        for _ in 0..MAX_DEPTH {
            deep = json!([deep]);
        }
        assert!(scan_line(&line_of(&deep, 0)).is_some());
        let deeper = json!([deep]);
        let line = line_of(&deeper, 0);
        assert!(scan_line(&line).is_none());
        assert!(check_line(&line).unwrap().hash_ok);
    }

    #[test]
    fn integers_above_2_pow_53_with_16_digits_take_the_general_path() {
        // Found by the property test below: 2^53 + 2 is a double, written as
        // such, and must be accepted; 2^53 + 1 is not and must not be.
        let line = line_of(&json!([9_007_199_254_740_994_i64]), 0);
        assert!(scan_line(&line).is_some());
        assert_eq!(check_line(&line), check_line_parsed(&line));
        let seven = String::from_utf8(line_of(&json!([7]), 0)).unwrap();
        let odd = seven.replacen("[7]", "[9007199254740993]", 1).into_bytes();
        assert!(scan_line(&odd).is_none());
    }

    fn arb_detail() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            (-100i64..100).prop_map(|i| json!(i)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            "[\\x00-\\x7f\u{e9}\u{2028}\u{fb33}\u{1f600}]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(
                    "[\\x00-\\x7f\u{e9}\u{fb33}\u{1f600}]{0,4}",
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Every written line is recognised by the scanner, with the fields
        /// and hash the parsing check finds.
        #[test]
        fn scanner_accepts_every_written_line(detail in arb_detail(), seq in 0..=MAX_SEQ) {
            let line = line_of(&detail, seq);
            prop_assert!(scan_line(&line).is_some());
            prop_assert_eq!(check_line(&line), check_line_parsed(&line));
        }

        /// One byte changed, deleted or inserted anywhere: both checks agree.
        #[test]
        fn checks_agree_on_damaged_lines(
            detail in arb_detail(),
            at in any::<prop::sample::Index>(),
            byte in prop::sample::select(b"\"\\ ,:{}[]0159.-+eEu/anx\n\x7f\xc3".to_vec()),
            how in 0..3u8,
        ) {
            let mut line = line_of(&detail, 5);
            let i = at.index(line.len());
            match how {
                0 => line[i] = byte,
                1 => { line.remove(i); }
                _ => line.insert(i, byte),
            }
            agree(&line);
        }
    }
}
