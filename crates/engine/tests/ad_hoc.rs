//! Ad-hoc subprocesses: the active elements collection, inner flows in scopes of their own, the
//! output collection, the completion condition with and without cancelling the rest, boundary
//! events on the subprocess, and the deploy-time checks.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

/// `start → review (ad-hoc: a, b, c → c_next) → end`, with `attrs` on the subprocess and `extra`
/// (a completion condition) after its elements.
fn model(ad_hoc: &str, attrs: &str, extra: &str) -> Bpmn {
    let inner = Bpmn::process("review")
        .service("a", "a")
        .service("b", "b")
        .service("c", "c")
        .service("c_next", "c_next")
        .flow("c", "c_next");
    let body = format!(
        r#"<bpmn:extensionElements><zeebe:adHoc {ad_hoc}/></bpmn:extensionElements>{}{extra}"#,
        inner_body(&inner)
    );
    Bpmn::process("p")
        .start("start")
        .element("adHocSubProcess", "review", attrs, &body)
        .end("end")
        .chain(&["start", "review", "end"])
}

/// The elements of a builder, without the process around them.
fn inner_body(inner: &Bpmn) -> String {
    let xml = inner.xml();
    let start = xml.find(r#"isExecutable="true">"#).unwrap() + r#"isExecutable="true">"#.len();
    let end = xml.rfind("</bpmn:process>").unwrap();
    xml[start..end].to_string()
}

fn condition(text: &str) -> String {
    format!(
        r#"<bpmn:completionCondition xsi:type="bpmn:tFormalExpression">{}</bpmn:completionCondition>"#,
        escape(text)
    )
}

const COLLECT: &str = r#"activeElementsCollection="= toDo" outputCollection="results" outputElement="= result""#;

#[test]
fn the_named_elements_run_each_in_a_scope_of_its_own_and_their_outputs_are_collected() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model(COLLECT, "", ""));
    t.mark();
    let pi = t.create("p", json!({"toDo": ["a", "c"]}));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATING PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATED PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_1
        E PROCESS_INSTANCE ELEMENT_ACTIVATING AD_HOC_SUB_PROCESS review
        E PROCESS_INSTANCE ELEMENT_ACTIVATED AD_HOC_SUB_PROCESS review
        E PROCESS_INSTANCE ELEMENT_ACTIVATING AD_HOC_SUB_PROCESS_INNER_INSTANCE review
        E PROCESS_INSTANCE ELEMENT_ACTIVATED AD_HOC_SUB_PROCESS_INNER_INSTANCE review
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK a
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK a
        E PROCESS_INSTANCE ELEMENT_ACTIVATING AD_HOC_SUB_PROCESS_INNER_INSTANCE review
        E PROCESS_INSTANCE ELEMENT_ACTIVATED AD_HOC_SUB_PROCESS_INNER_INSTANCE review
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK c
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK c"#]]
    .assert_eq(&t.lifecycle());
    assert!(t.activate("b", 10).is_empty(), "b was not named");

    t.work("a", json!({"result": "from a"}));
    assert!(!t.is_completed(pi));
    assert!(!t.process_variables(pi).as_object().unwrap().contains_key("result"), "results stay in their flow");
    t.work("c", json!({"result": "from c"}));
    assert!(!t.is_completed(pi), "c's flow goes on to c_next");
    t.work("c_next", json!({"result": "from c_next"}));
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["results"], json!(["from a", "from c_next"]));
    assert!(!t.final_variables(pi).as_object().unwrap().contains_key("result"));
}

#[test]
fn with_nothing_to_activate_the_subprocess_stays_active() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model(COLLECT, "", ""));
    let pi = t.create("p", json!({"toDo": []}));
    assert!(!t.is_completed(pi));
    let active: Vec<_> = t.state().element_instances.values().map(|e| e.value.element_id.to_string()).collect();
    assert!(active.contains(&"review".to_string()), "{active:?}");
    // Cancelling it still works.
    assert_eq!(t.cancel(pi).rejection, None);
    assert!(t.state().element_instances.is_empty());
}

