//! Tests for `order_by.rs`.

use super::*;

fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

fn runs(items: &[&str]) -> Vec<OrderBy> {
    parse_run_order_by(&list(items)).unwrap_or_else(|e| panic!("{items:?}: {e}"))
}

fn runs_err(items: &[&str]) -> String {
    parse_run_order_by(&list(items)).expect_err("should fail").0
}

fn ob(entity: Entity, key: &str, ascending: bool) -> OrderBy {
    OrderBy {
        entity,
        key: key.into(),
        ascending,
    }
}

#[test]
fn run_items_parse_with_default_ascending() {
    assert_eq!(
        runs(&[
            "metrics.rmse DESC",
            "params.alpha",
            "tags.`mlflow.runName` ASC",
            "attribute.start_time",
        ]),
        vec![
            ob(Entity::Metric, "rmse", false),
            ob(Entity::Param, "alpha", true),
            ob(Entity::Tag, "mlflow.runName", true),
            ob(Entity::Attribute, "start_time", true),
        ]
    );
}

#[test]
fn created_is_an_alias_of_start_time() {
    assert_eq!(
        runs(&["created"]),
        vec![ob(Entity::Attribute, "start_time", true)]
    );
    assert_eq!(
        runs(&["Created DESC"]),
        vec![ob(Entity::Attribute, "start_time", false)]
    );
}

#[test]
fn direction_is_case_insensitive() {
    assert!(!runs(&["metrics.a desc"])[0].ascending);
    assert!(runs(&["metrics.a Asc"])[0].ascending);
    assert!(!runs(&["metrics.a DeSc"])[0].ascending);
}

#[test]
fn quoted_and_dotted_keys_are_unquoted() {
    assert_eq!(runs(&["metrics.\"my metric\" DESC"])[0].key, "my metric");
    assert_eq!(runs(&["tags.mlflow.user"])[0].key, "mlflow.user");
    assert_eq!(runs(&["`params`.`a b`"])[0], ob(Entity::Param, "a b", true));
}

#[test]
fn every_orderable_run_attribute_is_accepted() {
    for key in [
        "run_id",
        "run_name",
        "status",
        "start_time",
        "end_time",
        "artifact_uri",
        "user_id",
    ] {
        assert_eq!(runs(&[key])[0], ob(Entity::Attribute, key, true));
        assert_eq!(runs(&[&format!("attributes.{key} DESC")])[0].key, key);
    }
}

#[test]
fn surrounding_whitespace_is_rejected() {
    assert_eq!(
        runs_err(&[" metrics.a"]),
        "Invalid order_by clause ' metrics.a'. Could not be parsed."
    );
    assert_eq!(
        runs_err(&["metrics.a DESC "]),
        "Invalid order_by clause 'metrics.a DESC '. Could not be parsed."
    );
    assert_eq!(
        runs_err(&[""]),
        "Invalid order_by clause ''. Could not be parsed."
    );
}

#[test]
fn garbage_items_are_rejected() {
    for item in [
        "metrics.a DESC ASC",
        "metrics.a <",
        "(metrics.a)",
        "metrics.a, metrics.b",
        "'metrics.a'",
        "metrics.a \"DESC\"",
        "AND",
    ] {
        assert_eq!(
            runs_err(&[item]),
            format!("Invalid order_by clause '{item}'. Could not be parsed."),
        );
    }
    assert_eq!(
        runs_err(&["metrics.a foo"]),
        "Invalid ordering key in order_by clause 'metrics.a foo'."
    );
}

#[test]
fn the_same_field_twice_is_rejected() {
    assert_eq!(
        runs_err(&["metrics.a", "metrics.a DESC"]),
        "`order_by` contains duplicate fields: ['metrics.a', 'metrics.a DESC']"
    );
    assert!(runs_err(&["start_time", "created DESC"]).starts_with("`order_by` contains duplicate"));
    assert_eq!(runs(&["metrics.a", "params.a", "tags.a"]).len(), 3);
}

#[test]
fn bad_entities_and_attributes_are_named() {
    assert_eq!(
        runs_err(&["foo.bar"]),
        "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', \
         'attribute', 'dataset']"
    );
    assert!(runs_err(&["attributes.foo"])
        .starts_with("Invalid attribute key 'foo' specified. Valid keys are '{'run_id'"));
    assert!(runs_err(&["lifecycle_stage DESC"]).starts_with("Invalid attribute key"));
    assert_eq!(
        runs_err(&["datasets.name"]),
        "Invalid order_by entity type 'dataset'"
    );
}

#[test]
fn empty_lists_give_no_ordering() {
    assert!(runs(&[]).is_empty());
    assert!(parse_experiment_order_by(&[]).unwrap().is_empty());
}

#[test]
fn experiment_keys_parse_and_others_are_rejected() {
    let got = parse_experiment_order_by(&list(&[
        "name",
        "experiment_id DESC",
        "attribute.creation_time ASC",
        "last_update_time desc",
    ]))
    .unwrap();
    assert_eq!(
        got,
        vec![
            ob(Entity::Attribute, "name", true),
            ob(Entity::Attribute, "experiment_id", false),
            ob(Entity::Attribute, "creation_time", true),
            ob(Entity::Attribute, "last_update_time", false),
        ]
    );
    let err = |items: &[&str]| parse_experiment_order_by(&list(items)).unwrap_err().0;
    assert_eq!(err(&["tags.a"]), "Invalid order_by entity: tag");
    assert!(err(&["attributes.name"]).starts_with("Invalid entity type 'attributes'"));
    assert!(err(&["start_time"]).starts_with("Invalid attribute key 'start_time' specified"));
    assert!(err(&["name", "name DESC"]).starts_with("`order_by` contains duplicate fields"));
    assert!(err(&[" name"]).starts_with("Invalid order_by clause ' name'"));
}

#[test]
fn registered_model_timestamp_means_last_updated() {
    let got = parse_registered_model_order_by(&list(&["timestamp DESC", "name"])).unwrap();
    assert_eq!(
        got,
        vec![
            ob(Entity::Attribute, "last_updated_timestamp", false),
            ob(Entity::Attribute, "name", true),
        ]
    );
    let got = parse_registered_model_order_by(&list(&["creation_timestamp"])).unwrap();
    assert_eq!(got[0].key, "creation_timestamp");
    let err = |items: &[&str]| parse_registered_model_order_by(&list(items)).unwrap_err().0;
    assert!(err(&["timestamp", "last_updated_timestamp DESC"]).starts_with("`order_by` contains"));
    assert_eq!(
        err(&["version"]),
        "Invalid order by key 'version' specified. Valid keys are '{'name', 'timestamp', \
         'creation_timestamp', 'last_updated_timestamp'}'"
    );
    assert_eq!(err(&["tags.a DESC"]), "Invalid order_by entity: tag");
}

#[test]
fn model_version_keys_parse_and_others_are_rejected() {
    let got = parse_model_version_order_by(&list(&[
        "name",
        "version_number DESC",
        "creation_timestamp",
        "attribute.last_updated_timestamp ASC",
    ]))
    .unwrap();
    let keys: Vec<(&str, bool)> = got.iter().map(|o| (o.key.as_str(), o.ascending)).collect();
    assert_eq!(
        keys,
        [
            ("name", true),
            ("version_number", false),
            ("creation_timestamp", true),
            ("last_updated_timestamp", true)
        ]
    );
    let err = |items: &[&str]| parse_model_version_order_by(&list(items)).unwrap_err().0;
    assert!(err(&["version"]).starts_with("Invalid attribute key 'version' specified"));
    assert_eq!(err(&["tag.a"]), "Invalid order_by entity: tag");
}
