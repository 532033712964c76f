//! None and terminate end events. A terminate end event ends its scope: the other element
//! instances of the scope are terminated, then the scope completes.

use baton_model::ElementKind;

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::Record;

pub(crate) struct EndEvent;

impl ElementBehavior for EndEvent {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        behavior::transition_to_activated(ctx, src, inst);
        behavior::complete_element(ctx, src, inst);
        Ok(())
    }

    fn on_completed(ctx: &mut Ctx, src: &Record, inst: &Instance) {
        if inst.element().kind != ElementKind::TerminateEndEvent {
            return;
        }
        behavior::terminate_children(ctx, src, inst.value.flow_scope_key);
    }
}
