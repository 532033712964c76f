//! Message subscriptions between partitions: the partition of a correlation key (`M`) holds its
//! messages and a copy of every subscription waiting for them; the partition of the instance
//! (`P`) holds the subscription itself and decides whether the element still takes a message.
//!
//! Commands arrive from the other partition, after the sender's batch was durable. Every one of
//! them may arrive twice (the sender sends again what was unanswered after a crash), so each is
//! carried out once and ignored after that:
//!
//! - on `M`: `MESSAGE_SUBSCRIPTION CREATE` (opened on `P`), `DELETE` (closed on `P`),
//!   `CORRELATE` (`P` took the offered message) and `REJECT` (`P`'s element no longer waits; the
//!   message goes to the next subscription);
//! - on `P`: `PROCESS_MESSAGE_SUBSCRIPTION CORRELATE` (`M` offers a message) and `DELETE` (`M`
//!   has the answer, so `P` may forget it took that message).

use crate::bpmn::messages;
use crate::engine::Ctx;
use crate::processors::message;
use crate::record::*;
use crate::state::partition_of_key;

/// `M`: a subscription of another partition's instance opens here; a buffered message may be
/// waiting for it.
pub(crate) fn create(ctx: &mut Ctx, command: &Record, value: &MessageSubscriptionRecord) {
    if !from_other_partition(ctx, command) || ctx.state.message_subscriptions.contains_key(&command.key) {
        return;
    }
    let mut subscription = value.clone();
    subscription.message_key = -1;
    subscription.variables = Document::new();
    ctx.event(command, command.key, Intent::Created, RecordValue::MessageSubscription(Box::new(subscription)));
    offer_buffered(ctx, command, command.key);
}

/// `M`: the subscription closed on its partition.
pub(crate) fn delete(ctx: &mut Ctx, command: &Record) {
    if !from_other_partition(ctx, command) {
        return;
    }
    // An offer still unanswered stays: the instance's partition rejects it, which frees the
    // message for the next subscription.
    if let Some(subscription) = ctx.state.message_subscriptions.get(&command.key).cloned() {
        ctx.event(command, command.key, Intent::Deleted, RecordValue::MessageSubscription(Box::new(subscription)));
    }
}

/// `M`: the instance took the offered message. A subscription that stays open (a
/// non-interrupting boundary event) is offered the next buffered message.
pub(crate) fn correlated(ctx: &mut Ctx, command: &Record, value: &MessageSubscriptionRecord) {
    let Some(offer) = pending_offer(ctx, command, value) else {
        return;
    };
    ctx.event(command, command.key, Intent::Correlated, RecordValue::MessageSubscription(Box::new(offer.clone())));
    // The instance's partition may forget it took this message: it will not be offered again.
    ctx.send(
        partition_of_key(command.key),
        Intent::Delete,
        command.key,
        RecordValue::ProcessMessageSubscription(Box::new(offer)),
    );
    if ctx.state.message_subscriptions.contains_key(&command.key) {
        offer_buffered(ctx, command, command.key);
    }
}

/// `M`: the element no longer waits; the subscription is gone and the message, if still
/// buffered, goes to the next subscription of its name and key.
pub(crate) fn rejected(ctx: &mut Ctx, command: &Record, value: &MessageSubscriptionRecord) {
    let Some(offer) = pending_offer(ctx, command, value) else {
        return;
    };
    ctx.event(command, command.key, Intent::Rejected, RecordValue::MessageSubscription(Box::new(offer.clone())));
    if let Some(buffered) = ctx.state.messages.get(&offer.message_key).cloned() {
        message::offer(ctx, command, offer.message_key, &buffered);
    }
}

/// `P`: a message offered to one of this partition's subscriptions. The answer goes back to the
/// message's partition.
pub(crate) fn correlate(ctx: &mut Ctx, command: &Record, value: &MessageSubscriptionRecord) {
    let message_partition = partition_of_key(value.message_key);
    if partition_of_key(command.key) != ctx.state.partition_id || message_partition == ctx.state.partition_id {
        return ctx.reject(
            command,
            RejectionType::InvalidArgument,
            format!(
                "Expected a message of another partition for a subscription of this one, but subscription '{}' \
                 and message '{}' do not fit",
                command.key, value.message_key
            ),
        );
    }
    let answer = RecordValue::MessageSubscription(Box::new(value.clone()));
    if ctx.state.delivered.contains(&(value.process_instance_key, value.message_key)) {
        // Offered again after a crash: the first answer may have been lost.
        return ctx.send(message_partition, Intent::Correlate, command.key, answer);
    }
    let subscription = ctx.state.message_subscriptions.get(&command.key).cloned();
    let taken = subscription.is_some_and(|subscription| {
        messages::correlate(ctx, command, command.key, &subscription, value.message_key, &value.variables)
    });
    if taken {
        ctx.event(
            command,
            command.key,
            Intent::Correlated,
            RecordValue::ProcessMessageSubscription(Box::new(value.clone())),
        );
        ctx.send(message_partition, Intent::Correlate, command.key, answer);
    } else {
        ctx.reject(
            command,
            RejectionType::InvalidState,
            format!(
                "Expected to correlate message '{}' to subscription '{}' of element '{}', but the element no longer \
                 waits for it",
                value.message_key, command.key, value.element_id
            ),
        );
        ctx.send(message_partition, Intent::Reject, command.key, answer);
    }
}

/// `P`: the message's partition has the answer to an offer: no need to remember it.
pub(crate) fn forget(ctx: &mut Ctx, command: &Record, value: &MessageSubscriptionRecord) {
    if ctx.state.delivered.contains(&(value.process_instance_key, value.message_key)) {
        let value = RecordValue::ProcessMessageSubscription(Box::new(value.clone()));
        ctx.event(command, command.key, Intent::Deleted, value);
    }
}

/// Offers the oldest buffered message the subscription's process has not taken yet.
fn offer_buffered(ctx: &mut Ctx, src: &Record, subscription_key: i64) {
    if ctx.state.correlating.contains_key(&subscription_key) {
        return;
    }
    let Some(subscription) = ctx.state.message_subscriptions.get(&subscription_key).cloned() else {
        return;
    };
    if let Some((message_key, variables)) = ctx.state.next_buffered_message(&subscription) {
        message::offer_to_partition(ctx, src, subscription_key, &subscription, message_key, &variables);
    }
}

/// The offer an answer is about, if it is still waiting for one (an answer can arrive twice).
fn pending_offer(ctx: &Ctx, command: &Record, value: &MessageSubscriptionRecord) -> Option<MessageSubscriptionRecord> {
    if !from_other_partition(ctx, command) {
        return None;
    }
    ctx.state.correlating.get(&command.key).filter(|offer| offer.message_key == value.message_key).cloned()
}

/// These commands name subscriptions of other partitions' instances; any other key is a
/// command this partition must not act on.
fn from_other_partition(ctx: &Ctx, command: &Record) -> bool {
    partition_of_key(command.key) != ctx.state.partition_id
}
