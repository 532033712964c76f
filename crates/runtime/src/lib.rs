//! The partition runtime: drives engines over durable logs, and is the one API that the server
//! (`baton serve`) and embedding programs use.
//!
//! A [`Broker`] runs one OS thread per partition. Each thread owns a `baton_engine::Engine`,
//! takes requests from a bounded queue in batches, appends the batch's records to the
//! partition's log with one sync (group commit), and only then answers callers, publishes the
//! records to subscribers and the exporter, and wakes long-polling workers. A scheduler in the
//! same loop turns due job time-outs and back-offs into ordinary commands. On open, each
//! partition recovers from its newest snapshot plus the log after it.
//!
//! Architecture Invariant: this crate must never change engine state except through
//! `Engine::process_into` (live) and `Engine::replay` (recovery), never let an answer, a
//! published record or a woken worker get ahead of the sync that made it durable, and never
//! buffer without bound: every queue has a capacity, and a full partition queue is reported to
//! the caller as [`Error::Backpressure`] at once.
//!
//! # Embedding
//!
//! The broker is also the API for running the engine inside a service (the decentralised
//! shape): no server, no network, the same durability.
//!
//! ```no_run
//! use std::time::Duration;
//! use baton_engine::{Command, Intent, JobRecord, ProcessInstanceCreationRecord, RecordValue, Resource};
//! use baton_runtime::{ActivateJobs, Broker, Options};
//!
//! # async fn example(bpmn_xml: Vec<u8>, empty_job: JobRecord) -> Result<(), baton_runtime::Error> {
//! let broker = Broker::open(Options {
//!     data_dir: Some("/var/lib/my-service/baton".into()),
//!     ..Options::default()
//! })?;
//! let mut records = broker.subscribe();
//!
//! let deployment = broker
//!     .deploy(vec![Resource { name: "order.bpmn".into(), content: bpmn_xml }])
//!     .await?;
//! assert!(deployment.rejection.is_none());
//!
//! let created = broker
//!     .create_instance(ProcessInstanceCreationRecord {
//!         bpmn_process_id: "order".into(),
//!         version: -1,
//!         process_definition_key: -1,
//!         variables: Default::default(),
//!         process_instance_key: -1,
//!         fetch_variables: Vec::new(),
//!         awaiting_request_id: None,
//!         start_instructions: Vec::new(),
//!     })
//!     .await?;
//!
//! let jobs = broker
//!     .activate_jobs(ActivateJobs {
//!         job_type: "charge-card".into(),
//!         worker: "me".into(),
//!         timeout_ms: 30_000,
//!         max_jobs_to_activate: 10,
//!         fetch_variables: Vec::new(),
//!         request_timeout: Some(Duration::from_secs(10)),
//!     })
//!     .await?;
//! for (key, _job) in jobs {
//!     // ... do the work, then complete the job on the partition that owns it:
//!     let complete = Command::new(Intent::Complete, key, RecordValue::Job(Box::new(empty_job.clone())));
//!     broker.execute_on_key(key, complete).await?;
//! }
//!
//! while let Ok(record) = records.recv().await {
//!     println!("{} {}", record.value_type().as_str(), record.intent.as_str());
//!     # break;
//! }
//! broker.shutdown().await?;
//! # let _ = created;
//! # Ok(())
//! # }
//! ```
//!
//! # Files
//!
//! With [`Options::data_dir`] set: `baton-runtime.json` (the partition count, checked on every
//! open), and per partition `partition-N/log/` and `partition-N/snapshots/`. With
//! [`Options::export_dir`] set, the file exporter writes `partition-N.jsonl` and
//! `partition-N.position` there (see the `exporter` module).

mod codec;
mod exporter;
mod partition;
mod storage;
mod streams;
mod waiters;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use baton_engine::{
    Command, DeploymentRecord, Intent, JobBatchRecord, JobRecord, ProcessInstanceCreationRecord, Record, RecordValue,
    RequestId, Resource, State,
};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::exporter::FileExporter;
use crate::partition::{Answer, Partition, PartitionShared, Reply, Request};
use crate::storage::Storage;
pub use crate::streams::StreamGuard;
use crate::waiters::JobWaiters;

/// The partition that accepts deployments and distributes them to the others (as in Zeebe).
pub const DEPLOYMENT_PARTITION: u32 = 1;

/// How long a deployment's distribution to another partition keeps retrying while that
/// partition reports back-pressure, and how long it pauses between tries.
const DISTRIBUTION_PATIENCE: Duration = Duration::from_secs(30);
const DISTRIBUTION_RETRY: Duration = Duration::from_millis(5);

/// How often [`Broker::shutdown`] retries handing its stop request to a full queue.
const STOP_RETRY: Duration = Duration::from_millis(1);

const META_FILE: &str = "baton-runtime.json";
const META_FORMAT: u64 = 1;

