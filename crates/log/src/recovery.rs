//! Validation of every segment on open, and repair of a torn tail.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Result, corrupt, io_err};
use crate::format::{
    BadFrame, CONTINUES, FRAME_HEADER_LEN, HeaderCheck, MAX_PAYLOAD_BYTES, SEGMENT_HEADER_LEN, check_segment_header,
    decode_frame, parse_segment_file_name, read_u32, read_u64, segment_header,
};
use crate::{Error, SegmentState, sync_dir};

/// What [`crate::Log::open`] found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Position of the first record in the log, if any.
    pub first_position: Option<u64>,
    /// Position of the last valid record in the log, if any.
    pub last_position: Option<u64>,
    /// Valid records found across all segments.
    pub records: u64,
    /// Segment files in the log after recovery.
    pub segments: usize,
    /// Damaged bytes cut off the end of the last segment (0 when the log was clean); zero bytes
    /// the log had written ahead are not counted.
    pub truncated_bytes: u64,
    /// Details of the cut, when one was made.
    pub truncation: Option<Truncation>,
}

/// A torn tail that recovery removed: the unsynced end of a write interrupted by a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    pub segment: PathBuf,
    /// Byte offset the segment was cut at. The file was deleted when nothing valid remained.
    pub offset: u64,
    /// As [`Recovery::truncated_bytes`].
    pub bytes: u64,
    pub reason: String,
    pub segment_removed: bool,
}

pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list log directory", dir))? {
        let entry = entry.map_err(io_err("list log directory", dir))?;
        let name = entry.file_name();
        if let Some(base) = name.to_str().and_then(parse_segment_file_name) {
            segments.push((base, entry.path()));
        } else if entry.path().extension().is_some_and(|ext| ext == crate::format::RETIRED_SUFFIX) {
            // Retired before a crash and not yet removed (or being removed right now by the
            // thread of a log this process closed a moment ago).
            match fs::remove_file(entry.path()) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_err("delete retired log segment", &entry.path())(error));
                }
                _ => {}
            }
        }
    }
    segments.sort_unstable_by_key(|(base, _)| *base);
    Ok(segments)
}

struct Scan {
    first: Option<u64>,
    last: Option<u64>,
    records: u64,
    /// End of the last valid frame.
    valid_end: usize,
    torn: Option<Torn>,
}

struct Torn {
    offset: usize,
    reason: String,
}

pub(crate) fn recover(dir: &Path) -> Result<(Vec<SegmentState>, Recovery)> {
    let found = list_segments(dir)?;
    let mut segments = Vec::with_capacity(found.len());
    let mut recovery = Recovery::default();
    let mut prev: Option<u64> = None;
    let count = found.len();

    for (index, (base, path)) in found.into_iter().enumerate() {
        let is_last = index + 1 == count;
        let data = fs::read(&path).map_err(io_err("read log segment", &path))?;
        let scan = scan_segment(&path, &data, base, prev, is_last)?;

        if let Some(torn) = &scan.torn {
            // The damaged bytes, not the preallocated zeros after them.
            let bytes = data[torn.offset..].iter().rposition(|&b| b != 0).map_or(0, |last| last + 1) as u64;
            let remove = scan.records == 0;
            if remove {
                fs::remove_file(&path).map_err(io_err("remove torn log segment", &path))?;
            } else {
                truncate(&path, torn.offset as u64)?;
            }
            sync_dir(dir)?;
            recovery.truncated_bytes = bytes;
            recovery.truncation = Some(Truncation {
                segment: path.clone(),
                offset: torn.offset as u64,
                bytes,
                reason: torn.reason.clone(),
                segment_removed: remove,
            });
            if remove {
                continue;
            }
        } else if scan.records == 0 {
            // Only the last segment can get here (scan_segment refuses empty earlier ones): a
            // crash between creating the file and writing its first frame. Its name promises a
            // first position the caller may never append, so it goes.
            fs::remove_file(&path).map_err(io_err("remove empty log segment", &path))?;
            sync_dir(dir)?;
            continue;
        }

        recovery.records += scan.records;
        if recovery.first_position.is_none() {
            recovery.first_position = scan.first;
        }
        prev = scan.last;
        segments.push(SegmentState {
            base,
            path,
            len: scan.valid_end as u64,
            last: scan.last,
            durable_len: scan.valid_end as u64,
            durable_last: scan.last,
        });
    }

    recovery.last_position = prev;
    recovery.segments = segments.len();
    Ok((segments, recovery))
}

