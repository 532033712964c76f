//! Call activity: starts an instance of another process (the latest version of the called
//! process id) and completes when that child completes. The child gets the variables visible
//! from the call activity (or only its input mappings, with `propagateAllParentVariables=false`);
//! when it completes, its variables come back (unless `propagateAllChildVariables=false`) and
//! the output mappings pick from them. Terminating the call activity terminates the child
//! (it is the call activity's child instance in the state), and an error the child does not
//! catch goes on to the call activity's boundary events (`bpmn/events.rs`).

use baton_model::{Binding, ElementKind, Process, Text};

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::variables;
use crate::engine::Ctx;
use crate::record::*;

pub(crate) struct CallActivity;

impl ElementBehavior for CallActivity {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let Some(called) = &inst.element().called_element else {
            return Err(Failure::unknown(format!(
                "Expected call activity '{}' to name the process it calls, but it names none",
                inst.value.element_id
            )));
        };
        let process_id = match &called.process_id {
            Text::Static(id) => id.clone(),
            Text::Expression(expression) => {
                variables::evaluate_string(ctx.state, inst.key, expression, ctx.now).map_err(Failure::extract_value)?
            }
        };
        let process = match &called.binding {
            Binding::Latest => ctx.state.latest_process(&process_id).cloned(),
            Binding::Deployment => ctx
                .state
                .process_deployment
                .get(&inst.value.process_definition_key)
                .and_then(|deployment| ctx.state.deployment_processes.get(deployment))
                .and_then(|members| members.iter().find(|(id, _)| **id == *process_id))
                .and_then(|(_, key)| ctx.state.live_process(*key))
                .cloned(),
            Binding::VersionTag(tag) => ctx
                .state
                .versions
                .get(process_id.as_str())
                .into_iter()
                .flatten()
                .rev()
                .filter_map(|key| ctx.state.live_process(*key))
                .find(|p| p.graph.version_tag.as_deref() == Some(tag.as_str()))
                .cloned(),
        };
        let Some(process) = process else {
            let binding = match &called.binding {
                Binding::Latest => String::new(),
                Binding::Deployment => " in the same deployment as the calling process".to_string(),
                Binding::VersionTag(tag) => format!(" with version tag '{tag}'"),
            };
            return Err(Failure::called_element(format!(
                "Expected process with BPMN process id '{process_id}'{binding} to be deployed, but not found."
            )));
        };
        let root = process.graph.element(Process::ROOT);
        if root.none_start.is_none() {
            return Err(Failure::called_element(format!(
                "Expected process with BPMN process id '{process_id}' to have a none start event, but it has none."
            )));
        }
        let document = if called.propagate_all_parent_variables {
            variables::visible_variables(ctx.state, inst.key, &[])
        } else {
            variables::local_variables(ctx.state, inst.key)
        };
        behavior::transition_to_activated(ctx, src, inst);
        let key = ctx.next_key();
        let child = ProcessInstanceRecord {
            bpmn_process_id: process.record.bpmn_process_id.clone(),
            version: process.record.version,
            process_definition_key: process.record.process_definition_key,
            process_instance_key: key,
            element_id: root.id.clone(),
            bpmn_element_type: BpmnElementType::Element(ElementKind::Process),
            flow_scope_key: -1,
            parent_process_instance_key: inst.value.process_instance_key,
            parent_element_instance_key: inst.key,
        };
        variables::merge_local(ctx, src, &child, key, document);
        ctx.command(src, key, Intent::ActivateElement, RecordValue::ProcessInstance(child));
        Ok(())
    }
}

/// A called process instance is completing: its variables go to the call activity (local when
/// output mappings will pick from them, else outwards), which then completes.
pub(crate) fn child_completing(ctx: &mut Ctx, src: &Record, child: &Instance) {
    let Some(call_activity) = Instance::load(ctx.state, child.value.parent_element_instance_key) else {
        return;
    };
    let Some(called) = &call_activity.element().called_element else {
        return;
    };
    let has_outputs = !call_activity.element().outputs.is_empty();
    if called.propagate_all_child_variables || has_outputs {
        let document = variables::local_variables(ctx.state, child.key);
        if has_outputs {
            variables::merge_local(ctx, src, &call_activity.value, call_activity.key, document);
        } else {
            variables::merge_propagate(ctx, src, &call_activity.value, call_activity.key, document);
        }
    }
}
