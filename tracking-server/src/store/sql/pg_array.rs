//! PostgreSQL array literals, for binding a list as one parameter (`$1::text[]`).
//!
//! sqlx's `Any` driver binds no arrays, so an array travels as the text of an array literal, which
//! the server parses in one pass. One array instead of a placeholder per value keeps a statement's
//! text (and so its prepared form) the same whatever the list's length, and spares sqlx a
//! conversion per value.

use std::fmt::Write as _;

/// A PostgreSQL array literal of text values: each element quoted, `"` and `\` escaped.
pub(super) fn text_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("{");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}

pub(super) fn int_array(items: impl IntoIterator<Item = i64>) -> String {
    let mut out = String::from("{");
    for (i, v) in items.into_iter().enumerate() {
        let _ = write!(out, "{}{v}", if i > 0 { "," } else { "" });
    }
    out.push('}');
    out
}

/// Finite values in Rust's shortest round-trip form, which `float8` input reads back bit-exact;
/// infinities in PostgreSQL's spelling (NaN never gets here: it is stored as 0 with `is_nan`).
pub(super) fn float_array(items: impl IntoIterator<Item = f64>) -> String {
    let mut out = String::from("{");
    for (i, v) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if v == f64::INFINITY {
            out.push_str("Infinity");
        } else if v == f64::NEG_INFINITY {
            out.push_str("-Infinity");
        } else {
            let _ = write!(out, "{v:?}");
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals_quote_text_and_keep_floats_exact() {
        assert_eq!(text_array(["a", "b\"c", "d\\e"]), r#"{"a","b\"c","d\\e"}"#);
        assert_eq!(int_array([1, -2]), "{1,-2}");
        assert_eq!(int_array([]), "{}");
        let values = [0.1, -0.0, 1e300, 5e-324, f64::INFINITY, f64::NEG_INFINITY];
        let text = float_array(values);
        assert_eq!(text, "{0.1,-0.0,1e300,5e-324,Infinity,-Infinity}");
        for (v, t) in values.iter().zip(text[1..text.len() - 1].split(',')) {
            let back: f64 = t.replace("Infinity", "inf").parse().unwrap();
            assert_eq!(v.to_bits(), back.to_bits());
        }
    }
}
