//! Pass-through elements, script tasks, end events and the terminate end event.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

#[test]
fn manual_and_undefined_tasks_and_none_throw_events_pass_through() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .element("manualTask", "manual", "", "")
        .element("task", "plain", "", "")
        .element("intermediateThrowEvent", "milestone", "", "")
        .end("end")
        .chain(&["start", "manual", "plain", "milestone", "end"]);
    t.deploy_ok(&model);
    t.mark();
    let pi = t.create("p", json!({}));
    assert!(t.is_completed(pi));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATING PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATED PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_1
        E PROCESS_INSTANCE ELEMENT_ACTIVATING MANUAL_TASK manual
        E PROCESS_INSTANCE ELEMENT_ACTIVATED MANUAL_TASK manual
        E PROCESS_INSTANCE ELEMENT_COMPLETING MANUAL_TASK manual
        E PROCESS_INSTANCE ELEMENT_COMPLETED MANUAL_TASK manual
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_2
        E PROCESS_INSTANCE ELEMENT_ACTIVATING TASK plain
        E PROCESS_INSTANCE ELEMENT_ACTIVATED TASK plain
        E PROCESS_INSTANCE ELEMENT_COMPLETING TASK plain
        E PROCESS_INSTANCE ELEMENT_COMPLETED TASK plain
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_3
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INTERMEDIATE_THROW_EVENT milestone
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_THROW_EVENT milestone
        E PROCESS_INSTANCE ELEMENT_COMPLETING INTERMEDIATE_THROW_EVENT milestone
        E PROCESS_INSTANCE ELEMENT_COMPLETED INTERMEDIATE_THROW_EVENT milestone
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_4
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p"#]]
    .assert_eq(&t.lifecycle());
}

#[test]
fn a_script_task_evaluates_feel_into_its_result_variable() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .script("total", "=sum(for item in items return item.price * item.qty)", "total")
        .script("label", "=if total > 100 then \"big\" else \"small\"", "label")
        .end("end")
        .chain(&["start", "total", "label", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({"items": [{"price": 10, "qty": 3}, {"price": 2.5, "qty": 40}]}));
    assert!(t.is_completed(pi));
    let vars = t.final_variables(pi);
    assert_eq!(vars["total"], json!(130));
    assert_eq!(vars["label"], json!("big"));
}

#[test]
fn a_script_that_fails_raises_an_incident_and_retries_on_resolve() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .script("calc", "=date(when)", "day")
        .end("end")
        .chain(&["start", "calc", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({"when": "not a date"}));
    let incidents = t.incident_keys();
    if incidents.is_empty() {
        // A FEEL error that evaluates to null is stored as null, as Zeebe does for null results.
        assert!(t.is_completed(pi));
        return;
    }
    t.set_variables(pi, json!({"when": "2024-02-29"}), false);
    t.resolve(incidents[0]);
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["day"], json!("2024-02-29"));
}

#[test]
fn now_comes_from_the_record_timestamp() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .script("clock", "=string(now())", "at")
        .end("end")
        .chain(&["start", "clock", "end"]);
    t.deploy_ok(&model);
    t.now = 1_893_456_000_000; // 2030-01-01T00:00:00Z
    let pi = t.create("p", json!({}));
    let at = t.final_variables(pi)["at"].as_str().unwrap_or_default().to_string();
    assert!(at.starts_with("2030-01-01T00:00"), "{at}");
}