/// Records handed to the exporter at a time when recovery replays what it has not acknowledged.
const EXPORT_REPLAY_BATCH: usize = 1_000;

/// How a [`Broker`] runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// `None`: everything in memory, nothing survives the process.
    pub data_dir: Option<PathBuf>,
    /// Number of partitions, numbered from 1. Fixed for the life of a data directory.
    pub partitions: u32,
    /// Off only for benchmarks: an acknowledged write may then be lost in a crash.
    pub fsync: bool,
    /// Commands waiting per partition; beyond it callers get [`Error::Backpressure`].
    pub queue_capacity: usize,
    /// Commands processed into one batch (one append). Small on purpose: when more commands
    /// wait, the partition processes the next batch while the previous one syncs, and one sync
    /// covers every batch written before it started, so a busy partition overlaps its work with
    /// its syncs instead of alternating between them (README, "Performance").
    pub batch_commands_max: usize,
    /// A snapshot is taken after this many records.
    pub snapshot_period_records: u64,
    /// Records a [`Broker::subscribe`] receiver may fall behind before it starts losing the
    /// oldest (it then gets `RecvError::Lagged`).
    pub subscriber_capacity: usize,
    /// `Some(dir)`: the file exporter writes every committed record as a JSON line to
    /// `dir/partition-N.jsonl`, and the log is never compacted past what it has written.
    /// Off by default: it doubles the bytes written.
    pub export_dir: Option<PathBuf>,
    /// A log segment is closed and a new one started past this size; compaction deletes whole
    /// segments.
    pub log_segment_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            data_dir: None,
            partitions: 1,
            fsync: true,
            queue_capacity: 10_000,
            batch_commands_max: 16,
            snapshot_period_records: 100_000,
            subscriber_capacity: 10_000,
            export_dir: None,
            log_segment_bytes: 64 << 20,
        }
    }
}

/// Why the runtime could not carry out a request. A command the engine refused is not an
/// error here: it is answered with its rejection record.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// The disk failed or holds data this build cannot use; the message names the file.
    #[error("storage: {0}")]
    Storage(String),
}

/// The command that makes a job activated for a worker who went away before it was handed over
/// activatable again at once: a failure that keeps its retries.
pub fn give_back_command(job_key: i64, job: &JobRecord) -> Command {
    let value = JobRecord {
        retries: job.retries,
        error_message: "The worker went away before the job was handed to it".to_string(),
        ..JobRecord::default()
    };
    Command::new(Intent::Fail, job_key, RecordValue::Job(Box::new(value)))
}

/// An activation request from a worker.
#[derive(Debug, Clone)]
pub struct ActivateJobs {
    /// Only jobs of this type are handed out.
    pub job_type: String,
    /// The worker's name, recorded on each job.
    pub worker: String,
    /// How long the worker has before a job times out and is handed to someone else.
    pub timeout_ms: i64,
    /// At most this many jobs, over all partitions (and at most `JOBS_PER_BATCH_MAX` each).
    pub max_jobs_to_activate: i32,
    /// Variables to include with each job; empty means all visible ones.
    pub fetch_variables: Vec<String>,
    /// `None`: answer at once, even with no jobs. `Some(d)`: long-poll up to `d` for at least one.
    pub request_timeout: Option<Duration>,
}

/// A job handed to a worker: its key and record (variables included).
pub type ActivatedJob = (i64, JobRecord);

/// A cheap-to-clone handle on the running partitions. When the last handle is dropped without
/// [`Broker::shutdown`], the partitions still finish what is queued and take a final snapshot
/// (the drop waits for that, which is bounded by the queue capacity).
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

struct Inner {
    partitions: Vec<PartitionHandle>,
    closed: AtomicBool,
    next_request_id: AtomicU64,
    next_creation: AtomicU32,
    next_activation: AtomicU32,
    records: broadcast::Sender<Arc<Record>>,
    waiters: Arc<JobWaiters>,
    /// Every partition's queue, held by each partition for commands between partitions.
    peers: Arc<partition::Peers>,
    streams: Arc<streams::JobStreams>,
}

struct PartitionHandle {
    id: u32,
    /// `None` only while the broker is being dropped: closing the queue is what stops the
    /// partition thread.
    sender: Option<SyncSender<Request>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<PartitionShared>,
}

/// A request that did not make it into a queue; `Full` gives it back for another partition.
enum Refused {
    Full(Box<Request>),
    Error(Error),
}

