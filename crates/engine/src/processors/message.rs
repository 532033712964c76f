//! Publishing messages and expiring buffered ones.

use std::sync::Arc;

use crate::bpmn::{messages, start_events};
use crate::engine::Ctx;
use crate::record::*;
use crate::state::partition_of_key;

/// Refuses a message without a name; true when it did.
fn refused_nameless(ctx: &mut Ctx, command: &Record, verb: &str, name: &str) -> bool {
    if !name.is_empty() {
        return false;
    }
    let reason = format!("Expected to {verb} a message with a name, but the name is empty");
    ctx.reject(command, RejectionType::InvalidArgument, reason);
    true
}

pub(crate) fn publish(ctx: &mut Ctx, command: &Record, value: &MessageRecord) {
    if refused_nameless(ctx, command, "publish", &value.name) {
        return;
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
    let index = ctx.event(command, key, Intent::Published, RecordValue::Message(Box::new(message.clone())));
    ctx.respond(command, index);
    let correlated: Vec<Arc<str>> =
        offer(ctx, command, key, &message).into_iter().map(|(process, _)| process).collect();
    start_events::correlate_message(ctx, command, key, &message, &correlated);
    if message.time_to_live_ms == 0 {
        // Not buffered: it correlated now or never.
        ctx.event(command, key, Intent::Expired, RecordValue::Message(Box::new(message)));
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
    ctx.event(command, command.key, Intent::Expired, RecordValue::Message(Box::new(message)));
}

/// Correlates a message now or refuses it: like a publish with no time to live, but refused
/// (and nothing written) when no subscription and no message start event could take it, and
/// answered with the first process instance it reached.
pub(crate) fn correlate(ctx: &mut Ctx, command: &Record, value: &MessageCorrelationRecord) {
    if refused_nameless(ctx, command, "correlate", &value.name) {
        return;
    }
    let uncorrelated = |ctx: &mut Ctx| {
        let reason = format!(
            "Expected to find subscription for message with name '{}' and correlation key '{}', but none was found.",
            value.name, value.correlation_key
        );
        ctx.reject(command, RejectionType::NotFound, reason);
    };
    let open =
        |key: &i64| !ctx.state.correlating.contains_key(key) && ctx.state.message_subscriptions.contains_key(key);
    let waiting = ctx.state.subscriptions_for(&value.name, &value.correlation_key).iter().any(open);
    if !waiting && !start_events::can_start_on_message(ctx.state, &value.name, &value.correlation_key) {
        return uncorrelated(ctx);
    }
    let key = ctx.next_key();
    let message = MessageRecord {
        name: value.name.clone(),
        correlation_key: value.correlation_key.clone(),
        time_to_live_ms: 0,
        message_id: String::new(),
        variables: value.variables.clone(),
        deadline_ms: ctx.now,
    };
    ctx.event(command, key, Intent::Published, RecordValue::Message(Box::new(message.clone())));
    let correlated = offer(ctx, command, key, &message);
    let processes: Vec<Arc<str>> = correlated.iter().map(|(process, _)| process.clone()).collect();
    let started = start_events::correlate_message(ctx, command, key, &message, &processes);
    ctx.event(command, key, Intent::Expired, RecordValue::Message(Box::new(message)));
    let first = correlated.first().map(|(_, instance)| *instance).or(started);
    let Some(process_instance_key) = first else {
        // An element that could not take the message after all (it was about to complete): the
        // message went nowhere, as a publish without time to live would have.
        return uncorrelated(ctx);
    };
    let answer = MessageCorrelationRecord { message_key: key, process_instance_key, ..value.clone() };
    let index = ctx.event(command, key, Intent::Correlated, RecordValue::MessageCorrelation(Box::new(answer)));
    ctx.respond(command, index);
}

/// Offers message `message_key` to the open subscriptions of its name and correlation key, at
/// most one per process (across its versions), in subscription order; subscriptions of other
/// partitions' instances get it through their partition. Returns the processes it went to,
/// each with the instance that took it.
pub(crate) fn offer(ctx: &mut Ctx, src: &Record, message_key: i64, message: &MessageRecord) -> Vec<(Arc<str>, i64)> {
    let mut correlated: Vec<(Arc<str>, i64)> = Vec::new();
    for subscription_key in ctx.state.subscriptions_for(&message.name, &message.correlation_key) {
        let Some(subscription) = ctx.state.message_subscriptions.get(&subscription_key).cloned() else {
            continue;
        };
        let process = &subscription.bpmn_process_id;
        if correlated.iter().any(|(taken, _)| taken == process)
            || ctx.state.correlating.contains_key(&subscription_key)
            || ctx.state.message_correlations.contains(&(message_key, process.clone()))
        {
            continue;
        }
        let taken = if partition_of_key(subscription_key) == ctx.state.partition_id {
            messages::correlate(ctx, src, subscription_key, &subscription, message_key, &message.variables)
        } else {
            offer_to_partition(ctx, src, subscription_key, &subscription, message_key, &message.variables);
            true
        };
        if taken {
            correlated.push((subscription.bpmn_process_id.clone(), subscription.process_instance_key));
        }
    }
    correlated
}

/// Offers a message to the subscription of an instance on another partition: the subscription
/// is busy until that partition answers.
pub(crate) fn offer_to_partition(
    ctx: &mut Ctx,
    src: &Record,
    subscription_key: i64,
    subscription: &MessageSubscriptionRecord,
    message_key: i64,
    variables: &Document,
) {
    let value = subscription.with_message(message_key, variables);
    ctx.send(
        partition_of_key(subscription_key),
        Intent::Correlate,
        subscription_key,
        RecordValue::ProcessMessageSubscription(Box::new(value.clone())),
    );
    ctx.event(src, subscription_key, Intent::Correlating, RecordValue::MessageSubscription(Box::new(value)));
}
