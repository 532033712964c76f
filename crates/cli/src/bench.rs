//! `baton bench`: measures how fast an engine started in this process runs instances of a model.
//!
//! The engine is a real [`Broker`] (durable with fsync unless `--in-memory`) behind the real gRPC
//! gateway on a loopback port, and the load reaches it the way production load does: drivers
//! call `CreateProcessInstanceWithResult` (so a latency sample spans creation to completion) and
//! one worker per job type takes jobs from `StreamActivatedJobs` and completes each one in its own
//! task, so completions overlap instead of queueing behind one another's round trips. Only the
//! network hop is missing, which keeps the figures about the engine rather than the machine's
//! network.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use baton_engine::{Command, Document, Intent, JobRecord, ProcessInstanceCreationRecord, RecordValue, Resource};
use baton_gateway::proto;
use baton_gateway::proto::gateway_client::GatewayClient;
use baton_gateway::{GatewayConfig, ServeError};
use baton_runtime::{ActivateJobs, Broker, Error as RuntimeError, Options};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinHandle;
use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Channel, Endpoint};

use crate::Failure;

/// One partition, although `baton serve` runs one per core: the bench's drivers and workers share
/// the machine with the server, and on a small machine a second partition only adds switching
/// (README, "Performance").
const DEFAULT_PARTITIONS: u32 = 1;
/// Instances run when neither `--count` nor `--duration` is given.
const DEFAULT_COUNT: u64 = 10_000;
/// Jobs are locked this long: far beyond any sane latency, so a slow run never sees a job time
/// out and run twice, which would make the figures describe retries instead of the engine.
const JOB_TIMEOUT: Duration = Duration::from_secs(300);
/// How long one instance may take before the run is abandoned: an instance that waits for
/// something other than a job (a message, a timer, an incident) would otherwise hang the run.
const INSTANCE_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause before retrying a request the engine refused with back-pressure.
const BACKPRESSURE_PAUSE: Duration = Duration::from_millis(5);
/// How often the run checks whether an instance is stuck in an incident.
const INCIDENT_CHECK: Duration = Duration::from_millis(250);
/// Connections the drivers spread over: one HTTP/2 connection is served by one task, so a
/// single one would cap the gateway at one core however many drivers there are.
const DRIVER_CONNECTIONS_MAX: u32 = 4;

/// Jobs a long-polling worker holds at once, as the Java client's default `maxJobsActive`.
const POLL_JOBS_MAX: usize = 32;

/// How long one ActivateJobs long poll waits for jobs.
const POLL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The BPMN model to run; every job its instances create is completed by built-in workers.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The process to start when the file holds several [default: the first one].
    #[arg(long, value_name = "ID")]
    pub process_id: Option<String>,
    /// Instances in flight at once: each driver creates one and waits for it to complete.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,
    /// Instances to run [default: 10000, unless --duration is given].
    #[arg(long, conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Keep creating instances for this long instead of a fixed count, e.g. 30s.
    #[arg(long, value_name = "DURATION", value_parser = crate::parse_duration)]
    pub duration: Option<Duration>,
    /// Keep the engine's state in memory only: no log, no fsync.
    #[arg(long, conflicts_with = "data_dir")]
    pub in_memory: bool,
    /// Print one JSON object with the results instead of text (and no progress bar).
    #[arg(long)]
    pub json: bool,
    /// Number of partitions [default: 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub partitions: Option<u32>,
    /// Where the durable engine keeps its data; kept afterwards [default: a temporary
    /// directory, deleted afterwards].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Variables of every new instance, as a JSON object.
    #[arg(long, value_name = "JSON")]
    pub vars: Option<String>,
    /// Variables every job completion sets, as a JSON object.
    #[arg(long, value_name = "JSON")]
    pub job_vars: Option<String>,
    /// Drive the engine through its Rust API in this process (the library shape: no network,
    /// no protobuf) instead of through the gRPC gateway as real Zeebe clients do.
    #[arg(long)]
    pub embedded: bool,
    /// Workers take jobs with ActivateJobs long polls (what the Java client and pyzeebe do by
    /// default) instead of a StreamActivatedJobs stream.
    #[arg(long, conflicts_with = "embedded")]
    pub poll: bool,
}

