//! The JSON the API speaks: requests and responses, camelCase like Zeebe's REST API, converted
//! by hand from the engine's records and state so that internal types never reach the wire and
//! can change without breaking clients.
//!
//! Keys (of instances, jobs, …) are JSON strings in every response: they use all 64 bits, and
//! JavaScript clients would silently round numbers above 2^53. Requests accept a key as a
//! string or as a number.

use std::collections::BTreeMap;

use baton_engine::state::{DeployedProcess, ElementInstance, Job, JobState};
use baton_engine::{Document, FormMetadata, IncidentRecord, JobRecord, LifecycleState, ProcessMetadata};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A key given by a client: a JSON string of digits or a JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, example = "2251799813685249")]
pub struct Key(pub i64);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(i64),
            Text(String),
        }
        match Either::deserialize(deserializer)? {
            Either::Number(key) => Ok(Key(key)),
            Either::Text(text) => text
                .trim()
                .parse()
                .map(Key)
                .map_err(|_| serde::de::Error::custom(format!("expected a key (digits), but it was '{text}'"))),
        }
    }
}

/// A key for the wire; `None` for the engine's "no such entity" (-1 or 0).
pub fn key(key: i64) -> String {
    key.to_string()
}

pub fn optional_key(key: i64) -> Option<String> {
    (key > 0).then(|| key.to_string())
}

// ---------------------------------------------------------------------------------------------
// Deployments

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentRequest {
    /// The files to deploy (BPMN XML); one deployment, all or nothing.
    pub resources: Vec<ResourceInput>,
}

