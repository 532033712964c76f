//! The one place where failures become HTTP answers: every handler returns [`ApiError`], which
//! renders an RFC 9457 problem document (`application/problem+json`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_engine::{Record, RecordType, RejectionType};
use baton_runtime::Error as RuntimeError;
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// How long a client should wait after back-pressure before it retries, in seconds. Partition
/// queues drain in milliseconds, so the smallest value the header can say is the right one.
const RETRY_AFTER_SECONDS: u32 = 1;

/// An RFC 9457 problem document. The router adds `instance`, the path of the request it
/// answers.
///
/// `type` is `about:blank` only for errors of the HTTP layer itself (no such route, wrong
/// method), where `title` is the status phrase; every error of the API has a
/// `urn:baton:problem:…` type and a Zeebe-style code as its `title` (`NOT_FOUND`,
/// `INVALID_STATE`, …), and `detail` says what happened, for engine rejections worded as
/// Zeebe does: `Command 'COMPLETE' rejected with code 'NOT_FOUND': …`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

/// A failed request. Handlers build it from engine rejections, runtime errors or their own
/// validation; [`IntoResponse`] renders it.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    /// `true` for errors of the HTTP layer (unknown route or method): `type` is then
    /// `about:blank`, which lets clients (and the route test) tell them from API errors.
    http_layer: bool,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError { status, code, detail: detail.into(), http_layer: false }
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "INVALID_STATE", detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", detail)
    }

    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", detail)
    }

    /// A request the extractors refused (malformed JSON, wrong content type, body too large):
    /// keeps axum's status, words it as a problem.
    pub fn rejected_request(status: StatusCode, detail: impl Into<String>) -> ApiError {
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
            _ => "INVALID_ARGUMENT",
        };
        // 422 (well-formed JSON of the wrong shape) is still the caller's invalid argument.
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY { StatusCode::BAD_REQUEST } else { status };
        ApiError::new(status, code, detail)
    }

    /// Errors of the router itself, not of the API: no route for the path, or not this method.
    pub fn http_layer(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError { status, code: "", detail: detail.into(), http_layer: true }
    }

    /// The problem for an engine rejection, worded exactly as Zeebe's gateway words it because
    /// users search for these texts and some clients match on them. `None` for an accepted
    /// command.
    pub fn from_rejection(record: &Record) -> Option<ApiError> {
        if record.record_type != RecordType::CommandRejection {
            return None;
        }
        let (rejection_type, reason) = match &record.rejection {
            Some(rejection) => (Some(rejection.rejection_type), rejection.reason.as_str()),
            None => (None, "no reason given"),
        };
        let status = match rejection_type {
            Some(RejectionType::NotFound) => StatusCode::NOT_FOUND,
            Some(RejectionType::InvalidArgument) => StatusCode::BAD_REQUEST,
            Some(RejectionType::AlreadyExists | RejectionType::InvalidState) => StatusCode::CONFLICT,
            Some(RejectionType::ProcessingError) | None => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let code = rejection_type.map_or("UNKNOWN", RejectionType::as_str);
        Some(ApiError::new(
            status,
            code,
            format!("Command '{}' rejected with code '{code}': {reason}", record.intent.as_str()),
        ))
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    fn problem(&self) -> Problem {
        if self.http_layer {
            return Problem {
                problem_type: "about:blank".to_string(),
                title: self.status.canonical_reason().unwrap_or("Error").to_string(),
                status: self.status.as_u16(),
                detail: self.detail.clone(),
            };
        }
        Problem {
            problem_type: format!("urn:baton:problem:{}", self.code.to_ascii_lowercase().replace('_', "-")),
            title: self.code.to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
        }
    }
}

impl From<RuntimeError> for ApiError {
    /// The command may not have been processed at all; the status tells the client whether
    /// retrying is worthwhile (429, 503) or the wait was too long (504).
    fn from(error: RuntimeError) -> ApiError {
        match error {
            RuntimeError::Backpressure(_) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                format!("Expected to handle the request, but the broker rejected it due to back-pressure: {error}"),
            ),
            RuntimeError::Unavailable(_) => ApiError::unavailable(error.to_string()),
            RuntimeError::Timeout(_) => {
                ApiError::new(StatusCode::GATEWAY_TIMEOUT, "DEADLINE_EXCEEDED", error.to_string())
            }
            RuntimeError::Storage(_) => ApiError::internal(error.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}

/// Turns the broker's answer into the accepted event, or the problem its rejection maps to.
pub fn accepted(result: Result<Record, RuntimeError>) -> Result<Record, ApiError> {
    let record = result?;
    match ApiError::from_rejection(&record) {
        Some(error) => Err(error),
        None => Ok(record),
    }
}

/// A record of another kind than the command is answered with: a bug, not the caller's fault.
pub fn unexpected_answer(record: &Record, wanted: &str) -> ApiError {
    ApiError::internal(format!(
        "Expected the broker to answer with a {wanted} record, but it answered with {} {}",
        record.value_type().as_str(),
        record.intent.as_str()
    ))
}
