use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::*;

fn frame() -> DataFrame {
    df!(
        "room_type" => ["Entire home/apt", "Private room", "Shared room", "Private room", "Entire home/apt"],
        "zipcode" => ["94110", "94117", "94110", "94103", "94110"],
        "accommodates" => [2i64, 1, 4, 3, 6],
        "price" => [Some(120.0), Some(75.5), None, Some(60.0), Some(300.0)],
    )
    .unwrap()
}

fn write_parquet(df: &DataFrame, path: &Path) {
    let mut df = df.clone();
    ParquetWriter::new(File::create(path).unwrap())
        .finish(&mut df)
        .unwrap();
}

/// A Spark-style folder: part files of the given slices, `_SUCCESS`, and hidden checksum files.
fn spark_folder(dir: &Path, df: &DataFrame, slices: &[(i64, usize)]) -> PathBuf {
    let folder = dir.join("spark.parquet");
    std::fs::create_dir(&folder).unwrap();
    for (i, &(offset, len)) in slices.iter().enumerate() {
        let name = format!("part-{i:05}-3f1c-c000.snappy.parquet");
        write_parquet(&df.slice(offset, len), &folder.join(&name));
        std::fs::write(folder.join(format!(".{name}.crc")), "crc").unwrap();
    }
    std::fs::write(folder.join("_SUCCESS"), "").unwrap();
    std::fs::write(folder.join("._SUCCESS.crc"), "crc").unwrap();
    folder
}

fn batches(path: &Path, batch_rows: usize, strings: &[String]) -> (Vec<usize>, DataFrame) {
    let mut reader = TableReader::open(path, batch_rows, strings).unwrap();
    let mut sizes = Vec::new();
    let mut all: Option<DataFrame> = None;
    while let Some(df) = reader.next_batch().unwrap() {
        sizes.push(df.height());
        match &mut all {
            Some(a) => {
                a.vstack_mut(&df).unwrap();
            }
            None => all = Some(df),
        }
    }
    (sizes, all.unwrap())
}

fn problem(path: &Path) -> (Problem, String) {
    let err = read_table(path, &[]).unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n'), "{text}");
    (err.problem().clone(), text)
}

#[test]
fn parquet_is_read_in_whole_row_groups_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let df = frame();
    let folder = spark_folder(dir.path(), &df, &[(0, 2), (2, 2), (4, 1)]);
    let reader = TableReader::open(&folder, 3, &[]).unwrap();
    assert_eq!(reader.total_rows(), Some(5));
    assert_eq!(reader.schema(), Some(df.schema().as_ref()));
    let (sizes, back) = batches(&folder, 3, &[]);
    assert_eq!(sizes, vec![2, 2, 1]);
    assert!(back.equals_missing(&df));

    // One file, one row group of 5 rows: a batch is never less than a whole row group.
    let single = dir.path().join("single.parquet");
    write_parquet(&df, &single);
    let (sizes, back) = batches(&single, 2, &[]);
    assert_eq!(sizes, vec![5]);
    assert!(back.equals_missing(&df));
}

#[test]
fn a_folder_reads_as_the_same_rows_in_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let df = frame();
    let single = dir.path().join("single.parquet");
    write_parquet(&df, &single);
    let folder = spark_folder(dir.path(), &df, &[(0, 1), (1, 0), (1, 3), (4, 1)]);
    let (a, b) = (
        read_table(&single, &[]).unwrap(),
        read_table(&folder, &[]).unwrap(),
    );
    assert!(a.equals_missing(&b) && a.schema() == b.schema());
    assert!(b.equals_missing(&df));
}

#[test]
fn polars_numbered_parts_are_read_in_numeric_order() {
    let dir = tempfile::tempdir().unwrap();
    let n = 12;
    let df = df!("i" => (0..n).collect::<Vec<i64>>()).unwrap();
    for i in 0..n {
        write_parquet(&df.slice(i, 1), &dir.path().join(format!("{i}.parquet")));
    }
    let back = read_table(dir.path(), &[]).unwrap();
    let values: Vec<_> = back.column("i").unwrap().i64().unwrap().iter().collect();
    assert_eq!(values, (0..n).map(Some).collect::<Vec<_>>());
}

#[test]
fn csv_chunks_keep_quoted_newlines_and_widen_integers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(
        &path,
        "name,zipcode,n\n\"a\nb\",94110,1\nplain,94117,2\n\"say \"\"hi\"\"\",94103,3.5\n\n",
    )
    .unwrap();
    let (sizes, df) = batches(&path, 2, &["zipcode".to_string()]);
    assert_eq!(sizes, vec![2, 1]);
    let names: Vec<_> = df.column("name").unwrap().str().unwrap().iter().collect();
    assert_eq!(names, vec![Some("a\nb"), Some("plain"), Some("say \"hi\"")]);
    // The zip code stays text; `n` was whole numbers in the first chunk and 3.5 in the second.
    assert_eq!(df.column("zipcode").unwrap().dtype(), &DataType::String);
    let n: Vec<_> = df.column("n").unwrap().f64().unwrap().iter().collect();
    assert_eq!(n, vec![Some(1.0), Some(2.0), Some(3.5)]);
}

#[test]
fn a_whole_csv_keeps_named_columns_as_text_and_infers_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.CSV");
    std::fs::write(&path, "zip,n,flag\n02134,1,true\n94110,2,false\n").unwrap();
    let df = read_table(&path, &["zip".to_string()]).unwrap();
    let zips: Vec<_> = df.column("zip").unwrap().str().unwrap().iter().collect();
    assert_eq!(zips, vec![Some("02134"), Some("94110")]);
    assert_eq!(df.column("n").unwrap().dtype(), &DataType::Float64);
    assert_eq!(df.column("flag").unwrap().dtype(), &DataType::Boolean);
    let guessed = read_table(&path, &[]).unwrap();
    assert_eq!(guessed.column("zip").unwrap().dtype(), &DataType::Float64);
}

