//! [`Worker`]: fetches jobs of one or more types, runs a handler per job with bounded
//! concurrency, and completes, fails or throws an error for each job from the handler's result.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use baton_gateway::proto;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tonic::Code;

use crate::Error;
use crate::client::{ActivateJobs, Client, Job};

/// Why a handler did not complete its job.
///
/// Any error that implements `Display` converts into [`JobError::Fail`] (with the default
/// retries and no back-off), so handlers can use `?` on their own errors.
#[derive(Debug, Clone, PartialEq)]
pub enum JobError {
    /// Fails the job: it is retried after `backoff` while retries remain; at 0 retries the
    /// engine raises a JOB_NO_RETRIES incident.
    Fail {
        message: String,
        /// Retries left after this failure; `None`: the job's retries minus one.
        retries: Option<i32>,
        backoff: Duration,
    },
    /// Throws a BPMN error with `code`: a catching error event handles it, otherwise the engine
    /// raises an UNHANDLED_ERROR_EVENT incident.
    BpmnError { code: String, message: String },
}

impl JobError {
    /// A failure with the default retries (the job's retries minus one) and no back-off.
    pub fn fail(message: impl Into<String>) -> JobError {
        JobError::Fail { message: message.into(), retries: None, backoff: Duration::ZERO }
    }

    /// A BPMN error with this code.
    pub fn bpmn_error(code: impl Into<String>, message: impl Into<String>) -> JobError {
        JobError::BpmnError { code: code.into(), message: message.into() }
    }

    /// Sets the retries left of a [`JobError::Fail`]; no effect on a BPMN error.
    pub fn with_retries(mut self, retries: i32) -> JobError {
        if let JobError::Fail { retries: r, .. } = &mut self {
            *r = Some(retries);
        }
        self
    }

    /// Sets the back-off of a [`JobError::Fail`]; no effect on a BPMN error.
    pub fn with_backoff(mut self, backoff: Duration) -> JobError {
        if let JobError::Fail { backoff: b, .. } = &mut self {
            *b = backoff;
        }
        self
    }
}

impl<E: fmt::Display> From<E> for JobError {
    fn from(error: E) -> JobError {
        JobError::fail(error.to_string())
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
/// A type-erased handler: the result is already serialized to JSON.
type Handler = Arc<dyn Fn(Job) -> BoxFuture<Result<serde_json::Value, JobError>> + Send + Sync>;

/// Configures a [`Worker`]; see [`Worker::builder`].
pub struct WorkerBuilder {
    client: Client,
    types: Vec<(String, Option<Handler>)>,
    problems: Vec<String>,
    config: Config,
}

#[derive(Clone, Debug)]
struct Config {
    name: String,
    max_concurrent_jobs: usize,
    timeout: Duration,
    request_timeout: Duration,
    fetch_variables: Vec<String>,
    streaming: bool,
    stream_retry: Duration,
    shutdown_timeout: Duration,
}

impl WorkerBuilder {
    /// Adds a job type; the next [`handler`](Self::handler) call handles it.
    pub fn job_type(mut self, job_type: impl Into<String>) -> Self {
        let job_type = job_type.into();
        if let Some((previous, None)) = self.types.last() {
            self.problems.push(format!("job type {previous:?} has no handler"));
        }
        if job_type.trim().is_empty() {
            self.problems.push("a job type must not be empty".to_string());
        }
        if self.types.iter().any(|(existing, _)| *existing == job_type) {
            self.problems.push(format!("job type {job_type:?} is registered twice"));
        }
        self.types.push((job_type, None));
        self
    }

    /// The handler of the job type named last. It returns the variables to complete the job with
    /// (anything serializing to a JSON object, or `()`/`null` for none) or a [`JobError`].
    pub fn handler<F, Fut, T>(mut self, handler: F) -> Self
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, JobError>> + Send + 'static,
        T: Serialize + 'static,
    {
        let handler: Handler = Arc::new(move |job: Job| {
            let future = handler(job);
            Box::pin(async move {
                let variables = future.await?;
                serde_json::to_value(&variables)
                    .map_err(|error| JobError::fail(format!("the handler's variables are not valid JSON: {error}")))
            })
        });
        match self.types.last_mut() {
            Some((_, slot @ None)) => *slot = Some(handler),
            Some((job_type, Some(_))) => {
                self.problems.push(format!("job type {job_type:?} has two handlers"));
            }
            None => self.problems.push("handler() needs a job_type() before it".to_string()),
        }
        self
    }

    /// The worker's name, as jobs record it (default `baton-worker`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = name.into();
        self
    }

    /// How many handlers run at once, over all job types (default 32).
    pub fn max_concurrent_jobs(mut self, max: usize) -> Self {
        self.config.max_concurrent_jobs = max;
        self
    }

    /// How long an activated job stays locked to this worker (default 5 minutes).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// How long one long-poll `ActivateJobs` call waits for jobs (default 10 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// Only these variables are fetched with each job (default: all).
    pub fn fetch_variables<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.fetch_variables = names.into_iter().map(Into::into).collect();
        self
    }

