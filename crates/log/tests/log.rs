mod common;

use std::fs;

use baton_log::{Error, Log, MAX_PAYLOAD_BYTES};
use common::*;

const ONE_SEGMENT: u64 = 64 << 20;

/// Offset of the frame for `position` in a segment holding `first..` contiguously.
fn frame_offset(first: u64, position: u64) -> u64 {
    SEGMENT_HEADER_LEN + (first..position).map(frame_len).sum::<u64>()
}

#[test]
fn round_trip_across_segments_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, recovery) = open(dir.path(), 256);
        assert_eq!(recovery.last_position, None);
        assert_eq!(recovery.records, 0);
        for batch in (1..=100u64).collect::<Vec<_>>().chunks(7) {
            append_all(&mut log, batch.iter().copied());
        }
        assert!(log.segment_count() > 3, "{} segments", log.segment_count());
        assert_eq!(log.first_position(), Some(1));
        assert_eq!(log.last_position(), Some(100));
        assert_eq!(log.durable_position(), Some(100));
        assert_eq!(read_all(&log, 0), expected(1..=100));
    }
    let files = segment_files(dir.path());
    assert_eq!(file_name(&files[0]), "00000000000000000001.log");

    let (mut log, recovery) = open(dir.path(), 256);
    assert_eq!(recovery.first_position, Some(1));
    assert_eq!(recovery.last_position, Some(100));
    assert_eq!(recovery.records, 100);
    assert_eq!(recovery.segments, files.len());
    assert_eq!(recovery.truncated_bytes, 0);
    assert_eq!(recovery.truncation, None);
    assert_eq!(read_all(&log, 0), expected(1..=100));

    append_all(&mut log, 101..=110);
    drop(log);
    let (log, recovery) = open(dir.path(), 256);
    assert_eq!(recovery.last_position, Some(110));
    assert_eq!(read_all(&log, 0), expected(1..=110));
}

#[test]
fn segment_names_are_the_first_position_of_each_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 200);
    append_all(&mut log, (1..=40).map(|p| p * 10));
    drop(log);
    let (log, _) = open(dir.path(), 200);
    let records = read_all(&log, 0);
    for file in segment_files(dir.path()) {
        let base: u64 = file_name(&file)[..20].parse().unwrap();
        assert!(records.iter().any(|(p, _)| *p == base), "{base}");
    }
}

#[test]
fn read_from_mid_log() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 300);
    let positions: Vec<u64> = (1..=100).map(|p| p * 10).collect();
    for batch in positions.chunks(9) {
        append_all(&mut log, batch.iter().copied());
    }
    assert!(log.segment_count() > 3);
    let from = |p: u64| expected(positions.iter().copied().filter(move |q| *q >= p));

    assert_eq!(read_all(&log, 505), from(505));
    assert_eq!(read_all(&log, 510), from(510));
    assert_eq!(read_all(&log, 1000), from(1000));
    assert_eq!(read_all(&log, 1001), vec![]);
    assert_eq!(read_all(&log, 0), from(0));
    assert_eq!(read_all(&log, 10), from(0));
    // The reader owns its state, so it can outlive the borrow and move to another thread.
    let reader = log.read_from(700);
    let handle = std::thread::spawn(move || reader.map(|r| r.unwrap().0).collect::<Vec<_>>());
    assert_eq!(handle.join().unwrap(), positions.iter().copied().filter(|p| *p >= 700).collect::<Vec<_>>());
}

#[test]
fn read_from_sees_only_synced_records() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 200);
    append_all(&mut log, 1..=10);
    let unsynced: Vec<(u64, Vec<u8>)> = expected(11..=30);
    log.append(&unsynced).unwrap();
    assert_eq!(log.last_position(), Some(30));
    // Rolling segments syncs the full ones, so durability may run ahead of sync() but never
    // reaches records still buffered in the active segment.
    let durable = log.durable_position().unwrap();
    assert!((10..30).contains(&durable), "{durable}");
    assert_eq!(read_all(&log, 0), expected(1..=durable));
    log.sync().unwrap();
    assert_eq!(log.durable_position(), Some(30));
    assert_eq!(read_all(&log, 0), expected(1..=30));
}

