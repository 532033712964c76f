//! Camunda's user task endpoints over Baton's job-based user tasks.
//!
//! Baton runs every user task (`zeebe:userTask` or not) as a job of type
//! `io.camunda.zeebe:userTask`, its assignment, schedule and form in the job's headers, as
//! Zeebe runs job-worker user tasks. The job's key is the user task's key here: searching and
//! getting read those jobs, completing completes the job (with its variables, as Camunda's
//! completion does). What Camunda's native user tasks have beyond that — changing the assignee
//! or other attributes after creation, task listeners — Baton's do not, and those requests are
//! refused with a 409 that says so, rather than pretending to succeed.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use baton_engine::state::{Job, JobState, State as PartitionState};
use baton_engine::{Command, Document, Intent, JobRecord, RecordValue};
use baton_model::USER_TASK_JOB_TYPE;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::search::{Kind, Schema, SearchRequest, date, item, not_found, search};
use super::wire::DEFAULT_TENANT;
use crate::Api;
use crate::error::ApiError;
use crate::extract::{OptionalJsonBody, path_key};

const HEADER_PREFIX: &str = "io.camunda.zeebe:";
/// Camunda's priority of a task that names none.
const DEFAULT_PRIORITY: i64 = 50;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UserTaskItem {
    user_task_key: String,
    name: String,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignee: Option<String>,
    element_id: String,
    candidate_groups: Vec<String>,
    candidate_users: Vec<String>,
    process_definition_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    creation_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    follow_up_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_date: Option<String>,
    tenant_id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_form_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    form_key: Option<String>,
    process_definition_version: i32,
    custom_headers: Map<String, Value>,
    priority: i64,
    element_instance_key: String,
    process_name: String,
    process_definition_key: String,
    process_instance_key: String,
}

pub(super) const USER_TASKS: Schema = Schema {
    entity: "user task",
    key_field: "userTaskKey",
    filters: &[
        ("state", "state", Kind::Text),
        ("assignee", "assignee", Kind::Text),
        ("priority", "priority", Kind::Integer),
        ("elementId", "elementId", Kind::Text),
        ("name", "name", Kind::Text),
        ("candidateGroup", "candidateGroups", Kind::TextList),
        ("candidateUser", "candidateUsers", Kind::TextList),
        ("tenantId", "tenantId", Kind::Text),
        ("processDefinitionId", "processDefinitionId", Kind::Text),
        ("creationDate", "creationDate", Kind::Date),
        ("followUpDate", "followUpDate", Kind::Date),
        ("dueDate", "dueDate", Kind::Date),
        ("userTaskKey", "userTaskKey", Kind::Key),
        ("processDefinitionKey", "processDefinitionKey", Kind::Key),
        ("processInstanceKey", "processInstanceKey", Kind::Key),
        ("elementInstanceKey", "elementInstanceKey", Kind::Key),
    ],
    sorts: &["creationDate", "completionDate", "followUpDate", "dueDate", "priority", "name"],
};

fn header<'a>(headers: &'a Document, name: &str) -> Option<&'a str> {
    headers.get(&format!("{HEADER_PREFIX}{name}")).and_then(Value::as_str).filter(|text| !text.is_empty())
}

/// Candidate lists are headers holding a JSON array of names.
fn list_header(headers: &Document, name: &str) -> Vec<String> {
    header(headers, name).and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default()
}

fn user_task(state: &PartitionState, job: &Job) -> (i64, UserTaskItem) {
    let record = &job.record;
    let headers = &*record.custom_headers;
    let process = state.processes.get(&record.process_definition_key);
    let element_name = process
        .and_then(|p| p.graph.element_by_id(&record.element_id))
        .and_then(|element| element.name.clone())
        .unwrap_or_else(|| record.element_id.to_string());
    let process_name = process.and_then(|p| p.graph.name.clone()).unwrap_or_else(|| record.bpmn_process_id.to_string());
    // A linked form (`formId`) names a deployed form; any other form key is the modeler's own
    // reference, passed on as Camunda passes on external references.
    let form_key =
        header(headers, "formId").and_then(|id| state.latest_form(id)).map(|f| f.metadata.form_key.to_string());
    let custom_headers = headers
        .iter()
        .filter(|(name, _)| !name.starts_with(HEADER_PREFIX))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let item = UserTaskItem {
        user_task_key: job.key.to_string(),
        name: element_name,
        state: match job.state {
            JobState::Failed => "FAILED",
            _ => "CREATED",
        },
        assignee: header(headers, "assignee").map(str::to_string),
        element_id: record.element_id.to_string(),
        candidate_groups: list_header(headers, "candidateGroups"),
        candidate_users: list_header(headers, "candidateUsers"),
        process_definition_id: record.bpmn_process_id.to_string(),
        creation_date: None,
        follow_up_date: header(headers, "followUpDate").map(str::to_string),
        due_date: header(headers, "dueDate").map(str::to_string),
        tenant_id: DEFAULT_TENANT,
        external_form_reference: header(headers, "formKey").map(str::to_string),
        form_key,
        process_definition_version: record.process_definition_version,
        custom_headers,
        priority: header(headers, "priority").and_then(|p| p.parse().ok()).unwrap_or(DEFAULT_PRIORITY),
        element_instance_key: record.element_instance_key.to_string(),
        process_name,
        process_definition_key: record.process_definition_key.to_string(),
        process_instance_key: record.process_instance_key.to_string(),
    };
    (job.key, item)
}