impl Broker {
    /// Opens (recovering from `data_dir` if it holds data) and starts every partition.
    pub fn open(options: Options) -> Result<Broker, Error> {
        validate(&options)?;
        if let Some(dir) = &options.data_dir {
            check_meta(dir, options.partitions)?;
        }
        let records = broadcast::channel(options.subscriber_capacity).0;
        let waiters = Arc::new(JobWaiters::default());

        let mut partitions = recover_all(&options, &records, &waiters)?;
        repair_distribution(&mut partitions)?;

        // Answers to create-with-result requests from before the restart may still come; new
        // request ids must not be mistaken for them.
        let first_request_id = partitions
            .iter()
            .flat_map(|p| p.engine.state().awaiting_results.values())
            .map(|awaiting| awaiting.request_id)
            .max()
            .map_or(1, |max| max + 1);

        let queues: Vec<_> = partitions.iter().map(|_| std::sync::mpsc::sync_channel(options.queue_capacity)).collect();
        let peers: Arc<partition::Peers> =
            Arc::new(std::sync::Mutex::new(queues.iter().map(|(sender, _)| sender.clone()).collect()));
        let count = partitions.len() as u32;
        let streams = Arc::new(streams::JobStreams::default());
        let mut handles = Vec::with_capacity(partitions.len());
        for (mut partition, (sender, receiver)) in partitions.into_iter().zip(queues) {
            partition.engine.set_partition_count(count);
            // What other partitions may not have received before the last stop.
            partition.outbox.extend(partition.engine.pending_commands());
            partition.peers = peers.clone();
            partition.streams = streams.clone();
            let id = partition.id;
            let shared = partition.shared.clone();
            let thread = std::thread::Builder::new()
                .name(format!("baton-partition-{id}"))
                .spawn(move || partition.run(receiver))
                .map_err(|error| Error::Unavailable(format!("cannot start partition {id}: {error}")))?;
            handles.push(PartitionHandle { id, sender: Some(sender), thread: Mutex::new(Some(thread)), shared });
        }
        Ok(Broker {
            inner: Arc::new(Inner {
                partitions: handles,
                closed: AtomicBool::new(false),
                next_request_id: AtomicU64::new(first_request_id),
                next_creation: AtomicU32::new(0),
                next_activation: AtomicU32::new(0),
                records,
                waiters,
                peers,
                streams,
            }),
        })
    }

    /// Number of partitions; they are numbered `1..=partition_count()`.
    pub fn partition_count(&self) -> u32 {
        self.inner.partitions.len() as u32
    }

    /// Sends `command` to `partition_id` and waits until its batch is durable; answers with the
    /// event that carried it out or the rejection.
    ///
    /// The runtime sets the command's request id (any given one is replaced). A command with
    /// intent `CREATE_WITH_AWAITING_RESULT` is answered only when its instance completes.
    pub async fn execute(&self, partition_id: u32, command: Command) -> Result<Record, Error> {
        let receiver =
            self.submit_command(partition_id, command).map_err(|refused| self.refused(partition_id, refused))?;
        self.answer(partition_id, receiver).await
    }

    /// The partition that holds the messages of this correlation key (see
    /// `baton_engine::state::partition_of_correlation_key`).
    pub fn partition_of_correlation_key(&self, correlation_key: &str) -> u32 {
        baton_engine::state::partition_of_correlation_key(correlation_key, self.partition_count())
    }

    /// Publishes a message (a `MESSAGE PUBLISH` command, or a `MESSAGE_CORRELATION CORRELATE`
    /// that must correlate at once) on the partition of its correlation key, as Zeebe does:
    /// subscriptions of instances on other partitions are opened there too, and that partition
    /// correlates the message and hands it to them.
    pub async fn publish_message(&self, command: Command) -> Result<Record, Error> {
        let correlation_key = match &command.value {
            baton_engine::RecordValue::Message(message) => message.correlation_key.clone(),
            baton_engine::RecordValue::MessageCorrelation(message) => message.correlation_key.clone(),
            _ => String::new(),
        };
        self.execute(self.partition_of_correlation_key(&correlation_key), command).await
    }

    /// Broadcasts a signal (a `SIGNAL BROADCAST` command) on every partition, since its
    /// subscriptions live on the partitions of their process instances (signal start events on
    /// the deployment partition, which answers).
    pub async fn broadcast_signal(&self, command: Command) -> Result<Record, Error> {
        self.execute_everywhere(command).await
    }

    /// Deletes a resource (a `RESOURCE_DELETION DELETE` command) on every partition, since every
    /// partition holds every definition; the deployment partition answers.
    pub async fn delete_resource(&self, command: Command) -> Result<Record, Error> {
        self.execute_everywhere(command).await
    }

    async fn execute_everywhere(&self, command: Command) -> Result<Record, Error> {
        let answer = self.execute(DEPLOYMENT_PARTITION, command.clone()).await?;
        if answer.rejection.is_some() {
            return Ok(answer);
        }
        for partition in (1..=self.partition_count()).filter(|p| *p != DEPLOYMENT_PARTITION) {
            let record = self.execute(partition, command.clone()).await?;
            if let Some(rejection) = &record.rejection {
                tracing::warn!(partition, reason = %rejection.reason, "command not carried out on every partition");
            }
        }
        Ok(answer)
    }

