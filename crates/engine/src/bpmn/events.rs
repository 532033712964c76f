//! Triggering catch events: finding the catch event of a thrown BPMN error or escalation, and
//! activating a triggered boundary event — after its activity is terminated (interrupting) or
//! alongside it (non-interrupting).
//!
//! The trigger is recorded on the activity by `PROCESS_EVENT TRIGGERING` (so the variables it
//! brings survive until the boundary event activates), and `PROCESS_EVENT TRIGGERED` is written
//! with the boundary event's `ACTIVATE_ELEMENT`, as in Zeebe.

use baton_model::{Element, ElementIdx, ElementKind, Process};

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
            // Inside a scope, its event subprocesses catch first.
            let starts = event_subprocess_starts(&attached);
            let started = |wanted: Option<&str>| {
                starts.iter().copied().find(|&s| caught(attached.graph.element(s)) == Some(wanted))
            };
            if let Some(start) = started(Some(code)).or_else(|| started(None)) {
                return Some(Catch { attached, boundary: start, triggerable });
            }
            if attached.is_multi_instance_inner() || attached.is_ad_hoc_inner() {
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

pub(crate) fn process_event(
    attached: &Instance,
    element_id: std::sync::Arc<str>,
    variables: Document,
) -> ProcessEventRecord {
    ProcessEventRecord {
        scope_key: attached.key,
        target_element_id: element_id,
        variables,
        bpmn_process_id: attached.value.bpmn_process_id.clone(),
        process_definition_key: attached.value.process_definition_key,
        process_instance_key: attached.value.process_instance_key,
    }
}

/// The start events of the event subprocesses of a scope (process, subprocess, event
/// subprocess; a multi-instance body is no scope of its own).
pub(crate) fn event_subprocess_starts(inst: &Instance) -> Vec<ElementIdx> {
    if !matches!(
        inst.kind(),
        ElementKind::Process | ElementKind::SubProcess | ElementKind::EventSubProcess | ElementKind::AdHocSubProcess
    ) {
        return Vec::new();
    }
    let graph = &inst.graph;
    inst.element()
        .children
        .iter()
        .filter(|&&c| graph.element(c).kind == ElementKind::EventSubProcess)
        .filter_map(|&esp| {
            graph.element(esp).children.iter().copied().find(|&s| graph.element(s).kind == ElementKind::StartEvent)
        })
        .collect()
}

/// Whether `idx` is the start event of an event subprocess.
pub(crate) fn is_event_subprocess_start(graph: &Process, idx: ElementIdx) -> bool {
    let element = graph.element(idx);
    element.kind == ElementKind::StartEvent
        && element.parent.is_some_and(|p| graph.element(p).kind == ElementKind::EventSubProcess)
}

/// Triggers catch event `boundary` of `attached`: a boundary event of the activity, or the start
/// event of one of its event subprocesses (then `attached` is the scope). Interrupting boundary
/// events terminate the activity first and activate when its termination is done;
/// non-interrupting ones activate now, next to the activity.
pub(crate) fn trigger_boundary(
    ctx: &mut Ctx,
    src: &Record,
    attached: &Instance,
    boundary: ElementIdx,
    variables: Document,
) {
    if is_event_subprocess_start(&attached.graph, boundary) {
        return trigger_event_subprocess(ctx, src, attached, boundary, variables);
    }
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
/// boundary event that interrupted it, if any.
pub(crate) fn pending_trigger(state: &State, key: i64) -> Option<EventTrigger> {
    let instance = state.element_instances.get(&key)?;
    let trigger = instance.event_trigger.clone()?;
    let graph = &state.processes.get(&instance.value.process_definition_key)?.graph;
    // A scope terminated while its interrupting event subprocess waited: that dies with it.
    let boundary = graph.element_by_id(&trigger.element_id)?.attached_to == Some(instance.element_idx);
    boundary.then_some(trigger)
}

/// The start event `start` of an event subprocess of `scope` was triggered. Interrupting: every
/// other element of the scope is terminated first (its other event subprocess starts close), and
/// the event subprocess activates once they are gone (`behavior::after_child_finished`).
/// Non-interrupting: it activates now, next to them.
fn trigger_event_subprocess(ctx: &mut Ctx, src: &Record, scope: &Instance, start: ElementIdx, variables: Document) {
    let element = scope.graph.element(start);
    let key = ctx.next_key();
    let value = process_event(scope, element.id.clone(), variables.clone());
    ctx.event(src, key, Intent::Triggering, RecordValue::ProcessEvent(value));
    let trigger = EventTrigger { key, element_id: element.id.clone(), variables };
    if !element.interrupting {
        return activate_event_subprocess(ctx, src, scope, &trigger);
    }
    close_event_subprocess_starts(ctx, src, scope);
    if behavior::terminate_children(ctx, src, scope.key) == 0 {
        activate_event_subprocess(ctx, src, scope, &trigger);
    }
}

/// Closes the subscriptions and timers a scope holds for its event subprocesses' start events.
fn close_event_subprocess_starts(ctx: &mut Ctx, src: &Record, scope: &Instance) {
    let starts: Vec<std::sync::Arc<str>> =
        event_subprocess_starts(scope).into_iter().map(|s| scope.graph.element(s).id.clone()).collect();
    for key in ctx.state.subscriptions_of(scope.key) {
        if let Some(s) = ctx.state.message_subscriptions.get(&key).filter(|s| starts.contains(&s.element_id)).cloned() {
            ctx.event(src, key, Intent::Deleted, RecordValue::MessageSubscription(Box::new(s)));
        }
    }
    for key in ctx.state.signal_subscriptions_of(scope.key) {
        if let Some(s) =
            ctx.state.signal_subscriptions.get(&key).filter(|s| starts.contains(&s.catch_element_id)).cloned()
        {
            ctx.event(src, key, Intent::Deleted, RecordValue::SignalSubscription(s));
        }
    }
    for key in ctx.state.timers_of(scope.key) {
        if let Some(t) = ctx.state.timers.get(&key).filter(|t| starts.contains(&t.target_element_id)).cloned() {
            ctx.event(src, key, Intent::Canceled, RecordValue::Timer(t));
        }
    }
}

/// Activates the event subprocess whose start event `trigger` names, inside `scope`.
pub(crate) fn activate_event_subprocess(ctx: &mut Ctx, src: &Record, scope: &Instance, trigger: &EventTrigger) {
    let Some(&start) = scope.graph.by_id.get(&trigger.element_id) else {
        return;
    };
    let Some(esp) = scope.graph.element(start).parent else {
        return;
    };
    let done = process_event(scope, trigger.element_id.clone(), trigger.variables.clone());
    ctx.event(src, trigger.key, Intent::Triggered, RecordValue::ProcessEvent(done));
    let key = ctx.next_key();
    let start_trigger = ProcessEventRecord {
        scope_key: key,
        ..process_event(scope, trigger.element_id.clone(), trigger.variables.clone())
    };
    let trigger_key = ctx.next_key();
    ctx.event(src, trigger_key, Intent::Triggering, RecordValue::ProcessEvent(start_trigger));
    let value = scope.value_for(esp, scope.key);
    ctx.command(src, key, Intent::ActivateElement, RecordValue::ProcessInstance(value));
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
    close_catches(ctx, src, gateway.key);
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
    let event = process_event(scope, trigger.element_id.clone(), trigger.variables.clone());
    ctx.event(src, trigger.key, Intent::Triggered, RecordValue::ProcessEvent(event));
    variables::merge_local(ctx, src, &value, key, trigger.variables.clone());
}

/// Closes everything an element instance waits on: its message and signal subscriptions and
/// its timers (its own, its boundary events', its event subprocesses' starts).
pub(crate) fn close_catches(ctx: &mut Ctx, src: &Record, element_instance_key: i64) {
    crate::bpmn::messages::close_subscriptions(ctx, src, element_instance_key);
    crate::bpmn::signals::close_subscriptions(ctx, src, element_instance_key);
    crate::bpmn::timers::cancel_timers(ctx, src, element_instance_key);
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