fn user_tasks(state: &PartitionState, only: Option<i64>) -> Vec<(i64, UserTaskItem)> {
    let jobs: Box<dyn Iterator<Item = &Job>> = match only {
        Some(key) => Box::new(state.jobs.get(&key).into_iter()),
        None => Box::new(state.jobs.values()),
    };
    jobs.filter(|job| &*job.record.job_type == USER_TASK_JOB_TYPE).map(|job| user_task(state, job)).collect()
}

async fn user_task_items(api: &Api, only: Option<i64>) -> Result<Vec<Map<String, Value>>, ApiError> {
    let mut found = api.gather(only, move |state| user_tasks(state, only)).await?;
    api.sync_read_model().await;
    let created = api.read_model.start_times(found.iter().map(|(key, _)| *key));
    for (key, item) in &mut found {
        item.creation_date = created.get(key).copied().and_then(date);
    }
    Ok(found.into_iter().map(|(_, task)| item(task)).collect())
}

pub(super) async fn search_user_tasks(
    State(api): State<Api>,
    OptionalJsonBody(request): OptionalJsonBody<SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    let items = user_task_items(&api, None).await?;
    search(&USER_TASKS, request, items)
}

pub(super) async fn get_user_task(State(api): State<Api>, Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    let key = path_key(&key)?;
    if api.partition_of(key).is_none() {
        return Err(not_found("User Task", key));
    }
    let mut items = user_task_items(&api, Some(key)).await?;
    items.pop().map(|item| Json(Value::Object(item))).ok_or_else(|| not_found("User Task", key))
}

/// Variables visible from the task: those of its element instance and of every scope around it.
pub(super) async fn search_user_task_variables(
    State(api): State<Api>,
    Path(key): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    let key = path_key(&key)?;
    if api.partition_of(key).is_none() {
        return Err(not_found("User Task", key));
    }
    let found = api
        .gather(Some(key), move |state| {
            let Some(job) = state.jobs.get(&key).filter(|job| &*job.record.job_type == USER_TASK_JOB_TYPE) else {
                return Vec::new();
            };
            // Inner scopes shadow outer ones: each name once, from the nearest scope.
            let mut by_name: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
            let mut scope = job.record.element_instance_key;
            while let Some(element) = state.element_instances.get(&scope) {
                for variable in super::search::scope_variables(state, scope, None, true) {
                    let name = variable.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                    by_name.entry(name).or_insert(variable);
                }
                scope = element.value.flow_scope_key;
            }
            vec![by_name.into_values().collect::<Vec<_>>()]
        })
        .await?;
    let Some(items) = found.into_iter().next() else {
        return Err(not_found("User Task", key));
    };
    search(&super::search::VARIABLES, request, items)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UserTaskCompletion {
    variables: Option<Document>,
}

/// Completes the task's job: its variables reach the instance as a job completion's do.
pub(super) async fn complete_user_task(
    State(api): State<Api>,
    Path(key): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<UserTaskCompletion>,
) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    if api.partition_of(key).is_none() {
        return Err(not_found("User Task", key));
    }
    let is_user_task = api
        .broker
        .query(baton_engine::state::partition_of_key(key), move |state| {
            state.jobs.get(&key).is_some_and(|job| &*job.record.job_type == USER_TASK_JOB_TYPE)
        })
        .await?;
    if !is_user_task {
        return Err(ApiError::not_found(format!(
            "Command 'COMPLETE' rejected with code 'NOT_FOUND': Expected to complete user task with key '{key}', \
             but no such user task was found"
        )));
    }
    let job = JobRecord { variables: request.variables.unwrap_or_default(), ..JobRecord::default() };
    api.on_key(key, Command::new(Intent::Complete, key, RecordValue::Job(Box::new(job)))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assigning, unassigning and updating change a native user task after its creation; Baton's
/// job-based tasks keep the attributes they were created with.
pub(super) async fn change_user_task(Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    let key = path_key(&key)?;
    Err(ApiError::conflict(format!(
        "Expected to change user task '{key}', but Baton runs user tasks as jobs, whose assignee, candidates, \
         dates and priority are fixed when the task is created (from the model)"
    )))
}