#[test]
fn the_completion_condition_terminates_the_remaining_flows() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model(COLLECT, "", &condition("= result = \"done\"")));
    let pi = t.create("p", json!({"toDo": ["a", "b", "c"]}));
    t.work("a", json!({"result": "not yet"}));
    assert!(!t.is_completed(pi));
    t.mark();
    t.work("b", json!({"result": "done"}));
    assert!(t.is_completed(pi));
    let lifecycle = t.lifecycle();
    assert!(lifecycle.contains("ELEMENT_TERMINATED SERVICE_TASK c"), "{lifecycle}");
    assert!(t.state().jobs.is_empty(), "c's job is canceled");
    assert_eq!(t.final_variables(pi)["results"], json!(["not yet", "done"]));
}

#[test]
fn without_cancel_remaining_instances_the_rest_is_awaited() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model(COLLECT, r#"cancelRemainingInstances="false""#, &condition("= count(results) >= 1")));
    let pi = t.create("p", json!({"toDo": ["a", "b"]}));
    t.work("a", json!({"result": 1}));
    assert!(!t.is_completed(pi), "b still runs");
    t.work("b", json!({"result": 2}));
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["results"], json!([1, 2]));
}

#[test]
fn a_false_completion_condition_keeps_the_subprocess_waiting() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model(COLLECT, "", &condition("= false")));
    let pi = t.create("p", json!({"toDo": ["a"]}));
    t.work("a", json!({"result": 1}));
    assert!(!t.is_completed(pi));
    assert!(t.state().element_instances.values().any(|e| &*e.value.element_id == "review"));
}

#[test]
fn an_unknown_element_id_raises_an_incident_that_names_it() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model(COLLECT, "", ""));
    let pi = t.create("p", json!({"toDo": ["a", "nope"]}));
    let incidents: Vec<_> = t.state().incidents.values().map(|i| i.error_message.clone()).collect();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert!(incidents[0].contains("\"nope\"") && incidents[0].contains("review"), "{incidents:?}");
    assert!(t.activate("a", 10).is_empty(), "nothing started");
    // Fixed and resolved: the subprocess starts what the collection names now.
    t.set_variables(pi, json!({"toDo": ["a"]}), false);
    let incident = t.incident_keys()[0];
    assert_eq!(t.resolve(incident).rejection, None);
    t.work("a", json!({"result": 1}));
    assert!(t.is_completed(pi));
}

#[test]
fn an_interrupting_boundary_event_on_the_subprocess_terminates_its_flows() {
    let inner = Bpmn::process("review").service("a", "a");
    let body = format!(
        r#"<bpmn:extensionElements><zeebe:adHoc activeElementsCollection="= [&quot;a&quot;]"/></bpmn:extensionElements>{}"#,
        inner_body(&inner)
    );
    let bpmn = Bpmn::process("p")
        .start("start")
        .element("adHocSubProcess", "review", "", &body)
        .element(
            "boundaryEvent",
            "late",
            r#"attachedToRef="review""#,
            r#"<bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition>"#,
        )
        .end("end")
        .end("too_late")
        .chain(&["start", "review", "end"])
        .flow("late", "too_late");
    let mut t = TestEngine::new();
    t.deploy_ok(&bpmn);
    let pi = t.create("p", json!({}));
    assert_eq!(t.activate("a", 10).len(), 1);
    t.mark();
    t.advance(60_000);
    assert!(t.is_completed(pi));
    let lifecycle = t.lifecycle();
    assert!(lifecycle.contains("ELEMENT_TERMINATED AD_HOC_SUB_PROCESS_INNER_INSTANCE review"), "{lifecycle}");
    assert!(lifecycle.contains("ELEMENT_COMPLETED END_EVENT too_late"), "{lifecycle}");
    assert!(t.state().jobs.is_empty());
}

