//! `baton-log` is the durable storage under one partition: an append-only, segmented log of
//! opaque records `(position, payload)` plus atomic snapshot files ([`snapshot`]). The
//! partition thread appends the records of a whole batch of commands, calls [`Log::sync`]
//! once (group commit) and only then replies; on restart it loads the newest snapshot and
//! replays [`Log::read_from`] the snapshot's position.
//!
//! It must never interpret payloads (it knows nothing of the engine's record types), never
//! reorder, rewrite or drop a record that was synced, and never silently skip damaged data:
//! the only thing recovery may remove is the torn, never-acknowledged tail of the last segment;
//! anything else is reported as [`Error::Corrupt`] and the log refuses to open. It uses plain
//! blocking `std::fs` and no async runtime, because it is driven from the partition thread.
//!
//! Crash safety assumes [`Options::fsync`] is on. A segment is synced before the next one is
//! created, so a damaged frame can be explained by a crash only at the end of the last segment.
//! The last segment is written ahead with zero bytes (see `PREALLOCATE_BYTES`), which recovery
//! reads as the end of the log; a segment loses them before the next one is created.

mod error;
mod format;
mod reader;
mod recovery;
pub mod snapshot;

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{Error, Result};
pub use format::MAX_PAYLOAD_BYTES;
pub use reader::Reader;
pub use recovery::{Recovery, Truncation};

use error::io_err;
use format::{FRAME_HEADER_LEN, SEGMENT_HEADER_LEN, encode_frame, segment_file_name, segment_header};
use reader::SegmentView;

/// Tuning knobs for [`Log::open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// A new segment is started when an append would push the current one past this size. An
    /// append is never split across segments, so one larger than this gets a segment of its own.
    pub segment_bytes_max: u64,
    /// When false, [`Log::sync`] only hands data to the OS without `fdatasync`. That survives
    /// a process crash but NOT a power loss or kernel crash, and recovery may then find damage
    /// it must refuse. Only for benchmarks and tests.
    pub fsync: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { segment_bytes_max: 64 << 20, fsync: true }
    }
}

/// Pending bytes are handed to the OS once they reach this size, bounding memory when a caller
/// appends a lot between syncs.
const WRITE_CHUNK: usize = 1 << 20;

/// The active segment is extended with real zero bytes this much at a time, ahead of the
/// records. An `fdatasync` after an append that grew the file must also commit the new size and
/// block allocation to the file system's journal; overwriting blocks already allocated needs
/// only the data written, which takes about half as long here. Recovery reads zero bytes after
/// the last record as the end of the log (see the `recovery` module).
const PREALLOCATE_BYTES: u64 = 1 << 20;

const LOCK_FILE: &str = "LOCK";

#[derive(Debug, Clone)]
pub(crate) struct SegmentState {
    /// First position in the segment; also its file name.
    pub base: u64,
    pub path: PathBuf,
    /// Length including frames still buffered in memory.
    pub len: u64,
    pub last: Option<u64>,
    pub durable_len: u64,
    pub durable_last: Option<u64>,
}

#[derive(Debug)]
struct Active {
    /// Shared with the sync tickets, which sync through it on another thread.
    file: Arc<File>,
    pending: Vec<u8>,
    /// The file's length: zero bytes, written ahead (see [`PREALLOCATE_BYTES`]), from where the
    /// records handed to the OS end up to here.
    allocated: u64,
}

/// What [`Log::prepare_sync`] left to do: an `fdatasync` of the active segment (through its own
/// handle, so it can run on any thread) and of the directory when a segment was created.
#[derive(Debug)]
pub struct SyncTicket {
    file: Option<Arc<File>>,
    dir: Option<PathBuf>,
    base: u64,
    len: u64,
    last: Option<u64>,
    path: PathBuf,
}

