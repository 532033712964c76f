//! The partition's state and the one place it changes: [`State::apply`], the event appliers.
//!
//! Architecture Invariant: processing reads the state and writes events; only applying an event
//! changes the state. Replay applies the same events and so rebuilds the same state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use baton_model::{ElementIdx, ElementKind, FlowIdx, Process};

use crate::record::*;

/// Zeebe encodes the partition in a key's high bits, so any node can route a key.
pub const PARTITION_BITS_SHIFT: u32 = 51;

pub fn encode_key(partition_id: u32, counter: i64) -> i64 {
    ((partition_id as i64) << PARTITION_BITS_SHIFT) + counter
}

pub fn partition_of_key(key: i64) -> u32 {
    (key >> PARTITION_BITS_SHIFT) as u32
}

/// The partition that holds the messages of a correlation key, and where subscriptions waiting
/// for them are correlated: `1 + hash % partitions`, with a stable hash (FNV-1a) so the routing
/// never changes for a data directory.
pub fn partition_of_correlation_key(correlation_key: &str, partition_count: u32) -> u32 {
    let hash = baton_model::fnv1a(correlation_key.as_bytes());
    (hash % u64::from(partition_count.max(1))) as u32 + 1
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LifecycleState {
    Activating,
    Activated,
    Completing,
    Completed,
    Terminating,
    Terminated,
}

impl LifecycleState {
    /// The element instance lifecycle, as one table. Every element command is checked against it.
    pub fn can_transition_to(self, to: LifecycleState) -> bool {
        use LifecycleState::*;
        matches!(
            (self, to),
            (Activating, Activated)
                | (Activating, Terminating)
                | (Activated, Completing)
                | (Activated, Terminating)
                | (Completing, Completed)
                | (Completing, Terminating)
                | (Terminating, Terminated)
        )
    }
}

/// A deployed process version. The executable graph is derived from the resource, so equality
/// (used by the replay test) compares the recorded facts, not the graph.
#[derive(Debug, Clone)]
pub struct DeployedProcess {
    pub record: ProcessRecord,
    pub graph: Arc<Process>,
}

impl PartialEq for DeployedProcess {
    fn eq(&self, other: &Self) -> bool {
        self.record == other.record
    }
}

/// A deployed DRG version. Like a process graph, the compiled decisions are derived from the
/// resource, so equality compares the recorded facts.
#[derive(Debug, Clone)]
pub struct DeployedDecisions {
    pub record: DecisionRequirementsRecord,
    pub decisions: baton_feel::dmn::Decisions,
}

impl PartialEq for DeployedDecisions {
    fn eq(&self, other: &Self) -> bool {
        self.record == other.record
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ElementInstance {
    pub key: i64,
    pub state: LifecycleState,
    pub value: ProcessInstanceRecord,
    pub element_idx: ElementIdx,
    /// Active child element instances (containers).
    pub children: BTreeSet<i64>,
    /// Sequence flows taken inside this scope whose target has not consumed them yet.
    pub active_flows: u32,
    /// Tokens waiting at joining gateways of this scope: (gateway, incoming flow) → count.
    pub join_tokens: BTreeMap<(ElementIdx, FlowIdx), u32>,
    pub job_key: i64,
    pub incident_key: i64,
    /// A terminate end event completed in this scope: it completes once its children are gone.
    pub interrupted: bool,
    /// A catch event of this instance was triggered (`PROCESS_EVENT TRIGGERING`) and waits to be
    /// activated: for an interrupting boundary event, once this instance is terminated.
    pub event_trigger: Option<EventTrigger>,
    /// Execution listeners completed in the current phase (start while activating, end while
    /// completing): the next one to run is this index.
    pub listeners_done: u32,
}

/// A triggered catch event waiting for activation, with the variables it brings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventTrigger {
    /// Key of the `PROCESS_EVENT` records.
    pub key: i64,
    pub element_id: Arc<str>,
    pub variables: Document,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum JobState {
    Activatable,
    Activated,
    /// Failed with retries left and a back-off: activatable again at `recurring_time_ms`.
    BackingOff,
    /// Out of retries: an incident waits for an operator.
    Failed,
    /// A BPMN error nobody caught: an incident waits for an operator.
    ErrorThrown,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Job {
    pub key: i64,
    pub state: JobState,
    /// Boxed like the record value it comes from, so the jobs map moves small entries.
    pub record: Box<JobRecord>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Variable {
    pub key: i64,
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AwaitingResult {
    pub request_id: RequestId,
    pub fetch_variables: Vec<String>,
}

/// Serde: see `crate::snapshot` (the graphs and join tokens are encoded by hand there).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct State {
    pub partition_id: u32,
    /// Partitions of the node, fixed for a data directory; set by the runtime, not stored, since
    /// only processing (routing messages) reads it.
    #[serde(skip, default = "one")]
    pub partition_count: u32,
    /// The last key handed out (encoded with the partition).
    pub(crate) key_counter: i64,
    pub(crate) last_position: u64,
    pub processes: BTreeMap<i64, DeployedProcess>,
    /// bpmnProcessId → definition keys by ascending version.
    pub versions: BTreeMap<Arc<str>, Vec<i64>>,
    /// Boxed: instances come and go in key order, and the map moves its entries when they do.
    pub element_instances: BTreeMap<i64, Box<ElementInstance>>,
    /// scope key → name → variable.
    pub variables: BTreeMap<i64, BTreeMap<Arc<str>, Variable>>,
    pub jobs: BTreeMap<i64, Job>,
    /// (type, key): activation hands out jobs in key order per type.
    pub activatable: BTreeSet<(Arc<str>, i64)>,
    /// (deadline, key) of activated jobs.
    pub deadlines: BTreeSet<(i64, i64)>,
    /// (due, key) of jobs backing off after a failure.
    pub backoffs: BTreeSet<(i64, i64)>,
    pub incidents: BTreeMap<i64, IncidentRecord>,
    pub awaiting_results: BTreeMap<i64, AwaitingResult>,
    /// Buffered messages (time to live > 0) by key.
    pub messages: BTreeMap<i64, MessageRecord>,
    /// (name, correlation key, message key) of buffered messages: oldest first per name and key.
    pub message_index: BTreeSet<(String, String, i64)>,
    /// (deadline, message key) of buffered messages.
    pub message_deadlines: BTreeSet<(i64, i64)>,
    /// Open message subscriptions by key.
    pub message_subscriptions: BTreeMap<i64, MessageSubscriptionRecord>,
    /// (message name, correlation key, subscription key) of open subscriptions.
    pub subscription_index: BTreeSet<(String, String, i64)>,
    /// (element instance key, subscription key) of open subscriptions.
    pub subscriptions_by_element: BTreeSet<(i64, i64)>,
    /// Active timers by key.
    pub timers: BTreeMap<i64, TimerRecord>,
    /// (due date, timer key) of active timers.
    pub timer_due: BTreeSet<(i64, i64)>,
    /// (element instance key, timer key) of active timers; timer start events under -1.
    pub timers_by_element: BTreeSet<(i64, i64)>,
    /// Triggers of start events for element instances about to be created (a process instance
    /// started by a message or timer), by the key the instance will have.
    #[serde(default)]
    pub start_triggers: BTreeMap<i64, EventTrigger>,
    /// Open message start event subscriptions of deployed processes, by key.
    #[serde(default)]
    pub message_start_subscriptions: BTreeMap<i64, MessageSubscriptionRecord>,
    /// (message name, subscription key) of open message start event subscriptions.
    #[serde(default)]
    pub start_subscription_index: BTreeSet<(String, i64)>,
    /// (message key, bpmn process id): a buffered message correlates at most once per process
    /// (to one subscription, or by starting one instance), across its versions, as in Zeebe.
    #[serde(default, alias = "message_start_correlations")]
    pub message_correlations: BTreeSet<(i64, Arc<str>)>,
    /// Subscriptions of other partitions' instances offered a message (`CORRELATING`), until the
    /// instance's partition answers; by subscription key, with the message key and variables.
    #[serde(default)]
    pub correlating: BTreeMap<i64, MessageSubscriptionRecord>,
    /// (process instance key, message key) of messages from another partition that an instance
    /// of this partition took, until the message's partition has the answer: an offer sent again
    /// after a crash is recognised, even when the instance has ended since.
    #[serde(default)]
    pub delivered: BTreeSet<(i64, i64)>,
    /// (bpmn process id, correlation key) → the active instance a message start event started
    /// with that key: Zeebe allows one at a time.
    #[serde(default, with = "crate::snapshot::map_as_entries")]
    pub active_start_keys: BTreeMap<(Arc<str>, String), i64>,
    /// The reverse of `active_start_keys`, to release the key when the instance ends.
    #[serde(default)]
    pub start_key_of_instance: BTreeMap<i64, (Arc<str>, String)>,
    /// Open signal subscriptions by key.
    #[serde(default)]
    pub signal_subscriptions: BTreeMap<i64, SignalSubscriptionRecord>,
    /// (signal name, subscription key) of open signal subscriptions.
    #[serde(default)]
    pub signal_index: BTreeSet<(String, i64)>,
    /// (element instance key, subscription key); signal start events under -1.
    #[serde(default)]
    pub signals_by_element: BTreeSet<(i64, i64)>,
    /// Compensation subscriptions of completed compensable activities, by key.
    #[serde(default)]
    pub compensations: BTreeMap<i64, CompensationSubscriptionRecord>,
    /// (scope key, subscription key) of compensation subscriptions not triggered yet.
    #[serde(default)]
    pub compensations_by_scope: BTreeSet<(i64, i64)>,
    /// (throw event instance key, subscription key) of triggered compensation subscriptions.
    #[serde(default)]
    pub compensations_by_throw: BTreeSet<(i64, i64)>,
    /// Handler instance key → its compensation subscription.
    #[serde(default)]
    pub compensation_handlers: BTreeMap<i64, i64>,
    /// Deleted process definitions: no new instances; kept while instances of them may run.
    #[serde(default)]
    pub deleted_processes: BTreeSet<i64>,
    /// Deployed DRG versions by key.
    #[serde(default)]
    pub decision_requirements: BTreeMap<i64, DeployedDecisions>,
    /// decisionRequirementsId → DRG keys by ascending version.
    #[serde(default)]
    pub decision_requirements_versions: BTreeMap<String, Vec<i64>>,
    /// Deployed decision versions by key.
    #[serde(default)]
    pub decisions: BTreeMap<i64, DecisionRecord>,
    /// decisionId → decision keys by ascending version.
    #[serde(default)]
    pub decision_versions: BTreeMap<String, Vec<i64>>,
    /// Process instances created with start instructions, until they activate: where they start.
    #[serde(default)]
    pub start_instructions: BTreeMap<i64, Vec<Arc<str>>>,
    /// Process definition key → the deployment that created it, and deployment key → the process
    /// versions it named (new or not): call activities bound to "the same deployment".
    #[serde(default)]
    pub process_deployment: BTreeMap<i64, i64>,
    #[serde(default)]
    pub deployment_processes: BTreeMap<i64, Vec<(Arc<str>, i64)>>,
    /// Deployed forms by key.
    #[serde(default)]
    pub forms: BTreeMap<i64, FormRecord>,
    /// Form id → keys of its versions, ascending.
    #[serde(default)]
    pub form_versions: BTreeMap<String, Vec<i64>>,
}

impl State {
    pub fn new(partition_id: u32) -> State {
        State {
            partition_id,
            partition_count: 1,
            key_counter: encode_key(partition_id, 0),
            last_position: 0,
            processes: BTreeMap::new(),
            versions: BTreeMap::new(),
            element_instances: BTreeMap::new(),
            variables: BTreeMap::new(),
            jobs: BTreeMap::new(),
            activatable: BTreeSet::new(),
            deadlines: BTreeSet::new(),
            backoffs: BTreeSet::new(),
            incidents: BTreeMap::new(),
            awaiting_results: BTreeMap::new(),
            messages: BTreeMap::new(),
            message_index: BTreeSet::new(),
            message_deadlines: BTreeSet::new(),
            message_subscriptions: BTreeMap::new(),
            subscription_index: BTreeSet::new(),
            subscriptions_by_element: BTreeSet::new(),
            timers: BTreeMap::new(),
            timer_due: BTreeSet::new(),
            timers_by_element: BTreeSet::new(),
            start_triggers: BTreeMap::new(),
            message_start_subscriptions: BTreeMap::new(),
            start_subscription_index: BTreeSet::new(),
            message_correlations: BTreeSet::new(),
            correlating: BTreeMap::new(),
            delivered: BTreeSet::new(),
            active_start_keys: BTreeMap::new(),
            start_key_of_instance: BTreeMap::new(),
            signal_subscriptions: BTreeMap::new(),
            signal_index: BTreeSet::new(),
            signals_by_element: BTreeSet::new(),
            compensations: BTreeMap::new(),
            compensations_by_scope: BTreeSet::new(),
            compensations_by_throw: BTreeSet::new(),
            compensation_handlers: BTreeMap::new(),
            deleted_processes: BTreeSet::new(),
            decision_requirements: BTreeMap::new(),
            decision_requirements_versions: BTreeMap::new(),
            decisions: BTreeMap::new(),
            decision_versions: BTreeMap::new(),
            start_instructions: BTreeMap::new(),
            process_deployment: BTreeMap::new(),
            deployment_processes: BTreeMap::new(),
            forms: BTreeMap::new(),
            form_versions: BTreeMap::new(),
        }
    }

    pub fn last_position(&self) -> u64 {
        self.last_position
    }

    pub(crate) fn next_key(&mut self) -> i64 {
        self.key_counter += 1;
        self.key_counter
    }

    pub(crate) fn next_position(&mut self) -> u64 {
        self.last_position += 1;
        self.last_position
    }

    /// The newest version that is not deleted.
    pub fn latest_process(&self, bpmn_process_id: &str) -> Option<&DeployedProcess> {
        let keys = self.versions.get(bpmn_process_id)?;
        keys.iter().rev().find(|k| !self.deleted_processes.contains(k)).and_then(|k| self.processes.get(k))
    }

    /// The newest version ever deployed, deleted or not: versions are never reused.
    pub fn newest_version(&self, bpmn_process_id: &str) -> Option<i32> {
        let key = self.versions.get(bpmn_process_id)?.last()?;
        self.processes.get(key).map(|p| p.record.version)
    }

    pub fn process_by_version(&self, bpmn_process_id: &str, version: i32) -> Option<&DeployedProcess> {
        let keys = self.versions.get(bpmn_process_id)?;
        keys.iter()
            .filter(|k| !self.deleted_processes.contains(k))
            .filter_map(|k| self.processes.get(k))
            .find(|p| p.record.version == version)
    }

    /// A deployed, not deleted process definition.
    pub fn live_process(&self, process_definition_key: i64) -> Option<&DeployedProcess> {
        if self.deleted_processes.contains(&process_definition_key) {
            return None;
        }
        self.processes.get(&process_definition_key)
    }

    /// The latest version of a form that has not been deleted.
    pub fn latest_form(&self, form_id: &str) -> Option<&FormRecord> {
        self.form_versions.get(form_id)?.last().and_then(|key| self.forms.get(key))
    }

    pub fn latest_decision(&self, decision_id: &str) -> Option<&DecisionRecord> {
        self.decision_versions.get(decision_id)?.last().and_then(|k| self.decisions.get(k))
    }

    pub fn latest_decision_requirements(&self, decision_requirements_id: &str) -> Option<&DeployedDecisions> {
        let key = self.decision_requirements_versions.get(decision_requirements_id)?.last()?;
        self.decision_requirements.get(key)
    }

    pub fn variable(&self, scope_key: i64, name: &str) -> Option<&Variable> {
        self.variables.get(&scope_key)?.get(name)
    }

    /// The parent scope of a variable scope (element instance), or `None` at the root.
    pub fn parent_scope(&self, scope_key: i64) -> Option<i64> {
        let parent = self.element_instances.get(&scope_key)?.value.flow_scope_key;
        (parent >= 0).then_some(parent)
    }

    /// Whether any job of `job_type` can be activated now.
    pub fn has_activatable(&self, job_type: &str) -> bool {
        self.activatable_count(job_type, 1) > 0
    }

    /// How many jobs of `job_type` can be activated now, counting no further than `at_most`.
    pub fn activatable_count(&self, job_type: &str, at_most: usize) -> usize {
        let from: (Arc<str>, i64) = (Arc::from(job_type), i64::MIN);
        self.activatable.range(from..).take_while(|(t, _)| &**t == job_type).take(at_most).count()
    }

    /// Keys of buffered messages with this name and correlation key, oldest first.
    pub fn buffered_messages(&self, name: &str, correlation_key: &str) -> Vec<i64> {
        let from = (name.to_string(), correlation_key.to_string(), i64::MIN);
        let to = (name.to_string(), correlation_key.to_string(), i64::MAX);
        self.message_index.range(from..=to).map(|(_, _, key)| *key).collect()
    }

    /// Keys of open subscriptions for this name and correlation key, in key order.
    pub fn subscriptions_for(&self, name: &str, correlation_key: &str) -> Vec<i64> {
        let from = (name.to_string(), correlation_key.to_string(), i64::MIN);
        let to = (name.to_string(), correlation_key.to_string(), i64::MAX);
        self.subscription_index.range(from..=to).map(|(_, _, key)| *key).collect()
    }

    /// The oldest buffered message for `subscription` that its process has not taken yet, with
    /// its variables.
    pub fn next_buffered_message(&self, subscription: &MessageSubscriptionRecord) -> Option<(i64, Document)> {
        let process = &subscription.bpmn_process_id;
        self.buffered_messages(&subscription.message_name, &subscription.correlation_key)
            .into_iter()
            .find(|key| !self.message_correlations.contains(&(*key, process.clone())))
            .and_then(|key| self.messages.get(&key).map(|message| (key, message.variables.clone())))
    }

    /// Keys of the open subscriptions of one element instance.
    pub fn subscriptions_of(&self, element_instance_key: i64) -> Vec<i64> {
        self.subscriptions_by_element
            .range((element_instance_key, i64::MIN)..=(element_instance_key, i64::MAX))
            .map(|(_, key)| *key)
            .collect()
    }

    /// Keys of the open signal subscriptions of one element instance (-1: signal start events).
    pub fn signal_subscriptions_of(&self, element_instance_key: i64) -> Vec<i64> {
        self.signals_by_element
            .range((element_instance_key, i64::MIN)..=(element_instance_key, i64::MAX))
            .map(|(_, key)| *key)
            .collect()
    }

    /// Keys of the open subscriptions for signal `name`, in key order.
    pub fn signal_subscriptions_for(&self, name: &str) -> Vec<i64> {
        self.signal_index
            .range((name.to_string(), i64::MIN)..=(name.to_string(), i64::MAX))
            .map(|(_, key)| *key)
            .collect()
    }

    /// Keys of the active timers of one element instance.
    pub fn timers_of(&self, element_instance_key: i64) -> Vec<i64> {
        self.timers_by_element
            .range((element_instance_key, i64::MIN)..=(element_instance_key, i64::MAX))
            .map(|(_, key)| *key)
            .collect()
    }

    /// Keeps the counters of a replayed record; every record, also commands, carries them.
    pub(crate) fn observe(&mut self, record: &Record) {
        self.last_position = self.last_position.max(record.position);
        if record.key > 0 && partition_of_key(record.key) == self.partition_id {
            self.key_counter = self.key_counter.max(record.key);
        }
    }

    /// Applies one event. This is the only code that changes the state.
    pub fn apply(&mut self, record: &Record) {
        debug_assert_eq!(record.record_type, RecordType::Event);
        match &record.value {
            RecordValue::Process(value) => self.apply_process(record, value),
            RecordValue::ProcessInstance(value) => self.apply_element(record, value),
            RecordValue::ProcessInstanceCreation(value) => {
                if record.intent == Intent::Created && !value.start_instructions.is_empty() {
                    let elements = value.start_instructions.iter().map(|id| Arc::from(id.as_str())).collect();
                    self.start_instructions.insert(value.process_instance_key, elements);
                }
                if record.intent == Intent::Created
                    && let Some(request_id) = value.awaiting_request_id
                {
                    self.awaiting_results.insert(
                        value.process_instance_key,
                        AwaitingResult { request_id, fetch_variables: value.fetch_variables.clone() },
                    );
                }
            }
            RecordValue::Job(value) => self.apply_job(record, value),
            RecordValue::JobBatch(value) => self.apply_job_batch(value),
            RecordValue::Variable(value) => {
                let scope = self.variables.entry(value.scope_key).or_default();
                match scope.get_mut(&value.name) {
                    Some(variable) => variable.value = value.value.clone(),
                    None => {
                        scope.insert(value.name.clone(), Variable { key: record.key, value: value.value.clone() });
                    }
                }
            }
            RecordValue::Incident(value) => self.apply_incident(record, value),
            RecordValue::ProcessEvent(value) => self.apply_process_event(record, value),
            RecordValue::Message(value) => self.apply_message(record, value),
            RecordValue::MessageSubscription(value) => self.apply_message_subscription(record, value),
            RecordValue::ProcessMessageSubscription(value) => {
                let entry = (value.process_instance_key, value.message_key);
                match record.intent {
                    Intent::Correlated => _ = self.delivered.insert(entry),
                    Intent::Deleted => _ = self.delivered.remove(&entry),
                    _ => {}
                }
            }
            RecordValue::Timer(value) => match record.intent {
                Intent::Created => {
                    self.timers.insert(record.key, value.clone());
                    self.timer_due.insert((value.due_date_ms, record.key));
                    self.timers_by_element.insert((value.element_instance_key, record.key));
                }
                Intent::Triggered | Intent::Canceled => {
                    if let Some(timer) = self.timers.remove(&record.key) {
                        self.timer_due.remove(&(timer.due_date_ms, record.key));
                        self.timers_by_element.remove(&(timer.element_instance_key, record.key));
                    }
                }
                _ => {}
            },
            RecordValue::CompensationSubscription(value) => self.apply_compensation(record, value),
            RecordValue::ResourceDeletion(value) => {
                if record.intent == Intent::Deleted {
                    self.deleted_processes.insert(value.resource_key);
                }
            }
            RecordValue::ProcessInstanceModification(value) => {
                if record.intent == Intent::Modified {
                    // Created scopes start at nothing: the modification activates what goes inside.
                    for &key in &value.created_scope_keys {
                        self.start_instructions.insert(key, Vec::new());
                    }
                }
            }
            RecordValue::ProcessInstanceMigration(_) => {}
            RecordValue::SignalSubscription(value) => match record.intent {
                Intent::Created => {
                    self.signal_subscriptions.insert(record.key, value.clone());
                    self.signal_index.insert((value.signal_name.clone(), record.key));
                    self.signals_by_element.insert((value.catch_event_instance_key, record.key));
                }
                Intent::Deleted => {
                    if let Some(subscription) = self.signal_subscriptions.remove(&record.key) {
                        self.signal_index.remove(&(subscription.signal_name, record.key));
                        self.signals_by_element.remove(&(subscription.catch_event_instance_key, record.key));
                    }
                }
                _ => {}
            },
            RecordValue::DecisionRequirements(value) => self.apply_decision_requirements(record, value),
            RecordValue::Decision(value) => {
                self.decisions.insert(value.decision_key, (**value).clone());
                self.decision_versions.entry(value.decision_id.clone()).or_default().push(value.decision_key);
            }
            RecordValue::Deployment(value) => {
                if record.intent == Intent::Created && !value.processes.is_empty() {
                    for process in value.processes.iter().filter(|p| p.is_new) {
                        self.process_deployment.insert(process.process_definition_key, record.key);
                    }
                    let members =
                        value.processes.iter().map(|p| (p.bpmn_process_id.clone(), p.process_definition_key)).collect();
                    self.deployment_processes.insert(record.key, members);
                }
            }
            RecordValue::Form(value) => {
                let key = record.key;
                match record.intent {
                    Intent::Created => {
                        self.forms.insert(key, (**value).clone());
                        self.form_versions.entry(value.metadata.form_id.clone()).or_default().push(key);
                    }
                    Intent::Deleted => {
                        self.forms.remove(&key);
                        if let Some(versions) = self.form_versions.get_mut(&value.metadata.form_id) {
                            versions.retain(|k| *k != key);
                            if versions.is_empty() {
                                self.form_versions.remove(&value.metadata.form_id);
                            }
                        }
                    }
                    _ => {}
                }
            }
            RecordValue::DecisionEvaluation(_)
            | RecordValue::ProcessInstanceResult(_)
            | RecordValue::VariableDocument(_)
            | RecordValue::Signal(_)
            | RecordValue::MessageCorrelation(_)
            | RecordValue::Escalation(_) => {}
        }
    }

    fn apply_process(&mut self, record: &Record, value: &ProcessRecord) {
        let definitions = baton_model::parse(&value.resource).unwrap_or_else(|error| {
            panic!(
                "process {} (key {}) was accepted at deploy but no longer parses: {error}. \
                 This indicates data corruption.",
                value.bpmn_process_id, record.key
            )
        });
        let graph = definitions.processes.into_iter().find(|p| p.id == value.bpmn_process_id).unwrap_or_else(|| {
            panic!(
                "resource {} no longer contains process {}. This indicates data corruption.",
                value.resource_name, value.bpmn_process_id
            )
        });
        self.processes.insert(value.process_definition_key, DeployedProcess { record: value.clone(), graph });
        self.versions.entry(value.bpmn_process_id.clone()).or_default().push(value.process_definition_key);
    }

    fn apply_decision_requirements(&mut self, record: &Record, value: &DecisionRequirementsRecord) {
        let metadata = &value.metadata;
        let decisions = baton_feel::dmn::Decisions::parse(&value.resource).unwrap_or_else(|error| {
            panic!(
                "decision requirements {} (key {}) were accepted at deploy but no longer parse: {error}. \
                 This indicates data corruption.",
                metadata.decision_requirements_id, record.key
            )
        });
        self.decision_requirements_versions
            .entry(metadata.decision_requirements_id.clone())
            .or_default()
            .push(metadata.decision_requirements_key);
        self.decision_requirements
            .insert(metadata.decision_requirements_key, DeployedDecisions { record: value.clone(), decisions });
    }

    fn graph_of(&self, process_definition_key: i64) -> &Arc<Process> {
        match self.processes.get(&process_definition_key) {
            Some(p) => &p.graph,
            None => panic!(
                "an element instance refers to unknown process definition {process_definition_key}. \
                 This indicates data corruption."
            ),
        }
    }

    fn apply_element(&mut self, record: &Record, value: &ProcessInstanceRecord) {
        let key = record.key;
        match record.intent {
            Intent::ElementActivating => {
                let graph = self.graph_of(value.process_definition_key).clone();
                let Some(&element_idx) = graph.by_id.get(&value.element_id) else {
                    panic!(
                        "element {} is not in process {}. This indicates data corruption.",
                        value.element_id, value.bpmn_process_id
                    );
                };
                let element = graph.element(element_idx);
                if let Some(scope) = self.element_instances.get_mut(&value.flow_scope_key) {
                    scope.children.insert(key);
                    consume_tokens(scope, element);
                } else if let Some(call_activity) = self.element_instances.get_mut(&value.parent_element_instance_key) {
                    // A called process instance is the call activity's child: terminating the
                    // call activity terminates it, and the call activity waits for it.
                    call_activity.children.insert(key);
                }
                self.element_instances.insert(
                    key,
                    Box::new(ElementInstance {
                        key,
                        state: LifecycleState::Activating,
                        value: value.clone(),
                        element_idx,
                        children: BTreeSet::new(),
                        active_flows: 0,
                        join_tokens: BTreeMap::new(),
                        job_key: -1,
                        incident_key: -1,
                        interrupted: false,
                        event_trigger: None,
                        listeners_done: 0,
                    }),
                );
            }
            Intent::ElementActivated => {
                self.set_lifecycle(key, LifecycleState::Activated);
                if !self.start_instructions.is_empty() {
                    self.start_instructions.remove(&key);
                }
            }
            Intent::ElementMigrated => {
                let graph = self.graph_of(value.process_definition_key).clone();
                let Some(&element_idx) = graph.by_id.get(&value.element_id) else {
                    panic!(
                        "element {} is not in process {}. This indicates data corruption.",
                        value.element_id, value.bpmn_process_id
                    );
                };
                if let Some(instance) = self.element_instances.get_mut(&key) {
                    instance.value = value.clone();
                    instance.element_idx = element_idx;
                }
            }
            Intent::ElementCompleting => self.set_lifecycle(key, LifecycleState::Completing),
            Intent::ElementTerminating => self.set_lifecycle(key, LifecycleState::Terminating),
            Intent::ElementCompleted | Intent::ElementTerminated => {
                if !self.compensations_by_scope.is_empty() || !self.compensations_by_throw.is_empty() {
                    self.release_compensations(key, value.flow_scope_key);
                }
                let pending_trigger = self.element_instances.get(&key).is_some_and(|e| e.event_trigger.is_some());
                self.remove_element(key, value);
                if record.intent == Intent::ElementTerminated
                    && pending_trigger
                    && let Some(scope) = self.element_instances.get_mut(&value.flow_scope_key)
                {
                    // The token of the interrupting catch event that activates in its place.
                    scope.active_flows += 1;
                }
                if record.intent == Intent::ElementTerminated
                    && value.bpmn_element_type == BpmnElementType::Element(ElementKind::AdHocSubProcessInnerInstance)
                    && let Some(scope) = self.element_instances.get_mut(&value.flow_scope_key)
                    && scope.state == LifecycleState::Activated
                {
                    // An inner flow ended early (the completion condition cancelled it, or an
                    // operator did): the subprocess completes once the rest is gone.
                    scope.interrupted = true;
                }
                if record.intent == Intent::ElementCompleted
                    && value.bpmn_element_type == BpmnElementType::Element(ElementKind::TerminateEndEvent)
                    && let Some(scope) = self.element_instances.get_mut(&value.flow_scope_key)
                {
                    // Tokens still travelling or waiting at joins die with the scope.
                    scope.interrupted = true;
                    scope.active_flows = 0;
                    scope.join_tokens.clear();
                }
            }
            Intent::SequenceFlowTaken => {
                let graph = self.graph_of(value.process_definition_key).clone();
                let Some(scope) = self.element_instances.get_mut(&value.flow_scope_key) else {
                    return;
                };
                let Some(flow) = graph.flows_by_id.get(&value.element_id).map(|&idx| graph.flow(idx)) else {
                    panic!("unknown sequence flow {}. This indicates data corruption.", value.element_id);
                };
                scope.active_flows += 1;
                if graph.element(flow.target).is_join() {
                    *scope.join_tokens.entry((flow.target, flow.idx)).or_default() += 1;
                }
            }
            _ => {}
        }
    }

    fn set_lifecycle(&mut self, key: i64, to: LifecycleState) {
        let Some(instance) = self.element_instances.get_mut(&key) else {
            panic!("lifecycle event for unknown element instance {key}. This indicates data corruption.");
        };
        assert!(
            instance.state.can_transition_to(to),
            "element instance {key} cannot go from {:?} to {to:?}. This is a bug.",
            instance.state
        );
        instance.state = to;
        if to == LifecycleState::Completing {
            // End listeners count from the first.
            instance.listeners_done = 0;
        }
    }

    fn remove_element(&mut self, key: i64, value: &ProcessInstanceRecord) {
        if let Some(scope) = self.element_instances.get_mut(&value.owner_key()) {
            scope.children.remove(&key);
        }
        self.element_instances.remove(&key);
        self.variables.remove(&key);
        if value.flow_scope_key < 0 {
            self.awaiting_results.remove(&key);
            if let Some(entry) = self.start_key_of_instance.remove(&key) {
                self.active_start_keys.remove(&entry);
            }
        }
    }

    fn apply_job(&mut self, record: &Record, value: &JobRecord) {
        let key = record.key;
        match record.intent {
            Intent::Created => {
                self.jobs.insert(key, Job { key, state: JobState::Activatable, record: Box::new(value.clone()) });
                self.activatable.insert((value.job_type.clone(), key));
                if let Some(element) = self.element_instances.get_mut(&value.element_instance_key) {
                    element.job_key = key;
                }
            }
            Intent::Completed | Intent::Canceled => {
                if let Some(job) = self.jobs.remove(&key) {
                    self.unindex_job(&job);
                }
                if let Some(element) = self.element_instances.get_mut(&value.element_instance_key) {
                    element.job_key = -1;
                    if record.intent == Intent::Completed && value.kind == JobKind::ExecutionListener {
                        element.listeners_done += 1;
                    }
                }
            }
            Intent::TimedOut | Intent::RecurredAfterBackoff => self.update_job(key, value, JobState::Activatable),
            Intent::Failed => {
                let state = if value.retries <= 0 {
                    JobState::Failed
                } else if value.retry_backoff_ms > 0 {
                    JobState::BackingOff
                } else {
                    JobState::Activatable
                };
                self.update_job(key, value, state);
            }
            Intent::ErrorThrown => self.update_job(key, value, JobState::ErrorThrown),
            Intent::Migrated => {
                if let Some(job) = self.jobs.get_mut(&key) {
                    // Same state and indexes (type and key do not change): only what it belongs to.
                    *job.record = value.clone();
                }
            }
            Intent::RetriesUpdated | Intent::TimeoutUpdated => {
                let state = self.jobs.get(&key).map(|j| j.state);
                if let Some(state) = state {
                    self.update_job(key, value, state);
                }
            }
            _ => {}
        }
    }

    fn update_job(&mut self, key: i64, value: &JobRecord, state: JobState) {
        self.change_job(key, |job| {
            job.state = state;
            *job.record = value.clone();
        });
    }

    /// Changes a job in place, keeping the activation, deadline and back-off indexes in step.
    fn change_job(&mut self, key: i64, change: impl FnOnce(&mut Job)) {
        let Some(job) = self.jobs.get_mut(&key) else {
            panic!("event for unknown job {key}. This indicates data corruption.");
        };
        let mut indexes = JobIndexes {
            activatable: &mut self.activatable,
            deadlines: &mut self.deadlines,
            backoffs: &mut self.backoffs,
        };
        indexes.remove(job);
        change(job);
        indexes.insert(job);
    }

    fn unindex_job(&mut self, job: &Job) {
        JobIndexes { activatable: &mut self.activatable, deadlines: &mut self.deadlines, backoffs: &mut self.backoffs }
            .remove(job);
    }

    fn apply_job_batch(&mut self, value: &JobBatchRecord) {
        for (key, job_record) in value.job_keys.iter().zip(&value.jobs) {
            self.change_job(*key, |job| {
                job.state = JobState::Activated;
                // The batch carries the variables for the worker; the stored job does not need them.
                *job.record = job_record.without_variables();
            });
        }
    }

    fn apply_compensation(&mut self, record: &Record, value: &CompensationSubscriptionRecord) {
        let key = record.key;
        match record.intent {
            Intent::Created => {
                self.compensations.insert(key, value.clone());
                self.compensations_by_scope.insert((value.compensable_activity_scope_key, key));
            }
            Intent::Triggered => {
                if let Some(old) = self.compensations.insert(key, value.clone()) {
                    self.compensations_by_scope.remove(&(old.compensable_activity_scope_key, key));
                }
                self.compensations_by_throw.insert((value.throw_event_instance_key, key));
                self.compensation_handlers.insert(value.compensation_handler_instance_key, key);
            }
            Intent::Completed | Intent::Deleted => self.remove_compensation(key),
            _ => {}
        }
    }

    fn remove_compensation(&mut self, key: i64) {
        if let Some(old) = self.compensations.remove(&key) {
            self.compensations_by_scope.remove(&(old.compensable_activity_scope_key, key));
            self.compensations_by_throw.remove(&(old.throw_event_instance_key, key));
            self.compensation_handlers.remove(&old.compensation_handler_instance_key);
        }
    }

    /// Keys of the compensation subscriptions waiting in `scope_key`, oldest first.
    pub fn compensations_in(&self, scope_key: i64) -> Vec<i64> {
        self.compensations_by_scope.range((scope_key, i64::MIN)..=(scope_key, i64::MAX)).map(|(_, k)| *k).collect()
    }

    /// Keys of the compensation subscriptions whose handlers throw event `throw_key` waits for.
    pub fn compensations_of_throw(&self, throw_key: i64) -> Vec<i64> {
        self.compensations_by_throw.range((throw_key, i64::MIN)..=(throw_key, i64::MAX)).map(|(_, k)| *k).collect()
    }

    /// A scope ended: the compensations waiting in it move to its flow scope (they can still be
    /// compensated from there), or go with the process instance.
    fn release_compensations(&mut self, scope_key: i64, flow_scope_key: i64) {
        for key in self.compensations_in(scope_key) {
            self.compensations_by_scope.remove(&(scope_key, key));
            if flow_scope_key < 0 {
                self.compensations.remove(&key);
                continue;
            }
            if let Some(compensation) = self.compensations.get_mut(&key) {
                compensation.compensable_activity_scope_key = flow_scope_key;
                self.compensations_by_scope.insert((flow_scope_key, key));
            }
        }
        let triggered = self.compensations_of_throw(scope_key);
        for key in triggered {
            self.remove_compensation(key);
        }
    }

    fn is_event_subprocess_start(&self, value: &ProcessEventRecord) -> bool {
        let Some(process) = self.processes.get(&value.process_definition_key) else {
            return false;
        };
        process.graph.by_id.get(&value.target_element_id).is_some_and(|&idx| {
            let element = process.graph.element(idx);
            element.kind == ElementKind::StartEvent
                && element.parent.is_some_and(|p| process.graph.element(p).kind == ElementKind::EventSubProcess)
        })
    }

    fn is_interrupting_event_subprocess_start(&self, value: &ProcessEventRecord) -> bool {
        self.is_event_subprocess_start(value)
            && self
                .processes
                .get(&value.process_definition_key)
                .and_then(|p| p.graph.element_by_id(&value.target_element_id))
                .is_some_and(|e| e.interrupting)
    }

    fn apply_process_event(&mut self, record: &Record, value: &ProcessEventRecord) {
        match record.intent {
            Intent::Triggering => {
                let trigger = EventTrigger {
                    key: record.key,
                    element_id: value.target_element_id.clone(),
                    variables: value.variables.clone(),
                };
                let interrupting_event_subprocess = self.is_interrupting_event_subprocess_start(value);
                match self.element_instances.get_mut(&value.scope_key) {
                    Some(element) => {
                        element.event_trigger = Some(trigger);
                        if interrupting_event_subprocess {
                            // Tokens still travelling or waiting at joins die with the scope's
                            // other elements.
                            element.interrupted = true;
                            element.active_flows = 0;
                            element.join_tokens.clear();
                        }
                    }
                    // A start event of an instance about to be created.
                    None => {
                        self.start_triggers.insert(value.scope_key, trigger);
                    }
                }
            }
            Intent::Triggered => {
                if self.start_triggers.remove(&value.scope_key).is_some() {
                    return;
                }
                if self.is_event_subprocess_start(value) {
                    // The event subprocess activates inside the scope, without a sequence flow.
                    if let Some(element) = self.element_instances.get_mut(&value.scope_key) {
                        element.event_trigger = None;
                    }
                    return;
                }
                // An interrupted instance is gone already (its termination left the token); a
                // non-interrupted one keeps running and its flow scope gets the token here.
                let Some(element) = self.element_instances.get_mut(&value.scope_key) else {
                    return;
                };
                element.event_trigger = None;
                let flow_scope_key = element.value.flow_scope_key;
                if let Some(scope) = self.element_instances.get_mut(&flow_scope_key) {
                    scope.active_flows += 1;
                }
            }
            _ => {}
        }
    }

    fn apply_message(&mut self, record: &Record, value: &MessageRecord) {
        let key = record.key;
        match record.intent {
            Intent::Published if value.time_to_live_ms > 0 => {
                self.messages.insert(key, value.clone());
                self.message_index.insert((value.name.clone(), value.correlation_key.clone(), key));
                self.message_deadlines.insert((value.deadline_ms, key));
            }
            Intent::Expired => {
                if let Some(message) = self.messages.remove(&key) {
                    self.message_index.remove(&(message.name, message.correlation_key, key));
                    self.message_deadlines.remove(&(message.deadline_ms, key));
                }
                let correlated: Vec<(i64, Arc<str>)> = self
                    .message_correlations
                    .range((key, Arc::from(""))..)
                    .take_while(|(k, _)| *k == key)
                    .cloned()
                    .collect();
                for entry in correlated {
                    self.message_correlations.remove(&entry);
                }
            }
            _ => {}
        }
    }

    fn apply_message_subscription(&mut self, record: &Record, value: &MessageSubscriptionRecord) {
        let key = record.key;
        if value.element_instance_key < 0 {
            return self.apply_message_start_subscription(record, value);
        }
        match record.intent {
            Intent::Created => {
                self.message_subscriptions.insert(key, value.clone());
                self.subscription_index.insert((value.message_name.clone(), value.correlation_key.clone(), key));
                self.subscriptions_by_element.insert((value.element_instance_key, key));
            }
            Intent::Correlating => {
                self.correlating.insert(key, value.clone());
                if self.messages.contains_key(&value.message_key) {
                    self.message_correlations.insert((value.message_key, value.bpmn_process_id.clone()));
                }
            }
            Intent::Correlated => {
                // For a subscription of another partition's instance, the mark was set when the
                // message was offered.
                if self.correlating.remove(&key).is_none() && self.messages.contains_key(&value.message_key) {
                    self.message_correlations.insert((value.message_key, value.bpmn_process_id.clone()));
                }
                if value.interrupting {
                    self.remove_subscription(key);
                }
            }
            Intent::Rejected => {
                self.correlating.remove(&key);
                self.message_correlations.remove(&(value.message_key, value.bpmn_process_id.clone()));
                self.remove_subscription(key);
            }
            Intent::Deleted => self.remove_subscription(key),
            _ => {}
        }
    }

    fn apply_message_start_subscription(&mut self, record: &Record, value: &MessageSubscriptionRecord) {
        let key = record.key;
        match record.intent {
            Intent::Created => {
                self.message_start_subscriptions.insert(key, value.clone());
                self.start_subscription_index.insert((value.message_name.clone(), key));
            }
            Intent::Correlated => {
                if self.messages.contains_key(&value.message_key) {
                    self.message_correlations.insert((value.message_key, value.bpmn_process_id.clone()));
                }
                if !value.correlation_key.is_empty() {
                    let entry = (value.bpmn_process_id.clone(), value.correlation_key.clone());
                    self.active_start_keys.insert(entry.clone(), value.process_instance_key);
                    self.start_key_of_instance.insert(value.process_instance_key, entry);
                }
            }
            Intent::Deleted => {
                if let Some(subscription) = self.message_start_subscriptions.remove(&key) {
                    self.start_subscription_index.remove(&(subscription.message_name, key));
                }
            }
            _ => {}
        }
    }

    fn remove_subscription(&mut self, key: i64) {
        if let Some(subscription) = self.message_subscriptions.remove(&key) {
            self.subscription_index.remove(&(subscription.message_name, subscription.correlation_key, key));
            self.subscriptions_by_element.remove(&(subscription.element_instance_key, key));
        }
    }

    fn apply_incident(&mut self, record: &Record, value: &IncidentRecord) {
        match record.intent {
            Intent::Migrated => {
                if let Some(incident) = self.incidents.get_mut(&record.key) {
                    *incident = value.clone();
                }
            }
            Intent::Created => {
                self.incidents.insert(record.key, value.clone());
                if let Some(element) = self.element_instances.get_mut(&value.element_instance_key) {
                    element.incident_key = record.key;
                }
            }
            Intent::Resolved => {
                self.incidents.remove(&record.key);
                if let Some(element) = self.element_instances.get_mut(&value.element_instance_key)
                    && element.incident_key == record.key
                {
                    element.incident_key = -1;
                }
            }
            _ => {}
        }
    }
}

/// The job indexes, borrowed apart from the jobs map so a job can be re-indexed in place.
struct JobIndexes<'a> {
    activatable: &'a mut BTreeSet<(Arc<str>, i64)>,
    deadlines: &'a mut BTreeSet<(i64, i64)>,
    backoffs: &'a mut BTreeSet<(i64, i64)>,
}

impl JobIndexes<'_> {
    fn remove(&mut self, job: &Job) {
        match job.state {
            JobState::Activatable => {
                self.activatable.remove(&(job.record.job_type.clone(), job.key));
            }
            JobState::Activated => {
                self.deadlines.remove(&(job.record.deadline_ms, job.key));
            }
            JobState::BackingOff => {
                self.backoffs.remove(&(job.record.recurring_time_ms, job.key));
            }
            JobState::Failed | JobState::ErrorThrown => {}
        }
    }

    fn insert(&mut self, job: &Job) {
        match job.state {
            JobState::Activatable => {
                self.activatable.insert((job.record.job_type.clone(), job.key));
            }
            JobState::Activated => {
                self.deadlines.insert((job.record.deadline_ms, job.key));
            }
            JobState::BackingOff => {
                self.backoffs.insert((job.record.recurring_time_ms, job.key));
            }
            JobState::Failed | JobState::ErrorThrown => {}
        }
    }
}

/// An element entered through its incoming flows uses up their tokens: one for a plain element,
/// one per waiting incoming flow for a joining gateway.
fn consume_tokens(scope: &mut ElementInstance, element: &baton_model::Element) {
    if element.kind == ElementKind::BoundaryEvent {
        // Its token was left by the trigger (`PROCESS_EVENT TRIGGERED` or the termination of the
        // interrupted activity).
        scope.active_flows = scope.active_flows.saturating_sub(1);
        return;
    }
    if element.incoming.is_empty() {
        return;
    }
    if element.is_join() {
        for &flow in &element.incoming {
            if let Some(count) = scope.join_tokens.get_mut(&(element.idx, flow)) {
                *count -= 1;
                if *count == 0 {
                    scope.join_tokens.remove(&(element.idx, flow));
                }
                scope.active_flows = scope.active_flows.saturating_sub(1);
            }
        }
    } else {
        scope.active_flows = scope.active_flows.saturating_sub(1);
    }
}
