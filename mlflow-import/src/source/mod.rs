//! Where an import reads from: MLflow's SQL schema (SQLite or PostgreSQL) or its `./mlruns` file
//! layout, each behind [`Source`], which hands out MLflow's entities in mltrack's import shapes.

mod files;
mod reader;
mod sql;
mod yaml;

use anyhow::Result;

pub use files::FileSource;
pub use reader::Source;
pub use sql::SqlSource;

/// Opens the store an MLflow `--backend-store-uri` names: `sqlite:///…`, `postgresql://…` (also
/// with a `+driver` suffix, as `SQLAlchemy` URIs have), or a file store directory (`./mlruns`,
/// `file:///…`).
pub async fn open(uri: &str) -> Result<Box<dyn Source>> {
    if uri.starts_with("sqlite:") || uri.starts_with("postgres") {
        Ok(Box::new(SqlSource::open(uri).await?))
    } else if uri.contains("://") && !uri.starts_with("file://") {
        anyhow::bail!(
            "--from `{uri}`: expected sqlite:///path.db, postgresql://user:password@host/db or a \
             file store directory such as ./mlruns"
        )
    } else {
        Ok(Box::new(FileSource::open(uri)?))
    }
}
