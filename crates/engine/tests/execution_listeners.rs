//! Execution listeners: jobs an element waits for before it is activated (start) and before it
//! is completed (end).

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn listeners(start: &[&str], end: &[&str]) -> String {
    let start = start.iter().map(|t| format!(r#"<zeebe:executionListener eventType="start" type="{t}"/>"#));
    let end = end.iter().map(|t| format!(r#"<zeebe:executionListener eventType="end" type="{t}" retries="1"/>"#));
    format!("<zeebe:executionListeners>{}</zeebe:executionListeners>", start.chain(end).collect::<String>())
}

fn task_with_listeners() -> Bpmn {
    Bpmn::process("p")
        .start("start")
        .service_with("task", "work", &listeners(&["before", "before_too"], &["after"]))
        .end("end")
        .chain(&["start", "task", "end"])
}

fn job_of(t: &TestEngine, job_type: &str) -> Option<(i64, JobRecord)> {
    t.state().jobs.values().find(|j| &*j.record.job_type == job_type).map(|j| (j.key, (*j.record).clone()))
}

#[test]
fn a_task_waits_for_its_start_listeners_then_its_job_then_its_end_listeners() {
    let mut t = TestEngine::new();
    t.deploy_ok(&task_with_listeners());
    let pi = t.create("p", json!({}));
    t.mark();
    let (key, job) = job_of(&t, "before").expect("the first start listener's job");
    assert_eq!((job.kind, job.listener_event_type), (JobKind::ExecutionListener, ListenerEventType::Start));
    assert!(job_of(&t, "work").is_none(), "the task's own job waits for its start listeners");
    t.complete(key, json!({"checked": true}));
    let (key, _) = job_of(&t, "before_too").expect("the second start listener's job");
    t.complete(key, json!({}));
    t.work("work", json!({"done": 1}));
    let (key, job) = job_of(&t, "after").expect("the end listener's job");
    assert_eq!(job.listener_event_type, ListenerEventType::End);
    assert!(!t.is_completed(pi));
    t.complete(key, json!({"audited": "yes"}));
    assert!(t.is_completed(pi));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK task
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
    // A start listener's variables are the element's own; an end listener's go outwards.
    let variables = t.final_variables(pi);
    assert_eq!(variables.get("checked"), None);
    assert_eq!(variables["done"], json!(1));
    assert_eq!(variables["audited"], json!("yes"));
}

#[test]
fn a_process_runs_its_listeners_around_everything_else() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p").start("start").end("end").chain(&["start", "end"]);
    let xml = model.xml().replace(
        r#"isExecutable="true">"#,
        &format!(
            r#"isExecutable="true"><bpmn:extensionElements>{}</bpmn:extensionElements>"#,
            listeners(&["open"], &["close"])
        ),
    );
    assert_eq!(t.deploy(&xml).rejection, None);
    let pi = t.create("p", json!({}));
    assert!(t.state().element_instances.len() == 1, "only the process, waiting for its start listener");
    t.work("open", json!({}));
    assert!(!t.is_completed(pi));
    t.work("close", json!({}));
    assert!(t.is_completed(pi));
}

#[test]
fn a_listener_out_of_retries_raises_an_incident_that_resolving_retries() {
    let mut t = TestEngine::new();
    t.deploy_ok(&task_with_listeners());
    let pi = t.create("p", json!({}));
    t.work("before", json!({}));
    t.work("before_too", json!({}));
    t.work("work", json!({}));
    let (key, _) = t.activate("after", 1)[0].clone();
    t.fail(key, 0, "audit service down", 0);
    let incident = t.state().incidents.values().next().cloned().expect("an incident");
    assert_eq!(incident.error_type, ErrorType::ExecutionListenerNoRetries);
    assert_eq!(incident.job_key, key);
    t.job_command(Intent::UpdateRetries, key, |job| job.retries = 1);
    let incident_key = t.incident_keys()[0];
    t.resolve(incident_key);
    t.work("after", json!({}));
    assert!(t.is_completed(pi));
}

#[test]
fn a_listener_job_cannot_throw_a_bpmn_error_and_goes_with_its_element() {
    let mut t = TestEngine::new();
    t.deploy_ok(&task_with_listeners());
    let pi = t.create("p", json!({}));
    let (key, _) = t.activate("before", 1)[0].clone();
    let answer = t.job_command(Intent::ThrowError, key, |job| job.error_code = "E".into());
    let reason = answer.rejection.expect("rejected").reason;
    assert!(reason.contains("execution listener"), "{reason}");
    t.cancel(pi);
    assert!(t.state().jobs.is_empty(), "the listener's job was canceled with its element");
}

#[test]
fn a_multi_instance_activity_runs_its_listeners_once_for_the_body() {
    let mut t = TestEngine::new();
    let extra = format!(
        r#"{}</bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=[1,2,3]" inputElement="item"/></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements>"#,
        listeners(&["before"], &[])
    );
    let model = Bpmn::process("p")
        .start("start")
        .service_with("task", "work", &extra)
        .end("end")
        .chain(&["start", "task", "end"]);
    let xml = model.xml().replace("<bpmn:extensionElements></bpmn:extensionElements>", "");
    assert_eq!(t.deploy(&xml).rejection, None, "{xml}");
    let pi = t.create("p", json!({}));
    t.work("before", json!({}));
    assert_eq!(t.activate("work", 10).len(), 3);
    assert!(t.activate("before", 10).is_empty(), "not once per item");
    for job in t.state().jobs.keys().copied().collect::<Vec<_>>() {
        t.complete(job, json!({}));
    }
    assert!(t.is_completed(pi));
}

#[test]
fn a_listener_with_an_unknown_event_type_is_refused_at_deploy() {
    let mut t = TestEngine::new();
    let extra = r#"<zeebe:executionListeners><zeebe:executionListener eventType="later" type="x"/><zeebe:executionListener eventType="start"/></zeebe:executionListeners>"#;
    let model = Bpmn::process("p")
        .start("start")
        .service_with("task", "work", extra)
        .end("end")
        .chain(&["start", "task", "end"]);
    let reason = t.deploy(&model.xml()).rejection.expect("rejected").reason;
    assert!(reason.contains("'task'") && reason.contains("event type 'later'"), "{reason}");
    assert!(reason.contains("the 'start' execution listener has no job type"), "{reason}");
}
