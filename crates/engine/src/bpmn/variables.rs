//! Variables: scopes, FEEL evaluation against a scope, input/output mappings and Zeebe's
//! propagation rule.

use std::sync::Arc;

use baton_feel::Expression;
use baton_model::{ElementKind, Mapping, Text};

use crate::bpmn::behavior::{Failure, Instance};
use crate::engine::Ctx;
use crate::record::*;
use crate::state::State;

/// The variables visible from a scope: its own, then its ancestors', nearest first.
pub(crate) struct ScopeView<'a> {
    pub state: &'a State,
    pub scope_key: i64,
}

impl baton_feel::Variables for ScopeView<'_> {
    fn get(&self, name: &str) -> Option<&serde_json::Value> {
        let mut scope = self.scope_key;
        loop {
            if let Some(variable) = self.state.variable(scope, name) {
                return Some(&variable.value);
            }
            scope = self.state.parent_scope(scope)?;
        }
    }
}

pub(crate) fn evaluate(
    state: &State,
    scope_key: i64,
    expression: &Expression,
    now_ms: i64,
) -> Result<serde_json::Value, String> {
    expression.evaluate(&ScopeView { state, scope_key }, now_ms).map_err(|e| e.to_string())
}

pub(crate) fn type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "NULL",
        serde_json::Value::Bool(_) => "BOOLEAN",
        serde_json::Value::Number(_) => "NUMBER",
        serde_json::Value::String(_) => "STRING",
        serde_json::Value::Array(_) => "ARRAY",
        serde_json::Value::Object(_) => "OBJECT",
    }
}

pub(crate) fn unexpected(expression: &Expression, expected: &str, value: &serde_json::Value) -> String {
    format!(
        "Expected result of the expression '{}' to be '{expected}', but was '{}'",
        expression.source(),
        type_name(value)
    )
}

pub(crate) fn evaluate_bool(
    state: &State,
    scope_key: i64,
    expression: &Expression,
    now_ms: i64,
) -> Result<bool, String> {
    match evaluate(state, scope_key, expression, now_ms)? {
        serde_json::Value::Bool(b) => Ok(b),
        other => Err(unexpected(expression, "BOOLEAN", &other)),
    }
}

pub(crate) fn evaluate_string(
    state: &State,
    scope_key: i64,
    expression: &Expression,
    now_ms: i64,
) -> Result<String, String> {
    match evaluate(state, scope_key, expression, now_ms)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(unexpected(expression, "STRING", &other)),
    }
}

pub(crate) fn evaluate_i64(state: &State, scope_key: i64, expression: &Expression, now_ms: i64) -> Result<i64, String> {
    let value = evaluate(state, scope_key, expression, now_ms)?;
    match value.as_i64().or_else(|| value.as_f64().map(|f| f as i64)) {
        Some(n) => Ok(n),
        None => Err(unexpected(expression, "NUMBER", &value)),
    }
}

/// Variables visible from `scope_key`, nearest scope winning; `names` empty means all.
pub(crate) fn visible_variables(state: &State, scope_key: i64, names: &[String]) -> Document {
    let mut document = Document::new();
    let mut scope = Some(scope_key);
    while let Some(key) = scope {
        if let Some(variables) = state.variables.get(&key) {
            for (name, variable) in variables {
                if (names.is_empty() || names.iter().any(|n| **n == **name)) && !document.contains_key(&**name) {
                    document.insert(name.to_string(), variable.value.clone());
                }
            }
        }
        scope = state.parent_scope(key);
    }
    document
}

pub(crate) fn local_variables(state: &State, scope_key: i64) -> Document {
    state
        .variables
        .get(&scope_key)
        .map(|vars| vars.iter().map(|(name, v)| (name.to_string(), v.value.clone())).collect())
        .unwrap_or_default()
}

/// Writes one variable into one scope: `CREATED`, `UPDATED`, or nothing when unchanged.
pub(crate) fn set_variable(
    ctx: &mut Ctx,
    src: &Record,
    owner: &ProcessInstanceRecord,
    scope_key: i64,
    name: &str,
    value: serde_json::Value,
) {
    let existing = ctx
        .state
        .variables
        .get(&scope_key)
        .and_then(|scope| scope.get_key_value(name))
        .map(|(name, v)| (v.key, v.value == value, name.clone()));
    let (key, intent, name) = match existing {
        Some((_, true, _)) => return,
        // The name as stored already, so an update allocates no new one.
        Some((key, false, name)) => (key, Intent::Updated, name),
        None => (ctx.next_key(), Intent::Created, Arc::from(name)),
    };
    let record = VariableRecord {
        name,
        value,
        scope_key,
        process_instance_key: owner.process_instance_key,
        process_definition_key: owner.process_definition_key,
        bpmn_process_id: owner.bpmn_process_id.clone(),
    };
    ctx.event(src, key, intent, RecordValue::Variable(record));
}

pub(crate) fn merge_local(
    ctx: &mut Ctx,
    src: &Record,
    owner: &ProcessInstanceRecord,
    scope_key: i64,
    document: Document,
) {
    for (name, value) in document {
        set_variable(ctx, src, owner, scope_key, &name, value);
    }
}