#[test]
fn a_sync_prepared_here_and_run_elsewhere_covers_what_was_appended_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 1 << 20);
    log.append(&expected(1..=10)).unwrap();
    let ticket = log.prepare_sync().unwrap();
    // Appended after the ticket: not covered by it.
    log.append(&expected(11..=15)).unwrap();
    std::thread::spawn(move || ticket.sync().map(|()| ticket))
        .join()
        .unwrap()
        .map(|ticket| log.synced(ticket))
        .unwrap();
    assert_eq!(log.durable_position(), Some(10));
    assert_eq!(read_all(&log, 0), expected(1..=10));
    let next = log.prepare_sync().unwrap();
    next.sync().unwrap();
    log.synced(next);
    assert_eq!(log.durable_position(), Some(15));
    drop(log);
    let (reopened, recovery) = open(dir.path(), 1 << 20);
    assert!(recovery.truncation.is_none());
    assert_eq!(read_all(&reopened, 0), expected(1..=15));
}

#[test]
fn non_increasing_positions_are_rejected_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=3);

    let err = log.append(&[(4, b"a".as_slice()), (4, b"b".as_slice())]).unwrap_err();
    assert!(matches!(err, Error::NonIncreasingPosition { previous: 4, position: 4 }), "{err}");
    let err = log.append_one(3, b"x").unwrap_err();
    assert!(matches!(err, Error::NonIncreasingPosition { previous: 3, position: 3 }), "{err}");
    assert_eq!(log.last_position(), Some(3));

    // The log is still usable after a rejected batch.
    append_all(&mut log, 4..=5);
    drop(log);
    let (log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.truncated_bytes, 0);
    assert_eq!(read_all(&log, 0), expected(1..=5));
}

#[test]
fn oversized_record_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    let huge = vec![0u8; MAX_PAYLOAD_BYTES + 1];
    let err = log.append_one(1, &huge).unwrap_err();
    assert!(matches!(err, Error::RecordTooLarge { position: 1, .. }), "{err}");
    append_all(&mut log, 1..=2);
    assert_eq!(read_all(&log, 0), expected(1..=2));
}

#[test]
fn record_larger_than_segment_max_gets_its_own_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 100);
    let big = vec![7u8; 1000];
    log.append(&[(1, payload(1).as_slice())]).unwrap();
    log.append(&[(2, big.as_slice())]).unwrap();
    log.append(&[(3, payload(3).as_slice())]).unwrap();
    log.sync().unwrap();
    assert_eq!(log.segment_count(), 3);
    drop(log);
    let (log, _) = open(dir.path(), 100);
    assert_eq!(read_all(&log, 0), vec![(1, payload(1)), (2, big), (3, payload(3))]);
}

#[test]
fn an_append_is_never_split_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 100);
    append_all(&mut log, [1]);
    append_all(&mut log, 2..=20);
    append_all(&mut log, [21]);
    assert_eq!(log.segment_count(), 3);
    let names: Vec<String> = segment_files(dir.path()).iter().map(|path| file_name(path)).collect();
    assert_eq!(names, ["00000000000000000001.log", "00000000000000000002.log", "00000000000000000021.log"]);
    drop(log);
    let (log, _) = open(dir.path(), 100);
    assert_eq!(read_all(&log, 0), expected(1..=21));
}

/// Appends 1..=5 and 6..=12 in one segment, then cuts `cut` bytes off its end; returns the
/// directory and the segment's length before the cut.
fn two_appends_cut_by(cut: u64) -> (tempfile::TempDir, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=5);
    append_all(&mut log, 6..=12);
    drop(log);
    let segment = &segment_files(dir.path())[0];
    let len = file_len(segment);
    fs::OpenOptions::new().write(true).open(segment).unwrap().set_len(len - cut).unwrap();
    (dir, len)
}

