//! The queries an operator needs. What lives in the partitions' state (definitions, active
//! instances, jobs, incidents) is read with `Broker::query`, on the partition's own thread, so a
//! read after a successful write sees it; what the state no longer holds (finished instances,
//! histories) comes from the read model, after syncing it (see `read_model`).
//!
//! Queries run on the partition thread, which does nothing else meanwhile: each one filters
//! while it scans and stops at the page limit, and copies out only what the answer needs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use baton_engine::state::{JobState, partition_of_key};
use baton_runtime::DEPLOYMENT_PARTITION;

use crate::Api;
use crate::error::{ApiError, Problem};
use crate::extract::{QueryParams, path_key};
use crate::wire::{
    ElementInstanceView, History, Incident, IncidentFilter, InstanceState, JobFilter, JobView, ProcessDefinition,
    ProcessDefinitionFilter, ProcessInstance, ProcessInstanceDetail, ProcessInstanceFilter, scope_variables,
};

/// Lists hold at most this many entries unless `limit` says fewer.
const LIMIT_DEFAULT: usize = 1_000;
const LIMIT_MAX: usize = 10_000;

fn limit(requested: Option<usize>) -> usize {
    requested.unwrap_or(LIMIT_DEFAULT).clamp(1, LIMIT_MAX)
}

impl Api {
    /// The partition that owns `key`, if the key can name anything at all.
    pub(crate) fn partition_of(&self, key: i64) -> Option<u32> {
        let partition = partition_of_key(key);
        (key > 0 && (1..=self.broker.partition_count()).contains(&partition)).then_some(partition)
    }

    /// Waits for the read model to hold every record published so far (see `read_model`).
    pub(crate) async fn sync_read_model(&self) {
        if !self.read_model.sync(self.settings.read_model_sync_timeout).await {
            tracing::warn!("the REST read model did not catch up in time; answering from what it has");
        }
    }

    /// A no-op query on every partition: when it returns, each partition has published the
    /// records of every command answered before.
    async fn barrier_all(&self) -> Result<(), ApiError> {
        for partition in 1..=self.broker.partition_count() {
            self.broker.query(partition, |_| ()).await?;
        }
        Ok(())
    }
}