/// Zeebe's rule: each variable goes to the nearest scope (from `scope_key` outwards) that already
/// holds it, else to the process instance.
pub(crate) fn merge_propagate(
    ctx: &mut Ctx,
    src: &Record,
    owner: &ProcessInstanceRecord,
    scope_key: i64,
    document: Document,
) {
    for (name, value) in document {
        let mut target = owner.process_instance_key;
        let mut scope = Some(scope_key);
        while let Some(key) = scope {
            let instance = ctx.state.element_instances.get(&key);
            // What an ad-hoc subprocess's inner flow writes stays in that flow (Zeebe's rule).
            let ad_hoc_inner = instance.is_some_and(|e| {
                e.value.bpmn_element_type == BpmnElementType::Element(ElementKind::AdHocSubProcessInnerInstance)
            });
            if ad_hoc_inner || ctx.state.variable(key, &name).is_some() {
                target = key;
                break;
            }
            scope = instance.map(|e| e.value.flow_scope_key).filter(|&parent| parent >= 0);
        }
        set_variable(ctx, src, owner, target, &name, value);
    }
}

/// A completing multi-instance body or ad-hoc subprocess hands its output collection (a local
/// variable) to its flow scope, from where it propagates as usual.
pub(crate) fn hand_out_collection(ctx: &mut Ctx, src: &Record, inst: &Instance, name: &str) {
    let Some(collected) = ctx.state.variable(inst.key, name).map(|v| v.value.clone()) else {
        return;
    };
    let flow_scope = inst.value.flow_scope_key;
    let target = if flow_scope >= 0 { flow_scope } else { inst.key };
    let mut document = Document::new();
    document.insert(name.to_string(), collected);
    merge_propagate(ctx, src, &inst.value, target, document);
}

/// Variables a task produced (job completion, script result): local when output mappings will
/// pick from them, else propagated outwards from the task's scope.
pub(crate) fn apply_result(ctx: &mut Ctx, src: &Record, inst: &Instance, document: Document) {
    if inst.element().outputs.is_empty() {
        merge_propagate(ctx, src, &inst.value, inst.key, document);
    } else {
        merge_local(ctx, src, &inst.value, inst.key, document);
    }
}

/// Catch events: the variables the trigger brought are local to the event instance; without
/// output mappings they go outwards from the event's flow scope (Zeebe's rule).
pub(crate) fn propagate_event_variables(ctx: &mut Ctx, src: &Record, inst: &Instance) {
    if !inst.element().outputs.is_empty() {
        return;
    }
    let document = local_variables(ctx.state, inst.key);
    if document.is_empty() {
        return;
    }
    let flow_scope = inst.value.flow_scope_key;
    let target_scope = if flow_scope >= 0 { flow_scope } else { inst.key };
    merge_propagate(ctx, src, &inst.value, target_scope, document);
}

fn evaluate_mappings(
    ctx: &Ctx,
    inst: &Instance,
    mappings: &[Mapping],
    read_scope: i64,
    target_scope: i64,
) -> Result<Document, Failure> {
    let mut document = Document::new();
    for mapping in mappings {
        let value = match &mapping.source {
            Text::Static(text) => serde_json::Value::String(text.clone()),
            Text::Expression(expression) => {
                evaluate(ctx.state, read_scope, expression, ctx.now).map_err(Failure::io_mapping)?
            }
        };
        let mut path = mapping.target.split('.');
        let root = path.next().unwrap_or_default().to_string();
        let rest: Vec<&str> = path.collect();
        if rest.is_empty() {
            document.insert(root, value);
            continue;
        }
        // A dotted target writes into the object the variable already holds.
        let mut current = match document.remove(&root) {
            Some(current) => current,
            None => {
                use baton_feel::Variables;
                ScopeView { state: ctx.state, scope_key: target_scope }
                    .get(&root)
                    .cloned()
                    .unwrap_or(serde_json::Value::Null)
            }
        };
        set_path(&mut current, &rest, value);
        document.insert(root, current);
    }
    let _ = inst;
    Ok(document)
}

fn set_path(target: &mut serde_json::Value, path: &[&str], value: serde_json::Value) {
    let Some((first, rest)) = path.split_first() else {
        *target = value;
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(Document::new());
    }
    if let serde_json::Value::Object(map) = target {
        let entry = map.entry(first.to_string()).or_insert(serde_json::Value::Null);
        set_path(entry, rest, value);
    }
}

/// Input mappings become local variables of the element.
pub(crate) fn apply_inputs(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
    let inputs = &inst.element().inputs;
    if inputs.is_empty() {
        return Ok(());
    }
    let document = evaluate_mappings(ctx, inst, inputs, inst.key, inst.key)?;
    merge_local(ctx, src, &inst.value, inst.key, document);
    Ok(())
}

/// Output mappings read the element's scope and write outwards from its flow scope.
pub(crate) fn apply_outputs(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
    let outputs = &inst.element().outputs;
    if outputs.is_empty() {
        return Ok(());
    }
    let flow_scope = inst.value.flow_scope_key;
    let target_scope = if flow_scope >= 0 { flow_scope } else { inst.key };
    let document = evaluate_mappings(ctx, inst, outputs, inst.key, target_scope)?;
    merge_propagate(ctx, src, &inst.value, target_scope, document);
    Ok(())
}
