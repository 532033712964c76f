//! Signals: broadcast by name to every open subscription — signal catch events, signal boundary
//! events, event-based gateways and signal start events (which start an instance) — and thrown
//! by signal intermediate throw and end events. A subscription is opened when its element
//! activates (start events: when the process is deployed) and deleted when it ends.

use std::sync::Arc;

use baton_model::{Element, ElementIdx, ElementKind, EventDefinition, Process, Text};

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::{events, start_events, variables};
use crate::engine::Ctx;
use crate::record::*;

fn signal_name(ctx: &Ctx, scope_key: i64, element: &Element) -> Result<Option<String>, Failure> {
    match &element.event {
        Some(EventDefinition::Signal { name: Text::Static(name) }) => Ok(Some(name.clone())),
        Some(EventDefinition::Signal { name: Text::Expression(expression) }) => {
            variables::evaluate_string(ctx.state, scope_key, expression, ctx.now)
                .map(Some)
                .map_err(Failure::extract_value)
        }
        _ => Ok(None),
    }
}

/// The signal catch events of an element: its own, its boundary events', an event-based
/// gateway's.
fn catching(inst: &Instance) -> Vec<ElementIdx> {
    let element = inst.element();
    let is_signal = |idx: ElementIdx| matches!(inst.graph.element(idx).event, Some(EventDefinition::Signal { .. }));
    let mut wanted = Vec::new();
    if element.kind == ElementKind::IntermediateCatchEvent && is_signal(element.idx) {
        wanted.push(element.idx);
    }
    wanted.extend(events::event_subprocess_starts(inst).into_iter().filter(|&s| is_signal(s)));
    if inst.is_multi_instance_inner() {
        return wanted;
    }
    wanted.extend(element.boundary_events.iter().copied().filter(|&b| is_signal(b)));
    wanted.extend(crate::bpmn::event_based_gateway::targets(inst).into_iter().filter(|&t| is_signal(t)));
    wanted
}

/// Opens the signal subscriptions of an activating element; names are evaluated first, so a
/// failure writes nothing. Subscriptions already open (a re-run after an incident) are kept.
pub(crate) fn open_subscriptions(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
    let wanted = catching(inst);
    if wanted.is_empty() {
        return Ok(());
    }
    let open: Vec<Arc<str>> = ctx
        .state
        .signal_subscriptions_of(inst.key)
        .iter()
        .filter_map(|key| ctx.state.signal_subscriptions.get(key))
        .map(|s| s.catch_element_id.clone())
        .collect();
    let mut records = Vec::new();
    for idx in wanted {
        let element = inst.graph.element(idx);
        if open.contains(&element.id) {
            continue;
        }
        let Some(signal_name) = signal_name(ctx, inst.key, element)? else { continue };
        records.push(SignalSubscriptionRecord {
            signal_name,
            process_definition_key: inst.value.process_definition_key,
            bpmn_process_id: inst.value.bpmn_process_id.clone(),
            catch_element_id: element.id.clone(),
            catch_event_instance_key: inst.key,
        });
    }
    for record in records {
        let key = ctx.next_key();
        ctx.event(src, key, Intent::Created, RecordValue::SignalSubscription(record));
    }
    Ok(())
}

pub(crate) fn close_subscriptions(ctx: &mut Ctx, src: &Record, element_instance_key: i64) {
    for key in ctx.state.signal_subscriptions_of(element_instance_key) {
        if let Some(subscription) = ctx.state.signal_subscriptions.get(&key).cloned() {
            ctx.event(src, key, Intent::Deleted, RecordValue::SignalSubscription(subscription));
        }
    }
}

