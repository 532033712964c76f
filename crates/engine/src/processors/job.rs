//! Job commands from workers and from the scheduler.

use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::{ad_hoc, events, listeners, variables};
use crate::engine::{Ctx, SideEffect};
use crate::record::*;
use crate::state::{Job, JobState};

pub(crate) fn process(ctx: &mut Ctx, command: &Record, value: &JobRecord, intent: Intent) {
    let verb = match intent {
        Intent::Complete => "complete",
        Intent::Fail => "fail",
        Intent::TimeOut => "time out",
        Intent::RecurAfterBackoff => "recur",
        Intent::UpdateRetries => "update retries of",
        Intent::UpdateTimeout => "update the deadline of",
        Intent::ThrowError => "throw an error for",
        _ => {
            return ctx.reject(
                command,
                RejectionType::InvalidArgument,
                format!("Expected a job command, but {} is not one", intent.as_str()),
            );
        }
    };
    let Some(job) = ctx.state.jobs.get(&command.key).cloned() else {
        return ctx.reject(
            command,
            RejectionType::NotFound,
            format!("Expected to {verb} job with key '{}', but no such job was found", command.key),
        );
    };
    match intent {
        Intent::Complete => complete(ctx, command, value, job),
        Intent::Fail => fail(ctx, command, value, job),
        Intent::TimeOut => time_out(ctx, command, job),
        Intent::RecurAfterBackoff => recur(ctx, command, job),
        Intent::UpdateRetries => update_retries(ctx, command, value, job),
        Intent::UpdateTimeout => update_timeout(ctx, command, value, job),
        Intent::ThrowError => throw_error(ctx, command, value, job),
        _ => {}
    }
}

fn reject_state(ctx: &mut Ctx, command: &Record, verb: &str, job: &Job) {
    let state = match job.state {
        JobState::Activatable => "ACTIVATABLE",
        JobState::Activated => "ACTIVATED",
        JobState::BackingOff | JobState::Failed => "FAILED",
        JobState::ErrorThrown => "ERROR_THROWN",
    };
    ctx.reject(
        command,
        RejectionType::InvalidState,
        format!("Expected to {verb} job with key '{}', but it is in state '{state}'", command.key),
    );
}

fn complete(ctx: &mut Ctx, command: &Record, value: &JobRecord, job: Job) {
    if !matches!(job.state, JobState::Activatable | JobState::Activated) {
        return reject_state(ctx, command, "complete", &job);
    }
    if let Some(result) = value.ad_hoc_result.as_deref() {
        let checked = if job.record.kind == JobKind::AdHocSubProcess {
            ad_hoc::check_job_result(ctx.state, job.record.element_instance_key, result)
        } else {
            Err(format!(
                "Expected to complete job with key '{}' with an ad-hoc subprocess result, but it belongs to \
                 element '{}', which is not an ad-hoc subprocess",
                command.key, job.record.element_id
            ))
        };
        if let Err(reason) = checked {
            return ctx.reject(command, RejectionType::InvalidArgument, reason);
        }
    }
    let mut record = job.record;
    record.variables = value.variables.clone();
    record.ad_hoc_result = value.ad_hoc_result.clone();
    let (element_instance_key, kind, listener_event_type) =
        (record.element_instance_key, record.kind, record.listener_event_type);
    let index = ctx.event(command, command.key, Intent::Completed, RecordValue::Job(record));
    ctx.respond(command, index);
    let Some(inst) = Instance::load(ctx.state, element_instance_key) else {
        return;
    };
    if kind == JobKind::ExecutionListener {
        return listeners::completed(ctx, command, &inst, listener_event_type, &value.variables);
    }
    if kind == JobKind::AdHocSubProcess {
        return ad_hoc::job_completed(ctx, command, &inst, value);
    }
    variables::apply_result(ctx, command, &inst, value.variables.clone());
    behavior::complete_element(ctx, command, &inst);
}

fn fail(ctx: &mut Ctx, command: &Record, value: &JobRecord, job: Job) {
    if job.state != JobState::Activated {
        return reject_state(ctx, command, "fail", &job);
    }
    let mut record = job.record;
    record.retries = value.retries;
    record.error_message = value.error_message.clone();
    record.retry_backoff_ms = value.retry_backoff_ms.max(0);
    record.recurring_time_ms = if value.retries > 0 && value.retry_backoff_ms > 0 {
        ctx.now.saturating_add(value.retry_backoff_ms)
    } else {
        -1
    };
    record.variables = value.variables.clone();
    record.deadline_ms = -1;
    let index = ctx.event(command, command.key, Intent::Failed, RecordValue::Job(record.clone()));
    ctx.respond(command, index);
    let Some(inst) = Instance::load(ctx.state, record.element_instance_key) else {
        return;
    };
    if !value.variables.is_empty() {
        variables::merge_local(ctx, command, &inst.value, inst.key, value.variables.clone());
    }
    if record.retries <= 0 {
        let message = if record.error_message.is_empty() {
            "No more retries left.".to_string()
        } else {
            record.error_message.clone()
        };
        let error_type = match record.kind {
            JobKind::ExecutionListener => ErrorType::ExecutionListenerNoRetries,
            JobKind::BpmnElement | JobKind::AdHocSubProcess => ErrorType::JobNoRetries,
        };
        let failure = Failure { error_type, message };
        behavior::raise_incident(ctx, command, &inst, failure, command.key);
    } else if record.retry_backoff_ms <= 0 {
        ctx.side_effect(SideEffect::JobsAvailable { job_type: record.job_type });
    }
}

