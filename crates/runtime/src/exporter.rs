//! The file exporter: every committed record of a partition as one JSON line, on its own thread
//! so that formatting JSON never slows the partition's batch loop.
//!
//! Files (in [`crate::Options::export_dir`]):
//! - `partition-N.jsonl`: one `serde_json` rendering of a [`Record`] per line, in log order.
//! - `partition-N.position`: the position of the last record known to be in the `.jsonl` file
//!   (after a flush, and an fsync when [`crate::Options::fsync`] is on). The partition never
//!   compacts its log above this position, and after a restart export resumes right after it.
//!
//! Delivery is at least once: after a crash the records between the persisted position and the
//! crash are written again, so a reader should skip lines whose `position` it has seen.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use baton_engine::Record;

use crate::Error;

/// Batches of records waiting for the exporter thread. When it falls this far behind, the
/// partition waits for it instead of buffering without bound.
const EXPORT_QUEUE_BATCHES: usize = 64;

/// How often the acknowledged position is persisted: persisting means an fsync and a rename,
/// too costly per batch; a longer interval only means more lines written twice after a crash.
const ACK_INTERVAL: Duration = Duration::from_millis(200);

/// A running file exporter for one partition.
pub(crate) struct FileExporter {
    sender: Option<SyncSender<Vec<Arc<Record>>>>,
    thread: Option<JoinHandle<()>>,
    acknowledged: Arc<AtomicU64>,
    partition_id: u32,
}

impl FileExporter {
    /// Opens the export files of `partition_id` in `dir` and starts the exporter thread.
    /// `fresh`: the partition starts from position 1 again (it keeps no log), so earlier
    /// export files describe another history and are started over.
    pub fn start(dir: &Path, partition_id: u32, fsync: bool, fresh: bool) -> Result<FileExporter, Error> {
        fs::create_dir_all(dir)
            .map_err(|error| Error::Storage(format!("cannot create export directory {}: {error}", dir.display())))?;
        let position_path = dir.join(format!("partition-{partition_id}.position"));
        let acknowledged = if fresh { 0 } else { read_position(&position_path)? };
        let lines_path = dir.join(format!("partition-{partition_id}.jsonl"));
        let mut open = OpenOptions::new();
        if fresh {
            open.write(true).truncate(true);
        } else {
            open.append(true);
        }
        let file = open
            .create(true)
            .open(&lines_path)
            .map_err(|error| Error::Storage(format!("cannot open export file {}: {error}", lines_path.display())))?;
        let acknowledged = Arc::new(AtomicU64::new(acknowledged));
        let (sender, receiver) = std::sync::mpsc::sync_channel(EXPORT_QUEUE_BATCHES);
        let worker = Worker {
            lines: BufWriter::new(file),
            lines_path,
            position_path,
            fsync,
            written: acknowledged.load(Ordering::Acquire),
            acknowledged: acknowledged.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("baton-export-{partition_id}"))
            .spawn(move || worker.run(receiver))
            .map_err(|error| Error::Storage(format!("cannot start exporter thread: {error}")))?;
        Ok(FileExporter { sender: Some(sender), thread: Some(thread), acknowledged, partition_id })
    }

    /// The position up to which every record is safely exported.
    pub fn acknowledged(&self) -> u64 {
        self.acknowledged.load(Ordering::Acquire)
    }

    /// Hands committed records to the exporter; waits when it is [`EXPORT_QUEUE_BATCHES`]
    /// behind. A stopped exporter is reported once and then ignored: the records stay in the
    /// log, because compaction never passes the exporter's acknowledged position.
    pub fn export(&mut self, records: Vec<Arc<Record>>) {
        let Some(sender) = &self.sender else {
            return;
        };
        let records = match sender.try_send(records) {
            Ok(()) => return,
            Err(TrySendError::Full(records)) => records,
            Err(TrySendError::Disconnected(_)) => {
                self.exporter_stopped();
                return;
            }
        };
        if sender.send(records).is_err() {
            self.exporter_stopped();
        }
    }

    fn exporter_stopped(&mut self) {
        tracing::error!(
            partition = self.partition_id,
            "the file exporter has stopped; records are no longer exported and the log is no \
             longer compacted past position {}",
            self.acknowledged()
        );
        self.sender = None;
    }
}

impl Drop for FileExporter {
    fn drop(&mut self) {
        // Closing the channel lets the worker write what it has, persist its position and end.
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Worker {
    lines: BufWriter<File>,
    lines_path: PathBuf,
    position_path: PathBuf,
    fsync: bool,
    /// Position of the last record written to `lines` (maybe not yet flushed).
    written: u64,
    acknowledged: Arc<AtomicU64>,
}

impl Worker {
    fn run(mut self, receiver: Receiver<Vec<Arc<Record>>>) {
        let mut last_ack = Instant::now();
        loop {
            let closed = match receiver.recv_timeout(ACK_INTERVAL) {
                Ok(batch) => {
                    if let Err(error) = self.write(&batch) {
                        tracing::error!("file exporter: {error}");
                        return;
                    }
                    false
                }
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => true,
            };
            let behind = self.written > self.acknowledged.load(Ordering::Acquire);
            if behind && (closed || last_ack.elapsed() >= ACK_INTERVAL) {
                if let Err(error) = self.acknowledge() {
                    tracing::error!("file exporter: {error}");
                    return;
                }
                last_ack = Instant::now();
            }
            if closed {
                return;
            }
        }
    }

    fn write(&mut self, batch: &[Arc<Record>]) -> Result<(), String> {
        for record in batch {
            // After a restart the partition re-sends from the acknowledged position; a record
            // already written in this run is not written twice.
            if record.position <= self.written {
                continue;
            }
            serde_json::to_writer(&mut self.lines, &**record)
                .map_err(|error| format!("cannot write {}: {error}", self.lines_path.display()))?;
            self.lines
                .write_all(b"\n")
                .map_err(|error| format!("cannot write {}: {error}", self.lines_path.display()))?;
            self.written = record.position;
        }
        Ok(())
    }

    fn acknowledge(&mut self) -> Result<(), String> {
        let io = |error: std::io::Error| format!("cannot flush {}: {error}", self.lines_path.display());
        self.lines.flush().map_err(io)?;
        if self.fsync {
            self.lines.get_ref().sync_data().map_err(io)?;
        }
        write_position(&self.position_path, self.written, self.fsync)?;
        self.acknowledged.store(self.written, Ordering::Release);
        Ok(())
    }
}

fn read_position(path: &Path) -> Result<u64, Error> {
    match fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map_err(|error| {
            Error::Storage(format!(
                "export position file {} does not hold a position ({error}): {text:?}",
                path.display()
            ))
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(error) => Err(Error::Storage(format!("cannot read export position file {}: {error}", path.display()))),
    }
}

/// Replaces the position file atomically, so a crash leaves the old or the new position.
fn write_position(path: &Path, position: u64, fsync: bool) -> Result<(), String> {
    let tmp = path.with_extension("position.tmp");
    let result = (|| {
        let mut file = File::create(&tmp)?;
        writeln!(file, "{position}")?;
        if fsync {
            file.sync_all()?;
        }
        fs::rename(&tmp, path)
    })();
    result.map_err(|error| format!("cannot persist export position to {}: {error}", path.display()))
}
