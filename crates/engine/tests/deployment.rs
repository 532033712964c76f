//! Deployments, versions, and creating instances.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn one_task(job_type: &str) -> Bpmn {
    Bpmn::process("p").start("start").service("task", job_type).end("end").chain(&["start", "task", "end"])
}

fn versions(record: &Record) -> Vec<(String, i32, bool)> {
    match &record.value {
        RecordValue::Deployment(d) => {
            d.processes.iter().map(|p| (p.bpmn_process_id.to_string(), p.version, p.is_new)).collect()
        }
        other => panic!("expected a deployment, got {other:?}"),
    }
}

#[test]
fn redeploying_an_identical_resource_creates_no_new_version() {
    let mut t = TestEngine::new();
    let first = t.deploy(&one_task("a").xml());
    assert_eq!(versions(&first), vec![("p".into(), 1, true)]);
    let same = t.deploy(&one_task("a").xml());
    assert_eq!(versions(&same), vec![("p".into(), 1, false)]);
    let changed = t.deploy(&one_task("b").xml());
    assert_eq!(versions(&changed), vec![("p".into(), 2, true)]);
    assert_eq!(t.state().processes.len(), 2);
}

#[test]
fn instances_start_from_the_latest_version_by_default_or_the_one_asked_for() {
    let mut t = TestEngine::new();
    t.deploy(&one_task("v1").xml());
    t.deploy(&one_task("v2").xml());
    t.create("p", json!({}));
    assert_eq!(t.activate("v2", 1).len(), 1);
    let mut by_version = create_command("p", json!({}), Intent::Create);
    if let RecordValue::ProcessInstanceCreation(value) = &mut by_version.value {
        value.version = 1;
    }
    assert_eq!(t.send(by_version).rejection, None);
    assert_eq!(t.activate("v1", 1).len(), 1);
    let key = *t.state().versions["p"].first().unwrap();
    let mut by_key = create_command("", json!({}), Intent::Create);
    if let RecordValue::ProcessInstanceCreation(value) = &mut by_key.value {
        value.process_definition_key = key;
    }
    assert_eq!(t.send(by_key).rejection, None);
    assert_eq!(t.activate("v1", 1).len(), 1);
}

#[test]
fn creating_an_unknown_process_is_rejected_as_not_found() {
    let mut t = TestEngine::new();
    let response = t.send(create_command("nope", json!({}), Intent::Create));
    let rejection = response.rejection.unwrap();
    assert_eq!(rejection.rejection_type, RejectionType::NotFound);
    expect!["Expected to find process definition with process ID 'nope', but none found"].assert_eq(&rejection.reason);
}

