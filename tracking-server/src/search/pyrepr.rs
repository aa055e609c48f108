//! Python `repr()` look-alikes for error messages.
//!
//! MLflow interpolates Python objects (sets of valid keys, the raw `order_by` list, decoded page
//! token bytes) into its messages, and clients compare those messages as substrings; rendering
//! them the way Python would keeps our texts interchangeable with the reference's.

use std::fmt::Write as _;

use serde_json::Value;

/// Python picks double quotes only when the text has a single quote and no double quote.
fn quote_for(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double {
        '"'
    } else {
        '\''
    }
}

/// `repr(str)`.
pub(crate) fn py_str(s: &str) -> String {
    let quote = quote_for(s.contains('\''), s.contains('"'));
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `repr(bytes)`.
pub(crate) fn py_bytes(b: &[u8]) -> String {
    let quote = quote_for(b.contains(&b'\''), b.contains(&b'"'));
    let mut out = String::with_capacity(b.len() + 3);
    out.push('b');
    out.push(quote);
    for &byte in b {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            q if char::from(q) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
    }
    out.push(quote);
    out
}

/// `repr()` of what `json.loads` would have returned for this value.
pub(crate) fn py_json(v: &Value) -> String {
    match v {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_json).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str(k), py_json(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// Python's `json.dumps(v)`: `", "` and `": "` between items, non-ASCII escaped. MLflow writes
/// some tags this way (`mlflow.modelVersions`) and clients compare them as text.
pub(crate) fn json_dumps(v: &Value) -> String {
    dumps(v, ", ", ": ")
}

/// `json.dumps(v, sort_keys=True, separators=(",", ":"))`, as MLflow quotes a rejected value.
pub(crate) fn json_dumps_compact(v: &Value) -> String {
    dumps(v, ",", ":")
}

fn dumps(v: &Value, item_sep: &str, key_sep: &str) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => json_str(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(|i| dumps(i, item_sep, key_sep)).collect();
            format!("[{}]", inner.join(item_sep))
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}{key_sep}{}", json_str(k), dumps(v, item_sep, key_sep)))
                .collect();
            format!("{{{}}}", inner.join(item_sep))
        }
    }
}

/// A string as Python's `json.dumps` writes it (`ensure_ascii=True`).
pub(crate) fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The name Python gives the type of what `json.loads` would return for this value, as in
/// MLflow's "Hint: Value was of type 'int'".
pub(crate) fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// `repr(list_of_str)`.
pub(crate) fn py_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| py_str(s)).collect();
    format!("[{}]", inner.join(", "))
}

/// `repr(set_of_str)`, in the order given (Python's own order is unspecified anyway).
pub(crate) fn py_set(items: &[&str]) -> String {
    let inner: Vec<String> = items.iter().map(|s| py_str(s)).collect();
    format!("{{{}}}", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_strings_use_single_quotes() {
        assert_eq!(py_str("abc"), "'abc'");
    }

    #[test]
    fn strings_with_a_single_quote_switch_to_double_quotes() {
        assert_eq!(py_str("it's"), "\"it's\"");
    }

    #[test]
    fn strings_with_both_quotes_escape_the_single_quote() {
        assert_eq!(py_str("a'\"b"), "'a\\'\"b'");
    }

    #[test]
    fn control_characters_and_backslashes_are_escaped() {
        assert_eq!(py_str("a\\b\n\u{1}"), "'a\\\\b\\n\\x01'");
    }

    #[test]
    fn bytes_render_with_a_b_prefix_and_hex_escapes() {
        assert_eq!(py_bytes(b"ab\xff\x00"), "b'ab\\xff\\x00'");
        assert_eq!(py_bytes(b""), "b''");
        assert_eq!(py_bytes(b"it's"), "b\"it's\"");
    }

    #[test]
    fn json_values_render_like_python_objects() {
        // One key per object: key order depends on serde_json's `preserve_order` feature.
        let v: Value =
            serde_json::from_str(r#"{"offset": [null, true, false, 1, "x"]}"#).expect("valid json");
        assert_eq!(py_json(&v), "{'offset': [None, True, False, 1, 'x']}");
    }

    #[test]
    fn lists_and_sets_render_their_items_in_order() {
        assert_eq!(py_list(&["a".into(), "b".into()]), "['a', 'b']");
        assert_eq!(py_set(&["=", "!="]), "{'=', '!='}");
    }
}
