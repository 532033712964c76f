//! Messages: subscriptions opened by catch events, receive tasks and message boundary events;
//! correlation by name and correlation key; buffering with a time to live.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn catch(model: Bpmn, id: &str, message_ref: &str) -> Bpmn {
    model.element(
        "intermediateCatchEvent",
        id,
        "",
        &format!(r#"<bpmn:messageEventDefinition messageRef="{message_ref}"/>"#),
    )
}

fn boundary(model: Bpmn, id: &str, attached_to: &str, message_ref: &str, interrupting: bool) -> Bpmn {
    let attrs = format!(r#"attachedToRef="{attached_to}" cancelActivity="{interrupting}""#);
    model.element("boundaryEvent", id, &attrs, &format!(r#"<bpmn:messageEventDefinition messageRef="{message_ref}"/>"#))
}

fn deploy(t: &mut TestEngine, xml: &str) {
    let response = t.deploy(xml);
    assert_eq!(response.rejection, None, "deployment rejected");
}

fn catch_model() -> String {
    let model = catch(Bpmn::process("p").start("start"), "wait", "m").end("end").chain(&["start", "wait", "end"]);
    with_messages(&model, &[("m", "paid", "=orderId")])
}

#[test]
fn a_message_catch_event_correlates_a_published_message() {
    let mut t = TestEngine::new();
    deploy(&mut t, &catch_model());
    t.mark();
    let pi = t.create("p", json!({"orderId": "o-1"}));
    expect![[r#"
        C PROCESS_INSTANCE_CREATION CREATE p
        E VARIABLE CREATED orderId="o-1"
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
        C PROCESS_INSTANCE ACTIVATE_ELEMENT INTERMEDIATE_CATCH_EVENT wait
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INTERMEDIATE_CATCH_EVENT wait
        E MESSAGE_SUBSCRIPTION CREATED wait paid key="o-1"
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_CATCH_EVENT wait
    "#]]
    .assert_eq(&t.rendered());
    assert!(!t.is_completed(pi));
    t.publish("paid", "other", 0, "", json!({}));
    assert!(!t.is_completed(pi), "another correlation key does not correlate");
    t.mark();
    let response = t.publish("paid", "o-1", 0, "", json!({"amount": 42}));
    assert_eq!(response.rejection, None);
    expect![[r#"
        C MESSAGE PUBLISH paid key="o-1" ttl=0 {"amount":42}
        E MESSAGE PUBLISHED paid key="o-1" ttl=0 {"amount":42}
        E MESSAGE_SUBSCRIPTION CORRELATED wait paid key="o-1" {"amount":42}
        E VARIABLE CREATED amount=42
        C PROCESS_INSTANCE COMPLETE_ELEMENT INTERMEDIATE_CATCH_EVENT wait
        E MESSAGE EXPIRED paid key="o-1" ttl=0 {"amount":42}
        E PROCESS_INSTANCE ELEMENT_COMPLETING INTERMEDIATE_CATCH_EVENT wait
        E PROCESS_INSTANCE ELEMENT_COMPLETED INTERMEDIATE_CATCH_EVENT wait
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
    assert_eq!(t.final_variables(pi), json!({"orderId": "o-1", "amount": 42}));
    assert!(t.state().message_subscriptions.is_empty());
    assert!(t.state().messages.is_empty());
}

#[test]
fn a_receive_task_waits_for_its_message_and_a_number_correlation_key_is_a_string() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .element("receiveTask", "receive", r#"messageRef="m""#, "")
        .end("end")
        .chain(&["start", "receive", "end"]);
    deploy(&mut t, &with_messages(&model, &[("m", "=\"order-\" + kind", "=orderNo")]));
    let pi = t.create("p", json!({"orderNo": 7, "kind": "shipped"}));
    let subscription = t.state().message_subscriptions.values().next().cloned().expect("a subscription");
    assert_eq!((subscription.message_name.as_str(), subscription.correlation_key.as_str()), ("order-shipped", "7"));
    t.mark();
    t.publish("order-shipped", "7", 0, "", json!({"tracking": "T1"}));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_COMPLETING RECEIVE_TASK receive
        E PROCESS_INSTANCE ELEMENT_COMPLETED RECEIVE_TASK receive
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_2
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p"#]]
    .assert_eq(&t.lifecycle());
    assert_eq!(t.final_variables(pi), json!({"orderNo": 7, "kind": "shipped", "tracking": "T1"}));
}

#[test]
fn an_invalid_correlation_key_raises_an_incident() {
    let mut t = TestEngine::new();
    deploy(&mut t, &catch_model());
    t.mark();
    t.create("p", json!({"orderId": {"nested": true}}));
    let incidents: Vec<&IncidentRecord> = t.state().incidents.values().collect();
    assert_eq!(incidents.len(), 1);
    expect!["Failed to extract the correlation key for 'orderId': The value must be either a string or a number, but was 'OBJECT'."].assert_eq(&incidents[0].error_message);
    assert!(t.state().message_subscriptions.is_empty());
}

#[test]
fn a_buffered_message_correlates_when_the_subscription_opens_oldest_first() {
    let mut t = TestEngine::new();
    deploy(&mut t, &catch_model());
    t.publish("paid", "o-1", 10_000, "first", json!({"n": 1}));
    t.publish("paid", "o-1", 10_000, "second", json!({"n": 2}));
    t.mark();
    let pi = t.create("p", json!({"orderId": "o-1"}));
    expect![[r#"
        C PROCESS_INSTANCE_CREATION CREATE p
        E VARIABLE CREATED orderId="o-1"
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
        C PROCESS_INSTANCE ACTIVATE_ELEMENT INTERMEDIATE_CATCH_EVENT wait
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INTERMEDIATE_CATCH_EVENT wait
        E MESSAGE_SUBSCRIPTION CREATED wait paid key="o-1"
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_CATCH_EVENT wait
        E MESSAGE_SUBSCRIPTION CORRELATED wait paid key="o-1" {"n":1}
        E VARIABLE CREATED n=1
        C PROCESS_INSTANCE COMPLETE_ELEMENT INTERMEDIATE_CATCH_EVENT wait
        E PROCESS_INSTANCE ELEMENT_COMPLETING INTERMEDIATE_CATCH_EVENT wait
        E PROCESS_INSTANCE ELEMENT_COMPLETED INTERMEDIATE_CATCH_EVENT wait
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
    assert_eq!(t.final_variables(pi)["n"], json!(1));
    // Both stay buffered (for other processes), but a message correlates once per process, as
    // in Zeebe: the next instance of `p` takes the next message, and a third finds none.
    assert_eq!(t.state().messages.len(), 2);
    let second = t.create("p", json!({"orderId": "o-1"}));
    assert!(t.is_completed(second));
    assert_eq!(t.final_variables(second)["n"], json!(2));
    let third = t.create("p", json!({"orderId": "o-1"}));
    assert!(!t.is_completed(third));
}

#[test]
fn a_buffered_message_expires_after_its_time_to_live() {
    let mut t = TestEngine::new();
    deploy(&mut t, &catch_model());
    t.publish("paid", "o-1", 5_000, "", json!({}));
    assert_eq!(t.engine.next_due_ms(), Some(START_MS + 5_000));
    t.advance(4_999);
    assert_eq!(t.state().messages.len(), 1);
    t.mark();
    t.advance(1);
    expect![[r#"
        C MESSAGE EXPIRE paid key="o-1" ttl=5000
        E MESSAGE EXPIRED paid key="o-1" ttl=5000
    "#]]
    .assert_eq(&t.rendered());
    assert!(t.state().messages.is_empty());
    assert_eq!(t.engine.next_due_ms(), None);
    let pi = t.create("p", json!({"orderId": "o-1"}));
    assert!(!t.is_completed(pi), "an expired message does not correlate");
}

#[test]
fn a_message_with_ttl_zero_is_dropped_when_nobody_waits() {
    let mut t = TestEngine::new();
    deploy(&mut t, &catch_model());
    t.mark();
    t.publish("paid", "o-1", 0, "", json!({}));
    expect![[r#"
        C MESSAGE PUBLISH paid key="o-1" ttl=0
        E MESSAGE PUBLISHED paid key="o-1" ttl=0
        E MESSAGE EXPIRED paid key="o-1" ttl=0
    "#]]
    .assert_eq(&t.rendered());
    let pi = t.create("p", json!({"orderId": "o-1"}));
    assert!(!t.is_completed(pi));
}

#[test]
fn a_duplicate_message_id_is_rejected_while_the_first_is_buffered() {
    let mut t = TestEngine::new();
    deploy(&mut t, &catch_model());
    assert_eq!(t.publish("paid", "o-1", 10_000, "m-1", json!({})).rejection, None);
    let duplicate = t.publish("paid", "o-1", 10_000, "m-1", json!({}));
    let rejection = duplicate.rejection.expect("rejected");
    assert_eq!(rejection.rejection_type, RejectionType::AlreadyExists);
    expect!["Expected to publish a new message with id 'm-1', but a message with that id was already published"]
        .assert_eq(&rejection.reason);
    // Another correlation key or id is fine; after expiry the id is free again.
    assert_eq!(t.publish("paid", "o-2", 10_000, "m-1", json!({})).rejection, None);
    assert_eq!(t.publish("paid", "o-1", 10_000, "m-2", json!({})).rejection, None);
    t.advance(10_000);
    assert_eq!(t.publish("paid", "o-1", 10_000, "m-1", json!({})).rejection, None);
}

fn correlate(t: &mut TestEngine, name: &str, key: &str, variables: serde_json::Value) -> Record {
    let serde_json::Value::Object(variables) = variables else { panic!("variables must be an object") };
    let value = MessageCorrelationRecord {
        name: name.to_string(),
        correlation_key: key.to_string(),
        variables,
        message_key: -1,
        process_instance_key: -1,
    };
    t.send(Command::new(Intent::Correlate, -1, RecordValue::MessageCorrelation(Box::new(value))))
}

#[test]
fn a_correlated_message_answers_with_the_instance_it_reached_or_is_refused_unbuffered() {
    let mut t = TestEngine::new();
    deploy(&mut t, &catch_model());
    // Nobody waits: refused, and nothing is written or kept for a later subscription.
    t.mark();
    let refused = correlate(&mut t, "paid", "o-1", json!({}));
    let rejection = refused.rejection.expect("refused");
    assert_eq!(rejection.rejection_type, RejectionType::NotFound);
    expect![
        "Expected to find subscription for message with name 'paid' and correlation key 'o-1', but none was found."
    ]
    .assert_eq(&rejection.reason);
    expect![[r#"
        C MESSAGE_CORRELATION CORRELATE paid key=o-1
        R MESSAGE_CORRELATION CORRELATE paid key=o-1 !NOT_FOUND "Expected to find subscription for message with name 'paid' and correlation key 'o-1', but none was found."
    "#]]
    .assert_eq(&t.rendered());
    assert!(t.state().messages.is_empty());

    let pi = t.create("p", json!({"orderId": "o-1"}));
    t.mark();
    let answer = correlate(&mut t, "paid", "o-1", json!({"amount": 7}));
    let RecordValue::MessageCorrelation(correlated) = &answer.value else { panic!("{answer:?}") };
    assert_eq!(correlated.process_instance_key, pi);
    assert!(correlated.message_key > 0);
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi), json!({"orderId": "o-1", "amount": 7}));
    let rendered = t.rendered();
    assert!(
        rendered.starts_with("C MESSAGE_CORRELATION CORRELATE paid key=o-1\nE MESSAGE PUBLISHED paid"),
        "{rendered}"
    );
    assert!(rendered.contains(&format!("E MESSAGE_CORRELATION CORRELATED paid key=o-1 instance={pi}")), "{rendered}");
    assert!(t.state().messages.is_empty(), "never buffered");
    t.assert_replay_equal();
}

fn boundary_model(interrupting: bool) -> String {
    let model = Bpmn::process("p").start("start").service("task", "work").end("end").end("cancelled");
    let model = boundary(model, "cancel", "task", "m", interrupting)
        .chain(&["start", "task", "end"])
        .flow("cancel", "cancelled");
    with_messages(&model, &[("m", "cancel", "=orderId")])
}

#[test]
fn an_interrupting_message_boundary_event_terminates_the_task() {
    let mut t = TestEngine::new();
    deploy(&mut t, &boundary_model(true));
    let pi = t.create("p", json!({"orderId": "o-1"}));
    t.mark();
    t.publish("cancel", "o-1", 0, "", json!({"why": "customer"}));
    expect![[r#"
        C MESSAGE PUBLISH cancel key="o-1" ttl=0 {"why":"customer"}
        E MESSAGE PUBLISHED cancel key="o-1" ttl=0 {"why":"customer"}
        E MESSAGE_SUBSCRIPTION CORRELATED cancel cancel key="o-1" {"why":"customer"}
        E PROCESS_EVENT TRIGGERING cancel {"why":"customer"}
        C PROCESS_INSTANCE TERMINATE_ELEMENT SERVICE_TASK task
        E MESSAGE EXPIRED cancel key="o-1" ttl=0 {"why":"customer"}
        E PROCESS_INSTANCE ELEMENT_TERMINATING SERVICE_TASK task
        E JOB CANCELED work task retries=3
        E PROCESS_INSTANCE ELEMENT_TERMINATED SERVICE_TASK task
        C PROCESS_INSTANCE ACTIVATE_ELEMENT BOUNDARY_EVENT cancel
        E PROCESS_EVENT TRIGGERED cancel {"why":"customer"}
        E VARIABLE CREATED why="customer"
        E PROCESS_INSTANCE ELEMENT_ACTIVATING BOUNDARY_EVENT cancel
        E PROCESS_INSTANCE ELEMENT_ACTIVATED BOUNDARY_EVENT cancel
        C PROCESS_INSTANCE COMPLETE_ELEMENT BOUNDARY_EVENT cancel
        E PROCESS_INSTANCE ELEMENT_COMPLETING BOUNDARY_EVENT cancel
        E VARIABLE CREATED why="customer"
        E PROCESS_INSTANCE ELEMENT_COMPLETED BOUNDARY_EVENT cancel
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_3
        C PROCESS_INSTANCE ACTIVATE_ELEMENT END_EVENT cancelled
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT cancelled
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT cancelled
        C PROCESS_INSTANCE COMPLETE_ELEMENT END_EVENT cancelled
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT cancelled
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT cancelled
        C PROCESS_INSTANCE COMPLETE_ELEMENT PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p
    "#]]
    .assert_eq(&t.rendered());
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi), json!({"orderId": "o-1", "why": "customer"}));
    assert!(t.state().jobs.is_empty());
    assert!(t.state().message_subscriptions.is_empty());
}

#[test]
fn a_non_interrupting_message_boundary_event_runs_alongside_the_task() {
    let mut t = TestEngine::new();
    deploy(&mut t, &boundary_model(false));
    let pi = t.create("p", json!({"orderId": "o-1"}));
    t.mark();
    t.publish("cancel", "o-1", 0, "", json!({"why": "reminder"}));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATING BOUNDARY_EVENT cancel
        E PROCESS_INSTANCE ELEMENT_ACTIVATED BOUNDARY_EVENT cancel
        E PROCESS_INSTANCE ELEMENT_COMPLETING BOUNDARY_EVENT cancel
        E PROCESS_INSTANCE ELEMENT_COMPLETED BOUNDARY_EVENT cancel
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_3
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT cancelled
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT cancelled
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT cancelled
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT cancelled"#]]
    .assert_eq(&t.lifecycle());
    assert!(!t.is_completed(pi));
    // The subscription stays open: a second message triggers it again.
    t.publish("cancel", "o-1", 0, "", json!({}));
    let boundary_completions = t
        .log
        .iter()
        .filter(|r| r.intent == Intent::ElementCompleted)
        .filter(|r| matches!(&r.value, RecordValue::ProcessInstance(v) if &*v.element_id == "cancel"))
        .count();
    assert_eq!(boundary_completions, 2);
    t.mark();
    t.work("work", json!({}));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_COMPLETING SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_COMPLETED SERVICE_TASK task
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_2
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p"#]]
    .assert_eq(&t.lifecycle());
    assert!(t.is_completed(pi));
    assert!(t.state().message_subscriptions.is_empty());
}

#[test]
fn a_snapshot_keeps_buffered_messages_subscriptions_and_timers() {
    let mut t = TestEngine::new();
    deploy(&mut t, &catch_model());
    t.publish("paid", "other", 60_000, "m-1", json!({"x": 1}));
    t.create("p", json!({"orderId": "o-1"}));
    let timer = Bpmn::process("q")
        .start("start")
        .service("task", "work")
        .end("end")
        .element(
            "boundaryEvent",
            "timeout",
            r#"attachedToRef="task""#,
            r#"<bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition>"#,
        )
        .chain(&["start", "task", "end"])
        .flow("timeout", "end");
    t.deploy_ok(&timer);
    t.create("q", json!({}));
    assert_eq!(t.state().messages.len(), 1);
    assert_eq!(t.state().message_subscriptions.len(), 1);
    assert_eq!(t.state().timers.len(), 1);
    let decoded = snapshot::decode(&snapshot::encode(t.state())).expect("decodes");
    assert_eq!(&decoded, t.state());
}
