//! Which daily batches an input holds, and what each one's content is. Files arrive as
//! `gold/2026-12-04.parquet` (or a Spark folder `gold/2026-12-04/part-…`), so the batch's date is
//! read from its name and batches are processed in date order whatever order the directory lists
//! them in. A content hash lets a later run tell a batch it already processed from one that was
//! rewritten since.

use anyhow::{bail, Context};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One daily batch: a parquet or CSV file, or a folder of part files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Batch {
    pub path: PathBuf,
    /// The file or folder name, the key the batch is recorded under.
    pub name: String,
    /// `YYYY-MM-DD`.
    pub date: String,
}

/// The batches of `input`, in date order (then name). A file is one batch, dated by `date` or its
/// name. A folder whose entries carry dates is a folder of batches; a folder without any is one
/// batch itself (a Spark folder), dated like a file. The second list says, one line each, which
/// entries were left out and why: no date, or a second batch for a day (the outputs are partitioned
/// by date, so it would overwrite the first's).
pub(super) fn discover(
    input: &Path,
    date: Option<&str>,
) -> anyhow::Result<(Vec<Batch>, Vec<String>)> {
    let name = file_name(input);
    let single = |what: &str| -> anyhow::Result<(Vec<Batch>, Vec<String>)> {
        let Some(date) = date.map(str::to_string).or_else(|| date_in(&name)) else {
            bail!(
                "{what} `{}` has no date (YYYY-MM-DD) in its name: pass `--date`",
                input.display()
            );
        };
        Ok((
            vec![Batch {
                path: input.to_path_buf(),
                name: name.clone(),
                date,
            }],
            Vec::new(),
        ))
    };
    if !input.is_dir() {
        if !input.exists() {
            bail!("input `{}` does not exist", input.display());
        }
        return single("input");
    }
    let (batches, ignored) = folder(input)?;
    if batches.is_empty() {
        return single("folder");
    }
    if date.is_some() {
        bail!(
            "`--date` is for a single batch, but `{}` holds dated batches",
            input.display()
        );
    }
    Ok((batches, ignored))
}

