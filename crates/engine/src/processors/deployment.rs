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
    if !value.processes.is_empty() || !value.decision_requirements.is_empty() || !value.forms.is_empty() {
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
    let mut parsed_dmn = Vec::new();
    let mut parsed_forms: Vec<(&Resource, String)> = Vec::new();
    for resource in &value.resources {
        let lower = resource.name.to_ascii_lowercase();
        if lower.ends_with(".form") {
            match form_id(&resource.content) {
                Ok(id) if parsed_forms.iter().any(|(_, seen)| *seen == id) => {
                    errors.push(format!("'{}': duplicated form id '{id}' in this deployment", resource.name));
                }
                Ok(id) => parsed_forms.push((resource, id)),
                Err(error) => errors.push(format!("'{}': {error}", resource.name)),
            }
            continue;
        }
        if lower.ends_with(".dmn") {
            match baton_feel::dmn::Decisions::parse(&resource.content) {
                Ok(decisions) => parsed_dmn.push((resource, decisions)),
                Err(error) => errors.push(format!("'{}': {error}", resource.name)),
            }
            continue;
        }
        if !(lower.ends_with(".bpmn") || lower.ends_with(".xml")) {
            errors.push(format!(
                "'{}': expected a BPMN (.bpmn, .xml), DMN (.dmn) or form (.form) resource, but the resource type is \
                 not supported",
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
    let mut seen_drgs: Vec<&str> = Vec::new();
    let mut seen_decisions: Vec<&str> = Vec::new();
    for (resource, decisions) in &parsed_dmn {
        if seen_drgs.contains(&decisions.id()) {
            errors.push(format!(
                "'{}': duplicated decision requirements id '{}' in this deployment",
                resource.name,
                decisions.id()
            ));
        }
        seen_drgs.push(decisions.id());
        for (decision_id, _) in decisions.decisions() {
            if seen_decisions.contains(&decision_id) {
                errors.push(format!("'{}': duplicated decision id '{decision_id}' in this deployment", resource.name));
            }
            seen_decisions.push(decision_id);
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
            crate::bpmn::start_events::deployed(ctx, command, key, true);
            crate::bpmn::signals::deployed(ctx, command, key);
        }
    }
    let mut decision_requirements = Vec::new();
    let mut decisions = Vec::new();
    for (resource, parsed) in parsed_dmn {
        deploy_decisions(ctx, command, resource, &parsed, &mut decision_requirements, &mut decisions);
    }
    let forms = parsed_forms.into_iter().map(|(resource, id)| deploy_form(ctx, command, resource, id)).collect();
    let key = ctx.next_key();
    let deployment =
        DeploymentRecord { resources: value.resources.clone(), processes, decision_requirements, decisions, forms };
    let index = ctx.event(command, key, Intent::Created, RecordValue::Deployment(Box::new(deployment)));
    ctx.respond(command, index);
}

/// A form's id: the `id` of its JSON document, which Camunda Modeler always writes.
fn form_id(content: &[u8]) -> Result<String, String> {
    let document: serde_json::Value =
        serde_json::from_slice(content).map_err(|error| format!("expected a form as JSON, but {error}"))?;
    match document.get("id").and_then(serde_json::Value::as_str).map(str::trim) {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        _ => Err("expected the form to have a non-empty string 'id', but it has none".to_string()),
    }
}

/// As for processes: an identical resource (same checksum and name as the latest version of the
/// form id) names the existing version; anything else is a new version.
fn deploy_form(ctx: &mut Ctx, command: &Record, resource: &Resource, form_id: String) -> FormMetadata {
    let sum = checksum(&resource.content);
    let latest = ctx.state.latest_form(&form_id).map(|form| form.metadata.clone());
    if let Some(latest) = latest.filter(|l| l.checksum == sum && l.resource_name == resource.name) {
        return FormMetadata { duplicate: true, ..latest };
    }
    let key = ctx.next_key();
    let metadata = FormMetadata {
        version: latest_version(ctx, &form_id) + 1,
        form_id,
        form_key: key,
        resource_name: resource.name.clone(),
        checksum: sum,
        duplicate: false,
    };
    let record = FormRecord { metadata: metadata.clone(), resource: resource.content.clone() };
    ctx.event(command, key, Intent::Created, RecordValue::Form(Box::new(record)));
    metadata
}

fn latest_version(ctx: &Ctx, form_id: &str) -> i32 {
    ctx.state.latest_form(form_id).map_or(0, |form| form.metadata.version)
}

/// Zeebe's rule: an identical resource (same checksum and name as the latest version of its DRG)
/// names the existing versions; anything else is a new version of the DRG and of every decision
/// in it.
fn deploy_decisions(
    ctx: &mut Ctx,
    command: &Record,
    resource: &Resource,
    parsed: &baton_feel::dmn::Decisions,
    drgs: &mut Vec<DecisionRequirementsMetadata>,
    decisions: &mut Vec<DecisionRecord>,
) {
    let sum = checksum(&resource.content);
    let latest = ctx.state.latest_decision_requirements(parsed.id()).map(|d| d.record.metadata.clone());
    if let Some(latest) = latest.filter(|l| l.checksum == sum && l.resource_name == resource.name) {
        let key = latest.decision_requirements_key;
        drgs.push(DecisionRequirementsMetadata { duplicate: true, ..latest });
        decisions.extend(
            ctx.state
                .decisions
                .values()
                .filter(|d| d.decision_requirements_key == key)
                .map(|d| DecisionRecord { duplicate: true, ..d.clone() }),
        );
        return;
    }
    let drg_key = ctx.next_key();
    let metadata = DecisionRequirementsMetadata {
        decision_requirements_id: parsed.id().to_string(),
        decision_requirements_name: parsed.name().to_string(),
        version: ctx.state.latest_decision_requirements(parsed.id()).map_or(1, |d| d.record.metadata.version + 1),
        decision_requirements_key: drg_key,
        resource_name: resource.name.clone(),
        checksum: sum,
        duplicate: false,
    };
    drgs.push(metadata.clone());
    let record = DecisionRequirementsRecord { metadata, resource: resource.content.clone() };
    ctx.event(command, drg_key, Intent::Created, RecordValue::DecisionRequirements(Box::new(record)));
    for (decision_id, name) in parsed.decisions() {
        let key = ctx.next_key();
        let record = DecisionRecord {
            decision_id: decision_id.to_string(),
            decision_name: name.to_string(),
            version: ctx.state.latest_decision(decision_id).map_or(1, |d| d.version + 1),
            decision_key: key,
            decision_requirements_id: parsed.id().to_string(),
            decision_requirements_key: drg_key,
            duplicate: false,
        };
        decisions.push(record.clone());
        ctx.event(command, key, Intent::Created, RecordValue::Decision(Box::new(record)));
    }
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
        crate::bpmn::start_events::deployed(ctx, command, process.process_definition_key, false);
    }
    for drg in value.decision_requirements.iter().filter(|d| !d.duplicate) {
        if ctx.state.decision_requirements.contains_key(&drg.decision_requirements_key) {
            continue;
        }
        let Some(resource) = value.resources.iter().find(|r| r.name == drg.resource_name) else {
            return ctx.reject(
                command,
                RejectionType::InvalidArgument,
                format!(
                    "Expected the distributed deployment to contain resource '{}', but it does not",
                    drg.resource_name
                ),
            );
        };
        if let Err(error) = baton_feel::dmn::Decisions::parse(&resource.content) {
            return ctx.reject(command, RejectionType::InvalidArgument, format!("'{}': {error}", resource.name));
        }
        let record = DecisionRequirementsRecord { metadata: drg.clone(), resource: resource.content.clone() };
        ctx.event(
            command,
            drg.decision_requirements_key,
            Intent::Created,
            RecordValue::DecisionRequirements(Box::new(record)),
        );
        for decision in value.decisions.iter().filter(|d| d.decision_requirements_key == drg.decision_requirements_key)
        {
            ctx.event(
                command,
                decision.decision_key,
                Intent::Created,
                RecordValue::Decision(Box::new(decision.clone())),
            );
        }
    }
    for form in value.forms.iter().filter(|f| !f.duplicate) {
        if ctx.state.forms.contains_key(&form.form_key) {
            continue;
        }
        let Some(resource) = value.resources.iter().find(|r| r.name == form.resource_name) else {
            return ctx.reject(
                command,
                RejectionType::InvalidArgument,
                format!(
                    "Expected the distributed deployment to contain resource '{}', but it does not",
                    form.resource_name
                ),
            );
        };
        let record = FormRecord { metadata: form.clone(), resource: resource.content.clone() };
        ctx.event(command, form.form_key, Intent::Created, RecordValue::Form(Box::new(record)));
    }
    let index = ctx.event(command, command.key, Intent::Created, RecordValue::Deployment(Box::new(value.clone())));
    ctx.respond(command, index);
}
