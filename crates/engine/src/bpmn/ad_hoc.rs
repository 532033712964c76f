//! Ad-hoc subprocesses. On activation the subprocess evaluates its active elements collection
//! and starts each inner element it names, each in a scope of its own (an inner instance,
//! `AD_HOC_SUB_PROCESS_INNER_INSTANCE`, same element id as the subprocess), so what an inner
//! flow writes stays with that flow. When an inner flow is done, its output element joins the
//! output collection and the completion condition decides: without one, the subprocess completes
//! once every inner flow is done; when it holds, the rest is terminated (or, with
//! `cancelRemainingInstances="false"`, awaited) and the subprocess completes.
//!
//! With a task definition the subprocess is driven by a job worker instead: it gets a job on
//! activation and a new one whenever an inner flow completes (one at a time), and the job's
//! completion names the elements to activate or says the subprocess is done.

use baton_model::{AdHoc, ElementIdx, ElementKind};
use serde_json::Value;

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::{job_task, variables};
use crate::engine::Ctx;
use crate::record::*;

pub(crate) struct AdHocSubProcess;
pub(crate) struct InnerInstance;

fn definition(inst: &Instance) -> Result<&AdHoc, Failure> {
    inst.element().ad_hoc.as_ref().ok_or_else(|| {
        Failure::unknown(format!(
            "Expected element '{}' to be an ad-hoc subprocess, but it has no ad-hoc definition",
            inst.value.element_id
        ))
    })
}

/// An inner element a worker or the collection may activate: a direct child that is not attached
/// to another element or started by an event.
fn activatable(inst: &Instance, id: &str) -> Option<ElementIdx> {
    inst.graph.by_id.get(id).copied().filter(|&idx| {
        let element = inst.graph.element(idx);
        element.parent == Some(inst.idx)
            && !matches!(element.kind, ElementKind::BoundaryEvent | ElementKind::EventSubProcess)
    })
}

/// The inner elements the active elements collection names, in its order.
fn active_elements(ctx: &Ctx, inst: &Instance, definition: &AdHoc) -> Result<Vec<ElementIdx>, Failure> {
    let Some(expression) = &definition.active_elements else {
        return Ok(Vec::new());
    };
    let value = variables::evaluate(ctx.state, inst.key, expression, ctx.now).map_err(Failure::extract_value)?;
    let items = match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => return Err(Failure::extract_value(variables::unexpected(expression, "ARRAY", &other))),
    };
    let mut elements = Vec::with_capacity(items.len());
    for item in items {
        match item.as_str().and_then(|id| activatable(inst, id)) {
            Some(idx) => elements.push(idx),
            None => {
                return Err(Failure::extract_value(format!(
                    "Expected the active elements collection '{}' of ad-hoc subprocess '{}' to hold ids of its \
                     inner elements, but {item} is not one",
                    expression.source(),
                    inst.value.element_id
                )));
            }
        }
    }
    Ok(elements)
}

impl ElementBehavior for AdHocSubProcess {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let definition = definition(inst)?;
        let mut locals = Document::new();
        if let Some(name) = &definition.output_collection {
            locals.insert(name.clone(), Value::Array(Vec::new()));
        }
        if inst.element().job.is_some() {
            let job = worker_job(ctx, inst)?;
            behavior::transition_to_activated(ctx, src, inst);
            locals.insert(ELEMENTS.to_string(), elements_variable(inst));
            variables::merge_local(ctx, src, &inst.value, inst.key, locals);
            job_task::create_job(ctx, src, job);
            return Ok(());
        }
        let elements = active_elements(ctx, inst, definition)?;
        behavior::transition_to_activated(ctx, src, inst);
        if !locals.is_empty() {
            variables::merge_local(ctx, src, &inst.value, inst.key, locals);
        }
        // With nothing to start, the subprocess stays active, as in Zeebe.
        for element in elements {
            activate_inner(ctx, src, inst, element);
        }
        Ok(())
    }

    fn on_complete(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        if let Some(name) = &definition(inst)?.output_collection {
            variables::hand_out_collection(ctx, src, inst, name);
        }
        Ok(())
    }

    fn on_terminate(ctx: &mut Ctx, src: &Record, inst: &Instance) {
        job_task::cancel_job(ctx, src, inst.key);
    }
}

/// The variable a worker reads to know what it may activate (Zeebe's name and shape).
const ELEMENTS: &str = "adHocSubProcessElements";

