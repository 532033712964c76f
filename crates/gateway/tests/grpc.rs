//! The gateway over a real in-memory broker, driven through the generated tonic client exactly
//! as a Zeebe client would drive it over the wire.

use std::net::SocketAddr;
use std::time::Duration;

use baton_gateway::admin::admin_client::AdminClient;
use baton_gateway::proto;
use baton_gateway::proto::gateway_client::GatewayClient;
use baton_gateway::{GATEWAY_SERVICE_NAME, GatewayConfig};
use baton_runtime::{Broker, Options};
use tonic::Code;
use tonic::transport::Channel;

const ORDER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="order" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="reserve" />
    <bpmn:serviceTask id="reserve">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="reserve" retries="3" />
        <zeebe:taskHeaders><zeebe:header key="warehouse" value="north" /></zeebe:taskHeaders>
      </bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f1" sourceRef="reserve" targetRef="ship" />
    <bpmn:serviceTask id="ship">
      <bpmn:extensionElements><zeebe:taskDefinition type="ship" retries="2" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="ship" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"#;

const INVALID: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="invalid" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="Task_NoType" />
    <bpmn:serviceTask id="Task_NoType"><bpmn:incoming>f0</bpmn:incoming></bpmn:serviceTask>
  </bpmn:process>
</bpmn:definitions>"#;

/// A gateway on an ephemeral port over an in-memory broker; stops when dropped.
struct Server {
    addr: SocketAddr,
    broker: Broker,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    async fn start(partitions: u32) -> Server {
        let options = Options { data_dir: None, partitions, ..Options::default() };
        let broker = Broker::open(options).expect("broker opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let config = GatewayConfig {
            advertised_host: addr.ip().to_string(),
            advertised_port: addr.port(),
            ..GatewayConfig::default()
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(baton_gateway::serve_on(broker.clone(), config, listener, async {
            let _ = stopped.await;
        }));
        Server { addr, broker, stop: Some(stop) }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr)).expect("uri").connect().await.expect("connect")
    }

    async fn client(&self) -> GatewayClient<Channel> {
        GatewayClient::new(self.channel().await)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.broker.shutdown().await.expect("broker shuts down");
    }
}

async fn deploy(client: &mut GatewayClient<Channel>, name: &str, xml: &str) -> proto::DeployResourceResponse {
    let request = proto::DeployResourceRequest {
        resources: vec![proto::Resource { name: name.to_string(), content: xml.as_bytes().to_vec() }],
        tenant_id: String::new(),
    };
    client.deploy_resource(request).await.expect("deploys").into_inner()
}

async fn create(client: &mut GatewayClient<Channel>, process: &str, variables: &str) -> i64 {
    let request = proto::CreateProcessInstanceRequest {
        bpmn_process_id: process.to_string(),
        version: -1,
        variables: variables.to_string(),
        ..Default::default()
    };
    client.create_process_instance(request).await.expect("creates").into_inner().process_instance_key
}

/// Activates one job of `job_type`, long-polling up to 5 s.
async fn activate_one(client: &mut GatewayClient<Channel>, job_type: &str) -> proto::ActivatedJob {
    let request = proto::ActivateJobsRequest {
        r#type: job_type.to_string(),
        worker: "test".to_string(),
        timeout: 60_000,
        max_jobs_to_activate: 1,
        fetch_variable: Vec::new(),
        request_timeout: 5_000,
        tenant_ids: Vec::new(),
    };
    let mut stream = client.activate_jobs(request).await.expect("activates").into_inner();
    let mut jobs = Vec::new();
    while let Some(response) = stream.message().await.expect("stream") {
        jobs.extend(response.jobs);
    }
    assert_eq!(jobs.len(), 1, "expected one {job_type} job");
    jobs.remove(0)
}

async fn open_stream(
    client: &mut GatewayClient<Channel>,
    job_type: &str,
    worker: &str,
) -> tonic::Streaming<proto::ActivatedJob> {
    let request = proto::StreamActivatedJobsRequest {
        r#type: job_type.to_string(),
        worker: worker.to_string(),
        timeout: 60_000,
        ..Default::default()
    };
    client.stream_activated_jobs(request).await.expect("opens a job stream").into_inner()
}

