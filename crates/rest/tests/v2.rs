//! Camunda's Orchestration Cluster API (`/v2`) over an in-memory broker: the requests exactly
//! as the Camunda Java client (REST by default since 8.8) and the JS SDK's REST client send
//! them, and the fields those clients read from the answers.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Reply, Server, process_xml};
use serde_json::{Value, json};

const BOUNDARY: &str = "----baton-test-boundary";

/// A `multipart/form-data` deployment as the Java client builds it: one `resources` part per
/// file, then the tenant.
fn deployment(files: &[(&str, &str)], tenant: Option<&str>) -> Request<Body> {
    let mut body = String::new();
    for (name, content) in files {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"resources\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n{content}\r\n"
        ));
    }
    if let Some(tenant) = tenant {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"tenantId\"\r\n\
             Content-Type: text/plain; charset=ISO-8859-1\r\n\r\n{tenant}\r\n"
        ));
    }
    body.push_str(&format!("--{BOUNDARY}--\r\n"));
    Request::builder()
        .method(Method::POST)
        .uri("/v2/deployments")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(body))
        .expect("request")
}

async fn deploy(server: &Server, name: &str, xml: &str) -> Value {
    let reply = server.send(deployment(&[(name, xml)], Some("<default>"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.content_type, "application/json");
    reply.json()
}

async fn create(server: &Server, body: Value) -> Value {
    let reply = server.post("/v2/process-instances", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

/// Activates without waiting, as a poll that finds jobs does.
async fn activate(server: &Server, job_type: &str) -> Vec<Value> {
    let reply = server
        .post(
            "/v2/jobs/activation",
            json!({"type": job_type, "maxJobsToActivate": 32, "timeout": 300_000, "worker": "default",
                   "requestTimeout": -1, "tenantIds": ["<default>"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["jobs"].as_array().expect("jobs").clone()
}

fn no_content(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    assert!(reply.bytes.is_empty(), "{}", reply.text());
}

fn is_key(value: &Value) -> bool {
    value.as_str().is_some_and(|text| text.parse::<i64>().is_ok_and(|key| key > 0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_java_client_deploys_starts_an_instance_and_works_its_jobs() {
    let server = Server::new(2);

    let topology = server.get("/v2/topology").await.json();
    assert_eq!(topology["partitionsCount"], 2);
    assert_eq!(topology["clusterSize"], 1);
    assert_eq!(
        topology["brokers"][0]["partitions"][1],
        json!({"partitionId": 2, "role": "leader", "health": "healthy"})
    );
    assert!(topology["gatewayVersion"].as_str().unwrap().starts_with("8."), "{topology}");
    let status = server.get("/v2/status").await;
    no_content(&status);

    let deployed = deploy(&server, "order.bpmn", &process_xml("order", &["charge", "ship"])).await;
    assert!(is_key(&deployed["deploymentKey"]), "{deployed}");
    assert_eq!(deployed["tenantId"], "<default>");
    let process = &deployed["deployments"][0]["processDefinition"];
    assert_eq!(process["processDefinitionId"], "order");
    assert_eq!(process["processDefinitionVersion"], 1);
    assert_eq!(process["resourceName"], "order.bpmn");
    assert_eq!(process["tenantId"], "<default>");
    assert!(is_key(&process["processDefinitionKey"]), "{deployed}");

    let created = create(
        &server,
        json!({"processDefinitionId": "order", "processDefinitionVersion": -1, "tenantId": "<default>",
               "variables": {"amount": 42}}),
    )
    .await;
    assert!(is_key(&created["processInstanceKey"]), "{created}");
    assert_eq!(created["processDefinitionKey"], process["processDefinitionKey"]);
    assert_eq!(created["processDefinitionId"], "order");
    assert_eq!(created["processDefinitionVersion"], 1);
    assert_eq!(created["tenantId"], "<default>");
    assert_eq!(created["variables"], json!({}));

    let jobs = activate(&server, "charge").await;
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert!(is_key(&job["jobKey"]), "{job}");
    assert_eq!(job["type"], "charge");
    assert_eq!(job["processDefinitionId"], "order");
    assert_eq!(job["processDefinitionVersion"], 1);
    assert_eq!(job["processInstanceKey"], created["processInstanceKey"]);
    assert_eq!(job["processDefinitionKey"], created["processDefinitionKey"]);
    assert!(is_key(&job["elementInstanceKey"]), "{job}");
    assert_eq!(job["elementId"], "task_1");
    assert_eq!(job["customHeaders"], json!({}));
    assert_eq!(job["worker"], "default");
    assert_eq!(job["retries"], 3);
    assert!(job["deadline"].as_i64().unwrap() > 0, "{job}");
    assert_eq!(job["variables"], json!({"amount": 42}));
    assert_eq!(job["tenantId"], "<default>");
    assert_eq!(job["kind"], "BPMN_ELEMENT");
    assert_eq!(job["listenerEventType"], "UNSPECIFIED");
    // Activated jobs are locked: a second poll does not get it again.
    assert!(activate(&server, "charge").await.is_empty());

    let key = job["jobKey"].as_str().unwrap();
    no_content(&server.post(&format!("/v2/jobs/{key}/completion"), json!({"variables": {"charged": true}})).await);
    let again = server.post(&format!("/v2/jobs/{key}/completion"), json!({})).await;
    assert_eq!(again.problem(StatusCode::NOT_FOUND)["title"], "NOT_FOUND");

    // The Java client's job worker long-polls (requestTimeout 10 s): the answer comes when the
    // job does, well before the poll would end.
    let poll = server.post(
        "/v2/jobs/activation",
        json!({"type": "ship", "maxJobsToActivate": 32, "timeout": 300_000, "worker": "java",
               "requestTimeout": 10_000, "tenantIds": ["<default>"], "fetchVariable": ["charged"]}),
    );
    let polled = tokio::time::timeout(Duration::from_secs(5), poll).await.expect("the long poll answers with the job");
    let jobs = polled.json()["jobs"].as_array().unwrap().clone();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["variables"], json!({"charged": true}), "fetchVariable limits the variables");
    assert_eq!(jobs[0]["worker"], "java");
    // An empty body (the JS SDK sends none) completes without variables.
    let ship = jobs[0]["jobKey"].as_str().unwrap();
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v2/jobs/{ship}/completion"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::empty())
        .unwrap();
    no_content(&server.send(request).await);

    // The instance is gone from the runtime state: cancelling it finds nothing.
    let instance = created["processInstanceKey"].as_str().unwrap();
    let cancel = server.post(&format!("/v2/process-instances/{instance}/cancellation"), json!({})).await;
    cancel.problem(StatusCode::NOT_FOUND);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_awaited_creation_answers_with_the_final_variables() {
    let server = Server::new(1);
    let deployed = deploy(&server, "one.bpmn", &process_xml("one", &["work"])).await;
    let definition = deployed["deployments"][0]["processDefinition"]["processDefinitionKey"].as_str().unwrap();

    let awaited = server.post(
        "/v2/process-instances",
        json!({"processDefinitionKey": definition, "awaitCompletion": true, "requestTimeout": 10_000,
               "variables": {"a": 1}, "fetchVariables": ["b"]}),
    );
    let worker = async {
        loop {
            let jobs = activate(&server, "work").await;
            if let Some(job) = jobs.first() {
                let key = job["jobKey"].as_str().unwrap();
                no_content(&server.post(&format!("/v2/jobs/{key}/completion"), json!({"variables": {"b": 2}})).await);
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let (reply, ()) = tokio::join!(awaited, worker);
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let result = reply.json();
    assert_eq!(result["variables"], json!({"b": 2}));
    assert_eq!(result["processDefinitionKey"], definition);
    assert_eq!(result["processDefinitionId"], "one");

    // Not completed in time: 504 with a problem.
    let late = server
        .post(
            "/v2/process-instances",
            json!({"processDefinitionId": "one", "awaitCompletion": true, "requestTimeout": 50}),
        )
        .await;
    late.problem(StatusCode::GATEWAY_TIMEOUT);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_problems_and_change_nothing() {
    let server = Server::new(1);
    deploy(&server, "one.bpmn", &process_xml("one", &["work"])).await;

    let unknown = server.post("/v2/process-instances", json!({"processDefinitionId": "nope"})).await;
    let problem = unknown.problem(StatusCode::NOT_FOUND);
    assert!(problem["detail"].as_str().unwrap().contains("nope"), "{problem}");
    let neither = server.post("/v2/process-instances", json!({"variables": {}})).await;
    let problem = neither.problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["title"], "INVALID_ARGUMENT");
    assert!(problem["detail"].as_str().unwrap().contains("processDefinitionId"), "{problem}");
    let tenant = server.post("/v2/process-instances", json!({"processDefinitionId": "one", "tenantId": "acme"})).await;
    assert!(tenant.problem(StatusCode::BAD_REQUEST)["detail"].as_str().unwrap().contains("'acme'"));
    let not_object =
        server.post("/v2/process-instances", json!({"processDefinitionId": "one", "variables": [1]})).await;
    not_object.problem(StatusCode::BAD_REQUEST);
    let blank_type =
        server.post("/v2/jobs/activation", json!({"type": " ", "maxJobsToActivate": 1, "timeout": 1000})).await;
    assert_eq!(blank_type.problem(StatusCode::BAD_REQUEST)["detail"], "No type provided.");
    let no_timeout =
        server.post("/v2/jobs/activation", json!({"type": "work", "maxJobsToActivate": 1, "timeout": 0})).await;
    assert!(no_timeout.problem(StatusCode::BAD_REQUEST)["detail"].as_str().unwrap().contains("timeout"));
    let bad_key = server.post("/v2/jobs/abc/completion", json!({})).await;
    bad_key.problem(StatusCode::BAD_REQUEST);
    let no_code = server.post("/v2/jobs/2251799813685249/error", json!({"errorMessage": "x"})).await;
    assert_eq!(no_code.problem(StatusCode::BAD_REQUEST)["detail"], "No errorCode provided.");

    // A deployment that is not multipart, that has no files, or with a broken model.
    let json_deploy = server.post("/v2/deployments", json!({"resources": []})).await;
    json_deploy.problem(StatusCode::BAD_REQUEST);
    let empty = server.send(deployment(&[], Some("<default>"))).await;
    assert_eq!(empty.problem(StatusCode::BAD_REQUEST)["detail"], "No resources provided.");
    let broken = server
        .send(deployment(&[("fine.bpmn", &process_xml("fine", &["x"])), ("broken.bpmn", "<bpmn:definitions")], None))
        .await;
    let problem = broken.problem(StatusCode::BAD_REQUEST);
    assert!(problem["detail"].as_str().unwrap().contains("broken.bpmn"), "{problem}");
    // All or nothing: the valid file of the refused deployment was not deployed either.
    let fine = server.post("/v2/process-instances", json!({"processDefinitionId": "fine"})).await;
    fine.problem(StatusCode::NOT_FOUND);

    // Nothing above created an instance or a job.
    assert!(activate(&server, "work").await.is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_incidents_retries_and_errors() {
    let server = Server::new(1);
    let xml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../e2e/fixtures/events.bpmn")).unwrap();
    deploy(&server, "events.bpmn", &xml).await;
    deploy(&server, "one.bpmn", &process_xml("one", &["work"])).await;

    let created = create(&server, json!({"processDefinitionId": "one"})).await;
    let instance = created["processInstanceKey"].as_str().unwrap().to_string();
    let job = activate(&server, "work").await.remove(0);
    let key = job["jobKey"].as_str().unwrap().to_string();
    // The JS SDK repeats the job key in the body; it is ignored.
    no_content(
        &server
            .post(
                &format!("/v2/jobs/{key}/failure"),
                json!({"jobKey": key, "retries": 0, "errorMessage": "card declined", "retryBackOff": 0}),
            )
            .await,
    );
    let detail = server.get(&format!("/v1/process-instances/{instance}")).await.json();
    let incident = detail["incidents"][0]["incidentKey"].as_str().expect("an incident").to_string();
    assert_eq!(detail["incidents"][0]["errorMessage"], "card declined");

    // Resolving while the job has no retries is refused; the update comes first. The JS SDK
    // sends the update without the changeset wrapper.
    let zero = server.call(Method::PATCH, &format!("/v2/jobs/{key}"), Some(json!({"changeset": {"retries": 0}}))).await;
    zero.problem(StatusCode::BAD_REQUEST);
    no_content(
        &server.call(Method::PATCH, &format!("/v2/jobs/{key}"), Some(json!({"changeset": {"retries": 2}}))).await,
    );
    no_content(&server.call(Method::PATCH, &format!("/v2/jobs/{key}"), Some(json!({"retries": 3}))).await);
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v2/incidents/{incident}/resolution"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::empty())
        .unwrap();
    no_content(&server.send(request).await);
    let again = activate(&server, "work").await;
    assert_eq!(again[0]["jobKey"], key.as_str());
    assert_eq!(again[0]["retries"], 3);

    // A BPMN error thrown by the worker is caught by the boundary event.
    let created = create(&server, json!({"processDefinitionId": "e2e_error"})).await;
    let risky = activate(&server, "e2e-risky").await.remove(0);
    let risky_key = risky["jobKey"].as_str().unwrap();
    no_content(
        &server
            .post(
                &format!("/v2/jobs/{risky_key}/error"),
                json!({"errorCode": "DECLINED", "errorMessage": "no funds", "variables": {"reason": "funds"}}),
            )
            .await,
    );
    let instance = created["processInstanceKey"].as_str().unwrap();
    let detail = server.get(&format!("/v1/process-instances/{instance}")).await.json();
    assert_eq!(detail["state"], "COMPLETED", "{detail}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_signals_variables_cancellation_decisions_and_deletion() {
    let server = Server::new(2);
    let xml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../e2e/fixtures/events.bpmn")).unwrap();
    deploy(&server, "events.bpmn", &xml).await;

    let waiting = create(&server, json!({"processDefinitionId": "e2e_message", "variables": {"orderId": "o-1"}})).await;
    let instance = waiting["processInstanceKey"].as_str().unwrap().to_string();
    // Variables by PUT (as specified) and by POST (as the JS SDK sends them).
    no_content(
        &server
            .call(
                Method::PUT,
                &format!("/v2/element-instances/{instance}/variables"),
                Some(json!({"variables": {"x": 1}})),
            )
            .await,
    );
    no_content(
        &server.post(&format!("/v2/element-instances/{instance}/variables"), json!({"variables": {"y": 2}})).await,
    );
    let missing = server.post(&format!("/v2/element-instances/{instance}/variables"), json!({"local": true})).await;
    assert_eq!(missing.problem(StatusCode::BAD_REQUEST)["detail"], "No variables provided.");
    let detail = server.get(&format!("/v1/process-instances/{instance}")).await.json();
    let names: Vec<&str> =
        detail["variables"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"x") && names.contains(&"y"), "{detail}");

    let published = server
        .post(
            "/v2/messages/publication",
            json!({"name": "payment-received", "correlationKey": "o-1", "timeToLive": 3_600_000,
                   "tenantId": "<default>", "variables": {"paid": true}}),
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text());
    assert!(is_key(&published.json()["messageKey"]));
    assert_eq!(published.json()["tenantId"], "<default>");
    let detail = server.get(&format!("/v1/process-instances/{instance}")).await.json();
    assert_eq!(detail["state"], "COMPLETED", "{detail}");
    let nameless = server.post("/v2/messages/publication", json!({"correlationKey": "o-1"})).await;
    assert_eq!(nameless.problem(StatusCode::BAD_REQUEST)["detail"], "No name provided.");

    let signal = server.post("/v2/signals/broadcast", json!({"signalName": "go", "variables": {}})).await;
    assert_eq!(signal.status, StatusCode::OK, "{}", signal.text());
    assert!(is_key(&signal.json()["signalKey"]));

    let another = create(&server, json!({"processDefinitionId": "e2e_message", "variables": {"orderId": "o-2"}})).await;
    let another = another["processInstanceKey"].as_str().unwrap();
    no_content(&server.post(&format!("/v2/process-instances/{another}/cancellation"), json!({})).await);
    let detail = server.get(&format!("/v1/process-instances/{another}")).await.json();
    assert_eq!(detail["state"], "TERMINATED", "{detail}");

    let dmn = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../e2e/fixtures/discount.dmn")).unwrap();
    let deployed = deploy(&server, "discount.dmn", &dmn).await;
    let decision = &deployed["deployments"][0]["decisionDefinition"];
    assert_eq!(decision["decisionDefinitionId"], "e2e_discount");
    assert_eq!(decision["version"], 1);
    assert!(is_key(&decision["decisionDefinitionKey"]) && is_key(&decision["decisionRequirementsKey"]));
    let drg = &deployed["deployments"][1]["decisionRequirements"];
    assert_eq!(drg["resourceName"], "discount.dmn");
    assert_eq!(drg["decisionRequirementsKey"], decision["decisionRequirementsKey"]);

    let evaluated = server
        .post(
            "/v2/decision-definitions/evaluation",
            json!({"decisionDefinitionId": "e2e_discount", "variables": {"total": 150}}),
        )
        .await;
    assert_eq!(evaluated.status, StatusCode::OK, "{}", evaluated.text());
    let result = evaluated.json();
    assert_eq!(result["output"], "10", "{result}");
    assert_eq!(result["decisionDefinitionKey"], decision["decisionDefinitionKey"]);
    assert_eq!(result["evaluatedDecisions"][0]["matchedRules"][0]["ruleId"], "Rule_big");
    let unknown = server.post("/v2/decision-definitions/evaluation", json!({"decisionDefinitionId": "nope"})).await;
    unknown.problem(StatusCode::NOT_FOUND);

    // The deployed decision and its DRG, searched and read, with the DMN they came in.
    let found =
        search(&server, "decision-definitions", json!({"filter": {"decisionDefinitionId": "e2e_discount"}})).await;
    assert_eq!(found["items"][0]["decisionDefinitionKey"], decision["decisionDefinitionKey"]);
    assert_eq!(found["items"][0]["name"], "Discount");
    let decision_key = decision["decisionDefinitionKey"].as_str().unwrap();
    assert_eq!(server.get(&format!("/v2/decision-definitions/{decision_key}")).await.json()["version"], 1);
    let dmn_xml = server.get(&format!("/v2/decision-definitions/{decision_key}/xml")).await;
    assert_eq!(dmn_xml.content_type, "text/xml");
    assert!(dmn_xml.text().contains("Rule_big"));
    let drgs = search(&server, "decision-requirements", json!({})).await;
    assert_eq!(drgs["items"][0]["resourceName"], "discount.dmn");
    let drg_key = drgs["items"][0]["decisionRequirementsKey"].as_str().unwrap();
    assert_eq!(
        server.get(&format!("/v2/decision-requirements/{drg_key}")).await.json()["decisionRequirementsId"],
        "discount_drd"
    );
    assert!(server.get(&format!("/v2/decision-requirements/{drg_key}/xml")).await.text().contains("e2e_discount"));
    server.get("/v2/decision-definitions/2251799813999999").await.problem(StatusCode::NOT_FOUND);

    let process_key = server.get("/v1/process-definitions").await.json()[0]["processDefinitionKey"].clone();
    let process_key = process_key.as_str().unwrap();
    let deleted = server.post(&format!("/v2/resources/{process_key}/deletion"), json!({})).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text());
    let gone = server.post(&format!("/v2/resources/{process_key}/deletion"), json!({})).await;
    gone.problem(StatusCode::NOT_FOUND);
    server.shutdown().await;
}

async fn search(server: &Server, entity: &str, body: Value) -> Value {
    let reply = server.post(&format!("/v2/{entity}/search"), body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

fn item_keys(result: &Value, field: &str) -> Vec<String> {
    result["items"].as_array().expect("items").iter().map(|item| item[field].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_and_gets_of_definitions_instances_elements_variables_and_incidents() {
    let server = Server::new(2);
    deploy(&server, "order.bpmn", &process_xml("order", &["charge"])).await;
    let v2 = deploy(&server, "order.bpmn", &process_xml("order", &["charge", "ship"])).await;
    deploy(&server, "one.bpmn", &process_xml("one", &["work"])).await;

    // Definitions: all, the latest only, one by key, its XML.
    let all = search(&server, "process-definitions", json!({"filter": null, "sort": null, "page": null})).await;
    assert_eq!(all["page"]["totalItems"], 3);
    let latest = search(
        &server,
        "process-definitions",
        json!({"filter": {"processDefinitionId": "order", "isLatestVersion": true}}),
    )
    .await;
    assert_eq!(latest["items"].as_array().unwrap().len(), 1);
    let definition = &latest["items"][0];
    assert_eq!(definition["version"], 2);
    assert_eq!(definition["name"], "order", "a process without a name is named by its id");
    assert_eq!(definition["tenantId"], "<default>");
    assert!(definition.get("_isLatestVersion").is_none(), "{definition}");
    let key = definition["processDefinitionKey"].as_str().unwrap();
    assert_eq!(key, v2["deployments"][0]["processDefinition"]["processDefinitionKey"]);
    assert_eq!(server.get(&format!("/v2/process-definitions/{key}")).await.json()["version"], 2);
    let xml = server.get(&format!("/v2/process-definitions/{key}/xml")).await;
    assert_eq!(xml.content_type, "text/xml");
    assert!(xml.text().contains("task_2"));
    server.get("/v2/process-definitions/2251799813999999").await.problem(StatusCode::NOT_FOUND);

    // Instances: three of "order" (one completed), one of "one" with an incident.
    let mut orders = Vec::new();
    for amount in [1, 2, 3] {
        let created = create(&server, json!({"processDefinitionId": "order", "variables": {"amount": amount}})).await;
        orders.push(created["processInstanceKey"].as_str().unwrap().to_string());
    }
    let failing = create(&server, json!({"processDefinitionId": "one", "variables": {"note": "x".repeat(9000)}})).await;
    let failing = failing["processInstanceKey"].as_str().unwrap().to_string();
    let work = activate(&server, "work").await.remove(0);
    let work_key = work["jobKey"].as_str().unwrap();
    no_content(
        &server.post(&format!("/v2/jobs/{work_key}/failure"), json!({"retries": 0, "errorMessage": "boom"})).await,
    );
    let charges = activate(&server, "charge").await;
    let first = charges.iter().find(|job| job["processInstanceKey"] == orders[0].as_str()).unwrap();
    let first_job = first["jobKey"].as_str().unwrap();
    no_content(&server.post(&format!("/v2/jobs/{first_job}/completion"), json!({})).await);
    let ship = activate(&server, "ship").await.remove(0);
    let ship_key = ship["jobKey"].as_str().unwrap();
    no_content(&server.post(&format!("/v2/jobs/{ship_key}/completion"), json!({})).await);

    let everything = search(&server, "process-instances", json!({})).await;
    assert_eq!(everything["page"]["totalItems"], 4);
    let mut expected = orders.clone();
    expected.push(failing.clone());
    let mut listed = item_keys(&everything, "processInstanceKey");
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);

    // The Java client's form of equality, and a plain value.
    let active = search(
        &server,
        "process-instances",
        json!({"filter": {"processDefinitionId": {"$eq": "order"}, "state": {"$eq": "ACTIVE"}}}),
    )
    .await;
    let mut active_keys = item_keys(&active, "processInstanceKey");
    active_keys.sort();
    let mut wanted = vec![orders[1].clone(), orders[2].clone()];
    wanted.sort();
    assert_eq!(active_keys, wanted);
    let done = search(&server, "process-instances", json!({"filter": {"state": "COMPLETED"}})).await;
    assert_eq!(item_keys(&done, "processInstanceKey"), vec![orders[0].clone()]);
    let completed = &done["items"][0];
    assert!(completed["endDate"].as_str().unwrap().ends_with('Z'), "{completed}");
    assert!(completed["startDate"].as_str().unwrap() <= completed["endDate"].as_str().unwrap(), "{completed}");
    assert_eq!(completed["processDefinitionVersion"], 2);
    let with_incident = search(&server, "process-instances", json!({"filter": {"hasIncident": true}})).await;
    assert_eq!(item_keys(&with_incident, "processInstanceKey"), vec![failing.clone()]);
    let in_list =
        search(&server, "process-instances", json!({"filter": {"processInstanceKey": {"$in": [orders[0], failing]}}}))
            .await;
    assert_eq!(in_list["page"]["totalItems"], 2);

    // By variable: the value is matched as JSON text, plainly or with operators.
    let by_amount =
        search(&server, "process-instances", json!({"filter": {"variables": [{"name": "amount", "value": "2"}]}}))
            .await;
    assert_eq!(item_keys(&by_amount, "processInstanceKey"), vec![orders[1].clone()]);
    assert!(by_amount["items"][0].get("_variables").is_none());
    let several = search(
        &server,
        "process-instances",
        json!({"filter": {"variables": [{"name": "amount", "value": {"$in": ["2", "3"]}}], "state": "ACTIVE"}}),
    )
    .await;
    assert_eq!(several["page"]["totalItems"], 2);
    let no_value =
        server.post("/v2/process-instances/search", json!({"filter": {"variables": [{"name": "amount"}]}})).await;
    assert_eq!(no_value.problem(StatusCode::BAD_REQUEST)["detail"], "Variable value must not be null.");

    // Sorting and paging: one at a time, newest first, following the cursor.
    let sort = json!([{"field": "processInstanceKey", "order": "DESC"}]);
    let mut newest_first = expected.clone();
    newest_first.sort_by_key(|key| std::cmp::Reverse(key.parse::<i64>().unwrap()));
    let mut seen = Vec::new();
    let mut page = json!({"limit": 1});
    loop {
        let result = search(&server, "process-instances", json!({"sort": sort, "page": page})).await;
        assert_eq!(result["page"]["totalItems"], 4);
        let keys = item_keys(&result, "processInstanceKey");
        if keys.is_empty() {
            assert!(result["page"]["endCursor"].is_null());
            break;
        }
        seen.extend(keys);
        page = json!({"limit": 1, "after": result["page"]["endCursor"]});
    }
    assert_eq!(seen, newest_first);
    let second = search(&server, "process-instances", json!({"sort": sort, "page": {"from": 1, "limit": 2}})).await;
    assert_eq!(item_keys(&second, "processInstanceKey"), newest_first[1..3].to_vec());

    // One instance by key, active or completed; unknown keys are 404.
    let one = server.get(&format!("/v2/process-instances/{}", orders[1])).await.json();
    assert_eq!(one["state"], "ACTIVE");
    assert_eq!(one["processDefinitionName"], "order");
    assert_eq!(one["tags"], json!([]));
    assert!(one["startDate"].is_string(), "{one}");
    assert_eq!(server.get(&format!("/v2/process-instances/{}", orders[0])).await.json()["state"], "COMPLETED");
    let missing = server.get("/v2/process-instances/2251799813999999").await;
    assert_eq!(
        missing.problem(StatusCode::NOT_FOUND)["detail"],
        "Process Instance with key 2251799813999999 not found"
    );

    // Bad searches name what is wrong.
    let unsupported = server.post("/v2/process-instances/search", json!({"filter": {"batchOperationId": "b"}})).await;
    assert!(unsupported.problem(StatusCode::BAD_REQUEST)["detail"].as_str().unwrap().contains("'batchOperationId'"));
    let wrong_type = server.post("/v2/process-instances/search", json!({"filter": {"hasIncident": "yes"}})).await;
    assert!(wrong_type.problem(StatusCode::BAD_REQUEST)["detail"].as_str().unwrap().contains("hasIncident"));
    let bad_sort = server.post("/v2/process-instances/search", json!({"sort": [{"field": "color"}]})).await;
    assert!(bad_sort.problem(StatusCode::BAD_REQUEST)["detail"].as_str().unwrap().contains("'color'"));
    let two_modes = server.post("/v2/process-instances/search", json!({"page": {"from": 0, "after": "WzBd"}})).await;
    two_modes.problem(StatusCode::BAD_REQUEST);

    // Element instances of one instance, and of one scope.
    let elements = search(&server, "element-instances", json!({"filter": {"processInstanceKey": orders[1]}})).await;
    let mut seen: Vec<(&str, &str)> = elements["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, vec![("PROCESS", "ACTIVE"), ("SERVICE_TASK", "ACTIVE"), ("START_EVENT", "COMPLETED")]);
    // A finished instance keeps its element instances, with their times.
    let finished = search(
        &server,
        "element-instances",
        json!({"filter": {"processInstanceKey": orders[0], "state": "COMPLETED"}, "sort": [{"field": "startDate"}]}),
    )
    .await;
    let ids: Vec<&str> =
        finished["items"].as_array().unwrap().iter().map(|e| e["elementId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5, "{finished}");
    assert!(
        ids.contains(&"order") && ids.contains(&"start") && ids.contains(&"task_2") && ids.contains(&"end"),
        "{ids:?}"
    );
    let end = finished["items"].as_array().unwrap().iter().find(|e| e["elementId"] == "end").unwrap();
    assert!(end["endDate"].is_string() && end["startDate"].is_string(), "{end}");
    assert_eq!(end["processDefinitionId"], "order");
    let end_key = end["elementInstanceKey"].as_str().unwrap();
    assert_eq!(server.get(&format!("/v2/element-instances/{end_key}")).await.json()["state"], "COMPLETED");
    let task = search(
        &server,
        "element-instances",
        json!({"filter": {"elementInstanceScopeKey": orders[1], "type": "SERVICE_TASK"}}),
    )
    .await;
    let task = &task["items"][0];
    assert_eq!(task["elementId"], "task_1");
    assert_eq!(task["elementName"], "task_1");
    assert_eq!(task["state"], "ACTIVE");
    assert!(task.get("_flowScopeKey").is_none());
    let by_key = server.get(&format!("/v2/element-instances/{}", task["elementInstanceKey"].as_str().unwrap())).await;
    assert_eq!(by_key.json()["processInstanceKey"], orders[1].as_str());

    // Variables of a finished instance, as they were when it ended.
    let kept = search(&server, "variables", json!({"filter": {"processInstanceKey": orders[0]}})).await;
    assert_eq!(kept["items"][0]["name"], "amount");
    assert_eq!(kept["items"][0]["value"], "1");
    let kept_key = kept["items"][0]["variableKey"].as_str().unwrap();
    assert_eq!(server.get(&format!("/v2/variables/{kept_key}")).await.json()["value"], "1");

    // Variables: values are JSON text; searches cut long ones, a get does not.
    let amount =
        search(&server, "variables", json!({"filter": {"processInstanceKey": orders[2], "name": "amount"}})).await;
    assert_eq!(amount["items"][0]["value"], "3");
    assert_eq!(amount["items"][0]["isTruncated"], false);
    assert_eq!(amount["items"][0]["scopeKey"], orders[2].as_str());
    let note = search(&server, "variables", json!({"filter": {"name": {"$like": "no*"}}})).await;
    let note = &note["items"][0];
    assert_eq!(note["isTruncated"], true);
    assert_eq!(note["value"].as_str().unwrap().len(), 8191);
    let full = server.get(&format!("/v2/variables/{}", note["variableKey"].as_str().unwrap())).await.json();
    assert_eq!(full["value"].as_str().unwrap().len(), 9002, "the whole JSON string, quotes included");
    assert!(full.get("isTruncated").is_none());

    // Incidents: the open one, by instance and by key.
    let open = search(&server, "incidents", json!({"filter": {"processInstanceKey": failing}})).await;
    let incident = &open["items"][0];
    assert_eq!(incident["errorType"], "JOB_NO_RETRIES");
    assert_eq!(incident["errorMessage"], "boom");
    assert_eq!(incident["state"], "ACTIVE");
    assert_eq!(incident["jobKey"], work_key);
    assert!(incident["creationTime"].is_string(), "{incident}");
    let key = incident["incidentKey"].as_str().unwrap();
    assert_eq!(server.get(&format!("/v2/incidents/{key}")).await.json()["elementId"], "task_1");
    let none = search(&server, "incidents", json!({"filter": {"processInstanceKey": orders[1]}})).await;
    assert_eq!(none["page"]["totalItems"], 0);

    // Jobs: the failed one and the activated ones of the active instances.
    let failed = search(&server, "jobs", json!({"filter": {"state": "FAILED"}})).await;
    assert_eq!(item_keys(&failed, "jobKey"), vec![work_key.to_string()]);
    assert_eq!(failed["items"][0]["errorMessage"], "boom");
    assert_eq!(failed["items"][0]["hasFailedWithRetriesLeft"], false);
    let charging = search(
        &server,
        "jobs",
        json!({"filter": {"type": "charge", "state": {"$in": ["CREATED"]}}, "sort": [{"field": "processInstanceKey"}]}),
    )
    .await;
    assert_eq!(charging["page"]["totalItems"], 2);
    let job = &charging["items"][0];
    assert_eq!(job["kind"], "BPMN_ELEMENT");
    assert_eq!(job["worker"], "default");
    assert!(job["deadline"].as_str().unwrap().ends_with('Z'), "{job}");
    server.shutdown().await;
}

const APPROVAL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs_approval" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="approval" name="Approval" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Approve order">
      <bpmn:extensionElements>
        <zeebe:userTask/>
        <zeebe:assignmentDefinition assignee="demo" candidateGroups="sales, managers"/>
        <zeebe:taskHeaders><zeebe:header key="region" value="emea"/></zeebe:taskHeaders>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_tasks_are_searched_read_and_completed() {
    let server = Server::new(2);
    deploy(&server, "approval.bpmn", APPROVAL).await;
    deploy(&server, "one.bpmn", &process_xml("one", &["work"])).await;
    let created = create(&server, json!({"processDefinitionId": "approval", "variables": {"amount": 10}})).await;
    let instance = created["processInstanceKey"].as_str().unwrap().to_string();
    create(&server, json!({"processDefinitionId": "one"})).await;

    let found =
        search(&server, "user-tasks", json!({"filter": {"processInstanceKey": instance, "state": "CREATED"}})).await;
    assert_eq!(found["page"]["totalItems"], 1, "{found}");
    let task = &found["items"][0];
    assert_eq!(task["name"], "Approve order");
    assert_eq!(task["elementId"], "approve");
    assert_eq!(task["assignee"], "demo");
    assert_eq!(task["candidateGroups"], json!(["sales", "managers"]));
    assert_eq!(task["candidateUsers"], json!([]));
    assert_eq!(task["customHeaders"], json!({"region": "emea"}));
    assert_eq!(task["priority"], 50);
    assert_eq!(task["processName"], "Approval");
    assert_eq!(task["processDefinitionId"], "approval");
    assert!(task["creationDate"].is_string(), "{task}");
    let key = task["userTaskKey"].as_str().unwrap().to_string();

    // Only user tasks: the service task's job is not one.
    assert_eq!(search(&server, "user-tasks", json!({})).await["page"]["totalItems"], 1);
    let by_group = search(&server, "user-tasks", json!({"filter": {"candidateGroup": "managers"}})).await;
    assert_eq!(by_group["page"]["totalItems"], 1);
    let other_group = search(&server, "user-tasks", json!({"filter": {"candidateGroup": "it"}})).await;
    assert_eq!(other_group["page"]["totalItems"], 0);
    assert_eq!(server.get(&format!("/v2/user-tasks/{key}")).await.json()["userTaskKey"], key.as_str());

    let variables = server.post(&format!("/v2/user-tasks/{key}/variables/search"), json!({})).await.json();
    assert_eq!(variables["items"][0]["name"], "amount");
    assert_eq!(variables["items"][0]["value"], "10");

    // Attributes are fixed at creation: a change is refused and changes nothing.
    let assign = server.post(&format!("/v2/user-tasks/{key}/assignment"), json!({"assignee": "other"})).await;
    assert!(assign.problem(StatusCode::CONFLICT)["detail"].as_str().unwrap().contains(&key));
    assert_eq!(server.get(&format!("/v2/user-tasks/{key}")).await.json()["assignee"], "demo");

    // A job that is not a user task is not one here either.
    let job = activate(&server, "work").await.remove(0);
    let job_key = job["jobKey"].as_str().unwrap();
    server.post(&format!("/v2/user-tasks/{job_key}/completion"), json!({})).await.problem(StatusCode::NOT_FOUND);

    no_content(
        &server
            .post(
                &format!("/v2/user-tasks/{key}/completion"),
                json!({"variables": {"approved": true}, "action": "complete"}),
            )
            .await,
    );
    let done = server.get(&format!("/v2/process-instances/{instance}")).await.json();
    assert_eq!(done["state"], "COMPLETED");
    server.get(&format!("/v2/user-tasks/{key}")).await.problem(StatusCode::NOT_FOUND);
    server.post(&format!("/v2/user-tasks/{key}/completion"), json!({})).await.problem(StatusCode::NOT_FOUND);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correlated_message_reaches_a_waiting_instance_or_is_refused_and_never_buffered() {
    let server = Server::new(2);
    let events =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../e2e/fixtures/events.bpmn")).unwrap();
    let features =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../e2e/fixtures/features.bpmn")).unwrap();
    deploy(&server, "events.bpmn", &events).await;
    deploy(&server, "features.bpmn", &features).await;

    // Instances on both partitions, correlation keys on both: some messages reach their instance
    // through another partition.
    for order in ["a", "b", "c", "d"] {
        let created =
            create(&server, json!({"processDefinitionId": "e2e_message", "variables": {"orderId": order}})).await;
        let instance = created["processInstanceKey"].as_str().unwrap().to_string();
        let reply = server
            .post(
                "/v2/messages/correlation",
                json!({"name": "payment-received", "correlationKey": order, "variables": {"paid": order}, "tenantId": "<default>"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let result = reply.json();
        assert_eq!(result["processInstanceKey"], instance.as_str(), "{result}");
        assert!(is_key(&result["messageKey"]), "{result}");
        assert_eq!(result["tenantId"], "<default>");
        // An instance on another partition than the message takes it a moment after the answer.
        let mut state = Value::Null;
        for _ in 0..500 {
            state = server.get(&format!("/v2/process-instances/{instance}")).await.json()["state"].clone();
            if state == "COMPLETED" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(state, "COMPLETED");
    }

    // Nobody waits: 404, and the message is not kept for an instance that comes later.
    let refused =
        server.post("/v2/messages/correlation", json!({"name": "payment-received", "correlationKey": "late"})).await;
    let problem = refused.problem(StatusCode::NOT_FOUND);
    assert!(problem["detail"].as_str().unwrap().contains("'payment-received'"), "{problem}");
    let late = create(&server, json!({"processDefinitionId": "e2e_message", "variables": {"orderId": "late"}})).await;
    let late = late["processInstanceKey"].as_str().unwrap();
    let waiting = server.get(&format!("/v2/process-instances/{late}")).await.json();
    assert_eq!(waiting["state"], "ACTIVE");

    // A message start event: the answer names the instance it started.
    let started =
        server.post("/v2/messages/correlation", json!({"name": "e2e-order-created", "correlationKey": "o-9"})).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let instance = started.json()["processInstanceKey"].as_str().unwrap().to_string();
    let created = server.get(&format!("/v2/process-instances/{instance}")).await.json();
    assert_eq!(created["processDefinitionId"], "e2e_message_start");

    let nameless = server.post("/v2/messages/correlation", json!({"correlationKey": "x"})).await;
    assert_eq!(nameless.problem(StatusCode::BAD_REQUEST)["detail"], "No name provided.");
    server.shutdown().await;
}
