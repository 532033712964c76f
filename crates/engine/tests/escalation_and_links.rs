//! Escalation events (thrown by intermediate and end events, caught by boundary events on an
//! enclosing subprocess, a multi-instance body or a call activity; uncaught ones are no incident)
//! and link events (a throw event continues at the catch event of the same name in its scope).

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

/// Root `bpmn:escalation` elements: (id, code).
fn with_escalations(model: &Bpmn, escalations: &[(&str, &str)]) -> String {
    let defs: String = escalations
        .iter()
        .map(|(id, code)| format!(r#"<bpmn:escalation id="{id}" escalationCode="{}"/>"#, escape(code)))
        .collect();
    model.xml().replace("</bpmn:definitions>", &format!("{defs}</bpmn:definitions>"))
}

fn definition(escalation_ref: Option<&str>) -> String {
    match escalation_ref {
        Some(r) => format!(r#"<bpmn:escalationEventDefinition escalationRef="{r}"/>"#),
        None => "<bpmn:escalationEventDefinition/>".to_string(),
    }
}

fn throw(model: Bpmn, id: &str, escalation_ref: &str) -> Bpmn {
    model.element("intermediateThrowEvent", id, "", &definition(Some(escalation_ref)))
}

fn throw_end(model: Bpmn, id: &str, escalation_ref: &str) -> Bpmn {
    model.element("endEvent", id, "", &definition(Some(escalation_ref)))
}

fn boundary(model: Bpmn, id: &str, attached_to: &str, escalation_ref: Option<&str>, interrupting: bool) -> Bpmn {
    let attrs = format!(r#"attachedToRef="{attached_to}" cancelActivity="{interrupting}""#);
    model.element("boundaryEvent", id, &attrs, &definition(escalation_ref))
}

fn link_throw(model: Bpmn, id: &str, name: &str) -> Bpmn {
    model.element("intermediateThrowEvent", id, "", &format!(r#"<bpmn:linkEventDefinition name="{name}"/>"#))
}

fn link_catch(model: Bpmn, id: &str, name: &str) -> Bpmn {
    model.element("intermediateCatchEvent", id, "", &format!(r#"<bpmn:linkEventDefinition name="{name}"/>"#))
}

fn deploy(t: &mut TestEngine, xml: &str) {
    let response = t.deploy(xml);
    assert_eq!(response.rejection, None, "deployment rejected");
}

/// Escalation records since the last mark.
fn escalations(t: &TestEngine) -> String {
    let lines = t.rendered();
    lines.lines().filter(|l| l.contains(" ESCALATION ")).collect::<Vec<_>>().join("\n")
}

/// Ids of the elements that completed, in order.
fn completed(t: &TestEngine) -> Vec<String> {
    t.log
        .iter()
        .filter(|r| r.intent == Intent::ElementCompleted)
        .filter_map(|r| match &r.value {
            RecordValue::ProcessInstance(v) => Some(v.element_id.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_interrupting_boundary_event_terminates_the_subprocess_and_the_thrower_with_it() {
    let mut t = TestEngine::new();
    let inner = throw(Bpmn::process("sub").start("sub_start"), "raise", "late").end("sub_end").chain(&[
        "sub_start",
        "raise",
        "sub_end",
    ]);
    let model = Bpmn::process("p").start("start").sub_process("sub", inner).end("end").end("handled");
    let model = boundary(model, "on_late", "sub", Some("late"), true)
        .chain(&["start", "sub", "end"])
        .flow("on_late", "handled");
    deploy(&mut t, &with_escalations(&model, &[("late", "LATE")]));
    t.mark();
    let pi = t.create("p", json!({}));
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
        C PROCESS_INSTANCE ACTIVATE_ELEMENT SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SUB_PROCESS sub
        C PROCESS_INSTANCE ACTIVATE_ELEMENT START_EVENT sub_start
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT sub_start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT sub_start
        C PROCESS_INSTANCE COMPLETE_ELEMENT START_EVENT sub_start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT sub_start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT sub_start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW sub_flow_1
        C PROCESS_INSTANCE ACTIVATE_ELEMENT INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_THROW_EVENT raise
        E PROCESS_EVENT TRIGGERING on_late
        C PROCESS_INSTANCE TERMINATE_ELEMENT SUB_PROCESS sub
        E ESCALATION ESCALATED raise code=LATE caught by on_late
        E PROCESS_INSTANCE ELEMENT_TERMINATING SUB_PROCESS sub
        C PROCESS_INSTANCE TERMINATE_ELEMENT INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_TERMINATING INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_TERMINATED INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_TERMINATED SUB_PROCESS sub
        C PROCESS_INSTANCE ACTIVATE_ELEMENT BOUNDARY_EVENT on_late
        E PROCESS_EVENT TRIGGERED on_late
        E PROCESS_INSTANCE ELEMENT_ACTIVATING BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE ELEMENT_ACTIVATED BOUNDARY_EVENT on_late
        C PROCESS_INSTANCE COMPLETE_ELEMENT BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE ELEMENT_COMPLETING BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE ELEMENT_COMPLETED BOUNDARY_EVENT on_late
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
    assert!(t.state().element_instances.is_empty());
}

#[test]
fn a_non_interrupting_boundary_event_runs_its_path_while_the_thrower_continues() {
    let mut t = TestEngine::new();
    let inner = throw(Bpmn::process("sub").start("sub_start"), "raise", "late")
        .service("task", "work")
        .end("sub_end")
        .chain(&["sub_start", "raise", "task", "sub_end"]);
    let model = Bpmn::process("p").start("start").sub_process("sub", inner).end("end").end("notified");
    let model = boundary(model, "on_late", "sub", Some("late"), false)
        .chain(&["start", "sub", "end"])
        .flow("on_late", "notified");
    deploy(&mut t, &with_escalations(&model, &[("late", "LATE")]));
    let pi = t.create("p", json!({}));
    t.mark();
    t.work("work", json!({}));
    t.mark();
    // The boundary path ran at once; the subprocess went on to its task.
    let log = render::records(&t.log);
    let from = log.find("ACTIVATE_ELEMENT INTERMEDIATE_THROW_EVENT raise").expect("the throw event ran");
    let until = log.find("ELEMENT_ACTIVATED SERVICE_TASK task").expect("the task was reached");
    expect![[r#"
        ACTIVATE_ELEMENT INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_THROW_EVENT raise
        E PROCESS_EVENT TRIGGERING on_late
        C PROCESS_INSTANCE ACTIVATE_ELEMENT BOUNDARY_EVENT on_late
        E PROCESS_EVENT TRIGGERED on_late
        E ESCALATION ESCALATED raise code=LATE caught by on_late
        C PROCESS_INSTANCE COMPLETE_ELEMENT INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_ACTIVATING BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE ELEMENT_ACTIVATED BOUNDARY_EVENT on_late
        C PROCESS_INSTANCE COMPLETE_ELEMENT BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE ELEMENT_COMPLETING INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_COMPLETED INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW sub_flow_2
        C PROCESS_INSTANCE ACTIVATE_ELEMENT SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_COMPLETING BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE ELEMENT_COMPLETED BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_3
        C PROCESS_INSTANCE ACTIVATE_ELEMENT END_EVENT notified
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK task
        E JOB CREATED work task retries=3
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK task
    "#]]
    .assert_eq(&format!("{}\n", &log[from..until + "ELEMENT_ACTIVATED SERVICE_TASK task".len()]));
    assert!(t.is_completed(pi));
    let ended = completed(&t);
    for id in ["notified", "task", "sub", "end", "p"] {
        assert!(ended.contains(&id.to_string()), "{id} did not complete: {ended:?}");
    }
    assert!(t.state().element_instances.is_empty());
}

#[test]
fn an_escalation_end_event_ends_its_path_and_the_subprocess_completes_when_the_catch_does_not_interrupt() {
    let mut t = TestEngine::new();
    let inner =
        throw_end(Bpmn::process("sub").start("sub_start"), "raise_end", "late").chain(&["sub_start", "raise_end"]);
    let model = Bpmn::process("p").start("start").sub_process("sub", inner).end("end").end("notified");
    let model =
        boundary(model, "on_late", "sub", None, false).chain(&["start", "sub", "end"]).flow("on_late", "notified");
    deploy(&mut t, &with_escalations(&model, &[("late", "LATE")]));
    t.mark();
    let pi = t.create("p", json!({}));
    expect![[r#"
        E ESCALATION ESCALATED raise_end code=LATE caught by on_late"#]]
    .assert_eq(&escalations(&t));
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
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT raise_end
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT raise_end
        E PROCESS_INSTANCE ELEMENT_ACTIVATING BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE ELEMENT_ACTIVATED BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT raise_end
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT raise_end
        E PROCESS_INSTANCE ELEMENT_COMPLETING BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE ELEMENT_COMPLETED BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_3
        E PROCESS_INSTANCE ELEMENT_COMPLETING SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_COMPLETED SUB_PROCESS sub
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_2
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT notified
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT notified
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT notified
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT notified
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p"#]]
    .assert_eq(&t.lifecycle());
    assert!(t.is_completed(pi));
}

#[test]
fn an_escalation_end_event_caught_by_an_interrupting_boundary_event_is_terminated() {
    let mut t = TestEngine::new();
    let inner =
        throw_end(Bpmn::process("sub").start("sub_start"), "raise_end", "late").chain(&["sub_start", "raise_end"]);
    let model = Bpmn::process("p").start("start").sub_process("sub", inner).end("end").end("handled");
    let model = boundary(model, "on_late", "sub", Some("late"), true)
        .chain(&["start", "sub", "end"])
        .flow("on_late", "handled");
    deploy(&mut t, &with_escalations(&model, &[("late", "LATE")]));
    let pi = t.create("p", json!({}));
    assert!(t.is_completed(pi));
    assert_eq!(completed(&t), ["start", "sub_start", "on_late", "handled", "p"]);
    let lifecycle = t.lifecycle();
    assert!(lifecycle.contains("ELEMENT_TERMINATED END_EVENT raise_end"), "{lifecycle}");
    assert!(lifecycle.contains("ELEMENT_TERMINATED SUB_PROCESS sub"), "{lifecycle}");
}

#[test]
fn an_uncaught_escalation_is_no_incident_and_the_instance_completes() {
    let mut t = TestEngine::new();
    let model = throw(Bpmn::process("p").start("start"), "raise", "late");
    let model = throw_end(model, "raise_end", "late").chain(&["start", "raise", "raise_end"]);
    deploy(&mut t, &with_escalations(&model, &[("late", "LATE")]));
    t.mark();
    let pi = t.create("p", json!({}));
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
        C PROCESS_INSTANCE ACTIVATE_ELEMENT INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_THROW_EVENT raise
        E ESCALATION NOT_ESCALATED raise code=LATE
        C PROCESS_INSTANCE COMPLETE_ELEMENT INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_COMPLETING INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_COMPLETED INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_2
        C PROCESS_INSTANCE ACTIVATE_ELEMENT END_EVENT raise_end
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT raise_end
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT raise_end
        E ESCALATION NOT_ESCALATED raise_end code=LATE
        C PROCESS_INSTANCE COMPLETE_ELEMENT END_EVENT raise_end
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT raise_end
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT raise_end
        C PROCESS_INSTANCE COMPLETE_ELEMENT PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p
    "#]]
    .assert_eq(&t.rendered());
    assert!(t.is_completed(pi));
    assert!(t.incident_keys().is_empty());
}

#[test]
fn a_specific_escalation_code_wins_over_a_catch_all_and_other_codes_fall_to_the_catch_all() {
    // The thrown code comes from a FEEL expression, so one model throws either.
    let model = || {
        let inner = throw(Bpmn::process("sub").start("sub_start"), "raise", "dynamic").end("sub_end").chain(&[
            "sub_start",
            "raise",
            "sub_end",
        ]);
        let model = Bpmn::process("p").start("start").sub_process("sub", inner).end("end").end("specific").end("any");
        let model = boundary(model, "catch_all", "sub", None, true);
        let model = boundary(model, "catch_late", "sub", Some("late"), true);
        let model = model.chain(&["start", "sub", "end"]).flow("catch_all", "any").flow("catch_late", "specific");
        with_escalations(&model, &[("late", "LATE"), ("dynamic", "=code")])
    };
    for (code, expected_end, other_end) in [("LATE", "specific", "any"), ("OTHER", "any", "specific")] {
        let mut t = TestEngine::new();
        deploy(&mut t, &model());
        t.mark();
        let pi = t.create("p", json!({"code": code}));
        assert!(t.is_completed(pi), "{code}");
        let ended = completed(&t);
        assert!(ended.contains(&expected_end.to_string()), "{code}: {ended:?}");
        assert!(!ended.contains(&other_end.to_string()), "{code}: {ended:?}");
        let catch = if expected_end == "specific" { "catch_late" } else { "catch_all" };
        assert_eq!(escalations(&t), format!("E ESCALATION ESCALATED raise code={code} caught by {catch}"));
    }
}

#[test]
fn an_escalation_code_that_cannot_be_evaluated_raises_an_incident() {
    let mut t = TestEngine::new();
    let model =
        throw(Bpmn::process("p").start("start"), "raise", "dynamic").end("end").chain(&["start", "raise", "end"]);
    deploy(&mut t, &with_escalations(&model, &[("dynamic", "=code")]));
    let pi = t.create("p", json!({}));
    let incidents: Vec<&IncidentRecord> = t.state().incidents.values().collect();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].error_type, ErrorType::ExtractValueError);
    assert_eq!(&*incidents[0].element_id, "raise");
    let key = t.incident_keys()[0];
    t.set_variables(pi, json!({"code": "LATE"}), false);
    t.mark();
    assert_eq!(t.resolve(key).rejection, None);
    assert_eq!(escalations(&t), "E ESCALATION NOT_ESCALATED raise code=LATE");
    assert!(t.is_completed(pi));
}

#[test]
fn an_escalation_from_an_inner_instance_is_caught_on_the_multi_instance_body() {
    let mut t = TestEngine::new();
    let inner = throw(Bpmn::process("sub").start("sub_start"), "raise", "late")
        .service("task", "work")
        .end("sub_end")
        .chain(&["sub_start", "raise", "task", "sub_end"]);
    let model = Bpmn::process("p").start("start").sub_process("each", inner).end("end").end("handled");
    let model = boundary(model, "on_late", "each", Some("late"), true)
        .chain(&["start", "each", "end"])
        .flow("on_late", "handled");
    let looping = r#"<bpmn:multiInstanceLoopCharacteristics isSequential="false"><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="= items" inputElement="item"/></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>"#;
    let xml = with_escalations(&model, &[("late", "LATE")])
        .replace(r#"<bpmn:subProcess id="each" >"#, &format!(r#"<bpmn:subProcess id="each" >{looping}"#));
    deploy(&mut t, &xml);
    t.mark();
    let pi = t.create("p", json!({"items": [1, 2]}));
    // Both inner instances throw; the second finds the body already interrupted by the first.
    assert_eq!(
        escalations(&t),
        "E ESCALATION ESCALATED raise code=LATE caught by on_late\nE ESCALATION NOT_ESCALATED raise code=LATE"
    );
    assert!(t.is_completed(pi));
    assert_eq!(completed(&t), ["start", "sub_start", "sub_start", "on_late", "handled", "p"]);
    assert!(t.lifecycle().contains("ELEMENT_TERMINATED MULTI_INSTANCE_BODY each"), "{}", t.lifecycle());
    assert!(!t.rendered().contains("JOB CREATED"), "no inner instance went on to its task");
}

fn calling(boundary_interrupting: bool) -> (TestEngine, i64) {
    let mut t = TestEngine::new();
    let child = throw(Bpmn::process("child").start("c_start"), "raise", "late")
        .service("c_task", "child-work")
        .end("c_end")
        .chain(&["c_start", "raise", "c_task", "c_end"]);
    deploy(&mut t, &with_escalations(&child, &[("late", "LATE")]));
    let call = r#"<bpmn:extensionElements><zeebe:calledElement processId="child"/></bpmn:extensionElements>"#;
    let parent =
        Bpmn::process("parent").start("start").element("callActivity", "call", "", call).end("end").end("caught");
    let parent = boundary(parent, "on_late", "call", Some("late"), boundary_interrupting)
        .chain(&["start", "call", "end"])
        .flow("on_late", "caught");
    deploy(&mut t, &with_escalations(&parent, &[("late", "LATE")]));
    t.mark();
    let pi = t.create("parent", json!({}));
    (t, pi)
}

#[test]
fn an_escalation_from_a_called_process_is_caught_on_the_call_activity() {
    let (mut t, pi) = calling(false);
    assert_eq!(escalations(&t), "E ESCALATION ESCALATED raise code=LATE caught by on_late");
    assert_eq!(completed(&t), ["start", "c_start", "raise", "on_late", "caught"], "the child goes on");
    t.work("child-work", json!({}));
    assert!(t.is_completed(pi));
    assert!(t.state().element_instances.is_empty());

    let (t, pi) = calling(true);
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_TERMINATING CALL_ACTIVITY call
        E PROCESS_INSTANCE ELEMENT_TERMINATING PROCESS child
        E PROCESS_INSTANCE ELEMENT_TERMINATING INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_TERMINATED INTERMEDIATE_THROW_EVENT raise
        E PROCESS_INSTANCE ELEMENT_TERMINATED PROCESS child
        E PROCESS_INSTANCE ELEMENT_TERMINATED CALL_ACTIVITY call
        E PROCESS_INSTANCE ELEMENT_ACTIVATING BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE ELEMENT_ACTIVATED BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE ELEMENT_COMPLETING BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE ELEMENT_COMPLETED BOUNDARY_EVENT on_late
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW parent_flow_3
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT caught
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT caught
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT caught
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT caught
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS parent
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS parent"#]]
    .assert_eq(
        &t.lifecycle()[t.lifecycle().find("E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_THROW_EVENT").unwrap()..],
    );
    assert!(t.is_completed(pi));
    assert!(t.state().element_instances.is_empty());
}

#[test]
fn a_link_throw_event_continues_at_its_catch_event() {
    let mut t = TestEngine::new();
    let model = link_throw(Bpmn::process("p").start("start"), "go", "A");
    let model = link_catch(model, "here", "A").end("end").chain(&["start", "go"]).flow("here", "end");
    t.deploy_ok(&model);
    t.mark();
    let pi = t.create("p", json!({}));
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
        C PROCESS_INSTANCE ACTIVATE_ELEMENT INTERMEDIATE_THROW_EVENT go
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INTERMEDIATE_THROW_EVENT go
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_THROW_EVENT go
        C PROCESS_INSTANCE ACTIVATE_ELEMENT INTERMEDIATE_CATCH_EVENT here
        C PROCESS_INSTANCE COMPLETE_ELEMENT INTERMEDIATE_THROW_EVENT go
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INTERMEDIATE_CATCH_EVENT here
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_CATCH_EVENT here
        C PROCESS_INSTANCE COMPLETE_ELEMENT INTERMEDIATE_CATCH_EVENT here
        E PROCESS_INSTANCE ELEMENT_COMPLETING INTERMEDIATE_THROW_EVENT go
        E PROCESS_INSTANCE ELEMENT_COMPLETED INTERMEDIATE_THROW_EVENT go
        E PROCESS_INSTANCE ELEMENT_COMPLETING INTERMEDIATE_CATCH_EVENT here
        E PROCESS_INSTANCE ELEMENT_COMPLETED INTERMEDIATE_CATCH_EVENT here
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_2
        C PROCESS_INSTANCE ACTIVATE_ELEMENT END_EVENT end
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT end
        C PROCESS_INSTANCE COMPLETE_ELEMENT END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT end
        C PROCESS_INSTANCE COMPLETE_ELEMENT PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p
    "#]]
    .assert_eq(&t.rendered());
    assert!(t.is_completed(pi));
}

#[test]
fn a_link_inside_a_subprocess_stays_in_the_subprocess() {
    let mut t = TestEngine::new();
    // The outer process has a catch event of the same name, which the inner throw must not reach.
    let inner = link_throw(Bpmn::process("sub").start("sub_start"), "sub_go", "A");
    let inner = link_catch(inner, "sub_here", "A").service("task", "work").end("sub_end");
    let inner = inner.chain(&["sub_start", "sub_go"]).chain(&["sub_here", "task", "sub_end"]);
    let model = Bpmn::process("p").start("start").sub_process("sub", inner).end("end");
    let model =
        link_catch(model, "here", "A").end("other_end").chain(&["start", "sub", "end"]).flow("here", "other_end");
    t.deploy_ok(&model);
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
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INTERMEDIATE_THROW_EVENT sub_go
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_THROW_EVENT sub_go
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INTERMEDIATE_CATCH_EVENT sub_here
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_CATCH_EVENT sub_here
        E PROCESS_INSTANCE ELEMENT_COMPLETING INTERMEDIATE_THROW_EVENT sub_go
        E PROCESS_INSTANCE ELEMENT_COMPLETED INTERMEDIATE_THROW_EVENT sub_go
        E PROCESS_INSTANCE ELEMENT_COMPLETING INTERMEDIATE_CATCH_EVENT sub_here
        E PROCESS_INSTANCE ELEMENT_COMPLETED INTERMEDIATE_CATCH_EVENT sub_here
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW sub_flow_2
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK task"#]]
    .assert_eq(&t.lifecycle());
    t.work("work", json!({}));
    assert!(t.is_completed(pi));
    let ended = completed(&t);
    assert!(!ended.contains(&"here".to_string()), "{ended:?}");
    assert!(t.state().element_instances.is_empty());
}

#[test]
fn an_inclusive_join_waits_for_a_token_that_travels_through_a_link() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p").start("start").inclusive("fork", None);
    let model = link_throw(model, "go", "A");
    let model = link_catch(model, "here", "A").service("task", "work").inclusive("join", None).end("end");
    let model = model
        .flow("start", "fork")
        .flow_if("fork", "go", "= true")
        .flow_if("fork", "join", "= true")
        .chain(&["here", "task", "join", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    assert!(!t.lifecycle().contains("INCLUSIVE_GATEWAY join"), "the join fired early:\n{}", t.lifecycle());
    t.work("work", json!({}));
    assert!(t.is_completed(pi));
    assert_eq!(completed(&t).iter().filter(|id| *id == "join").count(), 1);
}

#[test]
fn a_link_throw_event_without_a_catch_event_is_rejected_at_deploy() {
    let mut t = TestEngine::new();
    let model = link_throw(Bpmn::process("p").start("start"), "go", "nowhere");
    let model = link_catch(model, "here", "A").end("end").chain(&["start", "go"]).flow("here", "end");
    let response = t.deploy(&model.xml());
    let rejection = response.rejection.expect("the deployment is rejected");
    assert_eq!(rejection.rejection_type, RejectionType::InvalidArgument);
    expect![[r#"Expected to deploy new resources, but encountered the following errors:
'process.bpmn': invalid BPMN model: element 'go': there is no link catch event named 'nowhere' in the same scope as this link throw event"#]]
    .assert_eq(&rejection.reason);
}
