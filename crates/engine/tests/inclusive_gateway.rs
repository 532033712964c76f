//! Inclusive gateway: fork on every true condition (default when none); the join waits for the
//! tokens that can still arrive.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn model() -> Bpmn {
    Bpmn::process("p")
        .start("start")
        .inclusive("fork", Some("to_none"))
        .service("a", "a")
        .service("b", "b")
        .service("none", "none")
        .inclusive("join", None)
        .end("end")
        .flow("start", "fork")
        .flow_named("to_a", "fork", "a", Some("=wants_a"))
        .flow_named("to_b", "fork", "b", Some("=wants_b"))
        .flow_named("to_none", "fork", "none", None)
        .flow("a", "join")
        .flow("b", "join")
        .flow("none", "join")
        .flow("join", "end")
}

#[test]
fn forks_on_every_true_condition_and_joins_them() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model());
    let pi = t.create("p", json!({"wants_a": true, "wants_b": true}));
    assert!(t.activate("none", 1).is_empty());
    t.work("a", json!({}));
    assert!(!t.is_completed(pi), "b can still arrive");
    t.mark();
    t.work("b", json!({}));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_COMPLETING SERVICE_TASK b
        E PROCESS_INSTANCE ELEMENT_COMPLETED SERVICE_TASK b
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_6
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INCLUSIVE_GATEWAY join
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INCLUSIVE_GATEWAY join
        E PROCESS_INSTANCE ELEMENT_COMPLETING INCLUSIVE_GATEWAY join
        E PROCESS_INSTANCE ELEMENT_COMPLETED INCLUSIVE_GATEWAY join
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_8
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p"#]]
    .assert_eq(&t.lifecycle());
    assert!(t.is_completed(pi));
}

#[test]
fn joins_only_the_branches_that_were_taken() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model());
    let pi = t.create("p", json!({"wants_a": false, "wants_b": true}));
    assert!(t.activate("a", 1).is_empty());
    t.work("b", json!({}));
    assert!(t.is_completed(pi), "no other token can reach the join");
}

#[test]
fn takes_the_default_when_no_condition_holds() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model());
    let pi = t.create("p", json!({"wants_a": false, "wants_b": false}));
    t.work("none", json!({}));
    assert!(t.is_completed(pi));
}

#[test]
fn a_failing_condition_raises_an_incident() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model());
    t.create("p", json!({"wants_a": true}));
    let incident = t.incident_keys()[0];
    assert_eq!(t.state().incidents[&incident].error_type, ErrorType::ConditionError);
    assert_eq!(&*t.state().incidents[&incident].element_id, "fork");
}