/// A crash can leave the first chunks of a large append in the file without the rest (they
/// reach the OS before the sync). Recovery must drop that append whole: its records were never
/// acknowledged, and keeping half of them would leave the caller's state half-applied.
#[test]
fn an_incomplete_append_is_cut_whole() {
    let second_append = (6..=12).map(frame_len).sum::<u64>();
    // Drop the last two whole frames: what is left of the append is valid frame by frame.
    let cut = frame_len(11) + frame_len(12);
    let (dir, len) = two_appends_cut_by(cut);

    let (mut log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.last_position, Some(5));
    assert_eq!(recovery.records, 5);
    let truncation = recovery.truncation.clone().unwrap();
    assert_eq!(truncation.offset, len - second_append);
    assert_eq!(recovery.truncated_bytes, second_append - cut);
    assert!(truncation.reason.contains("incomplete append: 5 record(s) up to position 10"), "{}", truncation.reason);
    assert_eq!(read_all(&log, 0), expected(1..=5));

    append_all(&mut log, 6..=8);
    drop(log);
    let (log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.truncation, None);
    assert_eq!(read_all(&log, 0), expected(1..=8));
}

#[test]
fn an_append_torn_inside_a_frame_is_cut_whole() {
    let (dir, _) = two_appends_cut_by(frame_len(12) / 2);

    let (log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.last_position, Some(5));
    let reason = recovery.truncation.unwrap().reason;
    assert!(reason.contains("incomplete append: 6 record(s) up to position 11"), "{reason}");
    assert_eq!(read_all(&log, 0), expected(1..=5));
}

#[test]
fn a_segment_holding_only_part_of_an_append_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 200);
    append_all(&mut log, 1..=3);
    append_all(&mut log, 4..=12);
    drop(log);
    let files = segment_files(dir.path());
    assert_eq!(files.len(), 2);
    let last = &files[1];
    fs::OpenOptions::new().write(true).open(last).unwrap().set_len(file_len(last) - 1).unwrap();

    let (log, recovery) = open(dir.path(), 200);
    assert!(recovery.truncation.unwrap().segment_removed);
    assert_eq!(segment_files(dir.path()).len(), 1);
    assert_eq!(read_all(&log, 0), expected(1..=3));
}

#[test]
fn torn_tail_is_truncated_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 400);
    for batch in (1..=39u64).collect::<Vec<_>>().chunks(5) {
        append_all(&mut log, batch.iter().copied());
    }
    append_all(&mut log, [40]);
    drop(log);
    let files = segment_files(dir.path());
    assert!(files.len() > 2);
    let last = files.last().unwrap();
    let len = file_len(last);
    // Cut the final record (position 40, an append of its own) in the middle.
    let cut = frame_len(40) / 2;
    fs::OpenOptions::new().write(true).open(last).unwrap().set_len(len - cut).unwrap();

    let (mut log, recovery) = open(dir.path(), 400);
    assert_eq!(recovery.last_position, Some(39));
    assert_eq!(recovery.records, 39);
    let torn_bytes = frame_len(40) - cut;
    assert_eq!(recovery.truncated_bytes, torn_bytes);
    let truncation = recovery.truncation.clone().unwrap();
    assert_eq!(&truncation.segment, last);
    assert_eq!(truncation.offset, len - frame_len(40));
    assert!(!truncation.segment_removed);
    assert_eq!(file_len(last), len - frame_len(40));
    assert_eq!(read_all(&log, 0), expected(1..=39));

    // Position 40 was never acknowledged, so the caller may write it again.
    let replacement = b"rewritten after crash".to_vec();
    log.append(&[(40, replacement.as_slice())]).unwrap();
    append_all(&mut log, 41..=45);
    drop(log);

    let (log, recovery) = open(dir.path(), 400);
    assert_eq!(recovery.truncated_bytes, 0);
    assert_eq!(recovery.last_position, Some(45));
    let mut want = expected(1..=39);
    want.push((40, replacement));
    want.extend(expected(41..=45));
    assert_eq!(read_all(&log, 0), want);
}

#[test]
fn torn_tail_cut_inside_frame_header_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_each(&mut log, 1..=10);
    drop(log);
    let segment = &segment_files(dir.path())[0];
    let len = file_len(segment);
    fs::OpenOptions::new().write(true).open(segment).unwrap().set_len(len - frame_len(10) + 5).unwrap();
    let (log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.truncated_bytes, 5);
    assert_eq!(read_all(&log, 0), expected(1..=9));
}