pub async fn run(args: BenchArgs) -> Result<(), Failure> {
    let plan = Plan::new(&args).map_err(|error| Failure::usage(format!("{error:#}")))?;
    let report = measure(&args, &plan).await.map_err(|error| Failure::failed(format!("{error:#}")))?;
    if args.json {
        println!("{}", report.json(&plan));
    } else {
        println!("{}", report.text(&plan));
    }
    Ok(())
}

/// What to run, worked out from the arguments and the model before any engine starts, so that
/// a mistake in them costs nothing.
struct Plan {
    resource_name: String,
    xml: Vec<u8>,
    process_id: String,
    job_types: Vec<String>,
    instance_variables: String,
    job_variables: String,
    concurrency: u32,
    partitions: u32,
    stop: Stop,
    storage: Storage,
    embedded: bool,
    poll: bool,
}

#[derive(Debug, Clone, Copy)]
enum Stop {
    Count(u64),
    After(Duration),
}

enum Storage {
    InMemory,
    Temporary,
    Dir(PathBuf),
}

impl Plan {
    fn new(args: &BenchArgs) -> anyhow::Result<Plan> {
        let xml = std::fs::read(&args.model).with_context(|| format!("cannot read {}", args.model.display()))?;
        let resource_name = args
            .model
            .file_name()
            .map_or_else(|| args.model.display().to_string(), |name| name.to_string_lossy().into_owned());
        let definitions = baton_model::parse(&xml).with_context(|| format!("{} cannot run", args.model.display()))?;
        let process = match &args.process_id {
            Some(id) => definitions
                .processes
                .iter()
                .find(|process| &*process.id == id.as_str())
                .ok_or_else(|| anyhow!("{} has no executable process with id '{id}'", args.model.display()))?,
            None => definitions
                .processes
                .first()
                .ok_or_else(|| anyhow!("{} has no executable process", args.model.display()))?,
        };
        let job_types = job_types(process)?;
        let concurrency = args.concurrency;
        let partitions = args.partitions.unwrap_or(DEFAULT_PARTITIONS);
        let stop = match (args.count, args.duration) {
            (Some(count), _) => Stop::Count(count),
            (None, Some(duration)) => Stop::After(duration),
            (None, None) => Stop::Count(DEFAULT_COUNT),
        };
        let storage = match (&args.data_dir, args.in_memory) {
            (_, true) => Storage::InMemory,
            (Some(dir), false) => Storage::Dir(dir.clone()),
            (None, false) => Storage::Temporary,
        };
        Ok(Plan {
            resource_name,
            xml,
            process_id: process.id.to_string(),
            job_types,
            instance_variables: json_object(args.vars.as_deref(), "--vars")?,
            job_variables: json_object(args.job_vars.as_deref(), "--job-vars")?,
            concurrency,
            partitions,
            stop,
            storage,
            embedded: args.embedded,
            poll: args.poll,
        })
    }

    fn durable(&self) -> bool {
        !matches!(self.storage, Storage::InMemory)
    }
}

/// The static job types of every job-based element of `process`, sorted. A type computed per
/// instance cannot get a worker in advance, so it is refused rather than left to hang the run.
fn job_types(process: &baton_model::Process) -> anyhow::Result<Vec<String>> {
    let mut types = BTreeSet::new();
    for element in &process.elements {
        let Some(job) = &element.job else {
            continue;
        };
        match &job.job_type {
            baton_model::Text::Static(job_type) => {
                types.insert(job_type.clone());
            }
            baton_model::Text::Expression(_) => bail!(
                "element '{}' computes its job type with an expression; the benchmark only runs models \
                 whose job types are fixed, so that it can start a worker for each",
                element.id
            ),
        }
    }
    Ok(types.into_iter().collect())
}

/// Checks that `text` is a JSON object (so a typo fails before the engine starts) and returns
/// it as the wire wants it; no text means no variables.
fn json_object(text: Option<&str>, flag: &str) -> anyhow::Result<String> {
    let Some(text) = text else {
        return Ok(String::new());
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Ok(text.to_string()),
        Ok(_) => bail!("{flag} must be a JSON object, like {{\"amount\": 10}}"),
        Err(error) => bail!("{flag} is not valid JSON: {error}"),
    }
}

/// The figures of one run.
struct Report {
    completed: u64,
    elapsed: Duration,
    /// Creation-to-completion times, sorted, in microseconds.
    latencies_us: Vec<u64>,
    /// Records the partitions wrote during the run (from their log positions).
    records: u64,
    backpressure_retries: u64,
}