fn elements_variable(inst: &Instance) -> Value {
    let graph = &inst.graph;
    let elements = inst
        .element()
        .children
        .iter()
        .map(|&idx| graph.element(idx))
        .filter(|e| e.incoming.is_empty() && activatable(inst, &e.id).is_some())
        .map(|e| {
            let properties: serde_json::Map<String, Value> =
                e.properties.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            serde_json::json!({
                "elementId": &*e.id,
                "elementName": e.name.clone().unwrap_or_default(),
                "documentation": e.documentation.clone().unwrap_or_default(),
                "properties": properties,
                "parameters": [],
            })
        })
        .collect();
    Value::Array(elements)
}

/// The subprocess's job, of kind `AD_HOC_SUB_PROCESS`.
fn worker_job(ctx: &Ctx, inst: &Instance) -> Result<JobRecord, Failure> {
    let mut job = job_task::prepare_job(ctx, inst)?;
    job.kind = JobKind::AdHocSubProcess;
    Ok(job)
}

/// Checks a worker's result before anything is written: the elements must be inner elements of
/// the subprocess, and a result either activates elements or completes the subprocess.
pub(crate) fn check_job_result(
    state: &crate::state::State,
    body_key: i64,
    result: &AdHocJobResult,
) -> Result<(), String> {
    let Some(body) = Instance::load(state, body_key) else {
        return Err(format!("Expected the ad-hoc subprocess '{body_key}' to be active, but it is not"));
    };
    if result.completion_condition_fulfilled && !result.activate_elements.is_empty() {
        return Err(format!(
            "Expected the job result either to activate elements or to fulfil the completion condition of \
             ad-hoc subprocess '{}', but it does both",
            body.value.element_id
        ));
    }
    let unknown: Vec<&str> = result
        .activate_elements
        .iter()
        .map(|(id, _)| id.as_str())
        .filter(|id| activatable(&body, id).is_none())
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "Expected to activate inner elements of ad-hoc subprocess '{}', but {} are not: '{}'",
            body.value.element_id,
            unknown.len(),
            unknown.join("', '")
        ));
    }
    Ok(())
}

/// After the subprocess's job completed: its variables stay in the subprocess; then the elements
/// it names start, or the subprocess completes.
pub(crate) fn job_completed(ctx: &mut Ctx, src: &Record, body: &Instance, job: &JobRecord) {
    if !job.variables.is_empty() {
        variables::merge_local(ctx, src, &body.value, body.key, job.variables.clone());
    }
    let Some(result) = job.ad_hoc_result.as_deref() else {
        return;
    };
    for (id, locals) in &result.activate_elements {
        if let Some(idx) = activatable(body, id) {
            activate_inner_with(ctx, src, body, idx, locals.clone());
        }
    }
    if result.completion_condition_fulfilled {
        let next = if result.cancel_remaining_instances { Next::Finish } else { Next::FinishAfterRest };
        finish(ctx, src, body.key, next);
    }
}

impl ElementBehavior for InnerInstance {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        // Its inner element was queued right behind it by the subprocess.
        behavior::transition_to_activated(ctx, src, inst);
        Ok(())
    }
}

/// Opens an inner instance and starts `element` in it. The commands are processed in order, so
/// the inner instance is active by the time its element activates.
fn activate_inner(ctx: &mut Ctx, src: &Record, body: &Instance, element: ElementIdx) {
    activate_inner_with(ctx, src, body, element, Document::new());
}

/// As [`activate_inner`], with variables local to the inner instance.
fn activate_inner_with(ctx: &mut Ctx, src: &Record, body: &Instance, element: ElementIdx, locals: Document) {
    let inner_key = ctx.next_key();
    let mut inner = body.value.clone();
    inner.bpmn_element_type = BpmnElementType::Element(ElementKind::AdHocSubProcessInnerInstance);
    inner.flow_scope_key = body.key;
    if !locals.is_empty() {
        variables::merge_local(ctx, src, &inner, inner_key, locals);
    }
    ctx.command(src, inner_key, Intent::ActivateElement, RecordValue::ProcessInstance(inner));
    let element_key = ctx.next_key();
    let value = body.value_for(element, inner_key);
    ctx.command(src, element_key, Intent::ActivateElement, RecordValue::ProcessInstance(value));
}

