//! Tests for `filter.rs` (kept apart to hold each file under ~500 lines).

use super::*;

fn run(filter: &str) -> Vec<Clause> {
    parse_run_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"))
}

fn run_err(filter: &str) -> String {
    parse_run_filter(filter).expect_err(filter).0
}

fn exp(filter: &str) -> Vec<Clause> {
    parse_experiment_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"))
}

fn exp_err(filter: &str) -> String {
    parse_experiment_filter(filter).expect_err(filter).0
}

fn clause(entity: Entity, key: &str, comparator: Comparator, value: FilterValue) -> Clause {
    Clause {
        entity,
        key: key.into(),
        comparator,
        value,
    }
}

fn s(v: &str) -> FilterValue {
    FilterValue::Str(v.into())
}

#[test]
fn empty_and_whitespace_filters_yield_no_clauses() {
    assert!(run("").is_empty());
    assert!(run(" \t\n ").is_empty());
    assert!(exp("  ").is_empty());
}

#[test]
fn metric_and_param_conjunction_parses() {
    assert_eq!(
        run("metrics.rmse < 1 and params.model = 'rf'"),
        vec![
            clause(
                Entity::Metric,
                "rmse",
                Comparator::Lt,
                FilterValue::Num(1.0)
            ),
            clause(Entity::Param, "model", Comparator::Eq, s("rf")),
        ]
    );
}

#[test]
fn backticked_tag_key_is_unquoted() {
    assert_eq!(
        run("tags.`mlflow.runName` = 'x'"),
        vec![clause(
            Entity::Tag,
            "mlflow.runName",
            Comparator::Eq,
            s("x")
        )]
    );
}

#[test]
fn double_quoted_and_dotted_keys_are_unquoted() {
    assert_eq!(run("metrics.\"my metric\" > 0")[0].key, "my metric");
    assert_eq!(run("tags.mlflow.user = 'me'")[0].key, "mlflow.user");
    assert_eq!(run("params.'odd key' = 'v'")[0].key, "odd key");
}

#[test]
fn run_id_in_list_parses() {
    assert_eq!(
        run("attributes.run_id IN ('a', 'b')"),
        vec![clause(
            Entity::Attribute,
            "run_id",
            Comparator::In,
            FilterValue::List(vec!["a".into(), "b".into()])
        )]
    );
    assert_eq!(run("run_id not in ('a')")[0].comparator, Comparator::NotIn);
}

#[test]
fn like_pattern_is_kept_verbatim() {
    assert_eq!(
        run("params.x LIKE '%a%'"),
        vec![clause(Entity::Param, "x", Comparator::Like, s("%a%"))]
    );
    assert_eq!(run("tags.x ilike 'A_b'")[0].comparator, Comparator::ILike);
}

#[test]
fn negative_exponent_metric_value_parses() {
    assert_eq!(
        run("metrics.loss >= -1.5e-3"),
        vec![clause(
            Entity::Metric,
            "loss",
            Comparator::Ge,
            FilterValue::Num(-1.5e-3)
        )]
    );
    for (text, n) in [
        ("5.", 5.0),
        (".5", 0.5),
        ("-.5", -0.5),
        ("1E3", 1000.0),
        ("0", 0.0),
    ] {
        assert_eq!(
            run(&format!("metrics.m = {text}"))[0].value,
            FilterValue::Num(n),
            "{text}"
        );
    }
}

#[test]
fn every_entity_alias_normalises() {
    let cases = [
        ("metric.a > 1", Entity::Metric),
        ("metrics.a > 1", Entity::Metric),
        ("parameter.a = 'x'", Entity::Param),
        ("parameters.a = 'x'", Entity::Param),
        ("param.a = 'x'", Entity::Param),
        ("params.a = 'x'", Entity::Param),
        ("tag.a = 'x'", Entity::Tag),
        ("tags.a = 'x'", Entity::Tag),
        ("attribute.status = 'x'", Entity::Attribute),
        ("attributes.status = 'x'", Entity::Attribute),
        ("attr.status = 'x'", Entity::Attribute),
        ("run.status = 'x'", Entity::Attribute),
        ("status = 'x'", Entity::Attribute),
        ("dataset.name = 'x'", Entity::Dataset),
        ("datasets.name = 'x'", Entity::Dataset),
        ("`metrics`.a > 1", Entity::Metric),
    ];
    for (filter, entity) in cases {
        assert_eq!(run(filter)[0].entity, entity, "{filter}");
    }
}