    /// As [`Broker::execute`], routed to the partition encoded in `key`. A key that names no
    /// partition (a client's mistake) goes to the first partition, which answers with the
    /// engine's `NOT_FOUND` rejection like for any other unknown key.
    pub async fn execute_on_key(&self, key: i64, command: Command) -> Result<Record, Error> {
        let partition = baton_engine::state::partition_of_key(key);
        let partition =
            if (1..=self.partition_count()).contains(&partition) { partition } else { DEPLOYMENT_PARTITION };
        self.execute(partition, command).await
    }

    /// Deploys on the first partition, then the same definitions (same keys) on all the others.
    ///
    /// Answers with the first partition's event (or rejection) once every partition has the
    /// definitions. If distribution fails, the error is returned although the first partition
    /// kept the deployment; deploying the same resources again (or restarting) completes the
    /// distribution.
    pub async fn deploy(&self, resources: Vec<Resource>) -> Result<Record, Error> {
        let command = Command::new(
            Intent::Create,
            -1,
            RecordValue::Deployment(Box::new(DeploymentRecord { resources, ..DeploymentRecord::default() })),
        );
        let record = self.execute(DEPLOYMENT_PARTITION, command).await?;
        if record.rejection.is_some() {
            return Ok(record);
        }
        let RecordValue::Deployment(deployment) = &record.value else {
            return Ok(record);
        };
        // Every definition is sent as new: a partition skips those it already has, so a
        // re-deployment also repairs a distribution that failed half way.
        let mut copy = deployment.clone();
        for process in &mut copy.processes {
            process.is_new = true;
        }
        for drg in &mut copy.decision_requirements {
            drg.duplicate = false;
        }
        for decision in &mut copy.decisions {
            decision.duplicate = false;
        }
        for partition_id in 2..=self.partition_count() {
            self.distribute(partition_id, record.key, &copy).await?;
        }
        Ok(record)
    }

