//! Link events: a link throw event completes and its scope continues at the link catch event of
//! the same name — a sequence flow drawn as a pair of events. The catch event has no incoming
//! flows; it passes straight through to its outgoing ones.

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::*;

pub(crate) struct LinkThrowEvent;

impl ElementBehavior for LinkThrowEvent {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let Some(target) = inst.graph.link_catch(inst.idx) else {
            return Err(Failure::unknown(format!(
                "Expected link throw event '{}' to have a link catch event of the same name in its scope, \
                 but there is none",
                inst.value.element_id
            )));
        };
        behavior::transition_to_activated(ctx, src, inst);
        // Activated before the throw event completes, so the scope never looks finished between
        // the two.
        let key = ctx.next_key();
        let value = inst.value_for(target, inst.value.flow_scope_key);
        ctx.command(src, key, Intent::ActivateElement, RecordValue::ProcessInstance(value));
        behavior::complete_element(ctx, src, inst);
        Ok(())
    }
}

pub(crate) struct LinkCatchEvent;

impl ElementBehavior for LinkCatchEvent {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        behavior::transition_to_activated(ctx, src, inst);
        behavior::complete_element(ctx, src, inst);
        Ok(())
    }
}
