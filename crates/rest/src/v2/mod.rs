//! Camunda 8's Orchestration Cluster API (`/v2`): the commands its clients send to run
//! processes, so that the Camunda Java client (which speaks REST by default from 8.8 on) and
//! the JS SDK's REST client work against Baton unchanged.
//!
//! The subset: topology, status and license; deployments (multipart, as Camunda takes them);
//! creating (optionally awaiting), cancelling, migrating and modifying instances; setting
//! variables; activating (long polling), completing, failing and updating jobs and throwing
//! errors from them; publishing messages; broadcasting signals; resolving incidents; evaluating
//! decisions; deleting resources. Paths, field names, status codes (200, or 204 without a body)
//! and problem titles follow Camunda's OpenAPI document for 8.8. Its searches read Camunda's
//! secondary storage, which Baton does not have; Baton's own `/v1` queries answer those
//! questions.
//!
//! Each handler builds the same engine command as its `/v1` or gRPC counterpart and answers
//! errors through [`ApiError`], so rejections read exactly as elsewhere.

mod search;
mod user_tasks;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use baton_engine::{
    ActivateInstruction as EngineActivateInstruction, AdHocJobResult, Command, DecisionEvaluationRecord, Document,
    Intent, JobRecord, MessageCorrelationRecord, ProcessInstanceCreationRecord, ProcessInstanceMigrationRecord,
    ProcessInstanceModificationRecord, RecordValue, Resource, ResourceDeletionRecord, SignalRecord,
    VariableInstruction as EngineVariableInstruction,
};
use baton_runtime::ActivateJobs;

use self::wire::*;
use crate::Api;
use crate::commands::job_command;
use crate::error::{ApiError, accepted, unexpected_answer};
use crate::extract::{JsonBody, OptionalJsonBody, path_key};
use crate::wire::key;

/// The version of Camunda's API this subset follows, reported as the gateway's version.
pub const API_VERSION: &str = "8.8.0";

/// The deployment partition, which holds every definition and answers for signals, deletions
/// and decisions.
const DEPLOYMENT_PARTITION: u32 = 1;

pub(crate) fn routes() -> Router<Api> {
    Router::new()
        .route("/v2/topology", get(topology))
        .route("/v2/status", get(status))
        .route("/v2/license", get(license))
        .route("/v2/deployments", post(deploy))
        .route("/v2/process-instances", post(create_process_instance))
        .route("/v2/process-instances/{key}/cancellation", post(cancel_process_instance))
        .route("/v2/process-instances/{key}/migration", post(migrate_process_instance))
        .route("/v2/process-instances/{key}/modification", post(modify_process_instance))
        // PUT as specified; POST because the JS SDK sends that.
        .route("/v2/element-instances/{key}/variables", post(set_variables).put(set_variables))
        .route("/v2/jobs/activation", post(activate_jobs))
        .route("/v2/jobs/{key}", patch(update_job))
        .route("/v2/jobs/{key}/completion", post(complete_job))
        .route("/v2/jobs/{key}/failure", post(fail_job))
        .route("/v2/jobs/{key}/error", post(throw_error))
        .route("/v2/messages/publication", post(publish_message))
        .route("/v2/messages/correlation", post(correlate_message))
        .route("/v2/signals/broadcast", post(broadcast_signal))
        .route("/v2/incidents/{key}/resolution", post(resolve_incident))
        .route("/v2/decision-definitions/evaluation", post(evaluate_decision))
        .route("/v2/resources/{key}/deletion", post(delete_resource))
        .merge(search::routes())
}

/// Baton serves one tenant; Camunda's clients name it `<default>` (or give none).
fn check_tenant(tenant_id: Option<&str>) -> Result<(), ApiError> {
    match tenant_id {
        None | Some("" | DEFAULT_TENANT) => Ok(()),
        Some(other) => Err(ApiError::bad_request(format!(
            "Expected to handle request with tenant identifier '{other}', but multi-tenancy is disabled"
        ))),
    }
}

fn required<'a>(value: Option<&'a str>, field: &str) -> Result<&'a str, ApiError> {
    match value {
        Some(text) if !text.trim().is_empty() => Ok(text),
        _ => Err(ApiError::bad_request(format!("No {field} provided."))),
    }
}

// ---------------------------------------------------------------------------------------------
// Cluster

