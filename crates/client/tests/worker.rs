//! The client and worker against the real gateway, served in-process over an in-memory broker.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use baton_client::{ActivateJobs, Client, CreateInstance, Error, Job, JobError, RunSummary, Worker};
use baton_gateway::GatewayConfig;
use baton_runtime::{Broker, Options};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// reserve → ship, with a custom header on reserve.
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

/// A process with one service task of type `job_type` and `retries` retries.
fn single_task(process_id: &str, job_type: &str, retries: u32) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="task" />
    <bpmn:serviceTask id="task">
      <bpmn:extensionElements><zeebe:taskDefinition type="{job_type}" retries="{retries}" /></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f1" sourceRef="task" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"#
    )
}

/// A gateway on an ephemeral port over an in-memory broker.
struct Server {
    addr: SocketAddr,
    broker: Broker,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    async fn start() -> Server {
        let options = Options { data_dir: None, partitions: 1, ..Options::default() };
        let broker = Broker::open(options).expect("broker opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let config = GatewayConfig {
            advertised_host: addr.ip().to_string(),
            advertised_port: addr.port(),
            ..GatewayConfig::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(baton_gateway::serve_on(broker.clone(), config, listener, async {
            let _ = stopped.await;
        }));
        Server { addr, broker, stop: Some(stop) }
    }

    async fn client(&self) -> Client {
        Client::connect(self.addr.to_string()).await.expect("connects")
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.broker.shutdown().await.expect("broker shuts down");
    }
}

/// A worker running in the background until `stop` is called.
struct Running {
    stop: oneshot::Sender<()>,
    handle: JoinHandle<RunSummary>,
}

impl Running {
    fn start(worker: Worker) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(worker.run(async move {
            let _ = stopped.await;
        }));
        Running { stop, handle }
    }

