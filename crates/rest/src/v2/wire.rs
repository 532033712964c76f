//! The JSON of Camunda's Orchestration Cluster API, field for field as Camunda 8.8 names it.
//!
//! Unlike Baton's own `/v1` types, requests accept unknown fields: Camunda's server ignores
//! them and the official SDKs send some (the JS SDK puts `jobKey` into a job failure and its
//! worker settings into an activation). Keys are decimal strings both ways; a number is accepted
//! in requests too.

use baton_engine::{
    DecisionEvaluationRecord, DecisionRecord, DecisionRequirementsMetadata, Document, FormMetadata, JobKind, JobRecord,
    ListenerEventType, ProcessMetadata,
};
use serde::{Deserialize, Serialize};

use crate::wire::{Key, key};

/// The only tenant of a Baton installation, named as Camunda names the default tenant.
pub const DEFAULT_TENANT: &str = "<default>";

// ---------------------------------------------------------------------------------------------
// Cluster

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Topology {
    pub brokers: Vec<BrokerInfo>,
    pub cluster_size: i32,
    pub partitions_count: i32,
    pub replication_factor: i32,
    pub gateway_version: String,
    pub last_completed_change_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerInfo {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub partitions: Vec<PartitionInfo>,
    pub version: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionInfo {
    pub partition_id: i32,
    pub role: &'static str,
    pub health: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct License {
    pub valid_license: bool,
    pub license_type: &'static str,
    pub is_commercial: bool,
    pub expires_at: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Deployments

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentResult {
    pub deployment_key: String,
    pub tenant_id: String,
    pub deployments: Vec<Deployment>,
}

/// One deployed resource: exactly one member is present.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Deployment {
    ProcessDefinition(DeployedProcess),
    DecisionDefinition(DeployedDecision),
    DecisionRequirements(DeployedDecisionRequirements),
    Form(DeployedForm),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedProcess {
    pub process_definition_id: String,
    pub process_definition_version: i32,
    pub resource_name: String,
    pub tenant_id: String,
    pub process_definition_key: String,
}

impl From<&ProcessMetadata> for Deployment {
    fn from(process: &ProcessMetadata) -> Self {
        Deployment::ProcessDefinition(DeployedProcess {
            process_definition_id: process.bpmn_process_id.to_string(),
            process_definition_version: process.version,
            resource_name: process.resource_name.clone(),
            tenant_id: DEFAULT_TENANT.to_string(),
            process_definition_key: key(process.process_definition_key),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedDecision {
    pub decision_definition_id: String,
    pub version: i32,
    pub name: String,
    pub tenant_id: String,
    pub decision_requirements_id: String,
    pub decision_definition_key: String,
    pub decision_requirements_key: String,
}

impl From<&DecisionRecord> for Deployment {
    fn from(decision: &DecisionRecord) -> Self {
        Deployment::DecisionDefinition(DeployedDecision {
            decision_definition_id: decision.decision_id.clone(),
            version: decision.version,
            name: decision.decision_name.clone(),
            tenant_id: DEFAULT_TENANT.to_string(),
            decision_requirements_id: decision.decision_requirements_id.clone(),
            decision_definition_key: key(decision.decision_key),
            decision_requirements_key: key(decision.decision_requirements_key),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedDecisionRequirements {
    pub decision_requirements_id: String,
    pub version: i32,
    pub decision_requirements_name: String,
    pub tenant_id: String,
    pub resource_name: String,
    pub decision_requirements_key: String,
}

impl From<&DecisionRequirementsMetadata> for Deployment {
    fn from(drg: &DecisionRequirementsMetadata) -> Self {
        Deployment::DecisionRequirements(DeployedDecisionRequirements {
            decision_requirements_id: drg.decision_requirements_id.clone(),
            version: drg.version,
            decision_requirements_name: drg.decision_requirements_name.clone(),
            tenant_id: DEFAULT_TENANT.to_string(),
            resource_name: drg.resource_name.clone(),
            decision_requirements_key: key(drg.decision_requirements_key),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedForm {
    pub form_id: String,
    pub version: i32,
    pub resource_name: String,
    pub tenant_id: String,
    pub form_key: String,
}

impl From<&FormMetadata> for Deployment {
    fn from(form: &FormMetadata) -> Self {
        Deployment::Form(DeployedForm {
            form_id: form.form_id.clone(),
            version: form.version,
            resource_name: form.resource_name.clone(),
            tenant_id: DEFAULT_TENANT.to_string(),
            form_key: key(form.form_key),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Process instances

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateProcessInstance {
    pub process_definition_id: Option<String>,
    pub process_definition_version: Option<i32>,
    pub process_definition_key: Option<Key>,
    pub variables: Option<Document>,
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub start_instructions: Vec<StartInstruction>,
    #[serde(default)]
    pub runtime_instructions: Vec<serde_json::Value>,
    #[serde(default)]
    pub await_completion: bool,
    #[serde(default)]
    pub fetch_variables: Vec<String>,
    pub request_timeout: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartInstruction {
    pub element_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateProcessInstanceResult {
    pub process_definition_id: String,
    pub process_definition_key: String,
    pub process_definition_version: i32,
    pub tenant_id: String,
    pub variables: Document,
    pub process_instance_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    pub target_process_definition_key: Key,
    #[serde(default)]
    pub mapping_instructions: Vec<MappingInstruction>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MappingInstruction {
    pub source_element_id: String,
    pub target_element_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Modification {
    #[serde(default)]
    pub activate_instructions: Vec<ActivateInstruction>,
    #[serde(default)]
    pub terminate_instructions: Vec<TerminateInstruction>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivateInstruction {
    pub element_id: String,
    pub ancestor_element_instance_key: Option<Key>,
    #[serde(default)]
    pub variable_instructions: Vec<VariableInstruction>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableInstruction {
    pub variables: Document,
    #[serde(default)]
    pub scope_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminateInstruction {
    pub element_instance_key: Key,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetVariables {
    pub variables: Option<Document>,
    #[serde(default)]
    pub local: bool,
}

// ---------------------------------------------------------------------------------------------
// Jobs

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobActivation {
    #[serde(rename = "type")]
    pub job_type: String,
    pub worker: Option<String>,
    pub timeout: i64,
    pub max_jobs_to_activate: i32,
    #[serde(default)]
    pub fetch_variable: Vec<String>,
    pub request_timeout: Option<i64>,
    #[serde(default)]
    pub tenant_ids: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct JobActivationResult {
    pub jobs: Vec<ActivatedJob>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivatedJob {
    #[serde(rename = "type")]
    pub job_type: String,
    pub process_definition_id: String,
    pub process_definition_version: i32,
    pub element_id: String,
    pub custom_headers: Document,
    pub worker: String,
    pub retries: i32,
    pub deadline: i64,
    pub variables: Document,
    pub tenant_id: String,
    pub job_key: String,
    pub process_instance_key: String,
    pub process_definition_key: String,
    pub element_instance_key: String,
    pub kind: &'static str,
    pub listener_event_type: &'static str,
}

impl ActivatedJob {
    pub fn new(job_key: i64, job: &JobRecord) -> ActivatedJob {
        ActivatedJob {
            job_type: job.job_type.to_string(),
            process_definition_id: job.bpmn_process_id.to_string(),
            process_definition_version: job.process_definition_version,
            element_id: job.element_id.to_string(),
            custom_headers: (*job.custom_headers).clone(),
            worker: job.worker.clone(),
            retries: job.retries,
            deadline: job.deadline_ms,
            variables: job.variables.clone(),
            tenant_id: DEFAULT_TENANT.to_string(),
            job_key: key(job_key),
            process_instance_key: key(job.process_instance_key),
            process_definition_key: key(job.process_definition_key),
            element_instance_key: key(job.element_instance_key),
            kind: job_kind(job.kind),
            listener_event_type: listener_event_type(job.listener_event_type),
        }
    }
}

pub fn job_kind(kind: JobKind) -> &'static str {
    match kind {
        JobKind::BpmnElement => "BPMN_ELEMENT",
        JobKind::ExecutionListener => "EXECUTION_LISTENER",
        JobKind::AdHocSubProcess => "AD_HOC_SUB_PROCESS",
    }
}

pub fn listener_event_type(event: ListenerEventType) -> &'static str {
    match event {
        ListenerEventType::Unspecified => "UNSPECIFIED",
        ListenerEventType::Start => "START",
        ListenerEventType::End => "END",
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobCompletion {
    pub variables: Option<Document>,
    pub result: Option<JobResult>,
}

/// A job's result; only the ad-hoc subprocess kind means anything to Baton's engine.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobResult {
    pub denied: Option<bool>,
    pub corrections: Option<serde_json::Value>,
    #[serde(default)]
    pub activate_elements: Vec<ActivateElement>,
    pub is_completion_condition_fulfilled: Option<bool>,
    pub is_cancel_remaining_instances: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivateElement {
    pub element_id: String,
    pub variables: Option<Document>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobFailure {
    pub retries: Option<i32>,
    pub error_message: Option<String>,
    pub retry_back_off: Option<i64>,
    pub variables: Option<Document>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobError {
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub variables: Option<Document>,
}

/// `{"changeset": {...}}` as specified, or the changes at the top level as the JS SDK sends them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobUpdate {
    pub changeset: Option<JobChangeset>,
    pub retries: Option<i32>,
    pub timeout: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobChangeset {
    pub retries: Option<i32>,
    pub timeout: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Messages, signals, decisions

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePublication {
    pub name: Option<String>,
    pub correlation_key: Option<String>,
    pub time_to_live: Option<i64>,
    pub message_id: Option<String>,
    pub variables: Option<Document>,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePublicationResult {
    pub message_key: String,
    pub tenant_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageCorrelationResult {
    pub message_key: String,
    pub tenant_id: String,
    pub process_instance_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalBroadcast {
    pub signal_name: Option<String>,
    pub variables: Option<Document>,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalBroadcastResult {
    pub signal_key: String,
    pub tenant_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionEvaluation {
    pub decision_definition_id: Option<String>,
    pub decision_definition_key: Option<Key>,
    pub variables: Option<Document>,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionEvaluationResult {
    pub decision_definition_id: String,
    pub decision_definition_name: String,
    pub decision_definition_version: i32,
    pub decision_requirements_id: String,
    /// The decision's result as JSON text, as Camunda sends it.
    pub output: String,
    pub failed_decision_definition_id: String,
    pub failure_message: String,
    pub tenant_id: String,
    pub decision_definition_key: String,
    pub decision_requirements_key: String,
    pub decision_instance_key: String,
    pub decision_evaluation_key: String,
    pub evaluated_decisions: Vec<EvaluatedDecision>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluatedDecision {
    pub decision_definition_id: String,
    pub decision_definition_name: String,
    pub decision_definition_version: i32,
    pub decision_definition_type: String,
    pub output: String,
    pub tenant_id: String,
    pub matched_rules: Vec<MatchedRule>,
    pub evaluated_inputs: Vec<EvaluatedInput>,
    pub decision_definition_key: String,
    pub decision_evaluation_instance_key: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchedRule {
    pub rule_id: String,
    pub rule_index: i32,
    pub evaluated_outputs: Vec<EvaluatedOutput>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluatedOutput {
    pub output_id: String,
    pub output_name: String,
    pub output_value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluatedInput {
    pub input_id: String,
    pub input_name: String,
    pub input_value: String,
}

impl DecisionEvaluationResult {
    /// `evaluation_key` is the key of the evaluation record; Camunda names each evaluated
    /// decision's instance after it with its 1-based position.
    pub fn new(evaluation_key: i64, value: &DecisionEvaluationRecord) -> DecisionEvaluationResult {
        let evaluated_decisions = value
            .evaluated_decisions
            .iter()
            .enumerate()
            .map(|(index, d)| EvaluatedDecision {
                decision_definition_id: d.decision_id.clone(),
                decision_definition_name: d.decision_name.clone(),
                decision_definition_version: d.decision_version,
                decision_definition_type: d.decision_type.clone(),
                output: d.decision_output.clone(),
                tenant_id: DEFAULT_TENANT.to_string(),
                matched_rules: d
                    .matched_rules
                    .iter()
                    .map(|rule| MatchedRule {
                        rule_id: rule.rule_id.clone(),
                        rule_index: rule.rule_index,
                        evaluated_outputs: rule
                            .evaluated_outputs
                            .iter()
                            .map(|o| EvaluatedOutput {
                                output_id: o.id.clone(),
                                output_name: o.name.clone(),
                                output_value: o.value.clone(),
                            })
                            .collect(),
                    })
                    .collect(),
                evaluated_inputs: d
                    .evaluated_inputs
                    .iter()
                    .map(|i| EvaluatedInput {
                        input_id: i.id.clone(),
                        input_name: i.name.clone(),
                        input_value: i.value.clone(),
                    })
                    .collect(),
                decision_definition_key: key(d.decision_key),
                decision_evaluation_instance_key: format!("{evaluation_key}-{}", index + 1),
            })
            .collect();
        DecisionEvaluationResult {
            decision_definition_id: value.decision_id.clone(),
            decision_definition_name: value.decision_name.clone(),
            decision_definition_version: value.decision_version,
            decision_requirements_id: value.decision_requirements_id.clone(),
            output: value.decision_output.clone(),
            failed_decision_definition_id: value.failed_decision_id.clone(),
            failure_message: value.evaluation_failure_message.clone(),
            tenant_id: DEFAULT_TENANT.to_string(),
            decision_definition_key: key(value.decision_key),
            decision_requirements_key: key(value.decision_requirements_key),
            decision_instance_key: key(evaluation_key),
            decision_evaluation_key: key(evaluation_key),
            evaluated_decisions,
        }
    }
}
