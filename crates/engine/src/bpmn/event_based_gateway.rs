//! Event-based gateway: waits for the first of the catch events its flows lead to. Its
//! subscriptions and timers are those of these events, opened when the gateway activates. The
//! first trigger completes the gateway (closing the others) and takes the flow to that event,
//! which is activated already triggered and completes at once with what it brought.

use baton_model::{ElementIdx, ElementKind};

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::Record;

pub(crate) struct EventBasedGateway;

impl ElementBehavior for EventBasedGateway {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        behavior::transition_to_activated(ctx, src, inst);
        Ok(())
    }
}

/// The catch events an event-based gateway waits for.
pub(crate) fn targets(inst: &Instance) -> Vec<ElementIdx> {
    let element = inst.element();
    if element.kind != ElementKind::EventBasedGateway {
        return Vec::new();
    }
    element.outgoing.iter().map(|&flow| inst.graph.flow(flow).target).collect()
}
