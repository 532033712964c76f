//! Atomic snapshot files: `snapshot-<position, 20 digits>.bin`.
//!
//! ```text
//! file   = header content
//! header = magic "BATONSNP" (8) | format version u32 LE | CRC32C(content) u32 LE
//!          | position u64 LE | content length u64 LE
//! ```
//!
//! A snapshot is written to a temporary file, synced, renamed into place and the directory
//! synced, so a crash leaves either the complete new file or none. Readers still verify every
//! file, because disks rot and operators copy things around.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, io_err};
use crate::format::{read_u32, read_u64};
use crate::sync_dir;

const MAGIC: [u8; 8] = *b"BATONSNP";
const VERSION: u32 = 1;
/// Size of the header in front of the content.
pub const HEADER_LEN: usize = 32;

const PREFIX: &str = "snapshot-";
const SUFFIX: &str = ".bin";
const TMP_SUFFIX: &str = ".bin.tmp";
const DIGITS: usize = 20;

/// A valid snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The log position the state corresponds to; replay from the record after it.
    pub position: u64,
    pub bytes: Vec<u8>,
    pub path: PathBuf,
}

/// A snapshot file that [`latest`] passed over because it failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedSnapshot {
    pub path: PathBuf,
    pub position: u64,
    pub reason: String,
}

/// Result of [`latest`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Latest {
    /// The newest valid snapshot, if there is one.
    pub snapshot: Option<Snapshot>,
    /// Newer snapshot files that were invalid, newest first. Not empty means something damaged
    /// them: the caller should tell an operator.
    pub skipped: Vec<SkippedSnapshot>,
}

/// File name of the snapshot at `position`.
pub fn file_name(position: u64) -> String {
    format!("{PREFIX}{position:0width$}{SUFFIX}", width = DIGITS)
}

/// Atomically writes a snapshot of the state at `position`, replacing any snapshot already at
/// that position. Creates `dir` if needed. Returns the path of the new file.
pub fn write(dir: impl AsRef<Path>, position: u64, bytes: &[u8]) -> Result<PathBuf> {
    let dir = dir.as_ref();
    fs::create_dir_all(dir).map_err(io_err("create snapshot directory", dir))?;
    let path = dir.join(file_name(position));
    let tmp = dir.join(tmp_file_name(position));

    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    header[12..16].copy_from_slice(&crc32c::crc32c(bytes).to_le_bytes());
    header[16..24].copy_from_slice(&position.to_le_bytes());
    header[24..32].copy_from_slice(&(bytes.len() as u64).to_le_bytes());

    // truncate: a temp file left by an earlier crash at the same position is garbage.
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io_err("create snapshot temp file", &tmp))?;
    file.write_all(&header).and_then(|()| file.write_all(bytes)).map_err(io_err("write snapshot temp file", &tmp))?;
    file.sync_all().map_err(io_err("sync snapshot temp file", &tmp))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(io_err("rename snapshot into place", &path))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Returns the newest snapshot that passes validation, falling back to older ones; invalid
/// files are reported in [`Latest::skipped`], never deleted. A missing `dir` means no
/// snapshots. Only I/O failures (other than a missing directory) are errors.
pub fn latest(dir: impl AsRef<Path>) -> Result<Latest> {
    let dir = dir.as_ref();
    let mut result = Latest::default();
    for (position, path) in list(dir)?.into_iter().rev() {
        match load(&path, position)? {
            Ok(bytes) => {
                result.snapshot = Some(Snapshot { position, bytes, path });
                break;
            }
            Err(reason) => result.skipped.push(SkippedSnapshot { path, position, reason }),
        }
    }
    Ok(result)
}

/// Keeps the `keep` newest valid snapshots and deletes every snapshot file older than the
/// oldest of them, plus leftover temp files below the newest. Invalid files newer than that
/// are left for inspection. If fewer than `keep` valid snapshots exist nothing is deleted, so
/// pruning can never remove the last good snapshot; `keep == 0` deletes all snapshots.
/// Returns the deleted paths.
pub fn prune(dir: impl AsRef<Path>, keep: usize) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    let snapshots = list(dir)?;
    // Newest first, at most `keep` of them.
    let mut kept = Vec::with_capacity(keep);
    if keep > 0 {
        for (position, path) in snapshots.iter().rev() {
            if load(path, *position)?.is_ok() {
                kept.push(*position);
                if kept.len() == keep {
                    break;
                }
            }
        }
    }
    let delete_snapshot =
        |position: u64| keep == 0 || (kept.len() == keep && kept.last().is_some_and(|&oldest| position < oldest));
    let delete_tmp = |position: u64| keep == 0 || kept.first().is_some_and(|&newest| position < newest);

    let mut removed = Vec::new();
    for (position, path) in snapshots {
        if delete_snapshot(position) {
            remove(&path)?;
            removed.push(path);
        }
    }
    for (position, path) in list_tmp(dir)? {
        if delete_tmp(position) {
            remove(&path)?;
            removed.push(path);
        }
    }
    if !removed.is_empty() {
        sync_dir(dir)?;
    }
    Ok(removed)
}

fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_err("delete snapshot", path)(error)),
    }
}

/// Outer error: I/O. Inner error: why the file is not a valid snapshot.
fn load(path: &Path, position: u64) -> Result<Result<Vec<u8>, String>> {
    let mut data = fs::read(path).map_err(io_err("read snapshot", path))?;
    if data.len() < HEADER_LEN {
        return Ok(Err(format!("file is {} bytes, shorter than the {HEADER_LEN}-byte header", data.len())));
    }
    if data[..8] != MAGIC {
        return Ok(Err("bad magic bytes (not a snapshot file)".to_string()));
    }
    let version = read_u32(&data, 8);
    if version != VERSION {
        return Ok(Err(format!("format version {version}, but this build only understands version {VERSION}")));
    }
    let stored = read_u32(&data, 12);
    let header_position = read_u64(&data, 16);
    let len = read_u64(&data, 24);
    if header_position != position {
        return Ok(Err(format!("header says position {header_position} but the file name says {position}")));
    }
    let actual = (data.len() - HEADER_LEN) as u64;
    if len != actual {
        return Ok(Err(format!("header says {len} content bytes but the file holds {actual}")));
    }
    let computed = crc32c::crc32c(&data[HEADER_LEN..]);
    if stored != computed {
        return Ok(Err(format!("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")));
    }
    data.drain(..HEADER_LEN);
    Ok(Ok(data))
}

fn tmp_file_name(position: u64) -> String {
    format!("{PREFIX}{position:0width$}{TMP_SUFFIX}", width = DIGITS)
}

fn parse_name(name: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(suffix)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Snapshot files sorted oldest first.
fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    list_with_suffix(dir, SUFFIX)
}

fn list_tmp(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    list_with_suffix(dir, TMP_SUFFIX)
}

fn list_with_suffix(dir: &Path, suffix: &str) -> Result<Vec<(u64, PathBuf)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_err("list snapshot directory", dir)(error)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("list snapshot directory", dir))?;
        if let Some(position) = entry.file_name().to_str().and_then(|name| parse_name(name, suffix)) {
            found.push((position, entry.path()));
        }
    }
    found.sort_unstable_by_key(|(position, _)| *position);
    Ok(found)
}