#[test]
fn entity_names_are_case_sensitive() {
    assert_eq!(
        run_err("Metrics.a > 1"),
        "Invalid entity type 'Metrics'. Valid values are ['metric', 'parameter', 'tag', \
         'attribute', 'dataset']"
    );
}

#[test]
fn attribute_aliases_become_canonical_keys() {
    assert_eq!(run("created > 5")[0].key, "start_time");
    assert_eq!(run("attributes.Created > 5")[0].key, "start_time");
    for alias in ["`run name`", "\"Run name\"", "attributes.`Run Name`"] {
        assert_eq!(run(&format!("{alias} = 'x'"))[0].key, "run_name", "{alias}");
    }
    for key in ["run_id", "run_name", "status", "artifact_uri", "user_id"] {
        assert_eq!(run(&format!("attributes.{key} = 'x'"))[0].value, s("x"));
    }
    for key in ["start_time", "end_time"] {
        assert_eq!(
            run(&format!("attribute.{key} >= 10"))[0].value,
            FilterValue::Num(10.0)
        );
    }
}

#[test]
fn unknown_attribute_names_the_key() {
    let e = run_err("attributes.foo = 'x'");
    assert!(
        e.starts_with("Invalid attribute key 'foo' specified. Valid keys are '{'run_id'"),
        "{e}"
    );
    assert!(exp_err("lifecycle_stage = 'x'").starts_with("Invalid attribute key 'lifecycle_stage'"));
}

#[test]
fn numeric_attributes_need_numbers() {
    assert_eq!(
        run_err("attributes.start_time > '1'"),
        "Expected numeric value type for numeric attribute: start_time. Found '1'"
    );
    assert_eq!(
        run_err("created > '1'"),
        "Expected numeric value type for numeric attribute: created. Found '1'"
    );
    assert!(run_err("end_time LIKE 5").starts_with("Invalid comparator 'LIKE' not one of"));
}

#[test]
fn string_values_must_be_quoted() {
    assert_eq!(
        run_err("attributes.status = FINISHED"),
        "Parameter value is either not quoted or unidentified quote types used for string value \
         FINISHED. Use either single or double quotes."
    );
    assert_eq!(
        run_err("attributes.status = 1"),
        "Expected a quoted string value for attributes. Got value 1"
    );
    assert_eq!(
        run_err("params.a = 1"),
        "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 1"
    );
    assert_eq!(
        run_err("tags.a = NULL"),
        "Expected a quoted string value for tag (e.g. 'my-value'). Got value NULL"
    );
    assert_eq!(run("params.a = \"dq\"")[0].value, s("dq"));
}

#[test]
fn lists_are_only_for_run_id_and_datasets() {
    assert_eq!(
        run_err("attributes.status IN ('a')"),
        "Only the 'run_id' attribute supports comparison with a list of quoted string values."
    );
    assert_eq!(
        run_err("params.a IN ('a')"),
        "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('a')"
    );
    assert_eq!(
        run_err("metrics.a IN ('a')"),
        "Expected numeric value type for metric. Found ('a')"
    );
    assert_eq!(
        run("datasets.digest NOT IN ('d1', 'd2')")[0].value,
        FilterValue::List(vec!["d1".into(), "d2".into()])
    );
}

#[test]
fn lists_follow_python_literal_rules() {
    let list = |items: &[&str]| {
        FilterValue::List(items.iter().map(std::string::ToString::to_string).collect())
    };
    assert_eq!(run("run_id IN ('a')")[0].value, list(&["a"]));
    assert_eq!(run("run_id IN (\"a\", 'b')")[0].value, list(&["a", "b"]));
    assert_eq!(run("run_id IN ('a',)")[0].value, list(&["a"]));
    assert_eq!(run("run_id IN ('a' 'b', 'c')")[0].value, list(&["ab", "c"]));
    assert_eq!(run("run_id IN ('x, y')")[0].value, list(&["x, y"]));
}

