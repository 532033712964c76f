//! The read side of Camunda's API: `POST /v2/<entities>/search` and `GET /v2/<entities>/{key}`
//! for process definitions, process instances, element instances, variables and incidents.
//!
//! Camunda answers these from its secondary storage; Baton answers from what it has, at once
//! (so never staler than Camunda's eventually consistent reads): live state from the partitions
//! (deployed definitions, active instances with their element instances, variables and open
//! incidents) and finished instances from the read model. What neither keeps — the element
//! instances and variables of finished instances, resolved incidents — is not found.
//!
//! A search is `{filter, sort, page}`. Every entity is turned into its JSON item first; filters,
//! sorting and paging then work on the items' fields by name, so each endpoint only declares
//! which fields it filters and sorts on, and of what kind. A filter value is either plain
//! (equality) or an object of operators (`$eq`, `$neq`, `$exists`, `$in`, `$notIn`, `$like`,
//! `$gt`, `$gte`, `$lt`, `$lte`), as the Java client sends even for equality. A filter field that
//! Camunda has and Baton cannot answer is refused with a 400 naming it, never ignored.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use baton_engine::state::{ElementInstance, State as PartitionState};
use baton_runtime::DEPLOYMENT_PARTITION;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::user_tasks;
use super::wire::DEFAULT_TENANT;
use crate::Api;
use crate::error::ApiError;
use crate::extract::{OptionalJsonBody, path_key};
use crate::read_model::{ElementSeen, VariableSeen};

/// Camunda stores a preview of this many characters of a variable's value for searches.
const VALUE_PREVIEW_CHARS: usize = 8191;
const LIMIT_DEFAULT: usize = 100;
const LIMIT_MAX: usize = 10_000;

pub(crate) fn routes() -> Router<Api> {
    Router::new()
        .route("/v2/process-definitions/search", post(search_process_definitions))
        .route("/v2/process-definitions/{key}", get(get_process_definition))
        .route("/v2/process-definitions/{key}/xml", get(get_process_definition_xml))
        .route("/v2/process-instances/search", post(search_process_instances))
        .route("/v2/process-instances/{key}", get(get_process_instance))
        .route("/v2/element-instances/search", post(search_element_instances))
        .route("/v2/element-instances/{key}", get(get_element_instance))
        .route("/v2/variables/search", post(search_variables))
        .route("/v2/variables/{key}", get(get_variable))
        .route("/v2/incidents/search", post(search_incidents))
        .route("/v2/incidents/{key}", get(get_incident))
        .route("/v2/jobs/search", post(search_jobs))
        .route("/v2/decision-definitions/search", post(search_decision_definitions))
        .route("/v2/decision-definitions/{key}", get(get_decision_definition))
        .route("/v2/decision-definitions/{key}/xml", get(get_decision_definition_xml))
        .route("/v2/decision-requirements/search", post(search_decision_requirements))
        .route("/v2/decision-requirements/{key}", get(get_decision_requirements))
        .route("/v2/decision-requirements/{key}/xml", get(get_decision_requirements_xml))
        .route("/v2/user-tasks/search", post(user_tasks::search_user_tasks))
        .route("/v2/user-tasks/{key}", get(user_tasks::get_user_task).patch(user_tasks::change_user_task))
        .route("/v2/user-tasks/{key}/completion", post(user_tasks::complete_user_task))
        .route("/v2/user-tasks/{key}/variables/search", post(user_tasks::search_user_task_variables))
        .route("/v2/user-tasks/{key}/assignment", post(user_tasks::change_user_task))
        .route("/v2/user-tasks/{key}/assignee", axum::routing::delete(user_tasks::change_user_task))
}

// ---------------------------------------------------------------------------------------------
// The query language

#[derive(Debug, Default, Deserialize)]
pub(super) struct SearchRequest {
    filter: Option<Map<String, Value>>,
    sort: Option<Vec<SortRequest>>,
    page: Option<PageRequest>,
}

#[derive(Debug, Deserialize)]
struct SortRequest {
    field: Option<String>,
    order: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PageRequest {
    from: Option<i64>,
    limit: Option<i64>,
    after: Option<String>,
    before: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchResult {
    items: Vec<Value>,
    page: PageResult,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PageResult {
    total_items: usize,
    has_more_total_items: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Key,
    Text,
    /// A list of strings; a filter value matches when the list holds it.
    TextList,
    /// Variables by name, each with the JSON texts of its values (one per scope).
    Variables,
    Integer,
    Boolean,
    Date,
}

/// What one endpoint can filter and sort on. A filter name maps to the item field it reads,
/// usually the same; fields starting with `_` are computed for filtering and never shown.
pub(super) struct Schema {
    pub entity: &'static str,
    pub key_field: &'static str,
    pub filters: &'static [(&'static str, &'static str, Kind)],
    pub sorts: &'static [&'static str],
}

impl Schema {
    fn kind_of(&self, field: &str) -> Kind {
        self.filters.iter().find(|(_, item_field, _)| *item_field == field).map_or(Kind::Text, |(_, _, kind)| *kind)
    }
}

/// Filters, sorts and pages `items` as `request` says; hidden fields are dropped from the page.
pub(super) fn search(
    schema: &Schema,
    request: SearchRequest,
    mut items: Vec<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    let mut conditions = Vec::new();
    for (name, condition) in request.filter.unwrap_or_default() {
        let Some((_, field, kind)) = schema.filters.iter().find(|(filter, _, _)| *filter == name) else {
            let known: Vec<&str> = schema.filters.iter().map(|(filter, _, _)| *filter).collect();
            return Err(ApiError::bad_request(format!(
                "Expected {} filters among [{}], but got '{name}', which Baton does not support",
                schema.entity,
                known.join(", ")
            )));
        };
        conditions.push((*field, *kind, Condition::parse(&name, *kind, condition)?));
    }
    items.retain(|item| {
        conditions
            .iter()
            .all(|(field, kind, condition)| condition.holds(*kind, item.get(*field).unwrap_or(&Value::Null)))
    });

    let mut order = Vec::new();
    for sort in request.sort.unwrap_or_default() {
        let Some(field) = sort.field else {
            return Err(ApiError::bad_request("Sort field must not be null."));
        };
        if !schema.sorts.contains(&field.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Unexpected value '{field}' for enum field 'field'. Use any of the following values: [{}]",
                schema.sorts.join(", ")
            )));
        }
        let descending = match sort.order.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("ASC") => false,
            Some("DESC") => true,
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "Unexpected value '{}' for enum field 'order'. Use any of the following values: [ASC, DESC]",
                    sort.order.unwrap_or_default()
                )));
            }
        };
        let kind = schema.kind_of(&field);
        order.push((field, kind, descending));
    }
    // The key last: a stable order for equal values, and the order when none is asked for.
    order.push((schema.key_field.to_string(), Kind::Key, false));
    items.sort_by(|a, b| {
        order
            .iter()
            .map(|(field, kind, descending)| {
                let ordering =
                    compare(*kind, a.get(field).unwrap_or(&Value::Null), b.get(field).unwrap_or(&Value::Null));
                if *descending { ordering.reverse() } else { ordering }
            })
            .find(|ordering| ordering.is_ne())
            .unwrap_or(Ordering::Equal)
    });

    let page = request.page.unwrap_or_default();
    let limit = match page.limit {
        None => LIMIT_DEFAULT,
        Some(limit) if (1..=LIMIT_MAX as i64).contains(&limit) => limit as usize,
        Some(limit) => {
            return Err(ApiError::bad_request(format!(
                "The value for page.limit is '{limit}' but must be between 1 and {LIMIT_MAX}."
            )));
        }
    };
    let start = match (page.from, page.after.as_deref(), page.before.as_deref()) {
        (None, None, None) => 0,
        (Some(from), None, None) if from >= 0 => from as usize,
        (Some(from), None, None) => {
            return Err(ApiError::bad_request(format!("The value for page.from is '{from}' but must be at least 0.")));
        }
        (None, Some(after), None) => cursor(after)? + 1,
        (None, None, Some(before)) => cursor(before)?.saturating_sub(limit),
        _ => return Err(ApiError::bad_request("Only one of [from, after, before] is allowed.")),
    };
    let total_items = items.len();
    let end = total_items.min(start.saturating_add(limit));
    let page_items: Vec<Value> = items
        .into_iter()
        .take(end)
        .skip(start)
        .map(|mut item| {
            item.retain(|field, _| !field.starts_with('_'));
            Value::Object(item)
        })
        .collect();
    let (start_cursor, end_cursor) =
        if page_items.is_empty() { (None, None) } else { (Some(encode_cursor(start)), Some(encode_cursor(end - 1))) };
    Ok(Json(serde_json::json!(SearchResult {
        items: page_items,
        page: PageResult { total_items, has_more_total_items: false, start_cursor, end_cursor },
    })))
}

