//! Timer and message start events: instances created by the engine itself, the start event's
//! variables, cycles, replacing an earlier version's start events, and Zeebe's correlation rules
//! for message start events.

mod support;

use baton_engine::*;
use serde_json::json;
use support::*;

fn timer(form: &str, text: &str) -> String {
    format!(
        r#"<bpmn:timerEventDefinition><bpmn:{form} xsi:type="bpmn:tFormalExpression">{}</bpmn:{form}></bpmn:timerEventDefinition>"#,
        escape(text)
    )
}

fn timer_start_model(form: &str, text: &str, job_type: &str) -> Bpmn {
    Bpmn::process("p")
        .element("startEvent", "tick", "", &timer(form, text))
        .service("task", job_type)
        .end("end")
        .chain(&["tick", "task", "end"])
}

fn started_instances(t: &TestEngine) -> Vec<i64> {
    t.log
        .iter()
        .filter(|r| r.record_type == RecordType::Event && r.intent == Intent::ElementActivated)
        .filter(|r| matches!(&r.value, RecordValue::ProcessInstance(v) if v.flow_scope_key == -1))
        .map(|r| r.key)
        .collect()
}

#[test]
fn a_timer_start_event_with_a_cycle_starts_an_instance_per_repetition() {
    let mut t = TestEngine::new();
    t.deploy_ok(&timer_start_model("timeCycle", "R2/PT1M", "work"));
    assert_eq!(t.engine.next_due_ms(), Some(START_MS + 60_000));
    t.advance(59_999);
    assert!(started_instances(&t).is_empty(), "timers never fire early");
    t.advance(1);
    assert_eq!(started_instances(&t).len(), 1);
    let activated = t.log.iter().any(|r| {
        r.intent == Intent::ElementActivated
            && matches!(&r.value, RecordValue::ProcessInstance(v) if &*v.element_id == "tick")
    });
    assert!(activated, "the instance starts at the timer start event");
    assert_eq!(t.engine.next_due_ms(), Some(START_MS + 120_000));
    t.advance(60_000);
    assert_eq!(started_instances(&t).len(), 2);
    assert_eq!(t.engine.next_due_ms(), None, "R2 fires twice");
    assert_eq!(t.activate("work", 10).len(), 2);
}

#[test]
fn a_timer_start_event_with_a_date_fires_once_and_a_process_without_none_start_cannot_be_created_directly() {
    let mut t = TestEngine::new();
    t.deploy_ok(&timer_start_model("timeDate", "2023-11-14T22:15:00Z", "work"));
    let due = t.engine.next_due_ms().expect("a timer");
    assert_eq!(due, 1_700_000_100_000);
    let rejected = t.send(create_command("p", json!({}), Intent::Create));
    assert!(rejected.rejection.is_some());
    t.advance(100_000);
    assert_eq!(started_instances(&t).len(), 1);
    assert_eq!(t.engine.next_due_ms(), None);
}

#[test]
fn a_new_version_replaces_the_timer_start_events_of_the_previous_one() {
    let mut t = TestEngine::new();
    t.deploy_ok(&timer_start_model("timeCycle", "R/PT1M", "v1"));
    t.deploy_ok(&timer_start_model("timeCycle", "R/PT10M", "v2"));
    assert_eq!(t.state().timers.len(), 1);
    assert_eq!(t.engine.next_due_ms(), Some(START_MS + 600_000));
    t.advance(600_000);
    assert_eq!(t.activate("v1", 10).len(), 0);
    assert_eq!(t.activate("v2", 10).len(), 1);
    let dues: Vec<i64> = t.state().timers.values().map(|timer| timer.due_date_ms).collect();
    assert_eq!(dues, vec![START_MS + 1_200_000], "an unbounded cycle re-arms");
}

#[test]
fn a_cron_timer_start_event_fires_at_the_next_matching_second() {
    let mut t = TestEngine::new();
    // START_MS is 2023-11-14T22:13:20Z.
    t.deploy_ok(&timer_start_model("timeCycle", "0 0 9 * * MON-FRI", "work"));
    assert_eq!(t.engine.next_due_ms(), Some(1_700_038_800_000), "Wednesday 09:00 UTC");
}

fn message_start_model(job_type: &str) -> String {
    let model = Bpmn::process("p")
        .element("startEvent", "order_placed", "", r#"<bpmn:messageEventDefinition messageRef="m"/>"#)
        .service("task", job_type)
        .end("end")
        .chain(&["order_placed", "task", "end"]);
    model.xml().replace("</bpmn:definitions>", r#"<bpmn:message id="m" name="order-placed"/></bpmn:definitions>"#)
}

#[test]
fn a_message_start_event_starts_an_instance_with_the_message_variables() {
    let mut t = TestEngine::new();
    assert_eq!(t.deploy(&message_start_model("work")).rejection, None);
    let published = t.publish("order-placed", "", 0, "", json!({"orderId": "o-1"}));
    assert_eq!(published.rejection, None);
    let instances = started_instances(&t);
    assert_eq!(instances.len(), 1);
    let jobs = t.activate("work", 10);
    assert_eq!(jobs[0].1.variables["orderId"], json!("o-1"));
    assert_eq!(t.process_variables(instances[0])["orderId"], json!("o-1"));
    t.publish("other-name", "", 0, "", json!({}));
    assert_eq!(started_instances(&t).len(), 1);
}

#[test]
fn one_instance_per_correlation_key_at_a_time_and_the_buffered_message_starts_the_next() {
    let mut t = TestEngine::new();
    assert_eq!(t.deploy(&message_start_model("work")).rejection, None);
    t.publish("order-placed", "customer-1", 60_000, "", json!({"n": 1}));
    t.publish("order-placed", "customer-1", 60_000, "", json!({"n": 2}));
    t.publish("order-placed", "customer-2", 60_000, "", json!({"n": 3}));
    assert_eq!(started_instances(&t).len(), 2, "customer-1's second message waits");
    let jobs = t.activate("work", 10);
    let mut seen: Vec<_> = jobs.iter().map(|(_, j)| j.variables["n"].clone()).collect();
    seen.sort_by_key(|v| v.as_i64());
    assert_eq!(seen, vec![json!(1), json!(3)]);
    let first = jobs.iter().find(|(_, j)| j.variables["n"] == json!(1)).unwrap().0;
    t.complete(first, json!({}));
    assert_eq!(started_instances(&t).len(), 3, "the first instance ended: the buffered message starts the next");
    let jobs = t.activate("work", 10);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].1.variables["n"], json!(2));
}

#[test]
fn a_buffered_message_starts_an_instance_when_its_process_is_deployed_but_only_once() {
    let mut t = TestEngine::new();
    t.publish("order-placed", "", 60_000, "", json!({"early": true}));
    assert_eq!(t.deploy(&message_start_model("work")).rejection, None);
    assert_eq!(started_instances(&t).len(), 1);
    assert_eq!(t.deploy(&message_start_model("work-v2")).rejection, None);
    assert_eq!(started_instances(&t).len(), 1, "a message starts at most one instance of a process");
}
