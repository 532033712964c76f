//! Boundary events: activated by their trigger (see `bpmn/events.rs`), they complete at once and
//! take their outgoing flows. The variables of the trigger are local to the event and go
//! outwards unless output mappings pick from them (Zeebe's rule for catch events).

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::variables;
use crate::engine::Ctx;
use crate::record::Record;

pub(crate) struct BoundaryEvent;

impl ElementBehavior for BoundaryEvent {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        behavior::transition_to_activated(ctx, src, inst);
        behavior::complete_element(ctx, src, inst);
        Ok(())
    }

    fn on_complete(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        variables::propagate_event_variables(ctx, src, inst);
        Ok(())
    }
}