/// The dated batches of the folder `input` (none when it holds none yet, as `--watch` needs), in
/// date order, and the entries left out, as [`discover`] says.
pub(super) fn folder(input: &Path) -> anyhow::Result<(Vec<Batch>, Vec<String>)> {
    let mut batches = Vec::new();
    let mut ignored = Vec::new();
    for entry in
        std::fs::read_dir(input).with_context(|| format!("cannot list `{}`", input.display()))?
    {
        let path = entry?.path();
        let name = file_name(&path);
        if is_bookkeeping(&name) {
            continue;
        }
        match date_in(&name) {
            Some(date) if path.is_dir() || is_table_file(&name) => {
                batches.push(Batch { path, name, date });
            }
            _ => ignored.push(format!(
                "`{name}` has no date (YYYY-MM-DD) in its name or is not a table: ignored"
            )),
        }
    }
    batches.sort_by(|a, b| (&a.date, &a.name).cmp(&(&b.date, &b.name)));
    let mut unique: Vec<Batch> = Vec::with_capacity(batches.len());
    for batch in batches {
        match unique.last() {
            Some(first) if first.date == batch.date => ignored.push(format!(
                "`{}` is a second batch for {} after `{}` (one batch per day): ignored",
                batch.name, batch.date, first.name
            )),
            _ => unique.push(batch),
        }
    }
    let batches = unique;
    ignored.sort();
    Ok((batches, ignored))
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn has_extension(name: &str, ext: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

fn is_table_file(name: &str) -> bool {
    has_extension(name, "parquet") || has_extension(name, "csv")
}

/// Hidden files, Spark's `_SUCCESS` and `*.crc` checksums: beside the data, never data.
fn is_bookkeeping(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_') || has_extension(name, "crc")
}

/// The first valid calendar date `YYYY-MM-DD` in `name`, not part of a longer run of digits.
pub(super) fn date_in(name: &str) -> Option<String> {
    let b = name.as_bytes();
    (0..b.len().saturating_sub(9)).find_map(|i| {
        let w = &b[i..i + 10];
        let digits_at = |r: std::ops::Range<usize>| w[r].iter().all(u8::is_ascii_digit);
        let shape =
            digits_at(0..4) && w[4] == b'-' && digits_at(5..7) && w[7] == b'-' && digits_at(8..10);
        let bounded = (i == 0 || !b[i - 1].is_ascii_digit())
            && b.get(i + 10).is_none_or(|c| !c.is_ascii_digit());
        let text = std::str::from_utf8(w).ok()?;
        (shape && bounded && valid_date(text)).then(|| text.to_string())
    })
}

/// Whether `YYYY-MM-DD` names a day of the Gregorian calendar.
pub(super) fn valid_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// SHA-256 (hex) of a batch's content: a file's bytes, or for a folder each data file's relative
/// name and bytes in name order (Spark's `_SUCCESS` and checksum files left out, so rewriting those
/// alone is no change).
pub(super) fn sha256(path: &Path) -> anyhow::Result<String> {
    let mut hasher = Sha256::new();
    let mut files = Vec::new();
    collect_files(path, path, &mut files)?;
    files.sort();
    for (rel, file) in files {
        if path.is_dir() {
            hasher.update(rel.as_bytes());
            hasher.update([0]);
        }
        let mut f = std::fs::File::open(&file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        std::io::copy(&mut f, &mut hasher)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
    }
    Ok(hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        }))
}

fn collect_files(root: &Path, path: &Path, out: &mut Vec<(String, PathBuf)>) -> anyhow::Result<()> {
    if !path.is_dir() {
        let rel = path
            .strip_prefix(root)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        out.push((rel, path.to_path_buf()));
        return Ok(());
    }
    for entry in
        std::fs::read_dir(path).with_context(|| format!("cannot list `{}`", path.display()))?
    {
        let p = entry?.path();
        let name = file_name(&p);
        if is_bookkeeping(&name) {
            continue;
        }
        collect_files(root, &p, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_found_anywhere_in_a_name_but_only_a_real_day() {
        assert_eq!(date_in("2026-12-04.parquet").as_deref(), Some("2026-12-04"));
        assert_eq!(
            date_in("gold_2026-02-28_v2.csv").as_deref(),
            Some("2026-02-28")
        );
        assert_eq!(date_in("date=2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(date_in("2026-02-29.parquet"), None, "not a leap year");
        assert_eq!(date_in("2026-13-01.parquet"), None);
        assert_eq!(
            date_in("12026-12-04.parquet"),
            None,
            "part of a longer number"
        );
        assert_eq!(date_in("x2026-12-0.csv"), None);
        assert_eq!(date_in("gold.parquet"), None);
        assert_eq!(
            date_in("bad 2026-00-10 then 2026-01-10").as_deref(),
            Some("2026-01-10")
        );
    }

    #[test]
    fn a_folder_of_batches_is_listed_in_date_order_and_undated_entries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "2026-12-05.parquet",
            "2026-12-05-again.csv",
            "b-2026-12-03.csv",
            "2026-12-04",
            "notes.txt",
            "_SUCCESS",
            ".x-2026-01-01.parquet",
        ] {
            let p = dir.path().join(name);
            if name == "2026-12-04" {
                std::fs::create_dir(&p).unwrap();
            } else {
                std::fs::write(&p, "x").unwrap();
            }
        }
        let (batches, ignored) = discover(dir.path(), None).unwrap();
        let names: Vec<_> = batches
            .iter()
            .map(|b| (b.date.as_str(), b.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("2026-12-03", "b-2026-12-03.csv"),
                ("2026-12-04", "2026-12-04"),
                ("2026-12-05", "2026-12-05-again.csv")
            ],
            "of two batches for a day, the first by name is processed"
        );
        assert_eq!(ignored.len(), 2, "{ignored:?}");
        assert!(ignored[0].starts_with("`2026-12-05.parquet` is a second batch for 2026-12-05 after `2026-12-05-again.csv`"), "{ignored:?}");
        assert!(
            ignored[1].starts_with("`notes.txt` has no date"),
            "{ignored:?}"
        );
        assert!(
            discover(dir.path(), Some("2026-12-01")).is_err(),
            "--date is for one batch"
        );
    }

    #[test]
    fn a_single_file_or_spark_folder_is_dated_by_its_name_or_by_date() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("today.parquet");
        std::fs::write(&file, "x").unwrap();
        let err = discover(&file, None).unwrap_err().to_string();
        assert!(
            err.contains("--date") && err.contains("today.parquet"),
            "{err}"
        );
        let (b, _) = discover(&file, Some("2026-12-04")).unwrap();
        assert_eq!(
            (b[0].date.as_str(), b[0].name.as_str()),
            ("2026-12-04", "today.parquet")
        );

        let spark = dir.path().join("gold-2026-12-06");
        std::fs::create_dir(&spark).unwrap();
        std::fs::write(spark.join("part-00000.parquet"), "x").unwrap();
        let (b, _) = discover(&spark, None).unwrap();
        assert_eq!(b[0].date, "2026-12-06");
        assert!(discover(&dir.path().join("missing.parquet"), None).is_err());
    }

    #[test]
    fn the_hash_follows_content_not_checksum_files() {
        let dir = tempfile::tempdir().unwrap();
        let spark = dir.path().join("2026-12-06");
        std::fs::create_dir(&spark).unwrap();
        std::fs::write(spark.join("part-0.parquet"), "a").unwrap();
        let first = sha256(&spark).unwrap();
        std::fs::write(spark.join("_SUCCESS"), "").unwrap();
        std::fs::write(spark.join(".part-0.parquet.crc"), "c").unwrap();
        assert_eq!(sha256(&spark).unwrap(), first);
        std::fs::write(spark.join("part-0.parquet"), "b").unwrap();
        assert_ne!(sha256(&spark).unwrap(), first);
        let file = dir.path().join("f.csv");
        std::fs::write(&file, "abc").unwrap();
        assert_eq!(
            sha256(&file).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