impl Report {
    fn instances_per_s(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    fn records_per_s(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The nearest-rank percentile in milliseconds (0 when nothing was measured).
    fn percentile_ms(&self, quantile: f64) -> f64 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0.0;
        }
        let rank = ((quantile * n as f64).ceil() as usize).clamp(1, n);
        self.latencies_us[rank - 1] as f64 / 1_000.0
    }

    fn mean_ms(&self) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        self.latencies_us.iter().sum::<u64>() as f64 / self.latencies_us.len() as f64 / 1_000.0
    }

    fn json(&self, plan: &Plan) -> serde_json::Value {
        let round = |value: f64| (value * 1_000.0).round() / 1_000.0;
        json!({
            "model": plan.resource_name,
            "process_id": plan.process_id,
            "job_types": plan.job_types,
            "count": self.completed,
            "duration_s": round(self.elapsed.as_secs_f64()),
            "concurrency": plan.concurrency,
            "durable": plan.durable(),
            "embedded": plan.embedded,
            "job_delivery": if plan.poll { "poll" } else { "stream" },
            "partitions": plan.partitions,
            "instances_per_s": round(self.instances_per_s()),
            "p50_ms": round(self.percentile_ms(0.50)),
            "p99_ms": round(self.percentile_ms(0.99)),
            "max_ms": round(self.percentile_ms(1.0)),
            "mean_ms": round(self.mean_ms()),
            "records": self.records,
            "records_per_s": round(self.records_per_s()),
            "backpressure_retries": self.backpressure_retries,
        })
    }

    fn text(&self, plan: &Plan) -> String {
        let job_types = if plan.job_types.is_empty() { "none".to_string() } else { plan.job_types.join(", ") };
        let storage = match &plan.storage {
            Storage::InMemory => "in memory (no log)".to_string(),
            Storage::Temporary => "durable (fsync), data in a temporary directory".to_string(),
            Storage::Dir(dir) => format!("durable (fsync), data in {}", dir.display()),
        };
        let access = if plan.embedded {
            "embedded: drivers and workers call the engine's Rust API"
        } else {
            "gRPC gateway on loopback"
        };
        format!(
            "model        {} (process {}, job types: {job_types})\n\
             engine       {storage}, {} partition(s), {access}\n\
             load         {} concurrent instances (create with result), one {} worker per job type\n\
             completed    {} instances in {:.2} s ({} back-pressure retries)\n\
             throughput   {:.0} instances/s, {:.0} records/s\n\
             latency      p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, mean {:.2} ms",
            plan.resource_name,
            plan.process_id,
            plan.partitions,
            plan.concurrency,
            if plan.poll { "long-polling" } else { "streaming" },
            self.completed,
            self.elapsed.as_secs_f64(),
            self.backpressure_retries,
            self.instances_per_s(),
            self.records_per_s(),
            self.percentile_ms(0.50),
            self.percentile_ms(0.99),
            self.percentile_ms(1.0),
            self.mean_ms(),
        )
    }
}

/// Starts the engine, runs the load, and stops the engine again whether the load succeeded or
/// not, so that a temporary data directory is only deleted once nothing writes to it.
async fn measure(args: &BenchArgs, plan: &Plan) -> anyhow::Result<Report> {
    let engine = Engine::start(plan).await?;
    let result = load(&engine, args, plan).await;
    let stopped = engine.stop().await;
    let report = result?;
    stopped?;
    Ok(report)
}

/// The engine under test: a broker and the gateway serving it on a loopback port.
struct Engine {
    broker: Broker,
    endpoint: Endpoint,
    stop_server: oneshot::Sender<()>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    /// Dropped (and so deleted) only after the broker has shut down.
    temporary: Option<tempfile::TempDir>,
}

