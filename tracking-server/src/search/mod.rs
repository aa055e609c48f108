//! MLflow's search grammar: filter strings, `order_by` items and page tokens.
//!
//! The reference server tokenises filters with sqlparse and then applies the checks in
//! `mlflow/utils/search_utils.py`. Clients and MLflow's own tests match its error texts as
//! substrings, so this module reproduces the part of sqlparse's lexer that decides what is
//! accepted (string, number and name rules), and reuses MLflow's messages wherever it has one.
//! Nothing here builds SQL: the store compiles the parsed [`Clause`]s and [`OrderBy`]s.

mod clause;
mod error;
pub mod filter;
mod lexer;
mod logged_model_filter;
pub mod order_by;
pub mod page_token;
pub(crate) mod pyrepr;
mod registry_filter;
mod statement;
mod values;

#[cfg(test)]
mod filter_props;

pub use clause::*;
pub use error::SearchError;
pub use filter::*;
pub use logged_model_filter::parse_logged_model_filter;
pub use order_by::*;
pub use page_token::*;
pub use registry_filter::{parse_model_version_filter, parse_registered_model_filter};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_bare_message() {
        let e = SearchError::new("Invalid page token, could not base64-decode");
        assert_eq!(e.to_string(), "Invalid page token, could not base64-decode");
    }

    #[test]
    fn error_is_usable_as_a_boxed_std_error() {
        let boxed: Box<dyn std::error::Error> = Box::new(SearchError::new("x"));
        assert_eq!(boxed.to_string(), "x");
    }

    #[test]
    fn public_api_is_reachable_from_the_module_root() {
        let clauses: Vec<Clause> = parse_run_filter("metrics.a > 1").unwrap();
        assert_eq!(clauses[0].entity, Entity::Metric);
        let _: Vec<Clause> = parse_experiment_filter("").unwrap();
        let _: Vec<Clause> = parse_registered_model_filter("").unwrap();
        let _: Vec<Clause> = parse_model_version_filter("").unwrap();
        let ob: Vec<OrderBy> = parse_run_order_by(&["created".to_string()]).unwrap();
        assert_eq!(ob[0].key, "start_time");
        let _ = parse_experiment_order_by(&[]).unwrap();
        let _ = parse_registered_model_order_by(&[]).unwrap();
        let _ = parse_model_version_order_by(&[]).unwrap();
        assert_eq!(decode_page_token(Some(&encode_page_token(7))).unwrap(), 7);
        // The registry parsers are also reachable through `filter`, where callers may look.
        let _ = registry_filter::parse_registered_model_filter("name = 'a'").unwrap();
        let _ = registry_filter::parse_model_version_filter("name = 'a'").unwrap();
    }

    /// xorshift64*: enough randomness for fuzzing without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap()
        }
    }

    /// Runs every parser on `input`; any panic, or a clause whose value does not fit its
    /// comparator (which the store would have to guard against), fails with the input shown.
    fn feed_all(input: &str) {
        let outcome = std::panic::catch_unwind(|| {
            let parsed = [
                parse_run_filter(input),
                parse_experiment_filter(input),
                parse_registered_model_filter(input),
                parse_model_version_filter(input),
            ];
            for clause in parsed.iter().flatten().flatten() {
                let c = clause.comparator;
                let is_list = matches!(clause.value, FilterValue::List(_));
                let is_null = matches!(clause.value, FilterValue::Null);
                assert_eq!(is_list, matches!(c, Comparator::In | Comparator::NotIn));
                assert_eq!(
                    is_null,
                    matches!(c, Comparator::IsNull | Comparator::IsNotNull)
                );
            }
            let items = vec![input.to_string()];
            let _ = parse_run_order_by(&items);
            let _ = parse_experiment_order_by(&items);
            let _ = parse_registered_model_order_by(&items);
            let _ = parse_model_version_order_by(&items);
            let _ = decode_page_token(Some(input));
        });
        assert!(outcome.is_ok(), "parser panicked on {input:?}");
    }

    const VALID: &[&str] = &[
        "metrics.rmse < 1 and params.model = 'rf'",
        "tags.`mlflow.runName` = 'x'",
        "attributes.run_id IN ('a', 'b')",
        "params.x LIKE '%a%'",
        "metrics.loss >= -1.5e-3",
        "run_id NOT IN ('a') AND tags.t IS NOT NULL AND params.p is null",
        "metrics.\"my metric\" > .5 and datasets.name IN ('iris')",
        "params.x = 'it''s' and tags.y = \"a\\\"b\" and params.z = 'a\\'b'",
        "name LIKE '%x%' AND tag.`mlflow.prompt.is_prompt` != 'true'",
        "version_number >= 3 and run_id IN ('r1','r2')",
        "tags.`mlflow.runName` ASC",
        "eyJvZmZzZXQiOiAxMH0=",
    ];

    #[test]
    fn truncations_of_valid_filters_never_panic() {
        for filter in VALID {
            for (i, _) in filter.char_indices() {
                feed_all(&filter[..i]);
                feed_all(&filter[i..]);
            }
        }
    }

    #[test]
    fn random_inputs_never_panic() {
        // Single characters that matter to the lexer, then whole words and fragments.
        const CHARS: &str = "'\"`(),;.-=!<>~ \\\naZ09e_$#%éü\0+/";
        const WORDS: &str = "AND or NOT in IS NULL like ILIKE ASC desc metrics. params. tags. \
                             attributes. datasets. run_id start_time name 1.5e -. '' \\' ()";
        let pieces: Vec<String> = CHARS
            .chars()
            .map(String::from)
            .chain(WORDS.split_whitespace().map(String::from))
            .collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..20_000 {
            let len = rng.below(24);
            let input = if round % 4 == 0 {
                let bytes: Vec<u8> = (0..len * 2).map(|_| rng.next().to_le_bytes()[3]).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                (0..len)
                    .map(|_| pieces[rng.below(pieces.len())].as_str())
                    .collect()
            };
            feed_all(&input);
            let valid = VALID[rng.below(VALID.len())];
            let cut = rng.below(valid.len() + 1);
            if let Some(prefix) = valid.get(..cut) {
                feed_all(&format!("{prefix}{input}"));
            }
        }
    }
}