async fn topology(State(api): State<Api>) -> Json<Topology> {
    let count = api.broker.partition_count();
    let partitions = (1..=count)
        .map(|id| PartitionInfo {
            partition_id: i32::try_from(id).unwrap_or(i32::MAX),
            role: "leader",
            health: "healthy",
        })
        .collect();
    let (host, port) = api.settings.grpc_address.clone();
    Json(Topology {
        brokers: vec![BrokerInfo {
            node_id: 0,
            host,
            port: i32::from(port),
            partitions,
            version: API_VERSION.to_string(),
        }],
        cluster_size: 1,
        partitions_count: i32::try_from(count).unwrap_or(i32::MAX),
        replication_factor: 1,
        gateway_version: API_VERSION.to_string(),
        last_completed_change_id: "-1".to_string(),
    })
}

/// 204 while the partitions take commands: every partition leads on a single node, so the
/// server answering at all means they do, unless it is shutting down.
async fn status(State(api): State<Api>) -> StatusCode {
    let stopping = api.stopping.as_ref().is_some_and(|stopping| *stopping.borrow());
    if stopping { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::NO_CONTENT }
}

async fn license() -> Json<License> {
    Json(License { valid_license: false, license_type: "unknown", is_commercial: false, expires_at: None })
}

// ---------------------------------------------------------------------------------------------
// Deployments

/// Deploys the files of a `multipart/form-data` request: every part with a file name is a
/// resource named after it (Camunda's clients call the parts `resources`), a `tenantId` part
/// names the tenant.
async fn deploy(
    State(api): State<Api>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<DeploymentResult>, ApiError> {
    let mut multipart = multipart.map_err(|rejection| {
        ApiError::bad_request(format!(
            "Expected a multipart/form-data request with the resources to deploy, but {}",
            rejection.body_text()
        ))
    })?;
    let malformed = |error: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("Expected a well-formed multipart/form-data request, but {}", error.body_text()))
    };
    let mut resources = Vec::new();
    let mut tenant_id = None;
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or("").to_string();
        match field.file_name().map(str::to_string) {
            Some(file_name) => {
                let content = field.bytes().await.map_err(malformed)?;
                resources.push(Resource { name: file_name, content: content.to_vec() });
            }
            None if name == "tenantId" => tenant_id = Some(field.text().await.map_err(malformed)?),
            None if name == "resources" => {
                return Err(ApiError::bad_request(
                    "Expected each 'resources' part to have a file name, but one has none",
                ));
            }
            // Other form fields mean nothing here, as in Camunda.
            None => {}
        }
    }
    check_tenant(tenant_id.as_deref())?;
    if resources.is_empty() {
        return Err(ApiError::bad_request("No resources provided."));
    }
    let record = accepted(api.broker.deploy(resources).await)?;
    let RecordValue::Deployment(deployment) = &record.value else {
        return Err(unexpected_answer(&record, "deployment"));
    };
    // Processes, decisions, decision requirements, forms: the order Camunda lists them in.
    let deployments = deployment
        .processes
        .iter()
        .map(Deployment::from)
        .chain(deployment.decisions.iter().map(Deployment::from))
        .chain(deployment.decision_requirements.iter().map(Deployment::from))
        .chain(deployment.forms.iter().map(Deployment::from))
        .collect();
    Ok(Json(DeploymentResult { deployment_key: key(record.key), tenant_id: DEFAULT_TENANT.to_string(), deployments }))
}

async fn delete_resource(State(api): State<Api>, Path(resource): Path<String>) -> Result<StatusCode, ApiError> {
    let resource = path_key(&resource)?;
    let value = ResourceDeletionRecord { resource_key: resource };
    accepted(api.broker.delete_resource(Command::new(Intent::Delete, -1, RecordValue::ResourceDeletion(value))).await)?;
    Ok(StatusCode::OK)
}

// ---------------------------------------------------------------------------------------------
// Process instances

