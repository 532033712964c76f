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

pub fn append_bytes(path: &Path, bytes: &[u8]) {
    let mut file = OpenOptions::new().append(true).open(path).expect("open file");
    file.write_all(bytes).expect("append bytes");
}

pub fn file_len(path: &Path) -> u64 {
    fs::metadata(path).expect("metadata").len()
}