impl SyncTicket {
    pub fn sync(&self) -> Result<()> {
        if let Some(file) = &self.file {
            file.sync_data().map_err(io_err("sync log segment", &self.path))?;
        }
        if let Some(dir) = &self.dir {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

/// An open log. See the crate documentation.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    options: Options,
    /// Ordered by position; the last one, if any, is the segment being appended to.
    segments: Vec<SegmentState>,
    active: Option<Active>,
    last_appended: Option<u64>,
    /// A segment was created since the directory was last synced.
    dir_dirty: bool,
    poisoned: bool,
    /// Held for the lifetime of the Log; the OS releases the lock when it is dropped.
    _lock: File,
}

impl Log {
    /// Opens (creating if needed) the log in `dir`, validating every frame of every segment.
    ///
    /// A torn tail on the last segment is cut off and described in the returned
    /// [`Recovery`]; any other damage fails with [`Error::Corrupt`].
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<(Log, Recovery)> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(io_err("create log directory", &dir))?;
        let lock = lock_dir(&dir)?;
        let (segments, recovery) = recovery::recover(&dir)?;

        let active = match segments.last() {
            Some(segment) => {
                let mut file = OpenOptions::new()
                    .write(true)
                    .open(&segment.path)
                    .map_err(io_err("open log segment for appending", &segment.path))?;
                let allocated = file.metadata().map_err(io_err("read the length of log segment", &segment.path))?.len();
                file.seek(SeekFrom::Start(segment.len)).map_err(io_err("seek in log segment", &segment.path))?;
                Some(Active { file: Arc::new(file), pending: Vec::new(), allocated: allocated.max(segment.len) })
            }
            None => None,
        };
        let log = Log {
            dir,
            options,
            last_appended: recovery.last_position,
            segments,
            active,
            dir_dirty: false,
            poisoned: false,
            _lock: lock,
        };
        Ok((log, recovery))
    }

    /// Appends records in order, as one unit: they are buffered and become durable at the next
    /// [`Log::sync`], and after a crash recovery finds either all of them or none.
    ///
    /// The whole batch is validated first: if any position does not strictly increase or any
    /// payload is too large, nothing is appended and the log stays usable.
    pub fn append<B: AsRef<[u8]>>(&mut self, records: &[(u64, B)]) -> Result<()> {
        self.check_poisoned()?;
        let mut previous = self.last_appended;
        for (position, payload) in records {
            let len = payload.as_ref().len();
            if len > MAX_PAYLOAD_BYTES {
                return Err(Error::RecordTooLarge { position: *position, len, max: MAX_PAYLOAD_BYTES });
            }
            if let Some(previous) = previous
                && *position <= previous
            {
                return Err(Error::NonIncreasingPosition { previous, position: *position });
            }
            previous = Some(*position);
        }
        let Some((first, _)) = records.first() else {
            return Ok(());
        };
        // An append never spans segments: recovery can then drop an incomplete one by cutting
        // the last segment alone, and every segment but the last ends on a whole append.
        let bytes: u64 = records.iter().map(|(_, payload)| (FRAME_HEADER_LEN + payload.as_ref().len()) as u64).sum();
        let roll = match self.segments.last() {
            None => true,
            Some(segment) => {
                segment.last.is_some() && segment.len.saturating_add(bytes) > self.options.segment_bytes_max
            }
        };
        let last_index = records.len() - 1;
        let result = (if roll { self.roll(*first) } else { Ok(()) }).and_then(|()| {
            records.iter().enumerate().try_for_each(|(index, (position, payload))| {
                self.write_record(*position, payload.as_ref(), index < last_index)
            })
        });
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    /// Appends a single record; see [`Log::append`].
    pub fn append_one(&mut self, position: u64, payload: &[u8]) -> Result<()> {
        self.append(&[(position, payload)])
    }

    /// Makes everything appended so far durable (`fdatasync`, plus a directory fsync when a
    /// segment was created). Reply to clients only after this returns `Ok`.
    ///
    /// After a failure the log is poisoned: every later call fails with [`Error::Poisoned`]
    /// and it must be reopened, which recovers whatever actually reached the disk.
    pub fn sync(&mut self) -> Result<()> {
        self.check_poisoned()?;
        let result = self.sync_inner();
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    /// The first half of [`Log::sync`], so that the slow half can run on another thread while
    /// this one goes on appending: writes everything appended so far to the operating system and
    /// returns a ticket whose [`SyncTicket::sync`] makes it durable. Hand the ticket back to
    /// [`Log::synced`] afterwards. Records appended after this call are not covered.
    pub fn prepare_sync(&mut self) -> Result<SyncTicket> {
        self.check_poisoned()?;
        let (Some(active), Some(segment)) = (self.active.as_mut(), self.segments.last_mut()) else {
            return Ok(SyncTicket { file: None, dir: None, base: 0, len: 0, last: None, path: PathBuf::new() });
        };
        if let Err(error) = flush_pending(active, segment) {
            self.poisoned = true;
            return Err(error);
        }
        let file = self.options.fsync.then(|| active.file.clone());
        let dir = (self.options.fsync && self.dir_dirty).then(|| self.dir.clone());
        self.dir_dirty = false;
        Ok(SyncTicket {
            file,
            dir,
            base: segment.base,
            len: segment.len,
            last: segment.last,
            path: segment.path.clone(),
        })
    }

    /// Records what `ticket` made durable (after its [`SyncTicket::sync`] returned `Ok`).
    pub fn synced(&mut self, ticket: SyncTicket) {
        if let Some(segment) = self.segments.iter_mut().find(|segment| segment.base == ticket.base) {
            segment.durable_len = segment.durable_len.max(ticket.len);
            if ticket.last.is_some() {
                segment.durable_last = segment.durable_last.max(ticket.last);
            }
        }
    }

    /// A failed [`SyncTicket::sync`] poisons the log, as a failed [`Log::sync`] does.
    pub fn sync_failed(&mut self) {
        self.poisoned = true;
    }

    /// Iterates durable records with position ≥ `position`, across segments. Records appended
    /// but not yet synced are not included.
    pub fn read_from(&self, position: u64) -> Reader {
        let start = self.segments.partition_point(|segment| segment.base <= position).saturating_sub(1);
        let views = self.segments[start..]
            .iter()
            .filter(|segment| segment.durable_len > SEGMENT_HEADER_LEN as u64)
            .map(|segment| SegmentView { path: segment.path.clone(), end: segment.durable_len })
            .collect();
        Reader::new(position, views)
    }

    /// Deletes whole segments whose records are all below `position`, oldest first, never the
    /// segment being appended to. Returns how many segments were deleted.
    pub fn delete_below(&mut self, position: u64) -> Result<usize> {
        let candidates = self.segments.len().saturating_sub(1);
        let deletable = self.segments[..candidates]
            .iter()
            .take_while(|segment| segment.last.is_some_and(|last| last < position))
            .count();
        let mut deleted = 0;
        let mut retired = Vec::with_capacity(deletable);
        // Oldest first, so an interruption leaves a log without holes. A segment is only renamed
        // here: freeing a large file's blocks takes tens of milliseconds, which the caller (a
        // partition answering requests) must not wait for, so the unlink happens on a thread of
        // its own; `open` removes whatever a crash left behind.
        while deleted < deletable {
            let path = &self.segments[0].path;
            let retired_path = path.with_extension(format::RETIRED_SUFFIX);
            fs::rename(path, &retired_path).map_err(io_err("retire log segment", path))?;
            retired.push(retired_path);
            self.segments.remove(0);
            deleted += 1;
        }
        if !retired.is_empty() {
            remove_in_background(retired);
        }
        Ok(deleted)
    }

    /// Position of the first record still in the log.
    pub fn first_position(&self) -> Option<u64> {
        self.segments.first().map(|segment| segment.base)
    }

    /// Position of the last record appended, synced or not.
    pub fn last_position(&self) -> Option<u64> {
        self.last_appended
    }

    /// Position of the last record made durable by [`Log::sync`].
    pub fn durable_position(&self) -> Option<u64> {
        self.segments.iter().rev().find_map(|segment| segment.durable_last)
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> Options {
        self.options
    }

    fn check_poisoned(&self) -> Result<()> {
        if self.poisoned { Err(Error::Poisoned) } else { Ok(()) }
    }

    fn write_record(&mut self, position: u64, payload: &[u8], continues: bool) -> Result<()> {
        let frame_len = (FRAME_HEADER_LEN + payload.len()) as u64;
        let (Some(active), Some(segment)) = (self.active.as_mut(), self.segments.last_mut()) else {
            return Err(Error::Poisoned);
        };
        encode_frame(&mut active.pending, position, payload, continues);
        segment.len += frame_len;
        segment.last = Some(position);
        self.last_appended = Some(position);
        if active.pending.len() >= WRITE_CHUNK {
            flush_pending(active, segment)?;
        }
        Ok(())
    }

    /// Starts a new segment whose first record will be `first_position`.
    fn roll(&mut self, first_position: u64) -> Result<()> {
        if let (Some(mut active), Some(segment)) = (self.active.take(), self.segments.last_mut()) {
            flush_pending(&mut active, segment)?;
            // Only the last segment may end in preallocated zeros (recovery refuses damage in
            // any other), so the old one loses them before the new file exists.
            if active.allocated > segment.len {
                active.file.set_len(segment.len).map_err(io_err("trim log segment", &segment.path))?;
            }
            // The old segment must be durable before the new file can exist: recovery treats
            // damage in any segment but the last as corruption, so a crash must never leave an
            // unsynced tail behind a later segment. `sync_all`: its new length is part of that.
            if self.options.fsync {
                active.file.sync_all().map_err(io_err("sync log segment", &segment.path))?;
            }
            segment.durable_len = segment.len;
            segment.durable_last = segment.last;
        }
        let path = self.dir.join(segment_file_name(first_position));
        let file =
            OpenOptions::new().write(true).create_new(true).open(&path).map_err(io_err("create log segment", &path))?;
        let mut pending = Vec::with_capacity(64 << 10);
        pending.extend_from_slice(&segment_header());
        self.active = Some(Active { file: Arc::new(file), pending, allocated: 0 });
        self.segments.push(SegmentState {
            base: first_position,
            path,
            len: SEGMENT_HEADER_LEN as u64,
            last: None,
            durable_len: 0,
            durable_last: None,
        });
        self.dir_dirty = true;
        Ok(())
    }

    fn sync_inner(&mut self) -> Result<()> {
        let (Some(active), Some(segment)) = (self.active.as_mut(), self.segments.last_mut()) else {
            return Ok(());
        };
        flush_pending(active, segment)?;
        if self.options.fsync {
            active.file.sync_data().map_err(io_err("sync log segment", &segment.path))?;
            if self.dir_dirty {
                sync_dir(&self.dir)?;
            }
        }
        self.dir_dirty = false;
        segment.durable_len = segment.len;
        segment.durable_last = segment.last;
        Ok(())
    }
}

/// Hands the pending frames of `segment` (the active one) to the OS.
fn flush_pending(active: &mut Active, segment: &SegmentState) -> Result<()> {
    if active.pending.is_empty() {
        return Ok(());
    }
    let path = &segment.path;
    // `segment.len` counts the pending frames too; the file's offset stays where they begin:
    // only the preallocation moves it, and puts it back.
    let (start, end) = (segment.len - active.pending.len() as u64, segment.len);
    if end > active.allocated {
        let target = end.next_multiple_of(PREALLOCATE_BYTES);
        let zeros = vec![0u8; (target - end) as usize];
        let preallocate = |mut file: &File| {
            file.seek(SeekFrom::Start(end))?;
            file.write_all(&zeros)?;
            file.seek(SeekFrom::Start(start)).map(|_| ())
        };
        preallocate(&active.file).map_err(io_err("preallocate log segment", path))?;
        active.allocated = target;
    }
    (&*active.file).write_all(&active.pending).map_err(io_err("write log segment", path))?;
    active.pending.clear();
    Ok(())
}

fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("open lock file", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Locked { path }),
        Err(fs::TryLockError::Error(source)) => Err(Error::Io { action: "lock", path, source }),
    }
}

/// Makes creations, renames and deletions in `dir` durable; file data syncs do not cover the
/// directory entry.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|handle| handle.sync_all()).map_err(io_err("sync directory", dir))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Removes retired segment files off the caller's thread (synchronously if no thread can be
/// started). A file left behind by a failure is removed by the next `open`.
///
/// A file is shrunk a few MiB at a time before it is unlinked: freeing all of a large file's
/// blocks at once holds the file system's journal long enough to stall the log's own syncs
/// (tens of milliseconds here), while small steps with pauses between them do not.
fn remove_in_background(paths: Vec<PathBuf>) {
    const STEP: u64 = 4 << 20;
    let remove = |paths: Vec<PathBuf>| {
        for path in paths {
            if let Ok(file) = OpenOptions::new().write(true).open(&path) {
                let mut len = file.metadata().map(|m| m.len()).unwrap_or(0);
                while len > STEP {
                    len -= STEP;
                    if file.set_len(len).is_err() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
            }
            let _ = fs::remove_file(path);
        }
    };
    let background = paths.clone();
    let spawned = std::thread::Builder::new().name("baton-log-retire".to_string()).spawn(move || remove(background));
    if spawned.is_err() {
        remove(paths);
    }
}
