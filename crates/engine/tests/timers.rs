//! Timers (`timeDuration`): intermediate timer catch events and timer boundary events,
//! interrupting and not, fired by the scheduler through `next_due_ms` / `due_commands`.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn timer_definition(duration: &str) -> String {
    format!(
        r#"<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{}</bpmn:timeDuration></bpmn:timerEventDefinition>"#,
        escape(duration)
    )
}

fn boundary_model(interrupting: bool, duration: &str) -> Bpmn {
    let attrs = format!(r#"attachedToRef="task" cancelActivity="{interrupting}""#);
    Bpmn::process("p")
        .start("start")
        .service("task", "work")
        .end("end")
        .end("timed_out")
        .element("boundaryEvent", "timeout", &attrs, &timer_definition(duration))
        .chain(&["start", "task", "end"])
        .flow("timeout", "timed_out")
}

#[test]
fn an_intermediate_timer_catch_event_waits_for_its_duration() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .element("intermediateCatchEvent", "wait", "", &timer_definition("PT10S"))
        .end("end")
        .chain(&["start", "wait", "end"]);
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
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INTERMEDIATE_CATCH_EVENT wait
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_CATCH_EVENT wait"#]]
    .assert_eq(&t.lifecycle());
    assert_eq!(t.engine.next_due_ms(), Some(START_MS + 10_000));
    t.advance(9_999);
    assert!(!t.is_completed(pi));
    t.mark();
    t.advance(1);
    expect![[r#"
        C TIMER TRIGGER wait due=1700000010000
        E TIMER TRIGGERED wait due=1700000010000
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
    assert!(t.state().timers.is_empty());
    assert_eq!(t.engine.next_due_ms(), None);
}

#[test]
fn a_timer_duration_can_be_a_feel_expression() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .element("intermediateCatchEvent", "wait", "", &timer_definition("=delay"))
        .end("end")
        .chain(&["start", "wait", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({"delay": "PT1M"}));
    assert_eq!(t.engine.next_due_ms(), Some(START_MS + 60_000));
    t.advance(60_000);
    assert!(t.is_completed(pi));

    // Not a duration: an incident on the catch event.
    t.create("p", json!({"delay": 5}));
    let incidents: Vec<&IncidentRecord> = t.state().incidents.values().collect();
    assert_eq!(incidents.len(), 1);
    expect!["Expected result of the expression 'delay' to be 'DURATION', but was 'NUMBER'"]
        .assert_eq(&incidents[0].error_message);
}

#[test]
fn an_interrupting_timer_boundary_event_terminates_the_task() {
    let mut t = TestEngine::new();
    t.deploy_ok(&boundary_model(true, "PT5M"));
    let pi = t.create("p", json!({}));
    t.mark();
    t.advance(300_000);
    expect![[r#"
        C TIMER TRIGGER timeout due=1700000300000
        E TIMER TRIGGERED timeout due=1700000300000
        E PROCESS_EVENT TRIGGERING timeout
        C PROCESS_INSTANCE TERMINATE_ELEMENT SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_TERMINATING SERVICE_TASK task
        E JOB CANCELED work task retries=3
        E PROCESS_INSTANCE ELEMENT_TERMINATED SERVICE_TASK task
        C PROCESS_INSTANCE ACTIVATE_ELEMENT BOUNDARY_EVENT timeout
        E PROCESS_EVENT TRIGGERED timeout
        E PROCESS_INSTANCE ELEMENT_ACTIVATING BOUNDARY_EVENT timeout
        E PROCESS_INSTANCE ELEMENT_ACTIVATED BOUNDARY_EVENT timeout
        C PROCESS_INSTANCE COMPLETE_ELEMENT BOUNDARY_EVENT timeout
        E PROCESS_INSTANCE ELEMENT_COMPLETING BOUNDARY_EVENT timeout
        E PROCESS_INSTANCE ELEMENT_COMPLETED BOUNDARY_EVENT timeout
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_3
        C PROCESS_INSTANCE ACTIVATE_ELEMENT END_EVENT timed_out
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT timed_out
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT timed_out
        C PROCESS_INSTANCE COMPLETE_ELEMENT END_EVENT timed_out
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT timed_out
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT timed_out
        C PROCESS_INSTANCE COMPLETE_ELEMENT PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p
    "#]]
    .assert_eq(&t.rendered());
    assert!(t.is_completed(pi));
    assert!(t.state().jobs.is_empty());
    assert!(t.state().timers.is_empty());
}

#[test]
fn a_non_interrupting_timer_boundary_event_runs_alongside_and_the_timer_is_canceled_with_the_task() {
    let mut t = TestEngine::new();
    t.deploy_ok(&boundary_model(false, "PT5M"));
    let pi = t.create("p", json!({}));
    t.mark();
    t.advance(300_000);
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATING BOUNDARY_EVENT timeout
        E PROCESS_INSTANCE ELEMENT_ACTIVATED BOUNDARY_EVENT timeout
        E PROCESS_INSTANCE ELEMENT_COMPLETING BOUNDARY_EVENT timeout
        E PROCESS_INSTANCE ELEMENT_COMPLETED BOUNDARY_EVENT timeout
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_3
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT timed_out
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT timed_out
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT timed_out
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT timed_out"#]]
    .assert_eq(&t.lifecycle());
    assert!(!t.is_completed(pi));
    t.work("work", json!({}));
    assert!(t.is_completed(pi));

    // Completing the task first cancels its timer.
    let second = t.create("p", json!({}));
    t.mark();
    t.work("work", json!({}));
    assert!(t.is_completed(second));
    assert!(t.rendered().contains("E TIMER CANCELED timeout"), "{}", t.rendered());
    assert!(t.state().timers.is_empty());
    assert_eq!(t.engine.next_due_ms(), None);
}

fn timer_of(form: &str, text: &str) -> String {
    format!(
        r#"<bpmn:timerEventDefinition><bpmn:{form} xsi:type="bpmn:tFormalExpression">{}</bpmn:{form}></bpmn:timerEventDefinition>"#,
        escape(text)
    )
}

#[test]
fn an_intermediate_timer_catch_event_with_a_date_waits_until_then() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .element("intermediateCatchEvent", "wait", "", &timer_of("timeDate", "=deadline"))
        .end("end")
        .chain(&["start", "wait", "end"]);
    t.deploy_ok(&model);
    // START_MS is 2023-11-14T22:13:20Z.
    let pi = t.create("p", json!({"deadline": "2023-11-14T23:13:20+01:00"}));
    assert_eq!(t.engine.next_due_ms(), Some(START_MS), "an offset is honoured");
    t.advance(0);
    assert!(t.is_completed(pi));
}

#[test]
fn a_non_interrupting_timer_boundary_event_with_a_cycle_fires_each_repetition_while_the_task_runs() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .service("task", "work")
        .end("end")
        .element(
            "boundaryEvent",
            "remind",
            r#"attachedToRef="task" cancelActivity="false""#,
            &timer_of("timeCycle", "R3/PT1H"),
        )
        .service("reminder", "remind")
        .end("reminded")
        .chain(&["start", "task", "end"])
        .chain(&["remind", "reminder", "reminded"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    for hour in 1..=4 {
        t.advance(3_600_000);
        let fired = t
            .log
            .iter()
            .filter(|r| {
                r.record_type == RecordType::Event
                    && r.intent == Intent::Triggered
                    && r.value_type() == ValueType::Timer
            })
            .count();
        assert_eq!(fired, hour.min(3), "hour {hour}: R3 fires three times");
    }
    assert_eq!(t.activate("remind", 10).len(), 3);
    t.work("work", json!({}));
    assert!(t.state().timers.is_empty());
    assert!(!t.is_completed(pi), "the reminder jobs are still open");
}

#[test]
fn an_interrupting_timer_boundary_event_cannot_have_a_cycle() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .service("task", "work")
        .end("end")
        .element("boundaryEvent", "late", r#"attachedToRef="task""#, &timer_of("timeCycle", "R3/PT1H"))
        .end("late_end")
        .chain(&["start", "task", "end"])
        .flow("late", "late_end");
    let reason = t.deploy(&model.xml()).rejection.expect("rejected").reason;
    assert!(reason.contains("element 'late': a timer cycle (timeCycle) is only allowed"), "{reason}");
}

#[test]
fn feel_date_times_and_durations_are_timer_values() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .element(
            "intermediateCatchEvent",
            "until",
            "",
            &timer_of("timeDate", r#"=date and time("2023-11-14T22:15:00Z")"#),
        )
        .element("intermediateCatchEvent", "pause", "", &timer_of("timeDuration", r#"=duration("PT10S")"#))
        .element("intermediateCatchEvent", "later", "", &timer_of("timeDate", r#"=now() + duration("PT1M")"#))
        .end("end")
        .chain(&["start", "until", "pause", "later", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    // START_MS is 2023-11-14T22:13:20Z.
    assert_eq!(t.engine.next_due_ms(), Some(1_700_000_100_000));
    t.advance(100_000);
    assert_eq!(t.engine.next_due_ms(), Some(1_700_000_110_000));
    t.advance(10_000);
    assert_eq!(t.engine.next_due_ms(), Some(1_700_000_170_000));
    t.advance(60_000);
    assert!(t.is_completed(pi), "{:?}", t.state().incidents);
}