impl Engine {
    async fn start(plan: &Plan) -> anyhow::Result<Engine> {
        let (data_dir, temporary) = match &plan.storage {
            Storage::InMemory => (None, None),
            Storage::Dir(dir) => (Some(dir.clone()), None),
            Storage::Temporary => {
                let dir = tempfile::Builder::new()
                    .prefix("baton-bench-")
                    .tempdir()
                    .context("cannot create a temporary data directory")?;
                (Some(dir.path().to_path_buf()), Some(dir))
            }
        };
        let options = Options { data_dir, partitions: plan.partitions, fsync: true, ..Options::default() };
        // Opening an existing --data-dir replays its log: keep that off the async workers.
        let broker = tokio::task::spawn_blocking(move || Broker::open(options))
            .await
            .context("opening the engine panicked")?
            .context("cannot open the engine")?;

        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(error) => {
                let _ = broker.shutdown().await;
                return Err(error).context("cannot listen on a loopback port");
            }
        };
        let addr = listener.local_addr().context("cannot read the gateway's port")?;
        let config = GatewayConfig {
            advertised_host: addr.ip().to_string(),
            advertised_port: addr.port(),
            ..GatewayConfig::default()
        };
        let (stop_server, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(baton_gateway::serve_on(broker.clone(), config, listener, async move {
            // A dropped sender also stops the server: the bench is over either way.
            let _ = stopped.await;
        }));
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .context("the gateway's address is not a valid URI")?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        Ok(Engine { broker, endpoint, stop_server, server, temporary })
    }

    async fn connect(&self) -> anyhow::Result<GatewayClient<Channel>> {
        let channel = self.endpoint.connect().await.context("cannot connect to the benchmark's own gateway")?;
        // Like the gRPC libraries of real Zeebe clients (Java, Go, grpc-js, grpcio), which all
        // tell the server they would take gzipped answers.
        Ok(GatewayClient::new(channel).accept_compressed(CompressionEncoding::Gzip))
    }

    /// Sum of the partitions' last log positions: positions count records, so the difference
    /// between two readings is the number of records written in between, at no cost.
    async fn records_written(&self) -> anyhow::Result<u64> {
        let mut total = 0;
        for partition in 1..=self.broker.partition_count() {
            total += self
                .broker
                .query(partition, |state| state.last_position())
                .await
                .with_context(|| format!("cannot read the log position of partition {partition}"))?;
        }
        Ok(total)
    }

    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop_server.send(());
        let served = self.server.await;
        let shutdown = self.broker.shutdown().await;
        drop(self.temporary);
        match served {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(anyhow!(ServeError::Transport(error))),
            Err(error) => bail!("the gateway task failed: {error}"),
        }
        shutdown.context("the engine did not shut down cleanly")
    }
}

/// State shared by the drivers and workers of one run.
struct Shared {
    /// Instances handed to drivers so far (count mode).
    claimed: AtomicU64,
    backpressure_retries: AtomicU64,
    /// Set by the first task that fails for good; everyone else then stops.
    failure: OnceLock<String>,
    failed: AtomicBool,
    /// Flips to true when the run is over, for the workers (and failing drivers).
    stopping: watch::Sender<bool>,
}

impl Shared {
    fn new() -> Shared {
        let (stopping, _) = watch::channel(false);
        Shared {
            claimed: AtomicU64::new(0),
            backpressure_retries: AtomicU64::new(0),
            failure: OnceLock::new(),
            failed: AtomicBool::new(false),
            stopping,
        }
    }

    fn fail(&self, message: String) {
        let _ = self.failure.set(message);
        self.failed.store(true, Ordering::Release);
        self.stopping.send_replace(true);
    }
}

