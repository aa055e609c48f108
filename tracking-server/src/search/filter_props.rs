//! Property tests of the search grammar (proptest): filters generated from the grammar parse to
//! exactly the clauses they were built from, `order_by` items likewise, and arbitrary text, token
//! soup and mutations of valid filters never panic in any parser.

use super::*;
use proptest::prelude::*;

/// Keys that need no quoting: identifiers, kept clear of SQL keywords by a leading `k`.
fn plain_key() -> impl Strategy<Value = String> {
    "k[a-z0-9_]{0,8}"
}

/// Keys only backticks can carry: spaces, dots, dashes, slashes.
fn quoted_key() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9 ._/-]{0,10}[a-zA-Z0-9]"
}

/// (text as written, key as parsed)
fn key() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        plain_key().prop_map(|k| (k.clone(), k)),
        quoted_key().prop_map(|k| (format!("`{k}`"), k)),
    ]
}

/// Text that survives single quotes unchanged (MLflow does not unescape).
fn string_value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 %_.:-]{0,12}"
}

fn number() -> impl Strategy<Value = (String, f64)> {
    prop_oneof![
        any::<i32>().prop_map(|n| (n.to_string(), f64::from(n))),
        (-1_000_000i64..1_000_000, 0u32..4).prop_map(|(m, e)| {
            let text = format!("{m}e-{e}");
            let value: f64 = text.parse().unwrap();
            (text, value)
        }),
        (0u32..1000, 1u32..1000).prop_map(|(a, b)| {
            let text = format!("{a}.{b}");
            let value: f64 = text.parse().unwrap();
            (text, value)
        }),
    ]
}

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(items)
}

const NUMERIC: &[(&str, Comparator)] = &[
    ("=", Comparator::Eq),
    ("!=", Comparator::Ne),
    (">", Comparator::Gt),
    (">=", Comparator::Ge),
    ("<", Comparator::Lt),
    ("<=", Comparator::Le),
];

const STRING: &[(&str, Comparator)] = &[
    ("=", Comparator::Eq),
    ("!=", Comparator::Ne),
    ("LIKE", Comparator::Like),
    ("like", Comparator::Like),
    ("ILIKE", Comparator::ILike),
];

/// One run-filter clause: (text, the clause it must parse to).
fn run_clause() -> impl Strategy<Value = (String, Clause)> {
    let metric = (pick(&["metrics", "metric"]), key(), pick(NUMERIC), number()).prop_map(
        |(entity, (kt, k), (op, c), (nt, n))| {
            (
                format!("{entity}.{kt} {op} {nt}"),
                clause(Entity::Metric, k, c, FilterValue::Num(n)),
            )
        },
    );
    let string = (
        pick(&[
            ("params", Entity::Param),
            ("param", Entity::Param),
            ("tags", Entity::Tag),
            ("tag", Entity::Tag),
        ]),
        key(),
        pick(STRING),
        string_value(),
        any::<bool>(),
    )
        .prop_map(|((entity, e), (kt, k), (op, c), v, double)| {
            let quoted = if double {
                format!("\"{v}\"")
            } else {
                format!("'{v}'")
            };
            (
                format!("{entity}.{kt} {op} {quoted}"),
                clause(e, k, c, FilterValue::Str(v)),
            )
        });
    let null =
        (pick(&["params", "tags"]), key(), any::<bool>()).prop_map(|(entity, (kt, k), not)| {
            let e = if entity == "params" {
                Entity::Param
            } else {
                Entity::Tag
            };
            let (op, c) = if not {
                ("IS NOT NULL", Comparator::IsNotNull)
            } else {
                ("IS NULL", Comparator::IsNull)
            };
            (
                format!("{entity}.{kt} {op}"),
                clause(e, k, c, FilterValue::Null),
            )
        });
    let ids =
        (prop::collection::vec("[a-f0-9]{32}", 1..4), any::<bool>()).prop_map(|(ids, not)| {
            let list = ids
                .iter()
                .map(|i| format!("'{i}'"))
                .collect::<Vec<_>>()
                .join(", ");
            let (op, c) = if not {
                ("NOT IN", Comparator::NotIn)
            } else {
                ("IN", Comparator::In)
            };
            (
                format!("attributes.run_id {op} ({list})"),
                clause(
                    Entity::Attribute,
                    "run_id".into(),
                    c,
                    FilterValue::List(ids),
                ),
            )
        });
    prop_oneof![3 => metric, 3 => string, 1 => null, 1 => ids]
}

fn clause(entity: Entity, key: String, comparator: Comparator, value: FilterValue) -> Clause {
    Clause {
        entity,
        key,
        comparator,
        value,
    }
}

/// Pieces that matter to the lexer, for token soup.
const PIECES: &[&str] = &[
    "metrics.",
    "params.",
    "tags.",
    "attributes.",
    "datasets.",
    "run_id",
    "`",
    "'",
    "\"",
    "(",
    ")",
    ",",
    "=",
    "!=",
    "<=",
    ">",
    "LIKE",
    "ILIKE",
    "IN",
    "NOT",
    "IS",
    "NULL",
    "AND",
    "OR",
    " ",
    "1",
    "-.5e3",
    "'a'",
    "\\",
    ";",
    "\0",
    "é",
    "ASC",
    "DESC",
];

fn every_parser(input: &str) {
    let _ = parse_run_filter(input);
    let _ = parse_experiment_filter(input);
    let _ = parse_registered_model_filter(input);
    let _ = parse_model_version_filter(input);
    let items = vec![input.to_string()];
    let _ = parse_run_order_by(&items);
    let _ = parse_experiment_order_by(&items);
    let _ = parse_registered_model_order_by(&items);
    let _ = parse_model_version_order_by(&items);
    let _ = decode_page_token(Some(input));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_filters_parse_to_the_clauses_they_were_built_from(
        clauses in prop::collection::vec(run_clause(), 1..5),
        and in pick(&[" AND ", " and ", "  AND\t", " And "]),
    ) {
        let text = clauses.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(and);
        let expected: Vec<Clause> = clauses.into_iter().map(|(_, c)| c).collect();
        prop_assert_eq!(parse_run_filter(&text), Ok(expected), "{}", text);
    }

    #[test]
    fn generated_order_by_items_parse(
        (entity, e) in pick(&[("metrics", Entity::Metric), ("params", Entity::Param), ("tags", Entity::Tag)]),
        (kt, k) in key(),
        dir in pick(&["", " ASC", " DESC", " asc", " desc"]),
    ) {
        let item = format!("{entity}.{kt}{dir}");
        let parsed = parse_run_order_by(std::slice::from_ref(&item));
        let expected = vec![OrderBy { entity: e, key: k, ascending: !dir.to_ascii_lowercase().contains("desc") }];
        prop_assert_eq!(parsed, Ok(expected), "{}", item);
    }

    #[test]
    fn arbitrary_text_never_panics(input in any::<String>()) {
        every_parser(&input);
    }

    #[test]
    fn token_soup_never_panics(pieces in prop::collection::vec(pick(PIECES), 0..20)) {
        every_parser(&pieces.concat());
    }

    #[test]
    fn mutated_valid_filters_never_panic(
        (text, _) in run_clause(),
        cut in any::<prop::sample::Index>(),
        insert in pick(PIECES),
    ) {
        let at = cut.index(text.len() + 1);
        if text.is_char_boundary(at) {
            every_parser(&text[..at]);
            every_parser(&format!("{}{insert}{}", &text[..at], &text[at..]));
        }
    }
}
