//! The read model: what the partitions' state no longer holds (finished instances, the records
//! an instance went through), kept in memory from [`Broker::subscribe`].
//!
//! It is **not durable** and **bounded**: it starts empty when the server starts (it sees only
//! records committed afterwards), keeps the last [`Limits::finished_instances`] finished
//! instances, at most [`Limits::records_per_instance`] records per instance (the oldest go
//! first) and [`Limits::records_total`] records in all (histories of finished instances go
//! first, oldest first, then those of the oldest active ones). A subscriber that falls more than
//! the broker's `subscriber_capacity` behind loses records; the histories affected say so
//! (`complete: false`).
//!
//! Read-your-writes: [`ReadModel::sync`] waits until every record published before the call has
//! been applied. A handler first runs a query on the partition (which runs only after the
//! records of every earlier answered command were published, see `baton_runtime::Broker`),
//! then syncs; so a read after a successful write sees that write here too.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use baton_engine::{Intent, Record, RecordType, RecordValue};
use baton_runtime::Broker;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::wire::{self, HistoryRecord, InstanceState, ProcessInstance, key, optional_key};

/// Bounds of the read model; memory is roughly proportional to `records_total`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Completed or terminated instances listed by `GET /v1/process-instances`.
    pub finished_instances: usize,
    /// Records kept per instance history; older ones are dropped.
    pub records_per_instance: usize,
    /// Records kept over all histories.
    pub records_total: usize,
    /// Variable values whose JSON is longer are kept as a note saying their size.
    pub variable_value_bytes: usize,
    /// Element instances, jobs and incidents remembered so that commands addressing them (which
    /// carry no instance key) can be put into the right history.
    pub tracked_entities: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            finished_instances: 10_000,
            records_per_instance: 1_000,
            records_total: 200_000,
            variable_value_bytes: 8 * 1024,
            tracked_entities: 200_000,
        }
    }
}

/// Barriers waiting in line for the feeder; a full line makes callers wait, never grow.
const BARRIER_QUEUE: usize = 1024;

/// A handle on the read model; cheap to clone.
#[derive(Clone)]
pub struct ReadModel {
    model: Arc<Mutex<Model>>,
    barriers: mpsc::Sender<oneshot::Sender<()>>,
}

impl ReadModel {
    /// Subscribes now (so nothing committed after this call is missed) and spawns the task that
    /// feeds the model. The task ends when the broker or every handle of this read model is
    /// gone. Must be called inside a Tokio runtime.
    pub(crate) fn start(broker: &Broker, limits: Limits) -> ReadModel {
        let records = broker.subscribe();
        let model = Arc::new(Mutex::new(Model::new(limits)));
        let (barriers, barrier_queue) = mpsc::channel(BARRIER_QUEUE);
        tokio::spawn(feed(records, barrier_queue, model.clone()));
        ReadModel { model, barriers }
    }

    /// Waits until every record published before this call is applied, or `timeout` passed.
    /// Returns whether it caught up; on `false` the caller answers from what is there.
    pub async fn sync(&self, timeout: Duration) -> bool {
        let (ack, acked) = oneshot::channel();
        let synced = async {
            if self.barriers.send(ack).await.is_err() {
                return false;
            }
            acked.await.is_ok()
        };
        tokio::time::timeout(timeout, synced).await.unwrap_or(false)
    }

    /// Finished instances, oldest first, that pass `keep`.
    pub fn finished(&self, mut keep: impl FnMut(&ProcessInstance) -> bool, limit: usize) -> Vec<ProcessInstance> {
        let model = self.lock();
        model
            .finished
            .iter()
            .filter_map(|key| model.finished_by_key.get(key))
            .filter(|i| keep(i))
            .take(limit)
            .cloned()
            .collect()
    }

    pub fn finished_instance(&self, process_instance_key: i64) -> Option<ProcessInstance> {
        self.lock().finished_by_key.get(&process_instance_key).cloned()
    }

    pub fn history(&self, process_instance_key: i64) -> Option<wire::History> {
        let model = self.lock();
        let history = model.histories.get(&process_instance_key)?;
        Some(wire::History {
            process_instance_key: key(process_instance_key),
            complete: history.saw_start && !history.gap && history.dropped == 0,
            dropped_records: history.dropped,
            records: history.records.iter().cloned().collect(),
        })
    }