#[test]
fn start_and_end_events_inside_are_refused_at_deploy() {
    let inner = Bpmn::process("review").start("inner_start").service("a", "a").end("inner_end");
    let bpmn = Bpmn::process("p")
        .start("start")
        .element("adHocSubProcess", "review", "", &inner_body(&inner))
        .end("end")
        .chain(&["start", "review", "end"]);
    let mut t = TestEngine::new();
    let rejection = t.deploy(&bpmn.xml()).rejection.expect("refused").reason;
    for expected in ["inner_start", "inner_end"] {
        assert!(rejection.contains(expected), "{expected}: {rejection}");
    }
}

/// `start → agent (ad-hoc, job type "agent": a, b → b_next) → end`.
fn worker_model() -> Bpmn {
    let inner = Bpmn::process("agent")
        .element(
            "serviceTask",
            "a",
            r#"name="Look up""#,
            r#"<bpmn:documentation>Finds the customer</bpmn:documentation><bpmn:extensionElements><zeebe:taskDefinition type="a"/><zeebe:properties><zeebe:property name="kind" value="tool"/></zeebe:properties></bpmn:extensionElements>"#,
        )
        .service("b", "b")
        .service("b_next", "b_next")
        .flow("b", "b_next");
    let body = format!(
        r#"<bpmn:extensionElements><zeebe:taskDefinition type="agent" retries="2"/><zeebe:adHoc outputCollection="results" outputElement="= result"/></bpmn:extensionElements>{}"#,
        inner_body(&inner)
    );
    Bpmn::process("p")
        .start("start")
        .element("adHocSubProcess", "agent", "", &body)
        .end("end")
        .chain(&["start", "agent", "end"])
}

fn complete_with(t: &mut TestEngine, key: i64, variables: serde_json::Value, result: AdHocJobResult) -> Record {
    t.job_command(Intent::Complete, key, |job| {
        job.variables = object(variables);
        job.ad_hoc_result = Some(Box::new(result));
    })
}

fn activate_elements(elements: &[(&str, serde_json::Value)]) -> AdHocJobResult {
    AdHocJobResult {
        activate_elements: elements.iter().map(|(id, vars)| (id.to_string(), object(vars.clone()))).collect(),
        ..AdHocJobResult::default()
    }
}

#[test]
fn a_job_worker_decides_what_runs_and_when_the_subprocess_is_done() {
    let mut t = TestEngine::new();
    t.deploy_ok(&worker_model());
    let pi = t.create("p", json!({}));
    let jobs = t.activate("agent", 10);
    assert_eq!(jobs.len(), 1);
    let (agent_job, job) = &jobs[0];
    assert_eq!(job.kind, JobKind::AdHocSubProcess);
    assert_eq!(
        job.variables["adHocSubProcessElements"],
        json!([
            {"elementId": "a", "elementName": "Look up", "documentation": "Finds the customer",
             "properties": {"kind": "tool"}, "parameters": []},
            {"elementId": "b", "elementName": "", "documentation": "", "properties": {}, "parameters": []}
        ]),
        "b_next is reached by a flow, so no worker starts it"
    );

    let response =
        complete_with(&mut t, *agent_job, json!({"memory": 1}), activate_elements(&[("a", json!({"query": "ada"}))]));
    assert_eq!(response.rejection, None);
    let a_jobs = t.activate("a", 10);
    assert_eq!(a_jobs.len(), 1);
    assert_eq!(a_jobs[0].1.variables["query"], json!("ada"), "the element's variables reach its flow");
    assert_eq!(a_jobs[0].1.variables["memory"], json!(1), "the worker's variables stay in the subprocess");
    assert!(!t.process_variables(pi).as_object().unwrap().contains_key("memory"));
    assert!(t.activate("agent", 10).is_empty(), "no job while the worker has nothing to decide");

    t.complete(a_jobs[0].0, json!({"result": "found"}));
    let jobs = t.activate("agent", 10);
    assert_eq!(jobs.len(), 1, "a finished flow asks the worker again");
    let done =
        AdHocJobResult { completion_condition_fulfilled: true, cancel_remaining_instances: true, ..Default::default() };
    assert_eq!(complete_with(&mut t, jobs[0].0, json!({}), done).rejection, None);
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["results"], json!(["found"]));
    assert!(!t.final_variables(pi).as_object().unwrap().contains_key("memory"));
}

