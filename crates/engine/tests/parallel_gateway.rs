//! Parallel gateway: fork on every flow; the join waits for a token on every incoming flow.

mod support;

use expect_test::expect;
use serde_json::json;
use support::*;

fn fork_join() -> Bpmn {
    Bpmn::process("p")
        .start("start")
        .parallel("fork")
        .service("a", "a")
        .service("b", "b")
        .service("c", "c")
        .parallel("join")
        .end("end")
        .flow("start", "fork")
        .chain(&["fork", "a", "join"])
        .chain(&["fork", "b", "join"])
        .chain(&["fork", "c", "join"])
        .flow("join", "end")
}

#[test]
fn the_join_waits_for_every_branch() {
    let mut t = TestEngine::new();
    t.deploy_ok(&fork_join());
    let pi = t.create("p", json!({}));
    t.work("a", json!({"a": 1}));
    t.work("c", json!({"c": 3}));
    assert!(!t.is_completed(pi));
    assert!(!t.log.iter().any(|r| r.intent == baton_engine::Intent::ElementActivating
        && matches!(&r.value, baton_engine::RecordValue::ProcessInstance(v) if &*v.element_id == "join")));
    t.mark();
    t.work("b", json!({"b": 2}));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_COMPLETING SERVICE_TASK b
        E PROCESS_INSTANCE ELEMENT_COMPLETED SERVICE_TASK b
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_5
        E PROCESS_INSTANCE ELEMENT_ACTIVATING PARALLEL_GATEWAY join
        E PROCESS_INSTANCE ELEMENT_ACTIVATED PARALLEL_GATEWAY join
        E PROCESS_INSTANCE ELEMENT_COMPLETING PARALLEL_GATEWAY join
        E PROCESS_INSTANCE ELEMENT_COMPLETED PARALLEL_GATEWAY join
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_8
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p"#]]
    .assert_eq(&t.lifecycle());
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi), json!({"a": 1, "b": 2, "c": 3}));
}

#[test]
fn the_reference_par3_model_computes_six() {
    let mut t = TestEngine::new();
    let response = t.deploy_named("par3.bpmn", include_str!("../../model/tests/fixtures/par3.zeebe.bpmn"));
    assert_eq!(response.rejection, None);
    let pi = t.create("par3", json!({}));
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["x"], json!(6));
}