#[test]
fn malformed_lists_are_rejected() {
    let empty = "While parsing a list in the query, expected a non-empty list of string values, \
                 but got empty list";
    let ill = "While parsing a list in the query, expected a non-empty list of string values, \
               but got ill-formed list.";
    assert_eq!(run_err("run_id IN ()"), empty);
    assert_eq!(run_err("run_id IN ( )"), empty);
    assert_eq!(run_err("run_id IN (,'a')"), ill);
    assert_eq!(run_err("run_id IN ('a',,'b')"), ill);
    assert_eq!(run_err("run_id IN (,)"), ill);
    assert_eq!(
        run_err("run_id IN ('a', 1)"),
        "While parsing a list in the query, expected string value, punctuation, or whitespace, \
         but got different type in list: ('a', 1)"
    );
    assert!(run_err("run_id IN (('a'))").contains("got different type in list"));
    assert!(run_err("run_id IN (a)").contains("got different type in list: (a)"));
}

#[test]
fn a_list_needs_in_or_not_in() {
    assert_eq!(
        run_err("run_id = ('a')"),
        "Invalid comparator '=' for a list of values. Use IN or NOT IN."
    );
}

#[test]
fn dataset_fields_parse_and_unknown_ones_are_named() {
    assert_eq!(
        run("datasets.name = 'iris' and dataset.context = 'train'"),
        vec![
            clause(Entity::Dataset, "name", Comparator::Eq, s("iris")),
            clause(Entity::Dataset, "context", Comparator::Eq, s("train")),
        ]
    );
    assert_eq!(
        run_err("datasets.profile = 'x'"),
        "Invalid dataset key 'profile' specified. Valid keys are '{'name', 'digest', 'context'}'"
    );
    assert!(run_err("datasets.name > 'x'").starts_with("Invalid comparator '>' not one of"));
}

#[test]
fn dangling_comparison_is_rejected() {
    assert_eq!(
        run_err("metrics.rmse <"),
        "Invalid clause(s) in filter string: 'metrics.rmse', '<'"
    );
}

#[test]
fn unknown_entity_is_named() {
    assert_eq!(
        run_err("foo.bar = 1"),
        "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', \
         'attribute', 'dataset']"
    );
}

#[test]
fn params_reject_ordering_comparators() {
    assert_eq!(
        run_err("params.x > '1'"),
        "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IS NULL', \
         'IS NOT NULL'}'"
    );
}

#[test]
fn metrics_reject_quoted_values() {
    assert_eq!(
        run_err("metrics.x = 'a'"),
        "Expected numeric value type for metric. Found 'a'"
    );
}

#[test]
fn unterminated_quote_is_rejected() {
    assert_eq!(
        run_err("params.x = 'abc"),
        "Invalid clause(s) in filter string: 'params.x', '=', ''', 'abc'"
    );
    assert!(run_err("tags.`x = 'a'").starts_with("Invalid clause(s) in filter string:"));
}

#[test]
fn or_is_rejected() {
    assert_eq!(
        run_err("a = 1 OR b = 2"),
        "Invalid clause(s) in filter string: 'OR'"
    );
    assert_eq!(
        run_err("metrics.a > 1 or metrics.b > 1"),
        "Invalid clause(s) in filter string: 'or'"
    );
}

#[test]
fn parentheses_around_a_clause_are_rejected() {
    assert_eq!(
        run_err("(params.a = '1')"),
        "Invalid clause(s) in filter string: '(params.a = '1')'"
    );
    assert_eq!(
        exp_err("(name = 'a')"),
        "Invalid clause(s) in filter string: (name = 'a')"
    );
}

#[test]
fn and_is_case_insensitive() {
    assert_eq!(
        run("metrics.a > 1 AnD metrics.b < 2 AND metrics.c = 3").len(),
        3
    );
}

#[test]
fn comparator_keywords_are_case_insensitive() {
    let got = run(
        "params.a like 'x' and params.b ILike 'y' and run_id In ('r') and \
                   run_id not IN ('s') and tags.t is null and tags.u Is Not Null",
    );
    let comparators: Vec<Comparator> = got.iter().map(|c| c.comparator).collect();
    assert_eq!(
        comparators,
        [
            Comparator::Like,
            Comparator::ILike,
            Comparator::In,
            Comparator::NotIn,
            Comparator::IsNull,
            Comparator::IsNotNull
        ]
    );
    assert_eq!(got[4].value, FilterValue::Null);
}