#[test]
fn garbage_partial_frame_header_at_end_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=10);
    drop(log);
    let segment = &segment_files(dir.path())[0];
    let len = file_len(segment);
    append_bytes(segment, &[0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03]);

    let (mut log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.truncated_bytes, 7);
    assert_eq!(recovery.truncation.as_ref().unwrap().offset, len);
    assert!(recovery.truncation.as_ref().unwrap().reason.contains("incomplete frame header"), "{recovery:?}");
    assert_eq!(file_len(segment), len);
    append_all(&mut log, 11..=12);
    drop(log);
    let (log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.truncated_bytes, 0);
    assert_eq!(read_all(&log, 0), expected(1..=12));
}

#[test]
fn frame_header_claiming_bytes_past_eof_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=10);
    drop(log);
    let segment = &segment_files(dir.path())[0];
    let mut header = Vec::new();
    header.extend_from_slice(&1000u32.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&11u64.to_le_bytes());
    header.extend_from_slice(b"only part of the payload");
    append_bytes(segment, &header);
    let (log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.truncated_bytes, header.len() as u64);
    assert_eq!(read_all(&log, 0), expected(1..=10));
}

#[test]
fn zero_bytes_after_the_last_record_end_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=10);
    drop(log);
    let segment = &segment_files(dir.path())[0];
    append_bytes(segment, &[0u8; 4096]);
    let (mut log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.truncation, None);
    assert_eq!(recovery.last_position, Some(10));
    assert_eq!(read_all(&log, 0), expected(1..=10));
    // New records go where the zeros begin.
    append_all(&mut log, 11..=12);
    drop(log);
    let (log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.truncation, None);
    assert_eq!(read_all(&log, 0), expected(1..=12));
}

#[test]
fn the_active_segment_is_preallocated_and_trimmed_when_the_next_begins() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 300);
    append_each(&mut log, 1..=3);
    let first = &segment_files(dir.path())[0];
    let written = frame_offset(1, 4);
    assert!(fs::metadata(first).unwrap().len() > written, "the active segment has room ahead of its records");
    append_each(&mut log, 4..=40);
    let files = segment_files(dir.path());
    assert!(files.len() > 2);
    let next: u64 = file_name(&files[1])[..20].parse().unwrap();
    assert_eq!(
        fs::metadata(&files[0]).unwrap().len(),
        frame_offset(1, next),
        "a finished segment ends with its last record, not with zeros"
    );
    drop(log);
    let (log, recovery) = open(dir.path(), 300);
    assert_eq!(recovery.truncation, None);
    assert_eq!(read_all(&log, 0), expected(1..=40));
}

#[test]
fn an_append_cut_short_by_preallocated_zeros_is_cut_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=4);
    append_all(&mut log, 5..=8);
    drop(log);
    // A crash after the first frames of the second append reached the disk: zeros where the
    // rest should be.
    let segment = &segment_files(dir.path())[0];
    let mut data = fs::read(segment).unwrap();
    let cut = frame_offset(1, 7) as usize;
    data[cut..].fill(0);
    fs::write(segment, &data).unwrap();
    let (log, recovery) = open(dir.path(), ONE_SEGMENT);
    let truncation = recovery.truncation.expect("the torn append is cut");
    assert_eq!(truncation.offset, frame_offset(1, 5));
    assert!(truncation.reason.contains("only zero bytes follow"), "{}", truncation.reason);
    assert_eq!(truncation.bytes, frame_offset(1, 7) - frame_offset(1, 5), "the zeros are not counted as damage");
    assert_eq!(read_all(&log, 0), expected(1..=4));
}

#[test]
fn checksum_failure_in_final_record_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_each(&mut log, 1..=10);
    drop(log);
    let segment = &segment_files(dir.path())[0];
    flip_byte(segment, file_len(segment) - 3);
    let (log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.truncated_bytes, frame_len(10));
    assert!(recovery.truncation.unwrap().reason.contains("checksum mismatch"));
    assert_eq!(read_all(&log, 0), expected(1..=9));
}

