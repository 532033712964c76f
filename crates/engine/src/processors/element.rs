//! Element instance commands: activate, complete, terminate, and cancelling a process instance.
//! Each is checked against the lifecycle table before anything is written.

use crate::bpmn;
use baton_model::ElementKind;

use crate::bpmn::behavior::{self, Instance};
use crate::bpmn::variables;
use crate::bpmn::{ad_hoc, compensation, events, listeners, messages, multi_instance, signals, start_events, timers};
use crate::engine::Ctx;
use crate::record::*;
use crate::state::LifecycleState;

fn reject_state(ctx: &mut Ctx, command: &Record, action: &str, state: Option<LifecycleState>) {
    let reason = match state {
        Some(state) => {
            format!("Expected to {action} element instance with key '{}', but it is in state {state:?}", command.key)
        }
        None => format!(
            "Expected to {action} element instance with key '{}', but no such element instance was found",
            command.key
        ),
    };
    let rejection_type = if state.is_some() { RejectionType::InvalidState } else { RejectionType::NotFound };
    ctx.reject(command, rejection_type, reason);
}

pub(crate) fn activate(ctx: &mut Ctx, command: &Record) {
    let RecordValue::ProcessInstance(value) = &command.value else {
        return;
    };
    if let Some(scope) = ctx.state.element_instances.get(&value.flow_scope_key)
        && scope.state != LifecycleState::Activated
    {
        // The scope is being terminated or completed: the token dies here.
        let state = scope.state;
        return ctx.reject(
            command,
            RejectionType::InvalidState,
            format!(
                "Expected flow scope '{}' of element '{}' to be activated, but it is in state {state:?}",
                value.flow_scope_key, value.element_id
            ),
        );
    }
    if ctx.state.element_instances.contains_key(&command.key) {
        return reject_state(ctx, command, "activate", ctx.state.element_instances.get(&command.key).map(|e| e.state));
    }
    ctx.event(command, command.key, Intent::ElementActivating, command.value.clone());
    if let Some(inst) = Instance::load(ctx.state, command.key) {
        continue_activation(ctx, command, &inst);
    }
}

/// The part of activation that can fail; re-run when its incident is resolved.
pub(crate) fn continue_activation(ctx: &mut Ctx, src: &Record, inst: &Instance) {
    if inst.kind() == ElementKind::IntermediateCatchEvent
        && let Some(trigger) = ctx.state.start_triggers.get(&inst.key).cloned()
    {
        // Chosen by an event-based gateway: what it waited for has happened already.
        behavior::transition_to_activated(ctx, src, inst);
        let event = events::process_event(inst, trigger.element_id.clone(), trigger.variables.clone());
        ctx.event(src, trigger.key, Intent::Triggered, RecordValue::ProcessEvent(event));
        variables::apply_result(ctx, src, inst, trigger.variables);
        behavior::complete_element(ctx, src, inst);
        return;
    }
    // A multi-instance body maps nothing itself: its inner instances apply the mappings.
    // Neither does the scope an ad-hoc subprocess opens for one of its elements.
    let inputs = if inst.is_multi_instance_body() || inst.is_ad_hoc_inner() {
        Ok(())
    } else {
        variables::apply_inputs(ctx, src, inst)
    };
    match inputs {
        Ok(()) => after_inputs(ctx, src, inst),
        Err(failure) => behavior::raise_incident(ctx, src, inst, failure, -1),
    }
}

/// Activation after the input mappings: the start listeners one by one (this runs again as each
/// completes), then the element's own behaviour.
pub(crate) fn after_inputs(ctx: &mut Ctx, src: &Record, inst: &Instance) {
    if inst.is_ad_hoc_inner() {
        if let Err(failure) = bpmn::on_activate(ctx, src, inst) {
            behavior::raise_incident(ctx, src, inst, failure, -1);
        }
        return;
    }
    let result = listeners::next(ctx, src, inst, ListenerEventType::Start).and_then(|waiting| {
        if waiting {
            return Ok(false);
        }
        messages::open_subscriptions(ctx, src, inst)
            .and_then(|()| signals::open_subscriptions(ctx, src, inst))
            .and_then(|()| timers::open_timers(ctx, src, inst))
            .and_then(|()| bpmn::on_activate(ctx, src, inst))
            .map(|()| true)
    });
    match result {
        Ok(true) => messages::correlate_buffered(ctx, src, inst),
        Ok(false) => {}
        Err(failure) => behavior::raise_incident(ctx, src, inst, failure, -1),
    }
}

pub(crate) fn complete(ctx: &mut Ctx, command: &Record) {
    let state = ctx.state.element_instances.get(&command.key).map(|e| e.state);
    if !state.is_some_and(|s| s.can_transition_to(LifecycleState::Completing)) {
        return reject_state(ctx, command, "complete", state);
    }
    let Some(inst) = Instance::load(ctx.state, command.key) else {
        return;
    };
    behavior::transition(ctx, command, &inst, Intent::ElementCompleting);
    continue_completion(ctx, command, &inst);
}

