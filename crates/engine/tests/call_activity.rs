//! Call activities: the child process instance, variables in and out, cancellation from the
//! parent, errors from the child caught on the call activity, and a missing called process.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn call(id: &str, process_id: &str, extra_attrs: &str, mappings: &str) -> (String, String) {
    let inner = format!(
        r#"<bpmn:extensionElements><zeebe:calledElement processId="{process_id}" {extra_attrs}/>{mappings}</bpmn:extensionElements>"#
    );
    (id.to_string(), inner)
}

fn parent(process_id: &str, extra_attrs: &str, mappings: &str) -> Bpmn {
    let (id, inner) = call("call", process_id, extra_attrs, mappings);
    Bpmn::process("parent")
        .start("start")
        .element("callActivity", &id, "", &inner)
        .end("end")
        .chain(&["start", "call", "end"])
}

fn child() -> Bpmn {
    Bpmn::process("child")
        .start("c_start")
        .service("c_task", "child-work")
        .end("c_end")
        .chain(&["c_start", "c_task", "c_end"])
}

#[test]
fn a_call_activity_runs_the_child_process_and_completes_with_it() {
    let mut t = TestEngine::new();
    t.deploy_ok(&child());
    t.deploy_ok(&parent("child", "", ""));
    t.mark();
    let pi = t.create("parent", json!({"order": 7}));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATING PROCESS parent
        E PROCESS_INSTANCE ELEMENT_ACTIVATED PROCESS parent
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW parent_flow_1
        E PROCESS_INSTANCE ELEMENT_ACTIVATING CALL_ACTIVITY call
        E PROCESS_INSTANCE ELEMENT_ACTIVATED CALL_ACTIVITY call
        E PROCESS_INSTANCE ELEMENT_ACTIVATING PROCESS child
        E PROCESS_INSTANCE ELEMENT_ACTIVATED PROCESS child
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT c_start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT c_start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT c_start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT c_start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW child_flow_1
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK c_task
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK c_task"#]]
    .assert_eq(&t.lifecycle());
    let jobs = t.activate("child-work", 1);
    let job = &jobs[0].1;
    assert_eq!(job.variables["order"], json!(7), "the child sees the parent's variables");
    assert_ne!(job.process_instance_key, pi);
    let child_root = t.state().element_instances[&job.process_instance_key].value.clone();
    assert_eq!(child_root.parent_process_instance_key, pi);
    assert!(t.state().element_instances.contains_key(&child_root.parent_element_instance_key));
    t.mark();
    t.complete(jobs[0].0, json!({"shipped": true}));
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["shipped"], json!(true), "the child's variables come back");
}

#[test]
fn without_propagating_all_child_variables_only_the_output_mappings_come_back() {
    let mut t = TestEngine::new();
    t.deploy_ok(&child());
    let mappings = r#"<zeebe:ioMapping><zeebe:input source="=order" target="orderId"/><zeebe:output source="=tracking" target="trackingNumber"/></zeebe:ioMapping>"#;
    t.deploy_ok(&parent(
        "child",
        r#"propagateAllChildVariables="false" propagateAllParentVariables="false""#,
        mappings,
    ));
    let pi = t.create("parent", json!({"order": 7, "secret": "x"}));
    let jobs = t.activate("child-work", 1);
    let seen = &jobs[0].1.variables;
    assert_eq!(seen.get("orderId"), Some(&json!(7)));
    assert_eq!(seen.get("secret"), None, "only the input mappings go to the child");
    t.complete(jobs[0].0, json!({"tracking": "T-1", "internal": 1}));
    assert!(t.is_completed(pi));
    let vars = t.final_variables(pi);
    assert_eq!(vars["trackingNumber"], json!("T-1"));
    assert_eq!(vars.get("internal"), None);
    assert_eq!(vars.get("tracking"), None);
}

#[test]
fn cancelling_the_parent_terminates_the_child_and_the_child_cannot_be_cancelled_alone() {
    let mut t = TestEngine::new();
    t.deploy_ok(&child());
    t.deploy_ok(&parent("child", "", ""));
    let pi = t.create("parent", json!({}));
    let jobs = t.activate("child-work", 1);
    let child_key = jobs[0].1.process_instance_key;
    let rejected = t.cancel(child_key);
    assert_eq!(rejected.rejection.map(|r| r.rejection_type), Some(RejectionType::InvalidState));
    t.mark();
    assert_eq!(t.cancel(pi).rejection, None);
    let lifecycle = t.lifecycle();
    for line in [
        "ELEMENT_TERMINATED SERVICE_TASK c_task",
        "ELEMENT_TERMINATED PROCESS child",
        "ELEMENT_TERMINATED CALL_ACTIVITY call",
        "ELEMENT_TERMINATED PROCESS parent",
    ] {
        assert!(lifecycle.contains(line), "{line} missing in\n{lifecycle}");
    }
    let child_ended = lifecycle.find("ELEMENT_TERMINATED PROCESS child").unwrap();
    let call_ended = lifecycle.find("ELEMENT_TERMINATED CALL_ACTIVITY call").unwrap();
    assert!(child_ended < call_ended, "the call activity waits for its child");
    assert!(t.state().element_instances.is_empty());
    assert!(t.state().jobs.is_empty());
}

