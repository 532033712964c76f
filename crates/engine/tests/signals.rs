//! Signals: catch events, boundary events, start events and event-based gateways triggered by a
//! broadcast; signal throw and end events broadcasting.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn with_signal(model: &Bpmn, id: &str, name: &str) -> String {
    model.xml().replace("</bpmn:definitions>", &format!(r#"<bpmn:signal id="{id}" name="{name}"/></bpmn:definitions>"#))
}

const SIGNAL: &str = r#"<bpmn:signalEventDefinition signalRef="s"/>"#;

fn broadcast(t: &mut TestEngine, name: &str, variables: serde_json::Value) -> Record {
    let value = SignalRecord { signal_name: name.to_string(), variables: object(variables) };
    t.send(Command::new(Intent::Broadcast, -1, RecordValue::Signal(value)))
}

#[test]
fn a_signal_catch_event_completes_on_broadcast_with_the_signal_variables() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .element("intermediateCatchEvent", "wait", "", SIGNAL)
        .end("end")
        .chain(&["start", "wait", "end"]);
    assert_eq!(t.deploy(&with_signal(&model, "s", "go")).rejection, None);
    let first = t.create("p", json!({}));
    let second = t.create("p", json!({}));
    assert_eq!(t.state().signal_subscriptions.len(), 2);
    broadcast(&mut t, "other", json!({}));
    assert!(!t.is_completed(first));
    t.mark();
    let answer = broadcast(&mut t, "go", json!({"reason": "now"}));
    assert_eq!(answer.rejection, None);
    assert_eq!(answer.intent, Intent::Broadcasted);
    assert!(t.is_completed(first) && t.is_completed(second), "a broadcast reaches every subscription");
    assert_eq!(t.final_variables(first)["reason"], json!("now"));
    assert!(t.state().signal_subscriptions.is_empty());
}

#[test]
fn a_signal_boundary_event_interrupts_and_a_signal_start_event_starts_an_instance() {
    let mut t = TestEngine::new();
    let task = Bpmn::process("p")
        .start("start")
        .service("task", "work")
        .end("end")
        .element("boundaryEvent", "abort", r#"attachedToRef="task""#, SIGNAL)
        .end("aborted")
        .chain(&["start", "task", "end"])
        .flow("abort", "aborted");
    assert_eq!(t.deploy(&with_signal(&task, "s", "stop")).rejection, None);
    let started = Bpmn::process("q")
        .element("startEvent", "on_stop", "", SIGNAL)
        .service("cleanup", "cleanup")
        .end("q_end")
        .chain(&["on_stop", "cleanup", "q_end"]);
    assert_eq!(t.deploy(&with_signal(&started, "s", "stop")).rejection, None);
    let pi = t.create("p", json!({}));
    t.mark();
    broadcast(&mut t, "stop", json!({"why": "maintenance"}));
    assert!(t.is_completed(pi));
    assert!(t.lifecycle().contains("ELEMENT_COMPLETED END_EVENT aborted"));
    let jobs = t.activate("cleanup", 10);
    assert_eq!(jobs.len(), 1, "the signal start event started an instance of q");
    assert_eq!(jobs[0].1.variables["why"], json!("maintenance"));
    assert!(t.state().jobs.keys().all(|k| *k == jobs[0].0), "the interrupted task's job is canceled");
}

#[test]
fn a_signal_end_event_broadcasts_to_other_instances() {
    let mut t = TestEngine::new();
    let waiter = Bpmn::process("waiter")
        .start("w_start")
        .element("intermediateCatchEvent", "wait", "", SIGNAL)
        .end("w_end")
        .chain(&["w_start", "wait", "w_end"]);
    assert_eq!(t.deploy(&with_signal(&waiter, "s", "done")).rejection, None);
    let thrower = Bpmn::process("thrower")
        .start("t_start")
        .element("endEvent", "announce", "", SIGNAL)
        .chain(&["t_start", "announce"]);
    assert_eq!(t.deploy(&with_signal(&thrower, "s", "done")).rejection, None);
    let waiting = t.create("waiter", json!({}));
    t.mark();
    let throwing = t.create("thrower", json!({}));
    assert!(t.is_completed(throwing));
    assert!(t.is_completed(waiting));
    let signals: Vec<String> = t.rendered().lines().filter(|l| l.contains(" SIGNAL ")).map(str::to_string).collect();
    expect![[r#"
        [
            "C SIGNAL BROADCAST done",
            "E SIGNAL BROADCASTED done",
        ]
    "#]]
    .assert_debug_eq(&signals);
}

#[test]
fn an_event_based_gateway_can_wait_for_a_signal() {
    let mut t = TestEngine::new();
    let timer = r#"<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>"#;
    let model = Bpmn::process("p")
        .start("start")
        .element("eventBasedGateway", "gw", "", "")
        .element("intermediateCatchEvent", "signalled", "", SIGNAL)
        .element("intermediateCatchEvent", "late", "", timer)
        .end("by_signal")
        .end("by_timer")
        .chain(&["start", "gw", "signalled", "by_signal"])
        .chain(&["gw", "late", "by_timer"]);
    assert_eq!(t.deploy(&with_signal(&model, "s", "go")).rejection, None);
    let pi = t.create("p", json!({}));
    broadcast(&mut t, "go", json!({}));
    assert!(t.is_completed(pi));
    assert!(t.lifecycle().contains("ELEMENT_COMPLETED END_EVENT by_signal"));
    assert!(t.state().timers.is_empty());
}