#[test]
fn a_finished_flow_replaces_the_job_a_worker_still_holds() {
    let mut t = TestEngine::new();
    t.deploy_ok(&worker_model());
    let pi = t.create("p", json!({}));
    let agent = t.activate("agent", 10)[0].0;
    complete_with(&mut t, agent, json!({}), activate_elements(&[("a", json!({})), ("b", json!({}))]));
    t.work("a", json!({"result": 1}));
    let held = t.activate("agent", 10)[0].0;
    t.work("b", json!({"result": 2}));
    assert!(t.state().jobs.contains_key(&held), "b's flow goes on to b_next");
    t.work("b_next", json!({"result": 3}));
    let stale = complete_with(&mut t, held, json!({}), AdHocJobResult::default());
    assert_eq!(stale.rejection.expect("replaced").rejection_type, RejectionType::NotFound);
    let current = t.activate("agent", 10)[0].0;
    let done =
        AdHocJobResult { completion_condition_fulfilled: true, cancel_remaining_instances: true, ..Default::default() };
    assert_eq!(complete_with(&mut t, current, json!({}), done).rejection, None);
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["results"], json!([1, 3]));
    assert!(t.state().jobs.is_empty());
}

#[test]
fn a_worker_result_naming_unknown_elements_or_doing_both_is_rejected_and_changes_nothing() {
    let mut t = TestEngine::new();
    t.deploy_ok(&worker_model());
    t.create("p", json!({}));
    let agent = t.activate("agent", 10)[0].0;
    let rejection =
        complete_with(&mut t, agent, json!({}), activate_elements(&[("a", json!({})), ("nope", json!({}))]))
            .rejection
            .expect("rejected");
    assert_eq!(rejection.rejection_type, RejectionType::InvalidArgument);
    assert!(rejection.reason.contains("'nope'") && rejection.reason.contains("'agent'"), "{}", rejection.reason);
    let both = AdHocJobResult { completion_condition_fulfilled: true, ..activate_elements(&[("a", json!({}))]) };
    let rejection = complete_with(&mut t, agent, json!({}), both).rejection.expect("rejected");
    assert!(rejection.reason.contains("does both"), "{}", rejection.reason);
    assert!(t.activate("a", 10).is_empty());
    assert!(t.state().jobs.contains_key(&agent), "the job is still there");

    // A result for a job that is no ad-hoc subprocess's is refused too.
    assert_eq!(complete_with(&mut t, agent, json!({}), activate_elements(&[("a", json!({}))])).rejection, None);
    let a = t.activate("a", 10)[0].0;
    let rejection =
        complete_with(&mut t, a, json!({}), activate_elements(&[("b", json!({}))])).rejection.expect("rejected");
    assert!(rejection.reason.contains("not an ad-hoc subprocess"), "{}", rejection.reason);
}

#[test]
fn a_modification_cannot_activate_an_element_inside_an_ad_hoc_subprocess() {
    let mut t = TestEngine::new();
    t.deploy_ok(&model(COLLECT, "", ""));
    let pi = t.create("p", json!({"toDo": ["a"]}));
    let value = ProcessInstanceModificationRecord {
        process_instance_key: pi,
        activate_instructions: vec![ActivateInstruction {
            element_id: "b".to_string(),
            ancestor_element_instance_key: -1,
            variable_instructions: Vec::new(),
        }],
        terminate_instructions: Vec::new(),
        created_scope_keys: Vec::new(),
    };
    let response = t.send(Command::new(Intent::Modify, pi, RecordValue::ProcessInstanceModification(value)));
    let rejection = response.rejection.expect("rejected");
    assert_eq!(rejection.rejection_type, RejectionType::InvalidArgument);
    assert!(rejection.reason.contains("'b' is inside an ad-hoc subprocess"), "{}", rejection.reason);
    assert!(t.activate("b", 10).is_empty());
}
