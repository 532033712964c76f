//! Crash test: the real `baton serve` is killed with SIGKILL at random moments while clients
//! create instances and workers complete jobs over gRPC, and restarted on the same data
//! directory each time. Afterwards nothing that was acknowledged may be lost or done twice:
//!
//! - every acknowledged creation's instance completed exactly once (one `ELEMENT_COMPLETED` of
//!   its process element in the log), and no instance completed twice;
//! - every acknowledged job completion is in the log exactly once, and the variable it set is
//!   there too, with the value the worker sent;
//! - nothing is stuck: no element instance, job or incident is left in any partition.
//!
//! The log is read back through the runtime's own file exporter: opening the data directory
//! with `export_dir` set to an empty directory exports every record still in the log. The
//! test checks that this history starts at position 1 and is gapless, i.e. that compaction
//! removed nothing (the run is far below the snapshot period and the segment size).
//!
//! The seed of the kill schedule is printed; `BATON_CRASH_SEED=<seed>` repeats a schedule.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_engine::{BpmnElementType, Intent, Record, RecordType, RecordValue};
use baton_gateway::proto;
use baton_gateway::proto::gateway_client::GatewayClient;
use baton_model::ElementKind;
use baton_runtime::{Broker, Options};
use serde_json::json;
use tokio::sync::watch;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use support::Server;

const INSTANCES: u64 = 2_000;
const PARTITIONS: u32 = 2;
const KILLS: usize = 4;
const JOB_TYPES: [&str; 3] = ["a", "b", "c"];
/// Concurrent creators; together with `IN_FLIGHT_MAX` this spreads creations over the whole
/// run, so that kills hit creations as well as job completions.
const CREATORS: usize = 8;
const IN_FLIGHT_MAX: u64 = 200;
/// Short, so that jobs activated just before a kill (and so lost with the connection) come
/// back soon after the restart instead of holding the test up.
const JOB_TIMEOUT: Duration = Duration::from_secs(3);
/// No job activated for this long, with every known instance finished from the workers' point
/// of view, means the run is over: longer than the job timeout, so any job still locked by an
/// activation lost in a crash has timed out and been handed out again by then.
const QUIET: Duration = Duration::from_millis(4_500);
/// The whole test fails past this, rather than hanging.
const DEADLINE: Duration = Duration::from_secs(120);
/// Pause between retries of a call that failed because the server was away.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
                  id="defs_crash" targetNamespace="http://example.org/crash">
  <bpmn:process id="crash" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="task_a" />
    <bpmn:serviceTask id="task_a">
      <bpmn:extensionElements><zeebe:taskDefinition type="a" /></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f1" sourceRef="task_a" targetRef="task_b" />
    <bpmn:serviceTask id="task_b">
      <bpmn:extensionElements><zeebe:taskDefinition type="b" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="task_b" targetRef="task_c" />
    <bpmn:serviceTask id="task_c">
      <bpmn:extensionElements><zeebe:taskDefinition type="c" /></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f3" sourceRef="task_c" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"#;

/// A job completion the server acknowledged.
#[derive(Debug, Clone)]
struct AckedJob {
    instance_key: i64,
    job_type: &'static str,
    n: u64,
}

/// What the clients know, shared by every task.
struct Run {
    started: Instant,
    stop: AtomicBool,
    next_n: AtomicU64,
    /// Acknowledged creations: `n` → instance key.
    created: Mutex<HashMap<u64, i64>>,
    /// Creation attempts that got no answer and were retried.
    creation_retries: AtomicU64,
    /// Acknowledged job completions, by job key.
    completed_jobs: Mutex<HashMap<i64, AckedJob>>,
    /// Every instance a worker got a job of.
    seen_instances: Mutex<HashSet<i64>>,
    /// Instances whose last job (type "c") is settled: completed with an acknowledgement, or
    /// found gone on a retry (a completion that took effect but whose answer was lost).
    finished_instances: Mutex<HashSet<i64>>,
    /// Acknowledged creations plus acknowledged completions: what the kill schedule follows.
    progress: AtomicU64,
    /// When a worker last got a job, as milliseconds since `started`.
    last_activation_ms: AtomicU64,
}

impl Run {
    fn expired(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.started.elapsed() > DEADLINE
    }

    fn in_flight(&self) -> u64 {
        let created = self.created.lock().unwrap().len() as u64;
        let finished = self.finished_instances.lock().unwrap().len() as u64;
        created.saturating_sub(finished)
    }

