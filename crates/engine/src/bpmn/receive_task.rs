//! Receive task: waits for a message. Its subscription is opened and closed around it by the
//! element processor (`bpmn/messages.rs`); a correlated message completes it with the message's
//! variables (propagated outwards, or local when output mappings pick from them).

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::Record;

pub(crate) struct ReceiveTask;

impl ElementBehavior for ReceiveTask {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        behavior::transition_to_activated(ctx, src, inst);
        Ok(())
    }
}
