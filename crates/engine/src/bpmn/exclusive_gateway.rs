//! Exclusive gateway: the first outgoing flow whose condition holds, in model order; else the
//! default flow; else an incident.

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::Record;

pub(crate) struct ExclusiveGateway;

impl ElementBehavior for ExclusiveGateway {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let element = inst.element();
        let flow = if element.outgoing.len() == 1 && inst.graph.flow(element.outgoing[0]).condition.is_none() {
            Some(element.outgoing[0])
        } else {
            let mut chosen = None;
            for &flow in &element.outgoing {
                if Some(flow) == element.default_flow {
                    continue;
                }
                if behavior::flow_condition_holds(ctx, inst, flow)? {
                    chosen = Some(flow);
                    break;
                }
            }
            chosen.or(element.default_flow)
        };
        let flows = match flow {
            Some(flow) => vec![flow],
            None if element.outgoing.is_empty() => Vec::new(),
            None => return Err(Failure::no_flow_taken(inst)),
        };
        behavior::pass_through_gateway(ctx, src, inst, &flows);
        Ok(())
    }
}