async fn load(engine: &Engine, args: &BenchArgs, plan: &Plan) -> anyhow::Result<Report> {
    if plan.embedded {
        return load_embedded(engine, args, plan).await;
    }
    let mut deployer = engine.connect().await?;
    let deployment = deployer
        .deploy_resource(proto::DeployResourceRequest {
            resources: vec![proto::Resource { name: plan.resource_name.clone(), content: plan.xml.clone() }],
            tenant_id: String::new(),
        })
        .await
        .map_err(|status| anyhow!("the engine refused the model: {}", status.message()))?;
    let deployed = deployment.into_inner().deployments.iter().any(|d| {
        matches!(&d.metadata, Some(proto::deployment::Metadata::Process(p)) if p.bpmn_process_id == plan.process_id)
    });
    if !deployed {
        bail!("the deployment did not include process '{}'", plan.process_id);
    }

    let shared = Arc::new(Shared::new());

    // Each worker gets its own connection, as separate worker processes would have.
    let mut workers = Vec::new();
    for job_type in &plan.job_types {
        let client = engine.connect().await?;
        let job_type = job_type.clone();
        let variables: Arc<str> = Arc::from(plan.job_variables.as_str());
        let shared = shared.clone();
        let poll = plan.poll;
        workers.push(tokio::spawn(async move {
            let worked = if poll {
                work_polling(client, &job_type, variables, &shared).await
            } else {
                work(client, &job_type, variables, &shared).await
            };
            if let Err(error) = worked {
                shared.fail(format!("worker for job type '{job_type}': {error:#}"));
            }
        }));
    }

    let watchdog = tokio::spawn(watch_incidents(engine.broker.clone(), shared.clone()));

    let progress = progress_bar(args.json, plan.stop);
    let connections = plan.concurrency.min(DRIVER_CONNECTIONS_MAX);
    let mut clients = Vec::new();
    for _ in 0..connections {
        clients.push(engine.connect().await?);
    }
    let request = proto::CreateProcessInstanceWithResultRequest {
        request: Some(proto::CreateProcessInstanceRequest {
            bpmn_process_id: plan.process_id.clone(),
            version: -1,
            variables: plan.instance_variables.clone(),
            ..Default::default()
        }),
        request_timeout: millis(INSTANCE_TIMEOUT),
        fetch_variables: Vec::new(),
    };

    let records_before = engine.records_written().await?;
    let started = Instant::now();
    let deadline = match plan.stop {
        Stop::Count(_) => None,
        Stop::After(duration) => Some(started + duration),
    };
    let mut drivers = Vec::new();
    for index in 0..plan.concurrency {
        let client = clients[index as usize % clients.len()].clone();
        let driver = Driver {
            client,
            request: request.clone(),
            shared: shared.clone(),
            progress: progress.clone(),
            stop: plan.stop,
            deadline,
        };
        drivers.push(tokio::spawn(driver.run()));
    }
    finish(engine, Run { shared, progress, watchdog, workers, drivers, started, records_before }).await
}

/// The tasks of a run, waited for once its drivers are done.
struct Run {
    shared: Arc<Shared>,
    progress: ProgressBar,
    watchdog: JoinHandle<()>,
    workers: Vec<JoinHandle<()>>,
    drivers: Vec<JoinHandle<Vec<u64>>>,
    started: Instant,
    records_before: u64,
}

/// Waits for the drivers, stops the workers, and reports (or the failure that stopped the run).
async fn finish(engine: &Engine, run: Run) -> anyhow::Result<Report> {
    let Run { shared, progress, watchdog, workers, drivers, started, records_before } = run;
    let mut latencies_us = Vec::new();
    for driver in drivers {
        latencies_us.extend(driver.await.context("a driver task panicked")?);
    }
    let elapsed = started.elapsed();
    progress.finish_and_clear();
    shared.stopping.send_replace(true);
    watchdog.await.context("the incident watchdog panicked")?;
    for worker in workers {
        worker.await.context("a worker task panicked")?;
    }
    if shared.failed.load(Ordering::Acquire) {
        let failure = shared.failure.get().cloned().unwrap_or_else(|| "unknown failure".to_string());
        bail!("the benchmark stopped: {failure}");
    }
    let records = engine.records_written().await?.saturating_sub(records_before);
    latencies_us.sort_unstable();
    Ok(Report {
        completed: latencies_us.len() as u64,
        elapsed,
        latencies_us,
        records,
        backpressure_retries: shared.backpressure_retries.load(Ordering::Relaxed),
    })
}

