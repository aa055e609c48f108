//! Metric keys made from data: column names and skip reasons are the user's, and MLflow refuses a
//! key whose path form changes when normalised (`a//b`, `a/../b`, a trailing `/`). A column must
//! never make a run fail to log, so every key built from data goes through here.

/// `prefix` + `name` with every character MLflow does not allow in a key, and `/` (which would
/// make the name a path), replaced by `_`.
pub(crate) fn metric_key(prefix: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "_-. ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}{clean}")
}

#[cfg(test)]
mod tests {
    use super::metric_key;
    use protocol::names::{EntityKey, KeyKind};

    #[test]
    fn any_column_name_makes_a_key_the_server_accepts() {
        for name in [
            "a//b",
            "a/../b",
            "trail/",
            "/lead",
            "..",
            "naïve price",
            "a:b|c",
            "x\u{0}y",
        ] {
            let key = metric_key("drift.score.", name);
            assert!(
                EntityKey::parse(KeyKind::Metric, key.clone()).is_ok(),
                "{name:?} -> {key:?}"
            );
        }
        assert_eq!(
            metric_key("rows_skipped.column.", "room_type"),
            "rows_skipped.column.room_type"
        );
        assert_eq!(metric_key("p.", "a//b"), "p.a__b");
    }
}