    async fn distribute(
        &self,
        partition_id: u32,
        deployment_key: i64,
        deployment: &DeploymentRecord,
    ) -> Result<(), Error> {
        let started = tokio::time::Instant::now();
        loop {
            let command =
                Command::new(Intent::Create, deployment_key, RecordValue::Deployment(Box::new(deployment.clone())));
            match self.execute(partition_id, command).await {
                Ok(record) => {
                    if let Some(rejection) = &record.rejection {
                        return Err(Error::Unavailable(format!(
                            "partition {partition_id} refused the distributed deployment \
                             {deployment_key}: {}",
                            rejection.reason
                        )));
                    }
                    return Ok(());
                }
                Err(Error::Backpressure(_)) if started.elapsed() < DISTRIBUTION_PATIENCE => {
                    tokio::time::sleep(DISTRIBUTION_RETRY).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Creates an instance on the next partition (round robin), trying the following ones when
    /// a partition reports back-pressure.
    pub async fn create_instance(&self, creation: ProcessInstanceCreationRecord) -> Result<Record, Error> {
        let command = Command::new(Intent::Create, -1, RecordValue::ProcessInstanceCreation(Box::new(creation)));
        let (partition_id, receiver) = self.submit_round_robin(command)?;
        self.answer(partition_id, receiver).await
    }

    /// Creates an instance and answers once it completes (a `PROCESS_INSTANCE_RESULT` record), or
    /// with [`Error::Timeout`].
    pub async fn create_instance_with_result(
        &self,
        creation: ProcessInstanceCreationRecord,
        timeout: Duration,
    ) -> Result<Record, Error> {
        let command = Command::new(
            Intent::CreateWithAwaitingResult,
            -1,
            RecordValue::ProcessInstanceCreation(Box::new(creation)),
        );
        let (partition_id, receiver) = self.submit_round_robin(command)?;
        match tokio::time::timeout(timeout, self.answer(partition_id, receiver)).await {
            Ok(answer) => answer,
            Err(_) => {
                Err(Error::Timeout(format!("the process instance did not complete within {} ms", timeout.as_millis())))
            }
        }
    }

    /// Activates jobs across partitions, long-polling when asked to.
    ///
    /// Partitions are asked in turn, starting at a rotating one, until `max_jobs_to_activate`
    /// jobs are collected; a partition without activatable jobs of the type writes nothing.
    /// An activation the engine rejects (e.g. a blank type) is reported as
    /// [`Error::Unavailable`] with the rejection's reason.
    pub async fn activate_jobs(&self, request: ActivateJobs) -> Result<Vec<ActivatedJob>, Error> {
        // Registered before the first look, so jobs that appear between the look and the wait
        // still wake this request.
        let waiter = request.request_timeout.map(|_| self.inner.waiters.wait_for(&request.job_type));
        let deadline = request.request_timeout.map(|timeout| tokio::time::Instant::now() + timeout);
        loop {
            let notified = waiter.as_ref().map(|waiter| waiter.notify().notified());
            let jobs = self.collect_jobs(&request).await?;
            let (Some(deadline), Some(notified)) = (deadline, notified) else {
                return Ok(jobs);
            };
            if !jobs.is_empty() {
                return Ok(jobs);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    /// Opens a job stream: jobs of `request.job_type` that become activatable from now on are
    /// activated for it in the batch that created them and sent to the receiver once durable
    /// (`max_jobs_to_activate` is the channel's size, how many it holds before the worker takes
    /// them). Jobs already waiting are not included: activate those with
    /// [`Broker::activate_jobs`]. The stream closes when the guard or the receiver is dropped;
    /// jobs pushed to a closed stream are given back.
    pub fn stream_jobs(&self, request: &ActivateJobs) -> (StreamGuard, mpsc::Receiver<ActivatedJob>) {
        let capacity = usize::try_from(request.max_jobs_to_activate.max(1)).unwrap_or(1);
        let (sender, receiver) = mpsc::channel(capacity);
        let target = streams::StreamTarget {
            worker: request.worker.clone(),
            timeout_ms: request.timeout_ms,
            fetch_variables: request.fetch_variables.clone(),
            sender,
        };
        (self.inner.streams.open(&request.job_type, target), receiver)
    }

    async fn collect_jobs(&self, request: &ActivateJobs) -> Result<Vec<ActivatedJob>, Error> {
        let max = usize::try_from(request.max_jobs_to_activate.max(1)).unwrap_or(1);
        let count = self.partition_count();
        let start = self.inner.next_activation.fetch_add(1, Ordering::Relaxed);
        let job_type: Arc<str> = Arc::from(request.job_type.as_str());
        let mut jobs = Vec::new();
        let mut first_error = None;
        let mut failed = 0;
        for offset in 0..count {
            let remaining = max.saturating_sub(jobs.len());
            if remaining == 0 {
                break;
            }
            let partition_id = (start.wrapping_add(offset) % count) + 1;
            let batch = JobBatchRecord {
                job_type: job_type.clone(),
                worker: request.worker.clone(),
                timeout_ms: request.timeout_ms,
                max_jobs_to_activate: i32::try_from(remaining).unwrap_or(i32::MAX),
                fetch_variables: request.fetch_variables.clone(),
                job_keys: Vec::new(),
                jobs: Vec::new(),
                truncated: false,
            };
            let request_id = self.next_request_id();
            let (reply, receiver) = oneshot::channel();
            let submitted = self.submit(partition_id, Request::Activate { batch, request_id, reply });
            let answer = match submitted {
                Ok(()) => self.answer_optional(partition_id, receiver).await,
                Err(refused) => Err(self.refused(partition_id, refused)),
            };
            match answer {
                Ok(None) => {}
                Ok(Some(record)) => {
                    if let Some(rejection) = &record.rejection {
                        return Err(Error::Unavailable(format!("job activation rejected: {}", rejection.reason)));
                    }
                    if let RecordValue::JobBatch(batch) = record.value {
                        jobs.extend(batch.job_keys.into_iter().zip(batch.jobs));
                    }
                }
                // Jobs already activated elsewhere must reach the worker, so one partition's
                // trouble only matters when nothing was found.
                Err(error) => {
                    tracing::debug!(partition = partition_id, "activation skipped: {error}");
                    first_error.get_or_insert(error);
                    failed += 1;
                }
            }
        }
        // Only when no partition could answer is there nothing to say but the error.
        match first_error {
            Some(error) if failed == count => Err(error),
            _ => Ok(jobs),
        }
    }

    /// Every committed record, in order per partition (for exporters and read models).
    /// Records committed before the call are not included; a receiver that falls more than
    /// [`Options::subscriber_capacity`] behind loses the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Record>> {
        self.inner.records.subscribe()
    }

    /// Runs `query` on the partition's thread against its current state: sees every write that
    /// was acknowledged before.
    ///
    /// It runs after the batch it arrived in is durable, so it never sees a change that could
    /// still be lost. Keep it short: the partition does nothing else meanwhile.
    pub async fn query<R: Send + 'static>(
        &self,
        partition_id: u32,
        query: impl FnOnce(&State) -> R + Send + 'static,
    ) -> Result<R, Error> {
        let (sender, receiver) = oneshot::channel();
        let job = Box::new(move |state: &State| {
            let _ = sender.send(query(state));
        });
        self.submit(partition_id, Request::Query(job)).map_err(|refused| self.refused(partition_id, refused))?;
        receiver.await.map_err(|_| self.stopped(partition_id))
    }

    /// Stops accepting, drains the queues, takes a final snapshot.
    ///
    /// Calls made afterwards fail with [`Error::Unavailable`]. Returns once every partition
    /// has released its files, so the data directory can be opened again.
    pub async fn shutdown(&self) -> Result<(), Error> {
        self.stop(true).await
    }

    /// Test hook: stops every partition like a crash would, without the final snapshot, so
    /// that reopening has to replay the log. Everything acknowledged is in the log already.
    #[doc(hidden)]
    pub async fn simulate_crash(&self) -> Result<(), Error> {
        self.stop(false).await
    }

    /// Test hook: holds `partition_id` still (it takes no requests) until the returned guard
    /// is dropped. Lets tests fill a queue deterministically. Drop the guard before the broker:
    /// stopping waits for a paused partition.
    #[doc(hidden)]
    pub async fn pause_partition(&self, partition_id: u32) -> Result<PauseGuard, Error> {
        let (paused, paused_receiver) = oneshot::channel();
        let (resume, resume_receiver) = std::sync::mpsc::channel();
        self.submit(partition_id, Request::Pause { paused, resume: resume_receiver })
            .map_err(|refused| self.refused(partition_id, refused))?;
        paused_receiver.await.map_err(|_| self.stopped(partition_id))?;
        Ok(PauseGuard { _resume: resume })
    }

    async fn stop(&self, snapshot: bool) -> Result<(), Error> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        // Long polls wake up, find the broker closed and end.
        self.inner.waiters.notify_all();
        let mut answers = Vec::new();
        for handle in &self.inner.partitions {
            let Some(sender) = &handle.sender else {
                continue;
            };
            let (reply, receiver) = oneshot::channel();
            let mut request = Request::Stop { snapshot, reply };
            // New callers are turned away already, so the queue drains and a slot frees up.
            loop {
                match sender.try_send(request) {
                    Ok(()) => {
                        answers.push((handle, receiver));
                        break;
                    }
                    Err(TrySendError::Full(back)) => {
                        request = back;
                        tokio::time::sleep(STOP_RETRY).await;
                    }
                    Err(TrySendError::Disconnected(_)) => break,
                }
            }
        }
        let mut result = Ok(());
        for (handle, receiver) in answers {
            let answer = receiver.await.unwrap_or_else(|_| Err(self.stopped(handle.id)));
            if let Err(error) = answer
                && result.is_ok()
            {
                result = Err(error);
            }
            handle.join();
        }
        result
    }

    fn next_request_id(&self) -> RequestId {
        self.inner.next_request_id.fetch_add(1, Ordering::Relaxed)
    }

    fn submit(&self, partition_id: u32, request: Request) -> Result<(), Refused> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Refused::Error(Error::Unavailable("the broker is shutting down".to_string())));
        }
        let Some(handle) = partition_id.checked_sub(1).and_then(|index| self.inner.partitions.get(index as usize))
        else {
            return Err(Refused::Error(Error::Unavailable(format!(
                "partition {partition_id} does not exist; there are {}",
                self.partition_count()
            ))));
        };
        let Some(sender) = &handle.sender else {
            return Err(Refused::Error(self.stopped(partition_id)));
        };
        match sender.try_send(request) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(request)) => Err(Refused::Full(Box::new(request))),
            Err(TrySendError::Disconnected(_)) => Err(Refused::Error(self.stopped(partition_id))),
        }
    }

    fn submit_command(&self, partition_id: u32, command: Command) -> Result<Answer, Refused> {
        let request_id = self.next_request_id();
        let awaiting = command.intent == Intent::CreateWithAwaitingResult;
        let (reply, receiver): (Reply, _) = oneshot::channel();
        self.submit(
            partition_id,
            Request::Command { command: command.with_request(request_id), reply: Some(reply), awaiting },
        )?;
        Ok(receiver)
    }

    /// Submits to the next partition in turn, moving on while partitions are full.
    fn submit_round_robin(&self, command: Command) -> Result<(u32, Answer), Error> {
        let count = self.partition_count();
        let start = self.inner.next_creation.fetch_add(1, Ordering::Relaxed);
        let mut command = command;
        for offset in 0..count {
            let partition_id = (start.wrapping_add(offset) % count) + 1;
            match self.submit_command(partition_id, command) {
                Ok(receiver) => return Ok((partition_id, receiver)),
                Err(Refused::Full(request)) if offset + 1 < count => {
                    let Request::Command { command: back, .. } = *request else {
                        return Err(Error::Backpressure(partition_id));
                    };
                    command = back;
                }
                Err(refused) => return Err(self.refused(partition_id, refused)),
            }
        }
        Err(Error::Unavailable("there are no partitions".to_string()))
    }

    async fn answer(&self, partition_id: u32, receiver: Answer) -> Result<Record, Error> {
        match self.answer_optional(partition_id, receiver).await? {
            Some(record) => Ok(record),
            None => Err(Error::Unavailable(format!(
                "partition {partition_id} processed the command but the engine gave no answer \
                 (it is not a command clients may send)"
            ))),
        }
    }

    async fn answer_optional(&self, partition_id: u32, receiver: Answer) -> Result<Option<Record>, Error> {
        receiver.await.unwrap_or_else(|_| Err(self.stopped(partition_id)))
    }

    fn refused(&self, partition_id: u32, refused: Refused) -> Error {
        match refused {
            Refused::Full(_) => Error::Backpressure(partition_id),
            Refused::Error(error) => error,
        }
    }

    /// The error for a partition that stopped before answering, with its reason if it failed.
    fn stopped(&self, partition_id: u32) -> Error {
        let failure = partition_id
            .checked_sub(1)
            .and_then(|index| self.inner.partitions.get(index as usize))
            .and_then(|handle| handle.shared.failure.get());
        match failure {
            Some(reason) => Error::Storage(format!("partition {partition_id} stopped: {reason}")),
            None if self.inner.closed.load(Ordering::Acquire) => {
                Error::Unavailable("the broker is shutting down".to_string())
            }
            None => Error::Unavailable(format!("partition {partition_id} has stopped")),
        }
    }
}

