//! The commands: each handler validates its request, hands one command to the broker and maps
//! the answer (event, rejection or runtime failure) to JSON or a problem.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use baton_engine::state::partition_of_key;
use baton_engine::{Command, Intent, JobRecord, ProcessInstanceCreationRecord, Record, RecordValue, Resource};
use baton_runtime::{ActivateJobs, Error as RuntimeError};

use crate::Api;
use crate::error::{ApiError, Problem, accepted, unexpected_answer};
use crate::extract::{JsonBody, OptionalJsonBody, QueryParams, RawBody, parse, path_key};
use crate::wire::{
    ActivateJobsRequest, ActivateJobsResponse, ActivatedJob, CompleteJobRequest, CreateProcessInstanceRequest,
    CreateProcessInstanceResponse, DeploymentForm, DeploymentProcess, DeploymentRequest, DeploymentResponse,
    FailJobRequest, RawDeploymentParams, SetVariablesRequest, ThrowErrorRequest, UpdateJobRequest, key,
};

impl Api {
    /// Runs a command on the partition that owns `key`. A key naming a partition that does not
    /// exist cannot name an entity either, so it is NOT_FOUND rather than a broker error.
    pub(crate) async fn on_key(&self, key: i64, command: Command) -> Result<Record, ApiError> {
        let partition = partition_of_key(key);
        if key <= 0 || partition < 1 || partition > self.broker.partition_count() {
            return Err(ApiError::not_found(format!(
                "Command '{}' rejected with code 'NOT_FOUND': Expected to find an entity with key '{key}', \
                 but the key does not belong to any partition",
                command.intent.as_str()
            )));
        }
        accepted(self.broker.execute_on_key(key, command).await)
    }

    /// The long poll of a job activation: `request_timeout_ms` 0 or absent waits the server's
    /// default, a negative one answers at once. A shutdown ends the poll with no jobs, so it
    /// does not hold the server's drain.
    pub(crate) async fn long_poll(
        &self,
        mut activation: ActivateJobs,
        request_timeout_ms: Option<i64>,
    ) -> Result<Vec<(i64, JobRecord)>, ApiError> {
        activation.request_timeout = match request_timeout_ms.unwrap_or(0) {
            ms if ms < 0 => None,
            0 => Some(self.settings.long_poll_default),
            ms => Some(Duration::from_millis(ms.unsigned_abs())),
        };
        tokio::select! {
            result = self.broker.activate_jobs(activation) => match result {
                Ok(jobs) => Ok(jobs),
                Err(RuntimeError::Timeout(_)) => Ok(Vec::new()),
                Err(error) => Err(error.into()),
            },
            () = self.stopped() => Ok(Vec::new()),
        }
    }

    /// Creates an instance and, with `awaited`, waits up to `timeout` (or the server's default)
    /// for it to complete: the answer is then the result record.
    pub(crate) async fn create_instance(
        &self,
        creation: ProcessInstanceCreationRecord,
        awaited: bool,
        timeout: Option<Duration>,
    ) -> Result<Record, ApiError> {
        if !awaited {
            return accepted(self.broker.create_instance(creation).await);
        }
        let timeout = timeout.unwrap_or(self.settings.result_timeout_default);
        tokio::select! {
            result = self.broker.create_instance_with_result(creation, timeout) => accepted(result),
            () = self.stopped() => Err(ApiError::unavailable("the server is shutting down")),
        }
    }

    /// Changes a job's retries and/or its timeout, checked by the engine one after the other.
    pub(crate) async fn update_job(
        &self,
        key: i64,
        retries: Option<i32>,
        timeout_ms: Option<i64>,
    ) -> Result<(), ApiError> {
        if let Some(retries) = retries {
            let job = JobRecord { retries, ..JobRecord::default() };
            self.on_key(key, job_command(Intent::UpdateRetries, key, job)).await?;
        }
        if let Some(timeout_ms) = timeout_ms {
            let job = JobRecord { timeout_ms, ..JobRecord::default() };
            self.on_key(key, job_command(Intent::UpdateTimeout, key, job)).await?;
        }
        Ok(())
    }

