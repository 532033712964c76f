//! BPMN errors: thrown by a job worker or an error end event, caught by an error boundary event
//! on the activity or an enclosing subprocess (exact code before catch-all), else an incident.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

/// Root `bpmn:error` elements: (id, code).
fn with_errors(model: &Bpmn, errors: &[(&str, &str)]) -> String {
    let defs: String =
        errors.iter().map(|(id, code)| format!(r#"<bpmn:error id="{id}" errorCode="{code}"/>"#)).collect();
    model.xml().replace("</bpmn:definitions>", &format!("{defs}</bpmn:definitions>"))
}

fn error_boundary(model: Bpmn, id: &str, attached_to: &str, error_ref: Option<&str>) -> Bpmn {
    let definition = match error_ref {
        Some(r) => format!(r#"<bpmn:errorEventDefinition errorRef="{r}"/>"#),
        None => "<bpmn:errorEventDefinition/>".to_string(),
    };
    model.element("boundaryEvent", id, &format!(r#"attachedToRef="{attached_to}""#), &definition)
}

fn throw_error(t: &mut TestEngine, job_type: &str, code: &str, variables: serde_json::Value) -> Record {
    let jobs = t.activate(job_type, 1);
    assert_eq!(jobs.len(), 1, "expected one job of type {job_type}");
    t.job_command(Intent::ThrowError, jobs[0].0, |job| {
        job.error_code = code.to_string();
        job.error_message = "boom".to_string();
        job.variables = object(variables);
    })
}

fn deploy(t: &mut TestEngine, xml: &str) {
    let response = t.deploy(xml);
    assert_eq!(response.rejection, None, "deployment rejected");
}

#[test]
fn a_thrown_error_is_caught_by_a_boundary_event_on_the_task() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p").start("start").service("task", "work").end("end").end("handled");
    let model =
        error_boundary(model, "catch", "task", Some("err")).chain(&["start", "task", "end"]).flow("catch", "handled");
    deploy(&mut t, &with_errors(&model, &[("err", "NOT_FOUND")]));
    let pi = t.create("p", json!({}));
    t.mark();
    let response = throw_error(&mut t, "work", "NOT_FOUND", json!({"reason": "gone"}));
    assert_eq!(response.rejection, None);
    expect![[r#"
        C JOB_BATCH ACTIVATE work jobs=0
        E JOB_BATCH ACTIVATED work jobs=1
        C JOB THROW_ERROR
        E JOB ERROR_THROWN work task retries=3 code=NOT_FOUND
        E PROCESS_EVENT TRIGGERING catch {"reason":"gone"}
        C PROCESS_INSTANCE TERMINATE_ELEMENT SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_TERMINATING SERVICE_TASK task
        E JOB CANCELED work task retries=3 code=NOT_FOUND
        E PROCESS_INSTANCE ELEMENT_TERMINATED SERVICE_TASK task
        C PROCESS_INSTANCE ACTIVATE_ELEMENT BOUNDARY_EVENT catch
        E PROCESS_EVENT TRIGGERED catch {"reason":"gone"}
        E VARIABLE CREATED reason="gone"
        E PROCESS_INSTANCE ELEMENT_ACTIVATING BOUNDARY_EVENT catch
        E PROCESS_INSTANCE ELEMENT_ACTIVATED BOUNDARY_EVENT catch
        C PROCESS_INSTANCE COMPLETE_ELEMENT BOUNDARY_EVENT catch
        E PROCESS_INSTANCE ELEMENT_COMPLETING BOUNDARY_EVENT catch
        E VARIABLE CREATED reason="gone"
        E PROCESS_INSTANCE ELEMENT_COMPLETED BOUNDARY_EVENT catch
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_3
        C PROCESS_INSTANCE ACTIVATE_ELEMENT END_EVENT handled
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT handled
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT handled
        C PROCESS_INSTANCE COMPLETE_ELEMENT END_EVENT handled
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT handled
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT handled
        C PROCESS_INSTANCE COMPLETE_ELEMENT PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p
    "#]]
    .assert_eq(&t.rendered());
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi), json!({"reason": "gone"}));
    assert!(t.state().jobs.is_empty());
    assert!(t.incident_keys().is_empty());
}

#[test]
fn an_error_is_caught_by_the_boundary_event_of_the_enclosing_subprocess() {
    let mut t = TestEngine::new();
    let inner = Bpmn::process("sub").start("sub_start").service("task", "work").end("sub_end").chain(&[
        "sub_start",
        "task",
        "sub_end",
    ]);
    let model = Bpmn::process("p").start("start").sub_process("sub", inner).end("end").end("handled");
    let model =
        error_boundary(model, "catch", "sub", Some("err")).chain(&["start", "sub", "end"]).flow("catch", "handled");
    deploy(&mut t, &with_errors(&model, &[("err", "E1")]));
    let pi = t.create("p", json!({}));
    t.mark();
    throw_error(&mut t, "work", "E1", json!({}));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_TERMINATING SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_TERMINATING SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_TERMINATED SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_TERMINATED SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_ACTIVATING BOUNDARY_EVENT catch
        E PROCESS_INSTANCE ELEMENT_ACTIVATED BOUNDARY_EVENT catch
        E PROCESS_INSTANCE ELEMENT_COMPLETING BOUNDARY_EVENT catch
        E PROCESS_INSTANCE ELEMENT_COMPLETED BOUNDARY_EVENT catch
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_3
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT handled
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT handled
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT handled
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT handled
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p"#]]
    .assert_eq(&t.lifecycle());
    assert!(t.is_completed(pi));
    assert!(t.state().element_instances.is_empty());
}

#[test]
fn a_specific_error_code_wins_over_a_catch_all_and_other_codes_fall_to_the_catch_all() {
    let model = || {
        let model = Bpmn::process("p").start("start").service("task", "work").end("end").end("specific").end("any");
        let model = error_boundary(model, "catch_all", "task", None);
        let model = error_boundary(model, "catch_e1", "task", Some("err"));
        let model = model.chain(&["start", "task", "end"]).flow("catch_all", "any").flow("catch_e1", "specific");
        with_errors(&model, &[("err", "E1")])
    };
    for (code, expected_end) in [("E1", "specific"), ("OTHER", "any")] {
        let mut t = TestEngine::new();
        deploy(&mut t, &model());
        let pi = t.create("p", json!({}));
        throw_error(&mut t, "work", code, json!({}));
        assert!(t.is_completed(pi), "{code}");
        let ended: Vec<String> = t
            .log
            .iter()
            .filter(|r| r.intent == Intent::ElementCompleted)
            .filter_map(|r| match &r.value {
                RecordValue::ProcessInstance(v) => Some(v.element_id.to_string()),
                _ => None,
            })
            .collect();
        assert!(ended.contains(&expected_end.to_string()), "{code}: {ended:?}");
        let other = if expected_end == "specific" { "any" } else { "specific" };
        assert!(!ended.contains(&other.to_string()), "{code}: {ended:?}");
    }
}

#[test]
fn an_error_end_event_in_a_subprocess_is_caught_by_the_subprocess_boundary() {
    let mut t = TestEngine::new();
    let inner = Bpmn::process("sub")
        .start("sub_start")
        .element("endEvent", "fail", "", r#"<bpmn:errorEventDefinition errorRef="err"/>"#)
        .chain(&["sub_start", "fail"]);
    let model = Bpmn::process("p").start("start").sub_process("sub", inner).end("end").end("handled");
    let model =
        error_boundary(model, "catch", "sub", Some("err")).chain(&["start", "sub", "end"]).flow("catch", "handled");
    deploy(&mut t, &with_errors(&model, &[("err", "E2")]));
    t.mark();
    let pi = t.create("p", json!({}));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATING PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATED PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_1
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT sub_start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT sub_start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT sub_start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT sub_start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW sub_flow_1
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT fail
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT fail
        E PROCESS_INSTANCE ELEMENT_TERMINATING SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_TERMINATING END_EVENT fail
        E PROCESS_INSTANCE ELEMENT_TERMINATED END_EVENT fail
        E PROCESS_INSTANCE ELEMENT_TERMINATED SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_ACTIVATING BOUNDARY_EVENT catch
        E PROCESS_INSTANCE ELEMENT_ACTIVATED BOUNDARY_EVENT catch
        E PROCESS_INSTANCE ELEMENT_COMPLETING BOUNDARY_EVENT catch
        E PROCESS_INSTANCE ELEMENT_COMPLETED BOUNDARY_EVENT catch
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_3
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT handled
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT handled
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT handled
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT handled
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p"#]]
    .assert_eq(&t.lifecycle());
    assert!(t.is_completed(pi));
}

#[test]
fn an_uncaught_error_still_raises_an_incident() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p").start("start").service("task", "work").end("end").end("handled");
    let model =
        error_boundary(model, "catch", "task", Some("err")).chain(&["start", "task", "end"]).flow("catch", "handled");
    deploy(&mut t, &with_errors(&model, &[("err", "E1")]));
    t.create("p", json!({}));
    t.mark();
    throw_error(&mut t, "work", "OTHER", json!({}));
    expect![[r#"
        C JOB_BATCH ACTIVATE work jobs=0
        E JOB_BATCH ACTIVATED work jobs=1
        C JOB THROW_ERROR
        E JOB ERROR_THROWN work task retries=3 code=OTHER
        E INCIDENT CREATED UNHANDLED_ERROR_EVENT task "Expected to throw an error event with the code 'OTHER' with message 'boom', but it was not caught. No error events are available in the scope."
    "#]].assert_eq(&t.rendered());

    // An error end event without a catch: an incident on the end event.
    let model = Bpmn::process("q")
        .start("start")
        .element("endEvent", "fail", "", r#"<bpmn:errorEventDefinition errorRef="err"/>"#)
        .chain(&["start", "fail"]);
    deploy(&mut t, &with_errors(&model, &[("err", "E3")]));
    t.mark();
    t.create("q", json!({}));
    expect![[r#"
        C PROCESS_INSTANCE_CREATION CREATE q
        C PROCESS_INSTANCE ACTIVATE_ELEMENT PROCESS q
        E PROCESS_INSTANCE_CREATION CREATED q
        E PROCESS_INSTANCE ELEMENT_ACTIVATING PROCESS q
        E PROCESS_INSTANCE ELEMENT_ACTIVATED PROCESS q
        C PROCESS_INSTANCE ACTIVATE_ELEMENT START_EVENT start
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT start
        C PROCESS_INSTANCE COMPLETE_ELEMENT START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW q_flow_1
        C PROCESS_INSTANCE ACTIVATE_ELEMENT END_EVENT fail
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT fail
        E INCIDENT CREATED UNHANDLED_ERROR_EVENT fail "Expected to throw an error event with the code 'E3', but it was not caught. No error events are available in the scope."
    "#]].assert_eq(&t.rendered());
}
