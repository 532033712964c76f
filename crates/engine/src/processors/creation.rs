//! Creating a process instance: find the definition, set the variables, activate the process.

use crate::engine::Ctx;
use crate::record::*;
use crate::state::DeployedProcess;

pub(crate) fn create(ctx: &mut Ctx, command: &Record, value: &ProcessInstanceCreationRecord) {
    let process = match find(ctx, value) {
        Ok(process) => process.clone(),
        Err((rejection_type, reason)) => return ctx.reject(command, rejection_type, reason),
    };
    for id in &value.start_instructions {
        let element = process.graph.element_by_id(id);
        let startable = element.is_some_and(|e| {
            e.parent == Some(baton_model::Process::ROOT)
                && !e.is_for_compensation
                && !matches!(
                    e.kind,
                    baton_model::ElementKind::BoundaryEvent | baton_model::ElementKind::EventSubProcess
                )
        });
        if !startable {
            let reason = match element {
                None => format!(
                    "Expected to create instance of process with start instructions but no element found with id \
                     '{id}'"
                ),
                Some(_) => format!(
                    "Expected to create instance of process with start instructions, but element '{id}' cannot be \
                     started at: only elements of the process itself (not inside subprocesses), other than \
                     boundary events, event subprocesses and compensation handlers, can"
                ),
            };
            return ctx.reject(command, RejectionType::InvalidArgument, reason);
        }
    }
    let root = process.graph.element(baton_model::Process::ROOT);
    if root.none_start.is_none() && value.start_instructions.is_empty() {
        return ctx.reject(
            command,
            RejectionType::InvalidState,
            "Expected to create instance of process with none start event, but there is no such event".to_string(),
        );
    }
    let key = ctx.next_key();
    let record = &process.record;
    let element = process.graph.element(baton_model::Process::ROOT);
    let instance = ProcessInstanceRecord {
        bpmn_process_id: record.bpmn_process_id.clone(),
        version: record.version,
        process_definition_key: record.process_definition_key,
        process_instance_key: key,
        element_id: element.id.clone(),
        bpmn_element_type: BpmnElementType::Element(element.kind),
        flow_scope_key: -1,
        parent_process_instance_key: -1,
        parent_element_instance_key: -1,
    };
    crate::bpmn::variables::merge_local(ctx, command, &instance, key, value.variables.clone());
    ctx.command(command, key, Intent::ActivateElement, RecordValue::ProcessInstance(instance));
    let created = ProcessInstanceCreationRecord {
        bpmn_process_id: record.bpmn_process_id.clone(),
        version: record.version,
        process_definition_key: record.process_definition_key,
        variables: value.variables.clone(),
        process_instance_key: key,
        fetch_variables: value.fetch_variables.clone(),
        awaiting_request_id: if command.intent == Intent::CreateWithAwaitingResult { command.request_id } else { None },
        start_instructions: value.start_instructions.clone(),
    };
    let index = ctx.event(command, key, Intent::Created, RecordValue::ProcessInstanceCreation(Box::new(created)));
    if command.intent == Intent::Create {
        ctx.respond(command, index);
    }
}

fn find<'a>(
    ctx: &'a Ctx,
    value: &ProcessInstanceCreationRecord,
) -> Result<&'a DeployedProcess, (RejectionType, String)> {
    if value.process_definition_key > 0 {
        return ctx.state.live_process(value.process_definition_key).ok_or_else(|| {
            (
                RejectionType::NotFound,
                format!(
                    "Expected to find process definition with key '{}', but none found",
                    value.process_definition_key
                ),
            )
        });
    }
    if value.bpmn_process_id.is_empty() {
        return Err((
            RejectionType::InvalidArgument,
            "Expected either a process definition key or a BPMN process id, but neither was given".to_string(),
        ));
    }
    let found = if value.version < 0 {
        ctx.state.latest_process(&value.bpmn_process_id)
    } else {
        ctx.state.process_by_version(&value.bpmn_process_id, value.version)
    };
    found.ok_or_else(|| {
        let reason = if value.version < 0 {
            format!("Expected to find process definition with process ID '{}', but none found", value.bpmn_process_id)
        } else {
            format!(
                "Expected to find process definition with process ID '{}' and version '{}', but none found",
                value.bpmn_process_id, value.version
            )
        };
        (RejectionType::NotFound, reason)
    })
}