    /// Resolves when the server shuts down; never when no shutdown signal was given.
    pub(crate) async fn stopped(&self) {
        match self.stopping.clone() {
            Some(mut stopping) => {
                if stopping.wait_for(|stop| *stop).await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending::<()>().await,
        }
    }
}

const NO_CONTENT: StatusCode = StatusCode::NO_CONTENT;

/// Deploys BPMN resources: a JSON document, or one raw XML file (`Content-Type:
/// application/xml` or `text/xml`, name in `?name=`).
#[utoipa::path(
    post, path = "/v1/deployments", tag = "deployments",
    params(RawDeploymentParams),
    request_body(content(
        (DeploymentRequest = "application/json"),
        (String = "application/xml"),
    )),
    responses(
        (status = 200, description = "Deployed (or already deployed)", body = DeploymentResponse),
        (status = 400, description = "Invalid resource", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn deploy(
    State(api): State<Api>,
    headers: HeaderMap,
    QueryParams(params): QueryParams<RawDeploymentParams>,
    RawBody(body): RawBody,
) -> Result<Json<DeploymentResponse>, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let resources = if media_type == "application/xml" || media_type == "text/xml" || media_type.ends_with("+xml") {
        let name = params.name.unwrap_or_else(|| "resource.bpmn".to_string());
        vec![Resource { name, content: body.to_vec() }]
    } else {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("Expected a JSON request body, but it was empty"));
        }
        let request: DeploymentRequest = parse(&body)?;
        request.resources.into_iter().map(resource).collect::<Result<_, _>>()?
    };
    if resources.is_empty() {
        return Err(ApiError::bad_request("Expected to deploy at least one resource, but none was given"));
    }
    let record = accepted(api.broker.deploy(resources).await)?;
    let RecordValue::Deployment(deployment) = &record.value else {
        return Err(unexpected_answer(&record, "deployment"));
    };
    Ok(Json(DeploymentResponse {
        deployment_key: key(record.key),
        processes: deployment.processes.iter().map(DeploymentProcess::from).collect(),
        forms: deployment.forms.iter().map(DeploymentForm::from).collect(),
    }))
}

fn resource(input: crate::wire::ResourceInput) -> Result<Resource, ApiError> {
    let content = match (input.content, input.content_base64) {
        (Some(text), None) => text.into_bytes(),
        (None, Some(encoded)) => base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|error| {
            ApiError::bad_request(format!("Expected 'contentBase64' of '{}' to be base64, but {error}", input.name))
        })?,
        _ => {
            return Err(ApiError::bad_request(format!(
                "Expected exactly one of 'content' and 'contentBase64' for resource '{}'",
                input.name
            )));
        }
    };
    Ok(Resource { name: input.name, content })
}

