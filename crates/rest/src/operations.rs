//! The commands beyond instances and jobs: publishing messages, broadcasting signals,
//! modifying and migrating instances, deleting resources and evaluating decisions. Each hands
//! one command to the broker, as the gateway's RPCs of the same names do.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use baton_engine::{
    ActivateInstruction, Command, DecisionEvaluationRecord, Document, Intent, MessageRecord,
    ProcessInstanceMigrationRecord, ProcessInstanceModificationRecord, RecordValue, ResourceDeletionRecord,
    SignalRecord, VariableInstruction,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Api;
use crate::error::{ApiError, Problem, accepted};
use crate::extract::{JsonBody, path_key};
use crate::wire::key;

/// The deployment partition, which holds every definition and answers for signals, deletions
/// and decisions.
const DEPLOYMENT_PARTITION: u32 = 1;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishMessageRequest {
    pub name: String,
    #[serde(default)]
    pub correlation_key: String,
    /// How long the message waits for a subscription; 0 (the default): correlate now or drop.
    #[serde(default)]
    pub time_to_live_ms: i64,
    /// While a message with this id (and name and key) waits, another is refused.
    #[serde(default)]
    pub message_id: String,
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Document>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyResponse {
    pub key: String,
}

/// Publishes a message; it correlates to waiting subscriptions (or starts instances) by name
/// and correlation key.
#[utoipa::path(
    post, path = "/v1/messages/publication", tag = "messages",
    request_body = PublishMessageRequest,
    responses(
        (status = 200, description = "Published", body = KeyResponse),
        (status = 400, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A message with this id is waiting already", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn publish_message(
    State(api): State<Api>,
    JsonBody(request): JsonBody<PublishMessageRequest>,
) -> Result<Json<KeyResponse>, ApiError> {
    if request.name.trim().is_empty() {
        return Err(ApiError::bad_request("Expected a non-empty message 'name', but it was blank"));
    }
    if request.time_to_live_ms < 0 {
        return Err(ApiError::bad_request(format!(
            "Expected a 'timeToLiveMs' of at least 0, but it was {}",
            request.time_to_live_ms
        )));
    }
    let record = api
        .publish(request.name, request.correlation_key, request.time_to_live_ms, request.message_id, request.variables)
        .await?;
    Ok(Json(KeyResponse { key: key(record.key) }))
}

impl Api {
    /// Publishes a message on the partition of its correlation key.
    pub(crate) async fn publish(
        &self,
        name: String,
        correlation_key: String,
        time_to_live_ms: i64,
        message_id: String,
        variables: Option<Document>,
    ) -> Result<baton_engine::Record, ApiError> {
        let value = MessageRecord {
            name,
            correlation_key,
            time_to_live_ms,
            message_id,
            variables: variables.unwrap_or_default(),
            deadline_ms: -1,
        };
        let command = Command::new(Intent::Publish, -1, RecordValue::Message(Box::new(value)));
        accepted(self.broker.publish_message(command).await)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BroadcastSignalRequest {
    pub signal_name: String,
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Document>,
}

/// Broadcasts a signal to every waiting signal event (and signal start event).
#[utoipa::path(
    post, path = "/v1/signals/broadcast", tag = "signals",
    request_body = BroadcastSignalRequest,
    responses(
        (status = 200, description = "Broadcast", body = KeyResponse),
        (status = 400, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn broadcast_signal(
    State(api): State<Api>,
    JsonBody(request): JsonBody<BroadcastSignalRequest>,
) -> Result<Json<KeyResponse>, ApiError> {
    if request.signal_name.trim().is_empty() {
        return Err(ApiError::bad_request("Expected a non-empty 'signalName', but it was blank"));
    }
    let value = SignalRecord { signal_name: request.signal_name, variables: request.variables.unwrap_or_default() };
    let record =
        accepted(api.broker.broadcast_signal(Command::new(Intent::Broadcast, -1, RecordValue::Signal(value))).await)?;
    Ok(Json(KeyResponse { key: key(record.key) }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModifyProcessInstanceRequest {
    #[serde(default)]
    pub activate_instructions: Vec<ActivateInstructionRequest>,
    #[serde(default)]
    pub terminate_instructions: Vec<TerminateInstructionRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActivateInstructionRequest {
    pub element_id: String,
    /// The flow scope instance to activate in, when the element's scope is active more than once.
    pub ancestor_element_instance_key: Option<String>,
    #[serde(default)]
    pub variable_instructions: Vec<VariableInstructionRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VariableInstructionRequest {
    #[schema(value_type = Object)]
    pub variables: Document,
    /// The element whose instance gets the variables; empty: the process instance.
    #[serde(default)]
    pub scope_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TerminateInstructionRequest {
    pub element_instance_key: String,
}

/// Modifies a running instance: activates elements (with variables) and terminates element
/// instances; every instruction is checked first, and nothing changes if one is wrong.
#[utoipa::path(
    post, path = "/v1/process-instances/{key}/modification", tag = "process-instances",
    params(("key" = String, Path, description = "Process instance key")),
    request_body = ModifyProcessInstanceRequest,
    responses(
        (status = 204, description = "Modified"),
        (status = 400, description = "An instruction is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such active instance", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn modify_process_instance(
    State(api): State<Api>,
    Path(instance): Path<String>,
    JsonBody(request): JsonBody<ModifyProcessInstanceRequest>,
) -> Result<StatusCode, ApiError> {
    let instance = path_key(&instance)?;
    let mut activate_instructions = Vec::with_capacity(request.activate_instructions.len());
    for instruction in request.activate_instructions {
        let ancestor = match instruction.ancestor_element_instance_key.as_deref() {
            None | Some("") => -1,
            Some(text) => parse_key(text, "ancestorElementInstanceKey")?,
        };
        activate_instructions.push(ActivateInstruction {
            element_id: instruction.element_id,
            ancestor_element_instance_key: ancestor,
            variable_instructions: instruction
                .variable_instructions
                .into_iter()
                .map(|v| VariableInstruction { variables: v.variables, scope_id: v.scope_id })
                .collect(),
        });
    }
    let mut terminate_instructions = Vec::with_capacity(request.terminate_instructions.len());
    for instruction in request.terminate_instructions {
        terminate_instructions.push(parse_key(&instruction.element_instance_key, "elementInstanceKey")?);
    }
    let value = ProcessInstanceModificationRecord {
        process_instance_key: instance,
        activate_instructions,
        terminate_instructions,
        created_scope_keys: Vec::new(),
    };
    api.on_key(instance, Command::new(Intent::Modify, instance, RecordValue::ProcessInstanceModification(value)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MigrateProcessInstanceRequest {
    pub target_process_definition_key: String,
    #[serde(default)]
    pub mapping_instructions: Vec<MappingInstructionRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MappingInstructionRequest {
    pub source_element_id: String,
    pub target_element_id: String,
}

/// Migrates a running instance to another process definition; every active element must be
/// mapped to an element of the same type.
#[utoipa::path(
    post, path = "/v1/process-instances/{key}/migration", tag = "process-instances",
    params(("key" = String, Path, description = "Process instance key")),
    request_body = MigrateProcessInstanceRequest,
    responses(
        (status = 204, description = "Migrated"),
        (status = 400, description = "The plan does not fit the instance", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such instance or target definition", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn migrate_process_instance(
    State(api): State<Api>,
    Path(instance): Path<String>,
    JsonBody(request): JsonBody<MigrateProcessInstanceRequest>,
) -> Result<StatusCode, ApiError> {
    let instance = path_key(&instance)?;
    let target = parse_key(&request.target_process_definition_key, "targetProcessDefinitionKey")?;
    let value = ProcessInstanceMigrationRecord {
        process_instance_key: instance,
        target_process_definition_key: target,
        mapping_instructions: request
            .mapping_instructions
            .into_iter()
            .map(|m| (m.source_element_id, m.target_element_id))
            .collect(),
    };
    api.on_key(instance, Command::new(Intent::Migrate, instance, RecordValue::ProcessInstanceMigration(value))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a deployed process definition: no new instances; running ones finish.
#[utoipa::path(
    post, path = "/v1/resources/{key}/deletion", tag = "deployments",
    params(("key" = String, Path, description = "Process definition key")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such resource", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn delete_resource(State(api): State<Api>, Path(resource): Path<String>) -> Result<StatusCode, ApiError> {
    let resource = path_key(&resource)?;
    let value = ResourceDeletionRecord { resource_key: resource };
    accepted(api.broker.delete_resource(Command::new(Intent::Delete, -1, RecordValue::ResourceDeletion(value))).await)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvaluateDecisionRequest {
    /// The decision's id (its latest version), or …
    pub decision_id: Option<String>,
    /// … the key of one version.
    pub decision_key: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Document>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvaluateDecisionResponse {
    pub decision_key: String,
    pub decision_id: String,
    pub decision_name: String,
    pub decision_version: i32,
    /// The decision's result.
    #[schema(value_type = Object)]
    pub output: serde_json::Value,
    /// Set when the evaluation failed: which decision and why.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub failed_decision_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub failure_message: String,
}

/// Evaluates a deployed DMN decision against the given variables.
#[utoipa::path(
    post, path = "/v1/decisions/evaluation", tag = "decisions",
    request_body = EvaluateDecisionRequest,
    responses(
        (status = 200, description = "Evaluated (see failureMessage for a failed evaluation)", body = EvaluateDecisionResponse),
        (status = 400, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such decision", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn evaluate_decision(
    State(api): State<Api>,
    JsonBody(request): JsonBody<EvaluateDecisionRequest>,
) -> Result<Json<EvaluateDecisionResponse>, ApiError> {
    let decision_key = match request.decision_key.as_deref() {
        None | Some("") => -1,
        Some(text) => parse_key(text, "decisionKey")?,
    };
    let decision_id = request.decision_id.unwrap_or_default();
    if decision_key <= 0 && decision_id.trim().is_empty() {
        return Err(ApiError::bad_request("Expected a 'decisionId' or a 'decisionKey', but neither was given"));
    }
    let value = DecisionEvaluationRecord::request(&decision_id, decision_key, request.variables.unwrap_or_default());
    let command = Command::new(Intent::Evaluate, -1, RecordValue::DecisionEvaluation(Box::new(value)));
    let record = accepted(api.broker.execute(DEPLOYMENT_PARTITION, command).await)?;
    let RecordValue::DecisionEvaluation(result) = record.value else {
        return Err(crate::error::unexpected_answer(&record, "decision evaluation"));
    };
    Ok(Json(EvaluateDecisionResponse {
        decision_key: key(result.decision_key),
        decision_id: result.decision_id,
        decision_name: result.decision_name,
        decision_version: result.decision_version,
        output: serde_json::from_str(&result.decision_output).unwrap_or(serde_json::Value::Null),
        failed_decision_id: result.failed_decision_id,
        failure_message: result.evaluation_failure_message,
    }))
}

fn parse_key(text: &str, field: &str) -> Result<i64, ApiError> {
    match text.trim().parse::<i64>() {
        Ok(key) if key > 0 => Ok(key),
        _ => Err(ApiError::bad_request(format!("Expected '{field}' to be a positive key, but it was '{text}'"))),
    }
}
