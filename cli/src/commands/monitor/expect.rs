//! Expectations on a batch before it is scored, after Delta Live Tables' `expect`, `expect_or_drop`
//! and `expect_or_fail`: a rule that only counts (`warn`), one that sets the offending rows aside
//! with the rule's name (`drop`, to `quarantine/`), and one that refuses the whole batch (`fail`),
//! because some bad data should still be scored and some must never reach the model.
//!
//! ```toml
//! [[expect]]
//! name = "price_is_a_number"
//! column = "price"
//! type = "number"          # number | string | boolean: the column is present with this type
//! policy = "fail"
//!
//! [[expect]]
//! name = "bedrooms_in_range"
//! column = "bedrooms"
//! min = 0                  # and/or max; nulls are not checked here
//! max = 20
//! policy = "drop"
//!
//! [[expect]]
//! name = "room_type_known"
//! column = "room_type"
//! in = ["Entire home/apt", "Private room"]
//! policy = "warn"
//!
//! [[expect]]
//! name = "accommodates_present"
//! column = "accommodates"
//! not_null = true
//! policy = "drop"
//! ```

use anyhow::{bail, Context};
use polars::prelude::*;
use serde::Deserialize;
use std::path::Path;

/// What a violated rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Policy {
    Warn,
    Drop,
    Fail,
}

/// The column type a `type` rule asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Kind {
    Number,
    String,
    Boolean,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Check {
    Type(Kind),
    NotNull,
    Range { min: Option<f64>, max: Option<f64> },
    In(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rule {
    pub name: String,
    pub column: String,
    pub policy: Policy,
    pub check: Check,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    expect: Vec<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    column: String,
    policy: Policy,
    #[serde(rename = "type")]
    kind: Option<Kind>,
    not_null: Option<bool>,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(rename = "in")]
    allowed: Option<Vec<String>>,
}

/// Reads the rules of `path`. Every mistake is one line naming the file and the rule.
pub(super) fn load(path: &Path) -> anyhow::Result<Vec<Rule>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read expectations `{}`", path.display()))?;
    parse(&text).with_context(|| format!("expectations `{}`", path.display()))
}

/// One line of a (possibly multi-line) parser message.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn parse(text: &str) -> anyhow::Result<Vec<Rule>> {
    let file: File = toml::from_str(text).map_err(|e| anyhow::anyhow!(one_line(&e.to_string())))?;
    let mut rules: Vec<Rule> = Vec::new();
    for (i, value) in file.expect.into_iter().enumerate() {
        let label = value.get("name").and_then(toml::Value::as_str).map_or_else(
            || format!("rule {}", i + 1),
            |n| format!("rule {} `{n}`", i + 1),
        );
        let raw: RawRule = value
            .try_into()
            .map_err(|e: toml::de::Error| anyhow::anyhow!("{label}: {}", one_line(e.message())))?;
        let check = match (raw.kind, raw.not_null, raw.min.or(raw.max), raw.allowed) {
            (Some(kind), None, None, None) => Check::Type(kind),
            (None, Some(true), None, None) => Check::NotNull,
            (None, None, Some(_), None) => Check::Range {
                min: raw.min,
                max: raw.max,
            },
            (None, None, None, Some(allowed)) => Check::In(allowed),
            (None, Some(false), None, None) => bail!("{label}: `not_null = false` checks nothing"),
            _ => bail!("{label}: give exactly one of `type`, `not_null`, `min`/`max`, `in`"),
        };
        if let Check::Range {
            min: Some(lo),
            max: Some(hi),
        } = check
        {
            if lo > hi {
                bail!("{label}: `min` {lo} is above `max` {hi}");
            }
        }
        if matches!(check, Check::Type(_)) && raw.policy == Policy::Drop {
            bail!("{label}: a `type` rule is about the whole batch, so its policy is `warn` or `fail`");
        }
        if raw.name.trim().is_empty() {
            bail!("{label}: `name` is empty");
        }
        if rules.iter().any(|r| r.name == raw.name) {
            bail!("{label}: another rule has the same name");
        }
        rules.push(Rule {
            name: raw.name,
            column: raw.column,
            policy: raw.policy,
            check,
        });
    }
    Ok(rules)
}

