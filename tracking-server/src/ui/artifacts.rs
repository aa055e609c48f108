//! A run's artifacts: the file tree, previews (text, JSON, CSV as a table, images, HTML reports in a
//! sandboxed frame) and downloads.
//!
//! Files are read through the artifact proxy's store, so runs whose artifacts are in an object store
//! (`--artifacts-destination s3://…`) browse like local ones. Paths are checked as the API checks
//! them (`validate_artifact_path`, then the store's own resolution, which also refuses symlinks out
//! of its root); a run with a local `file://` root gets the same lexical check plus a
//! canonical-path check against that root. Raw files are served with a
//! `sandbox` Content-Security-Policy, so an HTML report cannot run script or reach our origin.

use super::format::bytes;
use super::{render, Fields, Nav, UiError, UiResult};
use crate::artifact_source::{ArtifactSource as Source, Kind};
use crate::artifacts::Download;
use crate::error::ApiError;
use crate::state::AppState;
use crate::validation::{validate_artifact_path, validate_run_id};
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use futures_util::StreamExt;
use protocol::{FileInfo, Run};
use std::fmt::Write as _;

/// Entries listed in a tree before it says "more not shown".
const MAX_TREE_ENTRIES: usize = 400;
const MAX_TREE_DEPTH: usize = 6;
/// Bytes of a file read for a text preview.
const MAX_PREVIEW: u64 = 512 * 1024;
const MAX_CSV_ROWS: usize = 200;

pub(crate) struct Entry {
    pub path: String,
    pub href: String,
    pub name: String,
    pub is_dir: bool,
    pub size: String,
    pub depth: usize,
}

/// The whole tree, depth first, directories before their contents.
pub(crate) async fn tree(s: &AppState, run: &Run) -> Result<(Vec<Entry>, bool), UiError> {
    let Some(source) = Source::of_uri(s, &run.info.artifact_uri) else {
        return Ok((Vec::new(), false));
    };
    let mut out = Vec::new();
    let mut stack: Vec<(String, usize)> = vec![(String::new(), 0)];
    let mut truncated = false;
    while let Some((dir, depth)) = stack.pop() {
        let files: Vec<FileInfo> = source.list(s, &dir).await?;
        let mut subdirs = Vec::new();
        let insert_at = out
            .iter()
            .position(|e: &Entry| e.path == dir)
            .map_or(out.len(), |i| i + 1);
        let mut batch = Vec::new();
        for f in files {
            let path = if dir.is_empty() {
                f.path.clone()
            } else {
                format!("{dir}/{}", f.path)
            };
            if f.is_dir && depth + 1 < MAX_TREE_DEPTH {
                subdirs.push((path.clone(), depth + 1));
            }
            batch.push(Entry {
                href: format!(
                    "/runs/{}/artifacts?path={}",
                    run.info.run_id,
                    super::enc(&path)
                ),
                name: f.path,
                path,
                is_dir: f.is_dir,
                size: f.file_size.map(bytes).unwrap_or_default(),
                depth,
            });
        }
        if out.len() + batch.len() > MAX_TREE_ENTRIES {
            truncated = true;
            batch.truncate(MAX_TREE_ENTRIES.saturating_sub(out.len()));
            subdirs.clear();
        }
        out.splice(insert_at..insert_at, batch);
        stack.extend(subdirs.into_iter().rev());
    }
    Ok((out, truncated))
}

/// What the preview pane shows for a file.
pub(crate) enum Preview {
    None,
    Text(String),
    Table(Vec<Vec<String>>),
    Image(String),
    Html(String),
    Binary,
}

fn extension(path: &str) -> String {
    path.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// A small CSV reader: quoted fields with doubled quotes, commas or tabs.
fn parse_csv(text: &str, sep: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (c, false) if c == sep => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                if rows.len() > MAX_CSV_ROWS {
                    return rows;
                }
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// The first [`MAX_PREVIEW`] bytes of a download, and its whole length.
async fn read_head((mut stream, len): Download) -> Result<(Vec<u8>, u64), ApiError> {
    let limit = usize::try_from(MAX_PREVIEW).unwrap_or(usize::MAX);
    let mut buf = Vec::new();
    while buf.len() < limit {
        match stream.next().await {
            Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
            Some(Err(e)) => {
                return Err(ApiError::internal(format!(
                    "Could not read the artifact: {e}"
                )))
            }
            None => break,
        }
    }
    buf.truncate(limit);
    Ok((buf, len))
}

async fn preview(
    s: &AppState,
    source: &Source,
    rel: &str,
    raw_url: &str,
) -> Result<Preview, ApiError> {
    let ext = extension(rel);
    let name = rel.rsplit('/').next().unwrap_or(rel);
    match ext.as_str() {
        "png" | "jpg" | "jpeg" | "gif" | "svg" | "webp" => {
            return Ok(Preview::Image(raw_url.into()))
        }
        "html" | "htm" => return Ok(Preview::Html(raw_url.into())),
        _ => {}
    }
    let (head, len) = read_head(source.open(s, rel).await?).await?;
    let Ok(text) = std::str::from_utf8(&head).or_else(|e| {
        // A cut in the middle of a character is not binary.
        std::str::from_utf8(&head[..e.valid_up_to()])
            .map_err(|_| e)
            .and_then(|t| {
                if head.len() - e.valid_up_to() < 4 {
                    Ok(t)
                } else {
                    Err(e)
                }
            })
    }) else {
        return Ok(Preview::Binary);
    };
    if text.contains('\0') {
        return Ok(Preview::Binary);
    }
    let cut = len > MAX_PREVIEW;
    Ok(match ext.as_str() {
        "csv" | "tsv" => Preview::Table(parse_csv(text, if ext == "tsv" { '\t' } else { ',' })),
        "json" if !cut => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) => {
                Preview::Text(serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.into()))
            }
            Err(_) => Preview::Text(text.into()),
        },
        _ if name == "MLmodel" || !ext.is_empty() || !text.is_empty() => {
            let mut t = text.to_string();
            if cut {
                let _ = write!(
                    t,
                    "\n… ({} shown of {})",
                    bytes(i64::try_from(MAX_PREVIEW).unwrap_or(i64::MAX)),
                    bytes(i64::try_from(len).unwrap_or(i64::MAX))
                );
            }
            Preview::Text(t)
        }
        _ => Preview::Text(String::new()),
    })
}

