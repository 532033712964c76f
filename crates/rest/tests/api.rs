//! The REST API over an in-memory broker, called without a socket: the command flow, the
//! queries (read-your-writes included), errors as problem documents, and the OpenAPI document
//! against the routes that actually answer.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use baton_runtime::{Broker, Options};
use common::{Server, process_xml};
use serde_json::{Value, json};

fn keys(list: &Value, field: &str) -> Vec<String> {
    list.as_array().expect("array").iter().map(|item| item[field].as_str().expect("key").to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_create_activate_complete_and_inspect() {
    let server = Server::new(2);
    let xml = process_xml("order", &["charge"]);
    let definition = server.deploy("order.bpmn", &xml).await;

    let definitions = server.get("/v1/process-definitions").await.json();
    assert_eq!(keys(&definitions, "processDefinitionKey"), vec![definition.clone()]);
    assert_eq!(definitions[0]["bpmnProcessId"], "order");
    assert_eq!(definitions[0]["version"], 1);
    assert_eq!(definitions[0]["resourceName"], "order.bpmn");
    let one = server.get(&format!("/v1/process-definitions/{definition}")).await;
    assert_eq!(one.json()["bpmnProcessId"], "order");
    let reply = server.get(&format!("/v1/process-definitions/{definition}/xml")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type, "application/xml");
    assert_eq!(reply.text(), xml);

    let instance = server.create("order", json!({"amount": 42})).await;

    // Read-your-writes: the instance is visible at once, with its elements, variables and job.
    let detail = server.get(&format!("/v1/process-instances/{instance}")).await.json();
    assert_eq!(detail["state"], "ACTIVE");
    assert_eq!(detail["processDefinitionKey"], definition);
    assert!(detail["startTime"].as_i64().is_some_and(|ms| ms > 0), "{detail}");
    let elements = detail["elementInstances"].as_array().unwrap();
    assert_eq!(elements[0]["elementType"], "PROCESS");
    assert_eq!(elements[0]["elementInstanceKey"], instance);
    let task = elements.iter().find(|e| e["elementId"] == "task_1").expect("task element");
    assert_eq!(task["elementType"], "SERVICE_TASK");
    assert_eq!(task["flowScopeKey"], instance);
    assert_eq!(
        detail["variables"],
        json!([{
            "variableKey": detail["variables"][0]["variableKey"], "scopeKey": instance, "name": "amount", "value": 42
        }])
    );
    assert_eq!(detail["jobs"][0]["state"], "ACTIVATABLE");
    assert_eq!(detail["jobs"][0]["type"], "charge");

    let listed = server.get("/v1/process-instances?state=active&bpmnProcessId=order").await.json();
    assert_eq!(keys(&listed, "processInstanceKey"), vec![instance.clone()]);
    let listed = server.get(&format!("/v1/process-instances?processDefinitionKey={definition}")).await.json();
    assert_eq!(keys(&listed, "processInstanceKey"), vec![instance.clone()]);
    let none = server.get("/v1/process-instances?bpmnProcessId=other").await.json();
    assert_eq!(none, json!([]));

    let activatable = server.get("/v1/jobs?type=charge&state=activatable").await.json();
    assert_eq!(activatable.as_array().unwrap().len(), 1);
    let jobs = server.activate("charge", 5).await;
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job["type"], "charge");
    assert_eq!(job["processInstanceKey"], instance);
    assert_eq!(job["variables"], json!({"amount": 42}));
    assert_eq!(job["worker"], "test");
    let job_key = job["jobKey"].as_str().unwrap().to_string();
    let activated = server.get("/v1/jobs?state=activated").await.json();
    assert_eq!(keys(&activated, "jobKey"), vec![job_key.clone()]);
    assert_eq!(server.get(&format!("/v1/jobs/{job_key}")).await.json()["state"], "ACTIVATED");
    assert_eq!(server.get("/v1/jobs?state=activatable").await.json(), json!([]));

    let reply = server.post(&format!("/v1/jobs/{job_key}/completion"), json!({"variables": {"paid": true}})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());

    // The instance completed: gone from the state, served by the read model right away.
    let detail = server.get(&format!("/v1/process-instances/{instance}")).await.json();
    assert_eq!(detail["state"], "COMPLETED");
    assert!(detail["endTime"].is_i64());
    assert!(detail["startTime"].as_i64() <= detail["endTime"].as_i64(), "{detail}");
    assert!(detail["startTime"].is_i64(), "{detail}");
    assert_eq!(server.get("/v1/process-instances?state=active").await.json(), json!([]));
    let completed = server.get("/v1/process-instances?state=completed").await.json();
    assert_eq!(keys(&completed, "processInstanceKey"), vec![instance.clone()]);
    assert_eq!(server.get("/v1/process-instances?state=TERMINATED").await.json(), json!([]));
    let all = server.get("/v1/process-instances").await.json();
    assert_eq!(keys(&all, "processInstanceKey"), vec![instance.clone()]);
    assert_eq!(server.get("/v1/jobs").await.json(), json!([]));

    let history = server.get(&format!("/v1/process-instances/{instance}/history")).await.json();
    assert_eq!(history["processInstanceKey"], instance);
    assert_eq!(history["complete"], true, "{history}");
    assert_eq!(history["droppedRecords"], 0);
    let records = history["records"].as_array().unwrap();
    let positions: Vec<u64> = records.iter().map(|r| r["position"].as_u64().unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "in log order: {positions:?}");
    let steps: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r["valueType"].as_str().unwrap(),
                r["intent"].as_str().unwrap(),
                r["elementId"].as_str().unwrap_or("")
            )
        })
        .collect();
    let has = |step: &str| steps.iter().any(|s| s.trim_end() == step);
    assert!(has("VARIABLE CREATED"), "{steps:#?}");
    assert!(has("PROCESS_INSTANCE ELEMENT_ACTIVATING order"), "{steps:#?}");
    assert!(has("JOB CREATED task_1"), "{steps:#?}");
    assert!(has("JOB_BATCH ACTIVATED"), "{steps:#?}");
    assert!(has("JOB COMPLETE"), "the client's command is in the history: {steps:#?}");
    assert_eq!(steps.last().unwrap(), "PROCESS_INSTANCE ELEMENT_COMPLETED order");
    let paid = records.iter().find(|r| r["variableName"] == "paid").expect("paid variable");
    assert_eq!(paid["variableValue"], true);

    server.shutdown().await;
}

