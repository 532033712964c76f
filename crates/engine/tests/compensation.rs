//! Compensation: handlers of completed activities, inside subprocesses too, all of the scope or
//! one `activityRef`; the throw event waits for its handlers.

mod support;

use expect_test::expect;
use serde_json::json;
use support::*;

/// A service task `id` of `job_type` with a compensation handler `undo_<id>` of `undo-<job_type>`.
fn compensable(model: Bpmn, id: &str, job_type: &str) -> Bpmn {
    model
        .service(id, job_type)
        .element(
            "boundaryEvent",
            &format!("{id}_comp"),
            &format!(r#"attachedToRef="{id}""#),
            "<bpmn:compensateEventDefinition/>",
        )
        .element(
            "serviceTask",
            &format!("undo_{id}"),
            r#"isForCompensation="true""#,
            &format!(
                r#"<bpmn:extensionElements><zeebe:taskDefinition type="undo-{job_type}"/></bpmn:extensionElements>"#
            ),
        )
        .element("association", &format!("{id}_assoc"), &format!(r#"sourceRef="{id}_comp" targetRef="undo_{id}""#), "")
}

#[test]
fn an_intermediate_compensation_event_compensates_activities_inside_a_completed_subprocess_and_waits() {
    let mut t = TestEngine::new();
    let inner =
        compensable(Bpmn::process("sub").start("s_start"), "a", "a").end("s_end").chain(&["s_start", "a", "s_end"]);
    let model = compensable(Bpmn::process("p").start("start"), "b", "b")
        .sub_process("sub", inner)
        .element("intermediateThrowEvent", "undo", "", "<bpmn:compensateEventDefinition/>")
        .service("after", "after")
        .end("end")
        .chain(&["start", "sub", "b", "undo", "after", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    t.work("a", json!({}));
    t.work("b", json!({}));
    assert_eq!(t.state().compensations.len(), 2);
    assert!(t.activate("after", 1).is_empty(), "the throw event waits for the handlers");
    t.mark();
    t.work("undo-b", json!({}));
    t.work("undo-a", json!({}));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_COMPLETING SERVICE_TASK undo_b
        E PROCESS_INSTANCE ELEMENT_COMPLETED SERVICE_TASK undo_b
        E COMPENSATION_SUBSCRIPTION COMPLETED b handler=undo_b
        E PROCESS_INSTANCE ELEMENT_COMPLETING SERVICE_TASK undo_a
        E PROCESS_INSTANCE ELEMENT_COMPLETED SERVICE_TASK undo_a
        E COMPENSATION_SUBSCRIPTION COMPLETED a handler=undo_a
        E PROCESS_INSTANCE ELEMENT_COMPLETING INTERMEDIATE_THROW_EVENT undo
        E PROCESS_INSTANCE ELEMENT_COMPLETED INTERMEDIATE_THROW_EVENT undo
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_4
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK after
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK after"#]]
    .assert_eq(
        &t.rendered()
            .lines()
            .filter(|l| l.starts_with("E PROCESS_INSTANCE") || l.starts_with("E COMPENSATION"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    t.work("after", json!({}));
    assert!(t.is_completed(pi));
    assert!(t.state().compensations.is_empty());
}

#[test]
fn an_activity_ref_compensates_only_that_activity_and_only_once() {
    let mut t = TestEngine::new();
    let model = compensable(compensable(Bpmn::process("p").start("start"), "a", "a"), "b", "b")
        .element("intermediateThrowEvent", "undo_a_only", "", r#"<bpmn:compensateEventDefinition activityRef="a"/>"#)
        .element("intermediateThrowEvent", "undo_all", "", "<bpmn:compensateEventDefinition/>")
        .end("end")
        .chain(&["start", "a", "b", "undo_a_only", "undo_all", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    t.work("a", json!({}));
    t.work("b", json!({}));
    assert!(t.activate("undo-b", 1).is_empty(), "only a is compensated first");
    t.work("undo-a", json!({}));
    t.work("undo-b", json!({}));
    assert!(t.is_completed(pi), "a was compensated already, so the second throw waits only for b");
}

#[test]
fn a_compensation_boundary_event_without_a_handler_is_rejected() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .service("a", "a")
        .element("boundaryEvent", "a_comp", r#"attachedToRef="a""#, "<bpmn:compensateEventDefinition/>")
        .end("end")
        .chain(&["start", "a", "end"]);
    let reason = t.deploy(&model.xml()).rejection.expect("rejected").reason;
    assert!(
        reason
            .contains("element 'a_comp': a compensation boundary event must be associated with a compensation handler"),
        "{reason}"
    );
}