    /// Whether jobs are taken from the `StreamActivatedJobs` push stream (default true). When
    /// off, or while the stream is down, the worker long-polls `ActivateJobs`.
    pub fn streaming(mut self, enabled: bool) -> Self {
        self.config.streaming = enabled;
        self
    }

    /// After the job stream failed or ended, how long the worker long-polls before it opens
    /// the stream again (default 30 s).
    pub fn stream_retry(mut self, delay: Duration) -> Self {
        self.config.stream_retry = delay;
        self
    }

    /// How long [`Worker::run`] waits for running handlers after the shutdown signal before
    /// it aborts them (default 30 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// Checks the configuration.
    pub fn build(mut self) -> Result<Worker, Error> {
        if self.types.is_empty() {
            self.problems.push("a worker needs at least one job_type() with a handler()".to_string());
        }
        if self.config.max_concurrent_jobs == 0 {
            self.problems.push("max_concurrent_jobs must be at least 1".to_string());
        }
        let mut handlers = Vec::new();
        for (job_type, handler) in self.types {
            match handler {
                Some(handler) => handlers.push((job_type, handler)),
                None => {
                    let problem = format!("job type {job_type:?} has no handler");
                    if !self.problems.contains(&problem) {
                        self.problems.push(problem);
                    }
                }
            }
        }
        if !self.problems.is_empty() {
            return Err(Error::InvalidArgument(self.problems.join("; ")));
        }
        Ok(Worker { client: self.client, handlers, config: self.config })
    }
}

/// Runs handlers for jobs of one or more types; see the crate documentation for an example.
pub struct Worker {
    client: Client,
    handlers: Vec<(String, Handler)>,
    config: Config,
}

/// What [`Worker::run`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Jobs whose handler ran to the end (completed, failed or threw an error).
    pub handled: u64,
    /// Handlers still running when the shutdown timeout ran out; they were aborted, and their
    /// jobs become activatable again when their lock runs out.
    pub abandoned: usize,
}

/// What the fetch loops share.
struct Shared {
    client: Client,
    config: Config,
    permits: Arc<Semaphore>,
    /// At most this many jobs per long poll, so one job type cannot hold every permit.
    batch: usize,
    stop: watch::Receiver<bool>,
    /// Handler futures, run by [`Worker::run`] in its join set.
    spawn: mpsc::UnboundedSender<BoxFuture<()>>,
    handled: Arc<AtomicU64>,
}

impl Worker {
    /// Starts configuring a worker that uses `client`.
    pub fn builder(client: Client) -> WorkerBuilder {
        WorkerBuilder {
            client,
            types: Vec::new(),
            problems: Vec::new(),
            config: Config {
                name: "baton-worker".to_string(),
                max_concurrent_jobs: 32,
                timeout: Duration::from_secs(300),
                request_timeout: Duration::from_secs(10),
                fetch_variables: Vec::new(),
                streaming: true,
                stream_retry: Duration::from_secs(30),
                shutdown_timeout: Duration::from_secs(30),
            },
        }
    }

    /// Fetches and handles jobs until `shutdown` resolves; then stops fetching, waits up to the
    /// shutdown timeout for running handlers, and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> RunSummary {
        let (stop_tx, stop) = watch::channel(false);
        let (spawn, mut spawned) = mpsc::unbounded_channel::<BoxFuture<()>>();
        let handled = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(Shared {
            client: self.client,
            permits: Arc::new(Semaphore::new(self.config.max_concurrent_jobs)),
            batch: (self.config.max_concurrent_jobs / self.handlers.len().max(1)).max(1),
            config: self.config,
            stop,
            spawn,
            handled: handled.clone(),
        });
        let shutdown_timeout = shared.config.shutdown_timeout;
        let mut fetchers = JoinSet::new();
        for (job_type, handler) in self.handlers {
            fetchers.spawn(fetch_loop(shared.clone(), job_type, handler));
        }
        drop(shared);

