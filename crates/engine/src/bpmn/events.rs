//! Triggering catch events: finding the catch event of a thrown BPMN error or escalation, and
//! activating a triggered boundary event — after its activity is terminated (interrupting) or
//! alongside it (non-interrupting).
//!
//! The trigger is recorded on the activity by `PROCESS_EVENT TRIGGERING` (so the variables it
//! brings survive until the boundary event activates), and `PROCESS_EVENT TRIGGERED` is written
//! with the boundary event's `ACTIVATE_ELEMENT`, as in Zeebe.

use baton_model::{Element, ElementIdx};

use crate::bpmn::behavior::{self, Instance};
use crate::bpmn::variables;
use crate::engine::Ctx;
use crate::record::*;
use crate::state::{EventTrigger, LifecycleState, State};

/// Where a thrown error or escalation is caught: a boundary event of an activity instance.
#[derive(Debug, Clone)]
pub(crate) struct Catch {
    pub attached: Instance,
    pub boundary: ElementIdx,
    /// False when the activity is already being interrupted (or is no longer active): the catch
    /// is where the throw ends, but it cannot be triggered.
    pub triggerable: bool,
}

/// Walks from `from_key` outwards through its flow scopes; at each activated activity instance,
/// an error boundary event with exactly `code` wins over a catch-all one.
pub(crate) fn find_error_catch(state: &State, from_key: i64, code: &str) -> Option<Catch> {
    find_catch(state, from_key, code, Element::caught_error_code, true)
}

/// As [`find_error_catch`], for an escalation, except that the nearest matching boundary event
/// ends the search even when its activity is already being interrupted (Zeebe's rule: the
/// escalation is then not escalated, rather than passed further out).
pub(crate) fn find_escalation_catch(state: &State, from_key: i64, code: &str) -> Option<Catch> {
    find_catch(state, from_key, code, Element::caught_escalation_code, false)
}

/// `caught` tells what a boundary event catches: `Some(None)` everything of its kind.
fn find_catch(
    state: &State,
    from_key: i64,
    code: &str,
    caught: impl Fn(&Element) -> Option<Option<&str>>,
    only_triggerable: bool,
) -> Option<Catch> {
    let mut key = from_key;
    loop {
        let instance = state.element_instances.get(&key)?;
        let triggerable = instance.state == LifecycleState::Activated && instance.event_trigger.is_none();
        if triggerable || !only_triggerable {
            let attached = Instance::load(state, key)?;
            if attached.is_multi_instance_inner() {
                // Its boundary events are the body's, the next scope out.
                key = instance.value.flow_scope_key;
                continue;
            }
            let boundaries = &attached.element().boundary_events;
            let caught = |wanted: Option<&str>| {
                boundaries.iter().copied().find(|&b| caught(attached.graph.element(b)) == Some(wanted))
            };
            if let Some(boundary) = caught(Some(code)).or_else(|| caught(None)) {
                return Some(Catch { attached, boundary, triggerable });
            }
        }
        // From a called process instance, the search goes on at its call activity.
        key = instance.value.owner_key();
        if key < 0 {
            return None;
        }
    }
}

fn process_event(attached: &Instance, element_id: std::sync::Arc<str>, variables: Document) -> ProcessEventRecord {
    ProcessEventRecord {
        scope_key: attached.key,
        target_element_id: element_id,
        variables,
        bpmn_process_id: attached.value.bpmn_process_id.clone(),
        process_definition_key: attached.value.process_definition_key,
        process_instance_key: attached.value.process_instance_key,
    }
}

/// Triggers boundary event `boundary` of `attached`: interrupting ones terminate the activity
/// first and activate when its termination is done ([`activate_pending`]); non-interrupting ones
/// activate now, next to the activity.
pub(crate) fn trigger_boundary(
    ctx: &mut Ctx,
    src: &Record,
    attached: &Instance,
    boundary: ElementIdx,
    variables: Document,
) {
    let element = attached.graph.element(boundary);
    let key = ctx.next_key();
    let value = process_event(attached, element.id.clone(), variables.clone());
    ctx.event(src, key, Intent::Triggering, RecordValue::ProcessEvent(value));
    if element.interrupting {
        ctx.command(src, attached.key, Intent::TerminateElement, RecordValue::ProcessInstance(attached.value.clone()));
    } else {
        let trigger = EventTrigger { key, element_id: element.id.clone(), variables };
        activate_triggered(ctx, src, attached, &trigger);
    }
}

