//! Records: the one vocabulary of the log. Commands ask for a change, events say it happened,
//! rejections say it could not. Every state change is an event; replaying the events rebuilds
//! the state exactly.
//!
//! These types derive `serde` on purpose: the log's record codec is the one deliberate,
//! versioned serialization boundary inside the engine.

use std::sync::Arc;

use baton_model::ElementKind;
use serde::{Deserialize, Serialize};

/// A variable document: JSON object, keys sorted (serde_json's default map), so output is
/// deterministic.
pub type Document = serde_json::Map<String, serde_json::Value>;

/// Identifies a request from outside, so the edge can route the engine's answer back.
pub type RequestId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecordType {
    Command,
    Event,
    CommandRejection,
}

/// Why a command was rejected; the edge maps these to status codes (gRPC, HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RejectionType {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    InvalidState,
    ProcessingError,
}

impl RejectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionType::InvalidArgument => "INVALID_ARGUMENT",
            RejectionType::NotFound => "NOT_FOUND",
            RejectionType::AlreadyExists => "ALREADY_EXISTS",
            RejectionType::InvalidState => "INVALID_STATE",
            RejectionType::ProcessingError => "PROCESSING_ERROR",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub rejection_type: RejectionType,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValueType {
    Deployment,
    Process,
    ProcessInstance,
    ProcessInstanceCreation,
    ProcessInstanceResult,
    Job,
    JobBatch,
    Variable,
    VariableDocument,
    Incident,
    ProcessEvent,
    Message,
    MessageSubscription,
    /// The instance partition's side of a subscription whose messages live on another
    /// partition (the partition of the correlation key).
    ProcessMessageSubscription,
    Timer,
    Signal,
    SignalSubscription,
    CompensationSubscription,
    Escalation,
    ResourceDeletion,
    ProcessInstanceModification,
    ProcessInstanceMigration,
    DecisionRequirements,
    Decision,
    DecisionEvaluation,
    Form,
    /// A message correlated at once or not at all, answered with the instance it reached.
    MessageCorrelation,
}

impl ValueType {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Deployment => "DEPLOYMENT",
            ValueType::Process => "PROCESS",
            ValueType::ProcessInstance => "PROCESS_INSTANCE",
            ValueType::ProcessInstanceCreation => "PROCESS_INSTANCE_CREATION",
            ValueType::ProcessInstanceResult => "PROCESS_INSTANCE_RESULT",
            ValueType::Job => "JOB",
            ValueType::JobBatch => "JOB_BATCH",
            ValueType::Variable => "VARIABLE",
            ValueType::VariableDocument => "VARIABLE_DOCUMENT",
            ValueType::Incident => "INCIDENT",
            ValueType::ProcessEvent => "PROCESS_EVENT",
            ValueType::Message => "MESSAGE",
            ValueType::MessageSubscription => "MESSAGE_SUBSCRIPTION",
            ValueType::ProcessMessageSubscription => "PROCESS_MESSAGE_SUBSCRIPTION",
            ValueType::Timer => "TIMER",
            ValueType::Signal => "SIGNAL",
            ValueType::SignalSubscription => "SIGNAL_SUBSCRIPTION",
            ValueType::CompensationSubscription => "COMPENSATION_SUBSCRIPTION",
            ValueType::ResourceDeletion => "RESOURCE_DELETION",
            ValueType::ProcessInstanceModification => "PROCESS_INSTANCE_MODIFICATION",
            ValueType::ProcessInstanceMigration => "PROCESS_INSTANCE_MIGRATION",
            ValueType::Escalation => "ESCALATION",
            ValueType::DecisionRequirements => "DECISION_REQUIREMENTS",
            ValueType::Decision => "DECISION",
            ValueType::DecisionEvaluation => "DECISION_EVALUATION",
            ValueType::Form => "FORM",
            ValueType::MessageCorrelation => "MESSAGE_CORRELATION",
        }
    }
}