#[test]
fn is_null_is_for_params_and_tags_only() {
    assert_eq!(run("params.p IS NOT NULL")[0].entity, Entity::Param);
    assert!(run_err("metrics.m IS NULL").starts_with("Invalid comparator 'IS NULL' not one of"));
    assert!(run_err("attributes.status IS NULL").starts_with("Invalid comparator 'IS NULL'"));
    assert!(run_err("start_time IS NOT NULL").starts_with("Invalid comparator 'IS NOT NULL'"));
}

#[test]
fn unsupported_comparators_are_named_as_typed() {
    assert!(run_err("params.a NOT LIKE 'x'").starts_with("Invalid comparator 'NOT LIKE'"));
    assert!(run_err("metrics.a <> 1").starts_with("Invalid comparator '<>'"));
    assert!(run_err("metrics.a == 1").starts_with("Invalid comparator '=='"));
}

#[test]
fn strings_keep_spaces_keywords_commas_and_escapes_verbatim() {
    assert_eq!(
        run("params.x = 'a and b, c' and tags.y = \"it's\" and params.z = ' padded '"),
        vec![
            clause(Entity::Param, "x", Comparator::Eq, s("a and b, c")),
            clause(Entity::Tag, "y", Comparator::Eq, s("it's")),
            clause(Entity::Param, "z", Comparator::Eq, s(" padded ")),
        ]
    );
    assert_eq!(run("params.x = 'it''s'")[0].value, s("it''s"));
    assert_eq!(run(r"params.x = 'a\'b'")[0].value, s(r"a\'b"));
    assert_eq!(run("params.x = 'OR (x)'")[0].value, s("OR (x)"));
    assert_eq!(run("params.ключ = 'значение'")[0].value, s("значение"));
}

#[test]
fn non_identifier_left_side_is_rejected() {
    assert_eq!(
        run_err("'a' = 'b'"),
        "Invalid comparison clause. Expected 'Identifier' found ''a''"
    );
}

#[test]
fn stray_and_keywords_are_ignored_like_mlflow() {
    assert_eq!(run("AND metrics.a > 1 AND AND metrics.b > 2 AND").len(), 2);
}

#[test]
fn experiment_filter_parses_attributes_and_tags() {
    assert_eq!(
        exp(
            "name LIKE 'exp%' and attribute.experiment_id IN ('1', '2') and creation_time > 5 \
             and tags.team IS NULL and tag.owner != 'me'"
        ),
        vec![
            clause(Entity::Attribute, "name", Comparator::Like, s("exp%")),
            clause(
                Entity::Attribute,
                "experiment_id",
                Comparator::In,
                FilterValue::List(vec!["1".into(), "2".into()])
            ),
            clause(
                Entity::Attribute,
                "creation_time",
                Comparator::Gt,
                FilterValue::Num(5.0)
            ),
            clause(Entity::Tag, "team", Comparator::IsNull, FilterValue::Null),
            clause(Entity::Tag, "owner", Comparator::Ne, s("me")),
        ]
    );
    assert_eq!(exp("last_update_time <= 10")[0].key, "last_update_time");
    assert_eq!(exp("experiment_id = '3'")[0].value, s("3"));
}

#[test]
fn experiment_filter_rejects_what_mlflow_rejects() {
    assert_eq!(
        exp_err("attributes.name = 'a'"),
        "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')"
    );
    assert_eq!(
        exp_err("name IN ('a')"),
        "Only the 'experiment_id' attribute supports comparison with a list of quoted string \
         values."
    );
    assert_eq!(
        exp_err("creation_time > '5'"),
        "Expected numeric value type for numeric attribute: creation_time. Found '5'"
    );
    assert!(exp_err("tags.a > 'b'").starts_with("Invalid comparator '>' not one of"));
    assert!(exp_err("name IS NULL").starts_with("Invalid comparator 'IS NULL' not one of"));
    assert_eq!(
        exp_err("name = 'a' or name = 'b'"),
        "Invalid clause(s) in filter string: or"
    );
}

#[test]
fn comparator_spellings_round_trip() {
    let all = [
        Comparator::Eq,
        Comparator::Ne,
        Comparator::Gt,
        Comparator::Ge,
        Comparator::Lt,
        Comparator::Le,
        Comparator::Like,
        Comparator::ILike,
    ];
    for c in all {
        assert_eq!(
            Comparator::from_op(&RawOp::Cmp(c.as_str().to_lowercase())),
            Some(c)
        );
    }
}
