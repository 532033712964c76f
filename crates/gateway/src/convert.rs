//! Every translation between the wire types (`proto`) and the engine's records lives here, so
//! the rest of the gateway never builds an engine record by hand and the engine's types never
//! leak onto the wire.

use std::sync::Arc;
use std::time::Duration;

use baton_engine::{
    AdHocJobResult, Command, DecisionEvaluationRecord, Document, IncidentRecord, Intent, JobKind, JobRecord,
    ListenerEventType, MessageRecord, ProcessInstanceCreationRecord, ProcessMetadata, Record, RecordType, RecordValue,
    RejectionType, Resource, SignalRecord,
};
use baton_runtime::Error as RuntimeError;
use tonic::{Code, Status};

use crate::admin;
use crate::proto;

/// Zeebe's name for the tenant of a single-tenant installation; clients compare against it.
pub const DEFAULT_TENANT: &str = "<default>";

// ---------------------------------------------------------------------------------------------
// Errors

/// The status for a rejected command, worded exactly as Zeebe's gateway words it because users
/// search for these texts and some clients match on them.
pub fn rejection_status(record: &Record) -> Option<Status> {
    if record.record_type != RecordType::CommandRejection {
        return None;
    }
    let (rejection_type, reason) = match &record.rejection {
        Some(rejection) => (Some(rejection.rejection_type), rejection.reason.as_str()),
        None => (None, "no reason given"),
    };
    let code = match rejection_type {
        Some(RejectionType::InvalidArgument) => Code::InvalidArgument,
        Some(RejectionType::NotFound) => Code::NotFound,
        Some(RejectionType::AlreadyExists) => Code::AlreadyExists,
        Some(RejectionType::InvalidState) => Code::FailedPrecondition,
        Some(RejectionType::ProcessingError) => Code::Internal,
        None => Code::Unknown,
    };
    let type_name = rejection_type.map_or("UNKNOWN", RejectionType::as_str);
    Some(Status::new(
        code,
        format!("Command '{}' rejected with code '{}': {}", record.intent.as_str(), type_name, reason),
    ))
}

/// The status for a runtime failure (the command may not have been processed at all).
pub fn runtime_status(error: RuntimeError) -> Status {
    match error {
        RuntimeError::Backpressure(_) => Status::resource_exhausted(format!(
            "Expected to handle the request, but the broker rejected it due to back-pressure: {error}"
        )),
        RuntimeError::Unavailable(_) => Status::unavailable(error.to_string()),
        RuntimeError::Timeout(_) => Status::deadline_exceeded(format!("Time out between gateway and broker: {error}")),
        RuntimeError::Storage(_) => Status::internal(error.to_string()),
    }
}

/// Turns the broker's answer into the event, or the status a rejection maps to.
pub fn accepted(result: Result<Record, RuntimeError>) -> Result<Record, Status> {
    let record = result.map_err(runtime_status)?;
    match rejection_status(&record) {
        Some(status) => Err(status),
        None => Ok(record),
    }
}

fn unexpected_answer(record: &Record, wanted: &str) -> Status {
    Status::internal(format!(
        "Expected the broker to answer with a {wanted} record, but it answered with {} {}",
        record.value_type().as_str(),
        record.intent.as_str()
    ))
}

// ---------------------------------------------------------------------------------------------
// Variables

