//! On-disk layout of segment files.
//!
//! ```text
//! segment = header frame* zero*      (zero bytes only in the last segment: written ahead)
//! header  = magic "BATONLOG" (8) | format version u32 LE | reserved u32 (zero)
//! frame   = length word u32 LE | CRC32C(length word ‖ position ‖ payload) u32 LE | position u64 LE | payload
//! ```
//!
//! The length word is the payload length with bit 31 set on every frame of an append except
//! its last ([`CONTINUES`]). Recovery keeps only whole appends, so a crash in the middle of
//! writing one (after a chunk reached the file, before the sync) never leaves half of it.

use std::fmt;

pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"BATONLOG";
pub(crate) const FORMAT_VERSION: u32 = 2;
pub(crate) const SEGMENT_HEADER_LEN: usize = 16;
pub(crate) const FRAME_HEADER_LEN: usize = 16;

/// Length-word flag: more frames of the same append follow this one.
pub(crate) const CONTINUES: u32 = 1 << 31;

/// Largest payload accepted by [`crate::Log::append`].
///
/// The bound is far below what the u32 length field could express so that recovery can
/// recognise an absurd length as damage instead of trying to read gigabytes.
pub const MAX_PAYLOAD_BYTES: usize = 256 << 20;

const SEGMENT_SUFFIX: &str = ".log";
/// Extension of a segment below the retention bound, renamed on its way to being deleted.
pub(crate) const RETIRED_SUFFIX: &str = "retired";
const SEGMENT_DIGITS: usize = 20;

pub(crate) fn segment_header() -> [u8; SEGMENT_HEADER_LEN] {
    let mut header = [0u8; SEGMENT_HEADER_LEN];
    header[..8].copy_from_slice(&SEGMENT_MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header
}

pub(crate) enum HeaderCheck {
    Valid,
    Incomplete,
    BadMagic,
    UnsupportedVersion(u32),
}

pub(crate) fn check_segment_header(data: &[u8]) -> HeaderCheck {
    if data.len() < SEGMENT_HEADER_LEN {
        return HeaderCheck::Incomplete;
    }
    if data[..8] != SEGMENT_MAGIC {
        return HeaderCheck::BadMagic;
    }
    let version = read_u32(data, 8);
    if version != FORMAT_VERSION {
        return HeaderCheck::UnsupportedVersion(version);
    }
    HeaderCheck::Valid
}

pub(crate) fn checksum(length_word: u32, position: u64, payload: &[u8]) -> u32 {
    let header = crc32c::crc32c_append(crc32c::crc32c(&length_word.to_le_bytes()), &position.to_le_bytes());
    crc32c::crc32c_append(header, payload)
}

/// Callers must have checked `payload.len() <= MAX_PAYLOAD_BYTES`.
pub(crate) fn encode_frame(buf: &mut Vec<u8>, position: u64, payload: &[u8], continues: bool) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let word = if continues { len | CONTINUES } else { len };
    buf.reserve(FRAME_HEADER_LEN + payload.len());
    buf.extend_from_slice(&word.to_le_bytes());
    buf.extend_from_slice(&checksum(word, position, payload).to_le_bytes());
    buf.extend_from_slice(&position.to_le_bytes());
    buf.extend_from_slice(payload);
}

/// Why the bytes at some offset are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BadFrame {
    IncompleteHeader { remaining: usize },
    LengthTooLarge { len: u64 },
    PastEnd { needed: u64, remaining: u64 },
    ChecksumMismatch { stored: u32, computed: u32 },
}

impl fmt::Display for BadFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadFrame::IncompleteHeader { remaining } => {
                write!(f, "incomplete frame header ({remaining} of {FRAME_HEADER_LEN} bytes)")
            }
            BadFrame::LengthTooLarge { len } => {
                write!(f, "frame length {len} exceeds the maximum payload of {MAX_PAYLOAD_BYTES} bytes")
            }
            BadFrame::PastEnd { needed, remaining } => {
                write!(f, "frame needs {needed} bytes but only {remaining} remain in the file")
            }
            BadFrame::ChecksumMismatch { stored, computed } => {
                write!(f, "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")
            }
        }
    }
}

pub(crate) struct Frame {
    pub position: u64,
    /// Header plus payload.
    pub len: usize,
    /// More frames of the same append follow.
    pub continues: bool,
}

pub(crate) fn decode_frame(data: &[u8], offset: usize) -> Result<Frame, BadFrame> {
    let rest = data.get(offset..).unwrap_or(&[]);
    if rest.len() < FRAME_HEADER_LEN {
        return Err(BadFrame::IncompleteHeader { remaining: rest.len() });
    }
    let word = read_u32(rest, 0);
    let len = (word & !CONTINUES) as usize;
    if len > MAX_PAYLOAD_BYTES {
        return Err(BadFrame::LengthTooLarge { len: len as u64 });
    }
    let total = FRAME_HEADER_LEN + len;
    if rest.len() < total {
        return Err(BadFrame::PastEnd { needed: total as u64, remaining: rest.len() as u64 });
    }
    let stored = read_u32(rest, 4);
    let position = read_u64(rest, 8);
    let payload = &rest[FRAME_HEADER_LEN..total];
    let computed = checksum(word, position, payload);
    if stored != computed {
        return Err(BadFrame::ChecksumMismatch { stored, computed });
    }
    Ok(Frame { position, len: total, continues: word & CONTINUES != 0 })
}

pub(crate) fn read_u32(data: &[u8], at: usize) -> u32 {
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&data[at..at + 4]);
    u32::from_le_bytes(bytes)
}

pub(crate) fn read_u64(data: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&data[at..at + 8]);
    u64::from_le_bytes(bytes)
}

pub(crate) fn segment_file_name(first_position: u64) -> String {
    format!("{first_position:0width$}{SEGMENT_SUFFIX}", width = SEGMENT_DIGITS)
}

/// Only exact `<20 digits>.log` names count, so stray files (editor backups, snapshots kept
/// in the same directory) are never mistaken for segments and numeric order equals name order.
pub(crate) fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != SEGMENT_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
