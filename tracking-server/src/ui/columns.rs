//! The runs table's columns and options: which params, metrics and tags are shown, and how the
//! page's query string (filter, order, paging, columns) is read and rebuilt into links.

use super::format::number;
use super::{enc, Fields};
use crate::search::Entity;
use protocol::{Run, ViewType};
use std::collections::HashSet;
use std::fmt::Write as _;

const DEFAULT_PAGE: u64 = 100;
const MAX_PAGE: u64 = 1000;

/// A param, metric or tag shown as a column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Column {
    pub kind: Kind,
    pub key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    Metric,
    Param,
    Tag,
}

impl Kind {
    pub(super) fn prefix(self) -> &'static str {
        match self {
            Kind::Metric => "metrics",
            Kind::Param => "params",
            Kind::Tag => "tags",
        }
    }

    pub(super) fn entity(self) -> Entity {
        match self {
            Kind::Metric => Entity::Metric,
            Kind::Param => Entity::Param,
            Kind::Tag => Entity::Tag,
        }
    }
}

impl Column {
    /// `metrics.rmse`, `params.lr`, `tags.team` (singular prefixes accepted too).
    pub(super) fn parse(text: &str) -> Option<Self> {
        let (prefix, key) = text.split_once('.')?;
        let kind = match prefix {
            "metrics" | "metric" => Kind::Metric,
            "params" | "param" => Kind::Param,
            "tags" | "tag" => Kind::Tag,
            _ => return None,
        };
        let key = key.trim_matches('`');
        (!key.is_empty()).then(|| Self {
            kind,
            key: key.to_string(),
        })
    }

    pub(super) fn id(&self) -> String {
        format!("{}.{}", self.kind.prefix(), self.key)
    }

    /// The cell text for a run (metrics rounded for the table).
    pub(super) fn value(&self, run: &Run) -> String {
        let d = &run.data;
        match self.kind {
            Kind::Metric => d
                .metrics
                .iter()
                .find(|m| m.key == self.key)
                .map(|m| number(m.value)),
            Kind::Param => d
                .params
                .iter()
                .find(|p| p.key == self.key)
                .map(|p| p.value.clone()),
            Kind::Tag => tag(run, &self.key).map(String::from),
        }
        .unwrap_or_default()
    }
}

pub(crate) fn tag<'a>(run: &'a Run, key: &str) -> Option<&'a str> {
    run.data
        .tags
        .iter()
        .find(|t| t.key == key)
        .map(|t| t.value.as_str())
}

/// Options of the runs page, from its query string; links are rebuilt from them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    pub filter: String,
    pub order: String,
    pub offset: u64,
    pub size: u64,
    pub view: &'static str,
    pub columns: Option<Vec<Column>>,
}

impl Options {
    pub(super) fn from(fields: &Fields) -> Self {
        let mut picked: Vec<Column> = fields
            .list("columns")
            .iter()
            .chain(fields.all("col"))
            .filter_map(|c| Column::parse(c))
            .collect();
        let mut seen = HashSet::new();
        picked.retain(|c| seen.insert(c.clone()));
        let explicit = !fields.all("columns").is_empty() || !fields.all("col").is_empty();
        Self {
            filter: fields.get("filter").unwrap_or("").to_string(),
            order: fields.get("order").unwrap_or("").to_string(),
            offset: fields
                .get("offset")
                .and_then(|o| o.parse().ok())
                .unwrap_or(0),
            size: fields
                .get("size")
                .and_then(|o| o.parse().ok())
                .unwrap_or(DEFAULT_PAGE)
                .clamp(1, MAX_PAGE),
            view: match fields.get("view") {
                Some("deleted") => "deleted",
                Some("all") => "all",
                _ => "active",
            },
            columns: explicit.then_some(picked),
        }
    }

    pub(super) fn view_type(&self) -> ViewType {
        match self.view {
            "deleted" => ViewType::DeletedOnly,
            "all" => ViewType::All,
            _ => ViewType::ActiveOnly,
        }
    }

    /// The query string for these options with some fields replaced.
    pub(super) fn query(
        &self,
        order: Option<&str>,
        offset: Option<u64>,
        columns: &[Column],
    ) -> String {
        let cols: Vec<String> = columns.iter().map(Column::id).collect();
        let mut q = format!(
            "filter={}&order={}&view={}&columns={}",
            enc(&self.filter),
            enc(order.unwrap_or(&self.order)),
            self.view,
            enc(&cols.join(",")),
        );
        if self.size != DEFAULT_PAGE {
            let _ = write!(q, "&size={}", self.size);
        }
        let offset = offset.unwrap_or(self.offset);
        if offset > 0 {
            let _ = write!(q, "&offset={offset}");
        }
        q
    }
}
