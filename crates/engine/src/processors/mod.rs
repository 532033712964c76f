//! Command processors: one per value type, each turning a command into events, follow-up
//! commands, an answer or a rejection.

mod creation;
pub(crate) mod decision;
mod deployment;
pub(crate) mod element;
mod incident;
mod job;
pub(crate) mod job_batch;
pub(crate) mod message;
mod message_subscription;
mod migration;
mod modification;
mod resource;
mod timer;
mod variable_document;

pub use job_batch::JOBS_PER_BATCH_MAX;

use crate::engine::Ctx;
use crate::record::*;

pub(crate) fn process(ctx: &mut Ctx, command: &Record) {
    match (&command.value, command.intent) {
        (RecordValue::Deployment(value), Intent::Create) => deployment::create(ctx, command, value),
        (RecordValue::ProcessInstanceCreation(value), Intent::Create | Intent::CreateWithAwaitingResult) => {
            creation::create(ctx, command, value)
        }
        (RecordValue::ProcessInstance(_), Intent::ActivateElement) => element::activate(ctx, command),
        (RecordValue::ProcessInstance(_), Intent::CompleteElement) => element::complete(ctx, command),
        (RecordValue::ProcessInstance(_), Intent::TerminateElement) => element::terminate(ctx, command),
        (RecordValue::ProcessInstance(_), Intent::Cancel) => element::cancel(ctx, command),
        (RecordValue::Job(value), intent) => job::process(ctx, command, value, intent),
        (RecordValue::JobBatch(value), Intent::Activate) => job_batch::activate(ctx, command, value),
        (RecordValue::VariableDocument(value), Intent::Update) => variable_document::update(ctx, command, value),
        (RecordValue::Incident(_), Intent::Resolve) => incident::resolve(ctx, command),
        (RecordValue::Message(value), Intent::Publish) => message::publish(ctx, command, value),
        (RecordValue::Message(_), Intent::Expire) => message::expire(ctx, command),
        (RecordValue::MessageCorrelation(value), Intent::Correlate) => message::correlate(ctx, command, value),
        (RecordValue::MessageSubscription(value), Intent::Create) => message_subscription::create(ctx, command, value),
        (RecordValue::MessageSubscription(_), Intent::Delete) => message_subscription::delete(ctx, command),
        (RecordValue::MessageSubscription(value), Intent::Correlate) => {
            message_subscription::correlated(ctx, command, value)
        }
        (RecordValue::MessageSubscription(value), Intent::Reject) => {
            message_subscription::rejected(ctx, command, value)
        }
        (RecordValue::ProcessMessageSubscription(value), Intent::Correlate) => {
            message_subscription::correlate(ctx, command, value)
        }
        (RecordValue::ProcessMessageSubscription(value), Intent::Delete) => {
            message_subscription::forget(ctx, command, value)
        }
        (RecordValue::Timer(_), Intent::Trigger) => timer::trigger(ctx, command),
        (RecordValue::ProcessInstanceMigration(value), Intent::Migrate) => migration::migrate(ctx, command, value),
        (RecordValue::ResourceDeletion(value), Intent::Delete) => resource::delete(ctx, command, value),
        (RecordValue::ProcessInstanceModification(value), Intent::Modify) => modification::modify(ctx, command, value),
        (RecordValue::DecisionEvaluation(value), Intent::Evaluate) => decision::evaluate_command(ctx, command, value),
        (RecordValue::Signal(value), Intent::Broadcast) => crate::bpmn::signals::broadcast(ctx, command, value),
        (value, intent) => ctx.reject(
            command,
            RejectionType::InvalidArgument,
            format!(
                "Expected a command the engine knows, but {} {} is not one",
                value.value_type().as_str(),
                intent.as_str()
            ),
        ),
    }
}
