//! [`Client`]: one typed method per gateway RPC, variables as serde values.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use baton_gateway::admin::admin_client::AdminClient;
use baton_gateway::proto::gateway_client::GatewayClient;
use baton_gateway::{admin, proto};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::transport::{Channel, Endpoint};

use crate::Error;

/// A connection to a gateway. Cloning is cheap: clones share one HTTP/2 channel.
#[derive(Clone, Debug)]
pub struct Client {
    gateway: GatewayClient<Channel>,
    channel: Channel,
}

/// The cluster layout `Topology` reports.
pub type Topology = proto::TopologyResponse;
/// A process a deployment contained.
pub type ProcessMetadata = proto::ProcessMetadata;
/// An incident as Baton's admin service lists it.
pub type Incident = admin::Incident;

/// The answer to a deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    /// The deployment's key.
    pub key: i64,
    /// The processes it contained (decisions and forms are not listed).
    pub processes: Vec<ProcessMetadata>,
}

/// Which process a [`CreateInstance`] starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessRef {
    /// By BPMN process id; the version is taken from [`CreateInstance::version`].
    Id(String),
    /// By process definition key (one exact version).
    Key(i64),
}

/// What to start: a process (by id and version, or by key) and its initial variables.
///
/// ```
/// # use baton_client::CreateInstance;
/// #[derive(serde::Serialize)]
/// struct Order { id: u32 }
/// let request = CreateInstance::by_id("order").version(2).with_variables(Order { id: 7 });
/// ```
#[derive(Clone, Debug)]
pub struct CreateInstance<V = ()> {
    pub process: ProcessRef,
    /// `None`: the latest version (only meaningful with [`ProcessRef::Id`]).
    pub version: Option<i32>,
    /// Serialized to a JSON object; `()` (or anything serializing to `null`) sends none.
    pub variables: V,
}

impl CreateInstance<()> {
    /// The latest version of the process with this BPMN id, without variables.
    pub fn by_id(bpmn_process_id: impl Into<String>) -> Self {
        CreateInstance { process: ProcessRef::Id(bpmn_process_id.into()), version: None, variables: () }
    }

    /// The process definition with this key, without variables.
    pub fn by_key(process_definition_key: i64) -> Self {
        CreateInstance { process: ProcessRef::Key(process_definition_key), version: None, variables: () }
    }
}

impl<V> CreateInstance<V> {
    /// Pins the version (only with [`ProcessRef::Id`]).
    pub fn version(mut self, version: i32) -> Self {
        self.version = Some(version);
        self
    }

    /// Replaces the initial variables.
    pub fn with_variables<W: Serialize>(self, variables: W) -> CreateInstance<W> {
        CreateInstance { process: self.process, version: self.version, variables }
    }
}

impl<V: Serialize> CreateInstance<V> {
    fn to_request(&self) -> Result<proto::CreateProcessInstanceRequest, Error> {
        let (bpmn_process_id, process_definition_key) = match &self.process {
            ProcessRef::Id(id) => (id.clone(), 0),
            ProcessRef::Key(key) => (String::new(), *key),
        };
        Ok(proto::CreateProcessInstanceRequest {
            process_definition_key,
            bpmn_process_id,
            version: self.version.unwrap_or(-1),
            variables: to_json(&self.variables)?,
            ..Default::default()
        })
    }
}

/// A started process instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessInstance {
    pub key: i64,
    pub bpmn_process_id: String,
    pub version: i32,
    pub process_definition_key: i64,
}

/// A process instance that ran to completion, with its variables at the end.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceResult<T> {
    pub instance: ProcessInstance,
    pub variables: T,
}

/// Options of a long-poll [`Client::activate_jobs`] call.
#[derive(Clone, Debug)]
pub struct ActivateJobs {
    pub job_type: String,
    pub worker: String,
    /// How long the activated jobs stay locked to this worker.
    pub timeout: Duration,
    pub max_jobs: i32,
    /// How long the gateway may wait for jobs; `None` uses the gateway's default.
    pub request_timeout: Option<Duration>,
    /// Variables to fetch; empty fetches all.
    pub fetch_variables: Vec<String>,
}