/// What the subprocess does after one of its inner flows completed.
#[derive(Debug)]
pub(crate) enum Next {
    /// No completion condition: complete once no inner flow is left.
    Continue,
    /// The completion condition holds: terminate what still runs, then complete.
    Finish,
    /// The completion condition holds: complete once what still runs is done.
    FinishAfterRest,
    /// The completion condition does not hold: wait.
    Wait,
    /// Driven by a job worker: a new job asks it what comes next.
    AskWorker,
}

/// During an inner instance's `ELEMENT_COMPLETING`: collects its output element and evaluates
/// the completion condition in its scope. Everything that can fail is evaluated before anything
/// is written, so a failure (an incident on the inner instance) changes nothing.
pub(crate) fn inner_completing(ctx: &mut Ctx, src: &Record, inner: &Instance) -> Result<Next, Failure> {
    let definition = definition(inner)?;
    let body_key = inner.value.flow_scope_key;
    let Some(body) = Instance::load(ctx.state, body_key) else {
        return Err(Failure::unknown(format!(
            "Expected the ad-hoc subprocess '{body_key}' of '{}' to exist, but it does not",
            inner.value.element_id
        )));
    };
    let output = match &definition.output_element {
        Some(expression) => {
            Some(variables::evaluate(ctx.state, inner.key, expression, ctx.now).map_err(Failure::extract_value)?)
        }
        None => None,
    };
    let next = match &definition.completion_condition {
        _ if inner.element().job.is_some() => Next::AskWorker,
        None => Next::Continue,
        Some(condition) => match variables::evaluate(ctx.state, inner.key, condition, ctx.now)
            .map_err(|e| Failure::condition(e.to_string()))?
        {
            Value::Bool(true) if definition.cancel_remaining => Next::Finish,
            Value::Bool(true) => Next::FinishAfterRest,
            Value::Bool(false) => Next::Wait,
            other => return Err(Failure::condition(variables::unexpected(condition, "BOOLEAN", &other))),
        },
    };
    if let (Some(name), Some(output)) = (&definition.output_collection, output)
        && let Some(Value::Array(mut collected)) = ctx.state.variable(body_key, name).map(|v| v.value.clone())
    {
        collected.push(output);
        variables::set_variable(ctx, src, &body.value, body_key, name, Value::Array(collected));
    }
    Ok(next)
}

/// After an inner instance's `ELEMENT_COMPLETED`.
pub(crate) fn inner_completed(ctx: &mut Ctx, src: &Record, inner: &Instance, next: Next) {
    finish(ctx, src, inner.value.flow_scope_key, next);
}

fn finish(ctx: &mut Ctx, src: &Record, body_key: i64, next: Next) {
    let complete_now = match next {
        Next::Continue => return behavior::after_child_finished(ctx, src, body_key),
        Next::Wait => false,
        Next::AskWorker => {
            if let Some(body) = Instance::load(ctx.state, body_key) {
                // One job at a time: the one a worker may still hold is replaced.
                job_task::cancel_job(ctx, src, body_key);
                match worker_job(ctx, &body) {
                    Ok(job) => job_task::create_job(ctx, src, job),
                    Err(failure) => behavior::raise_incident(ctx, src, &body, failure, -1),
                }
            }
            false
        }
        // The terminated ones mark the subprocess interrupted; the last one completes it.
        Next::Finish => behavior::terminate_children(ctx, src, body_key) == 0,
        Next::FinishAfterRest => ctx.state.element_instances.get(&body_key).is_some_and(|b| b.children.is_empty()),
    };
    if complete_now
        && let Some(body) = ctx.state.element_instances.get(&body_key)
        && !ctx.queued().any(|r| r.intent == Intent::CompleteElement && r.key == body_key)
    {
        let value = body.value.clone();
        ctx.command(src, body_key, Intent::CompleteElement, RecordValue::ProcessInstance(value));
    }
}

/// Whether scope `key` is an ad-hoc subprocess whose completion condition or worker, not the end
/// of its inner flows, decides when it completes.
pub(crate) fn waits_for_condition(ctx: &Ctx, key: i64) -> bool {
    Instance::load(ctx.state, key).is_some_and(|inst| {
        inst.kind() == ElementKind::AdHocSubProcess
            && (inst.element().job.is_some()
                || inst.element().ad_hoc.as_ref().is_some_and(|d| d.completion_condition.is_some()))
    })
}