/// What the rules found in one batch.
#[derive(Debug)]
pub(super) struct Outcome {
    /// The rows that go on to scoring.
    pub kept: DataFrame,
    /// Rows set aside by `drop` rules: the input columns plus `expectation` and `value`.
    pub quarantined: DataFrame,
    /// Per rule, in file order: its policy, rows violating it, and rows it quarantined.
    pub counts: Vec<(String, Policy, usize, usize)>,
    /// One message per `fail` rule that fired.
    pub failures: Vec<String>,
}

/// Applies `rules` to `df`. A `drop` row is quarantined under the first `drop` rule it violates;
/// counts are over all rows, so one rule's count does not depend on the others.
pub(super) fn evaluate(rules: &[Rule], df: &DataFrame) -> anyhow::Result<Outcome> {
    let rows = df.height();
    let mut quarantine_by: Vec<Option<(usize, Option<String>)>> = vec![None; rows];
    let mut counts: Vec<(String, Policy, usize, usize)> = rules
        .iter()
        .map(|r| (r.name.clone(), r.policy, 0, 0))
        .collect();
    let mut failures = Vec::new();
    // Type rules first: a column of the wrong type is reported by its type rule, and the other
    // rules on it (a range over text) are not evaluated.
    let mut mistyped: Vec<&str> = Vec::new();
    let is_type = |r: &Rule| matches!(r.check, Check::Type(_));
    let order = (0..rules.len())
        .filter(|&i| is_type(&rules[i]))
        .chain((0..rules.len()).filter(|&i| !is_type(&rules[i])));
    for index in order {
        let rule = &rules[index];
        if !is_type(rule) && mistyped.contains(&rule.column.as_str()) {
            continue;
        }
        let violations = violations(rule, df)?;
        let n = violations.len();
        if n > 0 && is_type(rule) {
            mistyped.push(&rule.column);
        }
        if n > 0 && rule.policy == Policy::Fail {
            let first = violations[0].1.as_deref().unwrap_or("null");
            failures.push(format!(
                "expectation `{}` failed: {n} of {rows} rows of `{}` {} (first: {first})",
                rule.name,
                rule.column,
                describe(&rule.check)
            ));
        }
        if rule.policy == Policy::Drop {
            for (row, value) in violations {
                quarantine_by[row].get_or_insert((index, value));
            }
        }
        counts[index].2 = n;
    }
    let keep: BooleanChunked = quarantine_by.iter().map(|q| Some(q.is_none())).collect();
    let kept = df.filter(&keep)?;
    let dropped: BooleanChunked = quarantine_by.iter().map(|q| Some(q.is_some())).collect();
    let mut quarantined = df.filter(&dropped)?;
    let mut names = Vec::new();
    let mut values = Vec::new();
    for (index, value) in quarantine_by.into_iter().flatten() {
        counts[index].3 += 1;
        names.push(rules[index].name.clone());
        values.push(value);
    }
    quarantined.with_column(Column::new("expectation".into(), names))?;
    quarantined.with_column(Column::new("value".into(), values))?;
    Ok(Outcome {
        kept,
        quarantined,
        counts,
        failures,
    })
}

fn describe(check: &Check) -> String {
    match check {
        Check::Type(kind) => format!("is not a {kind:?} column").to_lowercase(),
        Check::NotNull => "are null".into(),
        Check::Range { min, max } => format!(
            "are outside [{}, {}]",
            min.map_or("-inf".into(), |v| v.to_string()),
            max.map_or("inf".into(), |v| v.to_string())
        ),
        Check::In(_) => "are not an allowed category".into(),
    }
}

