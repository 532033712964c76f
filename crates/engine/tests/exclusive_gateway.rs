//! Exclusive gateway: conditions in order, the default flow, an incident when nothing matches.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn model() -> Bpmn {
    Bpmn::process("p")
        .start("start")
        .xor("split", Some("to_default"))
        .end("big")
        .end("medium")
        .end("small")
        .flow("start", "split")
        .flow_named("to_big", "split", "big", Some("=amount > 100"))
        .flow_named("to_medium", "split", "medium", Some("=amount > 10"))
        .flow_named("to_default", "split", "small", None)
}

fn end_reached(t: &TestEngine) -> String {
    t.log
        .iter()
        .filter(|r| r.intent == Intent::ElementCompleted)
        .filter_map(|r| match &r.value {
            RecordValue::ProcessInstance(v) if v.bpmn_element_type.as_str() == "END_EVENT" => {
                Some(v.element_id.to_string())
            }
            _ => None,
        })
        .next_back()
        .unwrap_or_default()
}

#[test]
fn the_first_true_condition_in_model_order_wins() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model());
    t.mark();
    let pi = t.create("p", json!({"amount": 500}));
    assert!(t.is_completed(pi));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATING PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATED PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_1
        E PROCESS_INSTANCE ELEMENT_ACTIVATING EXCLUSIVE_GATEWAY split
        E PROCESS_INSTANCE ELEMENT_ACTIVATED EXCLUSIVE_GATEWAY split
        E PROCESS_INSTANCE ELEMENT_COMPLETING EXCLUSIVE_GATEWAY split
        E PROCESS_INSTANCE ELEMENT_COMPLETED EXCLUSIVE_GATEWAY split
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW to_big
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT big
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT big
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT big
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT big
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p"#]]
    .assert_eq(&t.lifecycle());
    t.create("p", json!({"amount": 50}));
    assert_eq!(end_reached(&t), "medium");
}

#[test]
fn the_default_flow_is_taken_when_no_condition_holds() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model());
    let pi = t.create("p", json!({"amount": 1}));
    assert!(t.is_completed(pi));
    assert_eq!(end_reached(&t), "small");
}

#[test]
fn no_matching_flow_and_no_default_raises_an_incident_resolved_after_fixing_variables() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .xor("split", None)
        .end("yes")
        .end("no")
        .flow("start", "split")
        .flow_named("to_yes", "split", "yes", Some("=approved = true"))
        .flow_named("to_no", "split", "no", Some("=approved = false"));
    t.deploy_ok(&model);
    t.mark();
    let pi = t.create("p", json!({"approved": "maybe"}));
    assert!(!t.is_completed(pi));
    let incident = t.incident_keys()[0];
    expect!["Expected result of the expression 'approved = true' to be 'BOOLEAN', but was 'NULL'"]
        .assert_eq(&t.state().incidents[&incident].error_message);
    assert_eq!(t.state().incidents[&incident].error_type, ErrorType::ConditionError);

    t.set_variables(pi, json!({"approved": true}), false);
    t.mark();
    t.resolve(incident);
    assert!(t.is_completed(pi));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATED EXCLUSIVE_GATEWAY split
        E PROCESS_INSTANCE ELEMENT_COMPLETING EXCLUSIVE_GATEWAY split
        E PROCESS_INSTANCE ELEMENT_COMPLETED EXCLUSIVE_GATEWAY split
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW to_yes
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT yes
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT yes
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT yes
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT yes
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p"#]]
    .assert_eq(&t.lifecycle());
}

#[test]
fn a_condition_that_is_not_boolean_raises_an_incident() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .xor("split", Some("other"))
        .end("a")
        .end("b")
        .flow("start", "split")
        .flow_named("first", "split", "a", Some("=count + 1"))
        .flow_named("other", "split", "b", None);
    t.deploy_ok(&model);
    t.create("p", json!({"count": 1}));
    let incident = t.incident_keys()[0];
    let message = &t.state().incidents[&incident].error_message;
    assert!(message.contains("BOOLEAN"), "{message}");
}

#[test]
fn conditional_flows_from_a_task_take_every_true_condition() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .service("task", "t")
        .service("a", "a")
        .service("b", "b")
        .end("end_a")
        .end("end_b")
        .flow("start", "task")
        .flow_if("task", "a", "=x > 0")
        .flow_if("task", "b", "=x > 5")
        .chain(&["a", "end_a"])
        .chain(&["b", "end_b"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    t.work("t", json!({"x": 3}));
    assert_eq!(t.activate("a", 1).len(), 1);
    assert!(t.activate("b", 1).is_empty());
    assert!(!t.is_completed(pi));
}