/// Intents of all value types, named as in Zeebe so exported records read the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Intent {
    // Deployment, Process
    Create,
    Created,
    // Process instance
    ActivateElement,
    CompleteElement,
    TerminateElement,
    ElementActivating,
    ElementActivated,
    ElementCompleting,
    ElementCompleted,
    ElementTerminating,
    ElementTerminated,
    SequenceFlowTaken,
    Cancel,
    // Process instance creation
    CreateWithAwaitingResult,
    // Process instance result
    Completed,
    // Job
    Complete,
    Fail,
    Failed,
    TimeOut,
    TimedOut,
    UpdateRetries,
    RetriesUpdated,
    UpdateTimeout,
    TimeoutUpdated,
    ThrowError,
    ErrorThrown,
    RecurAfterBackoff,
    RecurredAfterBackoff,
    Canceled,
    // Job batch
    Activate,
    Activated,
    // Variable, variable document
    Updated,
    Update,
    // Incident
    Resolve,
    Resolved,
    // Process event (a catch event was triggered)
    Triggering,
    Triggered,
    // Message
    Publish,
    Published,
    Expire,
    Expired,
    // Message subscription (also CREATE, CREATED, DELETE); between partitions also CORRELATING
    // (offered to another partition's instance), CORRELATE (an instance took the message, or: take
    // it), REJECT / REJECTED (the instance could not take it).
    Correlated,
    Deleted,
    Correlating,
    Correlate,
    Reject,
    Rejected,
    // Timer (also CREATED, CANCELED)
    Trigger,
    // Signal (signal subscription: CREATED, DELETED)
    Broadcast,
    Broadcasted,
    // Resource deletion (also DELETED)
    Delete,
    // Process instance modification
    Modify,
    Modified,
    // Process instance migration (element instances, jobs, incidents: MIGRATED)
    Migrate,
    Migrated,
    ElementMigrated,
    // Escalation
    Escalated,
    NotEscalated,
    // Decision evaluation (also FAILED)
    Evaluate,
    Evaluated,
}

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Create => "CREATE",
            Intent::Created => "CREATED",
            Intent::ActivateElement => "ACTIVATE_ELEMENT",
            Intent::CompleteElement => "COMPLETE_ELEMENT",
            Intent::TerminateElement => "TERMINATE_ELEMENT",
            Intent::ElementActivating => "ELEMENT_ACTIVATING",
            Intent::ElementActivated => "ELEMENT_ACTIVATED",
            Intent::ElementCompleting => "ELEMENT_COMPLETING",
            Intent::ElementCompleted => "ELEMENT_COMPLETED",
            Intent::ElementTerminating => "ELEMENT_TERMINATING",
            Intent::ElementTerminated => "ELEMENT_TERMINATED",
            Intent::SequenceFlowTaken => "SEQUENCE_FLOW_TAKEN",
            Intent::Cancel => "CANCEL",
            Intent::CreateWithAwaitingResult => "CREATE_WITH_AWAITING_RESULT",
            Intent::Completed => "COMPLETED",
            Intent::Complete => "COMPLETE",
            Intent::Fail => "FAIL",
            Intent::Failed => "FAILED",
            Intent::TimeOut => "TIME_OUT",
            Intent::TimedOut => "TIMED_OUT",
            Intent::UpdateRetries => "UPDATE_RETRIES",
            Intent::RetriesUpdated => "RETRIES_UPDATED",
            Intent::UpdateTimeout => "UPDATE_TIMEOUT",
            Intent::TimeoutUpdated => "TIMEOUT_UPDATED",
            Intent::ThrowError => "THROW_ERROR",
            Intent::ErrorThrown => "ERROR_THROWN",
            Intent::RecurAfterBackoff => "RECUR_AFTER_BACKOFF",
            Intent::RecurredAfterBackoff => "RECURRED_AFTER_BACKOFF",
            Intent::Canceled => "CANCELED",
            Intent::Activate => "ACTIVATE",
            Intent::Activated => "ACTIVATED",
            Intent::Updated => "UPDATED",
            Intent::Update => "UPDATE",
            Intent::Resolve => "RESOLVE",
            Intent::Resolved => "RESOLVED",
            Intent::Triggering => "TRIGGERING",
            Intent::Triggered => "TRIGGERED",
            Intent::Publish => "PUBLISH",
            Intent::Published => "PUBLISHED",
            Intent::Expire => "EXPIRE",
            Intent::Expired => "EXPIRED",
            Intent::Correlated => "CORRELATED",
            Intent::Deleted => "DELETED",
            Intent::Correlating => "CORRELATING",
            Intent::Correlate => "CORRELATE",
            Intent::Reject => "REJECT",
            Intent::Rejected => "REJECTED",
            Intent::Trigger => "TRIGGER",
            Intent::Broadcast => "BROADCAST",
            Intent::Delete => "DELETE",
            Intent::Modify => "MODIFY",
            Intent::Modified => "MODIFIED",
            Intent::Migrate => "MIGRATE",
            Intent::Migrated => "MIGRATED",
            Intent::ElementMigrated => "ELEMENT_MIGRATED",
            Intent::Broadcasted => "BROADCASTED",
            Intent::Escalated => "ESCALATED",
            Intent::NotEscalated => "NOT_ESCALATED",
            Intent::Evaluate => "EVALUATE",
            Intent::Evaluated => "EVALUATED",
        }
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Strictly increasing within a partition.
    pub position: u64,
    /// Position of the command that caused this record; 0 for commands from outside.
    pub source_position: u64,
    /// The entity the record is about (element instance, job, …); -1 when there is none yet.
    pub key: i64,
    pub timestamp_ms: i64,
    pub record_type: RecordType,
    pub intent: Intent,
    pub value: RecordValue,
    /// Set on commands that came from outside and expect an answer.
    pub request_id: Option<RequestId>,
    /// Set on rejections; boxed because few records are.
    pub rejection: Option<Box<Rejection>>,
}