/// Returned by [`Broker::pause_partition`]: the partition resumes when this is dropped.
#[doc(hidden)]
pub struct PauseGuard {
    _resume: std::sync::mpsc::Sender<()>,
}

impl PartitionHandle {
    fn join(&self) {
        let thread = self.thread.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!(partition = self.id, "the partition thread panicked");
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
        self.waiters.notify_all();
        // Closing the queues makes each thread finish what is queued, snapshot and end; the
        // partitions' own handles on each other's queues go first.
        if let Ok(mut peers) = self.peers.lock() {
            peers.clear();
        }
        for handle in &mut self.partitions {
            handle.sender.take();
        }
        for handle in &self.partitions {
            handle.join();
        }
    }
}

fn validate(options: &Options) -> Result<(), Error> {
    let problems: Vec<&str> = [
        (options.partitions == 0, "partitions must be at least 1"),
        (options.queue_capacity == 0, "queue_capacity must be at least 1"),
        (options.batch_commands_max == 0, "batch_commands_max must be at least 1"),
        (options.snapshot_period_records == 0, "snapshot_period_records must be at least 1"),
        (options.subscriber_capacity == 0, "subscriber_capacity must be at least 1"),
        (options.log_segment_bytes == 0, "log_segment_bytes must be at least 1"),
        (
            options.partitions >= (1 << (63 - baton_engine::state::PARTITION_BITS_SHIFT)),
            "partitions must fit in the partition bits of a key",
        ),
    ]
    .into_iter()
    .filter_map(|(bad, problem)| bad.then_some(problem))
    .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Unavailable(format!("invalid options: {}", problems.join("; "))))
    }
}

