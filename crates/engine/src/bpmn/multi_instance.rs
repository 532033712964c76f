//! Multi-instance activities. The activity is entered through its body (`MULTI_INSTANCE_BODY`,
//! same element id), which evaluates the input collection and runs one inner instance of the
//! activity per item: all at once (parallel) or one after the other (sequential). The body owns
//! the boundary events and the outgoing flows; each inner instance owns its item
//! (`inputElement`), its `loopCounter` (from 1) and the input/output mappings.
//!
//! The body keeps Zeebe's counters as local variables (`numberOfInstances`,
//! `numberOfActiveInstances`, `numberOfCompletedInstances`, `numberOfTerminatedInstances`) so a
//! completion condition can read them, and collects `outputElement` of every inner instance into
//! `outputCollection` at the item's index; that collection goes to the flow scope when the body
//! completes.

use baton_feel::Expression;
use baton_model::MultiInstance;
use serde_json::Value;

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::variables::{self, ScopeView};
use crate::engine::Ctx;
use crate::record::*;

const LOOP_COUNTER: &str = "loopCounter";
const INSTANCES: &str = "numberOfInstances";
const ACTIVE: &str = "numberOfActiveInstances";
const COMPLETED: &str = "numberOfCompletedInstances";
const TERMINATED: &str = "numberOfTerminatedInstances";

pub(crate) struct MultiInstanceBody;

fn definition(inst: &Instance) -> Result<&MultiInstance, Failure> {
    inst.element().multi_instance.as_ref().ok_or_else(|| {
        Failure::unknown(format!(
            "Expected element '{}' to have multi-instance loop characteristics, but it has none",
            inst.value.element_id
        ))
    })
}

fn input_collection(ctx: &Ctx, scope_key: i64, expression: &Expression) -> Result<Vec<Value>, Failure> {
    match variables::evaluate(ctx.state, scope_key, expression, ctx.now).map_err(Failure::extract_value)? {
        Value::Array(items) => Ok(items),
        other => Err(Failure::extract_value(variables::unexpected(expression, "ARRAY", &other))),
    }
}

fn counter(ctx: &Ctx, scope_key: i64, name: &str) -> i64 {
    ctx.state.variable(scope_key, name).and_then(|v| v.value.as_i64()).unwrap_or(0)
}

impl ElementBehavior for MultiInstanceBody {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let definition = definition(inst)?;
        let items = input_collection(ctx, inst.key, &definition.input_collection)?;
        behavior::transition_to_activated(ctx, src, inst);
        let count = items.len();
        let active = if definition.sequential { count.min(1) } else { count };
        let mut locals = Document::new();
        if let Some(name) = &definition.output_collection {
            locals.insert(name.clone(), Value::Array(vec![Value::Null; count]));
        }
        locals.insert(INSTANCES.to_string(), count.into());
        locals.insert(ACTIVE.to_string(), active.into());
        locals.insert(COMPLETED.to_string(), 0.into());
        locals.insert(TERMINATED.to_string(), 0.into());
        variables::merge_local(ctx, src, &inst.value, inst.key, locals);
        if count == 0 {
            behavior::complete_element(ctx, src, inst);
            return Ok(());
        }
        for (index, item) in items.into_iter().enumerate().take(active) {
            activate_inner(ctx, src, inst, definition, index + 1, item);
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

/// Creates inner instance number `loop_counter` (from 1) with its local variables.
fn activate_inner(
    ctx: &mut Ctx,
    src: &Record,
    body: &Instance,
    definition: &MultiInstance,
    loop_counter: usize,
    item: Value,
) {
    let key = ctx.next_key();
    let mut value = body.value.clone();
    value.bpmn_element_type = BpmnElementType::Element(body.element().kind);
    value.flow_scope_key = body.key;
    let mut locals = Document::new();
    if let Some(name) = &definition.input_element {
        locals.insert(name.clone(), item);
    }
    locals.insert(LOOP_COUNTER.to_string(), loop_counter.into());
    if let Some(name) = definition.output_element.as_ref().and_then(plain_variable) {
        // Zeebe's rule: an output element that names a variable starts as a local null, so
        // that a result with that name (a job's variables) stays in this inner instance.
        locals.entry(name.to_string()).or_insert(Value::Null);
    }
    variables::merge_local(ctx, src, &value, key, locals);
    ctx.command(src, key, Intent::ActivateElement, RecordValue::ProcessInstance(value));
}

/// The variable an expression consists of, when it is just one name.
fn plain_variable(expression: &Expression) -> Option<&str> {
    let source = expression.source().trim();
    let simple = !source.is_empty()
        && source.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !source.starts_with(|c: char| c.is_ascii_digit());
    simple.then_some(source)
}

/// What a body does after one of its inner instances completed.
#[derive(Debug)]
pub(crate) enum Next {
    /// Sequential: the next inner instance, with its item.
    Activate { loop_counter: usize, item: Value },
    /// The completion condition holds: the rest is terminated and the body completes.
    Finish,
    /// Wait for the other inner instances (parallel), or complete when none is left.
    Continue,
}

/// The variables an inner instance sees, with the body's counters as they will be once it has
/// completed (the completion condition reads them).
struct Completing<'a> {
    scope: ScopeView<'a>,
    counters: Document,
}

impl baton_feel::Variables for Completing<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.counters.get(name).or_else(|| self.scope.get(name))
    }
}