        let mut running = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                Some(handler) = spawned.recv() => {
                    running.spawn(handler);
                }
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }

        // Stop fetching; every wait in the fetch loops also watches `stop`, so this is quick.
        let _ = stop_tx.send(true);
        let deadline = Instant::now() + shutdown_timeout;
        let stopped = tokio::time::timeout_at(deadline, async { while fetchers.join_next().await.is_some() {} }).await;
        if stopped.is_err() {
            fetchers.abort_all();
        }
        // Jobs handed over while stopping already hold permits: run them too.
        while let Ok(handler) = spawned.try_recv() {
            running.spawn(handler);
        }
        let drained = tokio::time::timeout_at(deadline, async { while running.join_next().await.is_some() {} }).await;
        let abandoned = if drained.is_err() { running.len() } else { 0 };
        if abandoned > 0 {
            tracing::warn!(abandoned, "job handlers still running after the shutdown timeout; aborting them");
            running.abort_all();
        }
        RunSummary { handled: handled.load(Ordering::Relaxed), abandoned }
    }
}

/// Resolves once the worker stops (or its stop signal is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

enum StreamEnd {
    Stopped,
    /// The gateway has no job streams: long-poll from now on.
    Unsupported,
    /// The stream failed or ended: long-poll for a while, then open it again.
    Broken(String),
}

/// Fetches jobs of one type until the worker stops: from the push stream while it works,
/// by long polling otherwise.
async fn fetch_loop(shared: Arc<Shared>, job_type: String, handler: Handler) {
    let mut streaming = shared.config.streaming;
    let mut stream_again = Instant::now();
    let mut backoff = Duration::ZERO;
    loop {
        if *shared.stop.borrow() {
            return;
        }
        if streaming && Instant::now() >= stream_again {
            match stream_jobs(&shared, &job_type, &handler).await {
                StreamEnd::Stopped => return,
                StreamEnd::Unsupported => {
                    tracing::info!(job_type, "the gateway has no job streams; long-polling instead");
                    streaming = false;
                }
                StreamEnd::Broken(reason) => {
                    tracing::warn!(job_type, reason, "job stream broke; long-polling for a while");
                    stream_again = Instant::now() + shared.config.stream_retry;
                }
            }
            continue;
        }
        match poll_jobs(&shared, &job_type, &handler).await {
            None => return,
            Some(Ok(())) => backoff = Duration::ZERO,
            Some(Err(error)) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(100), Duration::from_secs(5));
                tracing::warn!(job_type, %error, ?backoff, "activating jobs failed");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = stopped(shared.stop.clone()) => return,
                }
            }
        }
    }
}

/// Takes jobs from `StreamActivatedJobs` until the stream ends or the worker stops. A job is
/// read only once a permit is free, so the transport's flow control holds back the rest.
async fn stream_jobs(shared: &Shared, job_type: &str, handler: &Handler) -> StreamEnd {
    let request = proto::StreamActivatedJobsRequest {
        r#type: job_type.to_string(),
        worker: shared.config.name.clone(),
        timeout: millis(shared.config.timeout),
        fetch_variable: shared.config.fetch_variables.clone(),
        tenant_ids: Vec::new(),
    };
    let mut gateway = shared.client.raw();
    let opened = tokio::select! {
        opened = gateway.stream_activated_jobs(request) => opened,
        () = stopped(shared.stop.clone()) => return StreamEnd::Stopped,
    };
    let mut stream = match opened {
        Ok(response) => response.into_inner(),
        Err(status) if status.code() == Code::Unimplemented => return StreamEnd::Unsupported,
        Err(status) => return StreamEnd::Broken(status.to_string()),
    };
    loop {
        let message = tokio::select! {
            message = stream.message() => message,
            () = stopped(shared.stop.clone()) => return StreamEnd::Stopped,
        };
        let job = match message {
            Ok(Some(job)) => Job::from(job),
            Ok(None) => return StreamEnd::Broken("the gateway ended the stream".to_string()),
            Err(status) if status.code() == Code::Unimplemented => return StreamEnd::Unsupported,
            Err(status) => return StreamEnd::Broken(status.to_string()),
        };
        let permit = tokio::select! {
            permit = shared.permits.clone().acquire_owned() => permit,
            () = stopped(shared.stop.clone()) => {
                give_back(&shared.client, &job).await;
                return StreamEnd::Stopped;
            }
        };
        let Ok(permit) = permit else { return StreamEnd::Stopped };
        dispatch(shared, handler, job, permit);
    }
}

