//! Modifying a running process instance (an operator's repair tool): activate elements at any
//! point, with variables (creating the subprocesses around them that are not active), and
//! terminate element instances. Every instruction is checked before
//! anything is written, so a modification applies whole or not at all.

use std::collections::{BTreeMap, BTreeSet};

use baton_model::{ElementIdx, ElementKind, Process};

use crate::bpmn::behavior::Instance;
use crate::bpmn::variables;
use crate::engine::Ctx;
use crate::record::*;
use crate::state::{LifecycleState, State};

/// The element instances of a process instance (the root and all below it).
fn instances_of(state: &State, root: i64) -> BTreeSet<i64> {
    let mut found = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(key) = stack.pop() {
        if !found.insert(key) {
            continue;
        }
        if let Some(instance) = state.element_instances.get(&key) {
            // Called process instances are children too, but they are other process instances.
            stack.extend(
                instance
                    .children
                    .iter()
                    .copied()
                    .filter(|c| state.element_instances.get(c).is_some_and(|i| i.value.process_instance_key == root)),
            );
        }
    }
    found
}

fn is_ancestor(state: &State, ancestor: i64, mut key: i64) -> bool {
    while key >= 0 {
        if key == ancestor {
            return true;
        }
        key = state.element_instances.get(&key).map_or(-1, |i| i.value.flow_scope_key);
    }
    false
}

struct Activation {
    element: ElementIdx,
    target: Target,
    variables: Vec<(VariableScope, Document)>,
}

/// Where an activated element goes.
enum Target {
    /// The active instance of its flow scope.
    Existing(i64),
    /// Its flow scope has no active instance: new instances of the missing scopes (outermost
    /// first) are created below the active instance `anchor`, as in Zeebe.
    Created { anchor: i64, chain: Vec<ElementIdx> },
}

/// The instance a variable instruction writes to.
enum VariableScope {
    Key(i64),
    /// The activated element's own instance.
    Element,
    /// The created scope at this index of the chain.
    Created(usize),
}

