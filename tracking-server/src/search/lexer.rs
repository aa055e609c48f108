//! Tokeniser shared by the filter and `order_by` parsers.
//!
//! MLflow runs filters through sqlparse and then inspects the token groups. The string, number
//! and name rules below follow sqlparse's lexer so that the same inputs are accepted, and so the
//! "Invalid clause(s)" message lists the same offending tokens. Everything is iterative: filters
//! arrive from the network and must not be able to exhaust the stack.

use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Ws,
    Word,
    Backtick,
    DQuote,
    SQuote,
    Number,
    Op,
    Dot,
    Comma,
    Semicolon,
    LParen,
    RParen,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub kind: Kind,
    pub start: usize,
    pub text: &'a str,
}

impl Token<'_> {
    fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

fn is_word_start(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_word_char(c: char) -> bool {
    is_word_start(c) || c == '$' || c == '#'
}

fn scan_while(src: &str, start: usize, pred: impl Fn(char) -> bool) -> usize {
    src[start..]
        .char_indices()
        .find(|&(_, c)| !pred(c))
        .map_or(src.len(), |(off, _)| start + off)
}

/// Finds the end of a quoted literal the way sqlparse's regex `q(qq|\\\\|\\q|[^q])*q` does,
/// including its backtracking: `'abc\'` is the string `abc\` because `\'` gives the quote back
/// when nothing later closes the literal. Returns the index just past the closing quote.
fn scan_quoted(b: &[u8], open: usize, q: u8, backslash_escapes: bool) -> Option<usize> {
    // Depth-first search over positions, trying alternatives in the regex's order; a position
    // that failed once fails again, which keeps this linear.
    let mut failed: HashSet<usize> = HashSet::new();
    let mut stack: Vec<(usize, u8)> = vec![(open + 1, 0)];
    while let Some(top) = stack.last_mut() {
        let (p, alternative) = *top;
        top.1 += 1;
        let at = |k: usize| b.get(p + k).copied();
        let next = match alternative {
            0 => (at(0) == Some(q) && at(1) == Some(q)).then_some(p + 2),
            1 => {
                (backslash_escapes && at(0) == Some(b'\\') && at(1) == Some(b'\\')).then_some(p + 2)
            }
            2 => (backslash_escapes && at(0) == Some(b'\\') && at(1) == Some(q)).then_some(p + 2),
            3 => at(0).is_some_and(|c| c != q).then_some(p + 1),
            4 => {
                if at(0) == Some(q) {
                    return Some(p + 1);
                }
                None
            }
            _ => {
                failed.insert(p);
                stack.pop();
                None
            }
        };
        if let Some(np) = next {
            if !failed.contains(&np) {
                stack.push((np, 0));
            }
        }
    }
    None
}

/// sqlparse's integer/float rules (with an optional leading minus); a number running straight
/// into a name character is not a number (`1abc` lexes as a name).
fn scan_number(src: &str, start: usize) -> Option<usize> {
    let b = src.as_bytes();
    let digits = |mut j: usize| {
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let mut j = start;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    let int_end = digits(j);
    if int_end > j {
        j = int_end;
        if b.get(j) == Some(&b'.') {
            j = digits(j + 1);
        }
    } else if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        j = digits(j + 1);
    } else {
        return None;
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(b.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp_end = digits(k);
        if exp_end > k {
            j = exp_end;
        }
    }
    match src.get(j..).and_then(|rest| rest.chars().next()) {
        Some(c) if is_word_char(c) => None,
        _ => Some(j),
    }
}

pub(crate) fn tokenize(src: &str) -> Vec<Token<'_>> {
    let mut out: Vec<Token<'_>> = Vec::new();
    let mut i = 0;
    while let Some(c) = src[i..].chars().next() {
        let after_name = out.last().is_some_and(|p| {
            matches!(
                p.kind,
                Kind::Word | Kind::Backtick | Kind::DQuote | Kind::SQuote
            )
        });
        let (kind, end) = lex_one(src, i, c, after_name);
        out.push(Token {
            kind,
            start: i,
            text: &src[i..end],
        });
        i = end;
    }
    out
}

/// The kind and end of the token that starts with `c` at `i`. Right after a name a dot
/// separates identifier parts (`metrics.x`); elsewhere `.5` is a number.
fn lex_one(src: &str, i: usize, c: char, after_name: bool) -> (Kind, usize) {
    let one = i + c.len_utf8();
    let quoted = |q: u8, backslash_escapes: bool, kind: Kind| {
        scan_quoted(src.as_bytes(), i, q, backslash_escapes)
            .map_or((Kind::Other, one), |end| (kind, end))
    };
    let number_or =
        |fallback: (Kind, usize)| scan_number(src, i).map_or(fallback, |end| (Kind::Number, end));
    match c {
        c if c.is_whitespace() => (Kind::Ws, scan_while(src, i, char::is_whitespace)),
        '\'' => quoted(b'\'', true, Kind::SQuote),
        '"' => quoted(b'"', true, Kind::DQuote),
        '`' => quoted(b'`', false, Kind::Backtick),
        '(' => (Kind::LParen, one),
        ')' => (Kind::RParen, one),
        ',' => (Kind::Comma, one),
        ';' => (Kind::Semicolon, one),
        '<' | '>' | '=' | '~' | '!' => (
            Kind::Op,
            scan_while(src, i, |c| matches!(c, '<' | '>' | '=' | '~' | '!')),
        ),
        '.' if after_name => (Kind::Dot, one),
        '.' => number_or((Kind::Dot, one)),
        '-' => number_or((Kind::Other, one)),
        c if c.is_ascii_digit() => number_or((Kind::Word, scan_while(src, i, is_word_char))),
        c if is_word_start(c) => (Kind::Word, scan_while(src, i, is_word_char)),
        _ => (Kind::Other, one),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    And,
    Or,
    Not,
    In,
    Is,
    Null,
    Like,
    ILike,
}

fn keyword(text: &str) -> Option<Kw> {
    const KEYWORDS: [(&str, Kw); 8] = [
        ("AND", Kw::And),
        ("OR", Kw::Or),
        ("NOT", Kw::Not),
        ("IN", Kw::In),
        ("IS", Kw::Is),
        ("NULL", Kw::Null),
        ("LIKE", Kw::Like),
        ("ILIKE", Kw::ILike),
    ];
    KEYWORDS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(text))
        .map(|&(_, kw)| kw)
}

/// A dotted name such as ``tags.`mlflow.runName` `` or a lone `"run name"`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ident<'a> {
    pub text: &'a str,
    /// The dot-separated parts as written, quotes included.
    pub parts: Vec<&'a str>,
}

