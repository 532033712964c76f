//! Job-based tasks: service, send, user (job-based), business rule, script with a job definition.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn one_task() -> Bpmn {
    Bpmn::process("p").start("start").service("task", "work").end("end").chain(&["start", "task", "end"])
}

#[test]
fn a_service_task_creates_a_job_and_completes_with_it() {
    let mut t = TestEngine::new();
    t.deploy_ok(&one_task());
    t.mark();
    let pi = t.create("p", json!({"order": 7}));
    let jobs = t.activate("work", 10);
    assert_eq!(jobs.len(), 1);
    let (job_key, job) = &jobs[0];
    assert_eq!(job.variables, object(json!({"order": 7})));
    assert_eq!(job.retries, 3);
    assert_eq!(job.deadline_ms, START_MS + 60_000);
    assert_eq!(job.worker, "test-worker");
    t.complete(*job_key, json!({"paid": true}));
    expect![[r#"
        C PROCESS_INSTANCE_CREATION CREATE p
        E VARIABLE CREATED order=7
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
        C PROCESS_INSTANCE ACTIVATE_ELEMENT SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK task
        E JOB CREATED work task retries=3
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK task
        C JOB_BATCH ACTIVATE work jobs=0
        E JOB_BATCH ACTIVATED work jobs=1
        C JOB COMPLETE
        E JOB COMPLETED work task retries=3
        E VARIABLE CREATED paid=true
        C PROCESS_INSTANCE COMPLETE_ELEMENT SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_COMPLETING SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_COMPLETED SERVICE_TASK task
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
    assert_eq!(t.final_variables(pi), json!({"order": 7, "paid": true}));
    assert!(t.state().element_instances.is_empty());
    assert!(t.state().jobs.is_empty());
    assert!(t.state().variables.is_empty());
}

#[test]
fn every_job_based_task_kind_creates_a_job_of_its_type() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .element("sendTask", "send", "", r#"<bpmn:extensionElements><zeebe:taskDefinition type="mail" retries="5"/></bpmn:extensionElements>"#)
        .element(
            "userTask",
            "approve",
            "",
            r#"<bpmn:extensionElements><zeebe:userTask/><zeebe:assignmentDefinition assignee="=owner" candidateGroups="clerks, managers"/></bpmn:extensionElements>"#,
        )
        .element("businessRuleTask", "rules", "", r#"<bpmn:extensionElements><zeebe:taskDefinition type="=&quot;dmn-&quot; + kind"/></bpmn:extensionElements>"#)
        .element("scriptTask", "script", "", r#"<bpmn:extensionElements><zeebe:taskDefinition type="script-worker"/><zeebe:taskHeaders><zeebe:header key="language" value="js"/></zeebe:taskHeaders></bpmn:extensionElements>"#)
        .end("end")
        .chain(&["start", "send", "approve", "rules", "script", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({"kind": "risk", "owner": "demo"}));

    let jobs = t.activate("mail", 1);
    assert_eq!(jobs[0].1.retries, 5);
    t.complete(jobs[0].0, json!({}));

    let jobs = t.activate("io.camunda.zeebe:userTask", 1);
    assert_eq!(jobs[0].1.retries, 1);
    assert_eq!(
        serde_json::Value::Object((*jobs[0].1.custom_headers).clone()),
        json!({"io.camunda.zeebe:assignee": "demo", "io.camunda.zeebe:candidateGroups": "[\"clerks\",\"managers\"]"})
    );
    t.complete(jobs[0].0, json!({"approved": true}));

    let jobs = t.activate("dmn-risk", 1);
    assert_eq!(jobs.len(), 1, "the job type is a FEEL expression evaluated at activation");
    t.complete(jobs[0].0, json!({}));

    let jobs = t.activate("script-worker", 1);
    assert_eq!(serde_json::Value::Object((*jobs[0].1.custom_headers).clone()), json!({"language": "js"}));
    t.complete(jobs[0].0, json!({}));

    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi), json!({"kind": "risk", "owner": "demo", "approved": true}));
}

#[test]
fn a_job_type_expression_that_fails_raises_an_incident_until_resolved() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .element(
            "serviceTask",
            "task",
            "",
            r#"<bpmn:extensionElements><zeebe:taskDefinition type="=queue"/></bpmn:extensionElements>"#,
        )
        .end("end")
        .chain(&["start", "task", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    let incidents = t.incident_keys();
    assert_eq!(incidents.len(), 1);
    let incident = t.state().incidents[&incidents[0]].clone();
    assert_eq!(incident.error_type, ErrorType::ExtractValueError);
    assert_eq!(&*incident.element_id, "task");
    assert!(incident.error_message.contains("queue"), "{}", incident.error_message);

    t.set_variables(pi, json!({"queue": "billing"}), false);
    t.mark();
    assert_eq!(t.resolve(incidents[0]).rejection, None);
    expect![[r#"
        C INCIDENT RESOLVE
        E INCIDENT RESOLVED EXTRACT_VALUE_ERROR task "Expected result of the expression 'queue' to be 'STRING', but was 'NULL'"
        E JOB CREATED billing task retries=3
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK task
    "#]].assert_eq(&t.rendered());
    t.work("billing", json!({}));
    assert!(t.is_completed(pi));
}