#[test]
fn an_error_the_child_does_not_catch_is_caught_by_a_boundary_event_of_the_call_activity() {
    let mut t = TestEngine::new();
    t.deploy_ok(&child());
    let (id, inner) = call("call", "child", "", "");
    let model = Bpmn::process("parent")
        .start("start")
        .element("callActivity", &id, "", &inner)
        .end("end")
        .element("boundaryEvent", "failed", r#"attachedToRef="call""#, "<bpmn:errorEventDefinition/>")
        .end("handled")
        .chain(&["start", "call", "end"])
        .flow("failed", "handled");
    t.deploy_ok(&model);
    let pi = t.create("parent", json!({}));
    let jobs = t.activate("child-work", 1);
    let thrown = t.job_command(Intent::ThrowError, jobs[0].0, |job| job.error_code = "out-of-stock".into());
    assert_eq!(thrown.rejection, None);
    assert!(t.is_completed(pi));
    let lifecycle = t.lifecycle();
    assert!(lifecycle.contains("ELEMENT_COMPLETED END_EVENT handled"), "{lifecycle}");
    assert!(t.state().element_instances.is_empty());
}

#[test]
fn a_missing_called_process_raises_an_incident_that_resolves_once_it_is_deployed() {
    let mut t = TestEngine::new();
    t.deploy_ok(&parent("child", "", ""));
    let pi = t.create("parent", json!({}));
    let incident = t.state().incidents.values().next().cloned().expect("an incident");
    assert_eq!(incident.error_type, ErrorType::CalledElementError);
    assert_eq!(incident.error_message, "Expected process with BPMN process id 'child' to be deployed, but not found.");
    t.deploy_ok(&child());
    let key = t.incident_keys()[0];
    assert_eq!(t.resolve(key).rejection, None);
    t.work("child-work", json!({}));
    assert!(t.is_completed(pi));
}

#[test]
fn a_call_activity_without_a_process_id_is_rejected_at_deploy() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("parent")
        .start("start")
        .element("callActivity", "call", "", "")
        .end("end")
        .chain(&["start", "call", "end"]);
    let reason = t.deploy(&model.xml()).rejection.expect("rejected").reason;
    assert!(reason.contains("element 'call': a call activity must name the process it calls"), "{reason}");
}

fn child_version(job_type: &str, tag: &str) -> String {
    let xml = Bpmn::process("child")
        .start("c_start")
        .service("c_task", job_type)
        .end("c_end")
        .chain(&["c_start", "c_task", "c_end"])
        .xml();
    xml.replace(
        r#"<bpmn:process id="child" isExecutable="true">"#,
        &format!(r#"<bpmn:process id="child" isExecutable="true"><bpmn:extensionElements><zeebe:versionTag value="{tag}"/></bpmn:extensionElements>"#),
    )
}

#[test]
fn a_call_activity_can_call_the_version_deployed_with_it_or_one_with_a_version_tag() {
    let mut t = TestEngine::new();
    let together = DeploymentRecord {
        resources: vec![
            Resource { name: "child.bpmn".into(), content: child_version("v1-work", "stable").into_bytes() },
            Resource {
                name: "parent.bpmn".into(),
                content: parent("child", r#"bindingType="deployment""#, "").xml().into_bytes(),
            },
        ],
        ..DeploymentRecord::default()
    };
    assert_eq!(t.send(Command::new(Intent::Create, -1, RecordValue::Deployment(Box::new(together)))).rejection, None);
    assert_eq!(t.deploy_named("child.bpmn", &child_version("v2-work", "beta")).rejection, None);
    let pi = t.create("parent", json!({}));
    assert!(t.activate("v2-work", 1).is_empty(), "the latest child is not the one deployed with the parent");
    t.work("v1-work", json!({}));
    assert!(t.is_completed(pi));

    let tagged = Bpmn::process("tagged")
        .start("start")
        .element("callActivity", "call", "", r#"<bpmn:extensionElements><zeebe:calledElement processId="child" bindingType="versionTag" versionTag="stable"/></bpmn:extensionElements>"#)
        .end("end")
        .chain(&["start", "call", "end"]);
    t.deploy_ok(&tagged);
    let pi = t.create("tagged", json!({}));
    t.work("v1-work", json!({}));
    assert!(t.is_completed(pi));

    let bad = Bpmn::process("bad")
        .start("start")
        .element("callActivity", "call", "", r#"<bpmn:extensionElements><zeebe:calledElement processId="child" bindingType="foo"/></bpmn:extensionElements>"#)
        .end("end")
        .chain(&["start", "call", "end"]);
    let reason = t.deploy(&bad.xml()).rejection.expect("rejected").reason;
    assert!(reason.contains("element 'call': the bindingType 'foo'"), "{reason}");
}
