//! Script task: a FEEL expression evaluated by the engine into `resultVariable`; or, with
//! `zeebe:taskDefinition`, a job like a service task.

use super::ElementBehavior;
use super::job_task::JobTask;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::variables;
use crate::engine::Ctx;
use crate::record::{Document, Record};

pub(crate) struct ScriptTask;

impl ElementBehavior for ScriptTask {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let Some(script) = &inst.element().script else {
            return JobTask::on_activate(ctx, src, inst);
        };
        let result =
            variables::evaluate(ctx.state, inst.key, &script.expression, ctx.now).map_err(Failure::expression)?;
        behavior::transition_to_activated(ctx, src, inst);
        let mut document = Document::new();
        document.insert(script.result_variable.clone(), result);
        variables::apply_result(ctx, src, inst, document);
        behavior::complete_element(ctx, src, inst);
        Ok(())
    }

    fn on_terminate(ctx: &mut Ctx, src: &Record, inst: &Instance) {
        JobTask::on_terminate(ctx, src, inst);
    }
}
