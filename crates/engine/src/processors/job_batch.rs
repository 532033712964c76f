//! Job activation: hands out activatable jobs of one type, in key order, with their variables.

use std::sync::Arc;

use crate::bpmn::variables;
use crate::engine::Ctx;
use crate::record::*;

/// Bounds one activation, whatever the worker asks for.
pub const JOBS_PER_BATCH_MAX: usize = 1_000;

pub(crate) fn activate(ctx: &mut Ctx, command: &Record, value: &JobBatchRecord) {
    let problem = if value.job_type.trim().is_empty() {
        Some("Expected to activate jobs of a non-empty type, but the type is empty".to_string())
    } else if value.max_jobs_to_activate < 1 {
        Some(format!(
            "Expected to activate at least one job, but max jobs to activate was {}",
            value.max_jobs_to_activate
        ))
    } else if value.timeout_ms < 1 {
        Some(format!("Expected a job timeout of at least 1 ms, but it was {}", value.timeout_ms))
    } else {
        None
    };
    if let Some(reason) = problem {
        return ctx.reject(command, RejectionType::InvalidArgument, reason);
    }
    let max = (value.max_jobs_to_activate as usize).min(JOBS_PER_BATCH_MAX);
    let from: (Arc<str>, i64) = (value.job_type.clone(), i64::MIN);
    let mut keys: Vec<i64> = Vec::with_capacity(max.min(64));
    let mut truncated = false;
    for (job_type, key) in ctx.state.activatable.range(from..) {
        if *job_type != value.job_type {
            break;
        }
        if keys.len() == max {
            truncated = true;
            break;
        }
        keys.push(*key);
    }
    let deadline_ms = ctx.now.saturating_add(value.timeout_ms);
    let mut jobs = Vec::with_capacity(keys.len());
    for key in &keys {
        let Some(job) = ctx.state.jobs.get(key) else {
            continue;
        };
        let mut record = job.record.without_variables();
        record.worker = value.worker.clone();
        record.timeout_ms = value.timeout_ms;
        record.deadline_ms = deadline_ms;
        record.variables = variables::visible_variables(ctx.state, record.element_instance_key, &value.fetch_variables);
        jobs.push(record);
    }
    let batch = JobBatchRecord {
        job_type: value.job_type.clone(),
        worker: value.worker.clone(),
        timeout_ms: value.timeout_ms,
        max_jobs_to_activate: value.max_jobs_to_activate,
        fetch_variables: value.fetch_variables.clone(),
        job_keys: keys,
        jobs,
        truncated,
    };
    let key = ctx.next_key();
    let index = ctx.event(command, key, Intent::Activated, RecordValue::JobBatch(Box::new(batch)));
    ctx.respond(command, index);
}