/// The same load through the engine's Rust API: drivers create with result, one long-polling
/// worker per job type completes each job it gets in its own task.
async fn load_embedded(engine: &Engine, args: &BenchArgs, plan: &Plan) -> anyhow::Result<Report> {
    let broker = engine.broker.clone();
    let deployed = broker
        .deploy(vec![Resource { name: plan.resource_name.clone(), content: plan.xml.clone() }])
        .await
        .context("the deployment failed")?;
    if let Some(rejection) = deployed.rejection {
        bail!("the engine refused the model: {}", rejection.reason);
    }
    let instance_variables = document(&plan.instance_variables)?;
    let job_variables = Arc::new(document(&plan.job_variables)?);

    let shared = Arc::new(Shared::new());
    let mut workers = Vec::new();
    for job_type in &plan.job_types {
        let (broker, job_type, variables, shared) =
            (broker.clone(), job_type.clone(), job_variables.clone(), shared.clone());
        workers.push(tokio::spawn(async move {
            if let Err(error) = work_embedded(&broker, &job_type, variables, &shared).await {
                shared.fail(format!("worker for job type '{}': {error}", &*job_type));
            }
        }));
    }
    let watchdog = tokio::spawn(watch_incidents(broker.clone(), shared.clone()));
    let progress = progress_bar(args.json, plan.stop);
    let records_before = engine.records_written().await?;
    let started = Instant::now();
    let deadline = match plan.stop {
        Stop::Count(_) => None,
        Stop::After(duration) => Some(started + duration),
    };
    let mut drivers = Vec::new();
    for _ in 0..plan.concurrency {
        let (broker, shared, progress) = (broker.clone(), shared.clone(), progress.clone());
        let creation = ProcessInstanceCreationRecord {
            bpmn_process_id: Arc::from(plan.process_id.as_str()),
            version: -1,
            process_definition_key: -1,
            variables: instance_variables.clone(),
            process_instance_key: -1,
            fetch_variables: Vec::new(),
            awaiting_request_id: None,
            start_instructions: Vec::new(),
        };
        let stop = plan.stop;
        drivers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while claim(&shared, stop, deadline) {
                let started = Instant::now();
                match create_embedded(&broker, &creation, &shared).await {
                    Ok(()) => {
                        latencies.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                        progress.inc(1);
                    }
                    Err(error) => {
                        shared.fail(error);
                        break;
                    }
                }
            }
            latencies
        }));
    }
    finish(engine, Run { shared, progress, watchdog, workers, drivers, started, records_before }).await
}

fn document(text: &str) -> anyhow::Result<Document> {
    if text.is_empty() {
        return Ok(Document::new());
    }
    match serde_json::from_str(text)? {
        serde_json::Value::Object(map) => Ok(map),
        _ => bail!("variables must be a JSON object"),
    }
}

/// Whether a driver may start one more instance.
fn claim(shared: &Shared, stop: Stop, deadline: Option<Instant>) -> bool {
    if shared.failed.load(Ordering::Acquire) {
        return false;
    }
    match (stop, deadline) {
        (Stop::Count(count), _) => shared.claimed.fetch_add(1, Ordering::Relaxed) < count,
        (Stop::After(_), Some(deadline)) => Instant::now() < deadline,
        (Stop::After(_), None) => false,
    }
}

async fn create_embedded(
    broker: &Broker,
    creation: &ProcessInstanceCreationRecord,
    shared: &Shared,
) -> Result<(), String> {
    loop {
        match broker.create_instance_with_result(creation.clone(), INSTANCE_TIMEOUT).await {
            Ok(record) => match record.rejection {
                None => return Ok(()),
                Some(rejection) => return Err(format!("creating an instance failed: {}", rejection.reason)),
            },
            Err(RuntimeError::Backpressure(_)) => {
                shared.backpressure_retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(BACKPRESSURE_PAUSE).await;
            }
            Err(error) => return Err(format!("creating an instance failed: {error}")),
        }
    }
}

async fn work_embedded(
    broker: &Broker,
    job_type: &str,
    variables: Arc<Document>,
    shared: &Arc<Shared>,
) -> Result<(), String> {
    let mut stopping = shared.stopping.subscribe();
    let request = ActivateJobs {
        job_type: job_type.to_string(),
        worker: "baton-bench".to_string(),
        timeout_ms: millis(JOB_TIMEOUT),
        max_jobs_to_activate: 256,
        fetch_variables: Vec::new(),
        request_timeout: None,
    };
    // Jobs are pushed as they are created, as to a gateway stream; a look now and then takes
    // any the stream had no room for.
    let (_stream, mut pushed) = broker.stream_jobs(&request);
    let mut look = tokio::time::interval(Duration::from_millis(500));
    loop {
        let pushed = tokio::select! {
            job = pushed.recv() => Some(job),
            _ = look.tick() => None,
            _ = stopping.wait_for(|stop| *stop) => return Ok(()),
        };
        let jobs = match pushed {
            Some(job) => Ok(job.into_iter().collect()),
            None => broker.activate_jobs(request.clone()).await,
        };
        let jobs = match jobs {
            Ok(jobs) => jobs,
            Err(RuntimeError::Backpressure(_)) => {
                shared.backpressure_retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(BACKPRESSURE_PAUSE).await;
                continue;
            }
            Err(_) if *shared.stopping.borrow() => return Ok(()),
            Err(error) => return Err(format!("activating jobs failed: {error}")),
        };
        for (key, _) in jobs {
            let (broker, variables, shared) = (broker.clone(), variables.clone(), shared.clone());
            tokio::spawn(async move {
                let value = JobRecord { variables: (*variables).clone(), ..JobRecord::default() };
                loop {
                    let command = Command::new(Intent::Complete, key, RecordValue::Job(Box::new(value.clone())));
                    match broker.execute_on_key(key, command).await {
                        Ok(record) if record.rejection.is_none() => return,
                        Ok(record) if *shared.stopping.borrow() => return drop(record),
                        Ok(record) => {
                            let reason = record.rejection.map(|r| r.reason).unwrap_or_default();
                            return shared.fail(format!("completing job {key} failed: {reason}"));
                        }
                        Err(RuntimeError::Backpressure(_)) => {
                            shared.backpressure_retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(BACKPRESSURE_PAUSE).await;
                        }
                        Err(_) if *shared.stopping.borrow() => return,
                        Err(error) => return shared.fail(format!("completing job {key} failed: {error}")),
                    }
                }
            });
        }
    }
}

