//! MLflow's rules for artifact and model-source URIs (`mlflow/utils/uri.py`,
//! `mlflow/server/handlers.py` of MLflow 3.10), written once so experiments and the registry agree.
//!
//! Python's `urllib.parse` decides what a scheme and a host are; the helpers below follow it for
//! the URIs MLflow stores (`file:`, `s3:`, `runs:`, `models:`, `mlflow-artifacts:`, bare paths),
//! because a client that gets a different verdict from mltrack than from MLflow would break.

use crate::error::{ApiError, ErrorCode};
use std::path::{Component, Path, PathBuf};

/// The scheme as `urlparse` finds it: letters, digits, `+-.` before the first `:`, starting with a
/// letter; otherwise none (`path/to/model`, `/abs/path`).
pub fn scheme(uri: &str) -> &str {
    let Some((head, _)) = uri.split_once(':') else {
        return "";
    };
    let valid = head.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if valid {
        head
    } else {
        ""
    }
}

/// `scheme://netloc/path` → (`netloc`, `/path`); without `//` the netloc is empty.
fn split_netloc(uri: &str) -> (&str, &str) {
    let rest = &uri[scheme(uri).len()..];
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    match rest.strip_prefix("//") {
        Some(after) => match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        },
        None => ("", rest),
    }
}

/// `urlparse(uri).hostname`: the netloc without user info and port, lower-cased.
fn hostname(uri: &str) -> Option<String> {
    let (netloc, _) = split_netloc(uri);
    let host = netloc.rsplit('@').next().unwrap_or(netloc);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host.split(':').next().unwrap_or(host),
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// `is_local_uri`: a bare path or a `file:` URI on this machine. A `file:` URI naming another host
/// is an error in MLflow (an `MlflowException` without a code, so a 500 there and here).
pub fn is_local_uri(uri: &str) -> Result<bool, ApiError> {
    let scheme = scheme(uri);
    if scheme.is_empty() {
        return Ok(true);
    }
    let remote_host = hostname(uri)
        .is_some_and(|h| !(h == "." || h.starts_with("localhost") || h.starts_with("127.0.0.1")));
    if scheme == "file" {
        if remote_host {
            return Err(ApiError::new(
                ErrorCode::InternalError,
                format!(
                    "{uri} is not a valid remote uri. For remote access on windows, please \
                     consider using a different scheme such as SMB (e.g. smb://<hostname>/<path>)."
                ),
            ));
        }
        return Ok(true);
    }
    Ok(false)
}

/// `local_file_uri_to_path`: the path of a `file:` URI (percent-decoded); other strings as they are.
pub fn local_file_uri_to_path(uri: &str) -> String {
    let path = if uri.starts_with("file:") {
        split_netloc(uri).1
    } else {
        uri
    };
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

/// `pathlib.Path(p).resolve()` without touching the disk: absolute against the working directory,
/// `.` and `..` folded.
pub fn resolve_path(path: &str) -> PathBuf {
    let p = Path::new(path);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(p)
    };
    let mut out = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(s) => out.push(s),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// `resolve_uri_if_local`: a relative local location becomes absolute against the server's working
/// directory (a bare path stays a bare path, a `file:` URI stays a `file:` URI).
pub fn resolve_uri_if_local(uri: &str) -> Result<String, ApiError> {
    if !is_local_uri(uri)? {
        return Ok(uri.to_string());
    }
    let path = local_file_uri_to_path(uri);
    if Path::new(&path).is_absolute() {
        return Ok(uri.to_string());
    }
    let abs = std::env::current_dir()
        .unwrap_or_else(|_| PathBuf::from("/"))
        .join(&path);
    let abs = abs.to_string_lossy();
    let scheme = scheme(uri);
    Ok(if scheme.is_empty() {
        abs.into_owned()
    } else {
        format!("{scheme}://{abs}")
    })
}

/// `_validate_non_local_source_contains_relative_paths`: once fully unquoted, the source's path
/// must have no `..`, no NUL, and already be in the form `resolve()` would give it.
pub fn validate_no_relative_paths(source: &str) -> Result<(), ApiError> {
    let error = || {
        ApiError::invalid(format!(
            "Invalid model version source: '{source}'. If supplying a source as an http, https, \
             local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be \
             provided without relative path references present. Please provide an absolute path."
        ))
    };
    let mut text = source.to_string();
    loop {
        let unquoted = unquote_plus(&text);
        if unquoted == text {
            break;
        }
        text = unquoted;
    }
    let (_, path) = split_netloc(&text);
    let mut collapsed = String::with_capacity(path.len());
    for ch in path.trim_end_matches('/').chars() {
        if !(ch == '/' && collapsed.ends_with('/')) {
            collapsed.push(ch);
        }
    }
    if collapsed.contains('\0') || text.split('/').any(|seg| seg == "..") {
        return Err(error());
    }
    if resolve_path(&collapsed).to_string_lossy() != collapsed {
        return Err(error());
    }
    Ok(())
}

fn unquote_plus(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// Whether `inner` is `outer` or lies below it (both already resolved).
pub fn is_within(outer: &Path, inner: &Path) -> bool {
    inner.starts_with(outer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_follow_urlparse() {
        assert_eq!(scheme("runs:/abc/model"), "runs");
        assert_eq!(scheme("mlflow-artifacts:/1/x"), "mlflow-artifacts");
        assert_eq!(scheme("path/to/model"), "");
        assert_eq!(scheme("/abs/path"), "");
        assert_eq!(scheme("1abc:/x"), "");
    }

    #[test]
    fn local_uris_and_remote_file_hosts() {
        assert!(is_local_uri("/tmp/x").unwrap());
        assert!(is_local_uri("file:///tmp/x").unwrap());
        assert!(is_local_uri("file://localhost/tmp/x").unwrap());
        assert!(!is_local_uri("s3://bucket/x").unwrap());
        assert!(!is_local_uri("runs:/r/model").unwrap());
        let err = is_local_uri("file://123.456.789.123/path").unwrap_err();
        assert_eq!(err.code, ErrorCode::InternalError);
        assert!(err.message.contains("is not a valid remote uri"));
    }

    #[test]
    fn relative_locations_become_absolute() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            resolve_uri_if_local("my_location").unwrap(),
            cwd.join("my_location").to_string_lossy()
        );
        assert_eq!(
            resolve_uri_if_local("/abs/loc").unwrap(),
            "/abs/loc".to_string()
        );
        assert_eq!(resolve_uri_if_local("s3://b/k").unwrap(), "s3://b/k");
    }

    #[test]
    fn relative_path_references_are_refused() {
        for bad in [
            "mlflow-artifacts://host:port/../../../../",
            "http://host:port/api/2.0/mlflow-artifacts/artifacts/../../../../",
            "s3:/my_bucket/models/path/../../other/path",
            "mlflow-artifacts://host:port/..%2f..%2f..%2f..%2f",
            "http://host:port/api/2.0/mlflow-artifacts/artifacts%00",
            "s3://bucket/a/./b",
        ] {
            assert!(validate_no_relative_paths(bad).is_err(), "{bad}");
        }
        for good in [
            "runs:/run_id/model",
            "s3://bucket/path/model",
            "mlflow-artifacts:/1/abc/artifacts/model",
            "models:/m-123",
        ] {
            assert!(validate_no_relative_paths(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn paths_resolve_lexically() {
        assert_eq!(resolve_path("/a/b/../c/./d"), PathBuf::from("/a/c/d"));
        assert_eq!(
            local_file_uri_to_path("file:///tmp/a%20b"),
            "/tmp/a b".to_string()
        );
    }
}