/// Records the partition count in a new data directory, and refuses one made for another count:
/// keys name their partition, so the count cannot change under existing data.
/// The partition count a data directory was created with, if it holds data: a server started
/// without an explicit count opens it as it is.
pub fn stored_partition_count(dir: &Path) -> Option<u32> {
    let bytes = std::fs::read(dir.join(META_FILE)).ok()?;
    let meta: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    meta.get("partitions").and_then(serde_json::Value::as_u64).and_then(|n| u32::try_from(n).ok())
}

fn check_meta(dir: &Path, partitions: u32) -> Result<(), Error> {
    let path = dir.join(META_FILE);
    let io =
        |action: &str, error: std::io::Error| Error::Storage(format!("cannot {action} {}: {error}", path.display()));
    match std::fs::read(&path) {
        Ok(bytes) => {
            let meta: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|error| Error::Storage(format!("{} is not valid JSON: {error}", path.display())))?;
            let format = meta.get("format").and_then(serde_json::Value::as_u64);
            if format != Some(META_FORMAT) {
                return Err(Error::Storage(format!(
                    "{} has format {format:?}, but this build only reads format {META_FORMAT}",
                    path.display()
                )));
            }
            let found = meta.get("partitions").and_then(serde_json::Value::as_u64);
            if found != Some(u64::from(partitions)) {
                return Err(Error::Storage(format!(
                    "the data directory {} was created with {} partitions, but {partitions} \
                     were asked for; the partition count of existing data cannot change",
                    dir.display(),
                    found.map_or_else(|| "an unknown number of".to_string(), |n| n.to_string())
                )));
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|error| io("create", error))?;
            let meta = serde_json::json!({ "format": META_FORMAT, "partitions": partitions });
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, meta.to_string()).map_err(|error| io("write", error))?;
            std::fs::rename(&tmp, &path).map_err(|error| io("write", error))
        }
        Err(error) => Err(io("read", error)),
    }
}

