//! Parallel gateway: forks on every outgoing flow; as a join it is activated only once a token
//! waits on every incoming flow (see `behavior::take_flow`).

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::engine::Ctx;
use crate::record::Record;

pub(crate) struct ParallelGateway;

impl ElementBehavior for ParallelGateway {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let flows = inst.element().outgoing.clone();
        behavior::pass_through_gateway(ctx, src, inst, &flows);
        Ok(())
    }
}