/// A cursor is the position of an item in the sorted result: good for paging through a result
/// that does not change in between, which is what clients page through.
fn encode_cursor(position: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("[{position}]"))
}

fn cursor(text: &str) -> Result<usize, ApiError> {
    let invalid = || ApiError::bad_request(format!("Expected a page cursor from an earlier answer, but got '{text}'"));
    let decoded = base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    decoded.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| invalid())
}

enum Condition {
    Equals(Value),
    Operators(Vec<(String, Value)>),
    /// `[{name, value}]`: for each, a variable of that name whose JSON text meets `value`.
    Variables(Vec<(String, Condition)>),
}

impl Condition {
    fn parse(name: &str, kind: Kind, value: Value) -> Result<Condition, ApiError> {
        if kind == Kind::Variables {
            return Condition::parse_variables(name, value);
        }
        let Value::Object(operators) = value else {
            check_operand(name, kind, &value)?;
            return Ok(Condition::Equals(value));
        };
        let mut parsed = Vec::new();
        for (operator, operand) in operators {
            match operator.as_str() {
                "$eq" | "$neq" | "$gt" | "$gte" | "$lt" | "$lte" => check_operand(name, kind, &operand)?,
                "$exists" if operand.is_boolean() => {}
                "$in" | "$notIn" if operand.is_array() => {
                    for item in operand.as_array().into_iter().flatten() {
                        check_operand(name, kind, item)?;
                    }
                }
                "$like" if operand.is_string() => {}
                "$exists" | "$in" | "$notIn" | "$like" => {
                    return Err(ApiError::bad_request(format!(
                        "Expected the operand of '{operator}' in filter '{name}' to be {}, but it was {operand}",
                        match operator.as_str() {
                            "$exists" => "a boolean",
                            "$like" => "a string",
                            _ => "an array",
                        }
                    )));
                }
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "Expected filter '{name}' to use the operators $eq, $neq, $exists, $in, $notIn, $like, $gt, \
                         $gte, $lt or $lte, but it has '{operator}'"
                    )));
                }
            }
            parsed.push((operator, operand));
        }
        Ok(Condition::Operators(parsed))
    }

    fn parse_variables(name: &str, value: Value) -> Result<Condition, ApiError> {
        let invalid = |detail: String| {
            ApiError::bad_request(format!("Expected filter '{name}' to be a list of {{name, value}}, but {detail}"))
        };
        let Value::Array(entries) = value else {
            return Err(invalid(format!("it was {value}")));
        };
        let mut parsed = Vec::new();
        for entry in entries {
            let Value::Object(mut entry) = entry else {
                return Err(invalid(format!("an entry was {entry}")));
            };
            let Some(Value::String(variable)) = entry.remove("name") else {
                return Err(invalid("an entry has no 'name'".to_string()));
            };
            let Some(value) = entry.remove("value").filter(|v| !v.is_null()) else {
                return Err(ApiError::bad_request("Variable value must not be null."));
            };
            parsed.push((variable, Condition::parse(&format!("{name}.value"), Kind::Text, value)?));
        }
        Ok(Condition::Variables(parsed))
    }

    fn holds(&self, kind: Kind, actual: &Value) -> bool {
        match self {
            Condition::Variables(wanted) => wanted.iter().all(|(name, condition)| {
                actual
                    .get(name)
                    .and_then(Value::as_array)
                    .is_some_and(|values| values.iter().any(|value| condition.holds(Kind::Text, value)))
            }),
            Condition::Equals(expected) => equal(kind, actual, expected),
            Condition::Operators(operators) => operators.iter().all(|(operator, operand)| match operator.as_str() {
                "$eq" => equal(kind, actual, operand),
                "$neq" => !equal(kind, actual, operand),
                "$exists" => operand.as_bool() == Some(!actual.is_null()),
                "$in" => operand.as_array().is_some_and(|values| values.iter().any(|v| equal(kind, actual, v))),
                "$notIn" => operand.as_array().is_some_and(|values| !values.iter().any(|v| equal(kind, actual, v))),
                "$like" => actual.as_str().zip(operand.as_str()).is_some_and(|(text, pattern)| like(text, pattern)),
                "$gt" => !actual.is_null() && compare(kind, actual, operand).is_gt(),
                "$gte" => !actual.is_null() && compare(kind, actual, operand).is_ge(),
                "$lt" => !actual.is_null() && compare(kind, actual, operand).is_lt(),
                "$lte" => !actual.is_null() && compare(kind, actual, operand).is_le(),
                _ => false,
            }),
        }
    }
}

