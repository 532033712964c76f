//! BPMN element kinds, one module each, behind one lifecycle trait; and the shared behaviours
//! they are built from.

pub(crate) mod behavior;
pub(crate) mod variables;

pub(crate) mod events;
pub(crate) mod listeners;
pub(crate) mod messages;
pub(crate) mod signals;
pub(crate) mod start_events;
pub(crate) mod timers;

pub(crate) mod ad_hoc;
mod boundary_event;
mod business_rule_task;
pub(crate) mod call_activity;
pub(crate) mod compensation;
mod container;
mod end_event;
mod error_end_event;
mod escalation_event;
pub(crate) mod event_based_gateway;
mod exclusive_gateway;
mod inclusive_gateway;
mod intermediate_catch_event;
mod intermediate_throw_event;
pub(crate) mod job_task;
mod link_event;
pub(crate) mod multi_instance;
mod parallel_gateway;
mod receive_task;
mod script_task;
mod start_event;
mod task;

use baton_model::ElementKind;

use crate::bpmn::behavior::{Failure, Instance};
use crate::engine::Ctx;
use crate::record::Record;

/// What an element kind does at each step of its lifecycle. Steps that fail return a
/// [`Failure`], which raises an incident and parks the element where it stands.
pub(crate) trait ElementBehavior {
    /// After `ELEMENT_ACTIVATING` and the input mappings.
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure>;

    /// During `ELEMENT_COMPLETING`, after the output mappings, before `ELEMENT_COMPLETED`.
    fn on_complete(_ctx: &mut Ctx, _src: &Record, _inst: &Instance) -> Result<(), Failure> {
        Ok(())
    }

    /// After `ELEMENT_COMPLETED` and the outgoing flows were taken.
    fn on_completed(_ctx: &mut Ctx, _src: &Record, _inst: &Instance) {}

    /// After `ELEMENT_TERMINATING`: release what the element holds (jobs, subscriptions).
    fn on_terminate(_ctx: &mut Ctx, _src: &Record, _inst: &Instance) {}
}

macro_rules! dispatch {
    ($kind:expr, $method:ident($($arg:expr),*)) => {
        match $kind {
            ElementKind::Process | ElementKind::SubProcess | ElementKind::EventSubProcess => container::Container::$method($($arg),*),
            ElementKind::StartEvent => start_event::StartEvent::$method($($arg),*),
            ElementKind::EndEvent | ElementKind::TerminateEndEvent => end_event::EndEvent::$method($($arg),*),
            ElementKind::ErrorEndEvent => error_end_event::ErrorEndEvent::$method($($arg),*),
            ElementKind::EscalationEndEvent | ElementKind::EscalationThrowEvent => {
                escalation_event::EscalationEvent::$method($($arg),*)
            }
            ElementKind::LinkThrowEvent => link_event::LinkThrowEvent::$method($($arg),*),
            ElementKind::LinkCatchEvent => link_event::LinkCatchEvent::$method($($arg),*),
            ElementKind::BoundaryEvent => boundary_event::BoundaryEvent::$method($($arg),*),
            ElementKind::IntermediateCatchEvent => {
                intermediate_catch_event::IntermediateCatchEvent::$method($($arg),*)
            }
            ElementKind::ReceiveTask => receive_task::ReceiveTask::$method($($arg),*),
            ElementKind::IntermediateThrowEvent => {
                intermediate_throw_event::IntermediateThrowEvent::$method($($arg),*)
            }
            ElementKind::ServiceTask
            | ElementKind::SendTask
            | ElementKind::UserTask
            | ElementKind::MessageThrowEvent
            | ElementKind::MessageEndEvent => job_task::JobTask::$method($($arg),*),
            ElementKind::BusinessRuleTask => business_rule_task::BusinessRuleTask::$method($($arg),*),
            ElementKind::ScriptTask => script_task::ScriptTask::$method($($arg),*),
            ElementKind::ManualTask | ElementKind::Task => task::Task::$method($($arg),*),
            ElementKind::ExclusiveGateway => exclusive_gateway::ExclusiveGateway::$method($($arg),*),
            ElementKind::ParallelGateway => parallel_gateway::ParallelGateway::$method($($arg),*),
            ElementKind::InclusiveGateway => inclusive_gateway::InclusiveGateway::$method($($arg),*),
            ElementKind::CallActivity => call_activity::CallActivity::$method($($arg),*),
            ElementKind::EventBasedGateway => event_based_gateway::EventBasedGateway::$method($($arg),*),
            ElementKind::SignalThrowEvent | ElementKind::SignalEndEvent => signals::SignalThrowEvent::$method($($arg),*),
            ElementKind::CompensationThrowEvent | ElementKind::CompensationEndEvent => {
                compensation::CompensationThrowEvent::$method($($arg),*)
            }
            ElementKind::MultiInstanceBody => multi_instance::MultiInstanceBody::$method($($arg),*),
            ElementKind::AdHocSubProcess => ad_hoc::AdHocSubProcess::$method($($arg),*),
            ElementKind::AdHocSubProcessInnerInstance => ad_hoc::InnerInstance::$method($($arg),*),
        }
    };
}

pub(crate) fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
    dispatch!(inst.kind(), on_activate(ctx, src, inst))
}

pub(crate) fn on_complete(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
    dispatch!(inst.kind(), on_complete(ctx, src, inst))
}

pub(crate) fn on_completed(ctx: &mut Ctx, src: &Record, inst: &Instance) {
    dispatch!(inst.kind(), on_completed(ctx, src, inst))
}

pub(crate) fn on_terminate(ctx: &mut Ctx, src: &Record, inst: &Instance) {
    dispatch!(inst.kind(), on_terminate(ctx, src, inst))
}
