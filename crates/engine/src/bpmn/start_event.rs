//! None start event: passes straight through.

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::Record;

pub(crate) struct StartEvent;

impl ElementBehavior for StartEvent {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        behavior::transition_to_activated(ctx, src, inst);
        behavior::complete_element(ctx, src, inst);
        Ok(())
    }
}
