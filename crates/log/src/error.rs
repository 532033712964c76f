use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call failed. `action` says what was being attempted.
    #[error("failed to {action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: io::Error },

    /// Bytes on disk are not what this crate wrote, somewhere a crash cannot explain
    /// (anywhere but the unsynced tail of the last segment).
    #[error(
        "log segment {} is corrupt at byte offset {offset}: {reason}. \
         This indicates data corruption; refusing to start.",
        segment.display()
    )]
    Corrupt { segment: PathBuf, offset: u64, reason: String },

    /// A segment was written by a build with a different on-disk format.
    #[error(
        "log segment {} has format version {found}, but this build only understands version {supported}",
        path.display()
    )]
    UnsupportedFormat { path: PathBuf, found: u32, supported: u32 },

    /// The caller tried to append a position that is not greater than the last one appended.
    #[error(
        "cannot append record at position {position}: positions must strictly increase and the previous record is at {previous}"
    )]
    NonIncreasingPosition { previous: u64, position: u64 },

    /// A payload is larger than [`crate::MAX_PAYLOAD_BYTES`].
    #[error("cannot append record at position {position}: its payload is {len} bytes, more than the maximum of {max}")]
    RecordTooLarge { position: u64, len: usize, max: usize },

    /// Another `Log` (in this or another process) has the directory open.
    #[error("log directory is already in use: lock file {} is held by another Log", path.display())]
    Locked { path: PathBuf },

    /// An earlier write or sync failed. After a failed fsync the kernel may have dropped the
    /// dirty pages, so retrying could report success for data that never reached the disk.
    #[error("an earlier write or sync of the log failed, so what is on disk is unknown; reopen the log to recover")]
    Poisoned,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io { action, path: path.to_path_buf(), source }
}

pub(crate) fn corrupt(segment: &Path, offset: u64, reason: impl Into<String>) -> Error {
    Error::Corrupt { segment: segment.to_path_buf(), offset, reason: reason.into() }
}