impl Record {
    /// A record that owns nothing, to stand in for one that is briefly moved out of a batch.
    pub(crate) fn placeholder() -> Record {
        Record {
            position: 0,
            source_position: 0,
            key: -1,
            timestamp_ms: 0,
            record_type: RecordType::Command,
            intent: Intent::Delete,
            value: RecordValue::ResourceDeletion(ResourceDeletionRecord { resource_key: -1 }),
            request_id: None,
            rejection: None,
        }
    }

    pub fn value_type(&self) -> ValueType {
        self.value.value_type()
    }
}

/// Every record is moved and copied many times on its way through the engine, so the values
/// that are larger than a process instance value are boxed: a record stays small. The box is
/// transparent to serde, so the log format does not depend on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RecordValue {
    Deployment(Box<DeploymentRecord>),
    Process(ProcessRecord),
    ProcessInstance(ProcessInstanceRecord),
    ProcessInstanceCreation(Box<ProcessInstanceCreationRecord>),
    ProcessInstanceResult(ProcessInstanceResultRecord),
    Job(Box<JobRecord>),
    JobBatch(Box<JobBatchRecord>),
    Variable(VariableRecord),
    VariableDocument(VariableDocumentRecord),
    Incident(Box<IncidentRecord>),
    ProcessEvent(ProcessEventRecord),
    Message(Box<MessageRecord>),
    MessageSubscription(Box<MessageSubscriptionRecord>),
    ProcessMessageSubscription(Box<MessageSubscriptionRecord>),
    Timer(TimerRecord),
    Signal(SignalRecord),
    SignalSubscription(SignalSubscriptionRecord),
    CompensationSubscription(Box<CompensationSubscriptionRecord>),
    Escalation(EscalationRecord),
    ResourceDeletion(ResourceDeletionRecord),
    ProcessInstanceModification(ProcessInstanceModificationRecord),
    ProcessInstanceMigration(ProcessInstanceMigrationRecord),
    DecisionRequirements(Box<DecisionRequirementsRecord>),
    Decision(Box<DecisionRecord>),
    DecisionEvaluation(Box<DecisionEvaluationRecord>),
    Form(Box<FormRecord>),
    MessageCorrelation(Box<MessageCorrelationRecord>),
}

