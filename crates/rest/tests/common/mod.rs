//! Shared helpers: an in-memory broker behind the router, and one-shot HTTP calls without a
//! socket.

#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use baton_runtime::{Broker, Options};
use serde_json::Value;
use tower::ServiceExt;

pub struct Server {
    pub broker: Broker,
    pub router: Router,
}

impl Server {
    pub fn new(partitions: u32) -> Server {
        let broker = Broker::open(Options { data_dir: None, partitions, ..Options::default() }).expect("open broker");
        let router = baton_rest::router(broker.clone());
        Server { broker, router }
    }

    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let request = Request::builder().method(method).uri(uri);
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .expect("request"),
            None => request.body(Body::empty()).expect("request"),
        };
        self.send(request).await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let content_type =
            response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let retry_after = response.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap_or("").to_string());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        Reply { status, content_type, retry_after, bytes: bytes.to_vec() }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.call(Method::GET, uri, None).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::POST, uri, Some(body)).await
    }

    /// Deploys `xml` as `name` and returns the definition key of its (only) process.
    pub async fn deploy(&self, name: &str, xml: &str) -> String {
        let reply =
            self.post("/v1/deployments", serde_json::json!({"resources": [{"name": name, "content": xml}]})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()["processes"][0]["processDefinitionKey"].as_str().expect("definition key").to_string()
    }

    pub async fn create(&self, id: &str, variables: Value) -> String {
        let reply =
            self.post("/v1/process-instances", serde_json::json!({"bpmnProcessId": id, "variables": variables})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()["processInstanceKey"].as_str().expect("instance key").to_string()
    }

    /// Activates jobs of `job_type` without long polling.
    pub async fn activate(&self, job_type: &str, max: i32) -> Vec<Value> {
        let reply = self
            .post(
                "/v1/jobs/activation",
                serde_json::json!({
                    "type": job_type, "worker": "test", "timeoutMs": 60_000,
                    "maxJobsToActivate": max, "requestTimeoutMs": -1
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()["jobs"].as_array().expect("jobs").clone()
    }

    pub async fn shutdown(self) {
        drop(self.router);
        self.broker.shutdown().await.expect("shutdown");
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub retry_after: Option<String>,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).to_string()
    }

    pub fn is_problem(&self) -> bool {
        self.content_type == baton_rest::PROBLEM_JSON
    }

    /// Asserts a problem document with `status` and returns it.
    pub fn problem(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert!(self.is_problem(), "content type {} for {}", self.content_type, self.text());
        let problem = self.json();
        assert_eq!(problem["status"], status.as_u16(), "{problem}");
        assert!(problem["type"].is_string() && problem["title"].is_string() && problem["detail"].is_string());
        assert!(problem["instance"].as_str().is_some_and(|path| path.starts_with('/')), "{problem}");
        problem
    }
}

/// A process `id` with a chain of service tasks, one per job type.
pub fn process_xml(id: &str, job_types: &[&str]) -> String {
    let mut body = String::from(r#"<bpmn:startEvent id="start"/>"#);
    let mut previous = "start".to_string();
    for (index, job_type) in job_types.iter().enumerate() {
        let task = format!("task_{}", index + 1);
        body.push_str(&format!(
            r#"<bpmn:serviceTask id="{task}"><bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/></bpmn:extensionElements></bpmn:serviceTask>"#
        ));
        body.push_str(&format!(r#"<bpmn:sequenceFlow id="to_{task}" sourceRef="{previous}" targetRef="{task}"/>"#));
        previous = task;
    }
    body.push_str(r#"<bpmn:endEvent id="end"/>"#);
    body.push_str(&format!(r#"<bpmn:sequenceFlow id="to_end" sourceRef="{previous}" targetRef="end"/>"#));
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs_{id}" targetNamespace="http://bpmn.io/schema/bpmn"><bpmn:process id="{id}" isExecutable="true">{body}</bpmn:process></bpmn:definitions>"#
    )
}
