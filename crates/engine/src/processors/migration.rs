//! Migrating a running process instance to another process definition (a new version with a
//! fix, usually). Every active element instance must be mapped to an element of the same type
//! in the same (mapped) flow scope; the instance, its jobs and its incidents then belong to the
//! target. Everything is checked before anything is written.
//!
//! Not supported (refused with a reason): active elements waiting for messages, signals or
//! timers, multi-instance activities, tokens waiting at a joining gateway, and called process
//! instances (migrate each instance on its own).

use std::collections::BTreeMap;
use std::sync::Arc;

use baton_model::{ElementKind, Process};

use crate::engine::Ctx;
use crate::record::*;
use crate::state::DeployedProcess;

pub(crate) fn migrate(ctx: &mut Ctx, command: &Record, value: &ProcessInstanceMigrationRecord) {
    let key = value.process_instance_key;
    let root =
        ctx.state.element_instances.get(&key).filter(|r| r.value.flow_scope_key < 0 && r.element_idx == Process::ROOT);
    let Some(root) = root.cloned() else {
        return ctx.reject(
            command,
            RejectionType::NotFound,
            format!("Expected to migrate process instance but no process instance found with key '{key}'"),
        );
    };
    let target_key = value.target_process_definition_key;
    let Some(target) = ctx.state.live_process(target_key).cloned() else {
        return ctx.reject(
            command,
            RejectionType::NotFound,
            format!(
                "Expected to migrate process instance to process definition but no process definition found with \
                 key '{target_key}'"
            ),
        );
    };
    match plan(ctx, &root.value, &target, value) {
        Ok(moves) => apply(ctx, command, value, &target, moves),
        Err(problems) => ctx.reject(
            command,
            RejectionType::InvalidArgument,
            format!("Expected to migrate process instance '{key}', but {}", problems.join("; ")),
        ),
    }
}

/// (element instance key, its record as it will be in the target).
type Moves = Vec<(i64, ProcessInstanceRecord)>;

