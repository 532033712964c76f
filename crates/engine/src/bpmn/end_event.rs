//! None and terminate end events. A terminate end event ends its scope: the other element
//! instances of the scope are terminated, then the scope completes.

use baton_model::ElementKind;

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::{Intent, Record};

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
        let scope_key = inst.value.flow_scope_key;
        let Some(scope) = ctx.state.element_instances.get(&scope_key) else {
            return;
        };
        let siblings: Vec<(i64, _)> = scope
            .children
            .iter()
            .filter_map(|k| ctx.state.element_instances.get(k))
            .filter(|child| child.state.can_transition_to(crate::state::LifecycleState::Terminating))
            .map(|child| (child.key, child.value.clone()))
            .collect();
        for (key, value) in siblings {
            ctx.command(src, key, Intent::TerminateElement, crate::record::RecordValue::ProcessInstance(value));
        }
    }
}
