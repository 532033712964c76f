//! One partition: the thread that owns an [`Engine`], and its batch loop.
//!
//! The loop waits for the first request (or the next due time of a job time-out or back-off),
//! drains more without blocking up to [`crate::Options::batch_commands_max`], processes them all
//! into one [`Output`], appends that to the log with one sync, and only then answers, publishes
//! the records and wakes waiting workers. Nothing leaves the partition before it is durable.
//!
//! Architecture Invariant: the engine is touched only by this thread, so it needs no lock; the
//! rest of the runtime talks to it only through the request queue.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use baton_engine::{
    Command, Engine, Intent, JobBatchRecord, JobRecord, Output, Record, RecordValue, RequestId, SideEffect, State,
};
use tokio::sync::{broadcast, oneshot};

use crate::Error;
use crate::exporter::FileExporter;
use crate::storage::Storage;
use crate::waiters::JobWaiters;

/// Where an answer goes: `Ok(None)` when the partition processed the request but the engine
/// had nothing to say (an activation with no activatable jobs).
pub(crate) type Reply = oneshot::Sender<Result<Option<Record>, Error>>;
pub(crate) type Answer = oneshot::Receiver<Result<Option<Record>, Error>>;

pub(crate) type QueryFn = Box<dyn FnOnce(&State) + Send>;

/// How often the scheduler retries when due commands did not clear what was due (the engine
/// refused them): without this pause it would spin.
const SCHEDULER_RETRY_MS: i64 = 100;

/// Create-with-result callers who gave up leave their reply behind; they are swept when the
/// table has doubled since the last sweep, and never below this size.
const AWAITING_SWEEP_MIN: usize = 1_024;

/// What callers send to a partition.
pub(crate) enum Request {
    Command {
        command: Command,
        reply: Option<Reply>,
        /// Create-with-result: answered in a later batch, when the instance completes.
        awaiting: bool,
    },
    /// Activates jobs only if the partition has some, so idle polling writes nothing.
    Activate {
        batch: JobBatchRecord,
        request_id: RequestId,
        reply: Reply,
    },
    Query(QueryFn),
    /// Stops after the batch, with a final snapshot unless `snapshot` is false (a test
    /// simulating a crash).
    Stop {
        snapshot: bool,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// Test hook: holds the partition still until `resume` is signalled or dropped.
    Pause {
        paused: oneshot::Sender<()>,
        resume: std::sync::mpsc::Receiver<()>,
    },
}

/// Ends a batch early: what the partition does once the batch is committed.
enum Control {
    Stop { snapshot: bool, reply: oneshot::Sender<Result<(), Error>> },
    Pause { paused: oneshot::Sender<()>, resume: std::sync::mpsc::Receiver<()> },
}

/// What the rest of the runtime can see of a partition without asking its thread.
#[derive(Default)]
pub(crate) struct PartitionShared {
    /// Why the partition stopped on its own (a storage failure), for the errors callers get.
    pub failure: OnceLock<String>,
}

/// Everything the partition thread owns.
pub(crate) struct Partition {
    pub id: u32,
    pub engine: Engine,
    pub storage: Option<Storage>,
    pub exporter: Option<FileExporter>,
    pub clock_ms: i64,
    pub records_since_snapshot: u64,
    pub snapshot_period_records: u64,
    pub batch_commands_max: usize,
    pub records: broadcast::Sender<Arc<Record>>,
    pub waiters: Arc<JobWaiters>,
    pub shared: Arc<PartitionShared>,
    output: Output,
    /// Replies of requests in the current batch; whatever the engine did not answer is
    /// answered with `Ok(None)` once the batch is durable.
    batch_replies: HashMap<RequestId, Reply>,
    /// Create-with-result replies, answered in whichever batch completes the instance.
    awaiting: HashMap<RequestId, Reply>,
    awaiting_sweep_at: usize,
    queries: Vec<QueryFn>,
    scheduler_idle_until_ms: i64,
    /// Jobs activated for a caller who left before the answer (a worker that hung up): they
    /// are failed back with their retries untouched at the start of the next batch, so they do
    /// not stay locked until their deadline.
    give_back: Vec<Command>,
}

impl Partition {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u32,
        engine: Engine,
        storage: Option<Storage>,
        exporter: Option<FileExporter>,
        clock_ms: i64,
        records_since_snapshot: u64,
        options: &crate::Options,
        records: broadcast::Sender<Arc<Record>>,
        waiters: Arc<JobWaiters>,
    ) -> Partition {
        Partition {
            id,
            engine,
            storage,
            exporter,
            clock_ms,
            records_since_snapshot,
            snapshot_period_records: options.snapshot_period_records,
            batch_commands_max: options.batch_commands_max,
            records,
            waiters,
            shared: Arc::new(PartitionShared::default()),
            output: Output::default(),
            batch_replies: HashMap::new(),
            awaiting: HashMap::new(),
            awaiting_sweep_at: AWAITING_SWEEP_MIN,
            queries: Vec::new(),
            scheduler_idle_until_ms: i64::MIN,
            give_back: Vec::new(),
        }
    }

