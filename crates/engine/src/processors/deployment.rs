//! Deployment: every resource is parsed and validated first; only if all are valid is anything
//! written, so a deployment is atomic.

use std::sync::Arc;

use crate::engine::Ctx;
use crate::record::*;

/// FNV-1a: a stable checksum (unlike std's hasher) so redeploying identical bytes is recognised
/// across versions of Baton.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    baton_model::fnv1a(bytes)
}

pub(crate) fn create(ctx: &mut Ctx, command: &Record, value: &DeploymentRecord) {
    if !value.processes.is_empty() {
        return distribute(ctx, command, value);
    }
    if value.resources.is_empty() {
        return ctx.reject(
            command,
            RejectionType::InvalidArgument,
            "Expected to deploy at least one resource, but none given".to_string(),
        );
    }
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for resource in &value.resources {
        let lower = resource.name.to_ascii_lowercase();
        if !(lower.ends_with(".bpmn") || lower.ends_with(".xml")) {
            errors.push(format!(
                "'{}': expected a BPMN resource (.bpmn or .xml), but the resource type is not supported",
                resource.name
            ));
            continue;
        }
        match baton_model::parse(&resource.content) {
            Ok(definitions) => parsed.push((resource, definitions)),
            Err(error) => errors.push(format!("'{}': {error}", resource.name)),
        }
    }
    let mut seen: Vec<Arc<str>> = Vec::new();
    for (resource, definitions) in &parsed {
        for process in &definitions.processes {
            if seen.contains(&process.id) {
                errors.push(format!("'{}': duplicated process id '{}' in this deployment", resource.name, process.id));
            }
            seen.push(process.id.clone());
        }
    }
    if !errors.is_empty() {
        return ctx.reject(
            command,
            RejectionType::InvalidArgument,
            format!("Expected to deploy new resources, but encountered the following errors:\n{}", errors.join("\n")),
        );
    }
    let mut processes = Vec::new();
    for (resource, definitions) in parsed {
        let sum = checksum(&resource.content);
        for process in &definitions.processes {
            let latest = ctx.state.latest_process(&process.id).map(|p| p.record.clone());
            if let Some(latest) = latest.as_ref().filter(|l| l.checksum == sum && l.resource_name == resource.name) {
                processes.push(ProcessMetadata {
                    bpmn_process_id: latest.bpmn_process_id.clone(),
                    version: latest.version,
                    process_definition_key: latest.process_definition_key,
                    resource_name: latest.resource_name.clone(),
                    is_new: false,
                });
                continue;
            }
            let key = ctx.next_key();
            let record = ProcessRecord {
                bpmn_process_id: process.id.clone(),
                version: ctx.state.newest_version(&process.id).map_or(1, |v| v + 1),
                process_definition_key: key,
                resource_name: resource.name.clone(),
                resource: resource.content.clone(),
                checksum: sum,
            };
            processes.push(ProcessMetadata {
                bpmn_process_id: record.bpmn_process_id.clone(),
                version: record.version,
                process_definition_key: key,
                resource_name: record.resource_name.clone(),
                is_new: true,
            });
            ctx.event(command, key, Intent::Created, RecordValue::Process(record));
            crate::bpmn::start_events::deployed(ctx, command, key);
            crate::bpmn::signals::deployed(ctx, command, key);
        }
    }
    let key = ctx.next_key();
    let deployment = DeploymentRecord { resources: value.resources.clone(), processes };
    let index = ctx.event(command, key, Intent::Created, RecordValue::Deployment(deployment));
    ctx.respond(command, index);
}

/// A deployment accepted by the deployment partition, replayed here with the same keys and
/// versions so that every partition knows every definition by the same key.
fn distribute(ctx: &mut Ctx, command: &Record, value: &DeploymentRecord) {
    for process in value.processes.iter().filter(|p| p.is_new) {
        if ctx.state.processes.contains_key(&process.process_definition_key) {
            continue;
        }
        let Some(resource) = value.resources.iter().find(|r| r.name == process.resource_name) else {
            return ctx.reject(
                command,
                RejectionType::InvalidArgument,
                format!(
                    "Expected the distributed deployment to contain resource '{}', but it does not",
                    process.resource_name
                ),
            );
        };
        if let Err(error) = baton_model::parse(&resource.content) {
            return ctx.reject(command, RejectionType::InvalidArgument, format!("'{}': {error}", resource.name));
        }
        let record = ProcessRecord {
            bpmn_process_id: process.bpmn_process_id.clone(),
            version: process.version,
            process_definition_key: process.process_definition_key,
            resource_name: resource.name.clone(),
            resource: resource.content.clone(),
            checksum: checksum(&resource.content),
        };
        ctx.event(command, process.process_definition_key, Intent::Created, RecordValue::Process(record));
    }
    let index = ctx.event(command, command.key, Intent::Created, RecordValue::Deployment(value.clone()));
    ctx.respond(command, index);
}