impl RecordValue {
    pub fn value_type(&self) -> ValueType {
        match self {
            RecordValue::Deployment(_) => ValueType::Deployment,
            RecordValue::Process(_) => ValueType::Process,
            RecordValue::ProcessInstance(_) => ValueType::ProcessInstance,
            RecordValue::ProcessInstanceCreation(_) => ValueType::ProcessInstanceCreation,
            RecordValue::ProcessInstanceResult(_) => ValueType::ProcessInstanceResult,
            RecordValue::Job(_) => ValueType::Job,
            RecordValue::JobBatch(_) => ValueType::JobBatch,
            RecordValue::Variable(_) => ValueType::Variable,
            RecordValue::VariableDocument(_) => ValueType::VariableDocument,
            RecordValue::Incident(_) => ValueType::Incident,
            RecordValue::ProcessEvent(_) => ValueType::ProcessEvent,
            RecordValue::Message(_) => ValueType::Message,
            RecordValue::MessageSubscription(_) => ValueType::MessageSubscription,
            RecordValue::ProcessMessageSubscription(_) => ValueType::ProcessMessageSubscription,
            RecordValue::Timer(_) => ValueType::Timer,
            RecordValue::Signal(_) => ValueType::Signal,
            RecordValue::SignalSubscription(_) => ValueType::SignalSubscription,
            RecordValue::CompensationSubscription(_) => ValueType::CompensationSubscription,
            RecordValue::ResourceDeletion(_) => ValueType::ResourceDeletion,
            RecordValue::ProcessInstanceModification(_) => ValueType::ProcessInstanceModification,
            RecordValue::ProcessInstanceMigration(_) => ValueType::ProcessInstanceMigration,
            RecordValue::Escalation(_) => ValueType::Escalation,
            RecordValue::DecisionRequirements(_) => ValueType::DecisionRequirements,
            RecordValue::Decision(_) => ValueType::Decision,
            RecordValue::DecisionEvaluation(_) => ValueType::DecisionEvaluation,
            RecordValue::Form(_) => ValueType::Form,
            RecordValue::MessageCorrelation(_) => ValueType::MessageCorrelation,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    pub content: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessMetadata {
    pub bpmn_process_id: Arc<str>,
    pub version: i32,
    pub process_definition_key: i64,
    pub resource_name: String,
    /// False when an identical resource was deployed before and this names the existing version.
    pub is_new: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    pub resources: Vec<Resource>,
    pub processes: Vec<ProcessMetadata>,
    #[serde(default)]
    pub decision_requirements: Vec<DecisionRequirementsMetadata>,
    #[serde(default)]
    pub decisions: Vec<DecisionRecord>,
    #[serde(default)]
    pub forms: Vec<FormMetadata>,
}

/// A form (a Camunda Forms JSON document) as deployed, versioned by its `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormMetadata {
    pub form_id: String,
    pub version: i32,
    pub form_key: i64,
    pub resource_name: String,
    pub checksum: u64,
    /// True when an identical resource was deployed before and this names the existing version.
    pub duplicate: bool,
}

/// A new form version, with its document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormRecord {
    pub metadata: FormMetadata,
    pub resource: Vec<u8>,
}

/// A DMN resource as deployed: its decision requirements graph (DRG), versioned by its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRequirementsMetadata {
    pub decision_requirements_id: String,
    pub decision_requirements_name: String,
    pub version: i32,
    pub decision_requirements_key: i64,
    pub resource_name: String,
    pub checksum: u64,
    /// True when an identical resource was deployed before and this names the existing version.
    pub duplicate: bool,
}

/// A new DRG version; carries its resource so replay can rebuild the decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRequirementsRecord {
    pub metadata: DecisionRequirementsMetadata,
    pub resource: Vec<u8>,
}

/// A decision of a deployed DRG, versioned by its decision id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub decision_id: String,
    pub decision_name: String,
    pub version: i32,
    pub decision_key: i64,
    pub decision_requirements_id: String,
    pub decision_requirements_key: i64,
    /// As in the DRG's metadata.
    pub duplicate: bool,
}

/// A decision evaluated: on request (`EVALUATE` → `EVALUATED` or `FAILED`) or by a business
/// rule task (then the process fields are set; -1 and empty otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionEvaluationRecord {
    /// The command addresses the decision by key (> 0) or by id (latest version).
    pub decision_key: i64,
    pub decision_id: String,
    pub decision_name: String,
    pub decision_version: i32,
    pub decision_requirements_id: String,
    pub decision_requirements_key: i64,
    /// The command's variables.
    pub variables: Document,
    /// The called decision's output as JSON text (Zeebe's wire form).
    pub decision_output: String,
    pub evaluated_decisions: Vec<EvaluatedDecisionRecord>,
    pub failed_decision_id: String,
    pub evaluation_failure_message: String,
    pub bpmn_process_id: String,
    pub process_definition_key: i64,
    pub process_instance_key: i64,
    pub element_id: String,
    pub element_instance_key: i64,
}

