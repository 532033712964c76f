//! DMN decisions: deployment (records, versions, atomic refusal), business rule tasks that call a
//! decision, and evaluation on request.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

const SHIPPING: &str = include_str!("fixtures/shipping.dmn");

fn rule_task(model: Bpmn, id: &str, decision_id: &str, result: &str, extra: &str) -> Bpmn {
    let inner = format!(
        r#"<bpmn:extensionElements><zeebe:calledDecision decisionId="{decision_id}" resultVariable="{result}"/>{extra}</bpmn:extensionElements>"#
    );
    model.element("businessRuleTask", id, "", &inner)
}

fn shipping_process() -> Bpmn {
    let model = Bpmn::process("ship").start("start");
    let model = rule_task(model, "cost", "shippingCost", "shipping", "");
    let model = rule_task(model, "extras", "=&quot;surcharges&quot;", "extras", "");
    model.end("end").chain(&["start", "cost", "extras", "end"])
}

fn evaluate(t: &mut TestEngine, decision_id: &str, key: i64, variables: serde_json::Value) -> Record {
    let serde_json::Value::Object(variables) = variables else { panic!("variables must be an object") };
    let value = DecisionEvaluationRecord::request(decision_id, key, variables);
    t.send(Command::new(Intent::Evaluate, -1, RecordValue::DecisionEvaluation(Box::new(value))))
}

