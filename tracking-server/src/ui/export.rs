//! CSV export of an experiment's runs: every run the filter matches (children included), streamed a
//! page at a time so that 10,000 runs never sit in memory as one document.

use super::columns::{tag, Column, Kind, Options};
use super::format::exact;
use super::{Fields, UiResult};
use crate::search::{parse_run_filter, parse_run_order_by};
use crate::state::AppState;
use crate::store::RunSearch;
use crate::validation::experiment_id;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use protocol::tags::PARENT_RUN_ID as PARENT_TAG;
use protocol::Run;

/// Runs read from the store per chunk of the response.
const CHUNK: u64 = 1000;

/// RFC 4180 quoting; text that a spreadsheet would run as a formula gets a leading `'`.
fn field(out: &mut String, value: &str) {
    let formula = value.starts_with(['=', '+', '-', '@']) && value.parse::<f64>().is_err();
    let value = if formula {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&value);
    }
}

fn line(fields: impl IntoIterator<Item = String>) -> String {
    let mut out = String::new();
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(&mut out, &f);
    }
    out.push('\n');
    out
}

const FIXED: [&str; 9] = [
    "run_id",
    "run_name",
    "status",
    "user_id",
    "start_time",
    "end_time",
    "duration_ms",
    "source",
    "parent_run_id",
];

fn run_line(run: &Run, columns: &[Column]) -> String {
    let i = &run.info;
    let exact_value = |c: &Column| match c.kind {
        Kind::Metric => run
            .data
            .metrics
            .iter()
            .find(|m| m.key == c.key)
            .map(|m| exact(m.value))
            .unwrap_or_default(),
        _ => c.value(run),
    };
    let fixed = [
        i.run_id.clone(),
        i.run_name.clone(),
        i.status.as_str().to_string(),
        i.user_id.clone(),
        i.start_time.to_string(),
        i.end_time.map(|e| e.to_string()).unwrap_or_default(),
        i.end_time
            .map(|e| (e - i.start_time).to_string())
            .unwrap_or_default(),
        tag(run, "mlflow.source.name").unwrap_or("").to_string(),
        tag(run, PARENT_TAG).unwrap_or("").to_string(),
    ];
    line(fixed.into_iter().chain(columns.iter().map(exact_value)))
}

pub(crate) async fn csv(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> UiResult<Response> {
    let opts = Options::from(&Fields::query(query.as_deref()));
    let exp_id = experiment_id(&id)?;
    s.store.get_experiment(exp_id).await?;
    let order_by = if opts.order.is_empty() {
        Vec::new()
    } else {
        parse_run_order_by(std::slice::from_ref(&opts.order))?
    };
    let search = RunSearch {
        experiment_ids: vec![exp_id],
        filter: parse_run_filter(&opts.filter)?,
        order_by,
        view: opts.view_type(),
        max_results: CHUNK,
        offset: 0,
    };
    let columns = if let Some(c) = opts.columns.filter(|c| !c.is_empty()) {
        c
    } else {
        let keys = s.store.run_keys(&[exp_id], search.view).await?;
        let col = |kind| move |key: String| Column { kind, key };
        keys.params
            .into_iter()
            .map(col(Kind::Param))
            .chain(keys.metrics.into_iter().map(col(Kind::Metric)))
            .chain(keys.tags.into_iter().map(col(Kind::Tag)))
            .collect()
    };
    let header = line(
        FIXED
            .iter()
            .map(|f| (*f).to_string())
            .chain(columns.iter().map(Column::id)),
    );
    let store = s.store.clone();
    let state = (Some(search), columns, Some(header));
    let stream = futures_util::stream::unfold(state, move |(search, columns, header)| {
        let store = store.clone();
        async move {
            if let Some(h) = header {
                return Some((Ok(Bytes::from(h)), (search, columns, None)));
            }
            let search = search?;
            match store.search_runs(&search).await {
                Ok(page) => {
                    let mut chunk = String::with_capacity(page.items.len() * 256);
                    for run in &page.items {
                        chunk.push_str(&run_line(run, &columns));
                    }
                    let next = page
                        .next_offset
                        .map(|offset| RunSearch { offset, ..search });
                    Some((Ok(Bytes::from(chunk)), (next, columns, None)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "CSV export stopped");
                    Some((
                        Err(std::io::Error::other(e.to_string())),
                        (None, columns, None),
                    ))
                }
            }
        }
    });
    let name = format!("experiment-{exp_id}-runs.csv");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(
            line(["a".into(), "b,c".into(), "say \"hi\"".into()]),
            "a,\"b,c\",\"say \"\"hi\"\"\"\n"
        );
    }

    #[test]
    fn formulas_are_defused_but_negative_numbers_are_not() {
        assert_eq!(line(["=1+1".into(), "-0.5".into()]), "'=1+1,-0.5\n");
    }
}
