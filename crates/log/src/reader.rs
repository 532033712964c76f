use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;

use crate::error::{Error, Result, corrupt, io_err};
use crate::format::{
    CONTINUES, FORMAT_VERSION, FRAME_HEADER_LEN, HeaderCheck, MAX_PAYLOAD_BYTES, SEGMENT_HEADER_LEN,
    check_segment_header, checksum, read_u32, read_u64,
};

#[derive(Debug, Clone)]
pub(crate) struct SegmentView {
    pub path: PathBuf,
    /// Bytes known to hold complete, synced frames; the reader never looks past them.
    pub end: u64,
}

/// Iterator over durable records, returned by [`crate::Log::read_from`].
///
/// It owns everything it needs (it does not borrow the `Log`), so it can be handed to another
/// thread. It sees the records that were durable when it was created and nothing appended
/// later. If [`crate::Log::delete_below`] removes a segment it has not opened yet, it yields
/// an I/O error. After the first error it yields nothing more.
#[derive(Debug)]
pub struct Reader {
    from: u64,
    pending: std::vec::IntoIter<SegmentView>,
    current: Option<Cursor>,
    finished: bool,
}

#[derive(Debug)]
struct Cursor {
    path: PathBuf,
    file: BufReader<File>,
    offset: u64,
    end: u64,
}

impl Reader {
    pub(crate) fn new(from: u64, segments: Vec<SegmentView>) -> Reader {
        Reader { from, pending: segments.into_iter(), current: None, finished: false }
    }

    fn open(view: SegmentView) -> Result<Cursor> {
        let path = view.path;
        let file = File::open(&path).map_err(io_err("open log segment for reading", &path))?;
        let mut file = BufReader::with_capacity(256 << 10, file);
        let mut header = [0u8; SEGMENT_HEADER_LEN];
        file.read_exact(&mut header).map_err(io_err("read log segment header", &path))?;
        match check_segment_header(&header) {
            HeaderCheck::Valid => {}
            HeaderCheck::UnsupportedVersion(found) => {
                return Err(Error::UnsupportedFormat { path, found, supported: FORMAT_VERSION });
            }
            HeaderCheck::Incomplete | HeaderCheck::BadMagic => {
                return Err(corrupt(&path, 0, "bad segment header"));
            }
        }
        Ok(Cursor { path, file, offset: SEGMENT_HEADER_LEN as u64, end: view.end })
    }

    fn next_record(&mut self) -> Result<Option<(u64, Vec<u8>)>> {
        loop {
            let cursor = match &mut self.current {
                Some(cursor) if cursor.offset < cursor.end => cursor,
                _ => match self.pending.next() {
                    Some(view) => {
                        self.current = Some(Self::open(view)?);
                        continue;
                    }
                    None => return Ok(None),
                },
            };
            let frame_offset = cursor.offset;
            let mut header = [0u8; FRAME_HEADER_LEN];
            cursor.file.read_exact(&mut header).map_err(io_err("read log segment", &cursor.path))?;
            let word = read_u32(&header, 0);
            let len = u64::from(word & !CONTINUES);
            let stored = read_u32(&header, 4);
            let position = read_u64(&header, 8);
            let frame_end = frame_offset + FRAME_HEADER_LEN as u64 + len;
            // Recovery validated everything up to `end`, so a frame that overruns it means the
            // file changed underneath us.
            if len > MAX_PAYLOAD_BYTES as u64 || frame_end > cursor.end {
                return Err(corrupt(
                    &cursor.path,
                    frame_offset,
                    format!("frame length {len} runs past the durable end of the segment"),
                ));
            }
            cursor.offset = frame_end;
            if position < self.from {
                let skip = i64::try_from(len).unwrap_or(i64::MAX);
                cursor.file.seek_relative(skip).map_err(io_err("seek in log segment", &cursor.path))?;
                continue;
            }
            let mut payload = vec![0u8; len as usize];
            cursor.file.read_exact(&mut payload).map_err(io_err("read log segment", &cursor.path))?;
            let computed = checksum(word, position, &payload);
            if computed != stored {
                return Err(corrupt(
                    &cursor.path,
                    frame_offset,
                    format!("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"),
                ));
            }
            return Ok(Some((position, payload)));
        }
    }
}

impl Iterator for Reader {
    type Item = Result<(u64, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.next_record() {
            Ok(Some(record)) => Some(Ok(record)),
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(error) => {
                self.finished = true;
                Some(Err(error))
            }
        }
    }
}

impl std::iter::FusedIterator for Reader {}
