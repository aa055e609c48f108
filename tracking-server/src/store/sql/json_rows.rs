//! A reader for the flat JSON arrays of rows that a search page's queries answer (`[[run, key,
//! value], …]`, and the runs' info rows; see [`run_rows`](super::run_rows)).
//!
//! Why not serde: those arrays are the bulk of a search page (half a megabyte for 1000 runs), and
//! serde's generic visitors (a tuple struct per row, `deserialize_any` for the run) were a tenth of
//! the page's CPU. This reads exactly the shapes the queries write, strings and integers in arrays,
//! with JSON's whitespace (PostgreSQL writes `", "`), and leaves strings holding an escape to
//! `serde_json`, so every string reads as serde would read it. A string without one is borrowed
//! from the text; one with a control character is refused, as serde refuses it.

use std::borrow::Cow;

/// Text from the database that does not have the shape its query gives: the SQL and this module
/// disagree, which is a bug, never a client mistake.
#[derive(Debug)]
pub(super) struct Malformed(pub(super) serde_json::Error);

impl From<serde_json::Error> for Malformed {
    fn from(e: serde_json::Error) -> Self {
        Malformed(e)
    }
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed run rows from the database: {}", self.0)
    }
}

/// The rows of one array, read element by element: `next_row`, then the row's elements in order,
/// then `end_row`.
pub(super) struct Rows<'a> {
    text: &'a str,
    at: usize,
    /// Rows started so far.
    started: usize,
    /// Elements read in the current row.
    elements: usize,
    /// The closing `]` was read (or the text is empty).
    done: bool,
}

impl<'a> Rows<'a> {
    /// The rows of `text`; an empty text has none (an aggregate over no rows on SQLite is `[]`,
    /// but a column may be NULL).
    pub(super) fn new(text: &'a str) -> Result<Self, Malformed> {
        let mut rows = Self {
            text,
            at: 0,
            started: 0,
            elements: 0,
            done: false,
        };
        rows.skip_whitespace();
        if rows.at == text.len() {
            rows.done = true;
        } else {
            rows.expect(b'[')?;
        }
        Ok(rows)
    }

