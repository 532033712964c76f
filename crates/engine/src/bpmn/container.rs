//! Process and embedded subprocess: activate their none start event; complete when the last
//! token inside is gone.

use baton_model::ElementKind;

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::Record;

pub(crate) struct Container;

impl ElementBehavior for Container {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        if let Some(trigger) = ctx.state.start_triggers.get(&inst.key).cloned() {
            // Started by a message or timer: that start event runs, with what it brought.
            let Some(&start) = inst.graph.by_id.get(&trigger.element_id) else {
                return Err(Failure::unknown(format!(
                    "Expected '{}' to have the start event '{}', but it has not",
                    inst.value.element_id, trigger.element_id
                )));
            };
            behavior::transition_to_activated(ctx, src, inst);
            crate::bpmn::events::activate_start_event(ctx, src, inst, start, &trigger);
            return Ok(());
        }
        if let Some(elements) = ctx.state.start_instructions.get(&inst.key).cloned() {
            // Created with start instructions: it starts at those elements instead.
            behavior::transition_to_activated(ctx, src, inst);
            for id in elements {
                if let Some(&idx) = inst.graph.by_id.get(&id) {
                    behavior::activate_child(ctx, src, inst, idx);
                }
            }
            return Ok(());
        }
        let Some(start) = inst.element().none_start else {
            return Err(Failure::unknown(format!(
                "Expected to activate the none start event of '{}', but it has none",
                inst.value.element_id
            )));
        };
        behavior::transition_to_activated(ctx, src, inst);
        behavior::activate_child(ctx, src, inst, start);
        Ok(())
    }

    fn on_complete(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        if inst.element().kind == ElementKind::Process {
            behavior::answer_awaiting_result(ctx, inst);
            if inst.value.parent_element_instance_key >= 0 {
                crate::bpmn::call_activity::child_completing(ctx, src, inst);
            }
        }
        Ok(())
    }
}