/// During an inner instance's `ELEMENT_COMPLETING`: collects its output element, updates the
/// counters and decides what the body does next. Everything that can fail is evaluated before
/// anything is written, so a failure (an incident on the inner instance) changes nothing.
pub(crate) fn inner_completing(ctx: &mut Ctx, src: &Record, inner: &Instance) -> Result<Next, Failure> {
    let definition = definition(inner)?;
    let body_key = inner.value.flow_scope_key;
    let Some(body) = Instance::load(ctx.state, body_key) else {
        return Err(Failure::unknown(format!(
            "Expected the multi-instance body '{body_key}' of '{}' to exist, but it does not",
            inner.value.element_id
        )));
    };
    let output = match &definition.output_element {
        Some(expression) => {
            Some(variables::evaluate(ctx.state, inner.key, expression, ctx.now).map_err(Failure::extract_value)?)
        }
        None => None,
    };
    let mut counters = Document::new();
    counters.insert(COMPLETED.to_string(), (counter(ctx, body_key, COMPLETED) + 1).into());
    counters.insert(ACTIVE.to_string(), (counter(ctx, body_key, ACTIVE) - 1).max(0).into());
    let satisfied = match &definition.completion_condition {
        None => false,
        Some(condition) => {
            let view = Completing { scope: ScopeView { state: ctx.state, scope_key: inner.key }, counters };
            let value = condition.evaluate(&view, ctx.now).map_err(|e| Failure::condition(e.to_string()))?;
            counters = view.counters;
            match value {
                Value::Bool(b) => b,
                other => return Err(Failure::condition(variables::unexpected(condition, "BOOLEAN", &other))),
            }
        }
    };
    let loop_counter = counter(ctx, inner.key, LOOP_COUNTER).max(1) as usize;
    let next = if satisfied {
        Next::Finish
    } else if definition.sequential && (loop_counter as i64) < counter(ctx, body_key, INSTANCES) {
        let mut items = input_collection(ctx, body_key, &definition.input_collection)?;
        if loop_counter >= items.len() {
            return Err(Failure::extract_value(format!(
                "Expected the input collection '{}' to still have an item {}, but it has {} items",
                definition.input_collection.source(),
                loop_counter + 1,
                items.len()
            )));
        }
        counters.insert(ACTIVE.to_string(), 1.into());
        Next::Activate { loop_counter: loop_counter + 1, item: items.swap_remove(loop_counter) }
    } else {
        Next::Continue
    };
    if let (Some(name), Some(output)) = (&definition.output_collection, output)
        && let Some(Value::Array(mut collected)) = ctx.state.variable(body_key, name).map(|v| v.value.clone())
    {
        if let Some(slot) = collected.get_mut(loop_counter - 1) {
            *slot = output;
        }
        variables::set_variable(ctx, src, &body.value, body_key, name, Value::Array(collected));
    }
    variables::merge_local(ctx, src, &body.value, body_key, counters);
    Ok(next)
}

/// After an inner instance's `ELEMENT_COMPLETED`.
pub(crate) fn inner_completed(ctx: &mut Ctx, src: &Record, inner: &Instance, next: Next) {
    let body_key = inner.value.flow_scope_key;
    let Some(body) = Instance::load(ctx.state, body_key) else {
        return;
    };
    match next {
        Next::Activate { loop_counter, item } => {
            if let Ok(definition) = definition(&body) {
                activate_inner(ctx, src, &body, definition, loop_counter, item);
            }
        }
        Next::Finish => {
            if behavior::terminate_children(ctx, src, body_key) == 0 {
                behavior::after_child_finished(ctx, src, body_key);
            }
        }
        Next::Continue => behavior::after_child_finished(ctx, src, body_key),
    }
}