impl DecisionEvaluationRecord {
    /// A request to evaluate a decision by id (`decision_key` ≤ 0) or by key.
    pub fn request(decision_id: &str, decision_key: i64, variables: Document) -> Self {
        DecisionEvaluationRecord {
            decision_key,
            decision_id: decision_id.to_string(),
            decision_name: String::new(),
            decision_version: -1,
            decision_requirements_id: String::new(),
            decision_requirements_key: -1,
            variables,
            decision_output: String::new(),
            evaluated_decisions: Vec::new(),
            failed_decision_id: String::new(),
            evaluation_failure_message: String::new(),
            bpmn_process_id: String::new(),
            process_definition_key: -1,
            process_instance_key: -1,
            element_id: String::new(),
            element_instance_key: -1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluatedDecisionRecord {
    pub decision_id: String,
    pub decision_name: String,
    pub decision_key: i64,
    pub decision_version: i32,
    /// `DECISION_TABLE` or `LITERAL_EXPRESSION`.
    pub decision_type: String,
    pub decision_output: String,
    /// Decision tables: each input with its value. Absent from records written before.
    #[serde(default)]
    pub evaluated_inputs: Vec<EvaluatedValueRecord>,
    /// Decision tables: the rules that decided the output.
    #[serde(default)]
    pub matched_rules: Vec<MatchedRuleRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedRuleRecord {
    pub rule_id: String,
    /// From 1.
    pub rule_index: i32,
    pub evaluated_outputs: Vec<EvaluatedValueRecord>,
}

/// A decision table's input or output with its value as JSON text (Zeebe's wire form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluatedValueRecord {
    pub id: String,
    pub name: String,
    pub value: String,
}

/// A new process version; carries its resource so replay can rebuild the executable graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub bpmn_process_id: Arc<str>,
    pub version: i32,
    pub process_definition_key: i64,
    pub resource_name: String,
    pub resource: Vec<u8>,
    pub checksum: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInstanceRecord {
    pub bpmn_process_id: Arc<str>,
    pub version: i32,
    pub process_definition_key: i64,
    pub process_instance_key: i64,
    /// The element's id; for `SEQUENCE_FLOW_TAKEN`, the flow's id.
    pub element_id: Arc<str>,
    pub bpmn_element_type: BpmnElementType,
    /// Key of the enclosing element instance; -1 for the process instance itself.
    pub flow_scope_key: i64,
    /// A process instance started by a call activity: its parent instance; -1 otherwise.
    #[serde(default = "no_key")]
    pub parent_process_instance_key: i64,
    /// A process instance started by a call activity: the call activity's instance; -1 otherwise.
    #[serde(default = "no_key")]
    pub parent_element_instance_key: i64,
}

fn no_key() -> i64 {
    -1
}

impl ProcessInstanceRecord {
    /// The element instance this one reports to when it ends: its flow scope, or for a called
    /// process instance, the call activity.
    pub fn owner_key(&self) -> i64 {
        if self.flow_scope_key >= 0 { self.flow_scope_key } else { self.parent_element_instance_key }
    }
}

/// The element kind as records name it: every executable kind plus the sequence flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BpmnElementType {
    Element(ElementKind),
    SequenceFlow,
}

impl BpmnElementType {
    pub fn as_str(self) -> &'static str {
        match self {
            BpmnElementType::Element(kind) => kind.bpmn_element_type(),
            BpmnElementType::SequenceFlow => "SEQUENCE_FLOW",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInstanceCreationRecord {
    /// Empty when the definition is addressed by key.
    pub bpmn_process_id: Arc<str>,
    /// -1: latest version.
    pub version: i32,
    /// 0 or -1: addressed by id.
    pub process_definition_key: i64,
    pub variables: Document,
    pub process_instance_key: i64,
    /// Root variables returned by create-with-result; empty means all.
    pub fetch_variables: Vec<String>,
    /// Create-with-result: the request answered when the instance completes.
    pub awaiting_request_id: Option<RequestId>,
    /// Start instructions: the elements (of the process itself) the instance starts at, instead
    /// of its none start event.
    #[serde(default)]
    pub start_instructions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInstanceResultRecord {
    pub bpmn_process_id: Arc<str>,
    pub version: i32,
    pub process_definition_key: i64,
    pub process_instance_key: i64,
    pub variables: Document,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub job_type: Arc<str>,
    pub retries: i32,
    pub worker: String,
    /// Epoch ms; -1 when not activated.
    pub deadline_ms: i64,
    /// Activation timeout or new timeout (UPDATE_TIMEOUT), ms.
    pub timeout_ms: i64,
    pub retry_backoff_ms: i64,
    /// Epoch ms at which a failed job with back-off becomes activatable again.
    pub recurring_time_ms: i64,
    pub custom_headers: Arc<Document>,
    pub variables: Document,
    pub error_code: String,
    pub error_message: String,
    pub bpmn_process_id: Arc<str>,
    pub process_definition_version: i32,
    pub process_definition_key: i64,
    pub process_instance_key: i64,
    pub element_id: Arc<str>,
    pub element_instance_key: i64,
    /// What the job is for: the element's own work, or one of its execution listeners.
    #[serde(default)]
    pub kind: JobKind,
    #[serde(default)]
    pub listener_event_type: ListenerEventType,
    /// A completion's instructions for the ad-hoc subprocess the job belongs to.
    #[serde(default)]
    pub ad_hoc_result: Option<Box<AdHocJobResult>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    #[default]
    BpmnElement,
    ExecutionListener,
    /// The job of an ad-hoc subprocess implemented by a job worker: its completion says which
    /// inner elements to activate, or that the subprocess is done.
    AdHocSubProcess,
}

/// What a worker decided for an ad-hoc subprocess (Zeebe's job result of type `adHocSubProcess`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdHocJobResult {
    /// Inner elements to activate, each with variables local to its flow.
    pub activate_elements: Vec<(String, Document)>,
    pub completion_condition_fulfilled: bool,
    pub cancel_remaining_instances: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ListenerEventType {
    #[default]
    Unspecified,
    Start,
    End,
}

/// An empty job value: what a worker's command carries besides the fields it sets.
impl Default for JobRecord {
    fn default() -> Self {
        JobRecord {
            job_type: Arc::from(""),
            retries: 0,
            worker: String::new(),
            deadline_ms: -1,
            timeout_ms: 0,
            retry_backoff_ms: 0,
            recurring_time_ms: -1,
            custom_headers: Arc::default(),
            variables: Document::new(),
            error_code: String::new(),
            error_message: String::new(),
            bpmn_process_id: Arc::from(""),
            process_definition_version: -1,
            process_definition_key: -1,
            process_instance_key: -1,
            element_id: Arc::from(""),
            element_instance_key: -1,
            kind: JobKind::BpmnElement,
            listener_event_type: ListenerEventType::Unspecified,
            ad_hoc_result: None,
        }
    }
}

impl JobRecord {
    /// A copy without the variables, which are the larger part and often not wanted.
    pub fn without_variables(&self) -> JobRecord {
        JobRecord {
            job_type: self.job_type.clone(),
            retries: self.retries,
            worker: self.worker.clone(),
            deadline_ms: self.deadline_ms,
            timeout_ms: self.timeout_ms,
            retry_backoff_ms: self.retry_backoff_ms,
            recurring_time_ms: self.recurring_time_ms,
            custom_headers: self.custom_headers.clone(),
            variables: Document::new(),
            error_code: self.error_code.clone(),
            error_message: self.error_message.clone(),
            bpmn_process_id: self.bpmn_process_id.clone(),
            process_definition_version: self.process_definition_version,
            process_definition_key: self.process_definition_key,
            process_instance_key: self.process_instance_key,
            element_id: self.element_id.clone(),
            element_instance_key: self.element_instance_key,
            kind: self.kind,
            listener_event_type: self.listener_event_type,
            ad_hoc_result: self.ad_hoc_result.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobBatchRecord {
    pub job_type: Arc<str>,
    pub worker: String,
    pub timeout_ms: i64,
    pub max_jobs_to_activate: i32,
    /// Variables to fetch; empty means all visible ones.
    pub fetch_variables: Vec<String>,
    pub job_keys: Vec<i64>,
    pub jobs: Vec<JobRecord>,
    /// More activatable jobs of this type remain than were returned.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariableRecord {
    pub name: Arc<str>,
    pub value: serde_json::Value,
    pub scope_key: i64,
    pub process_instance_key: i64,
    pub process_definition_key: i64,
    pub bpmn_process_id: Arc<str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VariableUpdateSemantic {
    Local,
    Propagate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariableDocumentRecord {
    pub scope_key: i64,
    pub update_semantics: VariableUpdateSemantic,
    pub variables: Document,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorType {
    JobNoRetries,
    ExtractValueError,
    ConditionError,
    IoMappingError,
    UnhandledErrorEvent,
    CalledElementError,
    DecisionEvaluationError,
    ExecutionListenerNoRetries,
    Unknown,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::JobNoRetries => "JOB_NO_RETRIES",
            ErrorType::ExecutionListenerNoRetries => "EXECUTION_LISTENER_NO_RETRIES",
            ErrorType::ExtractValueError => "EXTRACT_VALUE_ERROR",
            ErrorType::ConditionError => "CONDITION_ERROR",
            ErrorType::IoMappingError => "IO_MAPPING_ERROR",
            ErrorType::UnhandledErrorEvent => "UNHANDLED_ERROR_EVENT",
            ErrorType::CalledElementError => "CALLED_ELEMENT_ERROR",
            ErrorType::DecisionEvaluationError => "DECISION_EVALUATION_ERROR",
            ErrorType::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub error_type: ErrorType,
    pub error_message: String,
    pub bpmn_process_id: Arc<str>,
    pub process_definition_key: i64,
    pub process_instance_key: i64,
    pub element_id: Arc<str>,
    pub element_instance_key: i64,
    /// The job whose failure raised the incident; -1 when none.
    pub job_key: i64,
    /// Scope whose variables the operator should fix.
    pub variable_scope_key: i64,
}

/// A catch event was triggered (Zeebe's `PROCESS_EVENT`): `TRIGGERING` when the trigger is
/// recorded on the element instance it belongs to, `TRIGGERED` when the catch event is activated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessEventRecord {
    /// The element instance the catch event belongs to (for a boundary event: the activity it is
    /// attached to).
    pub scope_key: i64,
    /// The catch event's element id.
    pub target_element_id: Arc<str>,
    /// The variables the trigger brings (thrown error or message variables).
    pub variables: Document,
    pub bpmn_process_id: Arc<str>,
    pub process_definition_key: i64,
    pub process_instance_key: i64,
}

/// A message that must correlate now (`CORRELATE` → `CORRELATED`, or a NOT_FOUND rejection):
/// never buffered. `CORRELATED` names the message and the first process instance it reached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageCorrelationRecord {
    pub name: String,
    pub correlation_key: String,
    pub variables: Document,
    pub message_key: i64,
    pub process_instance_key: i64,
}

/// A published message. Buffered until `deadline_ms` when its time to live is positive, so that
/// subscriptions opened later can still correlate it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub name: String,
    pub correlation_key: String,
    pub time_to_live_ms: i64,
    /// Optional; while a message with the same name, correlation key and id is buffered, another
    /// publish is rejected.
    pub message_id: String,
    pub variables: Document,
    /// Epoch ms at which a buffered message expires; set by the engine on `PUBLISHED`.
    pub deadline_ms: i64,
}

/// An element instance waiting for a message (a catch event, a receive task, or a boundary
/// event of an activity: then `element_instance_key` is the activity's); or a message start
/// event of a deployed process (then `element_instance_key` is -1, the correlation key is empty
/// while open, and `process_instance_key` names the instance a correlation started).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSubscriptionRecord {
    pub process_instance_key: i64,
    pub element_instance_key: i64,
    pub bpmn_process_id: Arc<str>,
    pub process_definition_key: i64,
    /// The catching element (the boundary event for a boundary subscription).
    pub element_id: Arc<str>,
    pub message_name: String,
    pub correlation_key: String,
    /// Non-interrupting boundary subscriptions stay open after a correlation.
    pub interrupting: bool,
    /// Set on `CORRELATED`: the message and its variables; -1 and empty otherwise.
    pub message_key: i64,
    pub variables: Document,
}

impl MessageSubscriptionRecord {
    /// This subscription as correlated with (or offered) a message.
    pub fn with_message(&self, message_key: i64, variables: &Document) -> MessageSubscriptionRecord {
        MessageSubscriptionRecord { message_key, variables: variables.clone(), ..self.clone() }
    }
}

/// A timer of a timer catch event or timer boundary event (then `element_instance_key` is the
/// attached activity's), or of a timer start event (then `element_instance_key` and
/// `process_instance_key` are -1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerRecord {
    pub element_instance_key: i64,
    pub process_instance_key: i64,
    pub process_definition_key: i64,
    pub bpmn_process_id: Arc<str>,
    /// The catching element (the boundary event for a boundary timer).
    pub target_element_id: Arc<str>,
    /// Epoch ms at which the timer fires.
    pub due_date_ms: i64,
    /// Firings left including this one (a cycle `R5/…` starts at 5); -1: unbounded.
    #[serde(default = "one")]
    pub repetitions: i32,
}

fn one() -> i32 {
    1
}

/// A broadcast signal: every open subscription of its name is triggered, on every partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalRecord {
    pub signal_name: String,
    pub variables: Document,
}

/// An element waiting for a signal (a catch event, a boundary event — then
/// `catch_event_instance_key` is the activity's — or an event-based gateway), or a signal start
/// event of a deployed process (then `catch_event_instance_key` is -1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalSubscriptionRecord {
    pub signal_name: String,
    pub process_definition_key: i64,
    pub bpmn_process_id: Arc<str>,
    /// The catching element.
    pub catch_element_id: Arc<str>,
    pub catch_event_instance_key: i64,
}

/// An escalation was thrown: `ESCALATED` when a catch event caught it, `NOT_ESCALATED` when none
/// did (not an incident: the thrower carries on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationRecord {
    pub process_instance_key: i64,
    /// The element that threw the escalation.
    pub element_id: Arc<str>,
    pub escalation_code: String,
    /// The catch event; empty when the escalation was not caught.
    pub catch_element_id: Arc<str>,
}

/// A completed activity that can be compensated (it has a compensation boundary event): created
/// when it completes, `TRIGGERED` when a compensation throw event starts its handler, `COMPLETED`
/// when the handler is done. While it waits, it belongs to the scope whose throw events
/// compensate it; when that scope ends, it moves to the enclosing one (or goes, at the process).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompensationSubscriptionRecord {
    pub process_instance_key: i64,
    pub process_definition_key: i64,
    pub bpmn_process_id: Arc<str>,
    pub compensable_activity_id: Arc<str>,
    pub compensable_activity_instance_key: i64,
    pub compensable_activity_scope_key: i64,
    pub compensation_handler_id: Arc<str>,
    /// Set on `TRIGGERED`: the throw event that waits, and the handler's instance; -1 before.
    pub throw_event_instance_key: i64,
    pub compensation_handler_instance_key: i64,
}

/// Deleting a deployed resource (a process definition, by its key): no new instances, its start
/// events stop; running instances finish on the definition they started with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceDeletionRecord {
    pub resource_key: i64,
}

/// Modifying a running process instance: activate elements, terminate element instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInstanceModificationRecord {
    pub process_instance_key: i64,
    pub activate_instructions: Vec<ActivateInstruction>,
    /// Element instances to terminate.
    pub terminate_instructions: Vec<i64>,
    /// On the event: keys of the flow scopes (subprocesses) the modification creates because an
    /// element to activate had none; they start empty, without their start events.
    #[serde(default)]
    pub created_scope_keys: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivateInstruction {
    pub element_id: String,
    /// The flow scope instance to activate in; -1 (or 0): the only active one.
    pub ancestor_element_instance_key: i64,
    pub variable_instructions: Vec<VariableInstruction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariableInstruction {
    pub variables: Document,
    /// The element whose instance gets the variables; empty: the process instance.
    pub scope_id: String,
}

/// Migrating a running process instance to another process definition: every active element
/// instance moves to the element its mapping instruction names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInstanceMigrationRecord {
    pub process_instance_key: i64,
    pub target_process_definition_key: i64,
    /// (source element id, target element id).
    pub mapping_instructions: Vec<(String, String)>,
}