    /// When each of `keys` (element instances, incidents) began, for those that began while
    /// the model was listening and still exist.
    pub fn start_times(&self, keys: impl IntoIterator<Item = i64>) -> HashMap<i64, i64> {
        let model = self.lock();
        keys.into_iter().filter_map(|key| model.started.get(&key).map(|time| (key, *time))).collect()
    }

    /// The element instances the histories show, for each instance (active or finished): with
    /// their state and times as the records tell them.
    pub fn elements_seen(&self) -> Vec<ElementSeen> {
        let model = self.lock();
        let mut seen = Vec::new();
        for (instance, history) in &model.histories {
            let mut by_key: BTreeMap<i64, ElementSeen> = BTreeMap::new();
            for record in
                history.records.iter().filter(|r| r.record_type == "EVENT" && r.value_type == "PROCESS_INSTANCE")
            {
                let (Some(element_id), Some(element_type)) = (&record.element_id, &record.element_type) else {
                    continue;
                };
                if element_type == "SEQUENCE_FLOW" {
                    continue;
                }
                let Ok(element_key) = record.key.parse::<i64>() else { continue };
                let element = by_key.entry(element_key).or_insert_with(|| ElementSeen {
                    key: element_key,
                    process_instance_key: *instance,
                    element_id: element_id.clone(),
                    element_type: element_type.clone(),
                    flow_scope_key: record.flow_scope_key.as_deref().and_then(|k| k.parse().ok()).unwrap_or(-1),
                    state: "ACTIVE",
                    start_time: None,
                    end_time: None,
                });
                match record.intent.as_str() {
                    "ELEMENT_ACTIVATING" => element.start_time = Some(record.timestamp),
                    "ELEMENT_COMPLETED" => (element.state, element.end_time) = ("COMPLETED", Some(record.timestamp)),
                    "ELEMENT_TERMINATED" => (element.state, element.end_time) = ("TERMINATED", Some(record.timestamp)),
                    _ => {}
                }
            }
            seen.extend(by_key.into_values());
        }
        seen
    }

    /// The variables of finished instances, as their histories last show each one.
    pub fn variables_of_finished(&self) -> Vec<VariableSeen> {
        let model = self.lock();
        let mut seen = Vec::new();
        for (instance, history) in model.histories.iter().filter(|(_, h)| h.finished) {
            let mut by_key: BTreeMap<i64, VariableSeen> = BTreeMap::new();
            for record in history.records.iter().filter(|r| r.record_type == "EVENT" && r.value_type == "VARIABLE") {
                let (Ok(variable_key), Some(name)) = (record.key.parse::<i64>(), &record.variable_name) else {
                    continue;
                };
                by_key.insert(
                    variable_key,
                    VariableSeen {
                        key: variable_key,
                        process_instance_key: *instance,
                        scope_key: record.scope_key.as_deref().and_then(|k| k.parse().ok()).unwrap_or(*instance),
                        name: name.clone(),
                        value: if record.value_dropped { None } else { record.variable_value.clone() },
                    },
                );
            }
            seen.extend(by_key.into_values());
        }
        seen
    }