impl<'a> Ident<'a> {
    /// MLflow's `identifier.split(".", 1)`: the entity and the raw text after the first dot.
    pub(super) fn split_entity(&self) -> (Option<&'a str>, &'a str) {
        match self.parts.first() {
            Some(first) if self.parts.len() > 1 => {
                let rest = self.text.get(first.len() + 1..).unwrap_or("");
                (Some(first), rest)
            }
            _ => (None, self.text),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item<'a> {
    Ident(Ident<'a>),
    Str(&'a str),
    Num(&'a str),
    Kw(Kw, &'a str),
    Op(&'a str),
    Paren {
        text: &'a str,
        inner: Vec<Token<'a>>,
    },
    Other(&'a str),
}

impl<'a> Item<'a> {
    pub(super) fn text(&self) -> &'a str {
        match self {
            Item::Ident(id) => id.text,
            Item::Str(t) | Item::Num(t) | Item::Kw(_, t) | Item::Op(t) | Item::Other(t) => t,
            Item::Paren { text, .. } => text,
        }
    }

    /// What sqlparse accepts on either side of a comparison operator.
    pub(crate) fn is_operand(&self) -> bool {
        matches!(
            self,
            Item::Ident(_)
                | Item::Str(_)
                | Item::Num(_)
                | Item::Kw(Kw::Null, _)
                | Item::Paren { .. }
        )
    }
}

fn match_parens(toks: &[Token<'_>]) -> Vec<Option<usize>> {
    let mut close = vec![None; toks.len()];
    let mut open = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            Kind::LParen => open.push(i),
            Kind::RParen => {
                if let Some(o) = open.pop() {
                    close[o] = Some(i);
                }
            }
            _ => {}
        }
    }
    close
}

/// Groups tokens into names, literals and balanced parentheses, dropping whitespace.
pub(crate) fn items(src: &str) -> Vec<Item<'_>> {
    items_from(src, &tokenize(src))
}

pub(crate) fn items_from<'a>(src: &'a str, toks: &[Token<'a>]) -> Vec<Item<'a>> {
    let close = match_parens(toks);
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&t) = toks.get(i) {
        i += 1;
        let item = match t.kind {
            Kind::Ws => continue,
            Kind::LParen => match close[i - 1] {
                Some(j) => {
                    let text = &src[t.start..toks[j].end()];
                    let inner = toks[i..j].to_vec();
                    i = j + 1;
                    Item::Paren { text, inner }
                }
                None => Item::Other(t.text),
            },
            Kind::SQuote => Item::Str(t.text),
            Kind::Number => Item::Num(t.text),
            Kind::Op => Item::Op(t.text),
            Kind::Word | Kind::Backtick | Kind::DQuote => {
                if let Some(kw) = keyword(t.text).filter(|_| t.kind == Kind::Word) {
                    out.push(Item::Kw(kw, t.text));
                    continue;
                }
                let mut parts = vec![t.text];
                let mut last = t;
                while let (Some(dot), Some(&part)) = (toks.get(i), toks.get(i + 1)) {
                    let is_part = matches!(
                        part.kind,
                        Kind::Word | Kind::Backtick | Kind::DQuote | Kind::SQuote
                    );
                    if dot.kind != Kind::Dot || !is_part {
                        break;
                    }
                    parts.push(part.text);
                    last = part;
                    i += 2;
                }
                Item::Ident(Ident {
                    text: &src[t.start..last.end()],
                    parts,
                })
            }
            _ => Item::Other(t.text),
        };
        out.push(item);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        tokenize(src)
            .into_iter()
            .filter(|t| t.kind != Kind::Ws)
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn doubled_quotes_stay_inside_one_string() {
        assert_eq!(kinds("'it''s'"), vec![(Kind::SQuote, "'it''s'")]);
    }

    #[test]
    fn backslash_escaped_quotes_stay_inside_one_string() {
        assert_eq!(
            kinds(r"'a\'b' x"),
            vec![(Kind::SQuote, r"'a\'b'"), (Kind::Word, "x")]
        );
    }

    #[test]
    fn a_trailing_backslash_quote_closes_the_string_like_sqlparse_backtracking() {
        assert_eq!(kinds(r"'abc\'"), vec![(Kind::SQuote, r"'abc\'")]);
    }

    #[test]
    fn an_unterminated_quote_becomes_a_lone_error_token() {
        assert_eq!(kinds("'abc"), vec![(Kind::Other, "'"), (Kind::Word, "abc")]);
    }

    #[test]
    fn numbers_follow_sqlparse_forms() {
        for n in ["1", "-1.5e-3", ".5", "5.", "1e5", "-0.25", "2E+3"] {
            assert_eq!(kinds(n), vec![(Kind::Number, n)], "{n}");
        }
        assert_eq!(kinds("1and"), vec![(Kind::Word, "1and")]);
    }

    #[test]
    fn dotted_and_quoted_names_form_one_identifier() {
        let it = items("tags.`mlflow.runName` metrics.\"my metric\" tags.mlflow.user");
        let texts: Vec<&str> = it.iter().map(Item::text).collect();
        assert_eq!(
            texts,
            [
                "tags.`mlflow.runName`",
                "metrics.\"my metric\"",
                "tags.mlflow.user"
            ]
        );
        match &it[2] {
            Item::Ident(id) => assert_eq!(id.split_entity(), (Some("tags"), "mlflow.user")),
            other => panic!("not an identifier: {other:?}"),
        }
    }

    #[test]
    fn keywords_after_a_dot_are_name_parts() {
        let it = items("tags.and");
        assert!(matches!(&it[..], [Item::Ident(id)] if id.parts == ["tags", "and"]));
    }

    #[test]
    fn balanced_parentheses_become_one_item_and_unbalanced_ones_stay_loose() {
        let it = items("(a) ((b)");
        let texts: Vec<&str> = it.iter().map(Item::text).collect();
        assert_eq!(texts, ["(a)", "(", "(b)"]);
    }

    #[test]
    fn long_runs_of_quotes_and_parentheses_do_not_exhaust_the_stack() {
        let quotes = "'".repeat(100_001);
        let _ = tokenize(&quotes);
        let parens = "(".repeat(50_000) + &")".repeat(50_000);
        assert_eq!(items(&parens).len(), 1);
        let backslashes = format!("'{}", "\\'".repeat(50_000));
        let _ = tokenize(&backslashes);
    }
}
