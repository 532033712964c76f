//! The `gateway_protocol.Gateway` service: each RPC validates its request, hands one command to
//! the broker and maps the answer (event, rejection or runtime failure) back onto the wire.

use std::sync::Arc;
use std::time::Duration;

use baton_engine::{Command, JobRecord, state::partition_of_key};
use baton_runtime::{ActivateJobs, Broker, Error as RuntimeError};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::proto;
use crate::proto::gateway_server::Gateway;

/// Settings of the gateway that are not part of the broker.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Host and port that `Topology` reports; clients only display them.
    pub advertised_host: String,
    pub advertised_port: u16,
    /// Long-poll duration of `ActivateJobs` when the request says 0 ("gateway default").
    pub long_poll_default: Duration,
    /// Wait of `CreateProcessInstanceWithResult` when the request says 0 and the client set no
    /// deadline.
    pub result_timeout_default: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            advertised_host: "127.0.0.1".to_string(),
            advertised_port: 26500,
            long_poll_default: Duration::from_secs(10),
            result_timeout_default: Duration::from_secs(10),
        }
    }
}

/// The version Topology reports. Clients parse it as a Zeebe version to pick features, so it
/// names the protocol level Baton speaks, not Baton's own version.
pub const GATEWAY_VERSION: &str = "8.6.0";

/// Jobs a `StreamActivatedJobs` stream holds for its worker at most (pushed, or taken in one
/// look): small, so jobs are spread over the open streams instead of piling up in one.
const STREAM_BATCH: i32 = 32;
/// How often a job stream looks for jobs that were not pushed to it (waiting before it opened,
/// or when it was full).
const STREAM_BACKLOG_LOOK: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct GatewayService {
    broker: Broker,
    config: Arc<GatewayConfig>,
    /// Turns true when the server shuts down: long polls and job streams end then, or the
    /// graceful shutdown would wait for them forever.
    stopping: watch::Receiver<bool>,
}

impl GatewayService {
    pub fn new(broker: Broker, config: GatewayConfig) -> GatewayService {
        // A sender that is never used: `stopped` treats its absence as "never stops".
        let (_, stopping) = watch::channel(false);
        GatewayService { broker, config: Arc::new(config), stopping }
    }

    /// Ends long polls and job streams when `stopping` turns true.
    pub fn with_shutdown(mut self, stopping: watch::Receiver<bool>) -> GatewayService {
        self.stopping = stopping;
        self
    }

    /// Runs a command on the partition that owns `key`. A key naming a partition that does not
    /// exist cannot name an entity either, so it is NOT_FOUND rather than a broker error.
    async fn on_key(&self, key: i64, command: baton_engine::Command) -> Result<baton_engine::Record, Status> {
        let partition = partition_of_key(key);
        if key <= 0 || partition < 1 || partition > self.broker.partition_count() {
            return Err(Status::not_found(format!(
                "Command '{}' rejected with code 'NOT_FOUND': Expected to find an entity with key '{key}', \
                 but the key does not belong to any partition",
                command.intent.as_str()
            )));
        }
        convert::accepted(self.broker.execute_on_key(key, command).await)
    }

    /// The long-poll duration for an `ActivateJobs` request: negative = none, 0 = the default,
    /// capped a little below the client's own deadline so the answer arrives before it gives up.
    fn long_poll(&self, request_timeout_ms: i64, client: Option<Duration>) -> Option<Duration> {
        let wanted = match request_timeout_ms {
            ms if ms < 0 => return None,
            0 => self.config.long_poll_default,
            ms => Duration::from_millis(ms.unsigned_abs()),
        };
        Some(match client {
            Some(client) => wanted.min(client.saturating_sub((client / 10).min(Duration::from_secs(1)))),
            None => wanted,
        })
    }
}