    /// Starts the next row, or returns false at the end of the array (which must end the text).
    pub(super) fn next_row(&mut self) -> Result<bool, Malformed> {
        if self.done {
            return Ok(false);
        }
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            self.done = true;
            self.skip_whitespace();
            return if self.at == self.text.len() {
                Ok(false)
            } else {
                Err(self.error("text after the rows"))
            };
        }
        if self.started > 0 {
            self.expect(b',')?;
        }
        self.expect(b'[')?;
        self.started += 1;
        self.elements = 0;
        Ok(true)
    }

    /// Ends the current row, which must have no more elements.
    pub(super) fn end_row(&mut self) -> Result<(), Malformed> {
        self.expect(b']')
    }

    /// The row's next element, a string.
    pub(super) fn string(&mut self) -> Result<Cow<'a, str>, Malformed> {
        self.element()?;
        self.string_here()
    }

    /// The row's next element, an integer.
    pub(super) fn int(&mut self) -> Result<i64, Malformed> {
        self.element()?;
        self.int_here()
    }

    /// The row's next element, an integer or `null`.
    pub(super) fn opt_int(&mut self) -> Result<Option<i64>, Malformed> {
        self.element()?;
        if self.text.as_bytes()[self.at..].starts_with(b"null") {
            self.at += 4;
            Ok(None)
        } else {
            self.int_here().map(Some)
        }
    }

    /// The row's next element, a string or an integer.
    pub(super) fn string_or_int(&mut self) -> Result<Result<Cow<'a, str>, i64>, Malformed> {
        self.element()?;
        if self.peek() == Some(b'"') {
            self.string_here().map(Ok)
        } else {
            self.int_here().map(Err)
        }
    }

    fn string_here(&mut self) -> Result<Cow<'a, str>, Malformed> {
        self.expect(b'"')?;
        let start = self.at;
        let bytes = self.text.as_bytes();
        loop {
            match bytes.get(self.at) {
                Some(b'"') => {
                    let s = &self.text[start..self.at];
                    self.at += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => return self.escaped(start),
                Some(c) if *c < 0x20 => return Err(self.error("a control character in a string")),
                Some(_) => self.at += 1,
                None => return Err(self.error("an unterminated string")),
            }
        }
    }

    fn int_here(&mut self) -> Result<i64, Malformed> {
        let start = self.at;
        let bytes = self.text.as_bytes();
        if bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        while bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.text[start..self.at]
            .parse()
            .map_err(|_| self.error("an integer"))
    }

    /// Reads a string from its opening quote at `start - 1` that holds an escape: serde decodes it.
    fn escaped(&mut self, start: usize) -> Result<Cow<'a, str>, Malformed> {
        let bytes = self.text.as_bytes();
        while let Some(c) = bytes.get(self.at) {
            match c {
                b'\\' => self.at += 2,
                b'"' => {
                    let literal = &self.text[start - 1..=self.at];
                    self.at += 1;
                    return serde_json::from_str::<String>(literal)
                        .map(Cow::Owned)
                        .map_err(Malformed::from);
                }
                _ => self.at += 1,
            }
        }
        Err(self.error("an unterminated string"))
    }

    /// Moves to the row's next element: past the comma after the one before.
    fn element(&mut self) -> Result<(), Malformed> {
        if self.elements > 0 {
            self.expect(b',')?;
        }
        self.skip_whitespace();
        self.elements += 1;
        Ok(())
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), Malformed> {
        self.skip_whitespace();
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(&format!("`{}`", char::from(c))))
        }
    }

    fn error(&self, expected: &str) -> Malformed {
        Malformed::from(<serde_json::Error as serde::de::Error>::custom(format!(
            "expected {expected} at byte {}",
            self.at
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A row `[run, key, value]` as this reads it: the run as a JSON value, borrowed or not.
    type Row<'a> = (Value, Cow<'a, str>, Cow<'a, str>);

    fn read(text: &str) -> Result<Vec<Row<'_>>, Malformed> {
        let mut rows = Rows::new(text)?;
        let mut out = Vec::new();
        while rows.next_row()? {
            let run = match rows.string_or_int()? {
                Ok(id) => Value::from(id.into_owned()),
                Err(n) => Value::from(n),
            };
            let row = (run, rows.string()?, rows.string()?);
            rows.end_row()?;
            out.push(row);
        }
        Ok(out)
    }

    #[test]
    fn reads_strings_as_serde_does() {
        let strings = [
            "plain",
            "",
            "quote \" backslash \\ slash / ",
            "controls \u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f} del \u{7f}",
            "é日本 😀 \u{2028}",
        ];
        let mut texts = Vec::new();
        for s in strings {
            let row = serde_json::json!([[7, s, "v"], ["run", "k", s]]);
            texts.push(row.to_string());
            // PostgreSQL's spacing, and escapes serde_json does not write.
            texts.push(serde_json::to_string_pretty(&row).unwrap());
        }
        texts.push(r#"[[0, "\u00e9\ud83d\ude00\/\b\f", "x"]]"#.to_string());
        for text in &texts {
            let expected: Vec<(Value, String, String)> = serde_json::from_str(text).unwrap();
            let got = read(text).unwrap();
            assert_eq!(got.len(), expected.len(), "{text}");
            for (g, e) in got.iter().zip(&expected) {
                assert_eq!(
                    (&g.0, g.1.as_ref(), g.2.as_ref()),
                    (&e.0, e.1.as_str(), e.2.as_str())
                );
                // Borrowed only when the text held no escape, so serde writes it back unchanged.
                for s in [&g.1, &g.2] {
                    if let Cow::Borrowed(b) = s {
                        assert_eq!(serde_json::to_string(b).unwrap(), format!("\"{b}\""));
                    }
                }
            }
        }
    }

    #[test]
    fn reads_empty_texts_and_arrays() {
        for text in ["", "  ", "[]", " [ ] "] {
            assert!(read(text).unwrap().is_empty(), "{text:?}");
        }
    }

    #[test]
    fn refuses_other_shapes() {
        for bad in [
            "[[0,\"k\"]]",
            "[[0,\"k\",\"v\",\"w\"]]",
            "[[0,\"k\" \"v\"]]",
            "[[0,\"k\",\"v\"] [1,\"k\",\"v\"]]",
            "[[0,\"k\",\"v\"]] x",
            "[[0,\"k\",\"v\"]",
            "[[1.5,\"k\",\"v\"]]",
            "[[-,\"k\",\"v\"]]",
            "[[0,\"k\",\"v\n\"]]",
            "[[0,\"k\",\"v]]",
            "[[0,\"k\",\"v\\\"]]",
            "[[0,\"k\",\"\\x\"]]",
            "[[0,\"k\",null]]",
            "[[0,\"k\",nul]]",
            "{\"r\":1}",
            "[[",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
