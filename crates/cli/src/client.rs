//! The client commands: each sends one gRPC request to a running server (Baton or any Zeebe
//! gateway, except `incidents`, which is Baton-only) and prints the answer as text or JSON.

use std::time::Duration;

use baton_gateway::admin::admin_client::AdminClient;
use baton_gateway::proto;
use baton_gateway::proto::gateway_client::GatewayClient;
use serde_json::{Value, json};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::{ClientArgs, Command, Failure, JobsCommand};

pub async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Serve(_) => Err(Failure::usage("internal: serve is not a client command")),
        Command::Deploy { files, client } => {
            let mut resources = Vec::new();
            for path in &files {
                let content = std::fs::read(path)
                    .map_err(|error| Failure::usage(format!("cannot read {}: {error}", path.display())))?;
                let name =
                    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
                resources.push(proto::Resource { name, content });
            }
            let request = proto::DeployResourceRequest { resources, tenant_id: String::new() };
            let response = gateway(&client).await?.deploy_resource(request).await.map_err(failure)?;
            let response = response.into_inner();
            let processes: Vec<&proto::ProcessMetadata> = response
                .deployments
                .iter()
                .filter_map(|d| match &d.metadata {
                    Some(proto::deployment::Metadata::Process(p)) => Some(p),
                    _ => None,
                })
                .collect();
            let decisions: Vec<&proto::DecisionMetadata> = response
                .deployments
                .iter()
                .filter_map(|d| match &d.metadata {
                    Some(proto::deployment::Metadata::Decision(decision)) => Some(decision),
                    _ => None,
                })
                .collect();
            let forms: Vec<&proto::FormMetadata> = response
                .deployments
                .iter()
                .filter_map(|d| match &d.metadata {
                    Some(proto::deployment::Metadata::Form(form)) => Some(form),
                    _ => None,
                })
                .collect();
            print(
                &client,
                || {
                    let mut text = format!("deployment {}", response.key);
                    for p in &processes {
                        text.push_str(&format!(
                            "\n  process {} version {} key {} ({})",
                            p.bpmn_process_id, p.version, p.process_definition_key, p.resource_name
                        ));
                    }
                    for d in &decisions {
                        text.push_str(&format!(
                            "\n  decision {} version {} key {} (in {})",
                            d.dmn_decision_id, d.version, d.decision_key, d.dmn_decision_requirements_id
                        ));
                    }
                    for f in &forms {
                        text.push_str(&format!(
                            "\n  form {} version {} key {} ({})",
                            f.form_id, f.version, f.form_key, f.resource_name
                        ));
                    }
                    text
                },
                || {
                    json!({
                        "key": response.key,
                        "processes": processes.iter().map(|p| json!({
                            "bpmnProcessId": p.bpmn_process_id,
                            "version": p.version,
                            "processDefinitionKey": p.process_definition_key,
                            "resourceName": p.resource_name,
                        })).collect::<Vec<_>>(),
                        "decisions": decisions.iter().map(|d| json!({
                            "decisionId": d.dmn_decision_id,
                            "version": d.version,
                            "decisionKey": d.decision_key,
                            "decisionRequirementsId": d.dmn_decision_requirements_id,
                        })).collect::<Vec<_>>(),
                        "forms": forms.iter().map(|f| json!({
                            "formId": f.form_id,
                            "version": f.version,
                            "formKey": f.form_key,
                            "resourceName": f.resource_name,
                        })).collect::<Vec<_>>(),
                    })
                },
            )
        }
        Command::Create { process_id, vars, version, with_result, result_timeout, client } => {
            let request = proto::CreateProcessInstanceRequest {
                bpmn_process_id: process_id,
                version: version.unwrap_or(-1),
                variables: vars.unwrap_or_default(),
                ..Default::default()
            };
            let mut gateway = gateway(&client).await?;
            if with_result {
                let request = proto::CreateProcessInstanceWithResultRequest {
                    request: Some(request),
                    request_timeout: millis(result_timeout),
                    fetch_variables: Vec::new(),
                };
                let response =
                    gateway.create_process_instance_with_result(request).await.map_err(failure)?.into_inner();
                let variables: Value = serde_json::from_str(&response.variables).unwrap_or(Value::Null);
                print(
                    &client,
                    || {
                        format!(
                            "process instance {} of {} version {} completed\nvariables: {}",
                            response.process_instance_key,
                            response.bpmn_process_id,
                            response.version,
                            response.variables
                        )
                    },
                    || {
                        json!({
                            "processInstanceKey": response.process_instance_key,
                            "bpmnProcessId": response.bpmn_process_id,
                            "version": response.version,
                            "processDefinitionKey": response.process_definition_key,
                            "variables": variables,
                        })
                    },
                )
            } else {
                let response = gateway.create_process_instance(request).await.map_err(failure)?.into_inner();
                print(
                    &client,
                    || {
                        format!(
                            "process instance {} of {} version {} created",
                            response.process_instance_key, response.bpmn_process_id, response.version
                        )
                    },
                    || {
                        json!({
                            "processInstanceKey": response.process_instance_key,
                            "bpmnProcessId": response.bpmn_process_id,
                            "version": response.version,
                            "processDefinitionKey": response.process_definition_key,
                        })
                    },
                )
            }
        }
        Command::Publish { name, key, vars, ttl, id, client } => {
            let request = proto::PublishMessageRequest {
                name: name.clone(),
                correlation_key: key.clone(),
                time_to_live: millis(ttl),
                message_id: id.unwrap_or_default(),
                variables: vars.unwrap_or_default(),
                tenant_id: String::new(),
            };
            let response = gateway(&client).await?.publish_message(request).await.map_err(failure)?.into_inner();
            let message_key = response.key;
            print(
                &client,
                || format!("message '{name}' published with key {message_key} (correlation key '{key}')"),
                || json!({ "key": message_key, "name": name, "correlationKey": key }),
            )
        }
        Command::Signal { name, vars, client } => {
            let request = proto::BroadcastSignalRequest {
                signal_name: name.clone(),
                variables: vars.unwrap_or_default(),
                tenant_id: String::new(),
            };
            let response = gateway(&client).await?.broadcast_signal(request).await.map_err(failure)?.into_inner();
            let signal_key = response.key;
            print(
                &client,
                || format!("signal '{name}' broadcast with key {signal_key}"),
                || json!({ "key": signal_key }),
            )
        }
        Command::Cancel { key, client } => {
            let request = proto::CancelProcessInstanceRequest { process_instance_key: key, operation_reference: None };
            gateway(&client).await?.cancel_process_instance(request).await.map_err(failure)?;
            print(&client, || format!("process instance {key} cancelled"), || json!({ "processInstanceKey": key }))
        }
        Command::Resolve { key, client } => {
            let request = proto::ResolveIncidentRequest { incident_key: key, operation_reference: None };
            gateway(&client).await?.resolve_incident(request).await.map_err(failure)?;
            print(&client, || format!("incident {key} resolved"), || json!({ "incidentKey": key }))
        }
        Command::Incidents { process_instance, client } => {
            let channel = connect(&client).await?;
            let request =
                baton_gateway::admin::ListIncidentsRequest { process_instance_key: process_instance.unwrap_or(0) };
            let incidents =
                AdminClient::new(channel).list_incidents(request).await.map_err(failure)?.into_inner().incidents;
            print(
                &client,
                || {
                    if incidents.is_empty() {
                        return "no incidents".to_string();
                    }
                    incidents
                        .iter()
                        .map(|i| {
                            format!(
                                "incident {} {} at {} (process instance {}, job {}): {}",
                                i.key, i.error_type, i.element_id, i.process_instance_key, i.job_key, i.error_message
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
                || {
                    Value::Array(
                        incidents
                            .iter()
                            .map(|i| {
                                json!({
                                    "key": i.key,
                                    "processInstanceKey": i.process_instance_key,
                                    "bpmnProcessId": i.bpmn_process_id,
                                    "processDefinitionKey": i.process_definition_key,
                                    "elementId": i.element_id,
                                    "elementInstanceKey": i.element_instance_key,
                                    "jobKey": i.job_key,
                                    "errorType": i.error_type,
                                    "errorMessage": i.error_message,
                                })
                            })
                            .collect(),
                    )
                },
            )
        }
        Command::Jobs(command) => jobs(command).await,
        Command::Status { client } => {
            let topology = gateway(&client).await?.topology(proto::TopologyRequest {}).await.map_err(failure)?;
            let topology = topology.into_inner();
            print(
                &client,
                || {
                    let mut text = format!(
                        "cluster size {}, {} partitions, replication factor {}, gateway version {}",
                        topology.cluster_size,
                        topology.partitions_count,
                        topology.replication_factor,
                        topology.gateway_version
                    );
                    for broker in &topology.brokers {
                        text.push_str(&format!(
                            "\n  broker {} at {}:{} ({}): {} partitions",
                            broker.node_id,
                            broker.host,
                            broker.port,
                            broker.version,
                            broker.partitions.len()
                        ));
                    }
                    text
                },
                || {
                    json!({
                        "clusterSize": topology.cluster_size,
                        "partitionsCount": topology.partitions_count,
                        "replicationFactor": topology.replication_factor,
                        "gatewayVersion": topology.gateway_version,
                        "brokers": topology.brokers.iter().map(|b| json!({
                            "nodeId": b.node_id,
                            "host": b.host,
                            "port": b.port,
                            "version": b.version,
                            "partitions": b.partitions.iter().map(|p| p.partition_id).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })
                },
            )
        }
    }
}

async fn jobs(command: JobsCommand) -> Result<(), Failure> {
    match command {
        JobsCommand::Activate { job_type, max, timeout, wait, worker, client } => {
            let request = proto::ActivateJobsRequest {
                r#type: job_type,
                worker,
                timeout: millis(timeout),
                max_jobs_to_activate: max,
                fetch_variable: Vec::new(),
                // No wait given: answer at once rather than long-poll.
                request_timeout: match wait {
                    Some(wait) => millis(wait).max(1),
                    None => -1,
                },
                tenant_ids: Vec::new(),
            };
            let mut stream = gateway(&client).await?.activate_jobs(request).await.map_err(failure)?.into_inner();
            let mut jobs = Vec::new();
            while let Some(response) = stream.message().await.map_err(failure)? {
                jobs.extend(response.jobs);
            }
            print(
                &client,
                || {
                    if jobs.is_empty() {
                        return "no jobs activated".to_string();
                    }
                    jobs.iter()
                        .map(|j| {
                            format!(
                                "job {} type {} at {} (process instance {}, retries {}) variables {}",
                                j.key, j.r#type, j.element_id, j.process_instance_key, j.retries, j.variables
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
                || {
                    Value::Array(jobs.iter().map(|j| json!({
                    "key": j.key,
                    "type": j.r#type,
                    "processInstanceKey": j.process_instance_key,
                    "bpmnProcessId": j.bpmn_process_id,
                    "processDefinitionKey": j.process_definition_key,
                    "elementId": j.element_id,
                    "elementInstanceKey": j.element_instance_key,
                    "retries": j.retries,
                    "deadline": j.deadline,
                    "worker": j.worker,
                    "customHeaders": serde_json::from_str::<Value>(&j.custom_headers).unwrap_or(Value::Null),
                    "variables": serde_json::from_str::<Value>(&j.variables).unwrap_or(Value::Null),
                })).collect())
                },
            )
        }
        JobsCommand::Complete { key, vars, client } => {
            let request = proto::CompleteJobRequest { job_key: key, variables: vars.unwrap_or_default(), result: None };
            gateway(&client).await?.complete_job(request).await.map_err(failure)?;
            print(&client, || format!("job {key} completed"), || json!({ "jobKey": key }))
        }
        JobsCommand::Fail { key, retries, message, backoff, client } => {
            let request = proto::FailJobRequest {
                job_key: key,
                retries,
                error_message: message.unwrap_or_default(),
                retry_back_off: backoff.map_or(0, millis),
                variables: String::new(),
            };
            gateway(&client).await?.fail_job(request).await.map_err(failure)?;
            print(
                &client,
                || format!("job {key} failed, {retries} retries left"),
                || json!({ "jobKey": key, "retries": retries }),
            )
        }
        JobsCommand::Retries { key, retries, client } => {
            let request = proto::UpdateJobRetriesRequest { job_key: key, retries, operation_reference: None };
            gateway(&client).await?.update_job_retries(request).await.map_err(failure)?;
            print(
                &client,
                || format!("job {key} now has {retries} retries"),
                || json!({ "jobKey": key, "retries": retries }),
            )
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

async fn connect(client: &ClientArgs) -> Result<Channel, Failure> {
    let endpoint = Endpoint::from_shared(client.address.clone())
        .map_err(|error| Failure::usage(format!("invalid --address '{}': {error}", client.address)))?
        .connect_timeout(Duration::from_secs(5));
    endpoint
        .connect()
        .await
        .map_err(|error| Failure::unreachable(format!("cannot reach {}: {}", client.address, source_chain(&error))))
}

async fn gateway(client: &ClientArgs) -> Result<GatewayClient<Channel>, Failure> {
    Ok(GatewayClient::new(connect(client).await?))
}

/// Maps a failed call to an exit code: the server said no (1) or was not there to answer (3).
fn failure(status: Status) -> Failure {
    let text = format!("{}: {}", code_name(status.code()), status.message());
    match status.code() {
        Code::Unavailable => Failure::unreachable(text),
        _ => Failure::failed(text),
    }
}

/// The canonical gRPC names, as Zeebe clients print them (e.g. `NOT_FOUND`).
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Transport errors hide the useful part ("connection refused") in their sources.
fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn print(client: &ClientArgs, text: impl FnOnce() -> String, json: impl FnOnce() -> Value) -> Result<(), Failure> {
    if client.json {
        println!("{}", json());
    } else {
        println!("{}", text());
    }
    Ok(())
}
