//! Publishing messages and expiring buffered ones.

use std::collections::BTreeSet;

use crate::bpmn::{messages, start_events};
use crate::engine::Ctx;
use crate::record::*;

pub(crate) fn publish(ctx: &mut Ctx, command: &Record, value: &MessageRecord) {
    if value.name.is_empty() {
        return ctx.reject(
            command,
            RejectionType::InvalidArgument,
            "Expected to publish a message with a name, but the name is empty".to_string(),
        );
    }
    if value.time_to_live_ms < 0 {
        return ctx.reject(
            command,
            RejectionType::InvalidArgument,
            format!("Expected a non-negative time to live, but it was {}", value.time_to_live_ms),
        );
    }
    if !value.message_id.is_empty() {
        let duplicate = ctx
            .state
            .buffered_messages(&value.name, &value.correlation_key)
            .iter()
            .filter_map(|key| ctx.state.messages.get(key))
            .any(|m| m.message_id == value.message_id);
        if duplicate {
            return ctx.reject(
                command,
                RejectionType::AlreadyExists,
                format!(
                    "Expected to publish a new message with id '{}', but a message with that id was already published",
                    value.message_id
                ),
            );
        }
    }
    let key = ctx.next_key();
    let mut message = value.clone();
    message.deadline_ms = ctx.now.saturating_add(value.time_to_live_ms);
    let index = ctx.event(command, key, Intent::Published, RecordValue::Message(message.clone()));
    ctx.respond(command, index);
    // At most one correlation per process instance, in subscription order.
    let mut correlated = BTreeSet::new();
    for subscription_key in ctx.state.subscriptions_for(&message.name, &message.correlation_key) {
        let Some(subscription) = ctx.state.message_subscriptions.get(&subscription_key).cloned() else {
            continue;
        };
        if correlated.contains(&subscription.process_instance_key) {
            continue;
        }
        if messages::correlate(ctx, command, subscription_key, &subscription, key, &message.variables) {
            correlated.insert(subscription.process_instance_key);
        }
    }
    start_events::correlate_message(ctx, command, key, &message);
    if message.time_to_live_ms == 0 {
        // Not buffered: it correlated now or never.
        ctx.event(command, key, Intent::Expired, RecordValue::Message(message));
    }
}

pub(crate) fn expire(ctx: &mut Ctx, command: &Record) {
    let Some(message) = ctx.state.messages.get(&command.key).cloned() else {
        return ctx.reject(
            command,
            RejectionType::NotFound,
            format!("Expected to expire message with key '{}', but no such message was found", command.key),
        );
    };
    if message.deadline_ms > ctx.now {
        return ctx.reject(
            command,
            RejectionType::InvalidState,
            format!("Expected to expire message with key '{}', but it is not yet due", command.key),
        );
    }
    ctx.event(command, command.key, Intent::Expired, RecordValue::Message(message));
}
