mod common;

use std::fs;

use baton_log::snapshot::{self, HEADER_LEN};
use common::{file_len, flip_byte};

#[test]
fn write_then_latest_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = snapshot::write(dir.path(), 42, b"state at 42").unwrap();
    assert_eq!(path.file_name().unwrap(), "snapshot-00000000000000000042.bin");
    assert_eq!(file_len(&path), (HEADER_LEN + 11) as u64);

    let latest = snapshot::latest(dir.path()).unwrap();
    assert!(latest.skipped.is_empty());
    let snap = latest.snapshot.unwrap();
    assert_eq!(snap.position, 42);
    assert_eq!(snap.bytes, b"state at 42");
    assert_eq!(snap.path, path);
}

#[test]
fn latest_picks_the_highest_position_and_handles_empty_content() {
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(dir.path(), 100, b"hundred").unwrap();
    snapshot::write(dir.path(), 9, b"nine").unwrap();
    snapshot::write(dir.path(), 1000, b"").unwrap();
    let snap = snapshot::latest(dir.path()).unwrap().snapshot.unwrap();
    assert_eq!((snap.position, snap.bytes), (1000, vec![]));
}

#[test]
fn rewriting_the_same_position_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(dir.path(), 5, b"old").unwrap();
    snapshot::write(dir.path(), 5, b"new").unwrap();
    let snap = snapshot::latest(dir.path()).unwrap().snapshot.unwrap();
    assert_eq!(snap.bytes, b"new");
}

#[test]
fn no_snapshots_and_missing_directory_mean_none() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(snapshot::latest(dir.path()).unwrap().snapshot, None);
    let missing = dir.path().join("missing");
    let latest = snapshot::latest(&missing).unwrap();
    assert_eq!(latest.snapshot, None);
    assert!(latest.skipped.is_empty());
    assert!(snapshot::prune(&missing, 1).unwrap().is_empty());
}

#[test]
fn corrupt_newest_snapshot_falls_back_to_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(dir.path(), 10, b"ten").unwrap();
    snapshot::write(dir.path(), 20, b"twenty").unwrap();
    let newest = snapshot::write(dir.path(), 30, b"thirty").unwrap();
    flip_byte(&newest, HEADER_LEN as u64 + 2);

    let latest = snapshot::latest(dir.path()).unwrap();
    let snap = latest.snapshot.unwrap();
    assert_eq!((snap.position, snap.bytes.as_slice()), (20, b"twenty".as_slice()));
    assert_eq!(latest.skipped.len(), 1);
    assert_eq!(latest.skipped[0].position, 30);
    assert_eq!(latest.skipped[0].path, newest);
    assert!(latest.skipped[0].reason.contains("checksum mismatch"), "{:?}", latest.skipped);
    // Reporting is not repairing: the damaged file stays for inspection.
    assert!(newest.exists());
}

#[test]
fn partial_and_mislabelled_snapshots_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(dir.path(), 1, b"one").unwrap();
    let partial = snapshot::write(dir.path(), 2, b"two, but cut short").unwrap();
    fs::OpenOptions::new().write(true).open(&partial).unwrap().set_len(HEADER_LEN as u64 + 4).unwrap();
    let short = dir.path().join(snapshot::file_name(3));
    fs::write(&short, b"tiny").unwrap();
    let moved = snapshot::write(dir.path(), 4, b"four").unwrap();
    fs::rename(&moved, dir.path().join(snapshot::file_name(5))).unwrap();

    let latest = snapshot::latest(dir.path()).unwrap();
    assert_eq!(latest.snapshot.unwrap().position, 1);
    let reasons: Vec<(u64, &str)> = latest.skipped.iter().map(|s| (s.position, s.reason.as_str())).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(reasons[0].0, 5);
    assert!(reasons[0].1.contains("file name says 5"), "{reasons:?}");
    assert_eq!(reasons[1].0, 3);
    assert!(reasons[1].1.contains("shorter than"), "{reasons:?}");
    assert_eq!(reasons[2].0, 2);
    assert!(reasons[2].1.contains("content bytes"), "{reasons:?}");
}

#[test]
fn leftover_temp_file_is_ignored_and_pruned() {
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(dir.path(), 10, b"ten").unwrap();
    let tmp = dir.path().join("snapshot-00000000000000000007.bin.tmp");
    fs::write(&tmp, b"half-written").unwrap();
    let newer_tmp = dir.path().join("snapshot-00000000000000000011.bin.tmp");
    fs::write(&newer_tmp, b"maybe still being written").unwrap();

    let latest = snapshot::latest(dir.path()).unwrap();
    assert_eq!(latest.snapshot.unwrap().position, 10);
    assert!(latest.skipped.is_empty());

    let removed = snapshot::prune(dir.path(), 1).unwrap();
    assert_eq!(removed, vec![tmp.clone()]);
    assert!(!tmp.exists());
    assert!(newer_tmp.exists());
}

#[test]
fn prune_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    for position in [10, 20, 30, 40, 50] {
        snapshot::write(dir.path(), position, format!("s{position}").as_bytes()).unwrap();
    }
    let removed = snapshot::prune(dir.path(), 2).unwrap();
    let removed: Vec<String> = removed.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(removed, vec![snapshot::file_name(10), snapshot::file_name(20), snapshot::file_name(30)]);
    assert!(dir.path().join(snapshot::file_name(40)).exists());
    assert!(dir.path().join(snapshot::file_name(50)).exists());
    assert_eq!(snapshot::latest(dir.path()).unwrap().snapshot.unwrap().position, 50);
    assert!(snapshot::prune(dir.path(), 2).unwrap().is_empty());
}

#[test]
fn prune_counts_only_valid_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(dir.path(), 10, b"ten").unwrap();
    snapshot::write(dir.path(), 20, b"twenty").unwrap();
    let bad = snapshot::write(dir.path(), 30, b"thirty").unwrap();
    flip_byte(&bad, HEADER_LEN as u64);

    // keep=1 must keep 20, the newest good one, not just the newest file.
    let removed = snapshot::prune(dir.path(), 1).unwrap();
    assert_eq!(removed, vec![dir.path().join(snapshot::file_name(10))]);
    assert!(bad.exists());
    assert_eq!(snapshot::latest(dir.path()).unwrap().snapshot.unwrap().position, 20);

    // Fewer valid snapshots than asked for: nothing goes.
    assert!(snapshot::prune(dir.path(), 5).unwrap().is_empty());
}

#[test]
fn prune_zero_removes_everything() {
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(dir.path(), 1, b"a").unwrap();
    snapshot::write(dir.path(), 2, b"b").unwrap();
    assert_eq!(snapshot::prune(dir.path(), 0).unwrap().len(), 2);
    assert_eq!(snapshot::latest(dir.path()).unwrap().snapshot, None);
}
