//! Deleting a form, or a process definition: creating instances of it is refused from then on (NOT_FOUND),
//! its start events stop, and if it was the latest version, the previous one's start events take
//! over. Instances already running finish on it. Processed on every partition; start events
//! live on the deployment partition.

use crate::bpmn::{signals, start_events};
use crate::engine::Ctx;
use crate::record::*;

/// Start events live on this partition only (deployments are accepted here first).
const DEPLOYMENT_PARTITION: u32 = 1;

pub(crate) fn delete(ctx: &mut Ctx, command: &Record, value: &ResourceDeletionRecord) {
    let key = value.resource_key;
    if let Some(form) = ctx.state.forms.get(&key).cloned() {
        // A form version is gone at once: nothing runs on it.
        ctx.event(command, key, Intent::Deleted, RecordValue::Form(Box::new(form)));
        let index = ctx.event(command, key, Intent::Deleted, RecordValue::ResourceDeletion(value.clone()));
        return ctx.respond(command, index);
    }
    let Some(process) = ctx.state.live_process(key).cloned() else {
        return ctx.reject(
            command,
            RejectionType::NotFound,
            format!("Expected to delete resource but no resource found with key `{key}`"),
        );
    };
    let id = process.record.bpmn_process_id.clone();
    let was_latest = ctx.state.latest_process(&id).is_some_and(|p| p.record.process_definition_key == key);
    let index = ctx.event(command, key, Intent::Deleted, RecordValue::ResourceDeletion(value.clone()));
    ctx.respond(command, index);
    // Message start events live on every partition; timer and signal start events on the
    // deployment partition only.
    let deployment_partition = ctx.state.partition_id == DEPLOYMENT_PARTITION;
    start_events::withdraw(ctx, command, key);
    if was_latest && let Some(previous) = ctx.state.latest_process(&id).map(|p| p.record.process_definition_key) {
        start_events::deployed(ctx, command, previous, deployment_partition);
        if deployment_partition {
            signals::deployed(ctx, command, previous);
        }
    }
}