/// Deployed process definitions, by key.
#[utoipa::path(
    get, path = "/v1/process-definitions", tag = "process-definitions",
    params(ProcessDefinitionFilter),
    responses((status = 200, description = "Deployed definitions", body = Vec<ProcessDefinition>)),
)]
pub async fn list_process_definitions(
    State(api): State<Api>,
    QueryParams(filter): QueryParams<ProcessDefinitionFilter>,
) -> Result<Json<Vec<ProcessDefinition>>, ApiError> {
    // Every definition is deployed on the deployment partition first: it knows them all.
    let definitions = api
        .broker
        .query(DEPLOYMENT_PARTITION, move |state| {
            state
                .processes
                .values()
                .filter(|p| filter.bpmn_process_id.as_deref().is_none_or(|id| *p.record.bpmn_process_id == *id))
                .map(ProcessDefinition::from)
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(Json(definitions))
}

fn definition_not_found(key: i64) -> ApiError {
    ApiError::not_found(format!("Expected to find a process definition with key '{key}', but none was found"))
}

/// One process definition.
#[utoipa::path(
    get, path = "/v1/process-definitions/{key}", tag = "process-definitions",
    params(("key" = String, Path, description = "Process definition key")),
    responses(
        (status = 200, description = "The definition", body = ProcessDefinition),
        (status = 404, description = "No such definition", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_process_definition(
    State(api): State<Api>,
    Path(key): Path<String>,
) -> Result<Json<ProcessDefinition>, ApiError> {
    let key = path_key(&key)?;
    let found = api
        .broker
        .query(DEPLOYMENT_PARTITION, move |state| state.processes.get(&key).map(ProcessDefinition::from))
        .await?;
    found.map(Json).ok_or_else(|| definition_not_found(key))
}

/// The BPMN XML of a definition: the resource it was deployed from.
#[utoipa::path(
    get, path = "/v1/process-definitions/{key}/xml", tag = "process-definitions",
    params(("key" = String, Path, description = "Process definition key")),
    responses(
        (status = 200, description = "The BPMN XML", body = String, content_type = "application/xml"),
        (status = 404, description = "No such definition", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_process_definition_xml(State(api): State<Api>, Path(key): Path<String>) -> Result<Response, ApiError> {
    let key = path_key(&key)?;
    let resource = api
        .broker
        .query(DEPLOYMENT_PARTITION, move |state| state.processes.get(&key).map(|p| p.record.resource.clone()))
        .await?
        .ok_or_else(|| definition_not_found(key))?;
    let mut response = resource.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    Ok(response)
}

fn instance_state(text: &str) -> Result<InstanceState, ApiError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "active" => Ok(InstanceState::Active),
        "completed" => Ok(InstanceState::Completed),
        "terminated" => Ok(InstanceState::Terminated),
        _ => Err(ApiError::bad_request(format!(
            "Expected 'state' to be one of active, completed, terminated, but it was '{text}'"
        ))),
    }
}

/// Process instances: active ones from the partitions' state, by key, then completed and
/// terminated ones from the read model (the most recent 10,000 by default, not durable), in the
/// order they finished.
#[utoipa::path(
    get, path = "/v1/process-instances", tag = "process-instances",
    params(ProcessInstanceFilter),
    responses(
        (status = 200, description = "Matching instances", body = Vec<ProcessInstance>),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_process_instances(
    State(api): State<Api>,
    QueryParams(filter): QueryParams<ProcessInstanceFilter>,
) -> Result<Json<Vec<ProcessInstance>>, ApiError> {
    let state = filter.state.as_deref().map(instance_state).transpose()?;
    let limit = limit(filter.limit);
    let bpmn_process_id = filter.bpmn_process_id;
    let definition_key = filter.process_definition_key.map(|k| k.0);
    let matches = move |id: &str, definition: i64| {
        bpmn_process_id.as_deref().is_none_or(|wanted| wanted == id) && definition_key.is_none_or(|k| k == definition)
    };
    let mut instances = Vec::new();
    if state.is_none_or(|s| s == InstanceState::Active) {
        for partition in 1..=api.broker.partition_count() {
            let remaining = limit - instances.len();
            let matches = matches.clone();
            let found = api
                .broker
                .query(partition, move |state| {
                    state
                        .element_instances
                        .values()
                        .filter(|e| e.value.flow_scope_key < 0)
                        .filter(|e| matches(&e.value.bpmn_process_id, e.value.process_definition_key))
                        .take(remaining)
                        .map(|e| ProcessInstance::active(e))
                        .collect::<Vec<_>>()
                })
                .await?;
            instances.extend(found);
        }
        api.sync_read_model().await;
        let started = api.read_model.start_times(instances.iter().filter_map(|i| i.process_instance_key.parse().ok()));
        for instance in &mut instances {
            instance.start_time = instance.process_instance_key.parse().ok().and_then(|key| started.get(&key).copied());
        }
    } else {
        api.barrier_all().await?;
    }
    if state != Some(InstanceState::Active) && instances.len() < limit {
        // The queries above were the barrier: every partition has published what it answered.
        api.sync_read_model().await;
        let finished = api.read_model.finished(
            |i| {
                state.is_none_or(|s| s == i.state)
                    && matches(&i.bpmn_process_id, i.process_definition_key.parse().unwrap_or(-1))
            },
            limit - instances.len(),
        );
        instances.extend(finished);
    }
    Ok(Json(instances))
}

fn instance_not_found(key: i64) -> ApiError {
    ApiError::not_found(format!("Expected to find a process instance with key '{key}', but none was found"))
}

/// One process instance: its element instances, the variables of every scope, its incidents
/// and jobs. A finished one (from the read model) has only its summary.
#[utoipa::path(
    get, path = "/v1/process-instances/{key}", tag = "process-instances",
    params(("key" = String, Path, description = "Process instance key")),
    responses(
        (status = 200, description = "The instance", body = ProcessInstanceDetail),
        (status = 404, description = "Neither active nor among the finished instances kept", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_process_instance(
    State(api): State<Api>,
    Path(key): Path<String>,
) -> Result<Json<ProcessInstanceDetail>, ApiError> {
    let key = path_key(&key)?;
    let partition = api.partition_of(key).ok_or_else(|| instance_not_found(key))?;
    let active = api
        .broker
        .query(partition, move |state| {
            let root = state.element_instances.get(&key).filter(|e| e.value.flow_scope_key < 0)?;
            // Parents before children: walk the tree from the root.
            let mut elements = vec![root];
            let mut next = 0;
            while let Some(element) = elements.get(next) {
                let children: Vec<_> =
                    element.children.iter().filter_map(|child| state.element_instances.get(child)).collect();
                elements.extend(children);
                next += 1;
            }
            let variables = elements
                .iter()
                .filter_map(|e| state.variables.get(&e.key).map(|vars| (e.key, vars)))
                .flat_map(|(scope, vars)| scope_variables(scope, vars))
                .collect();
            let jobs = elements
                .iter()
                .filter(|e| e.job_key > 0)
                .filter_map(|e| state.jobs.get(&e.job_key))
                .map(JobView::from)
                .collect();
            let incidents = state
                .incidents
                .iter()
                .filter(|(_, incident)| incident.process_instance_key == key)
                .map(|(incident_key, incident)| Incident::new(*incident_key, incident))
                .collect();
            let summary = ProcessInstance::active(root);
            Some(ProcessInstanceDetail {
                process_instance_key: summary.process_instance_key,
                process_definition_key: summary.process_definition_key,
                bpmn_process_id: summary.bpmn_process_id,
                version: summary.version,
                state: summary.state,
                start_time: None,
                end_time: None,
                element_instances: elements.into_iter().map(|e| ElementInstanceView::from(&**e)).collect(),
                variables,
                incidents,
                jobs,
            })
        })
        .await?;
    if let Some(mut detail) = active {
        api.sync_read_model().await;
        detail.start_time = api.read_model.start_times([key]).get(&key).copied();
        return Ok(Json(detail));
    }
    // The query was the barrier: an instance that finished before it is in the read model now.
    api.sync_read_model().await;
    api.read_model
        .finished_instance(key)
        .map(|instance| Json(ProcessInstanceDetail::finished(instance)))
        .ok_or_else(|| instance_not_found(key))
}

/// The records of one instance, in log order, from the read model: not durable, bounded per
/// instance (1,000 by default, oldest dropped) and in total (see the crate docs).
#[utoipa::path(
    get, path = "/v1/process-instances/{key}/history", tag = "process-instances",
    params(("key" = String, Path, description = "Process instance key")),
    responses(
        (status = 200, description = "The records kept", body = History),
        (status = 404, description = "No history kept for this key", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_process_instance_history(
    State(api): State<Api>,
    Path(key): Path<String>,
) -> Result<Json<History>, ApiError> {
    let key = path_key(&key)?;
    let partition = api.partition_of(key).ok_or_else(|| instance_not_found(key))?;
    api.broker.query(partition, |_| ()).await?;
    api.sync_read_model().await;
    api.read_model.history(key).map(Json).ok_or_else(|| {
        ApiError::not_found(format!(
            "Expected to find the history of process instance '{key}', but none is kept: the instance does \
             not exist, started before the server did, or its history was evicted"
        ))
    })
}

/// Open incidents, by key.
#[utoipa::path(
    get, path = "/v1/incidents", tag = "incidents",
    params(IncidentFilter),
    responses((status = 200, description = "Open incidents", body = Vec<Incident>)),
)]
pub async fn list_incidents(
    State(api): State<Api>,
    QueryParams(filter): QueryParams<IncidentFilter>,
) -> Result<Json<Vec<Incident>>, ApiError> {
    let instance = filter.process_instance_key.map(|k| k.0);
    // An instance lives on one partition: only that one needs asking.
    let partitions: Vec<u32> = match instance {
        Some(key) => api.partition_of(key).into_iter().collect(),
        None => (1..=api.broker.partition_count()).collect(),
    };
    let mut incidents = Vec::new();
    for partition in partitions {
        let found = api
            .broker
            .query(partition, move |state| {
                state
                    .incidents
                    .iter()
                    .filter(|(_, incident)| instance.is_none_or(|key| incident.process_instance_key == key))
                    .map(|(key, incident)| Incident::new(*key, incident))
                    .collect::<Vec<_>>()
            })
            .await?;
        incidents.extend(found);
    }
    Ok(Json(incidents))
}

/// One open incident.
#[utoipa::path(
    get, path = "/v1/incidents/{key}", tag = "incidents",
    params(("key" = String, Path, description = "Incident key")),
    responses(
        (status = 200, description = "The incident", body = Incident),
        (status = 404, description = "No such open incident", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_incident(State(api): State<Api>, Path(key): Path<String>) -> Result<Json<Incident>, ApiError> {
    let key = path_key(&key)?;
    let not_found =
        || ApiError::not_found(format!("Expected to find an incident with key '{key}', but none was found"));
    let partition = api.partition_of(key).ok_or_else(not_found)?;
    let found = api
        .broker
        .query(partition, move |state| state.incidents.get(&key).map(|incident| Incident::new(key, incident)))
        .await?;
    found.map(Json).ok_or_else(not_found)
}

fn job_state(text: &str) -> Result<JobState, ApiError> {
    match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
        "activatable" => Ok(JobState::Activatable),
        "activated" => Ok(JobState::Activated),
        "backing_off" | "backingoff" => Ok(JobState::BackingOff),
        "failed" => Ok(JobState::Failed),
        "error_thrown" | "errorthrown" => Ok(JobState::ErrorThrown),
        _ => Err(ApiError::bad_request(format!(
            "Expected 'state' to be one of activatable, activated, backing_off, failed, error_thrown, but it was \
             '{text}'"
        ))),
    }
}

/// Jobs that exist now (created, not yet completed or canceled), by key.
#[utoipa::path(
    get, path = "/v1/jobs", tag = "jobs",
    params(JobFilter),
    responses(
        (status = 200, description = "Matching jobs", body = Vec<JobView>),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_jobs(
    State(api): State<Api>,
    QueryParams(filter): QueryParams<JobFilter>,
) -> Result<Json<Vec<JobView>>, ApiError> {
    let wanted_state = filter.state.as_deref().map(job_state).transpose()?;
    let limit = limit(filter.limit);
    let instance = filter.process_instance_key.map(|k| k.0);
    let partitions: Vec<u32> = match instance {
        Some(key) => api.partition_of(key).into_iter().collect(),
        None => (1..=api.broker.partition_count()).collect(),
    };
    let mut jobs = Vec::new();
    for partition in partitions {
        let remaining = limit - jobs.len();
        if remaining == 0 {
            break;
        }
        let job_type = filter.job_type.clone();
        let found = api
            .broker
            .query(partition, move |state| {
                state
                    .jobs
                    .values()
                    .filter(|job| job_type.as_deref().is_none_or(|t| *job.record.job_type == *t))
                    .filter(|job| wanted_state.is_none_or(|s| job.state == s))
                    .filter(|job| instance.is_none_or(|key| job.record.process_instance_key == key))
                    .take(remaining)
                    .map(JobView::from)
                    .collect::<Vec<_>>()
            })
            .await?;
        jobs.extend(found);
    }
    Ok(Json(jobs))
}

/// One job that exists now.
#[utoipa::path(
    get, path = "/v1/jobs/{key}", tag = "jobs",
    params(("key" = String, Path, description = "Job key")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_job(State(api): State<Api>, Path(key): Path<String>) -> Result<Json<JobView>, ApiError> {
    let key = path_key(&key)?;
    let not_found = || ApiError::not_found(format!("Expected to find a job with key '{key}', but none was found"));
    let partition = api.partition_of(key).ok_or_else(not_found)?;
    let found = api.broker.query(partition, move |state| state.jobs.get(&key).map(JobView::from)).await?;
    found.map(Json).ok_or_else(not_found)
}