async fn create_process_instance(
    State(api): State<Api>,
    JsonBody(request): JsonBody<CreateProcessInstance>,
) -> Result<Json<CreateProcessInstanceResult>, ApiError> {
    check_tenant(request.tenant_id.as_deref())?;
    let process_id = request.process_definition_id.unwrap_or_default();
    let definition_key = request.process_definition_key.map(|k| k.0);
    match (process_id.trim().is_empty(), definition_key) {
        (true, None) => {
            return Err(ApiError::bad_request(
                "At least one of [processDefinitionId, processDefinitionKey] is required.",
            ));
        }
        (false, Some(_)) => {
            return Err(ApiError::bad_request("Only one of [processDefinitionId, processDefinitionKey] is allowed."));
        }
        _ => {}
    }
    if !request.runtime_instructions.is_empty() {
        return Err(ApiError::bad_request(
            "Expected no 'runtimeInstructions', but Baton does not support them when creating an instance",
        ));
    }
    let creation = ProcessInstanceCreationRecord {
        bpmn_process_id: Arc::from(process_id.as_str()),
        // Versions start at 1: anything else means "latest", as in the gRPC gateway.
        version: request.process_definition_version.filter(|v| *v > 0).unwrap_or(-1),
        process_definition_key: definition_key.unwrap_or(-1),
        variables: request.variables.unwrap_or_default(),
        process_instance_key: -1,
        fetch_variables: request.fetch_variables,
        awaiting_request_id: None,
        start_instructions: request.start_instructions.into_iter().map(|s| s.element_id).collect(),
    };
    let timeout = request.request_timeout.filter(|ms| *ms > 0).map(|ms| Duration::from_millis(ms.unsigned_abs()));
    let record = api.create_instance(creation, request.await_completion, timeout).await?;
    if !request.await_completion {
        let RecordValue::ProcessInstanceCreation(created) = &record.value else {
            return Err(unexpected_answer(&record, "process instance creation"));
        };
        return Ok(Json(CreateProcessInstanceResult {
            process_definition_id: created.bpmn_process_id.to_string(),
            process_definition_key: key(created.process_definition_key),
            process_definition_version: created.version,
            tenant_id: DEFAULT_TENANT.to_string(),
            variables: Document::new(),
            process_instance_key: key(created.process_instance_key),
        }));
    }
    let RecordValue::ProcessInstanceResult(result) = record.value else {
        return Err(unexpected_answer(&record, "process instance result"));
    };
    Ok(Json(CreateProcessInstanceResult {
        process_definition_id: result.bpmn_process_id.to_string(),
        process_definition_key: key(result.process_definition_key),
        process_definition_version: result.version,
        tenant_id: DEFAULT_TENANT.to_string(),
        variables: result.variables,
        process_instance_key: key(result.process_instance_key),
    }))
}

