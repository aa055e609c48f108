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

fn read_all(path: &Path, batch_rows: usize, strings: &[String]) -> (Vec<usize>, DataFrame) {
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

#[test]
fn parquet_is_read_in_whole_row_groups_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut df = frame();
    // A Spark-style directory: three part files (one row group each) and a `_SUCCESS` marker.
    for (i, (offset, len)) in [(0, 2), (2, 2), (4, 1)].into_iter().enumerate() {
        let mut part = df.slice(offset, len);
        let path = dir.path().join(format!("part-{i:05}.parquet"));
        ParquetWriter::new(File::create(path).unwrap())
            .finish(&mut part)
            .unwrap();
    }
    std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
    let reader = TableReader::open(dir.path(), 3, &[]).unwrap();
    assert_eq!(reader.total_rows(), Some(5));
    let (sizes, back) = read_all(dir.path(), 3, &[]);
    assert_eq!(sizes, vec![2, 2, 1]);
    assert!(back.equals_missing(&df));

    // One file, one row group of 5 rows: a batch is never less than a whole row group.
    let single = dir.path().join("single.parquet");
    ParquetWriter::new(File::create(&single).unwrap())
        .finish(&mut df)
        .unwrap();
    let (sizes, back) = read_all(&single, 2, &[]);
    assert_eq!(sizes, vec![5]);
    assert!(back.equals_missing(&df));
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
    let (sizes, df) = read_all(&path, 2, &["zipcode".to_string()]);
    assert_eq!(sizes, vec![2, 1]);
    let names: Vec<_> = df.column("name").unwrap().str().unwrap().iter().collect();
    assert_eq!(names, vec![Some("a\nb"), Some("plain"), Some("say \"hi\"")]);
    // The zip code stays text; `n` was whole numbers in the first chunk and 3.5 in the second.
    assert_eq!(df.column("zipcode").unwrap().dtype(), &DataType::String);
    let n: Vec<_> = df.column("n").unwrap().f64().unwrap().iter().collect();
    assert_eq!(n, vec![Some(1.0), Some(2.0), Some(3.5)]);
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
}

#[test]
fn empty_and_missing_inputs_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    assert!(matches!(
        TableReader::open(&empty, 10, &[]),
        Err(ModelError::EmptyData { .. })
    ));
    let header_only = dir.path().join("header.csv");
    std::fs::write(&header_only, "a,b\n").unwrap();
    let mut r = TableReader::open(&header_only, 10, &[]).unwrap();
    assert!(r.next_batch().unwrap().is_none());
    let err = TableReader::open(&dir.path().join("nope.parquet"), 10, &[])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("nope.parquet"), "{err}");
}

#[test]
fn a_writer_publishes_its_file_only_when_finished() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["out.parquet", "out.csv"] {
        let path = dir.path().join(name);
        let df = frame();
        let mut w = TableWriter::create(&path, df.schema()).unwrap();
        w.write(&df).unwrap();
        w.write(&df).unwrap();
        assert!(!path.exists(), "{name} visible before finish");
        drop(w);
        assert!(!path.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temp file left"
        );

        let mut w = TableWriter::create(&path, df.schema()).unwrap();
        w.write(&df).unwrap();
        w.write(&df).unwrap();
        assert_eq!(w.rows(), 10);
        w.finish().unwrap();
        let (_, back) = read_all(&path, 100, &["zipcode".to_string()]);
        assert_eq!(back.height(), 10);
        std::fs::remove_file(&path).unwrap();
    }
    let err = TableWriter::create(&dir.path().join("no/such/dir.csv"), frame().schema())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("dir.csv"), "{err}");
}
