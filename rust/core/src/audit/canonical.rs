//! RFC 8785 JSON Canonicalization Scheme (JCS) over `serde_json::Value`.
//!
//! - Strings: serde_json's escaping is JCS's (RFC 8785, 3.2.2.2): `\"`, `\\`,
//!   `\b \f \n \r \t`, other controls below U+0020 as `\u00xx` (lowercase),
//!   everything else literal UTF-8, `/` unescaped.
//! - Numbers: IEEE-754 doubles written as ECMAScript's `Number.prototype.
//!   toString` (RFC 8785, 3.2.2.3), by `ryu-js`; integers beyond 2^53 are
//!   rounded to the nearest double first, as JCS requires.
//! - Objects: members sorted by their names' UTF-16 code units (3.2.3).
//!
//! `serde_json_canonicalizer` does the same and is the reference in the tests,
//! but allocates per token; this writer is about ten times faster, which is
//! what verification throughput needs.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

/// Append the JCS form of a string (with quotes).
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail.
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec");
}

/// Append the JCS form of a number.
pub fn write_number(n: &Number, out: &mut Vec<u8>) {
    const EXACT: u64 = 1 << 53;
    if let Some(u) = n.as_u64() {
        if u <= EXACT {
            write_u64(u, out);
            return;
        }
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() <= EXACT {
            out.push(b'-');
            write_u64(i.unsigned_abs(), out);
            return;
        }
    }
    let f = n
        .as_f64()
        .expect("serde_json numbers are finite without arbitrary_precision");
    let mut buffer = ryu_js::Buffer::new();
    out.extend_from_slice(buffer.format_finite(f).as_bytes());
}

/// Append the decimal digits of `u`.
pub fn write_u64(mut u: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Compare two member names by UTF-16 code units (RFC 8785, 3.2.3).
pub fn utf16_cmp(a: &str, b: &str) -> Ordering {
    // UTF-8 byte order equals code point order, which differs from UTF-16
    // order only when a supplementary character meets one in U+E000..U+FFFF.
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let common = ab.iter().zip(bb).take_while(|(x, y)| x == y).count();
    match (ab.get(common), bb.get(common)) {
        (Some(&x), Some(&y)) if x >= 0xee && y >= 0xee => a.encode_utf16().cmp(b.encode_utf16()),
        _ => ab.cmp(bb),
    }
}

fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_by(|a, b| utf16_cmp(a.0, b.0));
    out.push(b'{');
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(key, out);
        out.push(b':');
        write_value(value, out);
    }
    out.push(b'}');
}

/// Append the RFC 8785 canonical form of `value`.
pub fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(map, out),
    }
}

/// The RFC 8785 canonical form of `value`.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    write_value(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn canon(text: &str) -> String {
        let value: Value = serde_json::from_str(text).unwrap();
        String::from_utf8(to_vec(&value)).unwrap()
    }

    #[test]
    fn rfc8785_number_examples() {
        // RFC 8785, Appendix B (IEEE-754 bit patterns written as JSON here).
        let cases = [
            ("0", "0"),
            ("-0.0", "0"),
            ("5e-324", "5e-324"),
            ("-5e-324", "-5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("9007199254740992", "9007199254740992"),
            ("-9007199254740992", "-9007199254740992"),
            ("295147905179352830000", "295147905179352830000"),
            ("9.999999999999997e22", "9.999999999999997e+22"),
            ("1e23", "1e+23"),
            ("999999999999999700000", "999999999999999700000"),
            ("999999999999999900000", "999999999999999900000"),
            ("1e21", "1e+21"),
            ("0.000001", "0.000001"),
            ("1e-7", "1e-7"),
            ("4.94065645841246544e-324", "5e-324"),
            ("333333333.3333332", "333333333.3333332"),
            ("333333333.33333329", "333333333.3333333"),
            ("1424953923781206.2", "1424953923781206.2"),
            // Integers past 2^53 are doubles too.
            ("9007199254740993", "9007199254740992"),
            ("18446744073709551615", "18446744073709552000"),
        ];
        for (input, expected) in cases {
            assert_eq!(canon(input), expected, "{input}");
        }
    }

    #[test]
    fn rfc8785_sorting_example() {
        // RFC 8785, 3.2.3: members sorted by UTF-16 code units, so U+1F600
        // (a surrogate pair, 0xD83D...) sorts before U+FB33.
        let input = r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#;
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
                        \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
                        \"\u{1f600}\":\"Emoji: Grinning Face\",\
                        \"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(canon(input), expected);
        assert_eq!(utf16_cmp("\u{1f600}", "\u{fb33}"), Ordering::Less);
        assert_eq!(utf16_cmp("\u{fb33}", "\u{1f600}"), Ordering::Greater);
        assert_eq!(utf16_cmp("a\u{1f600}", "a\u{e000}"), Ordering::Less);
        assert_eq!(utf16_cmp("ab", "a"), Ordering::Greater);
    }

    #[test]
    fn rfc8785_structure_example() {
        // RFC 8785, 3.2.2.
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        assert_eq!(canon(input), expected);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            any::<u64>().prop_map(|u| json!(u)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            "\\PC{0,12}".prop_map(Value::String),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Byte for byte what the reference implementation writes.
        #[test]
        fn equals_serde_json_canonicalizer(value in arb_json()) {
            let reference = serde_json_canonicalizer::to_vec(&value).unwrap();
            prop_assert_eq!(to_vec(&value), reference);
        }

        /// Canonicalization is idempotent through a parse.
        #[test]
        fn canonical_form_is_a_fixed_point(value in arb_json()) {
            let once = to_vec(&value);
            let again: Value = serde_json::from_slice(&once).unwrap();
            prop_assert_eq!(to_vec(&again), once);
        }
    }
}
