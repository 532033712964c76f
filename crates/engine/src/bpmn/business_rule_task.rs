//! Business rule task: a DMN decision evaluated by the engine into `resultVariable`; or, with
//! `zeebe:taskDefinition`, a job like a service task.

use baton_model::Text;

use super::ElementBehavior;
use super::job_task::JobTask;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::variables::{self, ScopeView};
use crate::engine::Ctx;
use crate::processors::decision;
use crate::record::*;

pub(crate) struct BusinessRuleTask;

impl ElementBehavior for BusinessRuleTask {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let Some(called) = &inst.element().called_decision else {
            return JobTask::on_activate(ctx, src, inst);
        };
        let decision_id = match &called.decision_id {
            Text::Static(id) => id.clone(),
            Text::Expression(expression) => variables::evaluate_string(ctx.state, inst.key, expression, ctx.now)
                .map_err(Failure::decision_evaluation)?,
        };
        // Zeebe resolves the latest version when the task activates, so a decision deployed while
        // an incident waits is found on retry.
        let Some(deployed) = ctx.state.latest_decision(&decision_id).cloned() else {
            return Err(Failure::decision_evaluation(format!(
                "Expected to evaluate decision '{decision_id}', but no decision found for id '{decision_id}'"
            )));
        };
        let base = DecisionEvaluationRecord {
            bpmn_process_id: inst.value.bpmn_process_id.to_string(),
            process_definition_key: inst.value.process_definition_key,
            process_instance_key: inst.value.process_instance_key,
            element_id: inst.value.element_id.to_string(),
            element_instance_key: inst.key,
            ..DecisionEvaluationRecord::request(&decision_id, deployed.decision_key, Document::new())
        };
        let scope = ScopeView { state: ctx.state, scope_key: inst.key };
        let (record, result) = decision::evaluate(ctx.state, &deployed, &scope, ctx.now, base);
        let key = ctx.next_key();
        let intent = if result.is_ok() { Intent::Evaluated } else { Intent::Failed };
        ctx.event(src, key, intent, RecordValue::DecisionEvaluation(Box::new(record)));
        let output = result.map_err(Failure::decision_evaluation)?;
        behavior::transition_to_activated(ctx, src, inst);
        let mut document = Document::new();
        document.insert(called.result_variable.clone(), output);
        variables::apply_result(ctx, src, inst, document);
        behavior::complete_element(ctx, src, inst);
        Ok(())
    }

    fn on_terminate(ctx: &mut Ctx, src: &Record, inst: &Instance) {
        JobTask::on_terminate(ctx, src, inst);
    }
}
