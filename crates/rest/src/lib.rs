//! Baton's REST API: the Zeebe commands (deploy, create and cancel instances, activate and
//! complete jobs, …) as JSON over HTTP, plus the read-only queries an operator needs (process
//! definitions and their XML, instances with their element instances, variables, incidents and
//! jobs, the record history of an instance), with an OpenAPI document generated from the code
//! at `GET /openapi.json`. `baton serve` mounts it on `--http-addr` (port 8080 by default).
//!
//! # Shape
//!
//! [`router`] (or [`start`], to configure it and keep a handle on the read model) builds an
//! `axum::Router` over a [`Broker`]; tests drive it without a socket. Handlers only translate:
//! requests are validated and turned into engine commands in `commands`, queries read the
//! partitions' state through `Broker::query` in `queries`, and the JSON types live in `wire`,
//! converted by hand so that no engine type is part of the API.
//!
//! * **Keys are strings** in every response (`"2251799813685249"`): they use all 64 bits and
//!   JavaScript would round them as numbers. Requests accept strings or numbers.
//! * **Errors** are RFC 9457 problem documents (`application/problem+json`) built in one place,
//!   `error::ApiError`. Engine rejections map NOT_FOUND → 404, INVALID_ARGUMENT → 400,
//!   ALREADY_EXISTS and INVALID_STATE → 409, PROCESSING_ERROR → 500, with Zeebe's wording in
//!   `detail` (`Command 'COMPLETE' rejected with code 'NOT_FOUND': …`); back-pressure → 429
//!   with `Retry-After`, unavailable → 503, time-out → 504. Unknown routes and methods are
//!   problems too, with `type: about:blank`, which no API error uses.
//! * **Read-your-writes**: a query after a successful command sees its effect, also in the read
//!   model (see `read_model`).
//!
//! # The read model (not durable, bounded)
//!
//! The partitions' state forgets an instance when it ends. Finished instances
//! (`GET /v1/process-instances?state=completed|terminated`) and instance histories
//! (`GET /v1/process-instances/{key}/history`) therefore come from an in-memory read model fed
//! by `Broker::subscribe` from a task that [`start`] spawns. It starts empty at every start of
//! the server, keeps the last 10,000 finished instances, 1,000 records per instance and
//! 200,000 records in all by default ([`Limits`]); a history says whether it is `complete`.
//! The task ends when the broker or the router is gone.

mod commands;
mod error;
mod extract;
mod operations;
mod queries;
mod read_model;
mod v2;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use baton_runtime::Broker;
use tokio::sync::watch;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use crate::error::{ApiError, PROBLEM_JSON, Problem};
pub use crate::read_model::{Limits, ReadModel};

/// Request bodies up to this size: BPMN files with large diagrams run to a few MiB.
const BODY_LIMIT_BYTES: usize = 16 << 20;

/// How the API runs, beyond the broker.
#[derive(Debug, Clone)]
pub struct Config {
    /// Long poll of a job activation that gives no `requestTimeoutMs` (or 0), as in Zeebe.
    pub long_poll_default: Duration,
    /// Wait of an `awaitResult` creation that gives no `requestTimeoutMs`.
    pub result_timeout_default: Duration,
    /// How long a query waits for the read model to catch up before answering from what it has.
    pub read_model_sync_timeout: Duration,
    pub read_model: Limits,
    /// When it turns true, long polls and awaited results end at once, so a graceful shutdown
    /// of the HTTP server is not held up by them.
    pub shutdown: Option<watch::Receiver<bool>>,
    /// Where the gRPC gateway listens, for the `/v2/topology` answer.
    pub grpc_address: SocketAddr,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            long_poll_default: Duration::from_secs(10),
            result_timeout_default: Duration::from_secs(10),
            read_model_sync_timeout: Duration::from_secs(5),
            read_model: Limits::default(),
            shutdown: None,
            grpc_address: SocketAddr::from(([127, 0, 0, 1], 26500)),
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct Api {
    broker: Broker,
    read_model: ReadModel,
    settings: Arc<Settings>,
    stopping: Option<watch::Receiver<bool>>,
}

pub(crate) struct Settings {
    long_poll_default: Duration,
    result_timeout_default: Duration,
    read_model_sync_timeout: Duration,
    grpc_address: (String, u16),
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Baton REST API",
        description = "Zeebe-style commands and operator queries over Baton. Keys are strings \
                       (64-bit); errors are RFC 9457 problem documents. Completed/terminated \
                       instances and histories come from a bounded in-memory read model that \
                       starts empty with the server."
    ),
    tags(
        (name = "deployments", description = "Deploying BPMN resources"),
        (name = "process-definitions", description = "Deployed process definitions"),
        (name = "process-instances", description = "Creating, cancelling and inspecting instances"),
        (name = "jobs", description = "Activating and finishing jobs"),
        (name = "incidents", description = "Inspecting and resolving incidents"),
    )
)]
struct ApiDoc;

