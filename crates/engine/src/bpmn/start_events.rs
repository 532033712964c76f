//! Start events that create instances by themselves: timer start events (a timer per start event
//! from deployment on, a cycle re-arming itself) and message start events (a subscription per
//! start event that takes every message of its name). A new version of a process replaces the
//! timers and subscriptions of the previous one.
//!
//! An instance started this way records its trigger first (`PROCESS_EVENT TRIGGERING` on the key
//! the instance will have); the process then activates that start event instead of its none start
//! event, with the trigger's variables (see `bpmn/container.rs`).
//!
//! Message start events follow Zeebe's rules: a message starts at most one instance per process,
//! and while an instance started with a correlation key is active, no other instance of that
//! process starts with the same key — the message waits (if buffered) until the instance ends.

use std::sync::Arc;

use baton_model::{EventDefinition, Process, Text};

use crate::bpmn::timers;
use crate::bpmn::variables;
use crate::engine::Ctx;
use crate::record::*;
use crate::state::{DeployedProcess, State};

/// Creates an instance of `process` that starts at `start_event` with `variables`; returns its key.
pub(crate) fn start_instance(
    ctx: &mut Ctx,
    src: &Record,
    process: &DeployedProcess,
    start_event: Arc<str>,
    variables: Document,
) -> i64 {
    let key = ctx.next_key();
    let record = &process.record;
    let root = process.graph.element(Process::ROOT);
    let trigger = ProcessEventRecord {
        scope_key: key,
        target_element_id: start_event,
        variables,
        bpmn_process_id: record.bpmn_process_id.clone(),
        process_definition_key: record.process_definition_key,
        process_instance_key: key,
    };
    let trigger_key = ctx.next_key();
    ctx.event(src, trigger_key, Intent::Triggering, RecordValue::ProcessEvent(trigger));
    let value = ProcessInstanceRecord {
        bpmn_process_id: record.bpmn_process_id.clone(),
        version: record.version,
        process_definition_key: record.process_definition_key,
        process_instance_key: key,
        element_id: root.id.clone(),
        bpmn_element_type: BpmnElementType::Element(root.kind),
        flow_scope_key: -1,
        parent_process_instance_key: -1,
        parent_element_instance_key: -1,
    };
    ctx.command(src, key, Intent::ActivateElement, RecordValue::ProcessInstance(value));
    key
}

/// After a new process version is created: replace the start timers (on the deployment
/// partition, `with_timers`) and message start subscriptions (on every partition, since a message
/// lives on the partition of its correlation key) of earlier versions with this version's.
pub(crate) fn deployed(ctx: &mut Ctx, src: &Record, process_definition_key: i64, with_timers: bool) {
    let Some(process) = ctx.state.processes.get(&process_definition_key).cloned() else {
        return;
    };
    let id = process.record.bpmn_process_id.clone();
    if with_timers {
        for key in ctx.state.timers_of(-1) {
            if let Some(timer) = ctx.state.timers.get(&key).filter(|t| t.bpmn_process_id == id).cloned() {
                ctx.event(src, key, Intent::Canceled, RecordValue::Timer(timer));
            }
        }
    }
    let old: Vec<(i64, MessageSubscriptionRecord)> = ctx
        .state
        .message_start_subscriptions
        .iter()
        .filter(|(_, s)| s.bpmn_process_id == id)
        .map(|(key, s)| (*key, s.clone()))
        .collect();
    for (key, subscription) in old {
        ctx.event(src, key, Intent::Deleted, RecordValue::MessageSubscription(Box::new(subscription)));
    }
    let mut names = Vec::new();
    for &child in &process.graph.element(Process::ROOT).children {
        let element = process.graph.element(child);
        if element.kind != baton_model::ElementKind::StartEvent {
            continue;
        }
        match &element.event {
            Some(EventDefinition::Timer { .. }) if with_timers => {
                // Validated at deploy when static; a FEEL timer that fails here has no instance to
                // raise an incident on, so the start event stays without a timer.
                let Ok(schedule) = timers::schedule(ctx, -1, element) else { continue };
                let Ok(due_date_ms) = schedule.first_due(ctx.now) else { continue };
                let timer = TimerRecord {
                    element_instance_key: -1,
                    process_instance_key: -1,
                    process_definition_key,
                    bpmn_process_id: id.clone(),
                    target_element_id: element.id.clone(),
                    due_date_ms,
                    repetitions: timers::repetitions(&schedule),
                };
                let key = ctx.next_key();
                ctx.event(src, key, Intent::Created, RecordValue::Timer(timer));
            }
            Some(EventDefinition::Message(message)) => {
                let name = match &message.name {
                    Text::Static(name) => name.clone(),
                    Text::Expression(expression) => {
                        match variables::evaluate_string(ctx.state, -1, expression, ctx.now) {
                            Ok(name) => name,
                            Err(_) => continue,
                        }
                    }
                };
                let subscription = MessageSubscriptionRecord {
                    process_instance_key: -1,
                    element_instance_key: -1,
                    bpmn_process_id: id.clone(),
                    process_definition_key,
                    element_id: element.id.clone(),
                    message_name: name.clone(),
                    correlation_key: String::new(),
                    interrupting: true,
                    message_key: -1,
                    variables: Document::new(),
                };
                let key = ctx.next_key();
                ctx.event(src, key, Intent::Created, RecordValue::MessageSubscription(Box::new(subscription)));
                names.push(name);
            }
            _ => {}
        }
    }
    for name in names {
        correlate_buffered(ctx, src, &name, None);
    }
}