    fn touch(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap();
        self.last_activation_ms.fetch_max(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_activation_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    /// Every instance the clients know of (acknowledged or seen by a worker) is settled.
    fn all_known_finished(&self) -> bool {
        let created = self.created.lock().unwrap();
        if created.len() as u64 != INSTANCES {
            return false;
        }
        let finished = self.finished_instances.lock().unwrap();
        let seen = self.seen_instances.lock().unwrap();
        created.values().chain(seen.iter()).all(|key| finished.contains(key))
    }

    fn summary(&self) -> String {
        format!(
            "{} of {INSTANCES} creations acknowledged ({} retried), {} job completions acknowledged, \
             {} instances seen by workers, {} finished, quiet for {:?}, {:?} elapsed",
            self.created.lock().unwrap().len(),
            self.creation_retries.load(Ordering::Relaxed),
            self.completed_jobs.lock().unwrap().len(),
            self.seen_instances.lock().unwrap().len(),
            self.finished_instances.lock().unwrap().len(),
            self.quiet_for(),
            self.started.elapsed(),
        )
    }
}

/// The client of the server currently running; `None` while it is down.
type Clients = watch::Receiver<Option<GatewayClient<Channel>>>;

async fn client(clients: &Clients) -> Option<GatewayClient<Channel>> {
    let client = clients.borrow().clone();
    if client.is_none() {
        tokio::time::sleep(RETRY_PAUSE).await;
    }
    client
}

async fn connect(server: &Server) -> GatewayClient<Channel> {
    let channel = Endpoint::from_shared(server.uri())
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        // Bounds every call, so none can hang on a server that died under it.
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {}: {error}\n{}", server.uri(), server.log_tail()));
    GatewayClient::new(channel)
}

/// Starts a server off the async workers: waiting for its ready line blocks.
async fn start_server(data: &Path, log: &Path) -> Server {
    let (data, log) = (data.to_path_buf(), log.to_path_buf());
    tokio::task::spawn_blocking(move || Server::start(&data, PARTITIONS, &log)).await.unwrap()
}

/// Creates instances `n` = 0, 1, … until `INSTANCES` are acknowledged. A creation that got no
/// answer is retried with the same `n`; the first try may or may not have created an instance,
/// which the workers then finish like any other.
async fn creator(run: Arc<Run>, clients: Clients) {
    loop {
        let n = run.next_n.fetch_add(1, Ordering::Relaxed);
        if n >= INSTANCES {
            return;
        }
        while run.in_flight() >= IN_FLIGHT_MAX {
            if run.expired() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let request = proto::CreateProcessInstanceRequest {
            bpmn_process_id: "crash".to_string(),
            version: -1,
            variables: json!({ "n": n }).to_string(),
            ..Default::default()
        };
        let mut first = true;
        loop {
            if run.expired() {
                return;
            }
            let Some(mut client) = client(&clients).await else { continue };
            if !first {
                run.creation_retries.fetch_add(1, Ordering::Relaxed);
            }
            first = false;
            match client.create_process_instance(request.clone()).await {
                Ok(response) => {
                    run.created.lock().unwrap().insert(n, response.into_inner().process_instance_key);
                    run.progress.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(_) => tokio::time::sleep(RETRY_PAUSE).await,
            }
        }
    }
}

/// Long-polls jobs of one type and completes each in its own task.
async fn worker(run: Arc<Run>, clients: Clients, job_type: &'static str) {
    while !run.expired() {
        let Some(mut client) = client(&clients).await else { continue };
        let request = proto::ActivateJobsRequest {
            r#type: job_type.to_string(),
            worker: "crash-test".to_string(),
            timeout: i64::try_from(JOB_TIMEOUT.as_millis()).unwrap(),
            max_jobs_to_activate: 32,
            fetch_variable: vec!["n".to_string()],
            request_timeout: 500,
            tenant_ids: Vec::new(),
        };
        let mut stream = match client.activate_jobs(request).await {
            Ok(response) => response.into_inner(),
            Err(_) => {
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
        };
        // Jobs in a response that breaks off half way are lost to this worker; they time out
        // and come back, which is exactly what a real worker would see.
        while let Ok(Some(response)) = stream.message().await {
            for job in response.jobs {
                run.touch();
                run.seen_instances.lock().unwrap().insert(job.process_instance_key);
                tokio::spawn(complete(run.clone(), clients.clone(), job_type, job));
            }
        }
    }
}

/// Completes a job, setting `done_<type>` to the instance's `n`. A call that got no answer is
/// repeated until the server answers: either it acknowledges, or it rejects because the job is
/// gone (the earlier call took effect, or the job timed out and went to another activation).
async fn complete(run: Arc<Run>, clients: Clients, job_type: &'static str, job: proto::ActivatedJob) {
    let variables: serde_json::Value = serde_json::from_str(&job.variables).unwrap();
    let n = variables["n"].as_u64().unwrap_or_else(|| panic!("job {} has no n: {}", job.key, job.variables));
    let request = proto::CompleteJobRequest {
        job_key: job.key,
        variables: json!({ format!("done_{job_type}"): n }).to_string(),
        result: None,
    };
    let settled = loop {
        if run.expired() {
            return;
        }
        let Some(mut client) = client(&clients).await else { continue };
        match client.complete_job(request.clone()).await {
            Ok(_) => {
                let acked = AckedJob { instance_key: job.process_instance_key, job_type, n };
                run.completed_jobs.lock().unwrap().insert(job.key, acked);
                run.progress.fetch_add(1, Ordering::Relaxed);
                break true;
            }
            Err(status) if matches!(status.code(), Code::NotFound | Code::FailedPrecondition) => break true,
            Err(status) if status.code() == Code::InvalidArgument => {
                panic!("the server refused a completion as invalid: {status}")
            }
            Err(_) => tokio::time::sleep(RETRY_PAUSE).await,
        }
    };
    if settled && job_type == "c" {
        run.finished_instances.lock().unwrap().insert(job.process_instance_key);
    }
}

/// SplitMix64: a tiny seeded generator, so the kill schedule can be replayed from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_work_survives_sigkill() {
    let seed = std::env::var("BATON_CRASH_SEED").ok().and_then(|seed| seed.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    eprintln!("crash test seed: {seed} (repeat with BATON_CRASH_SEED={seed})");
    let mut rng = Rng(seed);

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let run = Arc::new(Run {
        started: Instant::now(),
        stop: AtomicBool::new(false),
        next_n: AtomicU64::new(0),
        created: Mutex::new(HashMap::new()),
        creation_retries: AtomicU64::new(0),
        completed_jobs: Mutex::new(HashMap::new()),
        seen_instances: Mutex::new(HashSet::new()),
        finished_instances: Mutex::new(HashSet::new()),
        progress: AtomicU64::new(0),
        last_activation_ms: AtomicU64::new(0),
    });

    let mut server = start_server(&data, &log).await;
    let first = connect(&server).await;
    let deployment = first
        .clone()
        .deploy_resource(proto::DeployResourceRequest {
            resources: vec![proto::Resource { name: "crash.bpmn".to_string(), content: MODEL.as_bytes().to_vec() }],
            tenant_id: String::new(),
        })
        .await
        .expect("deploy");
    assert_eq!(deployment.into_inner().deployments.len(), 1);
    let (publish, clients) = watch::channel(Some(first));

    let mut tasks = Vec::new();
    for _ in 0..CREATORS {
        tasks.push(tokio::spawn(creator(run.clone(), clients.clone())));
    }
    for job_type in JOB_TYPES {
        tasks.push(tokio::spawn(worker(run.clone(), clients.clone(), job_type)));
    }

    // Kill points as amounts of acknowledged progress (creations + completions), spread over
    // the first 85% of the run so that the last restart still has work to recover.
    let total = INSTANCES * (1 + JOB_TYPES.len() as u64);
    let mut kill_points: Vec<u64> = (0..KILLS).map(|_| total / 20 + rng.below(total * 80 / 100)).collect();
    kill_points.sort_unstable();
    for (index, point) in kill_points.iter().enumerate() {
        while run.progress.load(Ordering::Relaxed) < *point {
            assert!(!run.expired(), "no progress towards kill {index}: {}\n{}", run.summary(), server.log_tail());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A little jitter so the kill does not always land right after an acknowledgement.
        tokio::time::sleep(Duration::from_millis(rng.below(150))).await;
        publish.send_replace(None);
        let progress = run.progress.load(Ordering::Relaxed);
        tokio::task::spawn_blocking(move || server.kill()).await.unwrap();
        eprintln!("kill {} at progress {progress}/{total}, {:?} in", index + 1, run.started.elapsed());
        server = start_server(&data, &log).await;
        publish.send_replace(Some(connect(&server).await));
    }

    while !(run.all_known_finished() && run.quiet_for() >= QUIET) {
        assert!(!run.expired(), "the run did not finish within {DEADLINE:?}: {}\n{}", run.summary(), server.log_tail());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("workload done: {}", run.summary());
    run.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    publish.send_replace(None);
    let status = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(30))).await.unwrap();
    assert!(status.success(), "baton serve exited with {status} after SIGTERM; see {}", log.display());

    verify(&run, &data, &dir.path().join("export")).await;
    eprintln!("crash test passed in {:?}", run.started.elapsed());
}

/// Opens the data directory in-process and checks the final state and the whole log history.
async fn verify(run: &Run, data: &Path, export: &Path) {
    let options = Options {
        data_dir: Some(data.to_path_buf()),
        partitions: PARTITIONS,
        export_dir: Some(export.to_path_buf()),
        ..Options::default()
    };
    let broker = tokio::task::spawn_blocking(move || Broker::open(options)).await.unwrap().expect("reopen");
    let mut last_positions = Vec::new();
    for partition in 1..=PARTITIONS {
        let (instances, jobs, incidents, last) = broker
            .query(partition, |state| {
                (state.element_instances.len(), state.jobs.len(), state.incidents.len(), state.last_position())
            })
            .await
            .unwrap();
        assert_eq!(
            (instances, jobs, incidents),
            (0, 0, 0),
            "partition {partition} has element instances, jobs or incidents left"
        );
        last_positions.push(last);
    }
    // Shutting down flushes the exporter, so the files hold everything after this.
    broker.shutdown().await.unwrap();

    let mut process_completions: HashMap<i64, u32> = HashMap::new();
    let mut job_completions: HashMap<i64, u32> = HashMap::new();
    let mut variables: HashSet<(i64, String, serde_json::Value)> = HashSet::new();
    for (partition, last) in (1..=PARTITIONS).zip(last_positions) {
        let path = export.join(format!("partition-{partition}.jsonl"));
        let text = std::fs::read_to_string(&path).unwrap();
        let mut position = 0;
        for line in text.lines() {
            let record: Record = serde_json::from_str(line).unwrap();
            // Export is at least once: a line may repeat, never skip ahead.
            if record.position <= position {
                continue;
            }
            assert_eq!(record.position, position + 1, "partition {partition}: the exported history has a gap");
            position = record.position;
            if record.record_type != RecordType::Event {
                continue;
            }
            match (&record.value, record.intent) {
                (RecordValue::ProcessInstance(value), Intent::ElementCompleted)
                    if value.bpmn_element_type == BpmnElementType::Element(ElementKind::Process) =>
                {
                    *process_completions.entry(record.key).or_default() += 1;
                }
                (RecordValue::Job(_), Intent::Completed) => *job_completions.entry(record.key).or_default() += 1,
                (RecordValue::Variable(value), Intent::Created | Intent::Updated) => {
                    variables.insert((value.process_instance_key, value.name.to_string(), value.value.clone()));
                }
                _ => {}
            }
        }
        assert_eq!(position, last, "partition {partition}: the export does not reach the end of the log");
    }

    let created = run.created.lock().unwrap();
    assert_eq!(created.len() as u64, INSTANCES);
    for (n, key) in created.iter() {
        assert_eq!(process_completions.get(key), Some(&1), "instance {key} (n = {n}) must complete exactly once");
    }
    let twice: Vec<_> = process_completions.iter().filter(|(_, count)| **count != 1).collect();
    assert!(twice.is_empty(), "instances completed more than once: {twice:?}");

    let completed_jobs = run.completed_jobs.lock().unwrap();
    for (job_key, acked) in completed_jobs.iter() {
        assert_eq!(job_completions.get(job_key), Some(&1), "acknowledged completion of job {job_key} ({acked:?})");
        let variable = (acked.instance_key, format!("done_{}", acked.job_type), json!(acked.n));
        assert!(variables.contains(&variable), "the variable set by completing job {job_key} is missing: {acked:?}");
    }
    eprintln!(
        "verified: {} instances completed once each ({} in the log, the rest from unacknowledged creations), \
         {} acknowledged job completions present",
        created.len(),
        process_completions.len(),
        completed_jobs.len()
    );
}
