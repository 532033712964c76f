//! Compensation, the saga pattern: an activity with a compensation boundary event leaves a
//! compensation subscription when it completes. A compensation throw event (intermediate or end)
//! starts the handlers of the completed activities of its scope — all of them, newest first, or
//! only those of `activityRef` — and waits until every handler has completed. Inside an event
//! subprocess, the throw event compensates the scope the event subprocess belongs to. An activity
//! is compensated at most once, and only if it completed.

use baton_model::{ElementKind, EventDefinition};

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::*;

/// Compensation intermediate throw and end events.
pub(crate) struct CompensationThrowEvent;

impl ElementBehavior for CompensationThrowEvent {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let activity_ref = match &inst.element().event {
            Some(EventDefinition::Compensation { activity_ref }) => activity_ref.clone(),
            _ => None,
        };
        let scope = compensated_scope(ctx, inst);
        let mut pending: Vec<(i64, CompensationSubscriptionRecord)> = ctx
            .state
            .compensations_in(scope)
            .into_iter()
            .filter_map(|key| ctx.state.compensations.get(&key).map(|c| (key, c.clone())))
            .filter(|(_, c)| activity_ref.as_deref().is_none_or(|r| *c.compensable_activity_id == *r))
            .collect();
        // Undo the newest work first.
        pending.reverse();
        behavior::transition_to_activated(ctx, src, inst);
        if pending.is_empty() {
            behavior::complete_element(ctx, src, inst);
            return Ok(());
        }
        for (key, compensation) in pending {
            let Some(&handler) = inst.graph.by_id.get(&compensation.compensation_handler_id) else {
                continue;
            };
            let handler_key = ctx.next_key();
            let triggered = CompensationSubscriptionRecord {
                throw_event_instance_key: inst.key,
                compensation_handler_instance_key: handler_key,
                ..compensation
            };
            ctx.event(src, key, Intent::Triggered, RecordValue::CompensationSubscription(Box::new(triggered)));
            let value = inst.value_for(handler, scope);
            ctx.command(src, handler_key, Intent::ActivateElement, RecordValue::ProcessInstance(value));
        }
        Ok(())
    }
}

/// The scope a throw event compensates: its flow scope, or for one inside an event subprocess,
/// the scope of the event subprocess.
fn compensated_scope(ctx: &Ctx, inst: &Instance) -> i64 {
    let scope = inst.value.flow_scope_key;
    match ctx.state.element_instances.get(&scope) {
        Some(esp) if esp.value.bpmn_element_type == BpmnElementType::Element(ElementKind::EventSubProcess) => {
            esp.value.flow_scope_key
        }
        _ => scope,
    }
}

/// After an activity completed: if it is compensable, it leaves a subscription in its scope.
pub(crate) fn completed(ctx: &mut Ctx, src: &Record, inst: &Instance) {
    let element = inst.element();
    let Some(handler) = element.compensation_handler else {
        return;
    };
    if inst.is_multi_instance_inner() {
        // The body leaves the subscription, once for the whole activity.
        return;
    }
    let record = CompensationSubscriptionRecord {
        process_instance_key: inst.value.process_instance_key,
        process_definition_key: inst.value.process_definition_key,
        bpmn_process_id: inst.value.bpmn_process_id.clone(),
        compensable_activity_id: element.id.clone(),
        compensable_activity_instance_key: inst.key,
        compensable_activity_scope_key: inst.value.flow_scope_key,
        compensation_handler_id: inst.graph.element(handler).id.clone(),
        throw_event_instance_key: -1,
        compensation_handler_instance_key: -1,
    };
    let key = ctx.next_key();
    ctx.event(src, key, Intent::Created, RecordValue::CompensationSubscription(Box::new(record)));
}

/// After an element completed: if it was a compensation handler, its subscription is done, and
/// the throw event that waited for it completes once all of its handlers are.
pub(crate) fn handler_completed(ctx: &mut Ctx, src: &Record, handler_key: i64) {
    let Some(&key) = ctx.state.compensation_handlers.get(&handler_key) else {
        return;
    };
    let Some(compensation) = ctx.state.compensations.get(&key).cloned() else {
        return;
    };
    let throw_key = compensation.throw_event_instance_key;
    ctx.event(src, key, Intent::Completed, RecordValue::CompensationSubscription(Box::new(compensation)));
    if ctx.state.compensations_of_throw(throw_key).is_empty()
        && let Some(throw) = Instance::load(ctx.state, throw_key)
    {
        behavior::complete_element(ctx, src, &throw);
    }
}