/// Recovers every partition, in parallel: each one's recovery is independent.
fn recover_all(
    options: &Options,
    records: &broadcast::Sender<Arc<Record>>,
    waiters: &Arc<JobWaiters>,
) -> Result<Vec<Partition>, Error> {
    let results: Vec<Result<Partition, Error>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (1..=options.partitions)
            .map(|id| scope.spawn(move || recover(options, id, records.clone(), waiters.clone())))
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker.join().unwrap_or_else(|_| {
                    Err(Error::Storage("a partition's recovery panicked (see the log above)".to_string()))
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

fn recover(
    options: &Options,
    id: u32,
    records: broadcast::Sender<Arc<Record>>,
    waiters: Arc<JobWaiters>,
) -> Result<Partition, Error> {
    let mut exporter = match &options.export_dir {
        Some(dir) => Some(FileExporter::start(dir, id, options.fsync, options.data_dir.is_none())?),
        None => None,
    };
    let Some(data_dir) = &options.data_dir else {
        return Ok(Partition::new(id, baton_engine::Engine::new(id), None, exporter, 0, 0, options, records, waiters));
    };
    let log_options = baton_log::Options { segment_bytes_max: options.log_segment_bytes, fsync: options.fsync };
    let export_from = exporter.as_ref().map(FileExporter::acknowledged);
    // Records the exporter has not acknowledged go to it again, `EXPORT_REPLAY_BATCH` at a time.
    let mut pending: Vec<Arc<Record>> = Vec::new();
    let (storage, recovered) =
        Storage::open(&data_dir.join(format!("partition-{id}")), id, log_options, export_from, |record| {
            pending.push(Arc::new(record));
            if pending.len() >= EXPORT_REPLAY_BATCH
                && let Some(exporter) = &mut exporter
            {
                exporter.export(std::mem::take(&mut pending));
            }
        })?;
    if let Some(exporter) = &mut exporter
        && !pending.is_empty()
    {
        exporter.export(pending);
    }
    Ok(Partition::new(
        id,
        recovered.engine,
        Some(storage),
        exporter,
        recovered.last_timestamp_ms,
        recovered.records_since_snapshot,
        options,
        records,
        waiters,
    ))
}

/// Completes deployments that reached the first partition but not all others (a crash or an
/// error during [`Broker::deploy`]'s distribution), before any request is taken.
fn repair_distribution(partitions: &mut [Partition]) -> Result<(), Error> {
    let Some((first, others)) = partitions.split_first_mut() else {
        return Ok(());
    };
    for other in others {
        let missing: Vec<_> = first
            .engine
            .state()
            .processes
            .values()
            .filter(|process| !other.engine.state().processes.contains_key(&process.record.process_definition_key))
            .map(|process| process.record.clone())
            .collect();
        for process in missing {
            tracing::info!(
                partition = other.id,
                process = %process.bpmn_process_id,
                version = process.version,
                "distributing a deployment that did not reach this partition"
            );
            let key = process.process_definition_key;
            let deployment = DeploymentRecord {
                resources: vec![Resource { name: process.resource_name.clone(), content: process.resource }],
                processes: vec![baton_engine::ProcessMetadata {
                    bpmn_process_id: process.bpmn_process_id,
                    version: process.version,
                    process_definition_key: key,
                    resource_name: process.resource_name,
                    is_new: true,
                }],
                ..DeploymentRecord::default()
            };
            other.process_now(Command::new(Intent::Create, key, RecordValue::Deployment(Box::new(deployment))))?;
        }
        let first_state = first.engine.state();
        let missing: Vec<DeploymentRecord> = first_state
            .decision_requirements
            .values()
            .filter(|drg| {
                !other.engine.state().decision_requirements.contains_key(&drg.record.metadata.decision_requirements_key)
            })
            .map(|drg| {
                let metadata = &drg.record.metadata;
                let decisions = first_state
                    .decisions
                    .values()
                    .filter(|d| d.decision_requirements_key == metadata.decision_requirements_key)
                    .map(|d| baton_engine::DecisionRecord { duplicate: false, ..d.clone() })
                    .collect();
                DeploymentRecord {
                    resources: vec![Resource {
                        name: metadata.resource_name.clone(),
                        content: drg.record.resource.clone(),
                    }],
                    decision_requirements: vec![baton_engine::DecisionRequirementsMetadata {
                        duplicate: false,
                        ..metadata.clone()
                    }],
                    decisions,
                    ..DeploymentRecord::default()
                }
            })
            .collect();
        for deployment in missing {
            let key = deployment.decision_requirements[0].decision_requirements_key;
            tracing::info!(
                partition = other.id,
                decision_requirements = %deployment.decision_requirements[0].decision_requirements_id,
                "distributing decisions that did not reach this partition"
            );
            other.process_now(Command::new(Intent::Create, key, RecordValue::Deployment(Box::new(deployment))))?;
        }
    }
    Ok(())
}