    /// Processes one command outside the loop (before the thread starts, e.g. to repair the
    /// distribution of deployments) and commits it.
    pub fn process_now(&mut self, command: Command) -> Result<(), Error> {
        let now = self.tick();
        self.engine.process_into(command, now, &mut self.output);
        self.commit()?;
        self.dispatch();
        Ok(())
    }

    /// The batch loop; returns when stopped, when every handle is gone, or on a storage failure.
    pub fn run(mut self, receiver: Receiver<Request>) {
        loop {
            let now = wall_clock_ms();
            let due = self.engine.next_due_ms().map(|due| due.max(self.scheduler_idle_until_ms));
            let due = if self.give_back.is_empty() { due } else { Some(now) };
            let first = match due {
                Some(due) if due <= now => match receiver.try_recv() {
                    Ok(request) => Some(request),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return self.finish(true),
                },
                Some(due) => {
                    let wait = Duration::from_millis(u64::try_from(due - now).unwrap_or(0));
                    match receiver.recv_timeout(wait) {
                        Ok(request) => Some(request),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => return self.finish(true),
                    }
                }
                None => match receiver.recv() {
                    Ok(request) => Some(request),
                    Err(_) => return self.finish(true),
                },
            };

            let now = self.tick();
            let mut control = None;
            let mut disconnected = false;
            for command in std::mem::take(&mut self.give_back) {
                self.engine.process_into(command, now, &mut self.output);
            }
            if let Some(request) = first {
                self.admit(request, now, &mut control);
            }
            let mut taken = 1;
            while control.is_none() && taken < self.batch_commands_max {
                match receiver.try_recv() {
                    Ok(request) => self.admit(request, now, &mut control),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        disconnected = true;
                        break;
                    }
                }
                taken += 1;
            }
            self.schedule(now);

            if let Err(error) = self.commit() {
                return self.fail(error);
            }
            self.dispatch();
            self.maybe_snapshot();

            match control {
                Some(Control::Stop { snapshot, reply }) => {
                    let result = self.close(snapshot);
                    let _ = reply.send(result);
                    return;
                }
                Some(Control::Pause { paused, resume }) => {
                    let _ = paused.send(());
                    // Returns when the test resumes or drops its guard.
                    let _ = resume.recv();
                }
                None => {}
            }
            if disconnected {
                return self.finish(true);
            }
        }
    }

    /// The partition's clock: wall time, but never earlier than a record already written.
    fn tick(&mut self) -> i64 {
        self.clock_ms = self.clock_ms.max(wall_clock_ms());
        self.clock_ms
    }

    fn admit(&mut self, request: Request, now: i64, control: &mut Option<Control>) {
        match request {
            Request::Command { command, reply, awaiting } => {
                if let (Some(reply), Some(request_id)) = (reply, command.request_id) {
                    if awaiting {
                        self.awaiting.insert(request_id, reply);
                    } else {
                        self.batch_replies.insert(request_id, reply);
                    }
                }
                self.engine.process_into(command, now, &mut self.output);
            }
            Request::Activate { batch, request_id, reply } => {
                let worth_it = self.engine.state().has_activatable(&batch.job_type);
                self.batch_replies.insert(request_id, reply);
                if worth_it {
                    let command =
                        Command::new(Intent::Activate, -1, RecordValue::JobBatch(batch)).with_request(request_id);
                    self.engine.process_into(command, now, &mut self.output);
                }
            }
            Request::Query(query) => self.queries.push(query),
            Request::Stop { snapshot, reply } => *control = Some(Control::Stop { snapshot, reply }),
            Request::Pause { paused, resume } => *control = Some(Control::Pause { paused, resume }),
        }
    }

    /// The scheduler: job time-outs and back-off ends that are due become ordinary commands of
    /// this batch.
    fn schedule(&mut self, now: i64) {
        if self.scheduler_idle_until_ms > now || self.engine.next_due_ms().is_none_or(|due| due > now) {
            return;
        }
        let limit = self.batch_commands_max;
        let commands = self.engine.due_commands(now, limit);
        let fired = commands.len();
        for command in commands {
            self.engine.process_into(command, now, &mut self.output);
        }
        let still_due = self.engine.next_due_ms().is_some_and(|due| due <= now);
        if still_due && fired < limit {
            tracing::warn!(
                partition = self.id,
                "due time-outs or back-offs did not clear after their commands; retrying in \
                 {SCHEDULER_RETRY_MS} ms"
            );
            self.scheduler_idle_until_ms = now + SCHEDULER_RETRY_MS;
        }
    }

    /// Makes the batch durable. Until this returns `Ok`, nothing of the batch may leave.
    fn commit(&mut self) -> Result<(), Error> {
        if self.output.records.is_empty() {
            return Ok(());
        }
        if let Some(storage) = &mut self.storage {
            storage.append(&self.output.records)?;
        }
        self.records_since_snapshot += self.output.records.len() as u64;
        Ok(())
    }

    /// After commit: answers, queries, subscribers, the exporter and waiting workers.
    fn dispatch(&mut self) {
        for response in self.output.responses.drain(..) {
            let request_id = response.request_id;
            let reply = self.batch_replies.remove(&request_id).or_else(|| self.awaiting.remove(&request_id));
            if let Some(reply) = reply
                && let Err(Ok(Some(record))) = reply.send(Ok(Some(response.record)))
                && let RecordValue::JobBatch(batch) = record.value
            {
                for (key, job) in batch.job_keys.into_iter().zip(batch.jobs) {
                    let value = JobRecord {
                        retries: job.retries,
                        error_message: "The worker went away before the job was handed to it".to_string(),
                        ..JobRecord::default()
                    };
                    self.give_back.push(Command::new(Intent::Fail, key, RecordValue::Job(value)));
                }
            }
        }
        for (_, reply) in self.batch_replies.drain() {
            let _ = reply.send(Ok(None));
        }
        for query in self.queries.drain(..) {
            let state = self.engine.state();
            // A panicking query must not take the partition down; its caller sees the reply
            // dropped.
            if std::panic::catch_unwind(AssertUnwindSafe(|| query(state))).is_err() {
                tracing::error!(partition = self.id, "a query panicked");
            }
        }

        let publish = self.records.receiver_count() > 0;
        if publish || self.exporter.is_some() {
            let records: Vec<Arc<Record>> = self.output.records.drain(..).map(Arc::new).collect();
            if publish {
                for record in &records {
                    // Lagging subscribers lag; nobody else waits for them.
                    let _ = self.records.send(record.clone());
                }
            }
            if let Some(exporter) = &mut self.exporter {
                exporter.export(records);
            }
        } else {
            self.output.records.clear();
        }

        for effect in self.output.side_effects.drain(..) {
            match effect {
                SideEffect::JobsAvailable { job_type } => self.waiters.notify(&job_type),
            }
        }

        if self.awaiting.len() >= self.awaiting_sweep_at {
            self.awaiting.retain(|_, reply| !reply.is_closed());
            self.awaiting_sweep_at = (self.awaiting.len() * 2).max(AWAITING_SWEEP_MIN);
        }
    }

    fn maybe_snapshot(&mut self) {
        if self.records_since_snapshot < self.snapshot_period_records {
            return;
        }
        if let Err(error) = self.snapshot() {
            // The log still holds everything: a failed snapshot only makes recovery longer.
            tracing::error!(partition = self.id, "snapshot failed: {error}");
        }
    }

    fn snapshot(&mut self) -> Result<(), Error> {
        let Some(storage) = &mut self.storage else {
            self.records_since_snapshot = 0;
            return Ok(());
        };
        let exported = self.exporter.as_ref().map(FileExporter::acknowledged);
        storage.snapshot(&self.engine, exported)?;
        self.records_since_snapshot = 0;
        Ok(())
    }

    /// Stops the partition: a final snapshot (unless simulating a crash), then releases the
    /// log and the exporter, so the directory can be opened again as soon as this returns.
    fn close(mut self, snapshot: bool) -> Result<(), Error> {
        let result = if snapshot { self.snapshot() } else { Ok(()) };
        self.answer_all(|| Error::Unavailable("the partition has stopped".to_string()));
        drop(self.exporter.take());
        drop(self.storage.take());
        result
    }

    /// Every handle is gone: wind down as for a stop, with nobody to tell.
    fn finish(self, snapshot: bool) {
        let id = self.id;
        if let Err(error) = self.close(snapshot) {
            tracing::error!(partition = id, "final snapshot failed: {error}");
        }
    }

    /// The batch could not be made durable: nothing of it may be answered or published, and
    /// the engine's state is ahead of the log, so the partition stops.
    fn fail(mut self, error: Error) {
        tracing::error!(partition = self.id, "partition stopped: {error}");
        let _ = self.shared.failure.set(error.to_string());
        self.output.clear();
        self.queries.clear();
        let message = error.to_string();
        self.answer_all(|| Error::Storage(message.clone()));
    }

    fn answer_all(&mut self, error: impl Fn() -> Error) {
        for (_, reply) in self.batch_replies.drain().chain(self.awaiting.drain()) {
            let _ = reply.send(Err(error()));
        }
    }
}

pub(crate) fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}