/// One file of a deployment: `content` holds the XML as text; binary or non-UTF-8 files go in
/// `contentBase64` instead (exactly one of the two).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceInput {
    /// File name; must end in `.bpmn` or `.xml`.
    pub name: String,
    pub content: Option<String>,
    pub content_base64: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentResponse {
    pub deployment_key: String,
    pub processes: Vec<DeploymentProcess>,
    pub forms: Vec<DeploymentForm>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentForm {
    pub form_key: String,
    pub form_id: String,
    pub version: i32,
    pub resource_name: String,
    /// False when an identical resource was deployed before: this names the existing version.
    pub is_new: bool,
}

impl From<&FormMetadata> for DeploymentForm {
    fn from(form: &FormMetadata) -> Self {
        DeploymentForm {
            form_key: key(form.form_key),
            form_id: form.form_id.clone(),
            version: form.version,
            resource_name: form.resource_name.clone(),
            is_new: !form.duplicate,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentProcess {
    pub process_definition_key: String,
    pub bpmn_process_id: String,
    pub version: i32,
    pub resource_name: String,
    /// False when an identical resource was deployed before: this names the existing version.
    pub is_new: bool,
}

impl From<&ProcessMetadata> for DeploymentProcess {
    fn from(process: &ProcessMetadata) -> Self {
        DeploymentProcess {
            process_definition_key: key(process.process_definition_key),
            bpmn_process_id: process.bpmn_process_id.to_string(),
            version: process.version,
            resource_name: process.resource_name.clone(),
            is_new: process.is_new,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RawDeploymentParams {
    /// File name of a raw XML upload; `resource.bpmn` when not given.
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessDefinition {
    pub process_definition_key: String,
    pub bpmn_process_id: String,
    pub version: i32,
    pub resource_name: String,
}

impl From<&DeployedProcess> for ProcessDefinition {
    fn from(process: &DeployedProcess) -> Self {
        let record = &process.record;
        ProcessDefinition {
            process_definition_key: key(record.process_definition_key),
            bpmn_process_id: record.bpmn_process_id.to_string(),
            version: record.version,
            resource_name: record.resource_name.clone(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ProcessDefinitionFilter {
    /// Only versions of this process.
    pub bpmn_process_id: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Process instances

/// Starts an instance of the latest version of `bpmnProcessId` (or of `version`), or of the
/// definition `processDefinitionKey`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateProcessInstanceRequest {
    pub bpmn_process_id: Option<String>,
    pub process_definition_key: Option<Key>,
    /// With `bpmnProcessId`: this version instead of the latest.
    pub version: Option<i32>,
    /// The instance's root variables (a JSON object).
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Document>,
    /// Answer only when the instance completes, with its variables.
    #[serde(default)]
    pub await_result: bool,
    /// With `awaitResult`: only these root variables in the answer; all when empty.
    #[serde(default)]
    pub fetch_variables: Vec<String>,
    /// With `awaitResult`: how long to wait, in ms; 10 s when not given. A 504 problem after
    /// that; the instance itself goes on.
    pub request_timeout_ms: Option<u64>,
    /// Start at these elements of the process instead of its none start event.
    #[serde(default)]
    pub start_instructions: Vec<StartInstruction>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartInstruction {
    pub element_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateProcessInstanceResponse {
    pub process_instance_key: String,
    pub process_definition_key: String,
    pub bpmn_process_id: String,
    pub version: i32,
    /// Only with `awaitResult`: the root variables when the instance completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Document>,
}

/// The lifecycle of a whole process instance as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstanceState {
    Active,
    Completed,
    Terminated,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ProcessInstanceFilter {
    /// `active`, `completed` or `terminated` (any case); all when not given. Completed and
    /// terminated instances come from the bounded, in-memory read model (see the crate docs).
    pub state: Option<String>,
    pub bpmn_process_id: Option<String>,
    #[param(value_type = Option<String>)]
    pub process_definition_key: Option<Key>,
    /// At most this many (default 1000, at most 10000).
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInstance {
    pub process_instance_key: String,
    pub process_definition_key: String,
    pub bpmn_process_id: String,
    pub version: i32,
    pub state: InstanceState,
    /// When it started (epoch ms), if the server saw it start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// When it completed or was terminated (epoch ms); absent while active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
}

impl ProcessInstance {
    pub fn active(root: &ElementInstance) -> ProcessInstance {
        let value = &root.value;
        ProcessInstance {
            process_instance_key: key(root.key),
            process_definition_key: key(value.process_definition_key),
            bpmn_process_id: value.bpmn_process_id.to_string(),
            version: value.version,
            state: InstanceState::Active,
            start_time: None,
            end_time: None,
        }
    }
}

/// One process instance with everything an operator needs to see why it stands where it
/// stands. Finished instances (from the read model) have no element instances, variables,
/// incidents or jobs left.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInstanceDetail {
    pub process_instance_key: String,
    pub process_definition_key: String,
    pub bpmn_process_id: String,
    pub version: i32,
    pub state: InstanceState,
    /// When it started (epoch ms), if the server saw it start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Active element instances, the process itself first, then parents before children.
    pub element_instances: Vec<ElementInstanceView>,
    /// Variables of every scope (the process instance and each element instance).
    pub variables: Vec<VariableView>,
    pub incidents: Vec<Incident>,
    pub jobs: Vec<JobView>,
}

impl ProcessInstanceDetail {
    pub fn finished(instance: ProcessInstance) -> ProcessInstanceDetail {
        ProcessInstanceDetail {
            process_instance_key: instance.process_instance_key,
            process_definition_key: instance.process_definition_key,
            bpmn_process_id: instance.bpmn_process_id,
            version: instance.version,
            state: instance.state,
            start_time: instance.start_time,
            end_time: instance.end_time,
            element_instances: Vec::new(),
            variables: Vec::new(),
            incidents: Vec::new(),
            jobs: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ElementInstanceView {
    pub element_instance_key: String,
    pub element_id: String,
    /// Zeebe's BPMN element type: `PROCESS`, `SERVICE_TASK`, `SUB_PROCESS`, …
    pub element_type: String,
    /// `ACTIVATING`, `ACTIVATED`, `COMPLETING` or `TERMINATING`.
    pub state: String,
    /// The enclosing element instance; absent for the process instance itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_scope_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_key: Option<String>,
}

impl From<&ElementInstance> for ElementInstanceView {
    fn from(element: &ElementInstance) -> Self {
        ElementInstanceView {
            element_instance_key: key(element.key),
            element_id: element.value.element_id.to_string(),
            element_type: element.value.bpmn_element_type.as_str().to_string(),
            state: lifecycle(element.state).to_string(),
            flow_scope_key: optional_key(element.value.flow_scope_key),
            job_key: optional_key(element.job_key),
            incident_key: optional_key(element.incident_key),
        }
    }
}

pub fn lifecycle(state: LifecycleState) -> &'static str {
    match state {
        LifecycleState::Activating => "ACTIVATING",
        LifecycleState::Activated => "ACTIVATED",
        LifecycleState::Completing => "COMPLETING",
        LifecycleState::Completed => "COMPLETED",
        LifecycleState::Terminating => "TERMINATING",
        LifecycleState::Terminated => "TERMINATED",
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariableView {
    pub variable_key: String,
    /// The element instance (or process instance) the variable belongs to.
    pub scope_key: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

// ---------------------------------------------------------------------------------------------
// History

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub process_instance_key: String,
    /// True when the read model saw the instance from its creation on and kept every record;
    /// false when it started watching later, lost records while lagging, or dropped the
    /// oldest ones to stay within its bound.
    pub complete: bool,
    /// Records of this instance dropped (oldest first) to stay within the per-instance bound.
    pub dropped_records: u64,
    pub records: Vec<HistoryRecord>,
}

/// One record of the log, as far as it concerns one instance. Variable values larger than the
/// read model keeps are replaced by a note; job variables are left out.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRecord {
    /// Position in the partition's log (the instance lives on one partition).
    pub position: u64,
    pub key: String,
    pub timestamp: i64,
    /// `COMMAND`, `EVENT` or `COMMAND_REJECTION`.
    pub record_type: String,
    /// `PROCESS_INSTANCE`, `JOB`, `VARIABLE`, `INCIDENT`, …
    pub value_type: String,
    pub intent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element_instance_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_scope_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_keys: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub variable_value: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope_key: Option<String>,
    /// Names of the variables a variable document (SET VARIABLES) carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable_names: Option<Vec<String>>,
    /// The value was too large to keep: `variable_value` is only a note.
    #[serde(skip)]
    pub value_dropped: bool,
}

// ---------------------------------------------------------------------------------------------
// Jobs

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActivateJobsRequest {
    #[serde(rename = "type")]
    pub job_type: String,
    /// Recorded on each job; `default` when not given.
    pub worker: Option<String>,
    /// How long the worker has before a job times out and goes to someone else, in ms.
    pub timeout_ms: i64,
    pub max_jobs_to_activate: i32,
    /// Variables to include with each job; all visible ones when not given or empty.
    #[serde(default)]
    pub fetch_variables: Vec<String>,
    /// Long poll, as in Zeebe: > 0 waits up to this many ms for at least one job, 0 or absent
    /// waits the default (10 s), < 0 answers at once.
    pub request_timeout_ms: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivateJobsResponse {
    pub jobs: Vec<ActivatedJob>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivatedJob {
    pub job_key: String,
    #[serde(rename = "type")]
    pub job_type: String,
    pub process_instance_key: String,
    pub process_definition_key: String,
    pub bpmn_process_id: String,
    pub process_definition_version: i32,
    pub element_id: String,
    pub element_instance_key: String,
    #[schema(value_type = Object)]
    pub custom_headers: Document,
    pub worker: String,
    pub retries: i32,
    /// When the job times out (epoch ms).
    pub deadline: i64,
    #[schema(value_type = Object)]
    pub variables: Document,
}

impl ActivatedJob {
    pub fn new(job_key: i64, job: &JobRecord) -> ActivatedJob {
        ActivatedJob {
            job_key: key(job_key),
            job_type: job.job_type.to_string(),
            process_instance_key: key(job.process_instance_key),
            process_definition_key: key(job.process_definition_key),
            bpmn_process_id: job.bpmn_process_id.to_string(),
            process_definition_version: job.process_definition_version,
            element_id: job.element_id.to_string(),
            element_instance_key: key(job.element_instance_key),
            custom_headers: (*job.custom_headers).clone(),
            worker: job.worker.clone(),
            retries: job.retries,
            deadline: job.deadline_ms,
            variables: job.variables.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteJobRequest {
    /// Merged into the job's scope (propagated like Zeebe's job completion).
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Document>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailJobRequest {
    /// Retries left; at 0 the job raises an incident.
    pub retries: i32,
    #[serde(default)]
    pub error_message: String,
    /// Wait this many ms before the job can be activated again.
    #[serde(default)]
    pub retry_back_off_ms: i64,
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Document>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThrowErrorRequest {
    /// Matched against the error codes of boundary events.
    pub error_code: String,
    #[serde(default)]
    pub error_message: String,
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Document>,
}

/// At least one of the two. Both: retries are updated first, then the timeout (two commands,
/// not atomic).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateJobRequest {
    pub retries: Option<i32>,
    /// A new deadline of now + this many ms, for an activated job.
    pub timeout_ms: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// Only jobs of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub job_type: Option<String>,
    /// `activatable`, `activated`, `backing_off`, `failed` or `error_thrown` (any case).
    pub state: Option<String>,
    #[param(value_type = Option<String>)]
    pub process_instance_key: Option<Key>,
    /// At most this many (default 1000, at most 10000).
    pub limit: Option<usize>,
}

/// A job as it stands (its variables are not kept with it; activation fetches them).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub job_key: String,
    #[serde(rename = "type")]
    pub job_type: String,
    /// `ACTIVATABLE`, `ACTIVATED`, `BACKING_OFF`, `FAILED` or `ERROR_THROWN`.
    pub state: String,
    pub retries: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub worker: String,
    /// When an activated job times out (epoch ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<i64>,
    /// When a job backing off becomes activatable again (epoch ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurring_time: Option<i64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_code: String,
    pub process_instance_key: String,
    pub process_definition_key: String,
    pub bpmn_process_id: String,
    pub element_id: String,
    pub element_instance_key: String,
    #[schema(value_type = Object)]
    pub custom_headers: Document,
}

pub fn job_state(state: JobState) -> &'static str {
    match state {
        JobState::Activatable => "ACTIVATABLE",
        JobState::Activated => "ACTIVATED",
        JobState::BackingOff => "BACKING_OFF",
        JobState::Failed => "FAILED",
        JobState::ErrorThrown => "ERROR_THROWN",
    }
}

impl From<&Job> for JobView {
    fn from(job: &Job) -> Self {
        let record = &job.record;
        JobView {
            job_key: key(job.key),
            job_type: record.job_type.to_string(),
            state: job_state(job.state).to_string(),
            retries: record.retries,
            worker: record.worker.clone(),
            deadline: (job.state == JobState::Activated && record.deadline_ms >= 0).then_some(record.deadline_ms),
            recurring_time: (job.state == JobState::BackingOff).then_some(record.recurring_time_ms),
            error_message: record.error_message.clone(),
            error_code: record.error_code.clone(),
            process_instance_key: key(record.process_instance_key),
            process_definition_key: key(record.process_definition_key),
            bpmn_process_id: record.bpmn_process_id.to_string(),
            element_id: record.element_id.to_string(),
            element_instance_key: key(record.element_instance_key),
            custom_headers: (*record.custom_headers).clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Variables and incidents

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetVariablesRequest {
    #[schema(value_type = Object)]
    pub variables: Document,
    /// True: set them on this scope only; false (default): update them where they are
    /// defined, as Zeebe's SetVariables does.
    #[serde(default)]
    pub local: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct IncidentFilter {
    #[param(value_type = Option<String>)]
    pub process_instance_key: Option<Key>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub incident_key: String,
    /// `JOB_NO_RETRIES`, `IO_MAPPING_ERROR`, `CONDITION_ERROR`, …
    pub error_type: String,
    pub error_message: String,
    pub process_instance_key: String,
    pub process_definition_key: String,
    pub bpmn_process_id: String,
    pub element_id: String,
    pub element_instance_key: String,
    /// The job whose failure raised it, if any: give it retries before resolving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_key: Option<String>,
    /// The scope whose variables to fix before resolving.
    pub variable_scope_key: String,
}

impl Incident {
    pub fn new(incident_key: i64, incident: &IncidentRecord) -> Incident {
        Incident {
            incident_key: key(incident_key),
            error_type: incident.error_type.as_str().to_string(),
            error_message: incident.error_message.clone(),
            process_instance_key: key(incident.process_instance_key),
            process_definition_key: key(incident.process_definition_key),
            bpmn_process_id: incident.bpmn_process_id.to_string(),
            element_id: incident.element_id.to_string(),
            element_instance_key: key(incident.element_instance_key),
            job_key: optional_key(incident.job_key),
            variable_scope_key: key(incident.variable_scope_key),
        }
    }
}

/// Variables of one scope, for [`ProcessInstanceDetail::variables`].
pub fn scope_variables(
    scope_key: i64,
    variables: &BTreeMap<std::sync::Arc<str>, baton_engine::state::Variable>,
) -> impl Iterator<Item = VariableView> + '_ {
    variables.iter().map(move |(name, variable)| VariableView {
        variable_key: key(variable.key),
        scope_key: key(scope_key),
        name: name.to_string(),
        value: variable.value.clone(),
    })
}