#[test]
fn a_broken_model_is_rejected_with_every_problem_and_changes_nothing() {
    let mut t = TestEngine::new();
    let broken = Bpmn::process("p")
        .start("start")
        .element("serviceTask", "no_type", "", "")
        .xor("g", None)
        .end("a")
        .end("b")
        .element("boundaryEvent", "timer", r#"attachedToRef="no_type""#, "<bpmn:timerEventDefinition/>")
        .script("bad_feel", "=1 +", "x")
        .chain(&["start", "no_type", "g"])
        .flow("g", "a")
        .flow("g", "b")
        .flow("bad_feel", "ghost");
    let response = t.deploy(&broken.xml());
    let rejection = response.rejection.expect("rejected");
    assert_eq!(rejection.rejection_type, RejectionType::InvalidArgument);
    expect![[r#"
        Expected to deploy new resources, but encountered the following errors:
        'process.bpmn': invalid BPMN model: element 'no_type': a 'serviceTask' must have a job type (zeebe:taskDefinition type); element 'timer': a timer event must have exactly one of timeDate, timeDuration or timeCycle; element 'bad_feel': invalid FEEL expression in the script: failed to parse expression '1 +': syntax error: 1 +; element 'flow_5': the targetRef 'ghost' references an element that does not exist; element 'g': the outgoing sequence flow 'flow_3' has no condition; every outgoing flow of a exclusiveGateway with more than one must have a condition, except its default flow; element 'g': the outgoing sequence flow 'flow_4' has no condition; every outgoing flow of a exclusiveGateway with more than one must have a condition, except its default flow"#]].assert_eq(&rejection.reason);
    assert!(t.state().processes.is_empty());
}

#[test]
fn a_deployment_of_several_resources_is_all_or_nothing() {
    let mut t = TestEngine::new();
    let good = Resource { name: "good.bpmn".into(), content: one_task("a").xml().into_bytes() };
    let bad = Resource { name: "bad.bpmn".into(), content: b"<not-bpmn/>".to_vec() };
    let value = DeploymentRecord { resources: vec![good.clone(), bad], processes: vec![], ..Default::default() };
    let response = t.send(Command::new(Intent::Create, -1, RecordValue::Deployment(Box::new(value))));
    assert!(response.rejection.is_some());
    assert!(t.state().processes.is_empty());
    let value = DeploymentRecord { resources: vec![good], processes: vec![], ..Default::default() };
    assert_eq!(t.send(Command::new(Intent::Create, -1, RecordValue::Deployment(Box::new(value)))).rejection, None);
}

#[test]
fn create_with_result_is_answered_when_the_instance_completes() {
    let mut t = TestEngine::new();
    t.deploy_ok(&one_task("work"));
    let mut command = create_command("p", json!({"a": 1}), Intent::CreateWithAwaitingResult);
    command.request_id = Some(77);
    let output = t.run(command);
    assert!(output.responses.is_empty(), "no answer before the instance completes");
    let (key, _) = t.activate("work", 1).remove(0);
    let before = t.responses.len();
    t.complete(key, json!({"b": 2}));
    let answer = t.responses[before..].iter().find(|r| r.request_id == 77).expect("answered");
    match &answer.record.value {
        RecordValue::ProcessInstanceResult(result) => {
            assert_eq!(serde_json::Value::Object(result.variables.clone()), json!({"a": 1, "b": 2}));
        }
        other => panic!("expected a result, got {other:?}"),
    }
}

#[test]
fn a_cancelled_instance_answers_its_awaiting_request_with_a_rejection() {
    let mut t = TestEngine::new();
    t.deploy_ok(&one_task("work"));
    let mut command = create_command("p", json!({}), Intent::CreateWithAwaitingResult);
    command.request_id = Some(5);
    t.run(command);
    let pi = *t.state().awaiting_results.keys().next().unwrap();
    t.cancel(pi);
    let answer = t.responses.iter().find(|r| r.request_id == 5).expect("answered");
    assert_eq!(answer.rejection().unwrap().rejection_type, RejectionType::InvalidState);
    assert!(t.state().awaiting_results.is_empty());
}

#[test]
fn the_peer_reference_model_runs_with_workers() {
    let mut t = TestEngine::new();
    let response = t.deploy_named("wf3_jobs.bpmn", include_str!("../../model/tests/fixtures/wf3_jobs.zeebe.bpmn"));
    assert_eq!(response.rejection, None);
    let pi = t.create("wf3_jobs", json!({}));
    for (step, x) in [("step1", 1), ("step2", 2), ("step3", 3)] {
        t.work(step, json!({"x": x}));
    }
    assert!(t.is_completed(pi));
    let ended = t.log.iter().any(|r| {
        r.intent == Intent::ElementCompleted
            && matches!(&r.value, RecordValue::ProcessInstance(v) if &*v.element_id == "end_ok")
    });
    assert!(ended, "x = 3 takes the end_ok branch");
}

fn form(id: &str, label: &str) -> String {
    json!({
        "id": id,
        "type": "default",
        "schemaVersion": 16,
        "components": [{ "key": "approved", "label": label, "type": "checkbox" }]
    })
    .to_string()
}

fn deploy_resources(t: &mut TestEngine, resources: &[(&str, String)]) -> Record {
    let resources = resources
        .iter()
        .map(|(name, content)| Resource { name: name.to_string(), content: content.clone().into_bytes() });
    let value = DeploymentRecord { resources: resources.collect(), ..DeploymentRecord::default() };
    t.send(Command::new(Intent::Create, -1, RecordValue::Deployment(Box::new(value))))
}

fn forms(record: &Record) -> Vec<(String, i32, bool)> {
    match &record.value {
        RecordValue::Deployment(d) => d.forms.iter().map(|f| (f.form_id.clone(), f.version, f.duplicate)).collect(),
        other => panic!("expected a deployment, got {other:?}"),
    }
}

#[test]
fn forms_deploy_with_processes_and_are_versioned_by_their_id() {
    let mut t = TestEngine::new();
    t.mark();
    let first = deploy_resources(&mut t, &[("p.bpmn", one_task("a").xml()), ("approve.form", form("approve", "OK?"))]);
    assert_eq!(forms(&first), vec![("approve".into(), 1, false)]);
    assert_eq!(versions(&first), vec![("p".into(), 1, true)]);
    expect![[r#"
        C DEPLOYMENT CREATE
        E PROCESS CREATED p:1
        E FORM CREATED approve:1
        E DEPLOYMENT CREATED [p:1]
    "#]]
    .assert_eq(&t.rendered());
    let same = deploy_resources(&mut t, &[("approve.form", form("approve", "OK?"))]);
    assert_eq!(forms(&same), vec![("approve".into(), 1, true)]);
    let changed = deploy_resources(&mut t, &[("approve.form", form("approve", "Approved?"))]);
    assert_eq!(forms(&changed), vec![("approve".into(), 2, false)]);
    assert_eq!(t.state().latest_form("approve").map(|f| f.metadata.version), Some(2));

    // Deleting the latest version makes the one before it the latest again.
    let RecordValue::Deployment(changed) = &changed.value else { unreachable!() };
    let key = changed.forms[0].form_key;
    let deleted = t.send(Command::new(
        Intent::Delete,
        -1,
        RecordValue::ResourceDeletion(ResourceDeletionRecord { resource_key: key }),
    ));
    assert_eq!(deleted.rejection, None);
    assert_eq!(t.state().latest_form("approve").map(|f| f.metadata.version), Some(1));
}

#[test]
fn a_form_without_an_id_is_refused_with_the_resource_named() {
    let mut t = TestEngine::new();
    let answer = deploy_resources(
        &mut t,
        &[("p.bpmn", one_task("a").xml()), ("bad.form", "{\"components\": []}".into()), ("worse.form", "{".into())],
    );
    let reason = answer.rejection.expect("rejected").reason;
    assert!(reason.contains("'bad.form': expected the form to have a non-empty string 'id'"), "{reason}");
    assert!(reason.contains("'worse.form': expected a form as JSON"), "{reason}");
    assert!(t.state().processes.is_empty(), "nothing deployed");
}