impl ActivateJobs {
    /// Up to `max_jobs` jobs of `job_type`, locked for 5 minutes, the gateway's default long poll.
    pub fn new(job_type: impl Into<String>, max_jobs: i32) -> Self {
        ActivateJobs {
            job_type: job_type.into(),
            worker: "baton-client".to_string(),
            timeout: Duration::from_secs(300),
            max_jobs,
            request_timeout: None,
            fetch_variables: Vec::new(),
        }
    }
}

/// An activated job, as a handler sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub key: i64,
    pub job_type: String,
    pub process_instance_key: i64,
    pub bpmn_process_id: String,
    pub process_definition_version: i32,
    pub process_definition_key: i64,
    pub element_id: String,
    pub element_instance_key: i64,
    pub worker: String,
    pub retries: i32,
    /// Epoch milliseconds at which the job's lock runs out.
    pub deadline: i64,
    /// The task's `zeebe:taskHeaders`.
    pub custom_headers: HashMap<String, String>,
    /// The variables as the JSON text the gateway sent.
    pub variables_json: String,
}

impl Job {
    /// The job's variables as `T` (a struct with the fields the handler needs, a map, …).
    pub fn variables<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let text = if self.variables_json.trim().is_empty() { "{}" } else { &self.variables_json };
        Ok(serde_json::from_str(text)?)
    }

    /// One custom header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.custom_headers.get(name).map(String::as_str)
    }
}

impl From<proto::ActivatedJob> for Job {
    fn from(job: proto::ActivatedJob) -> Self {
        let custom_headers =
            match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&job.custom_headers) {
                Ok(map) => map
                    .into_iter()
                    .map(|(name, value)| match value {
                        serde_json::Value::String(text) => (name, text),
                        other => (name, other.to_string()),
                    })
                    .collect(),
                Err(_) => HashMap::new(),
            };
        Job {
            key: job.key,
            job_type: job.r#type,
            process_instance_key: job.process_instance_key,
            bpmn_process_id: job.bpmn_process_id,
            process_definition_version: job.process_definition_version,
            process_definition_key: job.process_definition_key,
            element_id: job.element_id,
            element_instance_key: job.element_instance_key,
            worker: job.worker,
            retries: job.retries,
            deadline: job.deadline,
            custom_headers,
            variables_json: job.variables,
        }
    }
}