/// The rows violating `rule`, with the offending value as text (`None` for a null).
fn violations(rule: &Rule, df: &DataFrame) -> anyhow::Result<Vec<(usize, Option<String>)>> {
    let Ok(column) = df.column(&rule.column) else {
        if matches!(rule.check, Check::Type(_)) {
            return Ok((0..df.height())
                .map(|r| (r, Some("missing column".into())))
                .collect());
        }
        bail!(
            "expectation `{}`: the batch has no column `{}`",
            rule.name,
            rule.column
        );
    };
    let dtype = column.dtype();
    let numeric = dtype.is_primitive_numeric();
    Ok(match &rule.check {
        Check::Type(kind) => {
            let ok = match kind {
                Kind::Number => numeric,
                Kind::String => matches!(dtype, DataType::String),
                Kind::Boolean => matches!(dtype, DataType::Boolean),
            };
            if ok {
                Vec::new()
            } else {
                (0..df.height())
                    .map(|r| (r, Some(dtype.to_string())))
                    .collect()
            }
        }
        Check::NotNull => {
            let nulls = column.is_null();
            let nan: Vec<bool> = if numeric {
                let f = column.cast(&DataType::Float64)?;
                f.f64()?
                    .iter()
                    .map(|v| v.is_some_and(f64::is_nan))
                    .collect()
            } else {
                vec![false; df.height()]
            };
            nulls
                .iter()
                .zip(nan)
                .enumerate()
                .filter(|(_, (null, nan))| null.unwrap_or(false) || *nan)
                .map(|(r, (null, _))| {
                    (
                        r,
                        if null.unwrap_or(false) {
                            None
                        } else {
                            Some("NaN".into())
                        },
                    )
                })
                .collect()
        }
        Check::Range { min, max } => {
            if !numeric {
                bail!(
                    "expectation `{}`: column `{}` holds {dtype}, not numbers",
                    rule.name,
                    rule.column
                );
            }
            let f = column.cast(&DataType::Float64)?;
            f.f64()?
                .iter()
                .enumerate()
                .filter_map(|(r, v)| {
                    let v = v?;
                    let outside =
                        v.is_nan() || min.is_some_and(|lo| v < lo) || max.is_some_and(|hi| v > hi);
                    outside.then(|| (r, Some(v.to_string())))
                })
                .collect()
        }
        Check::In(allowed) => {
            let text = column.cast(&DataType::String)?;
            text.str()?
                .iter()
                .enumerate()
                .filter_map(|(r, v)| {
                    let v = v?;
                    (!allowed.iter().any(|a| a == v)).then(|| (r, Some(v.to_string())))
                })
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
[[expect]]
name = "price_number"
column = "price"
type = "number"
policy = "fail"

[[expect]]
name = "bedrooms_range"
column = "bedrooms"
min = 0
max = 5
policy = "drop"

[[expect]]
name = "room_known"
column = "room_type"
in = ["Entire home/apt", "Private room"]
policy = "drop"

[[expect]]
name = "bedrooms_present"
column = "bedrooms"
not_null = true
policy = "warn"
"#;

    fn frame() -> DataFrame {
        df!(
            "price" => [100.0, 80.0, 60.0, 50.0],
            "bedrooms" => [Some(1.0), Some(9.0), None, Some(-1.0)],
            "room_type" => [Some("Entire home/apt"), Some("Boat"), Some("Boat"), None],
        )
        .unwrap()
    }

    #[test]
    fn rules_parse_with_their_kind_and_policy() {
        let rules = parse(RULES).unwrap();
        assert_eq!(rules.len(), 4);
        assert_eq!(rules[0].check, Check::Type(Kind::Number));
        assert_eq!(
            rules[1].check,
            Check::Range {
                min: Some(0.0),
                max: Some(5.0)
            }
        );
        assert_eq!(rules[1].policy, Policy::Drop);
        assert_eq!(
            rules[2].check,
            Check::In(vec!["Entire home/apt".into(), "Private room".into()])
        );
        assert_eq!(rules[3].check, Check::NotNull);
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn a_bad_rule_is_one_line_naming_the_rule() {
        let cases = [
            ("[[expect]]\nname = \"a\"\ncolumn = \"x\"\npolicy = \"explode\"\nnot_null = true\n", "rule 1 `a`"),
            ("[[expect]]\nname = \"b\"\ncolumn = \"x\"\npolicy = \"warn\"\n", "exactly one of"),
            ("[[expect]]\nname = \"c\"\ncolumn = \"x\"\npolicy = \"warn\"\nmin = 3\nmax = 1\n", "above `max`"),
            ("[[expect]]\nname = \"d\"\ncolumn = \"x\"\npolicy = \"drop\"\ntype = \"number\"\n", "`warn` or `fail`"),
            ("[[expect]]\nname = \"e\"\ncolumn = \"x\"\npolicy = \"warn\"\nnot_null = true\ncolour = 1\n", "rule 1 `e`"),
            ("[[expect]]\ncolumn = \"x\"\npolicy = \"warn\"\nnot_null = true\n", "rule 1:"),
            ("[[expect]\nname = ", "TOML"),
        ];
        for (text, wanted) in cases {
            let err = format!("{:#}", parse(text).unwrap_err());
            assert!(!err.contains('\n'), "{err}");
            if wanted != "TOML" {
                assert!(err.contains(wanted), "{text}: {err}");
            }
        }
        let dup = format!("{RULES}\n[[expect]]\nname = \"room_known\"\ncolumn = \"x\"\npolicy = \"warn\"\nnot_null = true\n");
        assert!(
            format!("{:#}", parse(&dup).unwrap_err()).contains("rule 5 `room_known`: another rule")
        );
    }

    #[test]
    fn drop_rules_quarantine_rows_under_the_first_rule_and_warn_rules_only_count() {
        let rules = parse(RULES).unwrap();
        let out = evaluate(&rules, &frame()).unwrap();
        assert!(out.failures.is_empty());
        assert_eq!(
            out.kept.height(),
            1,
            "only the first row passes both drop rules"
        );
        assert_eq!(out.quarantined.height(), 3);
        let names: Vec<_> = out
            .quarantined
            .column("expectation")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .map(str::to_string)
            .collect();
        assert_eq!(names, ["bedrooms_range", "room_known", "bedrooms_range"]);
        let values: Vec<_> = out
            .quarantined
            .column("value")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect();
        assert_eq!(
            values,
            [Some("9".into()), Some("Boat".into()), Some("-1".into())]
        );
        let counts: Vec<_> = out
            .counts
            .iter()
            .map(|(n, _, v, q)| (n.as_str(), *v, *q))
            .collect();
        assert_eq!(
            counts,
            [
                ("price_number", 0, 0),
                ("bedrooms_range", 2, 2),
                ("room_known", 2, 1),
                ("bedrooms_present", 1, 0)
            ]
        );
    }

    #[test]
    fn a_fail_rule_says_what_failed_and_a_missing_column_fails_its_type_rule() {
        let rules = parse("[[expect]]\nname = \"typed\"\ncolumn = \"room_type\"\ntype = \"number\"\npolicy = \"fail\"\n\n[[expect]]\nname = \"there\"\ncolumn = \"nope\"\ntype = \"string\"\npolicy = \"fail\"\n").unwrap();
        let out = evaluate(&rules, &frame()).unwrap();
        assert_eq!(out.failures.len(), 2);
        assert!(
            out.failures[0]
                .contains("`typed` failed: 4 of 4 rows of `room_type` is not a number column"),
            "{}",
            out.failures[0]
        );
        assert!(
            out.failures[1].contains("missing column"),
            "{}",
            out.failures[1]
        );
        let range =
            parse("[[expect]]\nname = \"r\"\ncolumn = \"room_type\"\nmin = 1\npolicy = \"warn\"\n")
                .unwrap();
        assert!(evaluate(&range, &frame())
            .unwrap_err()
            .to_string()
            .contains("not numbers"));
        // With a type rule on the column (listed after it, as a hand-written file may), the type
        // rule reports the mistake and the range rule is not evaluated.
        let both = parse(
            "[[expect]]\nname = \"r\"\ncolumn = \"room_type\"\nmin = 1\npolicy = \"warn\"\n\n[[expect]]\nname = \"t\"\ncolumn = \"room_type\"\ntype = \"number\"\npolicy = \"fail\"\n",
        )
        .unwrap();
        let out = evaluate(&both, &frame()).unwrap();
        assert_eq!(out.failures.len(), 1);
        assert!(
            out.failures[0].contains("`t` failed"),
            "{}",
            out.failures[0]
        );
        assert_eq!(out.counts[0].2, 0, "the range rule was not evaluated");
        assert_eq!(out.counts[1].2, 4);
        let absent = parse(
            "[[expect]]\nname = \"n\"\ncolumn = \"nope\"\nnot_null = true\npolicy = \"warn\"\n",
        )
        .unwrap();
        assert!(evaluate(&absent, &frame())
            .unwrap_err()
            .to_string()
            .contains("no column `nope`"));
    }
}