    async fn stop(self) -> RunSummary {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("the worker stops in time")
            .expect("the worker does not panic")
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Reserved {
    reserved: bool,
    warehouse: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Shipped {
    tracking: String,
}

#[derive(Debug, Deserialize, PartialEq)]
struct OrderDone {
    amount: i64,
    reserved: bool,
    warehouse: String,
    tracking: String,
}

#[derive(Deserialize)]
struct Amount {
    amount: i64,
}

fn order_worker(client: Client, streaming: bool) -> Worker {
    Worker::builder(client)
        .name("orders")
        .streaming(streaming)
        .request_timeout(Duration::from_secs(2))
        .job_type("reserve")
        .handler(|job: Job| async move {
            assert_eq!((job.job_type.as_str(), job.element_id.as_str()), ("reserve", "reserve"));
            assert_eq!(job.worker, "orders");
            assert_eq!(job.retries, 3);
            let warehouse = job.header("warehouse").unwrap_or("none").to_string();
            Ok(Reserved { reserved: true, warehouse })
        })
        .job_type("ship")
        .handler(|job: Job| async move {
            let Amount { amount } = job.variables()?;
            let reserved: Reserved = job.variables()?;
            assert!(reserved.reserved, "ship sees what reserve returned");
            Ok(Shipped { tracking: format!("T-{amount}") })
        })
        .build()
        .expect("a valid worker")
}

async fn two_tasks_complete_with_merged_variables(streaming: bool) {
    let server = Server::start().await;
    let client = server.client().await;
    let deployment = client.deploy_resource("order.bpmn", ORDER).await.expect("deploys");
    assert_eq!(deployment.processes.len(), 1);
    assert_eq!(deployment.processes[0].bpmn_process_id, "order");

    let running = Running::start(order_worker(client.clone(), streaming));
    let request = CreateInstance::by_id("order").with_variables(json!({ "amount": 42 }));
    let done = client
        .create_instance_with_result::<_, OrderDone>(request, &[], Some(Duration::from_secs(20)))
        .await
        .expect("the instance completes");
    assert_eq!(
        done.variables,
        OrderDone { amount: 42, reserved: true, warehouse: "north".to_string(), tracking: "T-42".to_string() }
    );
    assert_eq!(done.instance.bpmn_process_id, "order");
    assert!(done.instance.key > 0);

    // Only the fetched variables, by process definition key this time.
    let request = CreateInstance::by_key(deployment.processes[0].process_definition_key)
        .with_variables(HashMap::from([("amount", 7)]));
    let done = client
        .create_instance_with_result::<_, HashMap<String, serde_json::Value>>(
            request,
            &["tracking"],
            Some(Duration::from_secs(20)),
        )
        .await
        .expect("the instance completes");
    assert_eq!(done.variables, HashMap::from([("tracking".to_string(), json!("T-7"))]));

    let summary = running.stop().await;
    assert_eq!(summary, RunSummary { handled: 4, abandoned: 0 });
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_worker_completes_both_tasks() {
    two_tasks_complete_with_merged_variables(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_worker_completes_both_tasks() {
    two_tasks_complete_with_merged_variables(false).await;
}

/// Waits until the instance has `count` incidents.
async fn incidents(client: &Client, instance: i64, count: usize) -> Vec<baton_client::Incident> {
    for _ in 0..100 {
        let incidents = client.incidents(instance).await.expect("lists incidents");
        if incidents.len() >= count {
            return incidents;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("instance {instance} never got {count} incident(s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_without_retries_raises_an_incident() {
    let server = Server::start().await;
    let client = server.client().await;
    client.deploy_resource("flaky.bpmn", single_task("flaky", "flaky", 3)).await.expect("deploys");
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let worker = Worker::builder(client.clone())
        .job_type("flaky")
        .handler(move |_job: Job| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                Err::<(), _>(JobError::Fail {
                    message: "service down".to_string(),
                    retries: Some(0),
                    backoff: Duration::ZERO,
                })
            }
        })
        .build()
        .expect("a valid worker");
    let running = Running::start(worker);

    // The instance does not complete…
    let error = client
        .create_instance_with_result::<_, serde_json::Value>(
            CreateInstance::by_id("flaky"),
            &[],
            Some(Duration::from_millis(1500)),
        )
        .await
        .expect_err("the instance does not complete");
    assert!(error.is_deadline_exceeded(), "{error}");

    // …because the failed job raised an incident.
    let instance = client.create_instance(CreateInstance::by_id("flaky")).await.expect("creates").key;
    let incidents = incidents(&client, instance, 1).await;
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0].error_type, "JOB_NO_RETRIES");
    assert_eq!(incidents[0].error_message, "service down");
    assert_eq!(incidents[0].element_id, "task");

    let summary = running.stop().await;
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one call per instance, no retries");
    assert_eq!(summary.handled, 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_error_fails_with_one_retry_less() {
    let server = Server::start().await;
    let client = server.client().await;
    client.deploy_resource("flaky.bpmn", single_task("flaky", "flaky", 2)).await.expect("deploys");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let worker = Worker::builder(client.clone())
        .streaming(false)
        .job_type("flaky")
        .handler(move |job: Job| {
            record.lock().expect("not poisoned").push(job.retries);
            async move {
                // Any Display error converts into a failure with the default retries.
                let number: i32 = "not a number".parse()?;
                Ok(json!({ "number": number }))
            }
        })
        .build()
        .expect("a valid worker");
    let running = Running::start(worker);

    let instance = client.create_instance(CreateInstance::by_id("flaky")).await.expect("creates").key;
    let incidents = incidents(&client, instance, 1).await;
    assert_eq!(incidents[0].error_type, "JOB_NO_RETRIES");
    assert_eq!(incidents[0].error_message, "invalid digit found in string");
    assert_eq!(*seen.lock().expect("not poisoned"), vec![2, 1]);

    running.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bpmn_error_without_a_catch_event_raises_an_incident() {
    let server = Server::start().await;
    let client = server.client().await;
    client.deploy_resource("pay.bpmn", single_task("pay", "payment", 3)).await.expect("deploys");
    let worker = Worker::builder(client.clone())
        .job_type("payment")
        .handler(|_job: Job| async move { Err::<(), _>(JobError::bpmn_error("PAYMENT_DECLINED", "card expired")) })
        .build()
        .expect("a valid worker");
    let running = Running::start(worker);

    let instance = client.create_instance(CreateInstance::by_id("pay")).await.expect("creates").key;
    let incidents = incidents(&client, instance, 1).await;
    assert_eq!(incidents[0].error_type, "UNHANDLED_ERROR_EVENT");
    assert!(incidents[0].error_message.contains("PAYMENT_DECLINED"), "{}", incidents[0].error_message);

    running.stop().await;
    server.stop().await;
}

async fn concurrency_limit_is_honoured(streaming: bool) {
    const LIMIT: usize = 3;
    const JOBS: usize = 12;
    let server = Server::start().await;
    let client = server.client().await;
    client.deploy_resource("slow.bpmn", single_task("slow", "slow", 3)).await.expect("deploys");
    for i in 0..JOBS {
        let request = CreateInstance::by_id("slow").with_variables(json!({ "i": i }));
        client.create_instance(request).await.expect("creates");
    }
    let current = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let (current2, max2, done2) = (current.clone(), max.clone(), done.clone());
    let worker = Worker::builder(client.clone())
        .streaming(streaming)
        .max_concurrent_jobs(LIMIT)
        .request_timeout(Duration::from_secs(1))
        .job_type("slow")
        .handler(move |_job: Job| {
            let (current, max, done) = (current2.clone(), max2.clone(), done2.clone());
            async move {
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                current.fetch_sub(1, Ordering::SeqCst);
                done.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .build()
        .expect("a valid worker");
    let running = Running::start(worker);
    for _ in 0..200 {
        if done.load(Ordering::SeqCst) >= JOBS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let summary = running.stop().await;
    assert_eq!(done.load(Ordering::SeqCst), JOBS, "every job ran once");
    assert_eq!(summary.handled, JOBS as u64);
    let max = max.load(Ordering::SeqCst);
    assert!(max <= LIMIT, "{max} handlers ran at once, the limit is {LIMIT}");
    assert!(max >= 2, "handlers ran one at a time only");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_is_honoured_when_streaming() {
    concurrency_limit_is_honoured(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_is_honoured_when_polling() {
    concurrency_limit_is_honoured(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_running_handlers_finish() {
    let server = Server::start().await;
    let client = server.client().await;
    client.deploy_resource("slow.bpmn", single_task("slow", "slow", 3)).await.expect("deploys");
    let (started_tx, started) = tokio::sync::mpsc::unbounded_channel::<()>();
    let worker = Worker::builder(client.clone())
        .job_type("slow")
        .handler(move |_job: Job| {
            let started = started_tx.clone();
            async move {
                let _ = started.send(());
                tokio::time::sleep(Duration::from_millis(500)).await;
                Ok(json!({ "finished": true }))
            }
        })
        .build()
        .expect("a valid worker");
    let running = Running::start(worker);

    let waiting = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .create_instance_with_result::<_, serde_json::Value>(
                    CreateInstance::by_id("slow"),
                    &["finished"],
                    Some(Duration::from_secs(10)),
                )
                .await
        }
    });
    let mut started = started;
    tokio::time::timeout(Duration::from_secs(10), started.recv()).await.expect("the handler starts in time");
    // Shut down while the handler runs: it still completes its job.
    let summary = running.stop().await;
    assert_eq!(summary, RunSummary { handled: 1, abandoned: 0 });
    let done = waiting.await.expect("no panic").expect("the instance completes");
    assert_eq!(done.variables, json!({ "finished": true }));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_bounded_by_the_shutdown_timeout() {
    let server = Server::start().await;
    let client = server.client().await;
    client.deploy_resource("stuck.bpmn", single_task("stuck", "stuck", 3)).await.expect("deploys");
    let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel::<()>();
    let worker = Worker::builder(client.clone())
        .shutdown_timeout(Duration::from_millis(300))
        .job_type("stuck")
        .handler(move |_job: Job| {
            let started = started_tx.clone();
            async move {
                let _ = started.send(());
                std::future::pending::<()>().await;
                Ok(())
            }
        })
        .build()
        .expect("a valid worker");
    let running = Running::start(worker);
    client.create_instance(CreateInstance::by_id("stuck")).await.expect("creates");
    tokio::time::timeout(Duration::from_secs(10), started.recv()).await.expect("the handler starts in time");
    let begun = std::time::Instant::now();
    let summary = running.stop().await;
    assert!(begun.elapsed() < Duration::from_secs(3), "took {:?}", begun.elapsed());
    assert_eq!(summary, RunSummary { handled: 0, abandoned: 1 });
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_its_job() {
    let server = Server::start().await;
    let client = server.client().await;
    client.deploy_resource("boom.bpmn", single_task("boom", "boom", 1)).await.expect("deploys");
    let worker = Worker::builder(client.clone())
        .job_type("boom")
        .handler(|job: Job| async move {
            if job.retries > 0 {
                panic!("kaboom");
            }
            Ok(())
        })
        .build()
        .expect("a valid worker");
    let running = Running::start(worker);
    let instance = client.create_instance(CreateInstance::by_id("boom")).await.expect("creates").key;
    let incidents = incidents(&client, instance, 1).await;
    assert_eq!(incidents[0].error_type, "JOB_NO_RETRIES");
    assert!(incidents[0].error_message.contains("kaboom"), "{}", incidents[0].error_message);
    assert_eq!(running.stop().await.handled, 1);
    server.stop().await;
}

#[test]
fn builder_rejects_incomplete_configurations() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        // A lazy channel: nothing connects until a call is made.
        let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
        let client = Client::from_channel(channel);
        let ok = |_job: Job| async move { Ok::<(), JobError>(()) };
        let error = Worker::builder(client.clone()).build().err().expect("no job type");
        assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
        let error = Worker::builder(client.clone()).job_type("a").build().err().expect("no handler");
        assert!(error.to_string().contains("\"a\" has no handler"), "{error}");
        let error = Worker::builder(client.clone()).handler(ok).build().err().expect("no job type");
        assert!(error.to_string().contains("needs a job_type()"), "{error}");
        let error = Worker::builder(client.clone()).job_type("a").handler(ok).job_type("a").handler(ok).build().err();
        assert!(error.expect("twice").to_string().contains("registered twice"));
        let error = Worker::builder(client.clone()).job_type("a").handler(ok).max_concurrent_jobs(0).build().err();
        assert!(error.expect("zero").to_string().contains("at least 1"));
        assert!(Worker::builder(client).job_type("a").handler(ok).job_type("b").handler(ok).build().is_ok());
    });
}

#[test]
fn job_errors_convert_and_configure() {
    let error: JobError = "plain text".into();
    assert_eq!(error, JobError::Fail { message: "plain text".to_string(), retries: None, backoff: Duration::ZERO });
    let error = JobError::fail("x").with_retries(4).with_backoff(Duration::from_secs(1));
    assert_eq!(error, JobError::Fail { message: "x".to_string(), retries: Some(4), backoff: Duration::from_secs(1) });
    let error = JobError::bpmn_error("C", "m").with_retries(1);
    assert_eq!(error, JobError::BpmnError { code: "C".to_string(), message: "m".to_string() });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_calls_map_onto_the_protocol() {
    let server = Server::start().await;
    let client = server.client().await;

    let topology = client.topology().await.expect("topology");
    assert_eq!((topology.cluster_size, topology.partitions_count), (1, 1));

    // deploy_file reads the file and names the resource after it.
    let dir = std::env::temp_dir().join(format!("baton-client-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("order.bpmn");
    std::fs::write(&path, ORDER).expect("writes");
    let deployment = client.deploy_file(&path).await.expect("deploys");
    assert_eq!(deployment.processes[0].resource_name, "order.bpmn");
    let _ = std::fs::remove_dir_all(&dir);
    let error = client.deploy_file(dir.join("missing.bpmn")).await.expect_err("no such file");
    assert!(matches!(error, Error::Io { .. }), "{error}");
    let error = client.deploy_resource("bad.bpmn", "<nope").await.expect_err("invalid BPMN");
    assert!(error.is_invalid_argument(), "{error}");

    let instance = client
        .create_instance(CreateInstance::by_id("order").version(1).with_variables(json!({ "amount": 3 })))
        .await
        .expect("creates");
    assert_eq!(instance.version, 1);

    // Manual job handling: activate, update timeout and retries, fail, then complete.
    let mut request = ActivateJobs::new("reserve", 5);
    request.request_timeout = Some(Duration::from_secs(5));
    let jobs = client.activate_jobs(request.clone()).await.expect("activates");
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!((job.process_instance_key, job.element_id.as_str()), (instance.key, "reserve"));
    assert_eq!(job.header("warehouse"), Some("north"));
    #[derive(Deserialize)]
    struct Vars {
        amount: i64,
    }
    assert_eq!(job.variables::<Vars>().expect("typed").amount, 3);
    client.update_job_timeout(job.key, Duration::from_secs(120)).await.expect("timeout updated");
    client.update_job_retries(job.key, 5).await.expect("retries updated");
    client.fail_job(job.key, 4, "try again", Duration::ZERO).await.expect("fails");
    let jobs = client.activate_jobs(request.clone()).await.expect("activates again");
    assert_eq!((jobs[0].key, jobs[0].retries), (job.key, 4));
    client.complete_job(jobs[0].key, &json!({ "reserved": true })).await.expect("completes");
    let error = client.complete_job(jobs[0].key, &()).await.expect_err("already completed");
    assert!(error.is_not_found(), "{error}");
    assert_eq!(error.code(), Some(baton_client::Code::NotFound));

    // A BPMN error that nothing catches raises an incident; resolve it after fixing the job.
    let mut request = ActivateJobs::new("ship", 1);
    request.request_timeout = Some(Duration::from_secs(5));
    let ship = client.activate_jobs(request.clone()).await.expect("activates").remove(0);
    client.fail_job(ship.key, 0, "no truck", Duration::ZERO).await.expect("fails");
    let incident = incidents(&client, instance.key, 1).await.remove(0);
    client.update_job_retries(ship.key, 1).await.expect("retries updated");
    client.resolve_incident(incident.key).await.expect("resolves");
    let ship = client.activate_jobs(request).await.expect("activates").remove(0);
    client.throw_error(ship.key, "NO_TRUCK", "still no truck").await.expect("throws");
    let incident = incidents(&client, instance.key, 1).await.remove(0);
    assert_eq!(incident.error_type, "UNHANDLED_ERROR_EVENT");

    let key = client.set_variables(instance.key, &json!({ "note": "hi" }), false).await.expect("sets");
    assert!(key > 0);
    let error = client.set_variables(instance.key, &[1, 2], true).await.expect_err("not an object");
    assert!(error.is_invalid_argument(), "{error}");

    client.cancel_instance(instance.key).await.expect("cancels");
    let error = client.cancel_instance(instance.key).await.expect_err("gone");
    assert!(error.is_not_found(), "{error}");

    client.publish_message("m", "k", Duration::from_secs(1), &json!({})).await.expect("published");
    let error = client.publish_message("", "k", Duration::ZERO, &json!({})).await.expect_err("a message needs a name");
    assert!(error.is_invalid_argument(), "{error}");

    let error = Client::connect("http://[::bad").await.expect_err("bad address");
    assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
    server.stop().await;
}