/// Parses a JSON variables document. Clients send `""` when they have no variables, so empty
/// text means `{}`; anything that is not a JSON object is the caller's mistake.
pub fn parse_variables(field: &str, text: &str) -> Result<Document, Status> {
    if text.trim().is_empty() {
        return Ok(Document::new());
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => Err(Status::invalid_argument(format!(
            "Expected the '{field}' to be a JSON object, but it was {}",
            json_kind(&other)
        ))),
        Err(error) => Err(Status::invalid_argument(format!(
            "Expected the '{field}' to be a JSON object, but it is not valid JSON: {error}"
        ))),
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Serialises a document; a `Map<String, Value>` always serialises, so the fallback never shows.
pub fn to_json(document: &Document) -> String {
    serde_json::to_string(document).unwrap_or_else(|_| "{}".to_string())
}

// ---------------------------------------------------------------------------------------------
// Deployment

pub fn deploy_resources(resources: Vec<proto::Resource>) -> Vec<Resource> {
    resources.into_iter().map(|r| Resource { name: r.name, content: r.content }).collect()
}

pub fn deploy_processes(processes: Vec<proto::ProcessRequestObject>) -> Vec<Resource> {
    processes.into_iter().map(|p| Resource { name: p.name, content: p.definition }).collect()
}

/// The deployment key and the metadata of every process it holds.
pub fn deployment(record: &Record) -> Result<(i64, Vec<proto::ProcessMetadata>), Status> {
    let RecordValue::Deployment(deployment) = &record.value else {
        return Err(unexpected_answer(record, "deployment"));
    };
    let processes = deployment.processes.iter().map(process_metadata).collect();
    Ok((record.key, processes))
}

fn process_metadata(process: &ProcessMetadata) -> proto::ProcessMetadata {
    proto::ProcessMetadata {
        bpmn_process_id: process.bpmn_process_id.to_string(),
        version: process.version,
        process_definition_key: process.process_definition_key,
        resource_name: process.resource_name.clone(),
        tenant_id: DEFAULT_TENANT.to_string(),
    }
}

/// Processes, then decisions, then decision requirements, then forms: the order Zeebe's gateway
/// lists them.
pub fn deploy_resource_response(record: &Record) -> Result<proto::DeployResourceResponse, Status> {
    use proto::deployment::Metadata;
    let (key, processes) = deployment(record)?;
    let RecordValue::Deployment(value) = &record.value else {
        return Err(unexpected_answer(record, "deployment"));
    };
    let decisions = value.decisions.iter().map(|d| {
        Metadata::Decision(proto::DecisionMetadata {
            dmn_decision_id: d.decision_id.clone(),
            dmn_decision_name: d.decision_name.clone(),
            version: d.version,
            decision_key: d.decision_key,
            dmn_decision_requirements_id: d.decision_requirements_id.clone(),
            decision_requirements_key: d.decision_requirements_key,
            tenant_id: DEFAULT_TENANT.to_string(),
        })
    });
    let requirements = value.decision_requirements.iter().map(|d| {
        Metadata::DecisionRequirements(proto::DecisionRequirementsMetadata {
            dmn_decision_requirements_id: d.decision_requirements_id.clone(),
            dmn_decision_requirements_name: d.decision_requirements_name.clone(),
            version: d.version,
            decision_requirements_key: d.decision_requirements_key,
            resource_name: d.resource_name.clone(),
            tenant_id: DEFAULT_TENANT.to_string(),
        })
    });
    let forms = value.forms.iter().map(|f| {
        Metadata::Form(proto::FormMetadata {
            form_id: f.form_id.clone(),
            version: f.version,
            form_key: f.form_key,
            resource_name: f.resource_name.clone(),
            tenant_id: DEFAULT_TENANT.to_string(),
        })
    });
    let deployments = processes
        .into_iter()
        .map(Metadata::Process)
        .chain(decisions)
        .chain(requirements)
        .chain(forms)
        .map(|metadata| proto::Deployment { metadata: Some(metadata) })
        .collect();
    Ok(proto::DeployResourceResponse { key, deployments, tenant_id: DEFAULT_TENANT.to_string() })
}

// ---------------------------------------------------------------------------------------------
// Decisions

pub fn evaluate_decision_command(request: &proto::EvaluateDecisionRequest) -> Result<Command, Status> {
    check_tenant(&request.tenant_id)?;
    if request.decision_key <= 0 && request.decision_id.trim().is_empty() {
        return Err(Status::invalid_argument(
            "Expected either a decision id or a valid decision key, but none provided",
        ));
    }
    let variables = parse_variables("variables", &request.variables)?;
    let value = DecisionEvaluationRecord::request(&request.decision_id, request.decision_key, variables);
    Ok(Command::new(Intent::Evaluate, -1, RecordValue::DecisionEvaluation(Box::new(value))))
}

/// An evaluation that failed is still an answer (with the failed decision and the message), as
/// in Zeebe; only an unknown decision is an error status.
pub fn evaluate_decision_response(record: &Record) -> Result<proto::EvaluateDecisionResponse, Status> {
    let RecordValue::DecisionEvaluation(value) = &record.value else {
        return Err(unexpected_answer(record, "decision evaluation"));
    };
    let evaluated_decisions = value
        .evaluated_decisions
        .iter()
        .map(|d| proto::EvaluatedDecision {
            decision_key: d.decision_key,
            decision_id: d.decision_id.clone(),
            decision_name: d.decision_name.clone(),
            decision_version: d.decision_version,
            decision_type: d.decision_type.clone(),
            decision_output: d.decision_output.clone(),
            matched_rules: d
                .matched_rules
                .iter()
                .map(|rule| proto::MatchedDecisionRule {
                    rule_id: rule.rule_id.clone(),
                    rule_index: rule.rule_index,
                    evaluated_outputs: rule
                        .evaluated_outputs
                        .iter()
                        .map(|o| proto::EvaluatedDecisionOutput {
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
                .map(|i| proto::EvaluatedDecisionInput {
                    input_id: i.id.clone(),
                    input_name: i.name.clone(),
                    input_value: i.value.clone(),
                })
                .collect(),
            tenant_id: DEFAULT_TENANT.to_string(),
            decision_evaluation_instance_key: String::new(),
        })
        .collect();
    #[allow(deprecated)]
    Ok(proto::EvaluateDecisionResponse {
        decision_key: value.decision_key,
        decision_id: value.decision_id.clone(),
        decision_name: value.decision_name.clone(),
        decision_version: value.decision_version,
        decision_requirements_id: value.decision_requirements_id.clone(),
        decision_requirements_key: value.decision_requirements_key,
        decision_output: value.decision_output.clone(),
        evaluated_decisions,
        failed_decision_id: value.failed_decision_id.clone(),
        failure_message: value.evaluation_failure_message.clone(),
        tenant_id: DEFAULT_TENANT.to_string(),
        decision_instance_key: record.key,
        decision_evaluation_key: record.key,
    })
}

// ---------------------------------------------------------------------------------------------
// Process instances

/// Validates a creation request (tenant, variables, unsupported instructions) and builds the
/// record the engine creates the instance from.
pub fn creation(
    request: &proto::CreateProcessInstanceRequest,
    fetch_variables: Vec<String>,
) -> Result<ProcessInstanceCreationRecord, Status> {
    check_tenant(&request.tenant_id)?;
    if !request.runtime_instructions.is_empty() {
        return Err(Status::unimplemented(
            "Runtime instructions of CreateProcessInstance are not supported yet by Baton",
        ));
    }
    let variables = parse_variables("variables", &request.variables)?;
    Ok(ProcessInstanceCreationRecord {
        bpmn_process_id: Arc::from(request.bpmn_process_id.as_str()),
        // Versions start at 1, so 0 (the proto default of an unset field) can only mean "not
        // given": read it as latest, like -1, instead of a guaranteed NOT_FOUND.
        version: if request.version <= 0 { -1 } else { request.version },
        process_definition_key: request.process_definition_key,
        variables,
        process_instance_key: -1,
        fetch_variables,
        awaiting_request_id: None,
        start_instructions: request.start_instructions.iter().map(|s| s.element_id.clone()).collect(),
    })
}

pub fn create_response(record: &Record) -> Result<proto::CreateProcessInstanceResponse, Status> {
    let RecordValue::ProcessInstanceCreation(created) = &record.value else {
        return Err(unexpected_answer(record, "process instance creation"));
    };
    Ok(proto::CreateProcessInstanceResponse {
        process_definition_key: created.process_definition_key,
        bpmn_process_id: created.bpmn_process_id.to_string(),
        version: created.version,
        process_instance_key: created.process_instance_key,
        tenant_id: DEFAULT_TENANT.to_string(),
        tags: Vec::new(),
    })
}

pub fn create_with_result_response(record: &Record) -> Result<proto::CreateProcessInstanceWithResultResponse, Status> {
    let RecordValue::ProcessInstanceResult(result) = &record.value else {
        return Err(unexpected_answer(record, "process instance result"));
    };
    Ok(proto::CreateProcessInstanceWithResultResponse {
        process_definition_key: result.process_definition_key,
        bpmn_process_id: result.bpmn_process_id.to_string(),
        version: result.version,
        process_instance_key: result.process_instance_key,
        variables: to_json(&result.variables),
        tenant_id: DEFAULT_TENANT.to_string(),
        tags: Vec::new(),
    })
}

pub fn set_variables_command(request: &proto::SetVariablesRequest) -> Result<Command, Status> {
    let variables = parse_variables("variables", &request.variables)?;
    Ok(Command::set_variables(request.element_instance_key, variables, request.local))
}

pub fn publish_message_command(request: &proto::PublishMessageRequest) -> Result<Command, Status> {
    if request.name.trim().is_empty() {
        return Err(Status::invalid_argument("Expected the message 'name' to be non-empty, but it was empty"));
    }
    if request.time_to_live < 0 {
        return Err(Status::invalid_argument(format!(
            "Expected the 'timeToLive' to be non-negative, but it was {}",
            request.time_to_live
        )));
    }
    let variables = parse_variables("variables", &request.variables)?;
    let value = MessageRecord {
        name: request.name.clone(),
        correlation_key: request.correlation_key.clone(),
        time_to_live_ms: request.time_to_live,
        message_id: request.message_id.clone(),
        variables,
        deadline_ms: -1,
    };
    Ok(Command::new(Intent::Publish, -1, RecordValue::Message(Box::new(value))))
}

pub fn modify_command(request: &proto::ModifyProcessInstanceRequest) -> Result<Command, Status> {
    let mut activate_instructions = Vec::with_capacity(request.activate_instructions.len());
    for (i, instruction) in request.activate_instructions.iter().enumerate() {
        if instruction.element_id.trim().is_empty() {
            return Err(Status::invalid_argument(format!(
                "Expected 'activateInstructions[{i}].elementId' to name an element, but it was empty"
            )));
        }
        let mut variable_instructions = Vec::with_capacity(instruction.variable_instructions.len());
        for (j, variables) in instruction.variable_instructions.iter().enumerate() {
            let field = format!("activateInstructions[{i}].variableInstructions[{j}].variables");
            variable_instructions.push(baton_engine::VariableInstruction {
                variables: parse_variables(&field, &variables.variables)?,
                scope_id: variables.scope_id.clone(),
            });
        }
        activate_instructions.push(baton_engine::ActivateInstruction {
            element_id: instruction.element_id.clone(),
            ancestor_element_instance_key: instruction.ancestor_element_instance_key,
            variable_instructions,
        });
    }
    let value = baton_engine::ProcessInstanceModificationRecord {
        process_instance_key: request.process_instance_key,
        activate_instructions,
        terminate_instructions: request.terminate_instructions.iter().map(|t| t.element_instance_key).collect(),
        created_scope_keys: Vec::new(),
    };
    Ok(Command::new(Intent::Modify, request.process_instance_key, RecordValue::ProcessInstanceModification(value)))
}

pub fn broadcast_signal_command(request: &proto::BroadcastSignalRequest) -> Result<Command, Status> {
    if request.signal_name.trim().is_empty() {
        return Err(Status::invalid_argument("Expected the 'signalName' to be non-empty, but it was empty"));
    }
    let variables = parse_variables("variables", &request.variables)?;
    let value = SignalRecord { signal_name: request.signal_name.clone(), variables };
    Ok(Command::new(Intent::Broadcast, -1, RecordValue::Signal(value)))
}

pub fn publish_message_response(record: &Record) -> Result<proto::PublishMessageResponse, Status> {
    let RecordValue::Message(_) = &record.value else {
        return Err(unexpected_answer(record, "message"));
    };
    Ok(proto::PublishMessageResponse { key: record.key, tenant_id: DEFAULT_TENANT.to_string() })
}

// ---------------------------------------------------------------------------------------------
// Jobs

pub fn job_command(intent: Intent, job_key: i64, job: JobRecord) -> Command {
    Command::new(intent, job_key, RecordValue::Job(Box::new(job)))
}

pub fn complete_job_command(request: &proto::CompleteJobRequest) -> Result<Command, Status> {
    let ad_hoc_result = match &request.result {
        None => None,
        Some(result) if result.denied.is_some() || result.corrections.is_some() => {
            // Those steer user task listeners, which Baton's job-based user tasks do not have.
            return Err(Status::unimplemented(
                "Job results that deny or correct a user task are not supported by Baton",
            ));
        }
        Some(result) => {
            let mut activate_elements = Vec::with_capacity(result.activate_elements.len());
            for (index, element) in result.activate_elements.iter().enumerate() {
                let field = format!("result.activateElements[{index}].variables");
                activate_elements.push((element.element_id.clone(), parse_variables(&field, &element.variables)?));
            }
            let ad_hoc = AdHocJobResult {
                activate_elements,
                completion_condition_fulfilled: result.is_completion_condition_fulfilled.unwrap_or(false),
                cancel_remaining_instances: result.is_cancel_remaining_instances.unwrap_or(false),
            };
            // An empty result (some clients always send one) is a plain completion.
            (ad_hoc != AdHocJobResult::default()).then(|| Box::new(ad_hoc))
        }
    };
    let job = JobRecord {
        variables: parse_variables("variables", &request.variables)?,
        ad_hoc_result,
        ..JobRecord::default()
    };
    Ok(job_command(Intent::Complete, request.job_key, job))
}

pub fn fail_job_command(request: &proto::FailJobRequest) -> Result<Command, Status> {
    let job = JobRecord {
        retries: request.retries,
        error_message: request.error_message.clone(),
        retry_backoff_ms: request.retry_back_off,
        variables: parse_variables("variables", &request.variables)?,
        ..JobRecord::default()
    };
    Ok(job_command(Intent::Fail, request.job_key, job))
}

pub fn throw_error_command(request: &proto::ThrowErrorRequest) -> Result<Command, Status> {
    let job = JobRecord {
        error_code: request.error_code.clone(),
        error_message: request.error_message.clone(),
        variables: parse_variables("variables", &request.variables)?,
        ..JobRecord::default()
    };
    Ok(job_command(Intent::ThrowError, request.job_key, job))
}

pub fn update_retries_command(request: &proto::UpdateJobRetriesRequest) -> Command {
    let job = JobRecord { retries: request.retries, ..JobRecord::default() };
    job_command(Intent::UpdateRetries, request.job_key, job)
}

pub fn update_timeout_command(request: &proto::UpdateJobTimeoutRequest) -> Command {
    let job = JobRecord { timeout_ms: request.timeout, ..JobRecord::default() };
    job_command(Intent::UpdateTimeout, request.job_key, job)
}

/// Checks an activation request the way Zeebe's gateway does, before it reaches a partition.
pub fn activation(
    job_type: &str,
    worker: &str,
    timeout_ms: i64,
    max_jobs_to_activate: i32,
    tenant_ids: &[String],
) -> Result<(), Status> {
    if job_type.trim().is_empty() {
        return Err(Status::invalid_argument("Expected to activate jobs with a non-empty 'type', but it was blank"));
    }
    if worker.trim().is_empty() {
        return Err(Status::invalid_argument("Expected to activate jobs with a non-empty 'worker', but it was blank"));
    }
    if timeout_ms < 1 {
        return Err(Status::invalid_argument(format!(
            "Expected to activate jobs with a 'timeout' of at least 1 ms, but it was {timeout_ms}"
        )));
    }
    if max_jobs_to_activate < 1 {
        return Err(Status::invalid_argument(format!(
            "Expected to activate jobs with 'maxJobsToActivate' of at least 1, but it was {max_jobs_to_activate}"
        )));
    }
    for tenant in tenant_ids {
        check_tenant(tenant)?;
    }
    Ok(())
}

/// Baton is single-tenant: only the default tenant (or none) is accepted.
pub fn check_tenant(tenant_id: &str) -> Result<(), Status> {
    if tenant_id.is_empty() || tenant_id == DEFAULT_TENANT {
        Ok(())
    } else {
        Err(Status::invalid_argument(format!(
            "Expected to handle request with tenant identifier '{tenant_id}', but multi-tenancy is disabled"
        )))
    }
}

pub fn activated_job(key: i64, job: &JobRecord) -> proto::ActivatedJob {
    proto::ActivatedJob {
        key,
        r#type: job.job_type.to_string(),
        process_instance_key: job.process_instance_key,
        bpmn_process_id: job.bpmn_process_id.to_string(),
        process_definition_version: job.process_definition_version,
        process_definition_key: job.process_definition_key,
        element_id: job.element_id.to_string(),
        element_instance_key: job.element_instance_key,
        custom_headers: to_json(&job.custom_headers),
        worker: job.worker.clone(),
        retries: job.retries,
        deadline: job.deadline_ms,
        variables: to_json(&job.variables),
        tenant_id: DEFAULT_TENANT.to_string(),
        user_task: None,
        kind: match job.kind {
            JobKind::BpmnElement => proto::activated_job::JobKind::BpmnElement,
            JobKind::ExecutionListener => proto::activated_job::JobKind::ExecutionListener,
            JobKind::AdHocSubProcess => proto::activated_job::JobKind::AdHocSubProcess,
        } as i32,
        // Zeebe marks jobs that do not belong to a listener as UNSPECIFIED (not the 0 value).
        listener_event_type: match job.listener_event_type {
            ListenerEventType::Start => proto::activated_job::ListenerEventType::Start,
            ListenerEventType::End => proto::activated_job::ListenerEventType::End,
            ListenerEventType::Unspecified => proto::activated_job::ListenerEventType::Unspecified,
        } as i32,
        tags: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Admin

pub fn incident(key: i64, incident: &IncidentRecord) -> admin::Incident {
    admin::Incident {
        key,
        process_instance_key: incident.process_instance_key,
        bpmn_process_id: incident.bpmn_process_id.to_string(),
        process_definition_key: incident.process_definition_key,
        element_id: incident.element_id.to_string(),
        element_instance_key: incident.element_instance_key,
        job_key: incident.job_key,
        error_type: incident.error_type.as_str().to_string(),
        error_message: incident.error_message.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Time

/// Reads the client's deadline from the `grpc-timeout` header (e.g. `9999m`), so long polls can
/// answer before the client gives up instead of leaving activated jobs with nobody to take them.
pub fn client_timeout(metadata: &tonic::metadata::MetadataMap) -> Option<Duration> {
    let text = metadata.get("grpc-timeout")?.to_str().ok()?;
    if text.len() < 2 {
        return None;
    }
    let (digits, unit) = text.split_at(text.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_must_be_an_object() {
        assert!(parse_variables("variables", "").unwrap().is_empty());
        assert!(parse_variables("variables", "  ").unwrap().is_empty());
        assert_eq!(parse_variables("variables", r#"{"a":1}"#).unwrap().len(), 1);
        let status = parse_variables("variables", "[1]").unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "Expected the 'variables' to be a JSON object, but it was an array");
        let status = parse_variables("variables", "{").unwrap_err();
        assert!(status.message().starts_with("Expected the 'variables' to be a JSON object, but"));
    }

    #[test]
    fn rejection_message_is_formatted_like_zeebe() {
        let record = Record {
            position: 1,
            source_position: 0,
            key: 7,
            timestamp_ms: 0,
            record_type: RecordType::CommandRejection,
            intent: Intent::UpdateTimeout,
            value: RecordValue::Job(Box::default()),
            request_id: None,
            rejection: Some(Box::new(baton_engine::Rejection {
                rejection_type: RejectionType::InvalidState,
                reason: "it is failed".to_string(),
            })),
        };
        let status = rejection_status(&record).unwrap();
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(status.message(), "Command 'UPDATE_TIMEOUT' rejected with code 'INVALID_STATE': it is failed");
    }

    #[test]
    fn grpc_timeout_header() {
        let mut metadata = tonic::metadata::MetadataMap::new();
        assert_eq!(client_timeout(&metadata), None);
        metadata.insert("grpc-timeout", "1500m".parse().unwrap());
        assert_eq!(client_timeout(&metadata), Some(Duration::from_millis(1500)));
        metadata.insert("grpc-timeout", "2S".parse().unwrap());
        assert_eq!(client_timeout(&metadata), Some(Duration::from_secs(2)));
        metadata.insert("grpc-timeout", "x".parse().unwrap());
        assert_eq!(client_timeout(&metadata), None);
    }
}