#[test]
fn a_bad_value_in_a_later_csv_chunk_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, "n\n1\n2\nthree\n").unwrap();
    let mut reader = TableReader::open(&path, 2, &[]).unwrap();
    assert!(reader.next_batch().unwrap().is_some());
    let err = reader.next_batch().unwrap_err().to_string();
    assert!(err.contains("bad.csv") && err.contains("line 4"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn empty_and_missing_inputs_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    assert_eq!(
        TableReader::open(&empty, 10, &[])
            .err()
            .map(|e| e.problem().clone()),
        Some(Problem::Empty)
    );
    let header_only = dir.path().join("header.csv");
    std::fs::write(&header_only, "a,b\n").unwrap();
    let mut r = TableReader::open(&header_only, 10, &[]).unwrap();
    assert!(r.next_batch().unwrap().is_none());
    let (p, text) = problem(&header_only);
    assert_eq!(p, Problem::Empty);
    assert_eq!(
        text,
        format!("`{}` is empty: it has no rows", header_only.display())
    );

    let no_rows = dir.path().join("none.parquet");
    write_parquet(&frame().slice(0, 0), &no_rows);
    assert_eq!(problem(&no_rows).0, Problem::Empty);

    let missing = dir.path().join("nope.parquet");
    let (p, text) = problem(&missing);
    assert!(matches!(p, Problem::Io(_)), "{p:?}");
    assert_eq!(
        text,
        format!(
            "cannot read `{}`: no such file or folder",
            missing.display()
        )
    );
}

#[test]
fn an_empty_folder_or_one_with_only_markers_has_no_part_files() {
    let dir = tempfile::tempdir().unwrap();
    let (p, text) = problem(dir.path());
    assert_eq!(p, Problem::NoPartFiles);
    assert_eq!(
        text,
        format!(
            "cannot read `{}`: the folder holds no parquet part files (`*.parquet`)",
            dir.path().display()
        )
    );
    std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
    std::fs::write(dir.path().join(".hidden.parquet"), "x").unwrap();
    assert_eq!(problem(dir.path()).0, Problem::NoPartFiles);
}

#[test]
fn part_files_with_other_columns_or_types_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let df = frame();
    let folder = spark_folder(dir.path(), &df, &[(0, 2), (2, 3)]);
    let second = folder.join("part-00001-3f1c-c000.snappy.parquet");

    let cases = [
        (
            df.slice(2, 3).drop("price").unwrap(),
            "`part-00001-3f1c-c000.snappy.parquet` has no column `price`, which `part-00000-3f1c-c000.snappy.parquet` has",
        ),
        (
            {
                let mut part = df.slice(2, 3);
                let cast = part
                    .column("accommodates")
                    .unwrap()
                    .cast(&DataType::Float64)
                    .unwrap();
                part.with_column(cast).unwrap();
                part
            },
            "column `accommodates` is f64 in `part-00001-3f1c-c000.snappy.parquet` but i64 in `part-00000-3f1c-c000.snappy.parquet`",
        ),
    ];
    for (part, expected) in cases {
        write_parquet(&part, &second);
        let (p, text) = problem(&folder);
        assert!(matches!(p, Problem::MixedSchemas(_)), "{p:?}");
        assert_eq!(
            text,
            format!(
                "cannot read `{}`: its part files disagree: {expected}",
                folder.display()
            )
        );
        // The batched reader checks the same before the first batch.
        assert!(TableReader::open(&folder, 1, &[]).is_err());
    }
}

#[test]
fn files_that_are_not_parquet_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let csv_named_parquet = dir.path().join("batch.parquet");
    std::fs::write(&csv_named_parquet, "a,b\n1,2\n3,4\n").unwrap();
    let (p, text) = problem(&csv_named_parquet);
    assert_eq!(p, Problem::NotParquet);
    assert!(
        text.starts_with(&format!(
            "cannot read `{}`: not a parquet file",
            csv_named_parquet.display()
        )) && text.contains(".csv"),
        "{text}"
    );

    // A part file that is not parquet is named itself, not just its folder.
    let folder = spark_folder(dir.path(), &frame(), &[(0, 5)]);
    let bad = folder.join("part-00001-3f1c-c000.snappy.parquet");
    std::fs::write(&bad, "PAR1 but not really").unwrap();
    let err = read_table(&folder, &[]).unwrap_err();
    assert_eq!(
        (err.path(), err.problem()),
        (bad.as_path(), &Problem::NotParquet)
    );
}

#[test]
fn stray_files_and_sub_folders_in_a_data_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let folder = spark_folder(dir.path(), &frame(), &[(0, 5)]);
    std::fs::write(folder.join("notes.txt"), "hello").unwrap();
    let (p, text) = problem(&folder);
    assert_eq!(
        p,
        Problem::Stray {
            name: "notes.txt".into(),
            folder: false
        }
    );
    assert!(
        text.contains("`notes.txt` is not a parquet part file"),
        "{text}"
    );
    std::fs::remove_file(folder.join("notes.txt")).unwrap();

    std::fs::create_dir(folder.join("city=SF")).unwrap();
    let (p, text) = problem(&folder);
    assert!(matches!(p, Problem::Stray { folder: true, .. }), "{p:?}");
    assert!(text.contains("`city=SF` is a sub-folder"), "{text}");
}