/// A filter value of the wrong type is the caller's mistake, not an empty result.
fn check_operand(name: &str, kind: Kind, value: &Value) -> Result<(), ApiError> {
    let fits = match kind {
        Kind::Key => as_key(value).is_some(),
        Kind::Text | Kind::TextList => value.is_string(),
        Kind::Variables => value.is_array(),
        Kind::Integer => value.is_i64(),
        Kind::Boolean => value.is_boolean(),
        Kind::Date => value.as_str().is_some_and(|text| parse_date(text).is_some()),
    };
    if fits {
        return Ok(());
    }
    let wanted = match kind {
        Kind::Key => "a key (a string of digits)",
        Kind::Text | Kind::TextList => "a string",
        Kind::Variables => "a list of {name, value}",
        Kind::Integer => "an integer",
        Kind::Boolean => "a boolean",
        Kind::Date => "an ISO 8601 date-time with an offset",
    };
    Err(ApiError::bad_request(format!("Expected filter '{name}' to be {wanted}, but it was {value}")))
}

fn as_key(value: &Value) -> Option<i64> {
    match value {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(number) => number.as_i64(),
        _ => None,
    }
}

fn parse_date(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

fn equal(kind: Kind, actual: &Value, expected: &Value) -> bool {
    match kind {
        Kind::Key => as_key(actual).is_some_and(|a| Some(a) == as_key(expected)),
        Kind::Date => {
            actual.as_str().and_then(parse_date).is_some_and(|a| expected.as_str().and_then(parse_date) == Some(a))
        }
        Kind::TextList => actual.as_array().is_some_and(|items| items.contains(expected)),
        _ => actual == expected,
    }
}

/// Orders two field values; absent values (null) come last.
fn compare(kind: Kind, a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    match kind {
        Kind::Key => as_key(a).cmp(&as_key(b)),
        Kind::Integer => a.as_i64().cmp(&b.as_i64()),
        Kind::Boolean => a.as_bool().cmp(&b.as_bool()),
        Kind::Date => a.as_str().and_then(parse_date).cmp(&b.as_str().and_then(parse_date)),
        Kind::Text => a.as_str().cmp(&b.as_str()),
        Kind::TextList | Kind::Variables => Ordering::Equal,
    }
}

/// `*` matches any run of characters, `?` one character, `\` escapes the next one.
fn like(text: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Token {
        Any,
        One,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '*' => Token::Any,
            '?' => Token::One,
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            c => Token::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // matches[i][j]: the first i tokens match the first j characters.
    let mut matches = vec![vec![false; text.len() + 1]; tokens.len() + 1];
    matches[0][0] = true;
    for (i, token) in tokens.iter().enumerate() {
        for j in 0..=text.len() {
            matches[i + 1][j] = match token {
                Token::Any => matches[i][j] || (j > 0 && matches[i + 1][j - 1]),
                Token::One => j > 0 && matches[i][j - 1],
                Token::Char(c) => j > 0 && matches[i][j - 1] && text[j - 1] == *c,
            };
        }
    }
    matches[tokens.len()][text.len()]
}

pub(super) fn date(ms: i64) -> Option<String> {
    let timestamp = jiff::Timestamp::from_millisecond(ms).ok()?;
    Some(timestamp.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

pub(super) fn item(value: impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

pub(super) fn not_found(entity: &str, key: i64) -> ApiError {
    ApiError::not_found(format!("{entity} with key {key} not found"))
}

impl Api {
    /// Runs `read` on every partition (or only the one owning `key`) and gathers what it finds.
    pub(super) async fn gather<T: Send + 'static>(
        &self,
        key: Option<i64>,
        read: impl Fn(&PartitionState) -> Vec<T> + Clone + Send + 'static,
    ) -> Result<Vec<T>, ApiError> {
        let partitions: Vec<u32> = match key {
            Some(key) => self.partition_of(key).into_iter().collect(),
            None => (1..=self.broker.partition_count()).collect(),
        };
        let mut found = Vec::new();
        for partition in partitions {
            let read = read.clone();
            found.extend(self.broker.query(partition, move |state| read(state)).await?);
        }
        Ok(found)
    }
}

// ---------------------------------------------------------------------------------------------
// Process definitions

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProcessDefinitionItem {
    name: String,
    resource_name: String,
    version: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_tag: Option<String>,
    process_definition_id: String,
    tenant_id: &'static str,
    process_definition_key: String,
    has_start_form: bool,
    #[serde(rename = "_isLatestVersion")]
    is_latest_version: bool,
}

const PROCESS_DEFINITIONS: Schema = Schema {
    entity: "process definition",
    key_field: "processDefinitionKey",
    filters: &[
        ("name", "name", Kind::Text),
        ("isLatestVersion", "_isLatestVersion", Kind::Boolean),
        ("resourceName", "resourceName", Kind::Text),
        ("version", "version", Kind::Integer),
        ("versionTag", "versionTag", Kind::Text),
        ("processDefinitionId", "processDefinitionId", Kind::Text),
        ("tenantId", "tenantId", Kind::Text),
        ("processDefinitionKey", "processDefinitionKey", Kind::Key),
        ("hasStartForm", "hasStartForm", Kind::Boolean),
    ],
    sorts: &[
        "processDefinitionKey",
        "name",
        "resourceName",
        "version",
        "versionTag",
        "processDefinitionId",
        "tenantId",
    ],
};

fn process_definitions(state: &PartitionState, only: Option<i64>) -> Vec<Map<String, Value>> {
    let mut latest: HashMap<&str, i32> = HashMap::new();
    for process in state.processes.values() {
        let version = latest.entry(&process.record.bpmn_process_id).or_insert(0);
        *version = (*version).max(process.record.version);
    }
    state
        .processes
        .iter()
        .filter(|(key, _)| only.is_none_or(|only| only == **key))
        .map(|(key, process)| {
            let id = process.record.bpmn_process_id.to_string();
            item(ProcessDefinitionItem {
                name: process.graph.name.clone().unwrap_or_else(|| id.clone()),
                resource_name: process.record.resource_name.clone(),
                version: process.record.version,
                version_tag: process.graph.version_tag.clone(),
                is_latest_version: latest.get(&*process.record.bpmn_process_id) == Some(&process.record.version),
                process_definition_id: id,
                tenant_id: DEFAULT_TENANT,
                process_definition_key: key.to_string(),
                has_start_form: false,
            })
        })
        .collect()
}

async fn search_process_definitions(
    State(api): State<Api>,
    OptionalJsonBody(request): OptionalJsonBody<SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    // Every definition is deployed on the deployment partition first: it knows them all.
    let items = api.broker.query(DEPLOYMENT_PARTITION, |state| process_definitions(state, None)).await?;
    search(&PROCESS_DEFINITIONS, request, items)
}

async fn get_process_definition(State(api): State<Api>, Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    let key = path_key(&key)?;
    let mut items = api.broker.query(DEPLOYMENT_PARTITION, move |state| process_definitions(state, Some(key))).await?;
    let mut item = items.pop().ok_or_else(|| not_found("Process Definition", key))?;
    item.retain(|field, _| !field.starts_with('_'));
    Ok(Json(Value::Object(item)))
}

async fn get_process_definition_xml(State(api): State<Api>, Path(key): Path<String>) -> Result<Response, ApiError> {
    let key = path_key(&key)?;
    let resource = api
        .broker
        .query(DEPLOYMENT_PARTITION, move |state| state.processes.get(&key).map(|p| p.record.resource.clone()))
        .await?
        .ok_or_else(|| not_found("Process Definition", key))?;
    Ok(xml(resource))
}

// ---------------------------------------------------------------------------------------------
// Process instances

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProcessInstanceItem {
    process_instance_key: String,
    process_definition_id: String,
    process_definition_name: String,
    process_definition_version: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    process_definition_version_tag: Option<String>,
    process_definition_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_process_instance_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_element_instance_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_date: Option<String>,
    state: &'static str,
    has_incident: bool,
    tenant_id: &'static str,
    tags: Vec<String>,
    /// For the `variables` filter: every variable of the instance (any scope) by name, as
    /// JSON text; filled only when a search filters on variables.
    #[serde(rename = "_variables", skip_serializing_if = "Option::is_none")]
    variables: Option<BTreeMap<String, Vec<String>>>,
}

const PROCESS_INSTANCES: Schema = Schema {
    entity: "process instance",
    key_field: "processInstanceKey",
    filters: &[
        ("processInstanceKey", "processInstanceKey", Kind::Key),
        ("processDefinitionId", "processDefinitionId", Kind::Text),
        ("processDefinitionName", "processDefinitionName", Kind::Text),
        ("processDefinitionVersion", "processDefinitionVersion", Kind::Integer),
        ("processDefinitionVersionTag", "processDefinitionVersionTag", Kind::Text),
        ("processDefinitionKey", "processDefinitionKey", Kind::Key),
        ("parentProcessInstanceKey", "parentProcessInstanceKey", Kind::Key),
        ("parentElementInstanceKey", "parentElementInstanceKey", Kind::Key),
        ("startDate", "startDate", Kind::Date),
        ("endDate", "endDate", Kind::Date),
        ("state", "state", Kind::Text),
        ("hasIncident", "hasIncident", Kind::Boolean),
        ("tenantId", "tenantId", Kind::Text),
        ("variables", "_variables", Kind::Variables),
    ],
    sorts: &[
        "processInstanceKey",
        "processDefinitionId",
        "processDefinitionName",
        "processDefinitionVersion",
        "processDefinitionVersionTag",
        "processDefinitionKey",
        "parentProcessInstanceKey",
        "parentElementInstanceKey",
        "startDate",
        "endDate",
        "state",
        "hasIncident",
        "tenantId",
    ],
};

/// The name and version tag of each definition, for the items of instances.
type DefinitionNames = BTreeMap<i64, (String, Option<String>)>;

fn definition_names(state: &PartitionState) -> DefinitionNames {
    state
        .processes
        .iter()
        .map(|(key, process)| {
            let name = process.graph.name.clone().unwrap_or_else(|| process.record.bpmn_process_id.to_string());
            (*key, (name, process.graph.version_tag.clone()))
        })
        .collect()
}

fn positive(key: i64) -> Option<String> {
    (key > 0).then(|| key.to_string())
}

/// The active instances a partition holds (or the one with key `only`), without start dates.
fn active_instances(
    state: &PartitionState,
    only: Option<i64>,
    with_variables: bool,
) -> Vec<(i64, ProcessInstanceItem)> {
    let names = definition_names(state);
    let with_incident: HashSet<i64> = state.incidents.values().map(|incident| incident.process_instance_key).collect();
    let mut variables: BTreeMap<i64, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    if with_variables {
        for (scope, scope_variables) in &state.variables {
            let instance = state.element_instances.get(scope).map_or(*scope, |e| e.value.process_instance_key);
            let by_name = variables.entry(instance).or_default();
            for (name, variable) in scope_variables {
                by_name.entry(name.to_string()).or_default().push(variable.value.to_string());
            }
        }
    }
    let roots: Box<dyn Iterator<Item = &Box<ElementInstance>>> = match only {
        Some(key) => Box::new(state.element_instances.get(&key).into_iter()),
        None => Box::new(state.element_instances.values()),
    };
    roots
        .filter(|e| e.value.flow_scope_key < 0)
        .map(|root| {
            let value = &root.value;
            let (name, tag) = names.get(&value.process_definition_key).cloned().unwrap_or_default();
            let has_incident = with_incident.contains(&root.key);
            let item = ProcessInstanceItem {
                process_instance_key: root.key.to_string(),
                process_definition_id: value.bpmn_process_id.to_string(),
                process_definition_name: name,
                process_definition_version: value.version,
                process_definition_version_tag: tag,
                process_definition_key: value.process_definition_key.to_string(),
                parent_process_instance_key: positive(value.parent_process_instance_key),
                parent_element_instance_key: positive(value.parent_element_instance_key),
                start_date: None,
                end_date: None,
                state: "ACTIVE",
                has_incident,
                tenant_id: DEFAULT_TENANT,
                tags: Vec::new(),
                variables: with_variables.then(|| variables.remove(&root.key).unwrap_or_default()),
            };
            (root.key, item)
        })
        .collect()
}

async fn process_instances(
    api: &Api,
    only: Option<i64>,
    with_variables: bool,
) -> Result<Vec<Map<String, Value>>, ApiError> {
    let mut active = api.gather(only, move |state| active_instances(state, only, with_variables)).await?;
    // The queries above were the barrier: every partition has published what it answered.
    api.sync_read_model().await;
    let started = api.read_model.start_times(active.iter().map(|(key, _)| *key));
    for (key, item) in &mut active {
        item.start_date = started.get(key).copied().and_then(date);
    }
    let mut items: Vec<Map<String, Value>> = active.into_iter().map(|(_, i)| item(i)).collect();
    let finished = match only {
        Some(_) if !items.is_empty() => Vec::new(),
        Some(key) => api.read_model.finished_instance(key).into_iter().collect(),
        None => api.read_model.finished(|_| true, usize::MAX),
    };
    if !finished.is_empty() {
        let names = api.broker.query(DEPLOYMENT_PARTITION, definition_names).await?;
        for instance in finished {
            let definition_key = instance.process_definition_key.parse().unwrap_or(-1);
            let (name, tag) =
                names.get(&definition_key).cloned().unwrap_or_else(|| (instance.bpmn_process_id.clone(), None));
            items.push(item(ProcessInstanceItem {
                process_instance_key: instance.process_instance_key,
                process_definition_id: instance.bpmn_process_id,
                process_definition_name: name,
                process_definition_version: instance.version,
                process_definition_version_tag: tag,
                process_definition_key: instance.process_definition_key,
                parent_process_instance_key: None,
                parent_element_instance_key: None,
                start_date: instance.start_time.and_then(date),
                end_date: instance.end_time.and_then(date),
                state: match instance.state {
                    crate::wire::InstanceState::Completed => "COMPLETED",
                    crate::wire::InstanceState::Terminated => "TERMINATED",
                    crate::wire::InstanceState::Active => "ACTIVE",
                },
                has_incident: false,
                tenant_id: DEFAULT_TENANT,
                tags: Vec::new(),
                variables: None,
            }));
        }
    }
    Ok(items)
}

async fn search_process_instances(
    State(api): State<Api>,
    OptionalJsonBody(request): OptionalJsonBody<SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    let with_variables = request.filter.as_ref().is_some_and(|filter| filter.contains_key("variables"));
    let items = process_instances(&api, None, with_variables).await?;
    search(&PROCESS_INSTANCES, request, items)
}

async fn get_process_instance(State(api): State<Api>, Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    let key = path_key(&key)?;
    if api.partition_of(key).is_none() {
        return Err(not_found("Process Instance", key));
    }
    let mut items = process_instances(&api, Some(key), false).await?;
    items.pop().map(|item| Json(Value::Object(item))).ok_or_else(|| not_found("Process Instance", key))
}

// ---------------------------------------------------------------------------------------------
// Element instances

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ElementInstanceItem {
    element_instance_key: String,
    process_instance_key: String,
    process_definition_key: String,
    process_definition_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_date: Option<String>,
    element_id: String,
    element_name: String,
    #[serde(rename = "type")]
    element_type: String,
    state: &'static str,
    has_incident: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident_key: Option<String>,
    tenant_id: &'static str,
    #[serde(rename = "_flowScopeKey")]
    flow_scope_key: String,
}

const ELEMENT_INSTANCES: Schema = Schema {
    entity: "element instance",
    key_field: "elementInstanceKey",
    filters: &[
        ("processDefinitionId", "processDefinitionId", Kind::Text),
        ("state", "state", Kind::Text),
        ("type", "type", Kind::Text),
        ("elementId", "elementId", Kind::Text),
        ("elementName", "elementName", Kind::Text),
        ("hasIncident", "hasIncident", Kind::Boolean),
        ("tenantId", "tenantId", Kind::Text),
        ("elementInstanceKey", "elementInstanceKey", Kind::Key),
        ("processInstanceKey", "processInstanceKey", Kind::Key),
        ("processDefinitionKey", "processDefinitionKey", Kind::Key),
        ("incidentKey", "incidentKey", Kind::Key),
        ("startDate", "startDate", Kind::Date),
        ("endDate", "endDate", Kind::Date),
        ("elementInstanceScopeKey", "_flowScopeKey", Kind::Key),
    ],
    sorts: &[
        "elementInstanceKey",
        "processInstanceKey",
        "processDefinitionKey",
        "processDefinitionId",
        "startDate",
        "endDate",
        "elementId",
        "elementName",
        "type",
        "state",
        "incidentKey",
        "tenantId",
    ],
};

fn element_instances(state: &PartitionState, only: Option<i64>) -> Vec<(i64, ElementInstanceItem)> {
    let elements: Box<dyn Iterator<Item = &Box<ElementInstance>>> = match only {
        Some(key) => Box::new(state.element_instances.get(&key).into_iter()),
        None => Box::new(state.element_instances.values()),
    };
    elements
        .map(|element| {
            let value = &element.value;
            let name = state
                .processes
                .get(&value.process_definition_key)
                .map(|process| process.graph.element(element.element_idx))
                .and_then(|graph_element| graph_element.name.clone())
                .unwrap_or_else(|| value.element_id.to_string());
            let item = ElementInstanceItem {
                element_instance_key: element.key.to_string(),
                process_instance_key: value.process_instance_key.to_string(),
                process_definition_key: value.process_definition_key.to_string(),
                process_definition_id: value.bpmn_process_id.to_string(),
                start_date: None,
                end_date: None,
                element_id: value.element_id.to_string(),
                element_name: name,
                element_type: value.bpmn_element_type.as_str().to_string(),
                state: "ACTIVE",
                has_incident: element.incident_key > 0,
                incident_key: positive(element.incident_key),
                tenant_id: DEFAULT_TENANT,
                flow_scope_key: value.flow_scope_key.to_string(),
            };
            (element.key, item)
        })
        .collect()
}

/// Active element instances from the partitions' state; completed and terminated ones (of
/// active and finished instances) from the histories the read model keeps.
async fn element_instance_items(api: &Api, only: Option<i64>) -> Result<Vec<Map<String, Value>>, ApiError> {
    let mut found = api.gather(only, move |state| element_instances(state, only)).await?;
    api.sync_read_model().await;
    let started = api.read_model.start_times(found.iter().map(|(key, _)| *key));
    for (key, item) in &mut found {
        item.start_date = started.get(key).copied().and_then(date);
    }
    let active: HashSet<i64> = found.iter().map(|(key, _)| *key).collect();
    // The definition of each instance: from its active root, or from its finished summary.
    let mut definitions: HashMap<i64, (i64, String)> = found
        .iter()
        .filter_map(|(_, e)| {
            let instance = e.process_instance_key.parse().ok()?;
            Some((instance, (e.process_definition_key.parse().ok()?, e.process_definition_id.clone())))
        })
        .collect();
    let ended: Vec<ElementSeen> = api
        .read_model
        .elements_seen()
        .into_iter()
        .filter(|e| e.state != "ACTIVE" && !active.contains(&e.key) && only.is_none_or(|key| key == e.key))
        .collect();
    let mut items: Vec<Map<String, Value>> = found.into_iter().map(|(_, i)| item(i)).collect();
    if ended.is_empty() {
        return Ok(items);
    }
    for element in &ended {
        if !definitions.contains_key(&element.process_instance_key)
            && let Some(finished) = api.read_model.finished_instance(element.process_instance_key)
            && let Ok(definition_key) = finished.process_definition_key.parse()
        {
            definitions.insert(element.process_instance_key, (definition_key, finished.bpmn_process_id));
        }
    }
    let wanted: Vec<(i64, String)> = ended
        .iter()
        .filter_map(|e| definitions.get(&e.process_instance_key).map(|(key, _)| (*key, e.element_id.clone())))
        .collect();
    let names: HashMap<(i64, String), String> = api
        .broker
        .query(DEPLOYMENT_PARTITION, move |state| {
            wanted
                .into_iter()
                .filter_map(|(definition, id)| {
                    let name = state.processes.get(&definition)?.graph.element_by_id(&id)?.name.clone()?;
                    Some(((definition, id), name))
                })
                .collect()
        })
        .await?;
    for element in ended {
        let Some((definition_key, process_id)) = definitions.get(&element.process_instance_key) else {
            continue;
        };
        let name = names.get(&(*definition_key, element.element_id.clone())).cloned();
        items.push(item(ElementInstanceItem {
            element_instance_key: element.key.to_string(),
            process_instance_key: element.process_instance_key.to_string(),
            process_definition_key: definition_key.to_string(),
            process_definition_id: process_id.clone(),
            start_date: element.start_time.and_then(date),
            end_date: element.end_time.and_then(date),
            element_name: name.unwrap_or_else(|| element.element_id.clone()),
            element_id: element.element_id,
            element_type: element.element_type,
            state: element.state,
            has_incident: false,
            incident_key: None,
            tenant_id: DEFAULT_TENANT,
            flow_scope_key: element.flow_scope_key.to_string(),
        }));
    }
    Ok(items)
}

async fn search_element_instances(
    State(api): State<Api>,
    OptionalJsonBody(request): OptionalJsonBody<SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    let items = element_instance_items(&api, None).await?;
    search(&ELEMENT_INSTANCES, request, items)
}

async fn get_element_instance(State(api): State<Api>, Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    let key = path_key(&key)?;
    if api.partition_of(key).is_none() {
        return Err(not_found("Element Instance", key));
    }
    let mut items = element_instance_items(&api, Some(key)).await?;
    let mut item = items.pop().ok_or_else(|| not_found("Element Instance", key))?;
    item.retain(|field, _| !field.starts_with('_'));
    Ok(Json(Value::Object(item)))
}

// ---------------------------------------------------------------------------------------------
// Variables

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VariableItem {
    name: String,
    /// The value as JSON text, as Camunda stores it.
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_truncated: Option<bool>,
    tenant_id: &'static str,
    variable_key: String,
    scope_key: String,
    process_instance_key: String,
}

pub(super) const VARIABLES: Schema = Schema {
    entity: "variable",
    key_field: "variableKey",
    filters: &[
        ("name", "name", Kind::Text),
        ("value", "value", Kind::Text),
        ("tenantId", "tenantId", Kind::Text),
        ("isTruncated", "isTruncated", Kind::Boolean),
        ("variableKey", "variableKey", Kind::Key),
        ("scopeKey", "scopeKey", Kind::Key),
        ("processInstanceKey", "processInstanceKey", Kind::Key),
    ],
    sorts: &["value", "name", "tenantId", "variableKey", "scopeKey", "processInstanceKey"],
};

/// The variables of a partition's live scopes (or the one with key `only`); `preview` cuts
/// long values as Camunda's searches do.
fn variables(state: &PartitionState, only: Option<i64>, preview: bool) -> Vec<Map<String, Value>> {
    state.variables.keys().flat_map(|scope| scope_variables(state, *scope, only, preview)).collect()
}

/// The variables of one scope (or the one with key `only`), as items.
pub(super) fn scope_variables(
    state: &PartitionState,
    scope: i64,
    only: Option<i64>,
    preview: bool,
) -> Vec<Map<String, Value>> {
    let Some(variables) = state.variables.get(&scope) else {
        return Vec::new();
    };
    let instance = state.element_instances.get(&scope).map_or(scope, |e| e.value.process_instance_key);
    variables
        .iter()
        .filter(|(_, variable)| only.is_none_or(|key| key == variable.key))
        .map(|(name, variable)| {
            variable_item(name.to_string(), &variable.value, preview, variable.key, scope, instance)
        })
        .collect()
}

/// A variable as an item: its value as JSON text, cut to a preview in searches as Camunda's are.
fn variable_item(
    name: String,
    value: &Value,
    preview: bool,
    variable_key: i64,
    scope_key: i64,
    process_instance_key: i64,
) -> Map<String, Value> {
    let mut value = value.to_string();
    let truncated = preview && value.chars().count() > VALUE_PREVIEW_CHARS;
    if truncated {
        value = value.chars().take(VALUE_PREVIEW_CHARS).collect();
    }
    item(VariableItem {
        name,
        value,
        is_truncated: preview.then_some(truncated),
        tenant_id: DEFAULT_TENANT,
        variable_key: variable_key.to_string(),
        scope_key: scope_key.to_string(),
        process_instance_key: process_instance_key.to_string(),
    })
}

async fn search_variables(
    State(api): State<Api>,
    OptionalJsonBody(request): OptionalJsonBody<SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    let mut items = api.gather(None, |state| variables(state, None, true)).await?;
    api.sync_read_model().await;
    items.extend(api.read_model.variables_of_finished().into_iter().filter_map(|v| finished_variable(v, true)));
    search(&VARIABLES, request, items)
}

/// A variable of a finished instance, from its history; none when its value was too large to
/// keep there.
fn finished_variable(variable: VariableSeen, preview: bool) -> Option<Map<String, Value>> {
    let value = variable.value?;
    Some(variable_item(variable.name, &value, preview, variable.key, variable.scope_key, variable.process_instance_key))
}

async fn get_variable(State(api): State<Api>, Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    let key = path_key(&key)?;
    if api.partition_of(key).is_none() {
        return Err(not_found("Variable", key));
    }
    let mut items = api.gather(Some(key), move |state| variables(state, Some(key), false)).await?;
    if items.is_empty() {
        api.sync_read_model().await;
        let finished = api.read_model.variables_of_finished().into_iter().find(|v| v.key == key);
        items.extend(finished.and_then(|v| finished_variable(v, false)));
    }
    items.pop().map(|item| Json(Value::Object(item))).ok_or_else(|| not_found("Variable", key))
}

// ---------------------------------------------------------------------------------------------
// Incidents

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct IncidentItem {
    incident_key: String,
    process_definition_key: String,
    process_definition_id: String,
    process_instance_key: String,
    error_type: &'static str,
    error_message: String,
    element_id: String,
    element_instance_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    creation_time: Option<String>,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_key: Option<String>,
    tenant_id: &'static str,
}

const INCIDENTS: Schema = Schema {
    entity: "incident",
    key_field: "incidentKey",
    filters: &[
        ("processDefinitionId", "processDefinitionId", Kind::Text),
        ("errorType", "errorType", Kind::Text),
        ("errorMessage", "errorMessage", Kind::Text),
        ("elementId", "elementId", Kind::Text),
        ("creationTime", "creationTime", Kind::Date),
        ("state", "state", Kind::Text),
        ("tenantId", "tenantId", Kind::Text),
        ("incidentKey", "incidentKey", Kind::Key),
        ("processDefinitionKey", "processDefinitionKey", Kind::Key),
        ("processInstanceKey", "processInstanceKey", Kind::Key),
        ("elementInstanceKey", "elementInstanceKey", Kind::Key),
        ("jobKey", "jobKey", Kind::Key),
    ],
    sorts: &[
        "incidentKey",
        "processDefinitionKey",
        "processDefinitionId",
        "processInstanceKey",
        "errorType",
        "errorMessage",
        "elementId",
        "elementInstanceKey",
        "creationTime",
        "state",
        "jobKey",
        "tenantId",
    ],
};

/// Open incidents only: a resolved incident leaves the state.
fn incidents(state: &PartitionState, only: Option<i64>) -> Vec<(i64, IncidentItem)> {
    state
        .incidents
        .iter()
        .filter(|(key, _)| only.is_none_or(|only| only == **key))
        .map(|(key, incident)| {
            let item = IncidentItem {
                incident_key: key.to_string(),
                process_definition_key: incident.process_definition_key.to_string(),
                process_definition_id: incident.bpmn_process_id.to_string(),
                process_instance_key: incident.process_instance_key.to_string(),
                error_type: incident.error_type.as_str(),
                error_message: incident.error_message.clone(),
                element_id: incident.element_id.to_string(),
                element_instance_key: incident.element_instance_key.to_string(),
                creation_time: None,
                state: "ACTIVE",
                job_key: positive(incident.job_key),
                tenant_id: DEFAULT_TENANT,
            };
            (*key, item)
        })
        .collect()
}

async fn incident_items(api: &Api, only: Option<i64>) -> Result<Vec<Map<String, Value>>, ApiError> {
    let mut found = api.gather(only, move |state| incidents(state, only)).await?;
    api.sync_read_model().await;
    let created = api.read_model.start_times(found.iter().map(|(key, _)| *key));
    for (key, item) in &mut found {
        item.creation_time = created.get(key).copied().and_then(date);
    }
    Ok(found.into_iter().map(|(_, i)| item(i)).collect())
}

async fn search_incidents(
    State(api): State<Api>,
    OptionalJsonBody(request): OptionalJsonBody<SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    let items = incident_items(&api, None).await?;
    search(&INCIDENTS, request, items)
}

async fn get_incident(State(api): State<Api>, Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    let key = path_key(&key)?;
    if api.partition_of(key).is_none() {
        return Err(not_found("Incident", key));
    }
    let mut items = incident_items(&api, Some(key)).await?;
    items.pop().map(|item| Json(Value::Object(item))).ok_or_else(|| not_found("Incident", key))
}

// ---------------------------------------------------------------------------------------------
// Decision definitions and decision requirements (DRGs)

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DecisionDefinitionItem {
    decision_definition_id: String,
    name: String,
    version: i32,
    decision_requirements_id: String,
    tenant_id: &'static str,
    decision_definition_key: String,
    decision_requirements_key: String,
}

const DECISION_DEFINITIONS: Schema = Schema {
    entity: "decision definition",
    key_field: "decisionDefinitionKey",
    filters: &[
        ("decisionDefinitionId", "decisionDefinitionId", Kind::Text),
        ("name", "name", Kind::Text),
        ("version", "version", Kind::Integer),
        ("decisionRequirementsId", "decisionRequirementsId", Kind::Text),
        ("tenantId", "tenantId", Kind::Text),
        ("decisionDefinitionKey", "decisionDefinitionKey", Kind::Key),
        ("decisionRequirementsKey", "decisionRequirementsKey", Kind::Key),
    ],
    sorts: &[
        "decisionDefinitionKey",
        "decisionDefinitionId",
        "name",
        "version",
        "decisionRequirementsId",
        "decisionRequirementsKey",
        "tenantId",
    ],
};

fn decision_definitions(state: &PartitionState, only: Option<i64>) -> Vec<Map<String, Value>> {
    state
        .decisions
        .iter()
        .filter(|(key, _)| only.is_none_or(|only| only == **key))
        .map(|(key, decision)| {
            item(DecisionDefinitionItem {
                decision_definition_id: decision.decision_id.clone(),
                name: decision.decision_name.clone(),
                version: decision.version,
                decision_requirements_id: decision.decision_requirements_id.clone(),
                tenant_id: DEFAULT_TENANT,
                decision_definition_key: key.to_string(),
                decision_requirements_key: decision.decision_requirements_key.to_string(),
            })
        })
        .collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DecisionRequirementsItem {
    decision_requirements_name: String,
    version: i32,
    decision_requirements_id: String,
    resource_name: String,
    tenant_id: &'static str,
    decision_requirements_key: String,
}

const DECISION_REQUIREMENTS: Schema = Schema {
    entity: "decision requirements",
    key_field: "decisionRequirementsKey",
    filters: &[
        ("decisionRequirementsName", "decisionRequirementsName", Kind::Text),
        ("version", "version", Kind::Integer),
        ("decisionRequirementsId", "decisionRequirementsId", Kind::Text),
        ("tenantId", "tenantId", Kind::Text),
        ("decisionRequirementsKey", "decisionRequirementsKey", Kind::Key),
    ],
    sorts: &["decisionRequirementsKey", "decisionRequirementsName", "version", "decisionRequirementsId", "tenantId"],
};

fn decision_requirements(state: &PartitionState, only: Option<i64>) -> Vec<Map<String, Value>> {
    state
        .decision_requirements
        .iter()
        .filter(|(key, _)| only.is_none_or(|only| only == **key))
        .map(|(key, drg)| {
            let metadata = &drg.record.metadata;
            item(DecisionRequirementsItem {
                decision_requirements_name: metadata.decision_requirements_name.clone(),
                version: metadata.version,
                decision_requirements_id: metadata.decision_requirements_id.clone(),
                resource_name: metadata.resource_name.clone(),
                tenant_id: DEFAULT_TENANT,
                decision_requirements_key: key.to_string(),
            })
        })
        .collect()
}

async fn search_decision_definitions(
    State(api): State<Api>,
    OptionalJsonBody(request): OptionalJsonBody<SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    let items = api.broker.query(DEPLOYMENT_PARTITION, |state| decision_definitions(state, None)).await?;
    search(&DECISION_DEFINITIONS, request, items)
}

async fn get_decision_definition(State(api): State<Api>, Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    let key = path_key(&key)?;
    let mut items = api.broker.query(DEPLOYMENT_PARTITION, move |state| decision_definitions(state, Some(key))).await?;
    items.pop().map(|item| Json(Value::Object(item))).ok_or_else(|| not_found("Decision Definition", key))
}

async fn search_decision_requirements(
    State(api): State<Api>,
    OptionalJsonBody(request): OptionalJsonBody<SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    let items = api.broker.query(DEPLOYMENT_PARTITION, |state| decision_requirements(state, None)).await?;
    search(&DECISION_REQUIREMENTS, request, items)
}

async fn get_decision_requirements(State(api): State<Api>, Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    let key = path_key(&key)?;
    let mut items =
        api.broker.query(DEPLOYMENT_PARTITION, move |state| decision_requirements(state, Some(key))).await?;
    items.pop().map(|item| Json(Value::Object(item))).ok_or_else(|| not_found("Decision Requirements", key))
}

/// The DMN resource a decision was deployed in.
async fn get_decision_definition_xml(State(api): State<Api>, Path(key): Path<String>) -> Result<Response, ApiError> {
    let key = path_key(&key)?;
    let resource = api
        .broker
        .query(DEPLOYMENT_PARTITION, move |state| {
            let drg = state.decisions.get(&key)?.decision_requirements_key;
            state.decision_requirements.get(&drg).map(|drg| drg.record.resource.clone())
        })
        .await?
        .ok_or_else(|| not_found("Decision Definition", key))?;
    Ok(xml(resource))
}

async fn get_decision_requirements_xml(State(api): State<Api>, Path(key): Path<String>) -> Result<Response, ApiError> {
    let key = path_key(&key)?;
    let resource = api
        .broker
        .query(DEPLOYMENT_PARTITION, move |state| {
            state.decision_requirements.get(&key).map(|drg| drg.record.resource.clone())
        })
        .await?
        .ok_or_else(|| not_found("Decision Requirements", key))?;
    Ok(xml(resource))
}

fn xml(resource: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, resource).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

// ---------------------------------------------------------------------------------------------
// Jobs

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JobItem {
    job_key: String,
    #[serde(rename = "type")]
    job_type: String,
    worker: String,
    state: &'static str,
    kind: &'static str,
    listener_event_type: &'static str,
    retries: i32,
    has_failed_with_retries_left: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    deadline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    custom_headers: Map<String, Value>,
    element_id: String,
    element_instance_key: String,
    process_definition_id: String,
    process_definition_key: String,
    process_instance_key: String,
    tenant_id: &'static str,
}

const JOBS: Schema = Schema {
    entity: "job",
    key_field: "jobKey",
    filters: &[
        ("deadline", "deadline", Kind::Date),
        ("elementId", "elementId", Kind::Text),
        ("elementInstanceKey", "elementInstanceKey", Kind::Key),
        ("errorCode", "errorCode", Kind::Text),
        ("errorMessage", "errorMessage", Kind::Text),
        ("hasFailedWithRetriesLeft", "hasFailedWithRetriesLeft", Kind::Boolean),
        ("jobKey", "jobKey", Kind::Key),
        ("kind", "kind", Kind::Text),
        ("listenerEventType", "listenerEventType", Kind::Text),
        ("processDefinitionId", "processDefinitionId", Kind::Text),
        ("processDefinitionKey", "processDefinitionKey", Kind::Key),
        ("processInstanceKey", "processInstanceKey", Kind::Key),
        ("retries", "retries", Kind::Integer),
        ("state", "state", Kind::Text),
        ("tenantId", "tenantId", Kind::Text),
        ("type", "type", Kind::Text),
        ("worker", "worker", Kind::Text),
    ],
    sorts: &[
        "deadline",
        "elementId",
        "elementInstanceKey",
        "errorCode",
        "errorMessage",
        "hasFailedWithRetriesLeft",
        "jobKey",
        "kind",
        "listenerEventType",
        "processDefinitionId",
        "processDefinitionKey",
        "processInstanceKey",
        "retries",
        "state",
        "tenantId",
        "type",
        "worker",
    ],
};

/// The jobs a partition holds: those not yet completed or cancelled. Camunda's job states are
/// the last thing that happened to a job; for a live one that is its creation, a failure or a
/// thrown error.
fn jobs(state: &PartitionState) -> Vec<Map<String, Value>> {
    use baton_engine::state::JobState;
    state
        .jobs
        .values()
        .map(|job| {
            let record = &job.record;
            let (job_state, failed_with_retries) = match job.state {
                JobState::Activatable | JobState::Activated => {
                    ("CREATED", !record.error_message.is_empty() && record.retries > 0)
                }
                JobState::BackingOff => ("FAILED", true),
                JobState::Failed => ("FAILED", false),
                JobState::ErrorThrown => ("ERROR_THROWN", false),
            };
            item(JobItem {
                job_key: job.key.to_string(),
                job_type: record.job_type.to_string(),
                worker: record.worker.clone(),
                state: job_state,
                kind: super::wire::job_kind(record.kind),
                listener_event_type: super::wire::listener_event_type(record.listener_event_type),
                retries: record.retries,
                has_failed_with_retries_left: failed_with_retries,
                deadline: (job.state == JobState::Activated).then_some(record.deadline_ms).and_then(date),
                error_code: Some(record.error_code.clone()).filter(|code| !code.is_empty()),
                error_message: Some(record.error_message.clone()).filter(|message| !message.is_empty()),
                custom_headers: (*record.custom_headers).clone(),
                element_id: record.element_id.to_string(),
                element_instance_key: record.element_instance_key.to_string(),
                process_definition_id: record.bpmn_process_id.to_string(),
                process_definition_key: record.process_definition_key.to_string(),
                process_instance_key: record.process_instance_key.to_string(),
                tenant_id: DEFAULT_TENANT,
            })
        })
        .collect()
}

async fn search_jobs(
    State(api): State<Api>,
    OptionalJsonBody(request): OptionalJsonBody<SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    let items = api.gather(None, jobs).await?;
    search(&JOBS, request, items)
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_patterns() {
        assert!(like("order-42", "order-*"));
        assert!(like("order-42", "*42"));
        assert!(like("order-42", "order-??"));
        assert!(!like("order-42", "order-?"));
        assert!(like("a*b", "a\\*b"));
        assert!(!like("axb", "a\\*b"));
        assert!(like("", "*"));
        assert!(!like("x", ""));
    }
}
