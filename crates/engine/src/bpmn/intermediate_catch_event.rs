//! Intermediate catch event (message or timer): waits. Its message subscription or timer is
//! opened and closed around it by the element processor (`bpmn/messages.rs`, `bpmn/timers.rs`);
//! a correlated message completes it with the message's variables (propagated outwards, or local
//! when output mappings pick from them); a due timer completes it.

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::Record;

pub(crate) struct IntermediateCatchEvent;

impl ElementBehavior for IntermediateCatchEvent {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        behavior::transition_to_activated(ctx, src, inst);
        Ok(())
    }
}