/// Creates a process instance; with `awaitResult`, answers when it completes.
#[utoipa::path(
    post, path = "/v1/process-instances", tag = "process-instances",
    request_body = CreateProcessInstanceRequest,
    responses(
        (status = 200, description = "Created (and, with awaitResult, completed)", body = CreateProcessInstanceResponse),
        (status = 400, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such process definition", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "awaitResult: not completed in time", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn create_process_instance(
    State(api): State<Api>,
    JsonBody(request): JsonBody<CreateProcessInstanceRequest>,
) -> Result<Json<CreateProcessInstanceResponse>, ApiError> {
    let bpmn_process_id = request.bpmn_process_id.unwrap_or_default();
    let definition_key = request.process_definition_key.map(|k| k.0);
    match (bpmn_process_id.trim().is_empty(), definition_key) {
        (true, None) => {
            return Err(ApiError::bad_request(
                "Expected either 'bpmnProcessId' or 'processDefinitionKey', but neither was given",
            ));
        }
        (false, Some(_)) => {
            return Err(ApiError::bad_request(
                "Expected either 'bpmnProcessId' or 'processDefinitionKey', but both were given",
            ));
        }
        _ => {}
    }
    let creation = ProcessInstanceCreationRecord {
        bpmn_process_id: Arc::from(bpmn_process_id.as_str()),
        // Versions start at 1: anything else means "latest", as in the gRPC gateway.
        version: request.version.filter(|v| *v > 0).unwrap_or(-1),
        process_definition_key: definition_key.unwrap_or(-1),
        variables: request.variables.unwrap_or_default(),
        process_instance_key: -1,
        fetch_variables: request.fetch_variables,
        awaiting_request_id: None,
        start_instructions: request.start_instructions.into_iter().map(|s| s.element_id).collect(),
    };
    let timeout = request.request_timeout_ms.map(Duration::from_millis);
    let record = api.create_instance(creation, request.await_result, timeout).await?;
    if !request.await_result {
        let RecordValue::ProcessInstanceCreation(created) = &record.value else {
            return Err(unexpected_answer(&record, "process instance creation"));
        };
        return Ok(Json(CreateProcessInstanceResponse {
            process_instance_key: key(created.process_instance_key),
            process_definition_key: key(created.process_definition_key),
            bpmn_process_id: created.bpmn_process_id.to_string(),
            version: created.version,
            variables: None,
        }));
    }
    let RecordValue::ProcessInstanceResult(result) = record.value else {
        return Err(unexpected_answer(&record, "process instance result"));
    };
    Ok(Json(CreateProcessInstanceResponse {
        process_instance_key: key(result.process_instance_key),
        process_definition_key: key(result.process_definition_key),
        bpmn_process_id: result.bpmn_process_id.to_string(),
        version: result.version,
        variables: Some(result.variables),
    }))
}

/// Cancels (terminates) a process instance.
#[utoipa::path(
    post, path = "/v1/process-instances/{key}/cancel", tag = "process-instances",
    params(("key" = String, Path, description = "Process instance key")),
    responses(
        (status = 204, description = "Canceled"),
        (status = 404, description = "No such active instance", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn cancel_process_instance(State(api): State<Api>, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    api.on_key(key, Command::cancel_instance(key)).await?;
    Ok(NO_CONTENT)
}

/// Activates jobs of a type for a worker, long-polling as Zeebe does.
#[utoipa::path(
    post, path = "/v1/jobs/activation", tag = "jobs",
    request_body = ActivateJobsRequest,
    responses(
        (status = 200, description = "The activated jobs (maybe none)", body = ActivateJobsResponse),
        (status = 400, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn activate_jobs(
    State(api): State<Api>,
    JsonBody(request): JsonBody<ActivateJobsRequest>,
) -> Result<Json<ActivateJobsResponse>, ApiError> {
    let worker = request.worker.filter(|w| !w.trim().is_empty()).unwrap_or_else(|| "default".to_string());
    if request.job_type.trim().is_empty() {
        return Err(ApiError::bad_request("Expected to activate jobs with a non-empty 'type', but it was blank"));
    }
    if request.timeout_ms < 1 {
        return Err(ApiError::bad_request(format!(
            "Expected to activate jobs with a 'timeoutMs' of at least 1, but it was {}",
            request.timeout_ms
        )));
    }
    if request.max_jobs_to_activate < 1 {
        return Err(ApiError::bad_request(format!(
            "Expected to activate jobs with 'maxJobsToActivate' of at least 1, but it was {}",
            request.max_jobs_to_activate
        )));
    }
    let activation = ActivateJobs {
        job_type: request.job_type,
        worker,
        timeout_ms: request.timeout_ms,
        max_jobs_to_activate: request.max_jobs_to_activate,
        fetch_variables: request.fetch_variables,
        request_timeout: None,
    };
    let jobs = api.long_poll(activation, request.request_timeout_ms).await?;
    Ok(Json(ActivateJobsResponse { jobs: jobs.iter().map(|(key, job)| ActivatedJob::new(*key, job)).collect() }))
}

pub(crate) fn job_command(intent: Intent, job_key: i64, job: JobRecord) -> Command {
    Command::new(intent, job_key, RecordValue::Job(Box::new(job)))
}

/// Completes a job; its variables are merged into the instance.
#[utoipa::path(
    post, path = "/v1/jobs/{key}/completion", tag = "jobs",
    params(("key" = String, Path, description = "Job key")),
    request_body(content = Option<CompleteJobRequest>, description = "May be empty"),
    responses(
        (status = 204, description = "Completed"),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job is not activated", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn complete_job(
    State(api): State<Api>,
    Path(key): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<CompleteJobRequest>,
) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    let job = JobRecord { variables: request.variables.unwrap_or_default(), ..JobRecord::default() };
    api.on_key(key, job_command(Intent::Complete, key, job)).await?;
    Ok(NO_CONTENT)
}

/// Reports a failed attempt; with retries left the job is activatable again (after the
/// back-off), at 0 it raises an incident.
#[utoipa::path(
    post, path = "/v1/jobs/{key}/failure", tag = "jobs",
    params(("key" = String, Path, description = "Job key")),
    request_body = FailJobRequest,
    responses(
        (status = 204, description = "Failed"),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job is not activated", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn fail_job(
    State(api): State<Api>,
    Path(key): Path<String>,
    JsonBody(request): JsonBody<FailJobRequest>,
) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    let job = JobRecord {
        retries: request.retries,
        error_message: request.error_message,
        retry_backoff_ms: request.retry_back_off_ms,
        variables: request.variables.unwrap_or_default(),
        ..JobRecord::default()
    };
    api.on_key(key, job_command(Intent::Fail, key, job)).await?;
    Ok(NO_CONTENT)
}

/// Throws a BPMN error from the job, caught by a matching error boundary event (else an
/// incident).
#[utoipa::path(
    post, path = "/v1/jobs/{key}/error", tag = "jobs",
    params(("key" = String, Path, description = "Job key")),
    request_body = ThrowErrorRequest,
    responses(
        (status = 204, description = "Thrown"),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job is not activated", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn throw_error(
    State(api): State<Api>,
    Path(key): Path<String>,
    JsonBody(request): JsonBody<ThrowErrorRequest>,
) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    if request.error_code.trim().is_empty() {
        return Err(ApiError::bad_request("Expected a non-empty 'errorCode', but it was blank"));
    }
    let job = JobRecord {
        error_code: request.error_code,
        error_message: request.error_message,
        variables: request.variables.unwrap_or_default(),
        ..JobRecord::default()
    };
    api.on_key(key, job_command(Intent::ThrowError, key, job)).await?;
    Ok(NO_CONTENT)
}

/// Updates a job's retries and/or timeout.
#[utoipa::path(
    patch, path = "/v1/jobs/{key}", tag = "jobs",
    params(("key" = String, Path, description = "Job key")),
    request_body = UpdateJobRequest,
    responses(
        (status = 204, description = "Updated"),
        (status = 400, description = "Nothing to update", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn update_job(
    State(api): State<Api>,
    Path(key): Path<String>,
    JsonBody(request): JsonBody<UpdateJobRequest>,
) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    if request.retries.is_none() && request.timeout_ms.is_none() {
        return Err(ApiError::bad_request("Expected 'retries' or 'timeoutMs' to update, but neither was given"));
    }
    api.update_job(key, request.retries, request.timeout_ms).await?;
    Ok(NO_CONTENT)
}

/// Sets variables on an element instance (or the process instance itself).
#[utoipa::path(
    post, path = "/v1/element-instances/{key}/variables", tag = "process-instances",
    params(("key" = String, Path, description = "Element instance or process instance key")),
    request_body = SetVariablesRequest,
    responses(
        (status = 204, description = "Set"),
        (status = 404, description = "No such element instance", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn set_variables(
    State(api): State<Api>,
    Path(key): Path<String>,
    JsonBody(request): JsonBody<SetVariablesRequest>,
) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    api.on_key(key, Command::set_variables(key, request.variables, request.local)).await?;
    Ok(NO_CONTENT)
}

/// Resolves an incident: the engine retries what failed (give a failed job retries first).
#[utoipa::path(
    post, path = "/v1/incidents/{key}/resolution", tag = "incidents",
    params(("key" = String, Path, description = "Incident key")),
    responses(
        (status = 204, description = "Resolved"),
        (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn resolve_incident(State(api): State<Api>, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    api.on_key(key, Command::resolve_incident(key)).await?;
    Ok(NO_CONTENT)
}
