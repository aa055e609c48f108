//! When a batch that is still arriving may be read, for `--watch`. A copy or an upload writes a
//! file over seconds, and a batch read half-way would be scored short and then reported as changed;
//! so a batch is taken only once its size and modification time were the same on two consecutive
//! polls, and a Spark folder of part files only once Spark wrote its `_SUCCESS` marker (written
//! last, after every part).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

/// What a poll sees of a batch: total size, latest modification, number of files, and whether it
/// is complete by its own account (a Spark folder's `_SUCCESS`; always for a plain file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fingerprint {
    size: u64,
    modified: Option<SystemTime>,
    files: usize,
    complete: bool,
}

impl Fingerprint {
    /// The batch at `path` as it is now; `None` when it vanished between listing and looking.
    pub(super) fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_dir() {
            return Some(Fingerprint {
                size: meta.len(),
                modified: meta.modified().ok(),
                files: 1,
                complete: true,
            });
        }
        let mut print = Fingerprint {
            size: 0,
            modified: meta.modified().ok(),
            files: 0,
            complete: true,
        };
        let mut has_parts = false;
        let mut has_success = false;
        for entry in std::fs::read_dir(path).ok()?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            has_success |= name == "_SUCCESS";
            has_parts |= name.starts_with("part-");
            let Ok(m) = entry.metadata() else { continue };
            print.files += 1;
            print.size += m.len();
            print.modified = print.modified.max(m.modified().ok());
        }
        print.complete = !has_parts || has_success;
        Some(print)
    }
}

/// The batches seen on earlier polls, and those already handed out.
#[derive(Debug, Default)]
pub(super) struct Watcher {
    last: BTreeMap<String, Fingerprint>,
    taken: BTreeMap<String, Fingerprint>,
}

impl Watcher {
    /// Records this poll's view of the batch `name` and says whether to take it now: it is complete,
    /// unchanged since the previous poll, and not taken before in this state. A batch taken before
    /// that changes afterwards is offered again (the ledger then reports the change).
    pub(super) fn ready(&mut self, name: &str, now: Option<Fingerprint>) -> bool {
        let Some(now) = now else {
            self.last.remove(name);
            return false;
        };
        let previous = self.last.insert(name.to_string(), now.clone());
        if self.taken.get(name) == Some(&now) {
            return false;
        }
        let stable = previous.as_ref() == Some(&now) && now.complete;
        if stable {
            self.taken.insert(name.to_string(), now);
        }
        stable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn print(size: u64, secs: u64, complete: bool) -> Option<Fingerprint> {
        let modified = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs));
        modified.map(|m| Fingerprint {
            size,
            modified: Some(m),
            files: 1,
            complete,
        })
    }

    #[test]
    fn a_batch_is_taken_once_after_two_polls_with_the_same_size_and_time() {
        let mut w = Watcher::default();
        assert!(!w.ready("a", print(10, 1, true)), "first sight: wait");
        assert!(!w.ready("a", print(20, 2, true)), "still growing");
        assert!(!w.ready("a", print(20, 3, true)), "touched");
        assert!(w.ready("a", print(20, 3, true)), "held for two polls");
        assert!(!w.ready("a", print(20, 3, true)), "taken once");
        assert!(!w.ready("a", print(30, 4, true)), "rewritten: wait again");
        assert!(
            w.ready("a", print(30, 4, true)),
            "offered again once stable"
        );
    }

    #[test]
    fn an_incomplete_spark_folder_waits_for_its_marker_and_a_vanished_batch_starts_over() {
        let mut w = Watcher::default();
        assert!(!w.ready("d", print(5, 1, false)));
        assert!(!w.ready("d", print(5, 1, false)), "no _SUCCESS yet");
        assert!(
            !w.ready("d", print(5, 2, true)),
            "the marker changes the folder"
        );
        assert!(w.ready("d", print(5, 2, true)));
        assert!(!w.ready("e", print(1, 1, true)));
        assert!(!w.ready("e", None));
        assert!(!w.ready("e", print(1, 1, true)), "seen again from scratch");
    }

    #[test]
    fn fingerprints_of_files_and_spark_folders() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("2026-12-04.csv");
        std::fs::write(&file, "a,b\n").unwrap();
        let f = Fingerprint::of(&file).unwrap();
        assert!(f.complete && f.size == 4);
        let spark = dir.path().join("2026-12-05");
        std::fs::create_dir(&spark).unwrap();
        assert!(
            Fingerprint::of(&spark).unwrap().complete,
            "no parts: nothing to wait for"
        );
        std::fs::write(spark.join("part-00000.parquet"), "xx").unwrap();
        assert!(!Fingerprint::of(&spark).unwrap().complete);
        std::fs::write(spark.join("_SUCCESS"), "").unwrap();
        let s = Fingerprint::of(&spark).unwrap();
        assert!(s.complete && s.files == 2 && s.size == 2);
        assert!(Fingerprint::of(&dir.path().join("missing")).is_none());
    }
}
