//! A partition's durable storage: its log and snapshots, how it recovers from them, and how it
//! compacts them.
//!
//! Layout under `data_dir/partition-N/`: `log/` (segments, see `baton_log`) and `snapshots/`
//! (`snapshot-<position>.bin`, each the engine state after the record at that position).
//!
//! Recovery loads the newest valid snapshot and replays every logged record after its position.
//! Compaction deletes log segments only when every record in them is covered by the oldest
//! snapshot kept AND has been acknowledged by the exporter, so recovery never lacks a record
//! and an exporter never misses one.

use std::path::{Path, PathBuf};

use baton_engine::{Engine, Record};

use crate::{Error, codec};

/// Snapshots kept on disk: the newest, and one to fall back to if the newest turns out damaged.
const SNAPSHOTS_KEPT: usize = 2;

/// What recovery rebuilt.
pub(crate) struct Recovered {
    pub engine: Engine,
    /// The newest record timestamp seen, so the partition clock never goes back.
    pub last_timestamp_ms: i64,
    /// Records after the snapshot: they count towards the next snapshot.
    pub records_since_snapshot: u64,
}

pub(crate) struct Storage {
    partition_id: u32,
    log: baton_log::Log,
    snapshot_dir: PathBuf,
    /// Positions of the snapshots this run knows are on disk, oldest first.
    snapshots: Vec<u64>,
    /// Encoded payloads of the batch being appended, reused across batches.
    buffer: Vec<u8>,
    frames: Vec<(u64, usize, usize)>,
}

impl Storage {
    /// Opens the partition's storage in `dir` and rebuilds its engine. Every logged record
    /// above `export_from` is also handed to `export`, so an exporter catches up on what it had
    /// not acknowledged before the restart.
    pub fn open(
        dir: &Path,
        partition_id: u32,
        log_options: baton_log::Options,
        export_from: Option<u64>,
        mut export: impl FnMut(Record),
    ) -> Result<(Storage, Recovered), Error> {
        let storage_error = |error: baton_log::Error| Error::Storage(format!("partition {partition_id}: {error}"));
        let (log, recovery) = baton_log::Log::open(dir.join("log"), log_options).map_err(storage_error)?;
        if let Some(truncation) = &recovery.truncation {
            tracing::warn!(
                partition = partition_id,
                "cut off the torn tail of the log (never acknowledged): {} bytes of {} at offset {}: {}",
                truncation.bytes,
                truncation.segment.display(),
                truncation.offset,
                truncation.reason
            );
        }
        let snapshot_dir = dir.join("snapshots");
        let latest = baton_log::snapshot::latest(&snapshot_dir).map_err(storage_error)?;
        for skipped in &latest.skipped {
            tracing::error!(
                partition = partition_id,
                "skipped damaged snapshot {}: {}",
                skipped.path.display(),
                skipped.reason
            );
        }
        let (mut engine, snapshot_position) = match &latest.snapshot {
            Some(snapshot) => {
                let state = baton_engine::snapshot::decode(&snapshot.bytes).map_err(|error| {
                    Error::Storage(format!(
                        "partition {partition_id}: snapshot {} cannot be loaded: {error}",
                        snapshot.path.display()
                    ))
                })?;
                if state.partition_id != partition_id {
                    return Err(Error::Storage(format!(
                        "partition {partition_id}: snapshot {} belongs to partition {}",
                        snapshot.path.display(),
                        state.partition_id
                    )));
                }
                (Engine::from_state(state), snapshot.position)
            }
            None => (Engine::new(partition_id), 0),
        };
        if let Some(first) = log.first_position()
            && first > snapshot_position + 1
        {
            return Err(Error::Storage(format!(
                "partition {partition_id}: the log starts at position {first}, but the newest \
                 usable snapshot covers only up to position {snapshot_position}; records in \
                 between are missing, so the state cannot be rebuilt"
            )));
        }

        let replay_from = snapshot_position + 1;
        let read_from = export_from.map_or(replay_from, |acked| replay_from.min(acked + 1));
        if let (Some(acked), Some(first)) = (export_from, log.first_position())
            && acked + 1 < first
        {
            tracing::warn!(
                partition = partition_id,
                "the exporter acknowledged position {acked}, but the log starts at {first}: \
                 records in between cannot be exported"
            );
        }
        let mut last_timestamp_ms = 0;
        let mut replayed = 0;
        for item in log.read_from(read_from) {
            let (position, payload) = item.map_err(storage_error)?;
            let record = codec::decode(&payload).map_err(|error| {
                Error::Storage(format!("partition {partition_id}: log record at position {position}: {error}"))
            })?;
            if record.position != position {
                return Err(Error::Storage(format!(
                    "partition {partition_id}: the log frame at position {position} holds the \
                     record of position {}",
                    record.position
                )));
            }
            last_timestamp_ms = last_timestamp_ms.max(record.timestamp_ms);
            if position >= replay_from {
                engine.replay(&record);
                replayed += 1;
            }
            if export_from.is_some_and(|acked| position > acked) {
                export(record);
            }
        }
        tracing::info!(
            partition = partition_id,
            snapshot_position,
            replayed,
            last_position = engine.state().last_position(),
            "partition recovered"
        );
        let recovered = Recovered { engine, last_timestamp_ms, records_since_snapshot: replayed };
        let storage = Storage {
            partition_id,
            log,
            snapshot_dir,
            snapshots: latest.snapshot.iter().map(|s| s.position).collect(),
            buffer: Vec::new(),
            frames: Vec::new(),
        };
        Ok((storage, recovered))
    }