fn time_out(ctx: &mut Ctx, command: &Record, job: Job) {
    if job.state != JobState::Activated || job.record.deadline_ms > ctx.now {
        return ctx.reject(
            command,
            RejectionType::InvalidState,
            format!(
                "Expected to time out activated job with key '{}', but it is not activated or not yet due",
                command.key
            ),
        );
    }
    let mut record = job.record;
    record.deadline_ms = -1;
    record.worker.clear();
    let job_type = record.job_type.clone();
    ctx.event(command, command.key, Intent::TimedOut, RecordValue::Job(record));
    ctx.side_effect(SideEffect::JobsAvailable { job_type });
}

fn recur(ctx: &mut Ctx, command: &Record, job: Job) {
    if job.state != JobState::BackingOff || job.record.recurring_time_ms > ctx.now {
        return ctx.reject(
            command,
            RejectionType::InvalidState,
            format!(
                "Expected to recur job with key '{}' after its back-off, but it is not backing off or not yet due",
                command.key
            ),
        );
    }
    let mut record = job.record;
    record.recurring_time_ms = -1;
    let job_type = record.job_type.clone();
    ctx.event(command, command.key, Intent::RecurredAfterBackoff, RecordValue::Job(record));
    ctx.side_effect(SideEffect::JobsAvailable { job_type });
}

fn update_retries(ctx: &mut Ctx, command: &Record, value: &JobRecord, job: Job) {
    if value.retries < 1 {
        return ctx.reject(
            command,
            RejectionType::InvalidArgument,
            format!(
                "Expected to update retries for job with key '{}' with a positive amount of retries, but the amount given was '{}'",
                command.key, value.retries
            ),
        );
    }
    let mut record = job.record;
    record.retries = value.retries;
    let index = ctx.event(command, command.key, Intent::RetriesUpdated, RecordValue::Job(record));
    ctx.respond(command, index);
}

fn update_timeout(ctx: &mut Ctx, command: &Record, value: &JobRecord, job: Job) {
    if job.state != JobState::Activated {
        return reject_state(ctx, command, "update the deadline of", &job);
    }
    if value.timeout_ms < 0 {
        return ctx.reject(
            command,
            RejectionType::InvalidArgument,
            format!(
                "Expected a non-negative timeout for job with key '{}', but it was {}",
                command.key, value.timeout_ms
            ),
        );
    }
    let mut record = job.record;
    record.timeout_ms = value.timeout_ms;
    record.deadline_ms = ctx.now.saturating_add(value.timeout_ms);
    let index = ctx.event(command, command.key, Intent::TimeoutUpdated, RecordValue::Job(record));
    ctx.respond(command, index);
}

fn throw_error(ctx: &mut Ctx, command: &Record, value: &JobRecord, job: Job) {
    if !matches!(job.state, JobState::Activatable | JobState::Activated) {
        return reject_state(ctx, command, "throw an error for", &job);
    }
    if job.record.kind == JobKind::ExecutionListener {
        return ctx.reject(
            command,
            RejectionType::InvalidState,
            format!(
                "Expected to throw an error for job with key '{}', but it is an execution listener's job: a BPMN                  error cannot be thrown from an execution listener",
                command.key
            ),
        );
    }
    let mut record = job.record;
    record.error_code = value.error_code.clone();
    record.error_message = value.error_message.clone();
    record.variables = value.variables.clone();
    record.deadline_ms = -1;
    let index = ctx.event(command, command.key, Intent::ErrorThrown, RecordValue::Job(record.clone()));
    ctx.respond(command, index);
    let Some(inst) = Instance::load(ctx.state, record.element_instance_key) else {
        return;
    };
    if let Some(catch) = events::find_error_catch(ctx.state, inst.key, &record.error_code) {
        return events::trigger_boundary(ctx, command, &catch.attached, catch.boundary, record.variables);
    }
    let message = format!(
        "Expected to throw an error event with the code '{}' with message '{}', but it was not caught. \
         No error events are available in the scope.",
        record.error_code, record.error_message
    );
    let failure = Failure { error_type: ErrorType::UnhandledErrorEvent, message };
    behavior::raise_incident(ctx, command, &inst, failure, command.key);
}