#[test]
fn flipped_byte_in_early_record_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=50);
    drop(log);
    let segment = &segment_files(dir.path())[0];
    let len_before = file_len(segment);
    let offset = frame_offset(1, 10);
    flip_byte(segment, offset + FRAME_HEADER_LEN + 5);

    let err = Log::open(dir.path(), options(ONE_SEGMENT)).unwrap_err();
    match &err {
        Error::Corrupt { segment: path, offset: at, reason } => {
            assert_eq!(path, segment);
            assert_eq!(*at, offset);
            assert!(reason.contains("checksum mismatch"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("00000000000000000001.log"), "{message}");
    assert!(message.contains(&format!("corrupt at byte offset {offset}:")), "{message}");
    assert!(message.contains("refusing to start"), "{message}");
    // Refusing must not repair anything behind the operator's back.
    assert_eq!(file_len(segment), len_before);
}

#[test]
fn corrupted_length_field_pointing_past_eof_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=50);
    drop(log);
    let segment = &segment_files(dir.path())[0];
    let len_before = file_len(segment);
    let offset = frame_offset(1, 20);
    // The high byte of the length: the frame now claims ~1 GiB, far past the end of the file.
    flip_byte(segment, offset + 3);

    let err = Log::open(dir.path(), options(ONE_SEGMENT)).unwrap_err();
    match &err {
        Error::Corrupt { offset: at, reason, .. } => {
            assert_eq!(*at, offset);
            assert!(reason.contains("valid record (position 21)"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(file_len(segment), len_before);
}

#[test]
fn damaged_tail_of_a_non_last_segment_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 300);
    append_each(&mut log, 1..=40);
    drop(log);
    let files = segment_files(dir.path());
    assert!(files.len() > 2);
    let first = &files[0];
    // The last byte of the first segment's final record: in the last segment this would be a
    // torn tail, here it must be refused.
    flip_byte(first, file_len(first) - 1);

    let err = Log::open(dir.path(), options(300)).unwrap_err();
    match &err {
        Error::Corrupt { segment, reason, .. } => {
            assert_eq!(segment, first);
            assert!(reason.contains("not the last"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(err.to_string().contains("00000000000000000001.log"));
}

#[test]
fn truncated_non_last_segment_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 300);
    append_each(&mut log, 1..=40);
    drop(log);
    let files = segment_files(dir.path());
    let second = &files[1];
    let len = file_len(second);
    fs::OpenOptions::new().write(true).open(second).unwrap().set_len(len - 4).unwrap();
    let err = Log::open(dir.path(), options(300)).unwrap_err();
    assert!(matches!(&err, Error::Corrupt { segment, .. } if segment == second), "{err}");
}

#[test]
fn bad_segment_header_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=5);
    drop(log);
    let segment = &segment_files(dir.path())[0];
    flip_byte(segment, 2);
    let err = Log::open(dir.path(), options(ONE_SEGMENT)).unwrap_err();
    assert!(matches!(&err, Error::Corrupt { offset: 0, reason, .. } if reason.contains("magic")), "{err}");
}

#[test]
fn unsupported_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=5);
    drop(log);
    let segment = &segment_files(dir.path())[0];
    flip_byte(segment, 9);
    let err = Log::open(dir.path(), options(ONE_SEGMENT)).unwrap_err();
    assert!(matches!(&err, Error::UnsupportedFormat { .. }), "{err}");
}

#[test]
fn record_position_not_matching_segment_name_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 5..=9);
    drop(log);
    let segment = &segment_files(dir.path())[0];
    fs::rename(segment, dir.path().join("00000000000000000003.log")).unwrap();
    let err = Log::open(dir.path(), options(ONE_SEGMENT)).unwrap_err();
    assert!(matches!(&err, Error::Corrupt { reason, .. } if reason.contains("file name says 3")), "{err}");
}

#[test]
fn out_of_order_segments_are_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 300);
    append_each(&mut log, 1..=40);
    drop(log);
    let files = segment_files(dir.path());
    // The copy below makes the last segment an earlier one; it must end like one.
    file_len(files.last().unwrap());
    // A copy of the first segment sorted after the others: valid frames, wrong order.
    fs::copy(&files[0], dir.path().join("09999999999999999999.log")).unwrap();
    let err = Log::open(dir.path(), options(300)).unwrap_err();
    assert!(matches!(&err, Error::Corrupt { reason, .. } if reason.contains("not greater")), "{err}");
}