/// Called as an element instance finishes its termination, before `ELEMENT_TERMINATED`: the
/// trigger that interrupted it, if any.
pub(crate) fn pending_trigger(state: &State, key: i64) -> Option<EventTrigger> {
    state.element_instances.get(&key)?.event_trigger.clone()
}

/// The first event of an event-based gateway happened: the gateway completes (its other
/// subscriptions and timers close) and the flow to `event` is taken; the event is activated with
/// its trigger recorded, so it completes at once (see `processors/element.rs`).
pub(crate) fn trigger_event_gateway(
    ctx: &mut Ctx,
    src: &Record,
    gateway: &Instance,
    event: ElementIdx,
    variables: Document,
) {
    let Some(&flow) = gateway.element().outgoing.iter().find(|&&f| gateway.graph.flow(f).target == event) else {
        return;
    };
    behavior::transition(ctx, src, gateway, Intent::ElementCompleting);
    crate::bpmn::messages::close_subscriptions(ctx, src, gateway.key);
    crate::bpmn::signals::close_subscriptions(ctx, src, gateway.key);
    crate::bpmn::timers::cancel_timers(ctx, src, gateway.key);
    behavior::transition(ctx, src, gateway, Intent::ElementCompleted);
    let key = behavior::take_flow_only(ctx, src, gateway, flow);
    let element = gateway.graph.element(event);
    let trigger = process_event(gateway, element.id.clone(), variables);
    let trigger = ProcessEventRecord { scope_key: key, ..trigger };
    let trigger_key = ctx.next_key();
    ctx.event(src, trigger_key, Intent::Triggering, RecordValue::ProcessEvent(trigger));
    let value = gateway.value_for(event, gateway.value.flow_scope_key);
    ctx.command(src, key, Intent::ActivateElement, RecordValue::ProcessInstance(value));
}

/// Activates start event `start` of container `scope` for the trigger recorded before the
/// container existed, with the trigger's variables as the start event's local variables.
pub(crate) fn activate_start_event(
    ctx: &mut Ctx,
    src: &Record,
    scope: &Instance,
    start: ElementIdx,
    trigger: &EventTrigger,
) {
    let key = ctx.next_key();
    let value = scope.value_for(start, scope.key);
    ctx.command(src, key, Intent::ActivateElement, RecordValue::ProcessInstance(value.clone()));
    let event = ProcessEventRecord {
        scope_key: scope.key,
        target_element_id: trigger.element_id.clone(),
        variables: trigger.variables.clone(),
        bpmn_process_id: scope.value.bpmn_process_id.clone(),
        process_definition_key: scope.value.process_definition_key,
        process_instance_key: scope.value.process_instance_key,
    };
    ctx.event(src, trigger.key, Intent::Triggered, RecordValue::ProcessEvent(event));
    variables::merge_local(ctx, src, &value, key, trigger.variables.clone());
}

/// Activates the triggered catch event in the flow scope of `attached`, with the trigger's
/// variables as its local variables.
pub(crate) fn activate_triggered(ctx: &mut Ctx, src: &Record, attached: &Instance, trigger: &EventTrigger) {
    let flow_scope_key = attached.value.flow_scope_key;
    let scope_active =
        ctx.state.element_instances.get(&flow_scope_key).is_some_and(|s| s.state == LifecycleState::Activated);
    let Some(&idx) = attached.graph.by_id.get(&trigger.element_id) else {
        return;
    };
    if !scope_active {
        // The scope is going away too: the catch event dies with it.
        return;
    }
    let key = ctx.next_key();
    let value = attached.value_for(idx, flow_scope_key);
    ctx.command(src, key, Intent::ActivateElement, RecordValue::ProcessInstance(value.clone()));
    let event = process_event(attached, trigger.element_id.clone(), trigger.variables.clone());
    ctx.event(src, trigger.key, Intent::Triggered, RecordValue::ProcessEvent(event));
    variables::merge_local(ctx, src, &value, key, trigger.variables.clone());
}
