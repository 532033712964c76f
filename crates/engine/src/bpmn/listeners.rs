//! Execution listeners (`zeebe:executionListeners`): jobs an element waits for, one after the
//! other, before it is activated (`start`: after its input mappings) and before it is completed
//! (`end`: after its output mappings). A multi-instance activity runs them for its body, not for
//! each inner instance. Variables a start listener completes with are local to the element; an
//! end listener's go outwards, as a task's result does.

use baton_model::ExecutionListener;

use crate::bpmn::behavior::{Failure, Instance};
use crate::bpmn::{job_task, variables};
use crate::engine::{Ctx, SideEffect};
use crate::processors::element;
use crate::record::*;

/// Creates the job of the element's next listener for `phase`, if one is left: then the element
/// waits for it (true).
pub(crate) fn next(ctx: &mut Ctx, src: &Record, inst: &Instance, phase: ListenerEventType) -> Result<bool, Failure> {
    if inst.is_multi_instance_inner() {
        return Ok(false);
    }
    let element = inst.element();
    let listeners = match phase {
        ListenerEventType::Start => &element.start_listeners,
        ListenerEventType::End => &element.end_listeners,
        ListenerEventType::Unspecified => return Ok(false),
    };
    let done = ctx.state.element_instances.get(&inst.key).map_or(0, |e| e.listeners_done) as usize;
    let Some(listener) = listeners.get(done) else {
        return Ok(false);
    };
    let job = job(ctx, inst, listener, phase)?;
    let job_type = job.job_type.clone();
    let key = ctx.next_key();
    ctx.event(src, key, Intent::Created, RecordValue::Job(Box::new(job)));
    ctx.side_effect(SideEffect::JobsAvailable { job_type });
    Ok(true)
}

fn job(
    ctx: &Ctx,
    inst: &Instance,
    listener: &ExecutionListener,
    phase: ListenerEventType,
) -> Result<JobRecord, Failure> {
    let element = inst.element();
    let (job_type, retries) = job_task::type_and_retries(ctx, inst, &listener.job_type, &listener.retries)?;
    let headers: Document = element
        .job
        .iter()
        .flat_map(|job| &job.headers)
        .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
        .collect();
    Ok(JobRecord {
        kind: JobKind::ExecutionListener,
        listener_event_type: phase,
        ..job_task::new_job(inst, job_type, retries, headers)
    })
}

/// A listener's job completed: its variables are set, and the element goes on (the next
/// listener, or the rest of its activation or completion).
pub(crate) fn completed(ctx: &mut Ctx, src: &Record, inst: &Instance, phase: ListenerEventType, variables: &Document) {
    match phase {
        ListenerEventType::Start => {
            variables::merge_local(ctx, src, &inst.value, inst.key, variables.clone());
            element::after_inputs(ctx, src, inst);
        }
        ListenerEventType::End => {
            variables::merge_propagate(ctx, src, &inst.value, inst.key, variables.clone());
            element::after_outputs(ctx, src, inst);
        }
        ListenerEventType::Unspecified => {}
    }
}

/// An element that is terminated while a listener's job runs: the job goes.
pub(crate) fn cancel_job(ctx: &mut Ctx, src: &Record, element_instance_key: i64) {
    let job_key = ctx.state.element_instances.get(&element_instance_key).map_or(-1, |e| e.job_key);
    if let Some(job) = ctx.state.jobs.get(&job_key).filter(|job| job.record.kind == JobKind::ExecutionListener) {
        let record = job.record.clone();
        ctx.event(src, job_key, Intent::Canceled, RecordValue::Job(record));
    }
}