    /// Records lost because the model fell too far behind the broker.
    pub fn lost_records(&self) -> u64 {
        self.lock().lost_records
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Model> {
        // The model stays consistent between records, so a panic elsewhere leaves it usable.
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn feed(
    mut records: broadcast::Receiver<Arc<Record>>,
    mut barriers: mpsc::Receiver<oneshot::Sender<()>>,
    model: Arc<Mutex<Model>>,
) {
    let lock = || model.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        tokio::select! {
            // Barriers first: a reader waits on them, records only pile up in the channel.
            biased;
            barrier = barriers.recv() => {
                let Some(ack) = barrier else { return };
                // Everything published before the barrier was sent is in the channel now.
                let mut model = lock();
                loop {
                    match records.try_recv() {
                        Ok(record) => model.apply(&record),
                        Err(TryRecvError::Lagged(lost)) => model.lost(lost),
                        Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                    }
                }
                drop(model);
                let _ = ack.send(());
            }
            record = records.recv() => match record {
                Ok(record) => lock().apply(&record),
                Err(RecvError::Lagged(lost)) => {
                    tracing::warn!(lost, "the REST read model fell behind and lost records");
                    lock().lost(lost);
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// An element instance as an instance's history shows it.
#[derive(Debug, Clone)]
pub struct ElementSeen {
    pub key: i64,
    pub process_instance_key: i64,
    pub element_id: String,
    pub element_type: String,
    pub flow_scope_key: i64,
    /// `ACTIVE`, `COMPLETED` or `TERMINATED`.
    pub state: &'static str,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
}

/// A variable as a finished instance's history last shows it; `value` is `None` when it was
/// too large to keep (see [`Limits::variable_value_bytes`]).
#[derive(Debug, Clone)]
pub struct VariableSeen {
    pub key: i64,
    pub process_instance_key: i64,
    pub scope_key: i64,
    pub name: String,
    pub value: Option<serde_json::Value>,
}

/// Eviction order of histories: finished ones first (class 0), then active ones (class 1),
/// each oldest first.
type EvictionKey = (u8, u64);

struct InstanceHistory {
    eviction: EvictionKey,
    records: VecDeque<HistoryRecord>,
    dropped: u64,
    /// The model saw the instance's creation: its history starts at the beginning.
    saw_start: bool,
    /// Records may be missing because the model lagged while the instance was active.
    gap: bool,
    finished: bool,
}

struct Model {
    limits: Limits,
    sequence: u64,
    histories: HashMap<i64, InstanceHistory>,
    eviction: BTreeMap<EvictionKey, i64>,
    total_records: usize,
    finished: VecDeque<i64>,
    finished_by_key: HashMap<i64, ProcessInstance>,
    /// Element instance, job or incident key → its process instance. Commands from clients
    /// name only the entity's key, so this is how they find their history.
    owners: BTreeMap<i64, i64>,
    /// Element instance or incident key → when it was activated or created (epoch ms), for
    /// the entities that began while this model was listening; bounded like `owners`.
    started: BTreeMap<i64, i64>,
    lost_records: u64,
}

impl Model {
    fn new(limits: Limits) -> Model {
        Model {
            limits,
            sequence: 0,
            histories: HashMap::new(),
            eviction: BTreeMap::new(),
            total_records: 0,
            finished: VecDeque::new(),
            finished_by_key: HashMap::new(),
            owners: BTreeMap::new(),
            started: BTreeMap::new(),
            lost_records: 0,
        }
    }

    fn lost(&mut self, count: u64) {
        self.lost_records += count;
        for history in self.histories.values_mut().filter(|history| !history.finished) {
            history.gap = true;
        }
    }

    fn apply(&mut self, record: &Record) {
        if let RecordValue::JobBatch(batch) = &record.value {
            // One batch may hand out jobs of many instances: each history gets the part that
            // concerns it.
            let mut by_instance: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            for (job_key, job) in batch.job_keys.iter().zip(&batch.jobs) {
                by_instance.entry(job.process_instance_key).or_default().push(key(*job_key));
            }
            for (instance, job_keys) in by_instance {
                let mut entry = self.summary(record);
                entry.job_type = Some(batch.job_type.to_string());
                entry.worker = Some(batch.worker.clone());
                entry.job_keys = Some(job_keys);
                self.append(instance, record, entry);
            }
            return;
        }
        let instance = self.instance_of(record);
        // Read before `track_owner` forgets it, when this is the record that ends the instance.
        let start_time = self.started.get(&record.key).copied();
        if record.record_type == RecordType::Event {
            self.track_owner(record);
        }
        let Some(instance) = instance else {
            return;
        };
        let entry = self.summary(record);
        self.append(instance, record, entry);
        if let RecordValue::ProcessInstance(value) = &record.value
            && record.record_type == RecordType::Event
            && record.key == value.process_instance_key
            && value.flow_scope_key < 0
        {
            let state = match record.intent {
                Intent::ElementCompleted => InstanceState::Completed,
                Intent::ElementTerminated => InstanceState::Terminated,
                _ => return,
            };
            self.finish(ProcessInstance {
                process_instance_key: key(record.key),
                process_definition_key: key(value.process_definition_key),
                bpmn_process_id: value.bpmn_process_id.to_string(),
                version: value.version,
                state,
                start_time,
                end_time: Some(record.timestamp_ms),
            });
        }
    }

    /// The process instance a record belongs to, if any.
    fn instance_of(&self, record: &Record) -> Option<i64> {
        let owner = |key: i64| self.owners.get(&key).copied();
        let from_value = |instance: i64| (instance > 0).then_some(instance);
        match &record.value {
            RecordValue::ProcessInstance(value) => from_value(value.process_instance_key).or_else(|| owner(record.key)),
            RecordValue::ProcessInstanceCreation(value) => from_value(value.process_instance_key),
            RecordValue::ProcessInstanceResult(value) => from_value(value.process_instance_key),
            // Job and incident commands from clients carry an empty value: only the key.
            RecordValue::Job(value) => from_value(value.process_instance_key).or_else(|| owner(record.key)),
            RecordValue::Incident(value) => from_value(value.process_instance_key).or_else(|| owner(record.key)),
            RecordValue::Variable(value) => from_value(value.process_instance_key),
            RecordValue::VariableDocument(value) => owner(value.scope_key),
            RecordValue::Escalation(value) => from_value(value.process_instance_key),
            // Deployments and definitions belong to no instance; value types added to the engine
            // later stay out of histories until they are mapped here.
            _ => None,
        }
    }

    fn track_owner(&mut self, record: &Record) {
        let (instance, ends) = match (&record.value, record.intent) {
            (RecordValue::ProcessInstance(value), Intent::ElementActivating) => (value.process_instance_key, false),
            (RecordValue::ProcessInstance(_), Intent::ElementCompleted | Intent::ElementTerminated) => (0, true),
            (RecordValue::Job(value), Intent::Created) => (value.process_instance_key, false),
            (RecordValue::Job(_), Intent::Completed | Intent::Canceled) => (0, true),
            (RecordValue::Incident(value), Intent::Created) => (value.process_instance_key, false),
            (RecordValue::Incident(_), Intent::Resolved) => (0, true),
            _ => return,
        };
        if ends {
            self.owners.remove(&record.key);
            self.started.remove(&record.key);
            return;
        }
        self.owners.insert(record.key, instance);
        self.started.insert(record.key, record.timestamp_ms);
        while self.started.len() > self.limits.tracked_entities {
            self.started.pop_first();
        }
        // Only reached when end records were lost: keys grow over time, so the smallest are
        // (roughly) the oldest.
        while self.owners.len() > self.limits.tracked_entities {
            self.owners.pop_first();
        }
    }

    fn append(&mut self, instance: i64, record: &Record, entry: HistoryRecord) {
        if !self.histories.contains_key(&instance) {
            let root_activation = matches!(&record.value, RecordValue::ProcessInstance(_))
                && record.key == instance
                && record.intent == Intent::ActivateElement;
            // Commands and rejections alone do not prove an instance exists (a client may send
            // any key): histories start with an event, or with the creation's own command.
            if record.record_type != RecordType::Event && !root_activation {
                return;
            }
            self.sequence += 1;
            let eviction = (1, self.sequence);
            self.eviction.insert(eviction, instance);
            self.histories.insert(
                instance,
                InstanceHistory {
                    eviction,
                    records: VecDeque::new(),
                    dropped: 0,
                    saw_start: false,
                    gap: false,
                    finished: false,
                },
            );
        }
        let Some(history) = self.histories.get_mut(&instance) else {
            return;
        };
        // The creation writes the root variables first, then activates the process: a history
        // that holds only those variables when the activation comes saw the whole start.
        if record.key == instance
            && record.intent == Intent::ActivateElement
            && history.dropped == 0
            && history.records.iter().all(|entry| entry.value_type == "VARIABLE" && entry.intent == "CREATED")
        {
            history.saw_start = true;
        }
        history.records.push_back(entry);
        self.total_records += 1;
        if history.records.len() > self.limits.records_per_instance {
            history.records.pop_front();
            history.dropped += 1;
            self.total_records -= 1;
        }
        while self.total_records > self.limits.records_total {
            let Some((_, evicted)) = self.eviction.pop_first() else {
                break;
            };
            if let Some(history) = self.histories.remove(&evicted) {
                self.total_records -= history.records.len();
            }
        }
    }

    fn finish(&mut self, instance: ProcessInstance) {
        let Ok(instance_key) = instance.process_instance_key.parse::<i64>() else {
            return;
        };
        if let Some(history) = self.histories.get_mut(&instance_key) {
            history.finished = true;
            self.eviction.remove(&history.eviction);
            self.sequence += 1;
            history.eviction = (0, self.sequence);
            self.eviction.insert(history.eviction, instance_key);
        }
        if self.finished_by_key.insert(instance_key, instance).is_none() {
            self.finished.push_back(instance_key);
        }
        while self.finished.len() > self.limits.finished_instances {
            let Some(oldest) = self.finished.pop_front() else {
                break;
            };
            self.finished_by_key.remove(&oldest);
            if let Some(history) = self.histories.remove(&oldest) {
                self.eviction.remove(&history.eviction);
                self.total_records -= history.records.len();
            }
        }
    }

    /// The wire form of a record: the fields that matter to an operator, nothing internal.
    fn summary(&self, record: &Record) -> HistoryRecord {
        let mut entry = HistoryRecord {
            position: record.position,
            key: key(record.key),
            timestamp: record.timestamp_ms,
            record_type: match record.record_type {
                RecordType::Command => "COMMAND",
                RecordType::Event => "EVENT",
                RecordType::CommandRejection => "COMMAND_REJECTION",
            }
            .to_string(),
            value_type: record.value_type().as_str().to_string(),
            intent: record.intent.as_str().to_string(),
            rejection_type: record.rejection.as_ref().map(|r| r.rejection_type.as_str().to_string()),
            rejection_reason: record.rejection.as_ref().map(|r| r.reason.clone()),
            element_id: None,
            element_type: None,
            element_instance_key: None,
            flow_scope_key: None,
            job_type: None,
            job_keys: None,
            retries: None,
            worker: None,
            error_type: None,
            error_code: None,
            error_message: None,
            variable_name: None,
            variable_value: None,
            scope_key: None,
            variable_names: None,
            value_dropped: false,
        };
        let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
        match &record.value {
            RecordValue::ProcessInstance(value) => {
                entry.element_id = text(&value.element_id);
                if !value.element_id.is_empty() {
                    entry.element_type = Some(value.bpmn_element_type.as_str().to_string());
                }
                entry.flow_scope_key = optional_key(value.flow_scope_key);
            }
            RecordValue::Job(value) => {
                entry.job_type = text(&value.job_type);
                entry.element_id = text(&value.element_id);
                entry.element_instance_key = optional_key(value.element_instance_key);
                entry.retries = Some(value.retries);
                entry.worker = text(&value.worker);
                entry.error_code = text(&value.error_code);
                entry.error_message = text(&value.error_message);
            }
            RecordValue::Incident(value) => {
                entry.error_type = Some(value.error_type.as_str().to_string());
                entry.error_message = text(&value.error_message);
                entry.element_id = text(&value.element_id);
                entry.element_instance_key = optional_key(value.element_instance_key);
            }
            RecordValue::Variable(value) => {
                entry.variable_name = Some(value.name.to_string());
                entry.scope_key = optional_key(value.scope_key);
                let size = serde_json::to_string(&value.value).map_or(0, |json| json.len());
                entry.value_dropped = size > self.limits.variable_value_bytes;
                entry.variable_value = Some(if entry.value_dropped {
                    serde_json::Value::String(format!("(value of {size} bytes not kept)"))
                } else {
                    value.value.clone()
                });
            }
            RecordValue::VariableDocument(value) => {
                entry.scope_key = optional_key(value.scope_key);
                entry.variable_names = Some(value.variables.keys().cloned().collect());
            }
            RecordValue::ProcessInstanceCreation(value) => {
                entry.variable_names = Some(value.variables.keys().cloned().collect());
            }
            RecordValue::Escalation(value) => entry.element_id = text(&value.element_id),
            _ => {}
        }
        entry
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use baton_engine::{BpmnElementType, ProcessInstanceRecord, Record, RecordType, RecordValue};

    use super::*;

    /// A process-instance record of `instance`; `key == instance` with no flow scope is the
    /// process itself (the element type does not matter to the read model).
    fn element(position: u64, record_type: RecordType, intent: Intent, key: i64, instance: i64) -> Record {
        Record {
            position,
            source_position: 0,
            key,
            timestamp_ms: position as i64,
            record_type,
            intent,
            value: RecordValue::ProcessInstance(ProcessInstanceRecord {
                bpmn_process_id: Arc::from("p"),
                version: 1,
                process_definition_key: 1,
                process_instance_key: instance,
                element_id: Arc::from(if key == instance { "p" } else { "task" }),
                bpmn_element_type: BpmnElementType::SequenceFlow,
                flow_scope_key: if key == instance { -1 } else { instance },
                parent_process_instance_key: -1,
                parent_element_instance_key: -1,
            }),
            request_id: None,
            rejection: None,
        }
    }

    /// Feeds a whole short instance: activation command, activating, completed.
    fn run_instance(model: &mut Model, position: &mut u64, instance: i64) {
        for (record_type, intent) in [
            (RecordType::Command, Intent::ActivateElement),
            (RecordType::Event, Intent::ElementActivating),
            (RecordType::Event, Intent::ElementCompleted),
        ] {
            *position += 1;
            model.apply(&element(*position, record_type, intent, instance, instance));
        }
    }

    fn limits(finished: usize, per_instance: usize, total: usize) -> Limits {
        Limits {
            finished_instances: finished,
            records_per_instance: per_instance,
            records_total: total,
            ..Limits::default()
        }
    }

    #[test]
    fn finished_instances_are_bounded_oldest_first() {
        let mut model = Model::new(limits(2, 100, 1000));
        let mut position = 0;
        for instance in [10, 11, 12] {
            run_instance(&mut model, &mut position, instance);
        }
        assert_eq!(model.finished.iter().copied().collect::<Vec<_>>(), vec![11, 12]);
        assert!(!model.finished_by_key.contains_key(&10));
        assert!(!model.histories.contains_key(&10), "its history goes with it");
        assert_eq!(model.finished_by_key[&12].state, InstanceState::Completed);
        assert_eq!(model.total_records, 6);
        let history = &model.histories[&12];
        assert!(history.saw_start && history.finished && history.dropped == 0);
    }

    #[test]
    fn histories_drop_their_oldest_records_and_then_whole_finished_ones() {
        let mut model = Model::new(limits(100, 3, 5));
        let mut position = 0;
        run_instance(&mut model, &mut position, 10);
        // An active instance with more records than one history keeps.
        position += 1;
        model.apply(&element(position, RecordType::Event, Intent::ElementActivating, 20, 20));
        for child in 21..25 {
            position += 1;
            model.apply(&element(position, RecordType::Event, Intent::ElementActivating, child, 20));
        }
        let history = &model.histories[&20];
        assert_eq!(history.records.len(), 3);
        assert_eq!(history.dropped, 2);
        assert!(!history.saw_start, "its first record was not the creation");
        // 3 + 3 records > 5: the finished instance's history went first.
        assert!(!model.histories.contains_key(&10));
        assert!(model.finished_by_key.contains_key(&10), "the instance itself is still listed");
        assert_eq!(model.total_records, 3);
    }

    #[test]
    fn commands_alone_start_no_history_and_lag_marks_a_gap() {
        let mut model = Model::new(limits(100, 100, 1000));
        // A client's command for a key nobody knows.
        model.apply(&element(1, RecordType::CommandRejection, Intent::Cancel, 99, 99));
        assert!(model.histories.is_empty());
        model.apply(&element(2, RecordType::Event, Intent::ElementActivating, 5, 5));
        model.lost(3);
        assert!(model.histories[&5].gap);
        assert_eq!(model.lost_records, 3);
    }
}
