//! Inclusive gateway: forks on every outgoing flow whose condition holds (the default flow when
//! none does); as a join it waits for every token that can still arrive.

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::Record;

pub(crate) struct InclusiveGateway;

impl ElementBehavior for InclusiveGateway {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let element = inst.element();
        let mut flows = Vec::new();
        for &flow in &element.outgoing {
            if Some(flow) == element.default_flow {
                continue;
            }
            if inst.graph.flow(flow).condition.is_none() || behavior::flow_condition_holds(ctx, inst, flow)? {
                flows.push(flow);
            }
        }
        if flows.is_empty() {
            match element.default_flow {
                Some(default) => flows.push(default),
                None if element.outgoing.is_empty() => {}
                None => return Err(Failure::no_flow_taken(inst)),
            }
        }
        behavior::pass_through_gateway(ctx, src, inst, &flows);
        Ok(())
    }
}
