//! File writing shared by the commands.

use anyhow::Context;
use std::path::Path;

/// Writes via a temporary file in the same directory, renamed into place, so that a failure (or a
/// reader looking at the same moment) never sees a partial report or artifact.
pub(crate) fn write_atomically(path: &Path, body: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    std::io::Write::write_all(&mut tmp, body)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}