    /// Appends a batch and makes it durable with one sync (group commit).
    #[cfg(test)]
    pub fn append(&mut self, records: &[Record]) -> Result<(), Error> {
        self.write(records)?;
        let storage_error =
            |error: baton_log::Error| Error::Storage(format!("partition {}: {error}", self.partition_id));
        self.log.sync().map_err(storage_error)
    }

    /// Appends a batch without waiting for it to be durable: see [`Storage::prepare_sync`].
    pub fn write(&mut self, records: &[Record]) -> Result<(), Error> {
        self.buffer.clear();
        self.frames.clear();
        for record in records {
            let start = self.buffer.len();
            codec::encode_into(record, &mut self.buffer)
                .map_err(|error| Error::Storage(format!("partition {}: {error}", self.partition_id)))?;
            self.frames.push((record.position, start, self.buffer.len()));
        }
        let frames: Vec<(u64, &[u8])> =
            self.frames.iter().map(|&(position, start, end)| (position, &self.buffer[start..end])).collect();
        let storage_error =
            |error: baton_log::Error| Error::Storage(format!("partition {}: {error}", self.partition_id));
        self.log.append(&frames).map_err(storage_error)
    }

    /// Everything written so far reaches the operating system; the ticket's `sync` (on any
    /// thread) makes it durable, and [`Storage::synced`] records that.
    pub fn prepare_sync(&mut self) -> Result<baton_log::SyncTicket, Error> {
        self.log.prepare_sync().map_err(|error| Error::Storage(format!("partition {}: {error}", self.partition_id)))
    }

    pub fn synced(&mut self, ticket: baton_log::SyncTicket) {
        self.log.synced(ticket);
    }

    pub fn sync_failed(&mut self, error: baton_log::Error) -> Error {
        self.log.sync_failed();
        Error::Storage(format!("partition {}: {error}", self.partition_id))
    }

    /// Writes a snapshot of `engine`'s state, prunes old snapshots, and compacts the log below
    /// what both the oldest kept snapshot and the exporter (`exported`) no longer need.
    pub fn snapshot(&mut self, engine: &Engine, exported: Option<u64>) -> Result<(), Error> {
        let state = engine.state();
        let position = state.last_position();
        let storage_error =
            |error: baton_log::Error| Error::Storage(format!("partition {}: {error}", self.partition_id));
        if self.snapshots.last() != Some(&position) {
            let bytes = baton_engine::snapshot::encode(state);
            baton_log::snapshot::write(&self.snapshot_dir, position, &bytes).map_err(storage_error)?;
            baton_log::snapshot::prune(&self.snapshot_dir, SNAPSHOTS_KEPT).map_err(storage_error)?;
            self.snapshots.push(position);
            if self.snapshots.len() > SNAPSHOTS_KEPT {
                self.snapshots.remove(0);
            }
        }
        let Some(&oldest) = self.snapshots.first() else {
            return Ok(());
        };
        let keep_from = match exported {
            Some(acked) => oldest.min(acked) + 1,
            None => oldest + 1,
        };
        let deleted = self.log.delete_below(keep_from).map_err(storage_error)?;
        if deleted > 0 {
            tracing::debug!(partition = self.partition_id, deleted, keep_from, "compacted the log");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_engine::{Command, DeploymentRecord, Intent, RecordValue};

    fn open(dir: &Path) -> (Storage, Engine) {
        let options = baton_log::Options { segment_bytes_max: 512, fsync: false };
        let (storage, recovered) = Storage::open(dir, 1, options, None, |_| {}).expect("open");
        (storage, recovered.engine)
    }

    /// Appends `count` rejected deployments (two records each) at timestamps from 1.
    fn fill(storage: &mut Storage, engine: &mut Engine, count: i64) {
        for timestamp in 1..=count {
            let empty = DeploymentRecord::default();
            let output =
                engine.process(Command::new(Intent::Create, -1, RecordValue::Deployment(Box::new(empty))), timestamp);
            storage.append(&output.records).expect("append");
        }
    }

    #[test]
    fn compaction_keeps_what_the_exporter_has_not_acknowledged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut storage, mut engine) = open(dir.path());
        fill(&mut storage, &mut engine, 50);

        storage.snapshot(&engine, Some(3)).expect("snapshot");
        let first = storage.log.first_position().expect("a segment");
        assert!(first <= 4, "position 4 onwards is not exported yet: {first}");

        storage.snapshot(&engine, Some(60)).expect("snapshot");
        let first = storage.log.first_position().expect("a segment");
        assert!(first > 4 && first <= 61, "compacted up to the exporter: {first}");

        storage.snapshot(&engine, None).expect("snapshot");
        let first = storage.log.first_position().expect("a segment");
        assert!(first <= 101, "the record after the snapshot is kept: {first}");
    }

    #[test]
    fn reopening_replays_only_what_follows_the_snapshot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut storage, mut engine) = open(dir.path());
        fill(&mut storage, &mut engine, 10);
        storage.snapshot(&engine, None).expect("snapshot");
        fill(&mut storage, &mut engine, 5);
        let expected = engine.state().clone();
        drop(storage);

        let mut exported = Vec::new();
        let options = baton_log::Options { segment_bytes_max: 512, fsync: false };
        let (_storage, recovered) =
            Storage::open(dir.path(), 1, options, Some(18), |record| exported.push(record.position)).expect("reopen");
        assert_eq!(recovered.engine.state(), &expected);
        assert_eq!(recovered.records_since_snapshot, 10);
        // The newest timestamp of everything read, the exported records included.
        assert_eq!(recovered.last_timestamp_ms, 10);
        assert_eq!(exported, (19..=30).collect::<Vec<_>>(), "the exporter gets what it had not acknowledged");
    }
}