/// A deleted definition's start events stop: its start timers are canceled, its message and
/// signal start subscriptions deleted.
pub(crate) fn withdraw(ctx: &mut Ctx, src: &Record, process_definition_key: i64) {
    for key in ctx.state.timers_of(-1) {
        if let Some(timer) =
            ctx.state.timers.get(&key).filter(|t| t.process_definition_key == process_definition_key).cloned()
        {
            ctx.event(src, key, Intent::Canceled, RecordValue::Timer(timer));
        }
    }
    let messages: Vec<(i64, MessageSubscriptionRecord)> = ctx
        .state
        .message_start_subscriptions
        .iter()
        .filter(|(_, s)| s.process_definition_key == process_definition_key)
        .map(|(key, s)| (*key, s.clone()))
        .collect();
    for (key, subscription) in messages {
        ctx.event(src, key, Intent::Deleted, RecordValue::MessageSubscription(Box::new(subscription)));
    }
    for key in ctx.state.signal_subscriptions_of(-1) {
        if let Some(subscription) = ctx
            .state
            .signal_subscriptions
            .get(&key)
            .filter(|s| s.process_definition_key == process_definition_key)
            .cloned()
        {
            ctx.event(src, key, Intent::Deleted, RecordValue::SignalSubscription(subscription));
        }
    }
}

/// A timer start event's timer is due: start an instance and arm the next timer of a cycle.
pub(crate) fn timer_fired(ctx: &mut Ctx, command: &Record, timer: &TimerRecord) {
    ctx.event(command, command.key, Intent::Triggered, RecordValue::Timer(timer.clone()));
    let Some(process) = ctx.state.processes.get(&timer.process_definition_key).cloned() else {
        return;
    };
    start_instance(ctx, command, &process, timer.target_element_id.clone(), Document::new());
    let Some(element) = process.graph.element_by_id(&timer.target_element_id) else {
        return;
    };
    let Ok(schedule) = timers::schedule(ctx, -1, element) else {
        return;
    };
    if let Some(next) = timers::next_timer(ctx, timer, &schedule) {
        let key = ctx.next_key();
        ctx.event(command, key, Intent::Created, RecordValue::Timer(next));
    }
}

/// Whether a message named `name` with `correlation_key` would start an instance now: some
/// deployed process has a message start event for it, and no instance of that process started
/// by the same correlation key is still active.
pub(crate) fn can_start_on_message(state: &State, name: &str, correlation_key: &str) -> bool {
    let from = (name.to_string(), i64::MIN);
    state.start_subscription_index.range(from..).take_while(|(n, _)| n == name).any(|(_, key)| {
        state.message_start_subscriptions.get(key).is_some_and(|subscription| {
            state.processes.contains_key(&subscription.process_definition_key)
                && (correlation_key.is_empty()
                    || !state
                        .active_start_keys
                        .contains_key(&(subscription.bpmn_process_id.clone(), correlation_key.to_string())))
        })
    })
}