/// Ends the run as soon as an instance raises an incident: no worker resolves incidents, so the
/// instance would otherwise only show up as a time-out a minute later, without the reason.
async fn watch_incidents(broker: Broker, shared: Arc<Shared>) {
    let mut stopping = shared.stopping.subscribe();
    loop {
        tokio::select! {
            () = tokio::time::sleep(INCIDENT_CHECK) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
        for partition in 1..=broker.partition_count() {
            let incident = broker
                .query(partition, |state| {
                    state.incidents.values().next().map(|incident| {
                        format!(
                            "instance {} raised an incident at '{}': {}",
                            incident.process_instance_key, incident.element_id, incident.error_message
                        )
                    })
                })
                .await;
            // A failed query means the engine is stopping; the drivers report why.
            if let Ok(Some(incident)) = incident {
                shared.fail(format!(
                    "{incident} (the benchmark's workers complete every job with --job-vars; \
                     does the model need other variables, e.g. --vars?)"
                ));
                return;
            }
        }
    }
}

fn progress_bar(hidden: bool, stop: Stop) -> ProgressBar {
    let target = if hidden { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
    let (bar, template) = match stop {
        Stop::Count(count) => {
            (ProgressBar::with_draw_target(Some(count), target), "{bar:40} {pos}/{len} instances, {per_sec}, eta {eta}")
        }
        Stop::After(_) => {
            (ProgressBar::with_draw_target(None, target), "{spinner} {pos} instances, {per_sec}, {elapsed}")
        }
    };
    // The templates are constants, so a failure is a bug here; the default style still works.
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// One instance in flight at a time, over and over.
struct Driver {
    client: GatewayClient<Channel>,
    request: proto::CreateProcessInstanceWithResultRequest,
    shared: Arc<Shared>,
    progress: ProgressBar,
    stop: Stop,
    deadline: Option<Instant>,
}

impl Driver {
    /// Returns the latency of each instance it ran, in microseconds.
    async fn run(mut self) -> Vec<u64> {
        let mut latencies = Vec::new();
        let mut stopping = self.shared.stopping.subscribe();
        while self.claim() {
            let started = Instant::now();
            let created = tokio::select! {
                created = self.create() => created,
                // Another task failed: no point waiting for an instance that may never end.
                _ = stopping.wait_for(|stop| *stop) => return latencies,
            };
            if let Err(error) = created {
                self.shared.fail(error);
                return latencies;
            }
            latencies.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
            self.progress.inc(1);
        }
        latencies
    }

    fn claim(&self) -> bool {
        claim(&self.shared, self.stop, self.deadline)
    }

    /// Creates one instance and waits for its completion, retrying while the engine pushes back.
    async fn create(&mut self) -> Result<(), String> {
        loop {
            match self.client.create_process_instance_with_result(self.request.clone()).await {
                Ok(_) => return Ok(()),
                Err(status) if status.code() == Code::ResourceExhausted => {
                    self.shared.backpressure_retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(BACKPRESSURE_PAUSE).await;
                }
                Err(status) if status.code() == Code::DeadlineExceeded => {
                    return Err(format!(
                        "an instance did not complete within {} s; does the model wait for something other \
                         than jobs (a message, a timer) or raise incidents? ({})",
                        INSTANCE_TIMEOUT.as_secs(),
                        status.message()
                    ));
                }
                Err(status) => return Err(format!("creating an instance failed: {status}")),
            }
        }
    }
}

/// Takes the jobs of one type as the engine pushes them and completes each in its own task.
async fn work(
    mut client: GatewayClient<Channel>,
    job_type: &str,
    variables: Arc<str>,
    shared: &Arc<Shared>,
) -> anyhow::Result<()> {
    let mut stopping = shared.stopping.subscribe();
    let request = proto::StreamActivatedJobsRequest {
        r#type: job_type.to_string(),
        worker: "baton-bench".to_string(),
        timeout: millis(JOB_TIMEOUT),
        fetch_variable: Vec::new(),
        tenant_ids: Vec::new(),
    };
    let mut jobs = client.stream_activated_jobs(request).await.context("cannot open the job stream")?.into_inner();
    loop {
        let job = tokio::select! {
            job = jobs.message() => job,
            _ = stopping.wait_for(|stop| *stop) => return Ok(()),
        };
        let job = match job {
            Ok(Some(job)) => job,
            Ok(None) => bail!("the engine closed the job stream"),
            Err(status) => bail!("the job stream failed: {status}"),
        };
        spawn_completion(&client, job.key, &variables, shared, ());
    }
}

/// Takes the jobs of one type with ActivateJobs long polls, one poll at a time, holding at most
/// [`POLL_JOBS_MAX`] jobs (the Java client's default), and completes each in its own task.
async fn work_polling(
    mut client: GatewayClient<Channel>,
    job_type: &str,
    variables: Arc<str>,
    shared: &Arc<Shared>,
) -> anyhow::Result<()> {
    let mut stopping = shared.stopping.subscribe();
    let room = Arc::new(Semaphore::new(POLL_JOBS_MAX));
    loop {
        let first = tokio::select! {
            permit = room.clone().acquire_owned() => permit.context("the worker's job limit closed")?,
            _ = stopping.wait_for(|stop| *stop) => return Ok(()),
        };
        let mut held = vec![first];
        while let Ok(permit) = room.clone().try_acquire_owned() {
            held.push(permit);
        }
        let request = proto::ActivateJobsRequest {
            r#type: job_type.to_string(),
            worker: "baton-bench".to_string(),
            timeout: millis(JOB_TIMEOUT),
            max_jobs_to_activate: i32::try_from(held.len()).unwrap_or(i32::MAX),
            fetch_variable: Vec::new(),
            request_timeout: millis(POLL_TIMEOUT),
            tenant_ids: Vec::new(),
        };
        let answer = tokio::select! {
            answer = client.activate_jobs(request) => answer,
            _ = stopping.wait_for(|stop| *stop) => return Ok(()),
        };
        let mut batches = answer.map_err(|status| anyhow!("activating jobs failed: {status}"))?.into_inner();
        loop {
            let batch = tokio::select! {
                batch = batches.message() => batch,
                _ = stopping.wait_for(|stop| *stop) => return Ok(()),
            };
            let Some(batch) = batch.map_err(|status| anyhow!("activating jobs failed: {status}"))? else {
                break;
            };
            for job in batch.jobs {
                // The engine never hands out more than asked for; a permit per job in hand.
                spawn_completion(&client, job.key, &variables, shared, held.pop());
            }
        }
    }
}

/// Completes a job in a task of its own; `held` (room in the worker's job limit) is let go once
/// the completion is answered.
fn spawn_completion<H: Send + 'static>(
    client: &GatewayClient<Channel>,
    job_key: i64,
    variables: &Arc<str>,
    shared: &Arc<Shared>,
    held: H,
) {
    let (client, variables, shared) = (client.clone(), variables.clone(), shared.clone());
    tokio::spawn(async move {
        if let Err(error) = complete(client, job_key, &variables, &shared).await {
            shared.fail(error);
        }
        drop(held);
    });
}

async fn complete(
    mut client: GatewayClient<Channel>,
    job_key: i64,
    variables: &str,
    shared: &Shared,
) -> Result<(), String> {
    loop {
        let request = proto::CompleteJobRequest { job_key, variables: variables.to_string(), result: None };
        match client.complete_job(request).await {
            Ok(_) => return Ok(()),
            Err(status) if status.code() == Code::ResourceExhausted => {
                shared.backpressure_retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(BACKPRESSURE_PAUSE).await;
            }
            // The run is over and the engine is going away: the job does not matter any more.
            Err(_) if *shared.stopping.borrow() => return Ok(()),
            Err(status) => return Err(format!("completing job {job_key} failed: {status}")),
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
