//! Resolving an incident retries the step that failed, after the operator fixed its cause.

use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::{Ctx, SideEffect};
use crate::processors::element;
use crate::record::*;
use crate::state::{JobState, LifecycleState};

pub(crate) fn resolve(ctx: &mut Ctx, command: &Record) {
    let Some(incident) = ctx.state.incidents.get(&command.key).cloned() else {
        return ctx.reject(
            command,
            RejectionType::NotFound,
            format!("Expected to resolve incident with key '{}', but no such incident was found", command.key),
        );
    };
    let index = ctx.event(command, command.key, Intent::Resolved, RecordValue::Incident(Box::new(incident.clone())));
    ctx.respond(command, index);
    if incident.job_key >= 0 {
        return retry_job(ctx, command, &incident);
    }
    let Some(inst) = Instance::load(ctx.state, incident.element_instance_key) else {
        return;
    };
    match ctx.state.element_instances.get(&inst.key).map(|e| e.state) {
        Some(LifecycleState::Activating) => element::continue_activation(ctx, command, &inst),
        Some(LifecycleState::Completing) => element::continue_completion(ctx, command, &inst),
        _ => {}
    }
}

/// A job incident: the job becomes activatable again if it has retries; if the operator did not
/// give it any, the incident is raised again at once.
fn retry_job(ctx: &mut Ctx, command: &Record, incident: &IncidentRecord) {
    let Some(job) = ctx.state.jobs.get(&incident.job_key).cloned() else {
        return;
    };
    if job.state != JobState::Failed && job.state != JobState::ErrorThrown {
        return;
    }
    if job.record.retries <= 0 {
        if let Some(inst) = Instance::load(ctx.state, incident.element_instance_key) {
            let failure = Failure { error_type: incident.error_type, message: incident.error_message.clone() };
            behavior::raise_incident(ctx, command, &inst, failure, job.key);
        }
        return;
    }
    // Re-activating a failed job is the job's own event, so state changes only through appliers.
    let job_type = job.record.job_type.clone();
    ctx.event(command, job.key, Intent::RecurredAfterBackoff, RecordValue::Job(job.record));
    ctx.side_effect(SideEffect::JobsAvailable { job_type });
}