/// Offers message `message_key` to the message start events of its name; returns the first
/// instance it started.
pub(crate) fn correlate_message(
    ctx: &mut Ctx,
    src: &Record,
    message_key: i64,
    message: &MessageRecord,
    correlated: &[Arc<str>],
) -> Option<i64> {
    let from = (message.name.clone(), i64::MIN);
    let keys: Vec<i64> = ctx
        .state
        .start_subscription_index
        .range(from..)
        .take_while(|(name, _)| *name == message.name)
        .map(|(_, key)| *key)
        .collect();
    let mut started = None;
    let mut processes: Vec<Arc<str>> = Vec::new();
    for key in keys {
        let Some(subscription) = ctx.state.message_start_subscriptions.get(&key).cloned() else {
            continue;
        };
        let id = subscription.bpmn_process_id.clone();
        // One instance per process and message, even with several start events for it.
        if processes.contains(&id)
            || correlated.contains(&id)
            || ctx.state.message_correlations.contains(&(message_key, id.clone()))
        {
            continue;
        }
        if !message.correlation_key.is_empty()
            && ctx.state.active_start_keys.contains_key(&(id.clone(), message.correlation_key.clone()))
        {
            continue;
        }
        let Some(process) = ctx.state.processes.get(&subscription.process_definition_key).cloned() else {
            continue;
        };
        processes.push(id);
        let instance = start_instance(ctx, src, &process, subscription.element_id.clone(), message.variables.clone());
        let correlated = MessageSubscriptionRecord {
            process_instance_key: instance,
            message_key,
            correlation_key: message.correlation_key.clone(),
            variables: message.variables.clone(),
            ..subscription
        };
        ctx.event(src, key, Intent::Correlated, RecordValue::MessageSubscription(Box::new(correlated)));
        started = started.or(Some(instance));
    }
    started
}

/// Buffered messages named `name` (all of them, or those of `process_id`'s start events) get a
/// chance to start instances: after a deployment, or when an instance that held a correlation
/// key ends.
pub(crate) fn correlate_buffered(ctx: &mut Ctx, src: &Record, name: &str, correlation_key: Option<&str>) {
    let from = (name.to_string(), String::new(), i64::MIN);
    let mut buffered: Vec<i64> = ctx
        .state
        .message_index
        .range(from..)
        .take_while(|(n, _, _)| n == name)
        .filter(|(_, key, _)| correlation_key.is_none_or(|k| k == key))
        .map(|(_, _, message_key)| *message_key)
        .collect();
    // Oldest first.
    buffered.sort_unstable();
    for message_key in buffered {
        if let Some(message) = ctx.state.messages.get(&message_key).cloned() {
            correlate_message(ctx, src, message_key, &message, &[]);
        }
    }
}

/// The (process id, correlation key) a message start event started `inst` with, if it is such a
/// process instance; read before it ends, since ending releases it.
pub(crate) fn start_key(ctx: &Ctx, inst: &crate::bpmn::behavior::Instance) -> Option<(Arc<str>, String)> {
    if inst.value.flow_scope_key >= 0 {
        return None;
    }
    ctx.state.start_key_of_instance.get(&inst.key).cloned()
}

/// A process instance ended: if a message start event started it with a correlation key, a
/// buffered message with that key may now start the next one.
pub(crate) fn instance_ended(ctx: &mut Ctx, src: &Record, ended: &(Arc<str>, String)) {
    let names: Vec<String> = ctx
        .state
        .message_start_subscriptions
        .values()
        .filter(|s| s.bpmn_process_id == ended.0)
        .map(|s| s.message_name.clone())
        .collect();
    for name in names {
        correlate_buffered(ctx, src, &name, Some(&ended.1));
    }
}
