//! The writer; the reader's own tests live with it in `table-reader`.

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
        // Read back through the shared reader, the zip code kept as text as the model would.
        let back = table_reader::read_table(&path, &["zipcode".to_string()]).unwrap();
        assert_eq!(back.height(), 10);
        assert_eq!(back.column("zipcode").unwrap().dtype(), &DataType::String);
        std::fs::remove_file(&path).unwrap();
    }
    let err = TableWriter::create(&dir.path().join("no/such/dir.csv"), frame().schema())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("dir.csv"), "{err}");
}
