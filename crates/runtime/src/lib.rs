//! The partition runtime: drives engines over durable logs, and is the one API that the server
//! (`baton serve`) and embedding programs use.
//!
//! (API skeleton: bodies being written.)

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use baton_engine::{Command, JobRecord, ProcessInstanceCreationRecord, Record, Resource, State};

#[derive(Debug, Clone)]
pub struct Options {
    /// `None`: everything in memory, nothing survives the process.
    pub data_dir: Option<PathBuf>,
    pub partitions: u32,
    /// Off only for benchmarks: an acknowledged write may then be lost in a crash.
    pub fsync: bool,
    /// Commands waiting per partition; beyond it callers get [`Error::Backpressure`].
    pub queue_capacity: usize,
    /// Commands processed into one batch (one append, one fsync).
    pub batch_commands_max: usize,
    /// A snapshot is taken after this many records.
    pub snapshot_period_records: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            data_dir: None,
            partitions: 1,
            fsync: true,
            queue_capacity: 10_000,
            batch_commands_max: 1_000,
            snapshot_period_records: 100_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The partition's queue is full: the caller should back off and retry.
    #[error("partition {0} is overloaded; retry later")]
    Backpressure(u32),
    /// The runtime is shutting down or a partition has stopped.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Waiting for the answer took longer than the caller allowed.
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("storage: {0}")]
    Storage(String),
}

/// An activation request from a worker.
#[derive(Debug, Clone)]
pub struct ActivateJobs {
    pub job_type: String,
    pub worker: String,
    pub timeout_ms: i64,
    pub max_jobs_to_activate: i32,
    pub fetch_variables: Vec<String>,
    /// `None`: answer at once, even with no jobs. `Some(d)`: long-poll up to `d` for at least one.
    pub request_timeout: Option<Duration>,
}

/// A job handed to a worker: its key and record (variables included).
pub type ActivatedJob = (i64, JobRecord);

/// A cheap-to-clone handle on the running partitions.
#[derive(Clone)]
pub struct Broker {
    _private: Arc<()>,
}

impl Broker {
    /// Opens (recovering from `data_dir` if it holds data) and starts every partition.
    pub fn open(_options: Options) -> Result<Broker, Error> {
        todo!()
    }

    pub fn partition_count(&self) -> u32 {
        todo!()
    }

    /// Sends `command` to `partition_id` and waits until its batch is durable; answers with the
    /// event that carried it out or the rejection.
    pub async fn execute(&self, _partition_id: u32, _command: Command) -> Result<Record, Error> {
        todo!()
    }

    /// As [`Broker::execute`], routed to the partition encoded in `key`.
    pub async fn execute_on_key(&self, _key: i64, _command: Command) -> Result<Record, Error> {
        todo!()
    }

    /// Deploys on the first partition, then the same definitions (same keys) on all the others.
    pub async fn deploy(&self, _resources: Vec<Resource>) -> Result<Record, Error> {
        todo!()
    }

    /// Creates an instance on the next partition (round robin).
    pub async fn create_instance(&self, _creation: ProcessInstanceCreationRecord) -> Result<Record, Error> {
        todo!()
    }

    /// Creates an instance and answers once it completes (a `PROCESS_INSTANCE_RESULT` record), or
    /// with [`Error::Timeout`].
    pub async fn create_instance_with_result(
        &self,
        _creation: ProcessInstanceCreationRecord,
        _timeout: Duration,
    ) -> Result<Record, Error> {
        todo!()
    }

    /// Activates jobs across partitions, long-polling when asked to.
    pub async fn activate_jobs(&self, _request: ActivateJobs) -> Result<Vec<ActivatedJob>, Error> {
        todo!()
    }

    /// Every committed record, in order per partition (for exporters and read models).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<Record>> {
        todo!()
    }

    /// Runs `query` on the partition's thread against its current state: sees every write that
    /// was acknowledged before.
    pub async fn query<R: Send + 'static>(
        &self,
        _partition_id: u32,
        _query: impl FnOnce(&State) -> R + Send + 'static,
    ) -> Result<R, Error> {
        todo!()
    }

    /// Stops accepting, drains the queues, takes a final snapshot.
    pub async fn shutdown(&self) -> Result<(), Error> {
        todo!()
    }
}