/// One long poll for as many jobs as there are free permits (at least one, at most the batch
/// size). `None`: the worker stopped.
async fn poll_jobs(shared: &Shared, job_type: &str, handler: &Handler) -> Option<Result<(), Error>> {
    let mut reserved = tokio::select! {
        permit = shared.permits.clone().acquire_owned() => permit.ok()?,
        () = stopped(shared.stop.clone()) => return None,
    };
    let extra = shared.permits.available_permits().min(shared.batch - 1);
    if extra > 0
        && let Ok(more) = shared.permits.clone().try_acquire_many_owned(u32::try_from(extra).unwrap_or(u32::MAX))
    {
        reserved.merge(more);
    }
    let request = ActivateJobs {
        job_type: job_type.to_string(),
        worker: shared.config.name.clone(),
        timeout: shared.config.timeout,
        max_jobs: i32::try_from(reserved.num_permits()).unwrap_or(i32::MAX),
        request_timeout: Some(shared.config.request_timeout),
        fetch_variables: shared.config.fetch_variables.clone(),
    };
    let jobs = tokio::select! {
        jobs = shared.client.activate_jobs(request) => jobs,
        // Hanging up makes the gateway give back what it activated but could not deliver.
        () = stopped(shared.stop.clone()) => return None,
    };
    let jobs = match jobs {
        Ok(jobs) => jobs,
        Err(error) => return Some(Err(error)),
    };
    for job in jobs {
        match reserved.split(1) {
            Some(permit) => dispatch(shared, handler, job, permit),
            // The gateway sent more than asked for: hand the rest back.
            None => give_back(&shared.client, &job).await,
        }
    }
    // Unused permits go back to the semaphore here.
    Some(Ok(()))
}

/// Hands a job over to [`Worker::run`] to run its handler; the permit is held until the job is
/// completed, failed or its error thrown.
fn dispatch(shared: &Shared, handler: &Handler, job: Job, permit: OwnedSemaphorePermit) {
    let client = shared.client.clone();
    let handler = handler.clone();
    let handled = shared.handled.clone();
    let task: BoxFuture<()> = Box::pin(async move {
        let _permit = permit;
        let (key, retries, job_type) = (job.key, job.retries, job.job_type.clone());
        let outcome = match CatchUnwind(handler(job)).await {
            Ok(outcome) => outcome,
            Err(panic) => Err(JobError::fail(format!("the job handler panicked: {panic}"))),
        };
        let answer = match outcome {
            Ok(variables) => client.complete_job(key, &variables).await,
            Err(JobError::Fail { message, retries: left, backoff }) => {
                let left = left.unwrap_or_else(|| retries.saturating_sub(1)).max(0);
                client.fail_job(key, left, message, backoff).await
            }
            Err(JobError::BpmnError { code, message }) => client.throw_error(key, code, message).await,
        };
        if let Err(error) = answer {
            tracing::warn!(job_key = key, job_type, %error, "could not report the job's outcome");
        }
        handled.fetch_add(1, Ordering::Relaxed);
    });
    if let Err(mpsc::error::SendError(task)) = shared.spawn.send(task) {
        // The worker is gone (it cannot be, while fetch loops run); run the job anyway.
        tokio::spawn(task);
    }
}

/// Makes a job that this worker took but will not handle activatable again at once, instead of
/// leaving it locked until its deadline.
async fn give_back(client: &Client, job: &Job) {
    let message = "the worker stopped before it handled the job";
    if let Err(error) = client.fail_job(job.key, job.retries, message, Duration::ZERO).await {
        tracing::warn!(job_key = job.key, %error, "could not give back an unhandled job");
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Turns a panic of the wrapped future into an error, so a panicking handler fails its job.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".to_string());
                Poll::Ready(Err(text))
            }
        }
    }
}