/// Serializes variables for the wire: JSON text, or "" for `null` (the gateway reads "" as none).
pub(crate) fn to_json<T: Serialize + ?Sized>(variables: &T) -> Result<String, Error> {
    let value = serde_json::to_value(variables)?;
    Ok(if value.is_null() { String::new() } else { value.to_string() })
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Client {
    /// Connects to a gateway at `address` (`host:port` or a `http://`/`https://` URI).
    pub async fn connect(address: impl AsRef<str>) -> Result<Client, Error> {
        let address = address.as_ref();
        let uri = if address.contains("://") { address.to_string() } else { format!("http://{address}") };
        let endpoint = Endpoint::from_shared(uri)
            .map_err(|error| Error::InvalidArgument(format!("bad gateway address {address:?}: {error}")))?;
        let channel = endpoint.connect().await?;
        Ok(Client::from_channel(channel))
    }

    /// A client over an already built channel (custom TLS, timeouts, interceptors…).
    pub fn from_channel(channel: Channel) -> Client {
        Client { gateway: GatewayClient::new(channel.clone()), channel }
    }

    /// The generated tonic client, for RPCs this type has no method for.
    pub fn raw(&self) -> GatewayClient<Channel> {
        self.gateway.clone()
    }

    fn gateway(&self) -> GatewayClient<Channel> {
        self.gateway.clone()
    }

    /// The cluster's brokers and partitions.
    pub async fn topology(&self) -> Result<Topology, Error> {
        Ok(self.gateway().topology(proto::TopologyRequest {}).await?.into_inner())
    }

    /// Deploys one resource (a BPMN file's content) under `name`.
    pub async fn deploy_resource(
        &self,
        name: impl Into<String>,
        content: impl Into<Vec<u8>>,
    ) -> Result<Deployment, Error> {
        let request = proto::DeployResourceRequest {
            resources: vec![proto::Resource { name: name.into(), content: content.into() }],
            tenant_id: String::new(),
        };
        let response = self.gateway().deploy_resource(request).await?.into_inner();
        let processes = response
            .deployments
            .into_iter()
            .filter_map(|deployment| match deployment.metadata {
                Some(proto::deployment::Metadata::Process(process)) => Some(process),
                _ => None,
            })
            .collect();
        Ok(Deployment { key: response.key, processes })
    }

    /// Reads a file and deploys it under its file name.
    pub async fn deploy_file(&self, path: impl AsRef<Path>) -> Result<Deployment, Error> {
        let path = path.as_ref();
        let content = tokio::task::spawn_blocking({
            let path = path.to_path_buf();
            move || std::fs::read(path)
        })
        .await
        .map_err(|error| Error::Io { path: path.to_path_buf(), source: std::io::Error::other(error) })?
        .map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        self.deploy_resource(name, content).await
    }

    /// Starts a process instance and returns at once.
    pub async fn create_instance<V: Serialize>(&self, request: CreateInstance<V>) -> Result<ProcessInstance, Error> {
        let response = self.gateway().create_process_instance(request.to_request()?).await?.into_inner();
        Ok(ProcessInstance {
            key: response.process_instance_key,
            bpmn_process_id: response.bpmn_process_id,
            version: response.version,
            process_definition_key: response.process_definition_key,
        })
    }

    /// Starts a process instance and waits until it completes; its final variables (only
    /// `fetch_variables`, or all when empty) are deserialized into `T`. `request_timeout` bounds
    /// the wait on the gateway (`None`: the gateway's default); running out is
    /// [`Error::is_deadline_exceeded`].
    pub async fn create_instance_with_result<V: Serialize, T: DeserializeOwned>(
        &self,
        request: CreateInstance<V>,
        fetch_variables: &[&str],
        request_timeout: Option<Duration>,
    ) -> Result<InstanceResult<T>, Error> {
        let request = proto::CreateProcessInstanceWithResultRequest {
            request: Some(request.to_request()?),
            request_timeout: request_timeout.map_or(0, millis),
            fetch_variables: fetch_variables.iter().map(|name| (*name).to_string()).collect(),
        };
        let mut request = tonic::Request::new(request);
        if let Some(timeout) = request_timeout {
            // The client's own deadline a little after the gateway's, so the gateway's answer wins.
            request.set_timeout(timeout + Duration::from_secs(1));
        }
        let response = self.gateway().create_process_instance_with_result(request).await?.into_inner();
        let text = if response.variables.trim().is_empty() { "{}" } else { &response.variables };
        let variables = serde_json::from_str(text)?;
        Ok(InstanceResult {
            instance: ProcessInstance {
                key: response.process_instance_key,
                bpmn_process_id: response.bpmn_process_id,
                version: response.version,
                process_definition_key: response.process_definition_key,
            },
            variables,
        })
    }

    /// Cancels a running process instance.
    pub async fn cancel_instance(&self, process_instance_key: i64) -> Result<(), Error> {
        let request = proto::CancelProcessInstanceRequest { process_instance_key, operation_reference: None };
        self.gateway().cancel_process_instance(request).await?;
        Ok(())
    }

    /// Activates up to `request.max_jobs` jobs, long-polling as the request says.
    pub async fn activate_jobs(&self, request: ActivateJobs) -> Result<Vec<Job>, Error> {
        let timeout = request.request_timeout;
        let request = proto::ActivateJobsRequest {
            r#type: request.job_type,
            worker: request.worker,
            timeout: millis(request.timeout),
            max_jobs_to_activate: request.max_jobs,
            fetch_variable: request.fetch_variables,
            request_timeout: timeout.map_or(0, millis),
            tenant_ids: Vec::new(),
        };
        let mut request = tonic::Request::new(request);
        if let Some(timeout) = timeout {
            request.set_timeout(timeout + Duration::from_secs(5));
        }
        let mut stream = self.gateway().activate_jobs(request).await?.into_inner();
        let mut jobs = Vec::new();
        while let Some(response) = stream.message().await? {
            jobs.extend(response.jobs.into_iter().map(Job::from));
        }
        Ok(jobs)
    }

    /// Completes a job, merging `variables` into the instance.
    pub async fn complete_job<V: Serialize + ?Sized>(&self, job_key: i64, variables: &V) -> Result<(), Error> {
        let request = proto::CompleteJobRequest { job_key, variables: to_json(variables)?, result: None };
        self.gateway().complete_job(request).await?;
        Ok(())
    }

    /// Fails a job: with `retries` > 0 it is activatable again after `backoff`, at 0 it raises an
    /// incident.
    pub async fn fail_job(
        &self,
        job_key: i64,
        retries: i32,
        message: impl Into<String>,
        backoff: Duration,
    ) -> Result<(), Error> {
        let request = proto::FailJobRequest {
            job_key,
            retries,
            error_message: message.into(),
            retry_back_off: millis(backoff),
            variables: String::new(),
        };
        self.gateway().fail_job(request).await?;
        Ok(())
    }

    /// Throws a BPMN error from a job; an error boundary or event sub-process with a matching
    /// code catches it, otherwise it raises an incident.
    pub async fn throw_error(
        &self,
        job_key: i64,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Result<(), Error> {
        let request = proto::ThrowErrorRequest {
            job_key,
            error_code: code.into(),
            error_message: message.into(),
            variables: String::new(),
        };
        self.gateway().throw_error(request).await?;
        Ok(())
    }

    /// Sets a job's retries (e.g. before resolving its incident).
    pub async fn update_job_retries(&self, job_key: i64, retries: i32) -> Result<(), Error> {
        let request = proto::UpdateJobRetriesRequest { job_key, retries, operation_reference: None };
        self.gateway().update_job_retries(request).await?;
        Ok(())
    }

    /// Moves an activated job's deadline to `timeout` from now.
    pub async fn update_job_timeout(&self, job_key: i64, timeout: Duration) -> Result<(), Error> {
        let request = proto::UpdateJobTimeoutRequest { job_key, timeout: millis(timeout), operation_reference: None };
        self.gateway().update_job_timeout(request).await?;
        Ok(())
    }

    /// Sets variables on an element instance (or a process instance) scope; `local` keeps them
    /// from propagating to parent scopes. Returns the command's key.
    pub async fn set_variables<V: Serialize + ?Sized>(
        &self,
        element_instance_key: i64,
        variables: &V,
        local: bool,
    ) -> Result<i64, Error> {
        let request = proto::SetVariablesRequest {
            element_instance_key,
            variables: to_json(variables)?,
            local,
            operation_reference: None,
        };
        Ok(self.gateway().set_variables(request).await?.into_inner().key)
    }

    /// Resolves an incident; its job needs retries left first.
    pub async fn resolve_incident(&self, incident_key: i64) -> Result<(), Error> {
        let request = proto::ResolveIncidentRequest { incident_key, operation_reference: None };
        self.gateway().resolve_incident(request).await?;
        Ok(())
    }

    /// Publishes a message. Baton answers UNIMPLEMENTED for now ([`Error::is_unimplemented`]).
    pub async fn publish_message<V: Serialize + ?Sized>(
        &self,
        name: impl Into<String>,
        correlation_key: impl Into<String>,
        time_to_live: Duration,
        variables: &V,
    ) -> Result<i64, Error> {
        let request = proto::PublishMessageRequest {
            name: name.into(),
            correlation_key: correlation_key.into(),
            time_to_live: millis(time_to_live),
            message_id: String::new(),
            variables: to_json(variables)?,
            tenant_id: String::new(),
        };
        Ok(self.gateway().publish_message(request).await?.into_inner().key)
    }

    /// Baton only: the open incidents of one process instance (0: of all instances), from the
    /// `baton.admin.v1.Admin` service. Zeebe gateways answer UNIMPLEMENTED.
    pub async fn incidents(&self, process_instance_key: i64) -> Result<Vec<Incident>, Error> {
        let request = admin::ListIncidentsRequest { process_instance_key };
        Ok(AdminClient::new(self.channel.clone()).list_incidents(request).await?.into_inner().incidents)
    }
}