/// Resolves once the server is shutting down; never if no shutdown signal was wired in.
async fn stopped(mut stopping: watch::Receiver<bool>) {
    if stopping.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Makes jobs that were activated but could not be handed to the worker (it went away)
/// activatable again at once, instead of leaving them locked until their deadline.
async fn give_back(broker: &Broker, jobs: Vec<(i64, JobRecord)>) {
    for (key, job) in jobs {
        let command = baton_runtime::give_back_command(key, &job);
        if let Err(error) = broker.execute_on_key(key, command).await {
            tracing::warn!(job_key = key, %error, "could not give back an undelivered job");
        }
    }
}

type ResponseStream<T> = ReceiverStream<Result<T, Status>>;

#[tonic::async_trait]
impl Gateway for GatewayService {
    type ActivateJobsStream = ResponseStream<proto::ActivateJobsResponse>;

    async fn activate_jobs(
        &self,
        request: Request<proto::ActivateJobsRequest>,
    ) -> Result<Response<Self::ActivateJobsStream>, Status> {
        let client_timeout = convert::client_timeout(request.metadata());
        let request = request.into_inner();
        convert::activation(
            &request.r#type,
            &request.worker,
            request.timeout,
            request.max_jobs_to_activate,
            &request.tenant_ids,
        )?;
        let activation = ActivateJobs {
            job_type: request.r#type,
            worker: request.worker,
            timeout_ms: request.timeout,
            max_jobs_to_activate: request.max_jobs_to_activate,
            fetch_variables: request.fetch_variable,
            request_timeout: self.long_poll(request.request_timeout, client_timeout),
        };
        // The response stream starts at once; the long poll runs in its own task so it can stop
        // as soon as the client hangs up.
        let (tx, rx) = mpsc::channel(1);
        let broker = self.broker.clone();
        let stopping = self.stopping.clone();
        tokio::spawn(async move {
            let result = tokio::select! {
                result = broker.activate_jobs(activation) => result,
                () = tx.closed() => return,
                () = stopped(stopping) => return,
            };
            let jobs = match result {
                Ok(jobs) => jobs,
                // The long poll ran out: the answer is simply "no jobs".
                Err(RuntimeError::Timeout(_)) => Vec::new(),
                Err(error) => {
                    let _ = tx.send(Err(convert::runtime_status(error))).await;
                    return;
                }
            };
            // Like Zeebe, a poll that found nothing ends the stream without a message.
            if jobs.is_empty() {
                return;
            }
            let response = proto::ActivateJobsResponse {
                jobs: jobs.iter().map(|(key, job)| convert::activated_job(*key, job)).collect(),
            };
            if tx.send(Ok(response)).await.is_err() {
                give_back(&broker, jobs).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    type StreamActivatedJobsStream = ResponseStream<proto::ActivatedJob>;

    async fn stream_activated_jobs(
        &self,
        request: Request<proto::StreamActivatedJobsRequest>,
    ) -> Result<Response<Self::StreamActivatedJobsStream>, Status> {
        let request = request.into_inner();
        // The push stream has no batch size; the worker name is optional there in Zeebe.
        let worker = if request.worker.trim().is_empty() { "default".to_string() } else { request.worker };
        convert::activation(&request.r#type, &worker, request.timeout, 1, &request.tenant_ids)?;
        let activation = ActivateJobs {
            job_type: request.r#type,
            worker,
            timeout_ms: request.timeout,
            max_jobs_to_activate: STREAM_BATCH,
            fetch_variables: request.fetch_variable,
            request_timeout: None,
        };
        let (tx, rx) = mpsc::channel(STREAM_BATCH as usize);
        let broker = self.broker.clone();
        let stopping = self.stopping.clone();
        // New jobs are pushed by the partitions; a look now and then takes jobs that were
        // waiting before the stream opened or found it full.
        let (stream, mut pushed) = broker.stream_jobs(&activation);
        tokio::spawn(async move {
            let mut look = tokio::time::interval(STREAM_BACKLOG_LOOK);
            loop {
                let jobs = tokio::select! {
                    job = pushed.recv() => match job {
                        Some(job) => Ok(vec![job]),
                        None => return,
                    },
                    _ = look.tick() => broker.activate_jobs(activation.clone()).await,
                    () = tx.closed() => break,
                    () = stopped(stopping.clone()) => break,
                };
                match jobs {
                    Ok(jobs) => {
                        let mut jobs = jobs.into_iter();
                        while let Some((key, job)) = jobs.next() {
                            if tx.send(Ok(convert::activated_job(key, &job))).await.is_err() {
                                let undelivered = std::iter::once((key, job)).chain(jobs).collect();
                                give_back(&broker, undelivered).await;
                                break;
                            }
                        }
                    }
                    Err(RuntimeError::Timeout(_) | RuntimeError::Backpressure(_)) => {}
                    Err(error) => {
                        let _ = tx.send(Err(convert::runtime_status(error))).await;
                        break;
                    }
                }
                if tx.is_closed() {
                    break;
                }
            }
            // Jobs pushed after the worker left go back at once.
            drop(stream);
            pushed.close();
            let mut undelivered = Vec::new();
            while let Some(job) = pushed.recv().await {
                undelivered.push(job);
            }
            give_back(&broker, undelivered).await;
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn cancel_process_instance(
        &self,
        request: Request<proto::CancelProcessInstanceRequest>,
    ) -> Result<Response<proto::CancelProcessInstanceResponse>, Status> {
        let key = request.get_ref().process_instance_key;
        self.on_key(key, Command::cancel_instance(key)).await?;
        Ok(Response::new(proto::CancelProcessInstanceResponse {}))
    }

    async fn complete_job(
        &self,
        request: Request<proto::CompleteJobRequest>,
    ) -> Result<Response<proto::CompleteJobResponse>, Status> {
        let request = request.into_inner();
        let command = convert::complete_job_command(&request)?;
        self.on_key(request.job_key, command).await?;
        Ok(Response::new(proto::CompleteJobResponse {}))
    }

    async fn create_process_instance(
        &self,
        request: Request<proto::CreateProcessInstanceRequest>,
    ) -> Result<Response<proto::CreateProcessInstanceResponse>, Status> {
        let creation = convert::creation(request.get_ref(), Vec::new())?;
        let record = convert::accepted(self.broker.create_instance(creation).await)?;
        Ok(Response::new(convert::create_response(&record)?))
    }

    async fn create_process_instance_with_result(
        &self,
        request: Request<proto::CreateProcessInstanceWithResultRequest>,
    ) -> Result<Response<proto::CreateProcessInstanceWithResultResponse>, Status> {
        let client_timeout = convert::client_timeout(request.metadata());
        let request = request.into_inner();
        let Some(create) = request.request.as_ref() else {
            return Err(Status::invalid_argument(
                "Expected a 'request' to create a process instance from, but none was given",
            ));
        };
        let creation = convert::creation(create, request.fetch_variables)?;
        let timeout = match request.request_timeout {
            ms if ms > 0 => Duration::from_millis(ms.unsigned_abs()),
            _ => client_timeout.unwrap_or(self.config.result_timeout_default),
        };
        let record = convert::accepted(self.broker.create_instance_with_result(creation, timeout).await)?;
        Ok(Response::new(convert::create_with_result_response(&record)?))
    }

    async fn evaluate_decision(
        &self,
        request: Request<proto::EvaluateDecisionRequest>,
    ) -> Result<Response<proto::EvaluateDecisionResponse>, Status> {
        let command = convert::evaluate_decision_command(&request.into_inner())?;
        // Every partition holds every decision; the deployment partition answers.
        let record = convert::accepted(self.broker.execute(1, command).await)?;
        Ok(Response::new(convert::evaluate_decision_response(&record)?))
    }

    async fn deploy_process(
        &self,
        request: Request<proto::DeployProcessRequest>,
    ) -> Result<Response<proto::DeployProcessResponse>, Status> {
        let resources = convert::deploy_processes(request.into_inner().processes);
        let record = convert::accepted(self.broker.deploy(resources).await)?;
        let (key, processes) = convert::deployment(&record)?;
        Ok(Response::new(proto::DeployProcessResponse { key, processes }))
    }

    async fn deploy_resource(
        &self,
        request: Request<proto::DeployResourceRequest>,
    ) -> Result<Response<proto::DeployResourceResponse>, Status> {
        let request = request.into_inner();
        convert::check_tenant(&request.tenant_id)?;
        let resources = convert::deploy_resources(request.resources);
        let record = convert::accepted(self.broker.deploy(resources).await)?;
        Ok(Response::new(convert::deploy_resource_response(&record)?))
    }

    async fn fail_job(
        &self,
        request: Request<proto::FailJobRequest>,
    ) -> Result<Response<proto::FailJobResponse>, Status> {
        let request = request.into_inner();
        let command = convert::fail_job_command(&request)?;
        self.on_key(request.job_key, command).await?;
        Ok(Response::new(proto::FailJobResponse {}))
    }

    async fn throw_error(
        &self,
        request: Request<proto::ThrowErrorRequest>,
    ) -> Result<Response<proto::ThrowErrorResponse>, Status> {
        let request = request.into_inner();
        let command = convert::throw_error_command(&request)?;
        self.on_key(request.job_key, command).await?;
        Ok(Response::new(proto::ThrowErrorResponse {}))
    }

    /// Publishes on the partition of the correlation key. Subscriptions are correlated only
    /// within that partition: cross-partition correlation is a known gap (with one partition,
    /// every subscription is found).
    async fn publish_message(
        &self,
        request: Request<proto::PublishMessageRequest>,
    ) -> Result<Response<proto::PublishMessageResponse>, Status> {
        let request = request.into_inner();
        convert::check_tenant(&request.tenant_id)?;
        let command = convert::publish_message_command(&request)?;
        let record = convert::accepted(self.broker.publish_message(command).await)?;
        Ok(Response::new(convert::publish_message_response(&record)?))
    }

    async fn resolve_incident(
        &self,
        request: Request<proto::ResolveIncidentRequest>,
    ) -> Result<Response<proto::ResolveIncidentResponse>, Status> {
        let key = request.get_ref().incident_key;
        self.on_key(key, Command::resolve_incident(key)).await?;
        Ok(Response::new(proto::ResolveIncidentResponse {}))
    }

    async fn set_variables(
        &self,
        request: Request<proto::SetVariablesRequest>,
    ) -> Result<Response<proto::SetVariablesResponse>, Status> {
        let request = request.into_inner();
        let command = convert::set_variables_command(&request)?;
        let record = self.on_key(request.element_instance_key, command).await?;
        Ok(Response::new(proto::SetVariablesResponse { key: record.key }))
    }

    async fn topology(
        &self,
        _request: Request<proto::TopologyRequest>,
    ) -> Result<Response<proto::TopologyResponse>, Status> {
        let count = self.broker.partition_count();
        let partitions = (1..=count)
            .map(|id| proto::Partition {
                partition_id: i32::try_from(id).unwrap_or(i32::MAX),
                role: proto::partition::PartitionBrokerRole::Leader as i32,
                health: proto::partition::PartitionBrokerHealth::Healthy as i32,
            })
            .collect();
        let broker = proto::BrokerInfo {
            node_id: 0,
            host: self.config.advertised_host.clone(),
            port: i32::from(self.config.advertised_port),
            partitions,
            version: GATEWAY_VERSION.to_string(),
        };
        Ok(Response::new(proto::TopologyResponse {
            brokers: vec![broker],
            cluster_size: 1,
            partitions_count: i32::try_from(count).unwrap_or(i32::MAX),
            replication_factor: 1,
            gateway_version: GATEWAY_VERSION.to_string(),
            cluster_id: String::new(),
        }))
    }

    async fn update_job_retries(
        &self,
        request: Request<proto::UpdateJobRetriesRequest>,
    ) -> Result<Response<proto::UpdateJobRetriesResponse>, Status> {
        let request = request.into_inner();
        self.on_key(request.job_key, convert::update_retries_command(&request)).await?;
        Ok(Response::new(proto::UpdateJobRetriesResponse {}))
    }

    async fn modify_process_instance(
        &self,
        request: Request<proto::ModifyProcessInstanceRequest>,
    ) -> Result<Response<proto::ModifyProcessInstanceResponse>, Status> {
        let request = request.into_inner();
        let key = request.process_instance_key;
        let command = convert::modify_command(&request)?;
        self.on_key(key, command).await?;
        Ok(Response::new(proto::ModifyProcessInstanceResponse {}))
    }

    async fn migrate_process_instance(
        &self,
        request: Request<proto::MigrateProcessInstanceRequest>,
    ) -> Result<Response<proto::MigrateProcessInstanceResponse>, Status> {
        let request = request.into_inner();
        let key = request.process_instance_key;
        let Some(plan) = request.migration_plan else {
            return Err(Status::invalid_argument("Expected a 'migrationPlan', but none was given"));
        };
        let value = baton_engine::ProcessInstanceMigrationRecord {
            process_instance_key: key,
            target_process_definition_key: plan.target_process_definition_key,
            mapping_instructions: plan
                .mapping_instructions
                .into_iter()
                .map(|m| (m.source_element_id, m.target_element_id))
                .collect(),
        };
        let command = baton_engine::Command::new(
            baton_engine::Intent::Migrate,
            key,
            baton_engine::RecordValue::ProcessInstanceMigration(value),
        );
        self.on_key(key, command).await?;
        Ok(Response::new(proto::MigrateProcessInstanceResponse {}))
    }

    async fn update_job_timeout(
        &self,
        request: Request<proto::UpdateJobTimeoutRequest>,
    ) -> Result<Response<proto::UpdateJobTimeoutResponse>, Status> {
        let request = request.into_inner();
        self.on_key(request.job_key, convert::update_timeout_command(&request)).await?;
        Ok(Response::new(proto::UpdateJobTimeoutResponse {}))
    }

    async fn delete_resource(
        &self,
        request: Request<proto::DeleteResourceRequest>,
    ) -> Result<Response<proto::DeleteResourceResponse>, Status> {
        let key = request.get_ref().resource_key;
        let value = baton_engine::ResourceDeletionRecord { resource_key: key };
        let command = baton_engine::Command::new(
            baton_engine::Intent::Delete,
            -1,
            baton_engine::RecordValue::ResourceDeletion(value),
        );
        convert::accepted(self.broker.delete_resource(command).await)?;
        Ok(Response::new(proto::DeleteResourceResponse {}))
    }

    async fn broadcast_signal(
        &self,
        request: Request<proto::BroadcastSignalRequest>,
    ) -> Result<Response<proto::BroadcastSignalResponse>, Status> {
        let request = request.into_inner();
        convert::check_tenant(&request.tenant_id)?;
        let command = convert::broadcast_signal_command(&request)?;
        let record = convert::accepted(self.broker.broadcast_signal(command).await)?;
        Ok(Response::new(proto::BroadcastSignalResponse {
            key: record.key,
            tenant_id: convert::DEFAULT_TENANT.to_string(),
        }))
    }

    async fn evaluate_conditional(
        &self,
        _request: Request<proto::EvaluateConditionalRequest>,
    ) -> Result<Response<proto::EvaluateConditionalResponse>, Status> {
        Err(not_supported("EvaluateConditional"))
    }
}

fn not_supported(what: &str) -> Status {
    Status::unimplemented(format!("{what} is not supported yet by Baton"))
}