/// The part of completion that can fail; re-run when its incident is resolved.
pub(crate) fn continue_completion(ctx: &mut Ctx, src: &Record, inst: &Instance) {
    let outputs = if inst.is_multi_instance_body() || inst.is_ad_hoc_inner() {
        Ok(())
    } else {
        variables::apply_outputs(ctx, src, inst)
    };
    match outputs {
        Ok(()) => after_outputs(ctx, src, inst),
        Err(failure) => behavior::raise_incident(ctx, src, inst, failure, -1),
    }
}

/// Completion after the output mappings: the end listeners one by one (this runs again as each
/// completes), then the element completes and leaves.
pub(crate) fn after_outputs(ctx: &mut Ctx, src: &Record, inst: &Instance) {
    if inst.is_ad_hoc_inner() {
        return complete_ad_hoc_inner(ctx, src, inst);
    }
    match listeners::next(ctx, src, inst, ListenerEventType::End) {
        Ok(false) => {}
        Ok(true) => return,
        Err(failure) => return behavior::raise_incident(ctx, src, inst, failure, -1),
    }
    let result = bpmn::on_complete(ctx, src, inst).and_then(|()| {
        if inst.is_multi_instance_inner() {
            // The body takes the outgoing flows once its inner instances are done.
            multi_instance::inner_completing(ctx, src, inst).map(|next| (Vec::new(), Some(next)))
        } else {
            behavior::select_outgoing(ctx, inst).map(|flows| (flows, None))
        }
    });
    match result {
        Ok((flows, inner_next)) => {
            events::close_catches(ctx, src, inst.key);
            let start_key = start_events::start_key(ctx, inst);
            behavior::transition(ctx, src, inst, Intent::ElementCompleted);
            compensation::completed(ctx, src, inst);
            compensation::handler_completed(ctx, src, inst.key);
            match inner_next {
                Some(next) => multi_instance::inner_completed(ctx, src, inst, next),
                None => behavior::after_completed(ctx, src, inst, &flows),
            }
            if let Some(start_key) = start_key {
                start_events::instance_ended(ctx, src, &start_key);
            }
        }
        Err(failure) => behavior::raise_incident(ctx, src, inst, failure, -1),
    }
}

/// An ad-hoc subprocess's inner flow is done: the subprocess decides what comes next; the
/// subprocess, not this scope, takes the outgoing flows and compensates.
fn complete_ad_hoc_inner(ctx: &mut Ctx, src: &Record, inst: &Instance) {
    match ad_hoc::inner_completing(ctx, src, inst) {
        Ok(next) => {
            events::close_catches(ctx, src, inst.key);
            behavior::transition(ctx, src, inst, Intent::ElementCompleted);
            ad_hoc::inner_completed(ctx, src, inst, next);
        }
        Err(failure) => behavior::raise_incident(ctx, src, inst, failure, -1),
    }
}

pub(crate) fn terminate(ctx: &mut Ctx, command: &Record) {
    let state = ctx.state.element_instances.get(&command.key).map(|e| e.state);
    if !state.is_some_and(|s| s.can_transition_to(LifecycleState::Terminating)) {
        return reject_state(ctx, command, "terminate", state);
    }
    start_termination(ctx, command, command.key);
}

/// `ELEMENT_TERMINATING`, release what the element holds, then terminate its children first.
fn start_termination(ctx: &mut Ctx, src: &Record, key: i64) -> Option<usize> {
    let inst = Instance::load(ctx.state, key)?;
    let index = behavior::transition(ctx, src, &inst, Intent::ElementTerminating);
    bpmn::on_terminate(ctx, src, &inst);
    listeners::cancel_job(ctx, src, key);
    events::close_catches(ctx, src, key);
    behavior::resolve_incidents_of(ctx, src, key);
    if behavior::terminate_children(ctx, src, key) == 0 {
        behavior::finish_termination(ctx, src, key);
    }
    Some(index)
}

pub(crate) fn cancel(ctx: &mut Ctx, command: &Record) {
    let found = ctx.state.element_instances.get(&command.key).map(|e| (e.state, e.value.flow_scope_key));
    match found {
        Some((_, -1))
            if ctx
                .state
                .element_instances
                .get(&command.key)
                .is_some_and(|e| e.value.parent_element_instance_key >= 0) =>
        {
            ctx.reject(
                command,
                RejectionType::InvalidState,
                format!(
                    "Expected to cancel a process instance with key '{}', but it was created by a call activity \
                     of a parent process instance; cancel the root process instance instead",
                    command.key
                ),
            )
        }
        Some((state, -1)) if state.can_transition_to(LifecycleState::Terminating) => {
            if let Some(index) = start_termination(ctx, command, command.key) {
                ctx.respond(command, index);
            }
        }
        Some((_, -1)) | None | Some(_) => ctx.reject(
            command,
            RejectionType::NotFound,
            format!("Expected to cancel a process instance with key '{}', but no such process was found", command.key),
        ),
    }
}
