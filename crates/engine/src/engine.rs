//! The processing loop: one command in, a batch of records, responses and side effects out.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::processors;
use crate::record::*;
use crate::state::{State, partition_of_correlation_key, partition_of_key};

/// A command from outside the engine (a client, the scheduler).
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub intent: Intent,
    /// The entity addressed (job key, incident key, …); -1 when the command creates one.
    pub key: i64,
    pub value: RecordValue,
    pub request_id: Option<RequestId>,
}

impl Command {
    pub fn new(intent: Intent, key: i64, value: RecordValue) -> Command {
        Command { intent, key, value, request_id: None }
    }

    /// `PROCESS_INSTANCE CANCEL`: it addresses the instance by key; the engine reads the rest
    /// from its state.
    pub fn cancel_instance(process_instance_key: i64) -> Command {
        let value = ProcessInstanceRecord {
            bpmn_process_id: Arc::from(""),
            version: -1,
            process_definition_key: -1,
            process_instance_key,
            element_id: Arc::from(""),
            bpmn_element_type: BpmnElementType::SequenceFlow,
            flow_scope_key: -1,
            parent_process_instance_key: -1,
            parent_element_instance_key: -1,
        };
        Command::new(Intent::Cancel, process_instance_key, RecordValue::ProcessInstance(value))
    }

    /// `INCIDENT RESOLVE`, by the incident's key alone.
    pub fn resolve_incident(incident_key: i64) -> Command {
        let value = IncidentRecord {
            error_type: ErrorType::Unknown,
            error_message: String::new(),
            bpmn_process_id: Arc::from(""),
            process_definition_key: -1,
            process_instance_key: -1,
            element_id: Arc::from(""),
            element_instance_key: -1,
            job_key: -1,
            variable_scope_key: -1,
        };
        Command::new(Intent::Resolve, incident_key, RecordValue::Incident(Box::new(value)))
    }

    /// `VARIABLE_DOCUMENT UPDATE` of `scope_key`: local, or propagated to where each variable is
    /// defined (else the root), as Zeebe's SetVariables does.
    pub fn set_variables(scope_key: i64, variables: Document, local: bool) -> Command {
        let update_semantics = if local { VariableUpdateSemantic::Local } else { VariableUpdateSemantic::Propagate };
        let value = VariableDocumentRecord { scope_key, update_semantics, variables };
        Command::new(Intent::Update, -1, RecordValue::VariableDocument(value))
    }

    pub fn with_request(mut self, request_id: RequestId) -> Command {
        self.request_id = Some(request_id);
        self
    }
}

/// The answer to a request: the event that carried out the command, or the rejection.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub request_id: RequestId,
    /// For create-with-result this is a `PROCESS_INSTANCE_RESULT` record that is not in the log.
    pub record: Record,
}

impl Response {
    pub fn rejection(&self) -> Option<&Rejection> {
        self.record.rejection.as_deref()
    }
}

/// Work for the edge, to be done once the batch is durable. Replay discards these.
#[derive(Debug, Clone, PartialEq)]
pub enum SideEffect {
    /// Jobs of this type became activatable: wake long-polling and streaming workers.
    JobsAvailable { job_type: Arc<str> },
    /// A command for another partition (message subscriptions between the partition of an
    /// instance and the partition of a correlation key). Delivery may be lost in a crash: after
    /// recovery, [`Engine::pending_commands`] gives everything still unanswered, and receivers
    /// ignore what they already carried out.
    SendCommand { partition_id: u32, command: Box<Command> },
}

/// Everything one command produced, to be appended as one batch.
#[derive(Debug, Default)]
pub struct Output {
    pub records: Vec<Record>,
    pub responses: Vec<Response>,
    pub side_effects: Vec<SideEffect>,
}

impl Output {
    pub fn clear(&mut self) {
        self.records.clear();
        self.responses.clear();
        self.side_effects.clear();
    }
}

/// Bounds the work one external command may cause, so a model with a cycle of pass-through
/// elements stops the batch instead of the partition.
pub const FOLLOW_UP_COMMANDS_MAX: usize = 100_000;

/// A partition's deterministic state machine. No I/O, no clock, no threads: time comes in with
/// each command, and everything that must happen outside comes back as data.
#[derive(Debug)]
pub struct Engine {
    state: State,
}

impl Engine {
    pub fn new(partition_id: u32) -> Engine {
        Engine { state: State::new(partition_id) }
    }