#[test]
fn empty_last_segment_left_by_a_crash_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=5);
    drop(log);
    // The new file below makes this segment an earlier one; it must end like one.
    file_len(&segment_files(dir.path())[0]);
    let header = fs::read(&segment_files(dir.path())[0]).unwrap()[..16].to_vec();
    fs::write(dir.path().join("00000000000000000006.log"), &header).unwrap();

    let (mut log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.segments, 1);
    assert_eq!(recovery.truncated_bytes, 0);
    assert_eq!(segment_files(dir.path()).len(), 1);
    // The removed file's name must not constrain what comes next.
    append_all(&mut log, [8]);
    drop(log);
    let (log, _) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(read_all(&log, 0), expected([1, 2, 3, 4, 5, 8]));
}

#[test]
fn partial_header_of_last_segment_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=5);
    drop(log);
    // The new file below makes this segment an earlier one; it must end like one.
    file_len(&segment_files(dir.path())[0]);
    let torn = dir.path().join("00000000000000000006.log");
    fs::write(&torn, b"BATON").unwrap();

    let (log, recovery) = open(dir.path(), ONE_SEGMENT);
    let truncation = recovery.truncation.unwrap();
    assert!(truncation.segment_removed);
    assert_eq!(truncation.segment, torn);
    assert_eq!(recovery.truncated_bytes, 5);
    assert!(!torn.exists());
    assert_eq!(read_all(&log, 0), expected(1..=5));
}

#[test]
fn unrelated_files_in_the_directory_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), ONE_SEGMENT);
    append_all(&mut log, 1..=3);
    drop(log);
    fs::write(dir.path().join("notes.log"), b"hello").unwrap();
    fs::write(dir.path().join("snapshot-00000000000000000002.bin"), b"x").unwrap();
    let (log, recovery) = open(dir.path(), ONE_SEGMENT);
    assert_eq!(recovery.records, 3);
    assert_eq!(read_all(&log, 0), expected(1..=3));
}

#[test]
fn delete_below_removes_only_whole_old_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 300);
    for batch in (1..=100u64).collect::<Vec<_>>().chunks(10) {
        append_all(&mut log, batch.iter().copied());
    }
    let before = log.segment_count();
    assert!(before > 4);

    assert_eq!(log.delete_below(1).unwrap(), 0);
    let deleted = log.delete_below(50).unwrap();
    assert!(deleted > 0);
    assert_eq!(log.segment_count(), before - deleted);
    let first = log.first_position().unwrap();
    assert!(first <= 50 && first > 1, "{first}");
    assert_eq!(read_all(&log, 0), expected(first..=100));
    assert_eq!(read_all(&log, 50), expected(50..=100));

    // Never the active segment, even when every record is below the bound.
    log.delete_below(u64::MAX).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert_eq!(segment_files(dir.path()).len(), 1);
    let first = log.first_position().unwrap();
    append_all(&mut log, 101..=105);
    drop(log);

    let (log, recovery) = open(dir.path(), 300);
    assert_eq!(recovery.first_position, Some(first));
    assert_eq!(read_all(&log, 0), expected(first..=105));
}

#[test]
fn second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = open(dir.path(), ONE_SEGMENT);
    let err = Log::open(dir.path(), options(ONE_SEGMENT)).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    drop(log);
    Log::open(dir.path(), options(ONE_SEGMENT)).unwrap();
}

#[test]
fn fsync_off_still_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let options = baton_log::Options { segment_bytes_max: 256, fsync: false };
    let (mut log, _) = Log::open(dir.path(), options).unwrap();
    append_all(&mut log, 1..=50);
    drop(log);
    let (log, recovery) = Log::open(dir.path(), options).unwrap();
    assert_eq!(recovery.last_position, Some(50));
    assert_eq!(read_all(&log, 0), expected(1..=50));
}

#[test]
fn corrupt_error_message_reads_as_documented() {
    let err =
        Error::Corrupt { segment: "00000000000000000001.log".into(), offset: 4096, reason: "checksum mismatch".into() };
    assert_eq!(
        err.to_string(),
        "log segment 00000000000000000001.log is corrupt at byte offset 4096: checksum mismatch. \
         This indicates data corruption; refusing to start."
    );
}

#[test]
fn a_segment_retired_before_a_crash_is_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 300);
    append_all(&mut log, 1..=10);
    drop(log);
    let retired = dir.path().join("00000000000000000000.retired");
    std::fs::write(&retired, b"left behind").unwrap();
    let (log, _) = open(dir.path(), 300);
    assert!(!retired.exists());
    assert_eq!(read_all(&log, 0), expected(1..=10));
}
