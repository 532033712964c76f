//! Triggering a due timer (the scheduler's `TIMER TRIGGER`): the timer catch event completes,
//! or the timer boundary event is triggered.

use crate::bpmn::behavior::{self, Instance};
use crate::bpmn::{events, start_events, timers};
use crate::engine::Ctx;
use crate::record::*;
use crate::state::LifecycleState;

pub(crate) fn trigger(ctx: &mut Ctx, command: &Record) {
    let Some(timer) = ctx.state.timers.get(&command.key).cloned() else {
        return ctx.reject(
            command,
            RejectionType::NotFound,
            format!("Expected to trigger timer with key '{}', but no such timer was found", command.key),
        );
    };
    if timer.due_date_ms > ctx.now {
        return ctx.reject(
            command,
            RejectionType::InvalidState,
            format!("Expected to trigger timer with key '{}', but it is not yet due", command.key),
        );
    }
    if timer.element_instance_key < 0 {
        return start_events::timer_fired(ctx, command, &timer);
    }
    let Some(inst) = Instance::load(ctx.state, timer.element_instance_key) else {
        return ctx.reject(
            command,
            RejectionType::NotFound,
            format!(
                "Expected to trigger timer with key '{}', but its element instance '{}' was not found",
                command.key, timer.element_instance_key
            ),
        );
    };
    let ready = ctx
        .state
        .element_instances
        .get(&inst.key)
        .is_some_and(|e| e.state == LifecycleState::Activated && e.event_trigger.is_none());
    if !ready {
        return ctx.reject(
            command,
            RejectionType::InvalidState,
            format!(
                "Expected to trigger timer with key '{}', but its element instance '{}' is not active",
                command.key, inst.key
            ),
        );
    }
    ctx.event(command, command.key, Intent::Triggered, RecordValue::Timer(timer.clone()));
    if inst.kind() == baton_model::ElementKind::EventBasedGateway {
        if let Some(&event) = inst.graph.by_id.get(&timer.target_element_id) {
            events::trigger_event_gateway(ctx, command, &inst, event, Document::new());
        }
    } else if *inst.value.element_id == *timer.target_element_id {
        behavior::complete_element(ctx, command, &inst);
    } else if let Some(&boundary) = inst.graph.by_id.get(&timer.target_element_id) {
        events::trigger_boundary(ctx, command, &inst, boundary, Document::new());
        let element = inst.graph.element(boundary);
        if !element.interrupting
            && let Ok(schedule) = timers::schedule(ctx, inst.key, element)
            && let Some(next) = timers::next_timer(ctx, &timer, &schedule)
        {
            // A non-interrupting cycle: the activity goes on, and so does the timer.
            let key = ctx.next_key();
            ctx.event(command, key, Intent::Created, RecordValue::Timer(next));
        }
    }
}