#[derive(Template)]
#[template(path = "artifacts.html")]
struct ArtifactsPage {
    title: String,
    nav: Nav,
    run_name: String,
    run_url: String,
    experiment_id: String,
    entries: Vec<Entry>,
    truncated: bool,
    selected: String,
    preview: Preview,
    download_url: String,
    remote: Option<String>,
}

pub(crate) fn raw_url(run_id: &str, path: &str) -> String {
    format!("/runs/{run_id}/artifacts/raw?path={}", super::enc(path))
}

/// The run id and the `path` query checked the same way for the tree and the raw file; the path
/// comes back without leading or trailing slashes (empty for the root).
fn checked_path(run_id: &str, query: Option<&str>) -> UiResult<String> {
    validate_run_id(run_id)?;
    let fields = Fields::query(query);
    let asked = fields.get("path").unwrap_or("");
    validate_artifact_path(asked)?;
    Ok(asked.trim_matches('/').to_string())
}

pub(super) async fn view(
    State(s): State<AppState>,
    Path(run_id): Path<String>,
    RawQuery(query): RawQuery,
) -> UiResult {
    let selected = checked_path(&run_id, query.as_deref())?;
    let run = s.store.get_run(&run_id).await?;
    let source = Source::of_uri(&s, &run.info.artifact_uri);
    let (entries, truncated) = tree(&s, &run).await?;
    let raw = raw_url(&run_id, &selected);
    let preview = match &source {
        Some(source) if !selected.is_empty() => match source.kind(&s, &selected).await? {
            Kind::File => preview(&s, source, &selected, &raw).await?,
            Kind::Dir => Preview::None,
            Kind::Missing => {
                return Err(ApiError::not_found(format!("No such artifact: '{selected}'")).into())
            }
        },
        _ => Preview::None,
    };
    let page = ArtifactsPage {
        title: format!("{} · artifacts", run.info.run_name),
        nav: "experiments",
        run_url: super::run_url(&run.info.experiment_id, &run_id),
        experiment_id: run.info.experiment_id.clone(),
        run_name: run.info.run_name.clone(),
        remote: source.is_none().then(|| run.info.artifact_uri.clone()),
        download_url: format!("{raw}&download=1"),
        entries,
        truncated,
        selected,
        preview,
    };
    Ok(render(&page))
}

fn mime(path: &str) -> &'static str {
    match extension(path).as_str() {
        "txt" | "log" | "py" | "md" | "yaml" | "yml" | "csv" | "tsv" | "json" => {
            "text/plain; charset=utf-8"
        }
        "html" | "htm" => "text/html; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        _ if path.ends_with("MLmodel") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file itself. HTML is served to the preview frame under `sandbox` (no script, an opaque
/// origin) with nothing loadable from outside the document.
pub(super) async fn raw(
    State(s): State<AppState>,
    Path(run_id): Path<String>,
    RawQuery(query): RawQuery,
) -> UiResult {
    let rel = checked_path(&run_id, query.as_deref())?;
    if rel.is_empty() {
        return Err(ApiError::missing("path").into());
    }
    let run = s.store.get_run(&run_id).await?;
    let source = Source::of_uri(&s, &run.info.artifact_uri).ok_or_else(|| {
        ApiError::invalid(format!(
            "Artifacts of this run are stored at '{}', which this server does not serve",
            run.info.artifact_uri
        ))
    })?;
    if !matches!(source.kind(&s, &rel).await?, Kind::File) {
        return Err(ApiError::not_found(format!("No such artifact: '{rel}'")).into());
    }
    let (stream, len) = source.open(&s, &rel).await?;
    let name = rel
        .rsplit('/')
        .next()
        .unwrap_or("artifact")
        .replace(['"', '\\'], "");
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime(&rel)));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:",
        ),
    );
    let disposition = if Fields::query(query.as_deref()).flag("download") {
        "attachment"
    } else {
        "inline"
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_be_quoted_and_contain_separators() {
        let rows = parse_csv("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n1,2", ',');
        assert_eq!(
            rows,
            vec![vec!["a", "b"], vec!["x, y", "say \"hi\""], vec!["1", "2"]]
        );
    }
}