    pub fn from_state(state: State) -> Engine {
        Engine { state }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// How many partitions the node has (1 unless set): messages are routed by correlation key.
    pub fn set_partition_count(&mut self, partition_count: u32) {
        self.state.partition_count = partition_count.max(1);
    }

    /// Commands to other partitions that may not have arrived, to send again after recovery:
    /// subscriptions of this partition's instances (opened on the correlation key's partition),
    /// and messages offered to other partitions' instances and not answered yet.
    pub fn pending_commands(&self) -> Vec<(u32, Command)> {
        let state = &self.state;
        let mut commands = Vec::new();
        for (key, subscription) in &state.message_subscriptions {
            if partition_of_key(*key) != state.partition_id {
                continue;
            }
            let home = partition_of_correlation_key(&subscription.correlation_key, state.partition_count);
            if home != state.partition_id {
                let value = RecordValue::MessageSubscription(Box::new(subscription.clone()));
                commands.push((home, Command::new(Intent::Create, *key, value)));
            }
        }
        for (key, offer) in &state.correlating {
            let value = RecordValue::ProcessMessageSubscription(Box::new(offer.clone()));
            commands.push((partition_of_key(*key), Command::new(Intent::Correlate, *key, value)));
        }
        commands
    }

    pub fn into_state(self) -> State {
        self.state
    }

    /// Processes `command` at time `timestamp_ms`, and every follow-up command it causes.
    pub fn process(&mut self, command: Command, timestamp_ms: i64) -> Output {
        // Sized for a typical command's cascade, so the record vector rarely reallocates.
        let mut output = Output { records: Vec::with_capacity(32), ..Output::default() };
        self.process_into(command, timestamp_ms, &mut output);
        output
    }

    /// As [`Engine::process`], appending to `output` (lets a caller batch several commands).
    pub fn process_into(&mut self, command: Command, timestamp_ms: i64, output: &mut Output) {
        let position = self.state.next_position();
        let record = Record {
            position,
            source_position: 0,
            key: command.key,
            timestamp_ms,
            record_type: RecordType::Command,
            intent: command.intent,
            value: command.value,
            request_id: command.request_id,
            rejection: None,
        };
        let mut ctx = Ctx { state: &mut self.state, out: output, queue: VecDeque::with_capacity(8), now: timestamp_ms };
        ctx.queue.push_back(ctx.out.records.len());
        ctx.out.records.push(record);
        let mut processed = 0;
        while let Some(index) = ctx.queue.pop_front() {
            processed += 1;
            if processed > FOLLOW_UP_COMMANDS_MAX {
                // A model that loops without a wait state: stop it here rather than spin forever.
                ctx.queue.clear();
                break;
            }
            // The command is lent out of the batch while it is processed rather than copied:
            // processing appends to the batch, and nothing reads a command once it is dequeued.
            let command = std::mem::replace(&mut ctx.out.records[index], Record::placeholder());
            processors::process(&mut ctx, &command);
            ctx.out.records[index] = command;
        }
    }

    /// Rebuilds state from a record of the log: events are applied, commands only move counters.
    pub fn replay(&mut self, record: &Record) {
        self.state.observe(record);
        if record.record_type == RecordType::Event {
            self.state.apply(record);
        }
    }

    /// The earliest time at which [`Engine::due_commands`] will have something to do.
    pub fn next_due_ms(&self) -> Option<i64> {
        let deadline = self.state.deadlines.first().map(|(due, _)| *due);
        let backoff = self.state.backoffs.first().map(|(due, _)| *due);
        let message = self.state.message_deadlines.first().map(|(due, _)| *due);
        let timer = self.state.timer_due.first().map(|(due, _)| *due);
        [deadline, backoff, message, timer].into_iter().flatten().min()
    }

    /// Commands the scheduler should append now: job time-outs, back-off ends, message expiries
    /// and timers due at `now_ms`, at most `limit` of them.
    pub fn due_commands(&self, now_ms: i64, limit: usize) -> Vec<Command> {
        let mut commands = Vec::new();
        let timed_out = self.state.deadlines.iter().take_while(|(due, _)| *due <= now_ms);
        for (_, key) in timed_out.take(limit) {
            if let Some(job) = self.state.jobs.get(key) {
                commands.push(Command::new(Intent::TimeOut, *key, RecordValue::Job(job.record.clone())));
            }
        }
        let recurring = self.state.backoffs.iter().take_while(|(due, _)| *due <= now_ms);
        for (_, key) in recurring.take(limit.saturating_sub(commands.len())) {
            if let Some(job) = self.state.jobs.get(key) {
                commands.push(Command::new(Intent::RecurAfterBackoff, *key, RecordValue::Job(job.record.clone())));
            }
        }
        let expired = self.state.message_deadlines.iter().take_while(|(due, _)| *due <= now_ms);
        for (_, key) in expired.take(limit.saturating_sub(commands.len())) {
            if let Some(message) = self.state.messages.get(key) {
                commands.push(Command::new(Intent::Expire, *key, RecordValue::Message(Box::new(message.clone()))));
            }
        }
        let timers = self.state.timer_due.iter().take_while(|(due, _)| *due <= now_ms);
        for (_, key) in timers.take(limit.saturating_sub(commands.len())) {
            if let Some(timer) = self.state.timers.get(key) {
                commands.push(Command::new(Intent::Trigger, *key, RecordValue::Timer(timer.clone())));
            }
        }
        commands
    }
}

/// What a processor works with: the state to read, and the writers for records.
pub(crate) struct Ctx<'a> {
    pub state: &'a mut State,
    pub out: &'a mut Output,
    /// Follow-up commands not processed yet, by their index in `out.records`.
    pub queue: VecDeque<usize>,
    pub now: i64,
}

