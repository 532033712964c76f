//! Start events: pass straight through. One started by a message brings its variables.

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::variables;
use crate::engine::Ctx;
use crate::record::Record;

pub(crate) struct StartEvent;

impl ElementBehavior for StartEvent {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        behavior::transition_to_activated(ctx, src, inst);
        behavior::complete_element(ctx, src, inst);
        Ok(())
    }

    fn on_complete(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        // A message start event's variables go to the process, as a catch event's do.
        if inst.element().event.is_some() {
            variables::propagate_event_variables(ctx, src, inst);
        }
        Ok(())
    }
}