fn truncate(path: &Path, len: u64) -> Result<()> {
    let file = OpenOptions::new().write(true).open(path).map_err(io_err("open log segment for truncation", path))?;
    file.set_len(len).map_err(io_err("truncate torn tail of log segment", path))?;
    // sync_all, not sync_data: the new size is the whole point.
    file.sync_all().map_err(io_err("sync truncated log segment", path))
}

fn scan_segment(path: &Path, data: &[u8], base: u64, prev_in_log: Option<u64>, is_last: bool) -> Result<Scan> {
    match check_segment_header(data) {
        HeaderCheck::Valid => {}
        HeaderCheck::Incomplete if is_last && could_be_torn_header(data) => {
            return Ok(Scan {
                first: None,
                last: None,
                records: 0,
                valid_end: 0,
                torn: Some(Torn {
                    offset: 0,
                    reason: format!("incomplete segment header ({} of {SEGMENT_HEADER_LEN} bytes)", data.len()),
                }),
            });
        }
        HeaderCheck::Incomplete => {
            return Err(corrupt(
                path,
                0,
                format!("segment header is incomplete ({} of {SEGMENT_HEADER_LEN} bytes)", data.len()),
            ));
        }
        // A crash can leave a freshly created file zero-filled on some file systems.
        HeaderCheck::BadMagic if is_last && data.iter().all(|&b| b == 0) => {
            return Ok(Scan {
                first: None,
                last: None,
                records: 0,
                valid_end: 0,
                torn: Some(Torn { offset: 0, reason: "segment contains only zero bytes".to_string() }),
            });
        }
        HeaderCheck::BadMagic => {
            return Err(corrupt(path, 0, "bad segment header (magic bytes are not BATONLOG)"));
        }
        HeaderCheck::UnsupportedVersion(found) => {
            return Err(Error::UnsupportedFormat {
                path: path.to_path_buf(),
                found,
                supported: crate::format::FORMAT_VERSION,
            });
        }
    }

    let mut scan = Scan { first: None, last: None, records: 0, valid_end: SEGMENT_HEADER_LEN, torn: None };
    // Frames of the append being read; they count only once its last frame is read.
    let mut open = Open { records: 0, last: None };
    let mut offset = SEGMENT_HEADER_LEN;
    while offset < data.len() {
        let frame = match decode_frame(data, offset) {
            Ok(frame) => frame,
            Err(bad) if is_last && data[offset..].iter().all(|&b| b == 0) => {
                // The log preallocates the last segment with zero bytes: where they begin, the
                // log ends. An append cut short by them never finished and is torn.
                if open.records > 0 {
                    scan.torn = Some(Torn {
                        offset: scan.valid_end,
                        reason: open.describe(&format!("{bad}; only zero bytes follow")),
                    });
                }
                return Ok(scan);
            }
            Err(bad) => {
                let last_seen = open.last.or(scan.last);
                let mut torn = classify_bad_frame(path, data, offset, &bad, base, last_seen, is_last)?;
                if open.records > 0 {
                    torn = Torn { offset: scan.valid_end, reason: open.describe(&torn.reason) };
                }
                scan.torn = Some(torn);
                return Ok(scan);
            }
        };
        // The checksum held, so these bytes are exactly what was written: an ordering
        // problem here is never a torn write.
        match open.last.or(scan.last).or(prev_in_log) {
            Some(previous) if frame.position <= previous => {
                return Err(corrupt(
                    path,
                    offset as u64,
                    format!(
                        "record position {} is not greater than the previous record's position {previous}",
                        frame.position
                    ),
                ));
            }
            _ => {}
        }
        if scan.first.is_none() && open.records == 0 && frame.position != base {
            return Err(corrupt(
                path,
                offset as u64,
                format!("first record has position {} but the segment's file name says {base}", frame.position),
            ));
        }
        offset += frame.len;
        open.records += 1;
        open.last = Some(frame.position);
        if !frame.continues {
            if scan.first.is_none() {
                scan.first = Some(base);
            }
            scan.last = open.last;
            scan.records += open.records;
            scan.valid_end = offset;
            open = Open { records: 0, last: None };
        }
    }

    if open.records > 0 {
        // Appends never span segments and a segment is synced before the next is created, so
        // only the last segment can end inside one.
        if !is_last {
            return Err(corrupt(
                path,
                scan.valid_end as u64,
                "the segment ends inside an append although later segments exist",
            ));
        }
        scan.torn = Some(Torn { offset: scan.valid_end, reason: open.describe("the segment ends there") });
        return Ok(scan);
    }
    if scan.records == 0 && !is_last {
        return Err(corrupt(path, SEGMENT_HEADER_LEN as u64, "segment holds no records although later segments exist"));
    }
    Ok(scan)
}