impl Ctx<'_> {
    /// The follow-up commands not processed yet, in order.
    pub fn queued(&self) -> impl Iterator<Item = &Record> {
        self.queue.iter().map(|&index| &self.out.records[index])
    }

    pub fn next_key(&mut self) -> i64 {
        self.state.next_key()
    }

    /// Appends an event and applies it: the only way processing changes state.
    pub fn event(&mut self, source: &Record, key: i64, intent: Intent, value: RecordValue) -> usize {
        let record = Record {
            position: self.state.next_position(),
            source_position: source.position,
            key,
            timestamp_ms: self.now,
            record_type: RecordType::Event,
            intent,
            value,
            request_id: None,
            rejection: None,
        };
        self.state.apply(&record);
        self.out.records.push(record);
        self.out.records.len() - 1
    }

    /// Appends a follow-up command, processed after the current one within the same batch.
    pub fn command(&mut self, source: &Record, key: i64, intent: Intent, value: RecordValue) {
        let record = Record {
            position: self.state.next_position(),
            source_position: source.position,
            key,
            timestamp_ms: self.now,
            record_type: RecordType::Command,
            intent,
            value,
            request_id: None,
            rejection: None,
        };
        self.queue.push_back(self.out.records.len());
        self.out.records.push(record);
    }

    /// Rejects `command`: a rejection record, and the answer if someone waits for one.
    pub fn reject(&mut self, command: &Record, rejection_type: RejectionType, reason: String) {
        let record = Record {
            position: self.state.next_position(),
            source_position: command.position,
            key: command.key,
            timestamp_ms: self.now,
            record_type: RecordType::CommandRejection,
            intent: command.intent,
            value: command.value.clone(),
            request_id: None,
            rejection: Some(Box::new(Rejection { rejection_type, reason })),
        };
        if let Some(request_id) = command.request_id {
            self.out.responses.push(Response { request_id, record: record.clone() });
        }
        self.out.records.push(record);
    }

    /// Answers `command` with the event at `index` of this batch.
    pub fn respond(&mut self, command: &Record, index: usize) {
        if let Some(request_id) = command.request_id {
            let record = self.out.records[index].clone();
            self.out.responses.push(Response { request_id, record });
        }
    }

    pub fn respond_with(&mut self, request_id: RequestId, record: Record) {
        self.out.responses.push(Response { request_id, record });
    }

    /// A command for another partition, sent once this batch is durable.
    pub fn send(&mut self, partition_id: u32, intent: Intent, key: i64, value: RecordValue) {
        let command = Command::new(intent, key, value);
        self.out.side_effects.push(SideEffect::SendCommand { partition_id, command: Box::new(command) });
    }

    /// The partition holding the messages of `correlation_key`.
    pub fn message_partition(&self, correlation_key: &str) -> u32 {
        partition_of_correlation_key(correlation_key, self.state.partition_count)
    }

    pub fn side_effect(&mut self, effect: SideEffect) {
        if !self.out.side_effects.contains(&effect) {
            self.out.side_effects.push(effect);
        }
    }
}