/// The body is optional (`{"operationReference": …}` at most), so it is not read.
async fn cancel_process_instance(State(api): State<Api>, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    api.on_key(key, Command::cancel_instance(key)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn migrate_process_instance(
    State(api): State<Api>,
    Path(instance): Path<String>,
    JsonBody(request): JsonBody<Migration>,
) -> Result<StatusCode, ApiError> {
    let instance = path_key(&instance)?;
    if request.mapping_instructions.is_empty() {
        return Err(ApiError::bad_request("No mappingInstructions provided."));
    }
    let value = ProcessInstanceMigrationRecord {
        process_instance_key: instance,
        target_process_definition_key: request.target_process_definition_key.0,
        mapping_instructions: request
            .mapping_instructions
            .into_iter()
            .map(|m| (m.source_element_id, m.target_element_id))
            .collect(),
    };
    api.on_key(instance, Command::new(Intent::Migrate, instance, RecordValue::ProcessInstanceMigration(value))).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn modify_process_instance(
    State(api): State<Api>,
    Path(instance): Path<String>,
    JsonBody(request): JsonBody<Modification>,
) -> Result<StatusCode, ApiError> {
    let instance = path_key(&instance)?;
    let activate_instructions = request
        .activate_instructions
        .into_iter()
        .map(|instruction| EngineActivateInstruction {
            element_id: instruction.element_id,
            ancestor_element_instance_key: instruction.ancestor_element_instance_key.map_or(-1, |k| k.0).max(-1),
            variable_instructions: instruction
                .variable_instructions
                .into_iter()
                .map(|v| EngineVariableInstruction { variables: v.variables, scope_id: v.scope_id })
                .collect(),
        })
        .collect();
    let value = ProcessInstanceModificationRecord {
        process_instance_key: instance,
        activate_instructions,
        terminate_instructions: request.terminate_instructions.into_iter().map(|t| t.element_instance_key.0).collect(),
        created_scope_keys: Vec::new(),
    };
    api.on_key(instance, Command::new(Intent::Modify, instance, RecordValue::ProcessInstanceModification(value)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_variables(
    State(api): State<Api>,
    Path(key): Path<String>,
    JsonBody(request): JsonBody<SetVariables>,
) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    let Some(variables) = request.variables else {
        return Err(ApiError::bad_request("No variables provided."));
    };
    api.on_key(key, Command::set_variables(key, variables, request.local)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn resolve_incident(State(api): State<Api>, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    api.on_key(key, Command::resolve_incident(key)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Jobs

/// Long-polls like Camunda: answers as soon as jobs are activated, or with none when
/// `requestTimeout` passes (0 or absent: the server's default; negative: answer at once).
async fn activate_jobs(
    State(api): State<Api>,
    JsonBody(request): JsonBody<JobActivation>,
) -> Result<Json<JobActivationResult>, ApiError> {
    if request.job_type.trim().is_empty() {
        return Err(ApiError::bad_request("No type provided."));
    }
    if request.timeout < 1 {
        return Err(ApiError::bad_request(format!(
            "The value for timeout is '{}' but must be greater than 0.",
            request.timeout
        )));
    }
    if request.max_jobs_to_activate < 1 {
        return Err(ApiError::bad_request(format!(
            "The value for maxJobsToActivate is '{}' but must be greater than 0.",
            request.max_jobs_to_activate
        )));
    }
    for tenant in &request.tenant_ids {
        check_tenant(Some(tenant))?;
    }
    let activation = ActivateJobs {
        job_type: request.job_type,
        worker: request.worker.filter(|w| !w.trim().is_empty()).unwrap_or_else(|| "default".to_string()),
        timeout_ms: request.timeout,
        max_jobs_to_activate: request.max_jobs_to_activate,
        fetch_variables: request.fetch_variable,
        request_timeout: None,
    };
    let jobs = api.long_poll(activation, request.request_timeout).await?;
    Ok(Json(JobActivationResult { jobs: jobs.iter().map(|(key, job)| ActivatedJob::new(*key, job)).collect() }))
}

async fn complete_job(
    State(api): State<Api>,
    Path(key): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<JobCompletion>,
) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    let ad_hoc_result = match request.result {
        None => None,
        Some(result) if result.denied.is_some() || result.corrections.is_some() => {
            // Those steer user task listeners, which Baton's job-based user tasks do not have.
            return Err(ApiError::bad_request(
                "Expected a job result without 'denied' or 'corrections', but Baton has no user task listeners \
                 they could apply to",
            ));
        }
        Some(result) => {
            let ad_hoc = AdHocJobResult {
                activate_elements: result
                    .activate_elements
                    .into_iter()
                    .map(|element| (element.element_id, element.variables.unwrap_or_default()))
                    .collect(),
                completion_condition_fulfilled: result.is_completion_condition_fulfilled.unwrap_or(false),
                cancel_remaining_instances: result.is_cancel_remaining_instances.unwrap_or(false),
            };
            // An empty result (of type userTask, say) is a plain completion.
            (ad_hoc != AdHocJobResult::default()).then(|| Box::new(ad_hoc))
        }
    };
    let job = JobRecord { variables: request.variables.unwrap_or_default(), ad_hoc_result, ..JobRecord::default() };
    api.on_key(key, job_command(Intent::Complete, key, job)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn fail_job(
    State(api): State<Api>,
    Path(key): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<JobFailure>,
) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    let job = JobRecord {
        retries: request.retries.unwrap_or(0),
        error_message: request.error_message.unwrap_or_default(),
        retry_backoff_ms: request.retry_back_off.unwrap_or(0),
        variables: request.variables.unwrap_or_default(),
        ..JobRecord::default()
    };
    api.on_key(key, job_command(Intent::Fail, key, job)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn throw_error(
    State(api): State<Api>,
    Path(key): Path<String>,
    JsonBody(request): JsonBody<JobError>,
) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    let error_code = required(request.error_code.as_deref(), "errorCode")?.to_string();
    let job = JobRecord {
        error_code,
        error_message: request.error_message.unwrap_or_default(),
        variables: request.variables.unwrap_or_default(),
        ..JobRecord::default()
    };
    api.on_key(key, job_command(Intent::ThrowError, key, job)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a job's retries and/or timeout. Both are checked before either is applied, so a
/// bad value changes nothing.
async fn update_job(
    State(api): State<Api>,
    Path(key): Path<String>,
    JsonBody(request): JsonBody<JobUpdate>,
) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    let changeset = request.changeset.unwrap_or_default();
    let retries = changeset.retries.or(request.retries);
    let timeout = changeset.timeout.or(request.timeout);
    if retries.is_none() && timeout.is_none() {
        return Err(ApiError::bad_request("At least one of [retries, timeout] is required."));
    }
    if let Some(retries) = retries.filter(|r| *r < 1) {
        return Err(ApiError::bad_request(format!("The value for retries is '{retries}' but must be greater than 0.")));
    }
    if let Some(timeout) = timeout.filter(|t| *t < 1) {
        return Err(ApiError::bad_request(format!("The value for timeout is '{timeout}' but must be greater than 0.")));
    }
    api.update_job(key, retries, timeout).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Messages, signals, decisions

async fn publish_message(
    State(api): State<Api>,
    JsonBody(request): JsonBody<MessagePublication>,
) -> Result<Json<MessagePublicationResult>, ApiError> {
    check_tenant(request.tenant_id.as_deref())?;
    let name = required(request.name.as_deref(), "name")?.to_string();
    let time_to_live_ms = request.time_to_live.unwrap_or(0);
    if time_to_live_ms < 0 {
        return Err(ApiError::bad_request(format!(
            "The value for timeToLive is '{time_to_live_ms}' but must be at least 0."
        )));
    }
    let correlation_key = request.correlation_key.unwrap_or_default();
    let message_id = request.message_id.unwrap_or_default();
    let record = api.publish(name, correlation_key, time_to_live_ms, message_id, request.variables).await?;
    Ok(Json(MessagePublicationResult { message_key: key(record.key), tenant_id: DEFAULT_TENANT.to_string() }))
}

/// Correlates a message now, never buffering it: answers with the first process instance it
/// reached (a waiting subscription, or an instance its message start event started), or 404.
async fn correlate_message(
    State(api): State<Api>,
    JsonBody(request): JsonBody<MessagePublication>,
) -> Result<Json<MessageCorrelationResult>, ApiError> {
    check_tenant(request.tenant_id.as_deref())?;
    let name = required(request.name.as_deref(), "name")?.to_string();
    let value = MessageCorrelationRecord {
        name,
        correlation_key: request.correlation_key.unwrap_or_default(),
        variables: request.variables.unwrap_or_default(),
        message_key: -1,
        process_instance_key: -1,
    };
    let command = Command::new(Intent::Correlate, -1, RecordValue::MessageCorrelation(Box::new(value)));
    let record = accepted(api.broker.publish_message(command).await)?;
    let RecordValue::MessageCorrelation(correlated) = &record.value else {
        return Err(unexpected_answer(&record, "message correlation"));
    };
    Ok(Json(MessageCorrelationResult {
        message_key: key(correlated.message_key),
        tenant_id: DEFAULT_TENANT.to_string(),
        process_instance_key: key(correlated.process_instance_key),
    }))
}

async fn broadcast_signal(
    State(api): State<Api>,
    JsonBody(request): JsonBody<SignalBroadcast>,
) -> Result<Json<SignalBroadcastResult>, ApiError> {
    check_tenant(request.tenant_id.as_deref())?;
    let signal_name = required(request.signal_name.as_deref(), "signalName")?.to_string();
    let value = SignalRecord { signal_name, variables: request.variables.unwrap_or_default() };
    let record =
        accepted(api.broker.broadcast_signal(Command::new(Intent::Broadcast, -1, RecordValue::Signal(value))).await)?;
    Ok(Json(SignalBroadcastResult { signal_key: key(record.key), tenant_id: DEFAULT_TENANT.to_string() }))
}

async fn evaluate_decision(
    State(api): State<Api>,
    JsonBody(request): JsonBody<DecisionEvaluation>,
) -> Result<Json<DecisionEvaluationResult>, ApiError> {
    check_tenant(request.tenant_id.as_deref())?;
    let decision_id = request.decision_definition_id.unwrap_or_default();
    let decision_key = request.decision_definition_key.map_or(-1, |k| k.0);
    match (decision_id.trim().is_empty(), decision_key > 0) {
        (true, false) => {
            return Err(ApiError::bad_request(
                "At least one of [decisionDefinitionId, decisionDefinitionKey] is required.",
            ));
        }
        (false, true) => {
            return Err(ApiError::bad_request("Only one of [decisionDefinitionId, decisionDefinitionKey] is allowed."));
        }
        _ => {}
    }
    let value = DecisionEvaluationRecord::request(&decision_id, decision_key, request.variables.unwrap_or_default());
    let command = Command::new(Intent::Evaluate, -1, RecordValue::DecisionEvaluation(Box::new(value)));
    let record = accepted(api.broker.execute(DEPLOYMENT_PARTITION, command).await)?;
    let RecordValue::DecisionEvaluation(result) = &record.value else {
        return Err(unexpected_answer(&record, "decision evaluation"));
    };
    Ok(Json(DecisionEvaluationResult::new(record.key, result)))
}
