//! Message subscriptions: opened when a message catch event, a receive task or an activity with
//! message boundary events activates; correlated by message name and correlation key; deleted
//! when the element ends.
//!
//! A message lives on the partition of its correlation key (`M`); a subscription is written on
//! the partition of its instance (`P`). When `M` is `P`, everything happens here in one step.
//! Otherwise, as in Zeebe, the subscription is also opened on `M` (`MESSAGE_SUBSCRIPTION CREATE`
//! sent there), `M` offers it a message (`CORRELATING`, and `PROCESS_MESSAGE_SUBSCRIPTION
//! CORRELATE` sent to `P`), and `P` answers `CORRELATE` (taken) or `REJECT` (the element no longer
//! waits), after which `M` offers the message to the next subscription. The protocol lives in
//! `processors/message_subscription.rs`.

use baton_feel::Expression;
use baton_model::{ElementIdx, ElementKind, Text};

use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::{events, variables};
use crate::engine::Ctx;
use crate::record::*;

/// The message catch events of an element: its own (catch event, receive task) and those of its
/// message boundary events, with whether they interrupt it.
fn catching(inst: &Instance) -> Vec<(ElementIdx, bool)> {
    let element = inst.element();
    let mut wanted = Vec::new();
    let own = !matches!(element.kind, ElementKind::BoundaryEvent | ElementKind::StartEvent);
    if own && element.message().is_some() && !inst.is_multi_instance_body() {
        wanted.push((element.idx, true));
    }
    for start in events::event_subprocess_starts(inst) {
        let event = inst.graph.element(start);
        if event.message().is_some() {
            wanted.push((start, event.interrupting));
        }
    }
    if inst.is_multi_instance_inner() {
        return wanted;
    }
    for target in crate::bpmn::event_based_gateway::targets(inst) {
        if inst.graph.element(target).message().is_some() {
            wanted.push((target, true));
        }
    }
    for &boundary in &element.boundary_events {
        let event = inst.graph.element(boundary);
        if event.message().is_some() {
            wanted.push((boundary, event.interrupting));
        }
    }
    wanted
}

fn correlation_key(ctx: &Ctx, scope_key: i64, expression: &Expression) -> Result<String, Failure> {
    match variables::evaluate(ctx.state, scope_key, expression, ctx.now).map_err(Failure::extract_value)? {
        serde_json::Value::String(key) => Ok(key),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        other => Err(Failure::extract_value(format!(
            "Failed to extract the correlation key for '{}': The value must be either a string or a number, \
             but was '{}'.",
            expression.source(),
            variables::type_name(&other)
        ))),
    }
}

/// Opens the subscriptions of an activating element. Every name and correlation key is evaluated
/// first, so a failure (an incident) writes nothing; subscriptions already open (the step is
/// re-run after an incident) are kept.
pub(crate) fn open_subscriptions(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
    let wanted = catching(inst);
    if wanted.is_empty() {
        return Ok(());
    }
    let open: Vec<std::sync::Arc<str>> = ctx
        .state
        .subscriptions_of(inst.key)
        .iter()
        .filter_map(|key| ctx.state.message_subscriptions.get(key))
        .map(|s| s.element_id.clone())
        .collect();
    let mut records = Vec::with_capacity(wanted.len());
    for (idx, interrupting) in wanted {
        let element = inst.graph.element(idx);
        let Some(definition) = element.message() else {
            continue;
        };
        if open.contains(&element.id) {
            continue;
        }
        let message_name = match &definition.name {
            Text::Static(name) => name.clone(),
            Text::Expression(expression) => {
                variables::evaluate_string(ctx.state, inst.key, expression, ctx.now).map_err(Failure::extract_value)?
            }
        };
        let Some(expression) = &definition.correlation_key else {
            continue;
        };
        let correlation_key = correlation_key(ctx, inst.key, expression)?;
        records.push(MessageSubscriptionRecord {
            process_instance_key: inst.value.process_instance_key,
            element_instance_key: inst.key,
            bpmn_process_id: inst.value.bpmn_process_id.clone(),
            process_definition_key: inst.value.process_definition_key,
            element_id: element.id.clone(),
            message_name,
            correlation_key,
            interrupting,
            message_key: -1,
            variables: Document::new(),
        });
    }
    for record in records {
        let key = ctx.next_key();
        let home = ctx.message_partition(&record.correlation_key);
        if home != ctx.state.partition_id {
            ctx.send(home, Intent::Create, key, RecordValue::MessageSubscription(Box::new(record.clone())));
        }
        ctx.event(src, key, Intent::Created, RecordValue::MessageSubscription(Box::new(record)));
    }
    Ok(())
}

/// After activation: each open subscription of the element takes the oldest buffered message
/// for it that has not correlated with its process yet.
pub(crate) fn correlate_buffered(ctx: &mut Ctx, src: &Record, inst: &Instance) {
    for subscription_key in ctx.state.subscriptions_of(inst.key) {
        let Some(subscription) = ctx.state.message_subscriptions.get(&subscription_key).cloned() else {
            continue;
        };
        if ctx.message_partition(&subscription.correlation_key) != ctx.state.partition_id {
            // The messages are on another partition, which offers them when the subscription
            // arrives there.
            continue;
        }
        let Some((message_key, variables)) = ctx.state.next_buffered_message(&subscription) else {
            continue;
        };
        if correlate(ctx, src, subscription_key, &subscription, message_key, &variables) {
            // One message per process instance at a time: the instance took this one.
            return;
        }
    }
}

/// Correlates a message to one subscription. False when its element cannot take a message now
/// (not activated, already interrupted, or about to complete).
pub(crate) fn correlate(
    ctx: &mut Ctx,
    src: &Record,
    subscription_key: i64,
    subscription: &MessageSubscriptionRecord,
    message_key: i64,
    variables: &Document,
) -> bool {
    let Some(inst) = Instance::load(ctx.state, subscription.element_instance_key) else {
        return false;
    };
    if !behavior::can_trigger(ctx, inst.key) {
        return false;
    }
    let value = subscription.with_message(message_key, variables);
    ctx.event(src, subscription_key, Intent::Correlated, RecordValue::MessageSubscription(Box::new(value)));
    if inst.kind() == ElementKind::EventBasedGateway {
        if let Some(&event) = inst.graph.by_id.get(&subscription.element_id) {
            events::trigger_event_gateway(ctx, src, &inst, event, variables.clone());
        }
    } else if *inst.value.element_id == *subscription.element_id {
        // A catch event or receive task: it completes with the message's variables.
        variables::apply_result(ctx, src, &inst, variables.clone());
        behavior::complete_element(ctx, src, &inst);
    } else if let Some(&boundary) = inst.graph.by_id.get(&subscription.element_id) {
        events::trigger_boundary(ctx, src, &inst, boundary, variables.clone());
    }
    true
}

/// Deletes the open subscriptions of an element that is completing or terminating.
pub(crate) fn close_subscriptions(ctx: &mut Ctx, src: &Record, element_instance_key: i64) {
    for key in ctx.state.subscriptions_of(element_instance_key) {
        if let Some(subscription) = ctx.state.message_subscriptions.get(&key).cloned() {
            let home = ctx.message_partition(&subscription.correlation_key);
            if home != ctx.state.partition_id {
                ctx.send(home, Intent::Delete, key, RecordValue::MessageSubscription(Box::new(subscription.clone())));
            }
            ctx.event(src, key, Intent::Deleted, RecordValue::MessageSubscription(Box::new(subscription)));
        }
    }
}
