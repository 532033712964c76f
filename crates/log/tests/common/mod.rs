#![allow(dead_code)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use baton_log::{Log, Options, Recovery};

pub const SEGMENT_HEADER_LEN: u64 = 16;
pub const FRAME_HEADER_LEN: u64 = 16;

pub fn options(segment_bytes_max: u64) -> Options {
    Options { segment_bytes_max, fsync: true }
}

pub fn open(dir: &Path, segment_bytes_max: u64) -> (Log, Recovery) {
    Log::open(dir, options(segment_bytes_max)).expect("open log")
}

/// Deterministic payloads of varying length, so frame boundaries are not all aligned.
pub fn payload(position: u64) -> Vec<u8> {
    let len = 20 + (position % 13) as usize;
    (0..len).map(|i| (position as usize * 31 + i) as u8).collect()
}

pub fn frame_len(position: u64) -> u64 {
    FRAME_HEADER_LEN + payload(position).len() as u64
}

pub fn append_all(log: &mut Log, positions: impl IntoIterator<Item = u64>) {
    let records: Vec<(u64, Vec<u8>)> = positions.into_iter().map(|p| (p, payload(p))).collect();
    log.append(&records).expect("append");
    log.sync().expect("sync");
}

/// Appends and syncs each record on its own, so every record is a whole append.
pub fn append_each(log: &mut Log, positions: impl IntoIterator<Item = u64>) {
    for position in positions {
        append_all(log, [position]);
    }
}

pub fn read_all(log: &Log, from: u64) -> Vec<(u64, Vec<u8>)> {
    log.read_from(from).collect::<Result<Vec<_>, _>>().expect("read log")
}

pub fn expected(positions: impl IntoIterator<Item = u64>) -> Vec<(u64, Vec<u8>)> {
    positions.into_iter().map(|p| (p, payload(p))).collect()
}

pub fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list dir")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    files.sort();
    files
}

pub fn file_name(path: &Path) -> String {
    path.file_name().expect("file name").to_string_lossy().into_owned()
}

pub fn flip_byte(path: &Path, offset: u64) {
    let mut data = fs::read(path).expect("read file");
    data[offset as usize] ^= 0x40;
    fs::write(path, data).expect("write file");
}

/// Writes `bytes` right after the segment's last frame, where a crash would have left them.
pub fn append_bytes(path: &Path, bytes: &[u8]) {
    file_len(path);
    let mut file = OpenOptions::new().append(true).open(path).expect("open file");
    file.write_all(bytes).expect("append bytes");
}

/// The segment's length up to its last frame, after cutting off the zero bytes the log writes
/// ahead of its records: tests that damage a segment's end model a crash at the end of what was
/// written, and some remove the segment's header-only successor, which makes this segment the
/// last again.
pub fn file_len(path: &Path) -> u64 {
    let data = fs::read(path).expect("read file");
    let mut end = (SEGMENT_HEADER_LEN as usize).min(data.len());
    while end + FRAME_HEADER_LEN as usize <= data.len() {
        let header = &data[end..end + FRAME_HEADER_LEN as usize];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) & !(1 << 31);
        end += FRAME_HEADER_LEN as usize + len as usize;
    }
    let end = end.min(data.len()) as u64;
    OpenOptions::new().write(true).open(path).expect("open file").set_len(end).expect("trim file");
    end
}