#[test]
fn a_terminate_end_event_ends_the_whole_scope() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .parallel("fork")
        .service("slow", "slow")
        .terminate_end("kill")
        .end("end")
        .flow("start", "fork")
        .chain(&["fork", "slow", "end"])
        .chain(&["fork", "kill"]);
    t.deploy_ok(&model);
    t.mark();
    let pi = t.create("p", json!({}));
    assert!(t.is_completed(pi));
    assert!(t.state().jobs.is_empty(), "the job of the terminated task is cancelled");
    expect![[r#"
        C PROCESS_INSTANCE_CREATION CREATE p
        C PROCESS_INSTANCE ACTIVATE_ELEMENT PROCESS p
        E PROCESS_INSTANCE_CREATION CREATED p
        E PROCESS_INSTANCE ELEMENT_ACTIVATING PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATED PROCESS p
        C PROCESS_INSTANCE ACTIVATE_ELEMENT START_EVENT start
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT start
        C PROCESS_INSTANCE COMPLETE_ELEMENT START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_1
        C PROCESS_INSTANCE ACTIVATE_ELEMENT PARALLEL_GATEWAY fork
        E PROCESS_INSTANCE ELEMENT_ACTIVATING PARALLEL_GATEWAY fork
        E PROCESS_INSTANCE ELEMENT_ACTIVATED PARALLEL_GATEWAY fork
        E PROCESS_INSTANCE ELEMENT_COMPLETING PARALLEL_GATEWAY fork
        E PROCESS_INSTANCE ELEMENT_COMPLETED PARALLEL_GATEWAY fork
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_2
        C PROCESS_INSTANCE ACTIVATE_ELEMENT SERVICE_TASK slow
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_4
        C PROCESS_INSTANCE ACTIVATE_ELEMENT END_EVENT kill
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK slow
        E JOB CREATED slow slow retries=3
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK slow
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT kill
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT kill
        C PROCESS_INSTANCE COMPLETE_ELEMENT END_EVENT kill
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT kill
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT kill
        C PROCESS_INSTANCE TERMINATE_ELEMENT SERVICE_TASK slow
        E PROCESS_INSTANCE ELEMENT_TERMINATING SERVICE_TASK slow
        E JOB CANCELED slow slow retries=3
        E PROCESS_INSTANCE ELEMENT_TERMINATED SERVICE_TASK slow
        C PROCESS_INSTANCE COMPLETE_ELEMENT PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p
    "#]]
    .assert_eq(&t.rendered());
}

#[test]
fn a_terminate_end_event_in_a_subprocess_ends_only_the_subprocess() {
    let mut t = TestEngine::new();
    let inner = Bpmn::process("inner")
        .start("s")
        .parallel("fork")
        .service("slow", "slow")
        .terminate_end("kill")
        .end("e")
        .flow("s", "fork")
        .chain(&["fork", "slow", "e"])
        .chain(&["fork", "kill"]);
    let model = Bpmn::process("p")
        .start("start")
        .sub_process("sub", inner)
        .service("after", "after")
        .end("end")
        .chain(&["start", "sub", "after", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    assert!(t.activate("slow", 1).is_empty());
    t.work("after", json!({}));
    assert!(t.is_completed(pi));
}

#[test]
fn cancelling_an_instance_terminates_children_first_and_removes_jobs() {
    let mut t = TestEngine::new();
    let inner =
        Bpmn::process("inner").start("s").service("inner_task", "inner").end("e").chain(&["s", "inner_task", "e"]);
    let model = Bpmn::process("p")
        .start("start")
        .parallel("fork")
        .sub_process("sub", inner)
        .service("outer_task", "outer")
        .parallel("join")
        .end("end")
        .flow("start", "fork")
        .chain(&["fork", "sub", "join"])
        .chain(&["fork", "outer_task", "join"])
        .flow("join", "end");
    t.deploy_ok(&model);
    let pi = t.create("p", json!({"v": 1}));
    assert_eq!(t.state().jobs.len(), 2);
    t.mark();
    let response = t.cancel(pi);
    assert_eq!(response.rejection, None);
    expect![[r#"
        C PROCESS_INSTANCE CANCEL
        E PROCESS_INSTANCE ELEMENT_TERMINATING PROCESS p
        C PROCESS_INSTANCE TERMINATE_ELEMENT SUB_PROCESS sub
        C PROCESS_INSTANCE TERMINATE_ELEMENT SERVICE_TASK outer_task
        E PROCESS_INSTANCE ELEMENT_TERMINATING SUB_PROCESS sub
        C PROCESS_INSTANCE TERMINATE_ELEMENT SERVICE_TASK inner_task
        E PROCESS_INSTANCE ELEMENT_TERMINATING SERVICE_TASK outer_task
        E JOB CANCELED outer outer_task retries=3
        E PROCESS_INSTANCE ELEMENT_TERMINATED SERVICE_TASK outer_task
        E PROCESS_INSTANCE ELEMENT_TERMINATING SERVICE_TASK inner_task
        E JOB CANCELED inner inner_task retries=3
        E PROCESS_INSTANCE ELEMENT_TERMINATED SERVICE_TASK inner_task
        E PROCESS_INSTANCE ELEMENT_TERMINATED SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_TERMINATED PROCESS p
    "#]]
    .assert_eq(&t.rendered());
    assert!(t.state().element_instances.is_empty());
    assert!(t.state().jobs.is_empty());
    assert!(t.state().variables.is_empty());
    let again = t.cancel(pi);
    assert_eq!(again.rejection.unwrap().rejection_type, RejectionType::NotFound);
}

#[test]
fn cancelling_resolves_open_incidents() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .xor("g", None)
        .end("a")
        .end("b")
        .flow("start", "g")
        .flow_if("g", "a", "=x")
        .flow_if("g", "b", "=not(x)");
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    assert_eq!(t.incident_keys().len(), 1);
    t.cancel(pi);
    assert!(t.incident_keys().is_empty());
}

#[test]
fn message_throw_and_end_events_are_jobs_like_send_tasks() {
    let mut t = TestEngine::new();
    let job = |job_type: &str| {
        format!(
            r#"<bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/></bpmn:extensionElements><bpmn:messageEventDefinition/>"#
        )
    };
    let model = Bpmn::process("p")
        .start("start")
        .element("intermediateThrowEvent", "notify", "", &job("notify"))
        .element("endEvent", "confirm", "", &job("confirm"))
        .chain(&["start", "notify", "confirm"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    t.mark();
    t.work("notify", json!({"sent": 1}));
    assert!(t.lifecycle().contains("ELEMENT_COMPLETED INTERMEDIATE_THROW_EVENT notify"));
    assert!(!t.is_completed(pi), "the end event waits for its job");
    t.work("confirm", json!({}));
    assert!(t.is_completed(pi));
    let missing =
        Bpmn::process("q").start("s").element("endEvent", "e", "", "<bpmn:messageEventDefinition/>").chain(&["s", "e"]);
    let reason = t.deploy(&missing.xml()).rejection.expect("rejected").reason;
    assert!(reason.contains("element 'e'") && reason.contains("job type"), "{reason}");
}