/// Every documented route; the OpenAPI document is generated from the same list, so the two
/// cannot disagree.
fn api_routes() -> OpenApiRouter<Api> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(commands::deploy))
        .routes(routes!(queries::list_process_definitions))
        .routes(routes!(queries::get_process_definition))
        .routes(routes!(queries::get_process_definition_xml))
        .routes(routes!(commands::create_process_instance, queries::list_process_instances))
        .routes(routes!(queries::get_process_instance))
        .routes(routes!(queries::get_process_instance_history))
        .routes(routes!(commands::cancel_process_instance))
        .routes(routes!(commands::set_variables))
        .routes(routes!(commands::activate_jobs))
        .routes(routes!(queries::list_jobs))
        .routes(routes!(queries::get_job, commands::update_job))
        .routes(routes!(commands::complete_job))
        .routes(routes!(commands::fail_job))
        .routes(routes!(commands::throw_error))
        .routes(routes!(queries::list_incidents))
        .routes(routes!(queries::get_incident))
        .routes(routes!(commands::resolve_incident))
        .routes(routes!(operations::publish_message))
        .routes(routes!(operations::broadcast_signal))
        .routes(routes!(operations::modify_process_instance))
        .routes(routes!(operations::migrate_process_instance))
        .routes(routes!(operations::delete_resource))
        .routes(routes!(operations::evaluate_decision))
}

/// The OpenAPI document of the API, as served at `GET /openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

/// The API with the default [`Config`]. Must be called inside a Tokio runtime (it spawns the
/// read model's task).
pub fn router(broker: Broker) -> axum::Router {
    start(broker, Config::default()).0
}

/// The API and a handle on its read model. Subscribes to the broker before it returns, so the
/// read model sees every record committed after this call. Must be called inside a Tokio
/// runtime.
pub fn start(broker: Broker, config: Config) -> (axum::Router, ReadModel) {
    let read_model = ReadModel::start(&broker, config.read_model.clone());
    let api = Api {
        broker,
        read_model: read_model.clone(),
        settings: Arc::new(Settings {
            long_poll_default: config.long_poll_default,
            result_timeout_default: config.result_timeout_default,
            read_model_sync_timeout: config.read_model_sync_timeout,
            grpc_address: (config.grpc_address.ip().to_string(), config.grpc_address.port()),
        }),
        stopping: config.shutdown,
    };
    let (routes, openapi) = api_routes().split_for_parts();
    // Rendered once: the document never changes while the server runs.
    let document: Arc<str> = Arc::from(openapi.to_pretty_json().unwrap_or_else(|_| "{}".to_string()));
    let router =
        routes
            .merge(v2::routes())
            .route(
                "/openapi.json",
                axum::routing::get(move || {
                    let document = document.clone();
                    async move {
                        ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], document.to_string())
                    }
                }),
            )
            .fallback(no_route)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(axum::middleware::from_fn(problem_instance))
            .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
            .with_state(api);
    (router, read_model)
}

/// Names the request in every problem document (`instance`, RFC 9457), as Camunda's API does:
/// handlers build problems without knowing the path they answer.
async fn problem_instance(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let is_problem = response.headers().get(header::CONTENT_TYPE).is_some_and(|value| value == PROBLEM_JSON);
    if !is_problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Problems are a few hundred bytes; anything else is passed on as it came.
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let body = match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes) {
        Ok(mut problem) => {
            problem.entry("instance").or_insert(serde_json::Value::String(path));
            serde_json::to_vec(&problem).unwrap_or_else(|_| bytes.to_vec())
        }
        Err(_) => bytes.to_vec(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

async fn no_route(method: Method, uri: Uri) -> Response {
    ApiError::http_layer(StatusCode::NOT_FOUND, format!("There is no route for {method} {}", uri.path()))
        .into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    ApiError::http_layer(StatusCode::METHOD_NOT_ALLOWED, format!("{} does not accept {method}", uri.path()))
        .into_response()
}