fn plan(
    ctx: &Ctx,
    root: &ProcessInstanceRecord,
    target: &DeployedProcess,
    value: &ProcessInstanceMigrationRecord,
) -> Result<Moves, Vec<String>> {
    let key = value.process_instance_key;
    let Some(source) = ctx.state.processes.get(&root.process_definition_key) else {
        return Err(vec![format!("its process definition '{}' is unknown", root.process_definition_key)]);
    };
    let mut problems = Vec::new();
    let mut mapping: BTreeMap<&str, &str> = BTreeMap::new();
    for (from, to) in &value.mapping_instructions {
        if source.graph.element_by_id(from).is_none() {
            problems
                .push(format!("the mapping source '{from}' is not an element of process '{}'", root.bpmn_process_id));
        }
        if target.graph.element_by_id(to).is_none() {
            problems.push(format!(
                "the mapping target '{to}' is not an element of process '{}'",
                target.record.bpmn_process_id
            ));
        }
        if mapping.insert(from.as_str(), to.as_str()).is_some() {
            problems.push(format!("the mapping source '{from}' is mapped more than once"));
        }
    }
    let mut moves = Vec::new();
    let mut stack = vec![key];
    while let Some(instance_key) = stack.pop() {
        let Some(instance) = ctx.state.element_instances.get(&instance_key) else { continue };
        stack.extend(instance.children.iter().copied());
        if instance.value.process_instance_key != key {
            problems.push(format!(
                "the called process instance '{}' is active; migrate it on its own after its parent",
                instance.value.process_instance_key
            ));
            continue;
        }
        let element = source.graph.element(instance.element_idx);
        let target_element = if instance_key == key {
            Some(target.graph.element(Process::ROOT))
        } else {
            match mapping.get(&*element.id) {
                Some(to) => target.graph.element_by_id(to),
                None => {
                    problems.push(format!(
                        "no mapping instruction is defined for the active element '{}'; elements cannot be \
                         migrated without a mapping",
                        element.id
                    ));
                    continue;
                }
            }
        };
        let Some(target_element) = target_element else { continue };
        let kind = match instance.value.bpmn_element_type {
            BpmnElementType::Element(kind) => kind,
            BpmnElementType::SequenceFlow => element.kind,
        };
        if matches!(kind, ElementKind::AdHocSubProcess | ElementKind::AdHocSubProcessInnerInstance) {
            problems
                .push(format!("the active element '{}' is an ad-hoc subprocess, which cannot be migrated", element.id));
            continue;
        }
        if kind == ElementKind::MultiInstanceBody || element.multi_instance.is_some() {
            problems.push(format!(
                "the active element '{}' is a multi-instance activity, which cannot be migrated",
                element.id
            ));
            continue;
        }
        if target_element.kind != element.kind || target_element.multi_instance.is_some() {
            problems.push(format!(
                "the active element '{}' of type '{}' is mapped to '{}' of type '{}'; the types must match",
                element.id,
                element.kind.bpmn_element_type(),
                target_element.id,
                target_element.kind.bpmn_element_type()
            ));
            continue;
        }
        if !instance.join_tokens.is_empty() {
            problems.push(format!("tokens wait at a joining gateway in '{}', which cannot be migrated", element.id));
        }
        let waits = !ctx.state.subscriptions_of(instance_key).is_empty()
            || !ctx.state.signal_subscriptions_of(instance_key).is_empty()
            || !ctx.state.timers_of(instance_key).is_empty();
        if waits {
            problems.push(format!(
                "the active element '{}' waits for a message, signal or timer, which cannot be migrated yet",
                element.id
            ));
        }
        if instance_key != key {
            // The flow scope must stay the same, seen through the mapping.
            let source_parent = element.parent.map(|p| source.graph.element(p).id.clone());
            let expected = match source_parent.as_deref() {
                Some(parent) if parent == &*source.graph.element(Process::ROOT).id => {
                    Some(target.graph.element(Process::ROOT).id.clone())
                }
                Some(parent) => mapping.get(parent).map(|to| Arc::from(*to)),
                None => None,
            };
            let actual = target_element.parent.map(|p| target.graph.element(p).id.clone());
            if expected != actual {
                problems.push(format!(
                    "the active element '{}' would move to another flow scope ('{}' in the target)",
                    element.id,
                    actual.as_deref().unwrap_or("none")
                ));
            }
        }
        let mut record = instance.value.clone();
        record.bpmn_process_id = target.record.bpmn_process_id.clone();
        record.version = target.record.version;
        record.process_definition_key = target.record.process_definition_key;
        record.element_id = target_element.id.clone();
        moves.push((instance_key, record));
    }
    if problems.is_empty() { Ok(moves) } else { Err(problems) }
}

fn apply(
    ctx: &mut Ctx,
    command: &Record,
    value: &ProcessInstanceMigrationRecord,
    target: &DeployedProcess,
    mut moves: Moves,
) {
    moves.sort_by_key(|(key, _)| *key);
    let index = ctx.event(
        command,
        value.process_instance_key,
        Intent::Migrated,
        RecordValue::ProcessInstanceMigration(value.clone()),
    );
    ctx.respond(command, index);
    for (key, record) in moves {
        let job_key = ctx.state.element_instances.get(&key).map_or(-1, |e| e.job_key);
        ctx.event(command, key, Intent::ElementMigrated, RecordValue::ProcessInstance(record.clone()));
        if let Some(job) = ctx.state.jobs.get(&job_key).map(|j| j.record.clone()) {
            let migrated = JobRecord {
                bpmn_process_id: target.record.bpmn_process_id.clone(),
                process_definition_version: target.record.version,
                process_definition_key: target.record.process_definition_key,
                element_id: record.element_id.clone(),
                ..*job
            };
            ctx.event(command, job_key, Intent::Migrated, RecordValue::Job(Box::new(migrated)));
        }
        let incidents: Vec<(i64, IncidentRecord)> = ctx
            .state
            .incidents
            .iter()
            .filter(|(_, i)| i.element_instance_key == key)
            .map(|(k, i)| (*k, i.clone()))
            .collect();
        for (incident_key, incident) in incidents {
            let migrated = IncidentRecord {
                bpmn_process_id: target.record.bpmn_process_id.clone(),
                process_definition_key: target.record.process_definition_key,
                element_id: record.element_id.clone(),
                ..incident
            };
            ctx.event(command, incident_key, Intent::Migrated, RecordValue::Incident(Box::new(migrated)));
        }
    }
}
