//! Ad-hoc subprocesses. On activation the subprocess evaluates its active elements collection
//! and starts each inner element it names, each in a scope of its own (an inner instance,
//! `AD_HOC_SUB_PROCESS_INNER_INSTANCE`, same element id as the subprocess), so what an inner
//! flow writes stays with that flow. When an inner flow is done, its output element joins the
//! output collection and the completion condition decides: without one, the subprocess completes
//! once every inner flow is done; when it holds, the rest is terminated (or, with
//! `cancelRemainingInstances="false"`, awaited) and the subprocess completes.

use baton_model::{AdHoc, ElementIdx, ElementKind};
use serde_json::Value;

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::variables;
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
        let found = item.as_str().and_then(|id| inst.graph.by_id.get(id).copied()).filter(|&idx| {
            let element = inst.graph.element(idx);
            element.parent == Some(inst.idx)
                && !matches!(element.kind, ElementKind::BoundaryEvent | ElementKind::EventSubProcess)
        });
        match found {
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
        let elements = active_elements(ctx, inst, definition)?;
        behavior::transition_to_activated(ctx, src, inst);
        if let Some(name) = &definition.output_collection {
            let mut locals = Document::new();
            locals.insert(name.clone(), Value::Array(Vec::new()));
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
    let inner_key = ctx.next_key();
    let mut inner = body.value.clone();
    inner.bpmn_element_type = BpmnElementType::Element(ElementKind::AdHocSubProcessInnerInstance);
    inner.flow_scope_key = body.key;
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
    let body_key = inner.value.flow_scope_key;
    let complete_now = match next {
        Next::Continue => return behavior::after_child_finished(ctx, src, body_key),
        Next::Wait => false,
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

/// Whether scope `key` is an ad-hoc subprocess whose completion condition, not the end of its
/// inner flows, decides when it completes.
pub(crate) fn waits_for_condition(ctx: &Ctx, key: i64) -> bool {
    Instance::load(ctx.state, key).is_some_and(|inst| {
        inst.kind() == ElementKind::AdHocSubProcess
            && inst.element().ad_hoc.as_ref().is_some_and(|d| d.completion_condition.is_some())
    })
}