pub(crate) fn modify(ctx: &mut Ctx, command: &Record, value: &ProcessInstanceModificationRecord) {
    let key = value.process_instance_key;
    let Some(root) = Instance::load(ctx.state, key).filter(|r| r.value.flow_scope_key < 0 && r.idx == Process::ROOT)
    else {
        return ctx.reject(
            command,
            RejectionType::NotFound,
            format!("Expected to modify a process instance but no process instance found with key '{key}'"),
        );
    };
    let process_id = root.value.bpmn_process_id.clone();
    let graph = root.graph.clone();
    let members = instances_of(ctx.state, key);
    let mut problems = Vec::new();
    let mut activations = Vec::new();
    for instruction in &value.activate_instructions {
        let Some(&idx) = graph.by_id.get(instruction.element_id.as_str()) else {
            problems
                .push(format!("the element '{}' could not be found in process '{process_id}'", instruction.element_id));
            continue;
        };
        let element = graph.element(idx);
        let unsupported = match element.kind {
            ElementKind::Process | ElementKind::BoundaryEvent | ElementKind::EventSubProcess => true,
            ElementKind::StartEvent => element.event.is_some(),
            _ => element.is_for_compensation,
        };
        if unsupported {
            problems.push(format!(
                "the element '{}' is a {} that cannot be activated by a modification",
                element.id,
                element.kind.bpmn_element_type()
            ));
            continue;
        }
        let mut ancestor = element.parent;
        let mut inside = None;
        while let Some(a) = ancestor {
            if graph.element(a).multi_instance.is_some() {
                inside = Some("a multi-instance activity");
            } else if graph.element(a).kind == ElementKind::AdHocSubProcess {
                // Its elements run in inner instances of their own, which a modification cannot open.
                inside = inside.or(Some("an ad-hoc subprocess"));
            }
            ancestor = graph.element(a).parent;
        }
        if let Some(container) = inside {
            problems
                .push(format!("the element '{}' is inside {container}, where activating is not supported", element.id));
            continue;
        }
        let ancestor_key = instruction.ancestor_element_instance_key;
        let active_instances = |idx: ElementIdx| -> Vec<i64> {
            members
                .iter()
                .copied()
                .filter(|k| {
                    ctx.state.element_instances.get(k).is_some_and(|i| {
                        i.element_idx == idx
                            && i.state == LifecycleState::Activated
                            && i.value.bpmn_element_type
                                != BpmnElementType::Element(ElementKind::AdHocSubProcessInnerInstance)
                    })
                })
                .filter(|&k| ancestor_key <= 0 || is_ancestor(ctx.state, ancestor_key, k))
                .collect()
        };
        // Up from the element's flow scope to the first scope with an active instance; the ones
        // passed on the way are created.
        let mut chain = Vec::new();
        let mut scope = element.parent.unwrap_or(Process::ROOT);
        let target = loop {
            match active_instances(scope).as_slice() {
                [one] if chain.is_empty() => break Some(Target::Existing(*one)),
                [one] => {
                    chain.reverse();
                    break Some(Target::Created { anchor: *one, chain: std::mem::take(&mut chain) });
                }
                [] => {
                    let container = graph.element(scope);
                    match container.parent {
                        Some(parent)
                            if matches!(container.kind, ElementKind::SubProcess | ElementKind::EventSubProcess) =>
                        {
                            chain.push(scope);
                            scope = parent;
                        }
                        _ => {
                            problems.push(format!(
                                "the element '{}' needs an active instance of its flow scope '{}'{}, but there is none",
                                element.id,
                                container.id,
                                if ancestor_key > 0 {
                                    format!(" below element instance '{ancestor_key}'")
                                } else {
                                    String::new()
                                }
                            ));
                            break None;
                        }
                    }
                }
                _ => {
                    problems.push(format!(
                        "the element '{}' has more than one active instance of its flow scope '{}'; \
                         name one with ancestorElementInstanceKey",
                        element.id,
                        graph.element(scope).id
                    ));
                    break None;
                }
            }
        };
        let Some(target) = target else { continue };
        let (existing_scope, created) = match &target {
            Target::Existing(key) => (*key, &[][..]),
            Target::Created { anchor, chain } => (*anchor, &chain[..]),
        };
        let mut variables = Vec::new();
        for variable in &instruction.variable_instructions {
            if variable.scope_id.is_empty() {
                variables.push((VariableScope::Key(key), variable.variables.clone()));
            } else if variable.scope_id == instruction.element_id {
                variables.push((VariableScope::Element, variable.variables.clone()));
            } else if let Some(index) = created.iter().position(|&c| *graph.element(c).id == *variable.scope_id) {
                variables.push((VariableScope::Created(index), variable.variables.clone()));
            } else {
                let mut scope = existing_scope;
                let mut found = None;
                while scope >= 0 {
                    let Some(instance) = ctx.state.element_instances.get(&scope) else { break };
                    if *instance.value.element_id == *variable.scope_id {
                        found = Some(scope);
                        break;
                    }
                    scope = instance.value.flow_scope_key;
                }
                match found {
                    Some(scope) => variables.push((VariableScope::Key(scope), variable.variables.clone())),
                    None => problems.push(format!(
                        "the variable scope '{}' is neither the element '{}' nor one of its flow scopes",
                        variable.scope_id, element.id
                    )),
                }
            }
        }
        activations.push(Activation { element: idx, target, variables });
    }
    let mut terminations = Vec::new();
    for &terminate in &value.terminate_instructions {
        let instance = ctx.state.element_instances.get(&terminate).filter(|_| members.contains(&terminate));
        match instance {
            Some(i) if terminate != key && i.state.can_transition_to(LifecycleState::Terminating) => {
                terminations.push((terminate, i.value.clone()));
            }
            _ => problems.push(format!(
                "the element instance '{terminate}' to terminate is not an active element of process instance '{key}'"
            )),
        }
    }
    if !problems.is_empty() {
        return ctx.reject(
            command,
            RejectionType::InvalidArgument,
            format!("Expected to modify process instance '{key}', but {}", problems.join("; ")),
        );
    }
    // Missing scopes are created once per modification, shared by the elements that need them.
    let mut created: BTreeMap<(i64, ElementIdx), i64> = BTreeMap::new();
    let mut new_scopes = Vec::new();
    let mut placed = Vec::with_capacity(activations.len());
    for activation in activations {
        let (flow_scope_key, chain_keys) = match &activation.target {
            Target::Existing(scope) => (*scope, Vec::new()),
            Target::Created { anchor, chain } => {
                let mut parent_key = *anchor;
                let mut keys = Vec::with_capacity(chain.len());
                for &scope in chain {
                    let scope_key = *created.entry((parent_key, scope)).or_insert_with(|| {
                        let scope_key = ctx.next_key();
                        new_scopes.push((scope_key, scope, parent_key));
                        scope_key
                    });
                    keys.push(scope_key);
                    parent_key = scope_key;
                }
                (parent_key, keys)
            }
        };
        placed.push((activation, flow_scope_key, chain_keys));
    }
    let mut event = value.clone();
    event.created_scope_keys = new_scopes.iter().map(|&(scope_key, _, _)| scope_key).collect();
    let index = ctx.event(command, key, Intent::Modified, RecordValue::ProcessInstanceModification(event));
    ctx.respond(command, index);
    for &(scope_key, scope, parent_key) in &new_scopes {
        let record = root.value_for(scope, parent_key);
        ctx.command(command, scope_key, Intent::ActivateElement, RecordValue::ProcessInstance(record));
    }
    for (activation, flow_scope_key, chain_keys) in placed {
        let element_key = ctx.next_key();
        let record = root.value_for(activation.element, flow_scope_key);
        for (scope, document) in activation.variables {
            let scope = match scope {
                VariableScope::Key(scope) => scope,
                VariableScope::Element => element_key,
                VariableScope::Created(index) => chain_keys.get(index).copied().unwrap_or(element_key),
            };
            variables::merge_local(ctx, command, &record, scope, document);
        }
        ctx.command(command, element_key, Intent::ActivateElement, RecordValue::ProcessInstance(record));
    }
    for (terminate, record) in terminations {
        ctx.command(command, terminate, Intent::TerminateElement, RecordValue::ProcessInstance(record));
    }
}