#[test]
fn deploying_a_dmn_writes_the_drg_and_its_decisions() {
    let mut t = TestEngine::new();
    t.mark();
    let response = t.deploy_named("shipping.dmn", SHIPPING);
    assert_eq!(response.rejection, None);
    expect![[r#"
        C DEPLOYMENT CREATE
        E DECISION_REQUIREMENTS CREATED shipping:1
        E DECISION CREATED customerTier:1 in shipping
        E DECISION CREATED shippingCost:1 in shipping
        E DECISION CREATED surcharges:1 in shipping
        E DECISION CREATED totalSurcharge:1 in shipping
        E DECISION CREATED greeting:1 in shipping
        E DEPLOYMENT CREATED decisions [customerTier:1, shippingCost:1, surcharges:1, totalSurcharge:1, greeting:1]
    "#]]
    .assert_eq(&t.rendered());
    let RecordValue::Deployment(deployment) = &response.value else { panic!("a deployment") };
    let drg = &deployment.decision_requirements[0];
    assert_eq!(
        (drg.decision_requirements_id.as_str(), drg.decision_requirements_name.as_str(), drg.version, drg.duplicate),
        ("shipping", "Shipping", 1, false)
    );
    assert!(deployment.decisions.iter().all(|d| d.decision_requirements_key == drg.decision_requirements_key));

    // Identical again: the same versions, nothing new.
    t.mark();
    let again = t.deploy_named("shipping.dmn", SHIPPING);
    let RecordValue::Deployment(again) = &again.value else { panic!("a deployment") };
    assert!(again.decision_requirements[0].duplicate);
    assert_eq!(again.decision_requirements[0].decision_requirements_key, drg.decision_requirements_key);
    assert_eq!(again.decisions.len(), 5);
    expect![[r#"
        C DEPLOYMENT CREATE
        E DEPLOYMENT CREATED decisions [customerTier:1, shippingCost:1, surcharges:1, totalSurcharge:1, greeting:1]
    "#]]
    .assert_eq(&t.rendered());

    // Changed: a new version of the DRG and of every decision.
    let changed = SHIPPING.replace("\"express\"", "\"overnight\"");
    let response = t.deploy_named("shipping.dmn", &changed);
    let RecordValue::Deployment(changed) = &response.value else { panic!("a deployment") };
    assert_eq!(changed.decision_requirements[0].version, 2);
    assert!(changed.decisions.iter().all(|d| d.version == 2 && !d.duplicate));
}

#[test]
fn a_business_rule_task_writes_the_decision_result() {
    let mut t = TestEngine::new();
    assert_eq!(t.deploy_named("shipping.dmn", SHIPPING).rejection, None);
    t.deploy_ok(&shipping_process());
    t.mark();
    let pi = t.create("ship", json!({"customer": {"orders": 4}, "weight": 7, "express": true, "country": "FR"}));
    assert!(t.is_completed(pi));
    let vars = t.final_variables(pi);
    assert_eq!(vars["shipping"], json!({"carrier": "freight", "cost": 14}));
    assert_eq!(vars["extras"], json!([10, 15]));
    let rendered = t.rendered();
    let evaluations: Vec<&str> = rendered.lines().filter(|l| l.contains("DECISION_EVALUATION")).collect();
    expect![[r#"
        [
            "E DECISION_EVALUATION EVALUATED shippingCost {\"carrier\":\"freight\",\"cost\":14}",
            "E DECISION_EVALUATION EVALUATED surcharges [10,15]",
        ]
    "#]]
    .assert_debug_eq(&evaluations);
    let cost_task: Vec<&str> =
        rendered.lines().filter(|l| l.ends_with(" cost") || l.contains("EVALUATED shippingCost")).collect();
    expect![[r#"
        [
            "C PROCESS_INSTANCE ACTIVATE_ELEMENT BUSINESS_RULE_TASK cost",
            "E PROCESS_INSTANCE ELEMENT_ACTIVATING BUSINESS_RULE_TASK cost",
            "E DECISION_EVALUATION EVALUATED shippingCost {\"carrier\":\"freight\",\"cost\":14}",
            "E PROCESS_INSTANCE ELEMENT_ACTIVATED BUSINESS_RULE_TASK cost",
            "C PROCESS_INSTANCE COMPLETE_ELEMENT BUSINESS_RULE_TASK cost",
            "E PROCESS_INSTANCE ELEMENT_COMPLETING BUSINESS_RULE_TASK cost",
            "E PROCESS_INSTANCE ELEMENT_COMPLETED BUSINESS_RULE_TASK cost",
        ]
    "#]]
    .assert_debug_eq(&cost_task);

    let evaluation = t
        .log
        .iter()
        .find_map(|r| match &r.value {
            RecordValue::DecisionEvaluation(e) if e.decision_id == "shippingCost" => Some(e.clone()),
            _ => None,
        })
        .expect("an evaluation record");
    assert_eq!(evaluation.process_instance_key, pi);
    assert_eq!(evaluation.element_id, "cost");
    assert_eq!(evaluation.decision_version, 1);
    let evaluated: Vec<_> = evaluation
        .evaluated_decisions
        .iter()
        .map(|d| (d.decision_id.as_str(), d.decision_type.as_str(), d.decision_output.as_str(), d.decision_version))
        .collect();
    assert_eq!(
        evaluated,
        vec![
            ("customerTier", "DECISION_TABLE", "\"silver\"", 1),
            ("shippingCost", "DECISION_TABLE", "{\"carrier\":\"freight\",\"cost\":14}", 1)
        ]
    );
    // The tier table's hit policy is FIRST: "silver" and the catch-all "bronze" both match, and
    // only the first decides.
    let tier = &evaluation.evaluated_decisions[0];
    let inputs: Vec<_> = tier.evaluated_inputs.iter().map(|i| (&*i.id, &*i.name, &*i.value)).collect();
    assert_eq!(inputs, vec![("Input_orders", "Orders last year", "4")]);
    let rules: Vec<_> = tier
        .matched_rules
        .iter()
        .map(|r| {
            let outputs: Vec<_> = r.evaluated_outputs.iter().map(|o| (&*o.id, &*o.name, &*o.value)).collect();
            (&*r.rule_id, r.rule_index, outputs)
        })
        .collect();
    assert_eq!(rules, vec![("DecisionRule_silver", 2, vec![("Output_tier", "tier", "\"silver\"")])]);
    let cost = &evaluation.evaluated_decisions[1];
    let names: Vec<_> = cost.evaluated_inputs.iter().map(|i| (&*i.name, &*i.value)).collect();
    assert_eq!(names, vec![("Tier", "\"silver\""), ("Weight", "7")]);
    assert_eq!(cost.matched_rules.len(), 1, "{:?}", cost.matched_rules);
    let outputs: Vec<_> = cost.matched_rules[0].evaluated_outputs.iter().map(|o| (&*o.name, &*o.value)).collect();
    assert_eq!(outputs, vec![("carrier", "\"freight\""), ("cost", "14")]);
}

#[test]
fn with_output_mappings_the_result_stays_local() {
    let mut t = TestEngine::new();
    t.deploy_named("shipping.dmn", SHIPPING);
    let model = Bpmn::process("p").start("start");
    let mapping = r#"<zeebe:ioMapping><zeebe:output source="=tier" target="level"/></zeebe:ioMapping>"#;
    let model = rule_task(model, "tier", "customerTier", "tier", mapping).end("end").chain(&["start", "tier", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({"customer": {"orders": 20}}));
    assert!(t.is_completed(pi));
    let vars = t.final_variables(pi);
    assert_eq!(vars["level"], json!("gold"));
    assert_eq!(vars.get("tier"), None, "{vars}");
}

#[test]
fn a_missing_decision_raises_an_incident_that_a_deployment_and_a_resolve_fix() {
    let mut t = TestEngine::new();
    t.deploy_ok(&shipping_process());
    let pi = t.create("ship", json!({"customer": {"orders": 12}, "weight": 1, "express": false, "country": "DE"}));
    let incidents = t.incident_keys();
    assert_eq!(incidents.len(), 1);
    let incident = &t.engine.state().incidents[&incidents[0]];
    assert_eq!(incident.error_type, ErrorType::DecisionEvaluationError);
    assert_eq!(incident.error_type.as_str(), "DECISION_EVALUATION_ERROR");
    assert_eq!(&*incident.element_id, "cost");
    assert!(incident.error_message.contains("'shippingCost'"), "{}", incident.error_message);

    assert_eq!(t.deploy_named("shipping.dmn", SHIPPING).rejection, None);
    assert_eq!(t.resolve(incidents[0]).rejection, None);
    assert!(t.is_completed(pi));
    let vars = t.final_variables(pi);
    assert_eq!(vars["shipping"], json!({"carrier": "express", "cost": 0}));
    assert_eq!(vars["extras"], json!(null));
}

#[test]
fn an_evaluation_failure_raises_an_incident_naming_the_failed_decision() {
    let mut t = TestEngine::new();
    let unique = SHIPPING.replace(r#"hitPolicy="FIRST""#, r#"hitPolicy="UNIQUE""#);
    t.deploy_named("shipping.dmn", &unique);
    t.deploy_ok(&shipping_process());
    t.mark();
    let pi = t.create("ship", json!({"customer": {"orders": 12}, "weight": 1}));
    let incidents = t.incident_keys();
    assert_eq!(incidents.len(), 1);
    let incident = t.engine.state().incidents[&incidents[0]].clone();
    assert_eq!(incident.error_type, ErrorType::DecisionEvaluationError);
    expect![[r#"
        "Expected to evaluate decision 'shippingCost', but failed to evaluate decision 'customerTier': several rules matched, but the hit policy UNIQUE allows only one"
    "#]]
    .assert_debug_eq(&incident.error_message);
    assert!(t.rendered().contains("E DECISION_EVALUATION FAILED shippingCost failed customerTier"));

    // Fewer orders: only the catch-all rule matches.
    t.set_variables(pi, json!({"customer": {"orders": 0}, "express": false, "country": "DE"}), false);
    t.resolve(incidents[0]);
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["shipping"], json!({"carrier": "parcel", "cost": 4.5}));
}

#[test]
fn a_broken_dmn_rejects_the_whole_deployment() {
    let mut t = TestEngine::new();
    let broken = SHIPPING.replace("<text>weight * 2</text>", "<text>weight * </text>");
    let value = DeploymentRecord {
        resources: vec![
            Resource { name: "ship.bpmn".into(), content: shipping_process().xml().into_bytes() },
            Resource { name: "shipping.dmn".into(), content: broken.into_bytes() },
        ],
        ..DeploymentRecord::default()
    };
    t.mark();
    let response = t.send(Command::new(Intent::Create, -1, RecordValue::Deployment(Box::new(value))));
    let rejection = response.rejection.expect("rejected");
    assert_eq!(rejection.rejection_type, RejectionType::InvalidArgument);
    assert!(rejection.reason.contains("'shipping.dmn'"), "{}", rejection.reason);
    assert!(rejection.reason.contains("decision 'shippingCost'"), "{}", rejection.reason);
    assert!(t.engine.state().processes.is_empty());
    assert!(t.engine.state().decisions.is_empty());
}

#[test]
fn bpmn_and_dmn_deploy_together_and_distribute_with_the_same_keys() {
    let mut t = TestEngine::new();
    let value = DeploymentRecord {
        resources: vec![
            Resource { name: "ship.bpmn".into(), content: shipping_process().xml().into_bytes() },
            Resource { name: "shipping.dmn".into(), content: SHIPPING.as_bytes().to_vec() },
        ],
        ..DeploymentRecord::default()
    };
    let response = t.send(Command::new(Intent::Create, -1, RecordValue::Deployment(Box::new(value))));
    assert_eq!(response.rejection, None);
    let RecordValue::Deployment(deployment) = response.value.clone() else { panic!("a deployment") };
    assert_eq!(deployment.processes.len(), 1);
    assert_eq!(deployment.decisions.len(), 5);

    // Another partition receives the accepted deployment and keeps its keys and versions.
    let mut other = Engine::new(2);
    let output =
        other.process(Command::new(Intent::Create, response.key, RecordValue::Deployment(deployment.clone())), 1);
    assert!(output.records.iter().all(|r| r.rejection.is_none()));
    let state = other.state();
    assert_eq!(state.decision_requirements.len(), 1);
    for decision in &deployment.decisions {
        assert_eq!(state.decisions.get(&decision.decision_key), Some(decision));
    }
    assert_eq!(state.latest_decision("greeting").map(|d| d.version), Some(1));
}

#[test]
fn decisions_are_evaluated_on_request() {
    let mut t = TestEngine::new();
    t.deploy_named("shipping.dmn", SHIPPING);
    let response = evaluate(&mut t, "greeting", -1, json!({"customer": {"orders": 3, "name": "Ada"}}));
    assert_eq!(response.intent, Intent::Evaluated);
    let RecordValue::DecisionEvaluation(result) = &response.value else { panic!("an evaluation") };
    assert_eq!(result.decision_output, r#""Dear silver customer Ada""#);
    assert_eq!(result.decision_name, "Greeting");
    assert_eq!(result.decision_requirements_id, "shipping");
    assert_eq!(result.evaluated_decisions.len(), 2);

    let by_key = evaluate(&mut t, "", result.decision_key, json!({"customer": {"orders": 0, "name": "Bo"}}));
    let RecordValue::DecisionEvaluation(by_key) = &by_key.value else { panic!("an evaluation") };
    assert_eq!(by_key.decision_output, r#""Dear bronze customer Bo""#);

    let total = evaluate(&mut t, "totalSurcharge", -1, json!({"express": true, "country": "US"}));
    let RecordValue::DecisionEvaluation(total) = &total.value else { panic!("an evaluation") };
    assert_eq!(total.decision_output, "25");

    let missing = evaluate(&mut t, "nope", -1, json!({}));
    let rejection = missing.rejection.expect("rejected");
    assert_eq!(rejection.rejection_type, RejectionType::NotFound);
    assert!(rejection.reason.contains("'nope'"), "{}", rejection.reason);

    let unique = SHIPPING.replace(r#"hitPolicy="FIRST""#, r#"hitPolicy="UNIQUE""#);
    t.deploy_named("shipping.dmn", &unique);
    let failed = evaluate(&mut t, "customerTier", -1, json!({"customer": {"orders": 50}}));
    assert_eq!(failed.intent, Intent::Failed);
    let RecordValue::DecisionEvaluation(failed) = &failed.value else { panic!("an evaluation") };
    assert_eq!(failed.failed_decision_id, "customerTier");
    assert_eq!(failed.decision_version, 2);
    assert!(failed.evaluation_failure_message.contains("UNIQUE"));
}
