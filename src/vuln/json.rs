//! Reading JSON from outside, bounded: the size is checked before parsing,
//! the nesting depth by a byte scan before the parser recurses, trailing
//! data and duplicate object keys are refused (a document whose keys repeat
//! reads differently in different parsers: one checked here, another
//! acted on there).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::error::VulnError;

/// Deepest nesting accepted. CSAF product trees nest `branches`; the
/// deepest real advisory in the test vectors is 17 levels deep.
pub const MAX_DEPTH: usize = 64;

/// Parses `bytes` as one JSON value within `max_size` bytes and
/// [`MAX_DEPTH`] levels. Returns the text (UTF-8, as given) and the value.
pub fn read(bytes: &[u8], max_size: usize) -> Result<(&str, Value), VulnError> {
    if bytes.len() > max_size {
        return Err(VulnError::TooLarge {
            size: bytes.len(),
            max: max_size,
        });
    }
    let text =
        std::str::from_utf8(bytes).map_err(|e| VulnError::Json(format!("not UTF-8: {e}")))?;
    check_depth(bytes)?;
    // `from_str` refuses trailing data other than whitespace.
    let Strict(value) = serde_json::from_str(text).map_err(|e| VulnError::Json(e.to_string()))?;
    Ok((text, value))
}

/// Fails when arrays and objects nest deeper than [`MAX_DEPTH`]; brackets
/// inside strings do not count. Malformed input passes through to the
/// parser, which says what is wrong.
fn check_depth(bytes: &[u8]) -> Result<(), VulnError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(VulnError::TooDeep { max: MAX_DEPTH });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A `Value` whose objects must not repeat a key.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(key.clone(), v).is_some() {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_strictness() {
        let (text, v) = read(br#" {"a": [1, "x]"]} "#, 100).unwrap();
        assert_eq!(text, r#" {"a": [1, "x]"]} "#);
        assert_eq!(v["a"][1], "x]");
        assert!(matches!(
            read(b"{}", 1),
            Err(VulnError::TooLarge { size: 2, max: 1 })
        ));
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(matches!(
            read(deep.as_bytes(), 1 << 20),
            Err(VulnError::TooDeep { .. })
        ));
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(read(ok.as_bytes(), 1 << 20).is_ok());
        // Brackets inside strings, escaped quotes included, do not count.
        let s = format!("[\"\\\"{}\"]", "[".repeat(100));
        assert!(read(s.as_bytes(), 1 << 20).is_ok());
        let dup = read(br#"{"a": 1, "b": {"a": 2, "a": 3}}"#, 100).unwrap_err();
        assert!(dup.to_string().contains("duplicate key \"a\""), "{dup}");
        let trailing = read(b"{} invalid data", 100).unwrap_err();
        assert!(matches!(trailing, VulnError::Json(_)), "{trailing}");
        assert!(read(b"\xff{}", 100).is_err());
    }
}