/// The frames of an append whose last frame has not been read yet.
struct Open {
    records: u64,
    last: Option<u64>,
}

impl Open {
    fn describe(&self, what_followed: &str) -> String {
        format!(
            "incomplete append: {} record(s) up to position {} were written without the rest of \
             their append ({what_followed})",
            self.records,
            self.last.unwrap_or_default()
        )
    }
}

/// Decides whether a bad frame is the torn end of an interrupted write (repairable) or
/// damage to data that was once durable (fatal).
///
/// A crash only ever damages bytes after the last successful sync, and those are always at
/// the end of the last segment. So the frame is torn only if it is in the last segment and no
/// valid frame follows it anywhere. Looking for any valid frame, not just one at the bad
/// frame's claimed end, also catches a bit flip in a length field that makes an early frame
/// appear to run past the end of the file.
fn classify_bad_frame(
    path: &Path,
    data: &[u8],
    offset: usize,
    bad: &BadFrame,
    base: u64,
    last_in_segment: Option<u64>,
    is_last: bool,
) -> Result<Torn> {
    if !is_last {
        return Err(corrupt(path, offset as u64, format!("{bad} in a segment that is not the last one")));
    }
    let lower = match last_in_segment {
        Some(last) => last.saturating_add(1),
        None => base,
    };
    if let Some((next_offset, position)) = find_valid_frame(data, offset + 1, lower) {
        return Err(corrupt(
            path,
            offset as u64,
            format!("{bad}, but a valid record (position {position}) follows at byte offset {next_offset}"),
        ));
    }
    Ok(Torn { offset, reason: bad.to_string() })
}

/// Positions in one log are dense in practice; a candidate far beyond the last good position
/// is almost certainly random bytes that happened to look like a header. The window keeps the
/// number of checksum computations over garbage negligible.
const RESYNC_POSITION_WINDOW: u64 = 1 << 32;

fn find_valid_frame(data: &[u8], from: usize, lower: u64) -> Option<(usize, u64)> {
    let upper = lower.saturating_add(RESYNC_POSITION_WINDOW);
    let mut offset = from;
    while offset + FRAME_HEADER_LEN <= data.len() {
        let len = (read_u32(data, offset) & !CONTINUES) as usize;
        let position = read_u64(data, offset + 8);
        let plausible = len <= MAX_PAYLOAD_BYTES
            && offset + FRAME_HEADER_LEN + len <= data.len()
            && (lower..=upper).contains(&position);
        if plausible && decode_frame(data, offset).is_ok() {
            return Some((offset, position));
        }
        offset += 1;
    }
    None
}

fn could_be_torn_header(data: &[u8]) -> bool {
    let expected = segment_header();
    data.iter().all(|&b| b == 0) || expected.starts_with(data)
}