#[tokio::test]
async fn raw_xml_and_base64_deployments() {
    use base64::Engine as _;
    let server = Server::new(1);
    let xml = process_xml("raw", &[]);
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/deployments?name=raw.bpmn")
        .header(header::CONTENT_TYPE, "application/xml")
        .body(Body::from(xml.clone()))
        .unwrap();
    let reply = server.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let deployment = reply.json();
    assert!(deployment["deploymentKey"].is_string());
    assert_eq!(deployment["processes"][0]["resourceName"], "raw.bpmn");
    assert_eq!(deployment["processes"][0]["isNew"], true);

    // The same file again, base64-encoded: nothing new.
    let encoded = base64::engine::general_purpose::STANDARD.encode(&xml);
    let reply =
        server.post("/v1/deployments", json!({"resources": [{"name": "raw.bpmn", "contentBase64": encoded}]})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["processes"][0]["isNew"], false);
    assert_eq!(reply.json()["processes"][0]["version"], 1);

    let reply = server
        .post("/v1/deployments", json!({"resources": [{"name": "raw.bpmn", "content": xml, "contentBase64": encoded}]}))
        .await;
    reply.problem(StatusCode::BAD_REQUEST);
    server.shutdown().await;
}

#[tokio::test]
async fn await_result_returns_the_variables() {
    let server = Server::new(1);
    let definition = server.deploy("direct.bpmn", &process_xml("direct", &[])).await;
    let reply = server
        .post(
            "/v1/process-instances",
            json!({"processDefinitionKey": definition, "variables": {"a": 1, "b": 2}, "awaitResult": true, "fetchVariables": ["a"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let created = reply.json();
    assert_eq!(created["variables"], json!({"a": 1}));
    assert_eq!(created["bpmnProcessId"], "direct");
    // Keys are accepted as numbers too.
    let number: i64 = definition.parse().unwrap();
    let reply = server.post("/v1/process-instances", json!({"processDefinitionKey": number})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(reply.json().get("variables").is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn failed_job_incident_is_listed_and_resolved() {
    let server = Server::new(1);
    server.deploy("flaky.bpmn", &process_xml("flaky", &["flaky"])).await;
    let instance = server.create("flaky", json!({})).await;
    let job = server.activate("flaky", 1).await.remove(0);
    let job_key = job["jobKey"].as_str().unwrap().to_string();

    let reply = server
        .post(&format!("/v1/jobs/{job_key}/failure"), json!({"retries": 0, "errorMessage": "card declined"}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let incidents = server.get(&format!("/v1/incidents?processInstanceKey={instance}")).await.json();
    assert_eq!(incidents.as_array().unwrap().len(), 1, "{incidents}");
    let incident = &incidents[0];
    assert_eq!(incident["errorType"], "JOB_NO_RETRIES");
    assert_eq!(incident["errorMessage"], "card declined");
    assert_eq!(incident["jobKey"], job_key);
    let incident_key = incident["incidentKey"].as_str().unwrap().to_string();
    assert_eq!(server.get(&format!("/v1/incidents/{incident_key}")).await.json()["incidentKey"], incident_key);
    let detail = server.get(&format!("/v1/process-instances/{instance}")).await.json();
    assert_eq!(detail["incidents"][0]["incidentKey"], incident_key);
    assert_eq!(detail["jobs"][0]["state"], "FAILED");
    assert_eq!(server.get("/v1/jobs?state=failed").await.json().as_array().unwrap().len(), 1);

    let reply = server.call(Method::PATCH, &format!("/v1/jobs/{job_key}"), Some(json!({"retries": 2}))).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let reply = server.post(&format!("/v1/incidents/{incident_key}/resolution"), json!({})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    assert_eq!(server.get("/v1/incidents").await.json(), json!([]));
    let job = server.get(&format!("/v1/jobs/{job_key}")).await.json();
    assert_eq!(job["state"], "ACTIVATABLE");
    assert_eq!(job["retries"], 2);

    // A completion without a body is fine.
    let job = server.activate("flaky", 1).await.remove(0);
    let reply =
        server.call(Method::POST, &format!("/v1/jobs/{}/completion", job["jobKey"].as_str().unwrap()), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    server.shutdown().await;
}

#[tokio::test]
async fn variables_cancel_and_terminated_instances() {
    let server = Server::new(1);
    server.deploy("wait.bpmn", &process_xml("wait", &["never"])).await;
    let instance = server.create("wait", json!({"x": 1})).await;
    let reply = server
        .post(&format!("/v1/element-instances/{instance}/variables"), json!({"variables": {"x": 2, "y": "new"}}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let detail = server.get(&format!("/v1/process-instances/{instance}")).await.json();
    let variables: Vec<(String, Value)> = detail["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_string(), v["value"].clone()))
        .collect();
    assert_eq!(variables, vec![("x".to_string(), json!(2)), ("y".to_string(), json!("new"))]);

    let reply = server.post(&format!("/v1/process-instances/{instance}/cancel"), json!({})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let terminated = server.get("/v1/process-instances?state=terminated").await.json();
    assert_eq!(keys(&terminated, "processInstanceKey"), vec![instance.clone()]);
    assert_eq!(terminated[0]["state"], "TERMINATED");
    let history = server.get(&format!("/v1/process-instances/{instance}/history")).await.json();
    let last = history["records"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["intent"].as_str(), last["elementId"].as_str()), (Some("ELEMENT_TERMINATED"), Some("wait")));

    // Cancelling again: the instance is gone.
    let problem = server
        .post(&format!("/v1/process-instances/{instance}/cancel"), json!({}))
        .await
        .problem(StatusCode::NOT_FOUND);
    assert!(
        problem["detail"].as_str().unwrap().starts_with("Command 'CANCEL' rejected with code 'NOT_FOUND': "),
        "{problem}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn errors_are_problem_documents() {
    let server = Server::new(1);
    server.deploy("order.bpmn", &process_xml("order", &["charge"])).await;

    let problem = server.get("/v1/process-instances/2251799813685999").await.problem(StatusCode::NOT_FOUND);
    assert_eq!(problem["title"], "NOT_FOUND");
    assert_eq!(problem["type"], "urn:baton:problem:not-found");
    server.get("/v1/process-instances/12345/history").await.problem(StatusCode::NOT_FOUND);
    server.get("/v1/process-definitions/12345/xml").await.problem(StatusCode::NOT_FOUND);
    server.get("/v1/jobs/12345").await.problem(StatusCode::NOT_FOUND);
    server.get("/v1/incidents/12345").await.problem(StatusCode::NOT_FOUND);

    let problem = server.post("/v1/jobs/2251799813685999/completion", json!({})).await.problem(StatusCode::NOT_FOUND);
    assert!(
        problem["detail"].as_str().unwrap().starts_with("Command 'COMPLETE' rejected with code 'NOT_FOUND': "),
        "{problem}"
    );

    // Completing a job that failed (out of retries): INVALID_STATE → 409.
    server.create("order", json!({})).await;
    let job_key = server.activate("charge", 1).await[0]["jobKey"].as_str().unwrap().to_string();
    let reply = server.post(&format!("/v1/jobs/{job_key}/failure"), json!({"retries": 0})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let problem = server.post(&format!("/v1/jobs/{job_key}/completion"), json!({})).await.problem(StatusCode::CONFLICT);
    assert_eq!(problem["title"], "INVALID_STATE", "{problem}");

    let problem =
        server.post("/v1/process-instances", json!({"bpmnProcessId": "missing"})).await.problem(StatusCode::NOT_FOUND);
    assert!(problem["detail"].as_str().unwrap().contains("rejected with code 'NOT_FOUND'"), "{problem}");
    server.post("/v1/process-instances", json!({})).await.problem(StatusCode::BAD_REQUEST);
    server
        .post("/v1/process-instances", json!({"bpmnProcessId": "order", "bogus": 1}))
        .await
        .problem(StatusCode::BAD_REQUEST);
    server
        .post("/v1/process-instances", json!({"bpmnProcessId": "order", "variables": [1]}))
        .await
        .problem(StatusCode::BAD_REQUEST);
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/process-instances")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    server.send(request).await.problem(StatusCode::BAD_REQUEST);
    server.get("/v1/process-instances?state=sleeping").await.problem(StatusCode::BAD_REQUEST);
    server.get("/v1/jobs?state=sleeping").await.problem(StatusCode::BAD_REQUEST);
    server.get("/v1/process-instances/not-a-key").await.problem(StatusCode::BAD_REQUEST);
    server.get("/v1/jobs?limit=many").await.problem(StatusCode::BAD_REQUEST);
    server.call(Method::PATCH, &format!("/v1/jobs/{job_key}"), Some(json!({}))).await.problem(StatusCode::BAD_REQUEST);
    let problem = server
        .post("/v1/jobs/activation", json!({"type": " ", "timeoutMs": 1000, "maxJobsToActivate": 1}))
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["title"], "INVALID_ARGUMENT");
    let problem = server
        .post("/v1/deployments", json!({"resources": [{"name": "bad.bpmn", "content": "<nope"}]}))
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"].as_str().unwrap().starts_with("Command 'CREATE' rejected with code 'INVALID_ARGUMENT'"),
        "{problem}"
    );

    // The HTTP layer's own errors are problems too, told apart by their type.
    let problem = server.get("/v1/nothing-here").await.problem(StatusCode::NOT_FOUND);
    assert_eq!(problem["type"], "about:blank");
    assert_eq!(problem["title"], "Not Found");
    let problem = server.call(Method::DELETE, "/v1/jobs", None).await.problem(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(problem["type"], "about:blank");

    // An awaited result that does not come in time: 504.
    let problem = server
        .post("/v1/process-instances", json!({"bpmnProcessId": "order", "awaitResult": true, "requestTimeoutMs": 50}))
        .await
        .problem(StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(problem["title"], "DEADLINE_EXCEEDED");
    server.shutdown().await;
}

#[tokio::test]
async fn back_pressure_is_429_with_retry_after() {
    let broker = Broker::open(Options { partitions: 1, queue_capacity: 1, ..Options::default() }).unwrap();
    let server = Server { router: baton_rest::router(broker.clone()), broker };
    let pause = server.broker.pause_partition(1).await.unwrap();
    // The paused partition holds one request in its queue: the next one is refused.
    let filler = {
        let broker = server.broker.clone();
        tokio::spawn(async move { broker.query(1, |_| ()).await })
    };
    // On this single-threaded runtime the filler submits its query (synchronously, on its
    // first poll) as soon as the test yields.
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    let reply = server.get("/v1/process-definitions").await;
    let problem = reply.problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(problem["title"], "RESOURCE_EXHAUSTED");
    assert_eq!(reply.retry_after.as_deref(), Some("1"));
    drop(pause);
    filler.await.unwrap().unwrap();
    server.shutdown().await;
}

/// Every operation the OpenAPI document lists is routed: called with the real keys of a live
/// instance where the path has one, it answers with anything but the router's own 404 or 405
/// (problems of type `about:blank`). Errors of the API itself (a 400 for an empty body, a 404
/// for an unknown key) are fine, as long as they are problem documents.
#[tokio::test]
async fn every_route_in_the_openapi_document_answers() {
    let server = Server::new(1);
    let definition = server.deploy("order.bpmn", &process_xml("order", &["charge"])).await;
    let instance = server.create("order", json!({})).await;
    let job = server.activate("charge", 1).await.remove(0);
    let job_key = job["jobKey"].as_str().unwrap().to_string();
    server.post(&format!("/v1/jobs/{job_key}/failure"), json!({"retries": 0})).await;
    let incident = server.get("/v1/incidents").await.json()[0]["incidentKey"].as_str().unwrap().to_string();
    let element = job["elementInstanceKey"].as_str().unwrap().to_string();

    let reply = server.get("/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."), "{document}");
    let paths = document["paths"].as_object().expect("paths");
    let mut called = 0;
    for (path, item) in paths {
        let key = if path.starts_with("/v1/process-definitions/") {
            definition.as_str()
        } else if path.starts_with("/v1/process-instances/") {
            instance.as_str()
        } else if path.starts_with("/v1/jobs/") {
            job_key.as_str()
        } else if path.starts_with("/v1/incidents/") {
            incident.as_str()
        } else if path.starts_with("/v1/element-instances/") {
            element.as_str()
        } else {
            "1"
        };
        let uri = path.replace("{key}", key);
        assert!(!uri.contains('{'), "unsubstituted parameter in {path}");
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().expect("method");
            // An empty object: enough to reach the handler, which may refuse it as invalid.
            let body = matches!(method, Method::POST | Method::PATCH | Method::PUT).then(|| json!({}));
            let reply = server.call(method.clone(), &uri, body).await;
            called += 1;
            let from_router = reply.is_problem() && reply.json()["type"] == "about:blank";
            assert!(
                !(from_router || reply.status == StatusCode::METHOD_NOT_ALLOWED),
                "{method} {uri} is documented but not routed: {} {}",
                reply.status,
                reply.text()
            );
            if reply.status.is_client_error() || reply.status.is_server_error() {
                reply.problem(reply.status);
            }
            // Documented statuses only.
            let documented = item[method.as_str().to_lowercase()]["responses"].as_object().unwrap();
            assert!(
                documented.contains_key(reply.status.as_str()) || reply.status == StatusCode::BAD_REQUEST,
                "{method} {uri} answered {} which its documentation does not list",
                reply.status
            );
        }
    }
    assert!(called >= 18, "only {called} operations documented");
    assert_eq!(baton_rest::openapi().paths.paths.len(), paths.len());
    server.shutdown().await;
}

/// A process that waits for a message `paid` (correlated by `orderId`), then for a signal `go`.
fn waiting_xml() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:message id="m" name="paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements></bpmn:message>
  <bpmn:signal id="s" name="go"/>
  <bpmn:process id="waiting" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="go"><bpmn:signalEventDefinition signalRef="s"/></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="paid"/>
    <bpmn:sequenceFlow id="f2" sourceRef="paid" targetRef="go"/>
    <bpmn:sequenceFlow id="f3" sourceRef="go" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#
        .to_string()
}

#[tokio::test]
async fn messages_and_signals_reach_waiting_instances_and_modification_moves_tokens() {
    let server = Server::new(1);
    server.deploy("waiting.bpmn", &waiting_xml()).await;
    let instance = server.create("waiting", json!({"orderId": "o-1"})).await;
    let reply = server
        .post("/v1/messages/publication", json!({"name": "paid", "correlationKey": "o-1", "variables": {"amount": 3}}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(reply.json()["key"].as_str().is_some_and(|k| !k.is_empty()));
    let reply = server.post("/v1/signals/broadcast", json!({"signalName": "go"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let completed = server.get("/v1/process-instances?state=completed").await.json();
    assert_eq!(keys(&completed, "processInstanceKey"), vec![instance.clone()]);
    let problem = server.post("/v1/messages/publication", json!({"name": " "})).await.problem(StatusCode::BAD_REQUEST);
    assert!(problem["detail"].as_str().unwrap().contains("'name'"), "{problem}");

    // Modification: skip the message, straight to the signal.
    let second = server.create("waiting", json!({"orderId": "o-2"})).await;
    let reply = server
        .post(
            &format!("/v1/process-instances/{second}/modification"),
            json!({"activateInstructions": [{"elementId": "end"}], "terminateInstructions": []}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let problem = server
        .post(
            &format!("/v1/process-instances/{second}/modification"),
            json!({"activateInstructions": [{"elementId": "nowhere"}]}),
        )
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(problem["detail"].as_str().unwrap().contains("nowhere"), "{problem}");
    server.shutdown().await;
}