/// The next job the stream delivers, within 10 s.
async fn next_job(stream: &mut tonic::Streaming<proto::ActivatedJob>) -> proto::ActivatedJob {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("a job reaches the stream in time")
        .expect("the stream does not fail")
        .expect("the stream stays open")
}

async fn complete(client: &mut GatewayClient<Channel>, key: i64, variables: &str) {
    let request = proto::CompleteJobRequest { job_key: key, variables: variables.to_string(), result: None };
    client.complete_job(request).await.expect("completes");
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("JSON text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_and_health() {
    let server = Server::start(2).await;
    let topology = server.client().await.topology(proto::TopologyRequest {}).await.unwrap().into_inner();
    assert_eq!(topology.cluster_size, 1);
    assert_eq!(topology.partitions_count, 2);
    assert_eq!(topology.replication_factor, 1);
    assert_eq!(topology.gateway_version, baton_gateway::GATEWAY_VERSION);
    let broker = &topology.brokers[0];
    assert_eq!(broker.port, i32::from(server.addr.port()));
    let ids: Vec<i32> = broker.partitions.iter().map(|p| p.partition_id).collect();
    assert_eq!(ids, vec![1, 2]);

    // The Camunda JS SDK gzips its requests. Like every common gRPC library it also says it
    // would take gzipped answers; it gets plain ones, as from Zeebe's gateway.
    let mut gzip = server
        .client()
        .await
        .send_compressed(tonic::codec::CompressionEncoding::Gzip)
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    let answer = gzip.topology(proto::TopologyRequest {}).await.expect("gzip request");
    assert_eq!(answer.metadata().get("grpc-encoding"), None, "the answer is not compressed");
    assert_eq!(answer.into_inner().partitions_count, 2);

    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    for service in ["", GATEWAY_SERVICE_NAME] {
        let request = tonic_health::pb::HealthCheckRequest { service: service.to_string() };
        let status = health.check(request).await.unwrap().into_inner().status;
        assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_create_activate_complete_with_result() {
    let server = Server::start(2).await;
    let mut client = server.client().await;
    let deployment = deploy(&mut client, "order.bpmn", ORDER).await;
    assert_eq!(deployment.tenant_id, "<default>");
    let Some(proto::deployment::Metadata::Process(process)) = &deployment.deployments[0].metadata else {
        panic!("expected process metadata: {deployment:?}");
    };
    assert_eq!((process.bpmn_process_id.as_str(), process.version), ("order", 1));
    assert_eq!(process.resource_name, "order.bpmn");

    let mut waiting = client.clone();
    let result = tokio::spawn(async move {
        let request = proto::CreateProcessInstanceWithResultRequest {
            request: Some(proto::CreateProcessInstanceRequest {
                bpmn_process_id: "order".to_string(),
                version: -1,
                variables: r#"{"orderId": 7}"#.to_string(),
                ..Default::default()
            }),
            request_timeout: 20_000,
            fetch_variables: Vec::new(),
        };
        waiting.create_process_instance_with_result(request).await
    });

    let job = activate_one(&mut client, "reserve").await;
    assert_eq!(job.bpmn_process_id, "order");
    assert_eq!(job.element_id, "reserve");
    assert_eq!(job.retries, 3);
    assert_eq!(job.worker, "test");
    assert_eq!(job.tenant_id, "<default>");
    assert!(job.deadline > 0);
    assert_eq!(json(&job.custom_headers), serde_json::json!({"warehouse": "north"}));
    assert_eq!(json(&job.variables), serde_json::json!({"orderId": 7}));
    complete(&mut client, job.key, r#"{"reserved": true}"#).await;

    let job = activate_one(&mut client, "ship").await;
    assert_eq!(job.retries, 2);
    assert_eq!(json(&job.custom_headers), serde_json::json!({}));
    complete(&mut client, job.key, r#"{"tracking": "X1"}"#).await;

    let result = result.await.unwrap().expect("instance completes").into_inner();
    assert_eq!(result.bpmn_process_id, "order");
    assert_eq!(json(&result.variables), serde_json::json!({"orderId": 7, "reserved": true, "tracking": "X1"}));
    server.stop().await;
}

/// zbctl 8.x deploys through the deprecated DeployProcess.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deprecated_deploy_process() {
    let server = Server::start(1).await;
    let mut client = server.client().await;
    let request = proto::DeployProcessRequest {
        processes: vec![proto::ProcessRequestObject {
            name: "order.bpmn".to_string(),
            definition: ORDER.as_bytes().to_vec(),
        }],
    };
    #[allow(deprecated)]
    let response = client.deploy_process(request).await.expect("deploys").into_inner();
    assert!(response.key > 0);
    assert_eq!(response.processes.len(), 1);
    assert_eq!((response.processes[0].bpmn_process_id.as_str(), response.processes[0].version), ("order", 1));
    assert_eq!(response.processes[0].tenant_id, "<default>");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejections_map_to_status_codes() {
    let server = Server::start(1).await;
    let mut client = server.client().await;

    // A job key on partition 1 that was never handed out.
    let missing = (1_i64 << 51) + 999_999;
    let request = proto::CompleteJobRequest { job_key: missing, variables: String::new(), result: None };
    let status = client.complete_job(request).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(
        status.message().starts_with("Command 'COMPLETE' rejected with code 'NOT_FOUND': "),
        "{}",
        status.message()
    );

    let request = proto::DeployResourceRequest {
        resources: vec![proto::Resource { name: "invalid.bpmn".to_string(), content: INVALID.as_bytes().to_vec() }],
        tenant_id: String::new(),
    };
    let status = client.deploy_resource(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("Task_NoType"), "{}", status.message());

    let request =
        proto::CreateProcessInstanceRequest { bpmn_process_id: "nope".to_string(), version: -1, ..Default::default() };
    assert_eq!(client.create_process_instance(request).await.unwrap_err().code(), Code::NotFound);

    deploy(&mut client, "order.bpmn", ORDER).await;
    let request = proto::CreateProcessInstanceRequest {
        bpmn_process_id: "order".to_string(),
        version: -1,
        variables: "[1, 2]".to_string(),
        ..Default::default()
    };
    let status = client.create_process_instance(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("Expected the 'variables' to be a JSON object"));

    let request = proto::ActivateJobsRequest {
        r#type: " ".to_string(),
        worker: "w".to_string(),
        timeout: 1000,
        max_jobs_to_activate: 1,
        ..Default::default()
    };
    assert_eq!(client.activate_jobs(request).await.unwrap_err().code(), Code::InvalidArgument);

    let request = proto::PublishMessageRequest { name: String::new(), ..Default::default() };
    let status = client.publish_message(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("'name'"), "{}", status.message());

    let request = proto::PublishMessageRequest {
        name: "m".to_string(),
        message_id: "id-1".to_string(),
        time_to_live: 60_000,
        ..Default::default()
    };
    assert!(client.publish_message(request.clone()).await.unwrap().into_inner().key > 0);
    assert_eq!(client.publish_message(request).await.unwrap_err().code(), Code::AlreadyExists);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_job_raises_an_incident_that_can_be_resolved() {
    let server = Server::start(1).await;
    let mut client = server.client().await;
    deploy(&mut client, "order.bpmn", ORDER).await;
    let instance = create(&mut client, "order", "").await;

    let job = activate_one(&mut client, "reserve").await;
    let request = proto::UpdateJobTimeoutRequest { job_key: job.key, timeout: 120_000, operation_reference: None };
    client.update_job_timeout(request).await.expect("timeout updated");
    let request = proto::FailJobRequest {
        job_key: job.key,
        retries: 0,
        error_message: "out of stock".to_string(),
        retry_back_off: 0,
        variables: String::new(),
    };
    client.fail_job(request).await.expect("fails");

    let mut admin = AdminClient::new(server.channel().await);
    let request = baton_gateway::admin::ListIncidentsRequest { process_instance_key: instance };
    let incidents = admin.list_incidents(request).await.unwrap().into_inner().incidents;
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let incident = &incidents[0];
    assert_eq!((incident.job_key, incident.error_type.as_str()), (job.key, "JOB_NO_RETRIES"));
    assert_eq!(incident.error_message, "out of stock");

    let request = proto::UpdateJobRetriesRequest { job_key: job.key, retries: 2, operation_reference: None };
    client.update_job_retries(request).await.expect("retries updated");
    let request = proto::ResolveIncidentRequest { incident_key: incident.key, operation_reference: None };
    client.resolve_incident(request).await.expect("resolves");

    let again = activate_one(&mut client, "reserve").await;
    assert_eq!((again.key, again.retries), (job.key, 2));
    complete(&mut client, again.key, "").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_set_variables_and_stream() {
    let server = Server::start(1).await;
    let mut client = server.client().await;
    deploy(&mut client, "order.bpmn", ORDER).await;

    let mut stream = open_stream(&mut client, "reserve", "streamer").await;
    let instance = create(&mut client, "order", r#"{"a": 1}"#).await;
    let job = next_job(&mut stream).await;
    assert_eq!(job.process_instance_key, instance);
    assert_eq!(job.worker, "streamer");
    drop(stream);

    let request = proto::SetVariablesRequest {
        element_instance_key: instance,
        variables: r#"{"b": 2}"#.to_string(),
        local: false,
        operation_reference: None,
    };
    let key = client.set_variables(request).await.expect("sets").into_inner().key;
    assert!(key > 0);

    let request = proto::CancelProcessInstanceRequest { process_instance_key: instance, operation_reference: None };
    client.cancel_process_instance(request).await.expect("cancels");
    let status = client.cancel_process_instance(request).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    server.stop().await;
}

const SHIPPING_DMN: &str = include_str!("../../engine/tests/fixtures/shipping.dmn");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_stream_takes_jobs_waiting_before_it_opened_and_leaves_none_behind() {
    let server = Server::start(1).await;
    let mut client = server.client().await;
    deploy(&mut client, "order.bpmn", ORDER).await;
    let waiting = create(&mut client, "order", "{}").await;

    let mut stream = open_stream(&mut client, "reserve", "streamer").await;
    let job = next_job(&mut stream).await;
    assert_eq!((job.process_instance_key, job.worker.as_str()), (waiting, "streamer"));
    complete(&mut client, job.key, "").await;

    // Once the worker has gone, its stream takes nothing: a job pushed to it just before it
    // closed goes back, untouched, to whoever activates jobs of the type.
    drop(stream);
    let later = create(&mut client, "order", "{}").await;
    let job = activate_one(&mut client, "reserve").await;
    assert_eq!((job.process_instance_key, job.retries, job.worker.as_str()), (later, 3, "test"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_deploy_and_evaluate() {
    let server = Server::start(2).await;
    let mut client = server.client().await;
    let deployment = deploy(&mut client, "shipping.dmn", SHIPPING_DMN).await;
    let decisions: Vec<_> = deployment
        .deployments
        .iter()
        .filter_map(|d| match &d.metadata {
            Some(proto::deployment::Metadata::Decision(decision)) => Some(decision.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(decisions.len(), 5);
    assert_eq!(decisions[1].dmn_decision_id, "shippingCost");
    assert_eq!(decisions[1].version, 1);
    assert_eq!(decisions[1].dmn_decision_requirements_id, "shipping");
    let Some(proto::deployment::Metadata::DecisionRequirements(drg)) = &deployment.deployments[5].metadata else {
        panic!("expected decision requirements last: {deployment:?}");
    };
    assert_eq!(drg.dmn_decision_requirements_id, "shipping");
    assert_eq!(drg.resource_name, "shipping.dmn");
    assert_eq!(drg.decision_requirements_key, decisions[1].decision_requirements_key);

    let request = proto::EvaluateDecisionRequest {
        decision_id: "shippingCost".to_string(),
        variables: r#"{"customer": {"orders": 4}, "weight": 7}"#.to_string(),
        ..Default::default()
    };
    let response = client.evaluate_decision(request).await.expect("evaluates").into_inner();
    assert_eq!(json(&response.decision_output), json(r#"{"carrier": "freight", "cost": 14}"#));
    assert_eq!(response.decision_key, decisions[1].decision_key);
    assert_eq!(response.decision_name, "Shipping cost");
    assert_eq!(response.decision_version, 1);
    assert_eq!(response.decision_requirements_id, "shipping");
    assert_eq!(response.tenant_id, "<default>");
    assert!(response.failed_decision_id.is_empty());
    let evaluated: Vec<_> = response.evaluated_decisions.iter().map(|d| d.decision_id.as_str()).collect();
    assert_eq!(evaluated, ["customerTier", "shippingCost"]);
    let tier = &response.evaluated_decisions[0];
    let inputs: Vec<_> = tier.evaluated_inputs.iter().map(|i| (&*i.input_id, &*i.input_value)).collect();
    assert_eq!(inputs, [("Input_orders", "4")]);
    let rules: Vec<_> = tier.matched_rules.iter().map(|r| (&*r.rule_id, r.rule_index)).collect();
    assert_eq!(rules, [("DecisionRule_silver", 2)]);
    let outputs = &tier.matched_rules[0].evaluated_outputs;
    assert_eq!((&*outputs[0].output_name, &*outputs[0].output_value), ("tier", r#""silver""#));

    let by_key = proto::EvaluateDecisionRequest {
        decision_key: decisions[0].decision_key,
        variables: r#"{"customer": {"orders": 10}}"#.to_string(),
        ..Default::default()
    };
    let response = client.evaluate_decision(by_key).await.expect("evaluates").into_inner();
    assert_eq!(response.decision_output, r#""gold""#);

    let unknown = proto::EvaluateDecisionRequest { decision_id: "nope".to_string(), ..Default::default() };
    let status = client.evaluate_decision(unknown).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains("'nope'"), "{}", status.message());

    let neither = proto::EvaluateDecisionRequest::default();
    assert_eq!(client.evaluate_decision(neither).await.unwrap_err().code(), Code::InvalidArgument);
    server.stop().await;
}

const AGENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="agent" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="tools" />
    <bpmn:adHocSubProcess id="tools">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="agent" />
        <zeebe:adHoc outputCollection="results" outputElement="=result" />
      </bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:scriptTask id="weather">
        <bpmn:extensionElements>
          <zeebe:ioMapping><zeebe:input source="=fromAi(toolCall.city, &quot;The city&quot;)" target="city" /></zeebe:ioMapping>
          <zeebe:script expression="=&quot;sunny in &quot; + city" resultVariable="result" />
        </bpmn:extensionElements>
      </bpmn:scriptTask>
    </bpmn:adHocSubProcess>
    <bpmn:sequenceFlow id="f1" sourceRef="tools" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"#;

#[tokio::test]
async fn a_worker_steers_an_ad_hoc_subprocess_with_job_results() {
    let server = Server::start(1).await;
    let mut client = server.client().await;
    deploy(&mut client, "agent.bpmn", AGENT).await;
    let mut waiting = client.clone();
    let result = tokio::spawn(async move {
        let request = proto::CreateProcessInstanceWithResultRequest {
            request: Some(proto::CreateProcessInstanceRequest {
                bpmn_process_id: "agent".to_string(),
                version: -1,
                ..Default::default()
            }),
            request_timeout: 20_000,
            fetch_variables: Vec::new(),
        };
        waiting.create_process_instance_with_result(request).await.expect("completes").into_inner()
    });

    let job = activate_one(&mut client, "agent").await;
    assert_eq!(job.kind, proto::activated_job::JobKind::AdHocSubProcess as i32);
    let elements = &json(&job.variables)["adHocSubProcessElements"];
    assert_eq!(elements[0]["elementId"], "weather", "{elements}");

    let bad = proto::JobResult {
        activate_elements: vec![proto::JobResultActivateElement {
            element_id: "nope".into(),
            variables: String::new(),
        }],
        ..Default::default()
    };
    let request = proto::CompleteJobRequest { job_key: job.key, variables: String::new(), result: Some(bad) };
    let status = client.complete_job(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("'nope'"), "{}", status.message());

    let call = proto::JobResult {
        r#type: Some("adHocSubProcess".into()),
        activate_elements: vec![proto::JobResultActivateElement {
            element_id: "weather".into(),
            variables: r#"{"toolCall": {"city": "Oslo"}}"#.into(),
        }],
        ..Default::default()
    };
    let request = proto::CompleteJobRequest { job_key: job.key, variables: String::new(), result: Some(call) };
    client.complete_job(request).await.expect("activates the tool");

    // The script ran at once; its flow's end asks the worker again.
    let job = activate_one(&mut client, "agent").await;
    let done = proto::JobResult {
        is_completion_condition_fulfilled: Some(true),
        is_cancel_remaining_instances: Some(true),
        ..Default::default()
    };
    let request = proto::CompleteJobRequest { job_key: job.key, variables: String::new(), result: Some(done) };
    client.complete_job(request).await.expect("completes the subprocess");

    let result = result.await.expect("joins");
    assert_eq!(json(&result.variables), serde_json::json!({"results": ["sunny in Oslo"]}));
}
