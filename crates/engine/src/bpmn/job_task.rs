//! Service, send, user (job-based) and business rule tasks, and script tasks with a task
//! definition: the engine creates a job and waits for a worker to complete it.

use std::sync::Arc;

use baton_model::Text;

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::variables;
use crate::engine::{Ctx, SideEffect};
use crate::record::{Document, Intent, JobRecord, Record, RecordValue};

pub(crate) struct JobTask;

impl ElementBehavior for JobTask {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let job = prepare_job(ctx, inst)?;
        create_job(ctx, src, job);
        behavior::transition_to_activated(ctx, src, inst);
        Ok(())
    }

    fn on_terminate(ctx: &mut Ctx, src: &Record, inst: &Instance) {
        cancel_job(ctx, src, inst.key);
    }
}

/// Cancels the job element instance `key` waits for, if any.
pub(crate) fn cancel_job(ctx: &mut Ctx, src: &Record, key: i64) {
    let job_key = ctx.state.element_instances.get(&key).map_or(-1, |e| e.job_key);
    if let Some(job) = ctx.state.jobs.get(&job_key) {
        let record = job.record.clone();
        ctx.event(src, job_key, Intent::Canceled, RecordValue::Job(record));
    }
}

/// Writes a new job and tells waiting workers.
pub(crate) fn create_job(ctx: &mut Ctx, src: &Record, job: JobRecord) {
    let job_type = job.job_type.clone();
    let job_key = ctx.next_key();
    ctx.event(src, job_key, Intent::Created, RecordValue::Job(Box::new(job)));
    ctx.side_effect(SideEffect::JobsAvailable { job_type });
}

/// The job the element's task definition describes, evaluated in its scope; writes nothing, so
/// a failure changes nothing.
pub(crate) fn prepare_job(ctx: &Ctx, inst: &Instance) -> Result<JobRecord, Failure> {
    let element = inst.element();
    let Some(definition) = &element.job else {
        return Err(Failure::unknown(format!(
            "Expected element '{}' to have a job definition, but it has none",
            element.id
        )));
    };
    let (job_type, retries) = type_and_retries(ctx, inst, &definition.job_type, &definition.retries)?;
    let mut custom_headers: Document =
        definition.headers.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    for header in &definition.dynamic_headers {
        let value =
            variables::evaluate(ctx.state, inst.key, &header.expression, ctx.now).map_err(Failure::extract_value)?;
        let text = match (value, header.list) {
            (serde_json::Value::Null, _) => continue,
            (serde_json::Value::String(text), true) => {
                let items: Vec<&str> = text.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
                serde_json::to_string(&items).unwrap_or_default()
            }
            (serde_json::Value::String(text), false) => text,
            (list @ serde_json::Value::Array(_), true) => list.to_string(),
            (other, _) => {
                let expected = if header.list { "ARRAY" } else { "STRING" };
                return Err(Failure::extract_value(variables::unexpected(&header.expression, expected, &other)));
            }
        };
        custom_headers.insert(header.name.clone(), serde_json::Value::String(text));
    }
    Ok(new_job(inst, job_type, retries, custom_headers))
}

/// A new, activatable job of the element instance `inst`.
pub(crate) fn new_job(inst: &Instance, job_type: Arc<str>, retries: i32, custom_headers: Document) -> JobRecord {
    JobRecord {
        job_type,
        retries,
        custom_headers: Arc::new(custom_headers),
        bpmn_process_id: inst.value.bpmn_process_id.clone(),
        process_definition_version: inst.value.version,
        process_definition_key: inst.value.process_definition_key,
        process_instance_key: inst.value.process_instance_key,
        element_id: inst.value.element_id.clone(),
        element_instance_key: inst.key,
        ..JobRecord::default()
    }
}

/// A job's type and retries, either of which may be FEEL (evaluated in the element's scope).
pub(crate) fn type_and_retries(
    ctx: &Ctx,
    inst: &Instance,
    job_type: &Text,
    retries: &Text,
) -> Result<(Arc<str>, i32), Failure> {
    let job_type: Arc<str> = match job_type {
        Text::Static(job_type) => Arc::from(job_type.as_str()),
        Text::Expression(expression) => Arc::from(
            variables::evaluate_string(ctx.state, inst.key, expression, ctx.now)
                .map_err(Failure::extract_value)?
                .as_str(),
        ),
    };
    let retries = match retries {
        Text::Static(retries) => retries.trim().parse::<i32>().map_err(|_| {
            Failure::extract_value(format!(
                "Expected retries of element '{}' to be a number, but was '{retries}'",
                inst.element().id
            ))
        })?,
        Text::Expression(expression) => {
            variables::evaluate_i64(ctx.state, inst.key, expression, ctx.now).map_err(Failure::extract_value)? as i32
        }
    };
    Ok((job_type, retries))
}
