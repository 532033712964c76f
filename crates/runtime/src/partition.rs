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
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use baton_engine::{
    Command, Engine, Intent, JobBatchRecord, Output, Record, RecordValue, RequestId, SideEffect, State,
};
use tokio::sync::mpsc::OwnedPermit;
use tokio::sync::{broadcast, oneshot};

use crate::exporter::FileExporter;
use crate::storage::Storage;
use crate::streams::JobStreams;
use crate::waiters::JobWaiters;
use crate::{ActivatedJob, Error};

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

/// Request ids of activations for job streams: far above the broker's, which count up from 1,
/// with the partition in bits 40 and up.
const PUSH_REQUEST_IDS: u64 = 1 << 62;

/// How long a partition waits before trying again to hand commands to another partition whose
/// queue was full.
const OUTBOX_RETRY: Duration = Duration::from_millis(5);

/// The queues of every partition (index = partition id - 1), for commands between partitions.
/// Emptied when the broker stops, so that the queues can close.
pub(crate) type Peers = std::sync::Mutex<Vec<std::sync::mpsc::SyncSender<Request>>>;

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
    /// Batches written to the log and waiting for the sync that makes them durable; nothing of
    /// a batch leaves before that.
    written: VecDeque<Written>,
    /// A sync runs on the sync thread, covering this many of the oldest `written` batches.
    syncing: Option<usize>,
    sync_thread: Option<SyncThread>,
    /// Jobs activated for a caller who left before the answer (a worker that hung up): they
    /// are failed back with their retries untouched at the start of the next batch, so they do
    /// not stay locked until their deadline.
    give_back: Vec<Command>,
    /// The other partitions' queues.
    pub peers: Arc<Peers>,
    /// Open job streams, shared by every partition: new jobs are pushed to them.
    pub streams: Arc<JobStreams>,
    /// Jobs pushed to streams in the current batch, by the activation's request id.
    pushes: HashMap<RequestId, Pushed>,
    next_push: u64,
    /// Durable commands for other partitions, in order, waiting for room in their queues. Lost
    /// in a crash; recovery sends again whatever the engine still waits an answer for.
    pub outbox: VecDeque<(u32, Command)>,
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
            peers: Arc::default(),
            outbox: VecDeque::new(),
            streams: Arc::default(),
            pushes: HashMap::new(),
            next_push: 0,
            written: VecDeque::new(),
            syncing: None,
            sync_thread: None,
        }
    }

    /// Processes one command outside the loop (before the thread starts, e.g. to repair the
    /// distribution of deployments) and commits it.
    pub fn process_now(&mut self, command: Command) -> Result<(), Error> {
        let now = self.tick();
        self.engine.process_into(command, now, &mut self.output);
        self.commit()?;
        self.flush()
    }

    /// The batch loop; returns when stopped, when every handle is gone, or on a storage failure.
    pub fn run(mut self, receiver: Receiver<Request>) {
        loop {
            if let Err(error) = self.poll_sync(false) {
                return self.fail(error);
            }
            self.send_outbox();
            if self.syncing.is_none() && !self.written.is_empty() {
                // Written batches wait for a sync. With work queued, the sync thread runs it while
                // that work is processed; with none, this thread syncs at once, since handing the
                // sync over and back would only add two thread wake-ups to the answer's latency.
                match receiver.try_recv() {
                    Ok(request) => {
                        if let Err(error) = self.start_sync() {
                            return self.fail(error);
                        }
                        if let Some(done) = self.batch(Some(request), &receiver) {
                            return self.done(done);
                        }
                        continue;
                    }
                    Err(TryRecvError::Empty) => {
                        if let Err(error) = self.sync_here() {
                            return self.fail(error);
                        }
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => return self.finish(true),
                }
            }
            if self.syncing.is_some() {
                // The log is syncing: work on whatever is queued meanwhile, or else wait for the
                // sync so its batch can be answered.
                match receiver.try_recv() {
                    Ok(request) => {
                        if let Some(done) = self.batch(Some(request), &receiver) {
                            return self.done(done);
                        }
                    }
                    Err(TryRecvError::Empty) => {
                        if let Err(error) = self.poll_sync(true) {
                            return self.fail(error);
                        }
                    }
                    Err(TryRecvError::Disconnected) => return self.finish(true),
                }
                continue;
            }
            let now = wall_clock_ms();
            let due = self.engine.next_due_ms().map(|due| due.max(self.scheduler_idle_until_ms));
            let due = if self.give_back.is_empty() { due } else { Some(now) };
            // Commands for a partition whose queue was full are tried again soon.
            let due = if self.outbox.is_empty() {
                due
            } else {
                let retry = now + OUTBOX_RETRY.as_millis() as i64;
                Some(due.map_or(retry, |due| due.min(retry)))
            };
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

            if let Some(done) = self.batch(first, &receiver) {
                return self.done(done);
            }
        }
    }

    /// Takes `first` and whatever else is queued (up to the batch size) into one batch,
    /// processes and writes it. `Some` when the partition is done.
    fn batch(&mut self, first: Option<Request>, receiver: &Receiver<Request>) -> Option<Done> {
        {
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
            self.push_jobs(now);

            if let Err(error) = self.commit() {
                return Some(Done::Failed(error));
            }
            if control.is_some() || disconnected {
                // Nothing may be left unanswered when the partition stops or holds still.
                if let Err(error) = self.flush() {
                    return Some(Done::Failed(error));
                }
            }
            if let Err(error) = self.maybe_snapshot() {
                return Some(Done::Failed(error));
            }

            match control {
                Some(Control::Stop { snapshot, reply }) => return Some(Done::Stop { snapshot, reply }),
                Some(Control::Pause { paused, resume }) => {
                    let _ = paused.send(());
                    // Returns when the test resumes or drops its guard.
                    let _ = resume.recv();
                }
                None => {}
            }
            if disconnected {
                return Some(Done::Finish);
            }
            None
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
                    let command = Command::new(Intent::Activate, -1, RecordValue::JobBatch(Box::new(batch)))
                        .with_request(request_id);
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

    /// Jobs this batch made activatable are activated for open streams of their type, in this
    /// batch, so they are durable together (see the `streams` module).
    fn push_jobs(&mut self, now: i64) {
        let mut job_types: Vec<Arc<str>> = Vec::new();
        for effect in &self.output.side_effects {
            if let SideEffect::JobsAvailable { job_type } = effect
                && !job_types.contains(job_type)
            {
                job_types.push(job_type.clone());
            }
        }
        for job_type in job_types {
            // Each push takes at least one job; the bound only guards against a surprise.
            for _ in 0..64 {
                let activatable = self.engine.state().activatable_count(&job_type, crate::streams::PUSH_MAX);
                if activatable == 0 {
                    break;
                }
                let Some((target, permits)) = self.streams.reserve(&job_type, activatable) else {
                    break;
                };
                let sender = target.sender.clone();
                self.next_push += 1;
                let request_id = PUSH_REQUEST_IDS + (u64::from(self.id) << 40) + self.next_push;
                let batch = JobBatchRecord {
                    job_type: job_type.clone(),
                    worker: target.worker,
                    timeout_ms: target.timeout_ms,
                    max_jobs_to_activate: i32::try_from(permits.len()).unwrap_or(i32::MAX),
                    fetch_variables: target.fetch_variables,
                    job_keys: Vec::new(),
                    jobs: Vec::new(),
                    truncated: false,
                };
                let command =
                    Command::new(Intent::Activate, -1, RecordValue::JobBatch(Box::new(batch))).with_request(request_id);
                self.pushes.insert(request_id, (sender, permits));
                self.engine.process_into(command, now, &mut self.output);
            }
        }
    }

    /// Writes the batch to the log and queues it until a sync makes it durable (in memory, it
    /// leaves at once). Until that sync, nothing of the batch may leave.
    fn commit(&mut self) -> Result<(), Error> {
        let batch = Written {
            output: std::mem::take(&mut self.output),
            replies: std::mem::take(&mut self.batch_replies),
            queries: std::mem::take(&mut self.queries),
            pushes: std::mem::take(&mut self.pushes),
        };
        if !batch.output.records.is_empty() {
            if let Some(storage) = &mut self.storage {
                storage.write(&batch.output.records)?;
            }
            self.records_since_snapshot += batch.output.records.len() as u64;
        }
        if self.storage.is_none() || (self.written.is_empty() && batch.output.records.is_empty()) {
            // Nothing to wait for: an empty batch (queries, empty activations) is answered
            // now, unless earlier batches still wait, whose answers must go first.
            self.dispatch(batch);
            return Ok(());
        }
        self.written.push_back(batch);
        Ok(())
    }

    /// Syncs everything written so far on this thread, then lets its batches leave. Only when no
    /// sync is running: syncs complete in the order they started.
    fn sync_here(&mut self) -> Result<(), Error> {
        let (None, Some(storage)) = (self.syncing, &mut self.storage) else {
            return Ok(());
        };
        let ticket = storage.prepare_sync()?;
        let result = ticket.sync();
        self.synced((ticket, result), self.written.len())
    }

    /// A sync ended: on success the `count` oldest written batches are durable and leave.
    fn synced(&mut self, done: SyncDone, count: usize) -> Result<(), Error> {
        let Some(storage) = &mut self.storage else {
            return Ok(());
        };
        match done {
            (ticket, Ok(())) => storage.synced(ticket),
            (_, Err(error)) => return Err(storage.sync_failed(error)),
        }
        for _ in 0..count {
            let Some(batch) = self.written.pop_front() else { break };
            self.dispatch(batch);
        }
        Ok(())
    }

    /// Starts syncing everything written so far, unless a sync is running already (the next
    /// one will cover what is written meanwhile).
    fn start_sync(&mut self) -> Result<(), Error> {
        if self.syncing.is_some() || self.written.is_empty() {
            return Ok(());
        }
        let Some(storage) = &mut self.storage else {
            return Ok(());
        };
        let ticket = storage.prepare_sync()?;
        let thread = self.sync_thread.get_or_insert_with(|| SyncThread::start(self.id));
        if thread.tickets.send(ticket).is_err() {
            return Err(Error::Storage(format!("partition {}: the log's sync thread is gone", self.id)));
        }
        self.syncing = Some(self.written.len());
        Ok(())
    }

    /// Finishes the running sync if it is done (or, with `wait`, once it is): its batches are
    /// durable and leave.
    fn poll_sync(&mut self, wait: bool) -> Result<(), Error> {
        let (Some(count), Some(thread)) = (self.syncing, &self.sync_thread) else {
            return Ok(());
        };
        let done = if wait {
            thread
                .done
                .recv()
                .map_err(|_| Error::Storage(format!("partition {}: the log's sync thread died", self.id)))?
        } else {
            match thread.done.try_recv() {
                Ok(done) => done,
                Err(TryRecvError::Empty) => return Ok(()),
                Err(TryRecvError::Disconnected) => {
                    return Err(Error::Storage(format!("partition {}: the log's sync thread died", self.id)));
                }
            }
        };
        self.syncing = None;
        // What was written meanwhile is synced by the loop, here or on the sync thread.
        self.synced(done, count)
    }

    /// Waits until every written batch is durable and answered.
    fn flush(&mut self) -> Result<(), Error> {
        self.poll_sync(true)?;
        self.sync_here()
    }

    /// After its sync: answers, queries, subscribers, the exporter and waiting workers.
    fn dispatch(&mut self, batch: Written) {
        let Written { mut output, mut replies, queries, mut pushes } = batch;
        for response in output.responses.drain(..) {
            let request_id = response.request_id;
            if let Some(pushed) = pushes.remove(&request_id) {
                self.deliver_pushed(response.record, pushed);
                continue;
            }
            let reply = replies.remove(&request_id).or_else(|| self.awaiting.remove(&request_id));
            if let Some(reply) = reply
                && let Err(Ok(Some(record))) = reply.send(Ok(Some(response.record)))
                && let RecordValue::JobBatch(batch) = record.value
            {
                for (key, job) in batch.job_keys.into_iter().zip(batch.jobs) {
                    self.give_back.push(crate::give_back_command(key, &job));
                }
            }
        }
        for (_, reply) in replies.drain() {
            let _ = reply.send(Ok(None));
        }
        for query in queries {
            let state = self.engine.state();
            // A panicking query must not take the partition down; its caller sees the reply
            // dropped.
            if std::panic::catch_unwind(AssertUnwindSafe(|| query(state))).is_err() {
                tracing::error!(partition = self.id, "a query panicked");
            }
        }

        let publish = self.records.receiver_count() > 0;
        if publish || self.exporter.is_some() {
            let records: Vec<Arc<Record>> = output.records.drain(..).map(Arc::new).collect();
            if publish {
                for record in &records {
                    // Lagging subscribers lag; nobody else waits for them.
                    let _ = self.records.send(record.clone());
                }
            }
            if let Some(exporter) = &mut self.exporter {
                exporter.export(records);
            }
        }

        for effect in output.side_effects.drain(..) {
            match effect {
                SideEffect::JobsAvailable { job_type } => self.waiters.notify(&job_type),
                SideEffect::SendCommand { partition_id, command } => self.outbox.push_back((partition_id, *command)),
            }
        }
        self.send_outbox();

        if self.awaiting.len() >= self.awaiting_sweep_at {
            self.awaiting.retain(|_, reply| !reply.is_closed());
            self.awaiting_sweep_at = (self.awaiting.len() * 2).max(AWAITING_SWEEP_MIN);
        }
    }

    /// Hands jobs activated for a stream to it, using the room reserved before the batch; jobs
    /// whose stream is gone are given back.
    fn deliver_pushed(&mut self, record: Record, (sender, permits): Pushed) {
        let RecordValue::JobBatch(batch) = record.value else {
            return;
        };
        let mut permits = permits.into_iter();
        for (key, job) in batch.job_keys.into_iter().zip(batch.jobs) {
            match permits.next() {
                Some(permit) if !sender.is_closed() => _ = permit.send((key, job)),
                _ => self.give_back.push(crate::give_back_command(key, &job)),
            }
        }
    }

    /// Hands the outbox to the other partitions' queues, in order, until one is full.
    fn send_outbox(&mut self) {
        if self.outbox.is_empty() {
            return;
        }
        let Ok(peers) = self.peers.lock() else {
            return;
        };
        while let Some((partition_id, command)) = self.outbox.pop_front() {
            let Some(queue) = peers.get(partition_id as usize - 1) else {
                // Stopping (or a partition this node does not have): after a restart, recovery
                // sends again what is still unanswered.
                continue;
            };
            let request = Request::Command { command, reply: None, awaiting: false };
            match queue.try_send(request) {
                Ok(()) => {}
                Err(std::sync::mpsc::TrySendError::Full(Request::Command { command, .. })) => {
                    self.outbox.push_front((partition_id, command));
                    return;
                }
                Err(_) => {}
            }
        }
    }

    fn maybe_snapshot(&mut self) -> Result<(), Error> {
        if self.records_since_snapshot < self.snapshot_period_records {
            return Ok(());
        }
        // A snapshot holds the state after every written record: they must be durable first.
        self.flush()?;
        if let Err(error) = self.snapshot() {
            // The log still holds everything: a failed snapshot only makes recovery longer.
            tracing::error!(partition = self.id, "snapshot failed: {error}");
        }
        Ok(())
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
        let flushed = self.flush();
        let result = flushed.and_then(|()| if snapshot { self.snapshot() } else { Ok(()) });
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
        let written: Vec<Written> = self.written.drain(..).collect();
        let written_replies = written.into_iter().flat_map(|batch| batch.replies.into_iter());
        for (_, reply) in self.batch_replies.drain().chain(written_replies).chain(self.awaiting.drain()) {
            let _ = reply.send(Err(error()));
        }
    }

    /// Ends the loop as `batch` decided.
    fn done(self, done: Done) {
        match done {
            Done::Stop { snapshot, reply } => {
                let result = self.close(snapshot);
                let _ = reply.send(result);
            }
            Done::Finish => self.finish(true),
            Done::Failed(error) => self.fail(error),
        }
    }
}

/// A batch written to the log, with what leaves once it is durable.
struct Written {
    output: Output,
    replies: HashMap<RequestId, Reply>,
    queries: Vec<QueryFn>,
    pushes: HashMap<RequestId, Pushed>,
}

/// A stream's channel and the room reserved in it for one push.
type Pushed = (tokio::sync::mpsc::Sender<ActivatedJob>, Vec<OwnedPermit<ActivatedJob>>);

/// How the batch loop ends.
enum Done {
    Stop { snapshot: bool, reply: oneshot::Sender<Result<(), Error>> },
    Finish,
    Failed(Error),
}

/// The thread that runs a partition's `fdatasync`s, so that the partition thread processes the
/// next batch meanwhile (it is answered once its own sync is done).
struct SyncThread {
    tickets: std::sync::mpsc::Sender<baton_log::SyncTicket>,
    done: Receiver<SyncDone>,
}

/// A finished sync: its ticket and how it went.
type SyncDone = (baton_log::SyncTicket, Result<(), baton_log::Error>);

impl SyncThread {
    fn start(partition_id: u32) -> SyncThread {
        let (tickets, work) = std::sync::mpsc::channel::<baton_log::SyncTicket>();
        let (report, done) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name(format!("baton-sync-{partition_id}")).spawn(move || {
            // Ends when the partition drops its sender.
            for ticket in work {
                let result = ticket.sync();
                if report.send((ticket, result)).is_err() {
                    return;
                }
            }
        });
        if let Err(error) = spawned {
            // Without the thread every sync reports the failure, and the partition stops.
            tracing::error!(partition = partition_id, "cannot start the log's sync thread: {error}");
        }
        SyncThread { tickets, done }
    }
}

pub(crate) fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}