/// After a new process version is deployed: its signal start events replace the earlier
/// version's.
pub(crate) fn deployed(ctx: &mut Ctx, src: &Record, process_definition_key: i64) {
    let Some(process) = ctx.state.processes.get(&process_definition_key).cloned() else {
        return;
    };
    let id = process.record.bpmn_process_id.clone();
    for key in ctx.state.signal_subscriptions_of(-1) {
        if let Some(old) = ctx.state.signal_subscriptions.get(&key).filter(|s| s.bpmn_process_id == id).cloned() {
            ctx.event(src, key, Intent::Deleted, RecordValue::SignalSubscription(old));
        }
    }
    for &child in &process.graph.element(Process::ROOT).children {
        let element = process.graph.element(child);
        if element.kind != ElementKind::StartEvent {
            continue;
        }
        // A FEEL name that cannot be evaluated without variables leaves the start event closed.
        let Ok(Some(signal_name)) = signal_name(ctx, -1, element) else { continue };
        let record = SignalSubscriptionRecord {
            signal_name,
            process_definition_key,
            bpmn_process_id: id.clone(),
            catch_element_id: element.id.clone(),
            catch_event_instance_key: -1,
        };
        let key = ctx.next_key();
        ctx.event(src, key, Intent::Created, RecordValue::SignalSubscription(record));
    }
}

/// `SIGNAL BROADCAST`: every subscription of the name, in the order they were opened.
pub(crate) fn broadcast(ctx: &mut Ctx, command: &Record, value: &SignalRecord) {
    if value.signal_name.trim().is_empty() {
        return ctx.reject(
            command,
            RejectionType::InvalidArgument,
            "Expected to broadcast a signal with a name, but the name is empty".to_string(),
        );
    }
    let key = ctx.next_key();
    let index = ctx.event(command, key, Intent::Broadcasted, RecordValue::Signal(value.clone()));
    ctx.respond(command, index);
    for subscription_key in ctx.state.signal_subscriptions_for(&value.signal_name) {
        // An earlier trigger may have closed this one (it interrupted the same activity).
        let Some(subscription) = ctx.state.signal_subscriptions.get(&subscription_key).cloned() else {
            continue;
        };
        trigger(ctx, command, &subscription, &value.variables);
    }
}

fn trigger(ctx: &mut Ctx, src: &Record, subscription: &SignalSubscriptionRecord, variables: &Document) {
    if subscription.catch_event_instance_key < 0 {
        if let Some(process) = ctx.state.processes.get(&subscription.process_definition_key).cloned() {
            start_events::start_instance(ctx, src, &process, subscription.catch_element_id.clone(), variables.clone());
        }
        return;
    }
    let Some(inst) = Instance::load(ctx.state, subscription.catch_event_instance_key) else {
        return;
    };
    if !behavior::can_trigger(ctx, inst.key) {
        return;
    }
    let Some(&target) = inst.graph.by_id.get(&subscription.catch_element_id) else {
        return;
    };
    if inst.kind() == ElementKind::EventBasedGateway {
        events::trigger_event_gateway(ctx, src, &inst, target, variables.clone());
    } else if target == inst.idx {
        close_subscriptions(ctx, src, inst.key);
        variables::apply_result(ctx, src, &inst, variables.clone());
        behavior::complete_element(ctx, src, &inst);
    } else {
        events::trigger_boundary(ctx, src, &inst, target, variables.clone());
    }
}

/// Signal intermediate throw and end events: broadcast the signal (with the event's input-mapped
/// variables) and go on.
pub(crate) struct SignalThrowEvent;

impl ElementBehavior for SignalThrowEvent {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let Some(signal_name) = signal_name(ctx, inst.key, inst.element())? else {
            return Err(Failure::unknown(format!(
                "Expected '{}' to throw a signal, but it has no signal",
                inst.value.element_id
            )));
        };
        let variables = variables::local_variables(ctx.state, inst.key);
        behavior::transition_to_activated(ctx, src, inst);
        let signal = SignalRecord { signal_name, variables };
        ctx.command(src, -1, Intent::Broadcast, RecordValue::Signal(signal));
        behavior::complete_element(ctx, src, inst);
        Ok(())
    }
}
