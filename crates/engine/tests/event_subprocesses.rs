//! Event subprocesses: started by a message, timer, signal, error or escalation while their scope
//! is active; interrupting ones end the rest of the scope first.

mod support;

use serde_json::json;
use support::*;

/// An event subprocess `id` whose start event has `definition`, running one service task.
fn event_sub(model: Bpmn, id: &str, interrupting: bool, definition: &str, job_type: &str) -> Bpmn {
    let start =
        format!(r#"<bpmn:startEvent id="{id}_start" isInterrupting="{interrupting}">{definition}</bpmn:startEvent>"#);
    let body = format!(
        r#"{start}<bpmn:serviceTask id="{id}_task"><bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/></bpmn:extensionElements></bpmn:serviceTask><bpmn:endEvent id="{id}_end"/><bpmn:sequenceFlow id="{id}_f1" sourceRef="{id}_start" targetRef="{id}_task"/><bpmn:sequenceFlow id="{id}_f2" sourceRef="{id}_task" targetRef="{id}_end"/>"#
    );
    model.element("subProcess", id, r#"triggeredByEvent="true""#, &body)
}

fn main_flow() -> Bpmn {
    Bpmn::process("p").start("start").service("task", "work").end("end").chain(&["start", "task", "end"])
}

const MESSAGE: &str = r#"<bpmn:messageEventDefinition messageRef="m"/>"#;

#[test]
fn an_interrupting_message_event_subprocess_ends_the_rest_of_the_process() {
    let mut t = TestEngine::new();
    let model = event_sub(main_flow(), "cancel", true, MESSAGE, "undo");
    assert_eq!(t.deploy(&with_messages(&model, &[("m", "cancel-order", "=orderId")])).rejection, None);
    let pi = t.create("p", json!({"orderId": "o-1"}));
    t.mark();
    t.publish("cancel-order", "o-1", 0, "", json!({"reason": "customer"}));
    let lifecycle = t.lifecycle();
    assert!(lifecycle.contains("ELEMENT_TERMINATED SERVICE_TASK task"), "{lifecycle}");
    assert!(lifecycle.contains("ELEMENT_ACTIVATED EVENT_SUB_PROCESS cancel"), "{lifecycle}");
    let terminated = lifecycle.find("ELEMENT_TERMINATED SERVICE_TASK task").unwrap();
    let started = lifecycle.find("ELEMENT_ACTIVATING EVENT_SUB_PROCESS cancel").unwrap();
    assert!(terminated < started, "the rest of the scope ends first");
    assert!(t.activate("work", 10).is_empty());
    let jobs = t.activate("undo", 10);
    assert_eq!(jobs[0].1.variables["reason"], json!("customer"));
    t.complete(jobs[0].0, json!({}));
    assert!(t.is_completed(pi));
    assert!(t.state().message_subscriptions.is_empty());
}

#[test]
fn a_non_interrupting_timer_event_subprocess_runs_alongside_and_the_process_waits_for_it() {
    let mut t = TestEngine::new();
    let timer = r#"<bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R2/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>"#;
    t.deploy_ok(&event_sub(main_flow(), "remind", false, timer, "reminder"));
    let pi = t.create("p", json!({}));
    t.advance(3_600_000);
    t.advance(3_600_000);
    assert_eq!(t.activate("reminder", 10).len(), 2, "the cycle starts it twice");
    t.work("work", json!({}));
    assert!(!t.is_completed(pi), "the reminders still run");
    assert!(t.state().timers.is_empty(), "the main flow ended: the scope's timers are done");
    let jobs: Vec<i64> = t.state().jobs.keys().copied().collect();
    for job in jobs {
        t.complete(job, json!({}));
    }
    assert!(t.is_completed(pi));
}

#[test]
fn an_error_event_subprocess_catches_an_error_thrown_by_a_job() {
    let mut t = TestEngine::new();
    let error = r#"<bpmn:errorEventDefinition/>"#;
    t.deploy_ok(&event_sub(main_flow(), "on_error", true, error, "recover"));
    let pi = t.create("p", json!({}));
    let jobs = t.activate("work", 1);
    let thrown = t.job_command(baton_engine::Intent::ThrowError, jobs[0].0, |job| {
        job.error_code = "any".into();
        job.variables = object(json!({"cause": "boom"}));
    });
    assert_eq!(thrown.rejection, None);
    assert!(t.state().incidents.is_empty());
    let jobs = t.activate("recover", 1);
    assert_eq!(jobs[0].1.variables["cause"], json!("boom"));
    t.complete(jobs[0].0, json!({}));
    assert!(t.is_completed(pi));
}

#[test]
fn an_error_event_subprocess_inside_a_subprocess_lets_the_subprocess_complete_and_continue() {
    let mut t = TestEngine::new();
    let error = r#"<bpmn:errorEventDefinition/>"#;
    let inner = Bpmn::process("sub")
        .start("s_start")
        .service("s_task", "work")
        .end("s_end")
        .chain(&["s_start", "s_task", "s_end"]);
    let inner = event_sub(inner, "fix", true, error, "fix");
    let model = Bpmn::process("p")
        .start("start")
        .sub_process("sub", inner)
        .service("after", "after")
        .end("end")
        .chain(&["start", "sub", "after", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    let jobs = t.activate("work", 1);
    t.job_command(baton_engine::Intent::ThrowError, jobs[0].0, |job| job.error_code = "x".into());
    t.work("fix", json!({}));
    t.work("after", json!({}));
    assert!(t.is_completed(pi));
}

#[test]
fn a_signal_event_subprocess_and_an_escalation_event_subprocess() {
    let mut t = TestEngine::new();
    let signal = r#"<bpmn:signalEventDefinition signalRef="s"/>"#;
    let escalation = r#"<bpmn:escalationEventDefinition/>"#;
    let model = Bpmn::process("p")
        .start("start")
        .service("task", "work")
        .element("intermediateThrowEvent", "escalate", "", r#"<bpmn:escalationEventDefinition escalationRef="e"/>"#)
        .end("end")
        .chain(&["start", "task", "escalate", "end"]);
    let model = event_sub(
        event_sub(model, "on_signal", false, signal, "signalled"),
        "on_escalation",
        false,
        escalation,
        "escalated",
    );
    let xml = model.xml().replace(
        "</bpmn:definitions>",
        r#"<bpmn:signal id="s" name="audit"/><bpmn:escalation id="e" escalationCode="late"/></bpmn:definitions>"#,
    );
    assert_eq!(t.deploy(&xml).rejection, None);
    let pi = t.create("p", json!({}));
    let value = baton_engine::SignalRecord { signal_name: "audit".into(), variables: object(json!({})) };
    t.send(baton_engine::Command::new(baton_engine::Intent::Broadcast, -1, baton_engine::RecordValue::Signal(value)));
    assert_eq!(t.activate("signalled", 10).len(), 1);
    t.work("work", json!({}));
    assert_eq!(t.activate("escalated", 10).len(), 1, "the escalation started its event subprocess");
    assert!(!t.is_completed(pi));
    let jobs: Vec<i64> = t.state().jobs.keys().copied().collect();
    for job in jobs {
        t.complete(job, json!({}));
    }
    assert!(t.is_completed(pi));
}

#[test]
fn an_event_subprocess_needs_one_start_event_with_an_event_definition() {
    let mut t = TestEngine::new();
    let model = main_flow().element(
        "subProcess",
        "bad",
        r#"triggeredByEvent="true""#,
        r#"<bpmn:startEvent id="bad_start"/><bpmn:endEvent id="bad_end"/><bpmn:sequenceFlow id="bf" sourceRef="bad_start" targetRef="bad_end"/>"#,
    );
    let reason = t.deploy(&model.xml()).rejection.expect("rejected").reason;
    assert!(reason.contains("element 'bad': an event subprocess must have exactly one start event"), "{reason}");
}
