//! Manual task and undefined task: nothing for the engine to do, so they pass through.

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::Record;

pub(crate) struct Task;

impl ElementBehavior for Task {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        behavior::transition_to_activated(ctx, src, inst);
        behavior::complete_element(ctx, src, inst);
        Ok(())
    }
}
