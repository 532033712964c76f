//! Decision evaluation: on request (`DECISION_EVALUATION EVALUATE`) and for business rule tasks.

use baton_feel::Variables;
use baton_feel::dmn::{EvaluatedDecision, EvaluatedValue};

use crate::engine::Ctx;
use crate::record::*;
use crate::state::State;

/// Evaluates `decision` against `variables`, filling in what `base` leaves open. The record is
/// the `EVALUATED` or `FAILED` event to write; on failure, the error names the failed decision.
pub(crate) fn evaluate(
    state: &State,
    decision: &DecisionRecord,
    variables: &dyn Variables,
    now_ms: i64,
    base: DecisionEvaluationRecord,
) -> (DecisionEvaluationRecord, Result<serde_json::Value, String>) {
    let mut record = DecisionEvaluationRecord {
        decision_key: decision.decision_key,
        decision_id: decision.decision_id.clone(),
        decision_name: decision.decision_name.clone(),
        decision_version: decision.version,
        decision_requirements_id: decision.decision_requirements_id.clone(),
        decision_requirements_key: decision.decision_requirements_key,
        ..base
    };
    let Some(drg) = state.decision_requirements.get(&decision.decision_requirements_key) else {
        let message = format!(
            "Expected to evaluate decision '{}', but its decision requirements (key {}) are not deployed",
            decision.decision_id, decision.decision_requirements_key
        );
        record.failed_decision_id = decision.decision_id.clone();
        record.evaluation_failure_message = message.clone();
        return (record, Err(message));
    };
    let evaluated_record = |evaluated: &EvaluatedDecision| {
        let deployed = state.decisions.values().find(|d| {
            d.decision_requirements_key == drg.record.metadata.decision_requirements_key
                && d.decision_id == evaluated.decision_id
        });
        EvaluatedDecisionRecord {
            decision_id: evaluated.decision_id.clone(),
            decision_name: evaluated.decision_name.clone(),
            decision_key: deployed.map_or(-1, |d| d.decision_key),
            decision_version: deployed.map_or(-1, |d| d.version),
            decision_type: evaluated.decision_type.to_string(),
            decision_output: evaluated.output.to_string(),
            evaluated_inputs: evaluated.evaluated_inputs.iter().map(value_record).collect(),
            matched_rules: evaluated
                .matched_rules
                .iter()
                .map(|rule| MatchedRuleRecord {
                    rule_id: rule.rule_id.clone(),
                    rule_index: rule.rule_index,
                    evaluated_outputs: rule.evaluated_outputs.iter().map(value_record).collect(),
                })
                .collect(),
        }
    };
    match drg.decisions.evaluate(&decision.decision_id, variables, now_ms) {
        Ok(evaluation) => {
            record.decision_output = evaluation.output.to_string();
            record.evaluated_decisions = evaluation.evaluated.iter().map(evaluated_record).collect();
            (record, Ok(evaluation.output))
        }
        Err(failure) => {
            let message = format!(
                "Expected to evaluate decision '{}', but failed to evaluate decision '{}': {}",
                decision.decision_id, failure.failed_decision_id, failure.message
            );
            record.evaluated_decisions = failure.evaluated.iter().map(evaluated_record).collect();
            record.failed_decision_id = failure.failed_decision_id;
            record.evaluation_failure_message = message.clone();
            (record, Err(message))
        }
    }
}

/// `EVALUATE` from a client: the decision by key, or the latest version of the id; answered with
/// `EVALUATED`, or `FAILED` carrying the failed decision and the message (not a rejection, as in
/// Zeebe).
pub(crate) fn evaluate_command(ctx: &mut Ctx, command: &Record, value: &DecisionEvaluationRecord) {
    let decision = if value.decision_key > 0 {
        ctx.state.decisions.get(&value.decision_key).cloned().ok_or_else(|| {
            format!("Expected to evaluate decision with key '{}', but no such decision was found", value.decision_key)
        })
    } else if value.decision_id.is_empty() {
        return ctx.reject(
            command,
            RejectionType::InvalidArgument,
            "Expected either a decision id or a valid decision key, but none provided".to_string(),
        );
    } else {
        ctx.state.latest_decision(&value.decision_id).cloned().ok_or_else(|| {
            format!(
                "Expected to evaluate decision '{}', but no decision found for id '{}'",
                value.decision_id, value.decision_id
            )
        })
    };
    let decision = match decision {
        Ok(decision) => decision,
        Err(reason) => return ctx.reject(command, RejectionType::NotFound, reason),
    };
    let (record, result) = evaluate(ctx.state, &decision, &value.variables, ctx.now, value.clone());
    let intent = if result.is_ok() { Intent::Evaluated } else { Intent::Failed };
    let key = ctx.next_key();
    let index = ctx.event(command, key, intent, RecordValue::DecisionEvaluation(Box::new(record)));
    ctx.respond(command, index);
}

fn value_record(value: &EvaluatedValue) -> EvaluatedValueRecord {
    EvaluatedValueRecord { id: value.id.clone(), name: value.name.clone(), value: value.value.to_string() }
}
