//! Multi-instance activities: parallel and sequential, input and output collections, the
//! completion condition, boundary events on the body, and empty collections.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn loop_xml(sequential: bool, characteristics: &str, completion: Option<&str>) -> String {
    let condition = completion
        .map(|c| {
            format!(
                r#"<bpmn:completionCondition xsi:type="bpmn:tFormalExpression">{}</bpmn:completionCondition>"#,
                escape(c)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}"><bpmn:extensionElements><zeebe:loopCharacteristics {characteristics}/></bpmn:extensionElements>{condition}</bpmn:multiInstanceLoopCharacteristics>"#
    )
}

fn task_model(sequential: bool, characteristics: &str, completion: Option<&str>) -> Bpmn {
    let inner = format!(
        r#"<bpmn:extensionElements><zeebe:taskDefinition type="work"/></bpmn:extensionElements>{}"#,
        loop_xml(sequential, characteristics, completion)
    );
    Bpmn::process("p")
        .start("start")
        .element("serviceTask", "task", "", &inner)
        .end("end")
        .chain(&["start", "task", "end"])
}

const COLLECT: &str =
    r#"inputCollection="= items" inputElement="item" outputCollection="results" outputElement="= result""#;

#[test]
fn a_parallel_multi_instance_task_runs_one_job_per_item_and_collects_the_results_in_item_order() {
    let mut t = TestEngine::new();
    t.deploy_ok(&task_model(false, COLLECT, None));
    t.mark();
    let pi = t.create("p", json!({"items": [10, 20, 30]}));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATING PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATED PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_1
        E PROCESS_INSTANCE ELEMENT_ACTIVATING MULTI_INSTANCE_BODY task
        E PROCESS_INSTANCE ELEMENT_ACTIVATED MULTI_INSTANCE_BODY task
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK task
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK task"#]]
    .assert_eq(&t.lifecycle());
    let jobs = t.activate("work", 10);
    assert_eq!(jobs.len(), 3);
    let items: Vec<_> =
        jobs.iter().map(|(_, job)| (job.variables["item"].clone(), job.variables["loopCounter"].clone())).collect();
    assert_eq!(items, vec![(json!(10), json!(1)), (json!(20), json!(2)), (json!(30), json!(3))]);
    // Completed out of order: the results still follow the items.
    for (key, job) in jobs.iter().rev() {
        let doubled = job.variables["item"].as_i64().unwrap() * 2;
        assert_eq!(t.complete(*key, json!({"result": doubled})).rejection, None);
        assert!(!t.process_variables(pi).as_object().unwrap().contains_key("result"), "result stays local");
    }
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["results"], json!([20, 40, 60]));
}

#[test]
fn a_sequential_multi_instance_task_runs_the_items_one_after_the_other() {
    let mut t = TestEngine::new();
    t.deploy_ok(&task_model(true, COLLECT, None));
    let pi = t.create("p", json!({"items": ["a", "b"]}));
    for (expected, result) in [("a", "A"), ("b", "B")] {
        let jobs = t.activate("work", 10);
        assert_eq!(jobs.len(), 1, "one inner instance at a time");
        assert_eq!(jobs[0].1.variables["item"], json!(expected));
        t.complete(jobs[0].0, json!({"result": result}));
    }
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["results"], json!(["A", "B"]));
}

#[test]
fn an_empty_input_collection_completes_the_body_at_once() {
    let mut t = TestEngine::new();
    t.deploy_ok(&task_model(false, COLLECT, None));
    t.mark();
    let pi = t.create("p", json!({"items": []}));
    assert!(t.is_completed(pi));
    assert!(t.activate("work", 10).is_empty());
    assert_eq!(t.final_variables(pi)["results"], json!([]));
}

#[test]
fn the_completion_condition_terminates_the_remaining_inner_instances() {
    let mut t = TestEngine::new();
    t.deploy_ok(&task_model(false, COLLECT, Some("= result = \"found\" or numberOfCompletedInstances >= 3")));
    let pi = t.create("p", json!({"items": [1, 2, 3, 4]}));
    let jobs = t.activate("work", 10);
    t.complete(jobs[0].0, json!({"result": "nothing"}));
    assert!(!t.is_completed(pi));
    t.mark();
    t.complete(jobs[1].0, json!({"result": "found"}));
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["results"], json!(["nothing", "found", null, null]));
    let terminated = t.lifecycle().lines().filter(|l| l.contains("ELEMENT_TERMINATED SERVICE_TASK")).count();
    assert_eq!(terminated, 2);
    assert!(t.state().jobs.is_empty(), "the jobs of the terminated inner instances are canceled");
}

#[test]
fn an_input_collection_that_is_not_a_list_raises_an_incident_on_the_body() {
    let mut t = TestEngine::new();
    t.deploy_ok(&task_model(false, COLLECT, None));
    let pi = t.create("p", json!({"items": "oops"}));
    let incidents: Vec<_> = t.state().incidents.values().cloned().collect();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].error_type, ErrorType::ExtractValueError);
    assert_eq!(incidents[0].error_message, "Expected result of the expression 'items' to be 'ARRAY', but was 'STRING'");
    t.set_variables(pi, json!({"items": [1]}), false);
    let key = t.incident_keys()[0];
    assert_eq!(t.resolve(key).rejection, None);
    t.work("work", json!({"result": 1}));
    assert!(t.is_completed(pi));
}

#[test]
fn a_boundary_event_on_a_multi_instance_activity_belongs_to_the_body() {
    let mut t = TestEngine::new();
    let inner = format!(
        r#"<bpmn:extensionElements><zeebe:taskDefinition type="work"/></bpmn:extensionElements>{}"#,
        loop_xml(false, r#"inputCollection="= items""#, None)
    );
    let model = Bpmn::process("p")
        .start("start")
        .element("serviceTask", "task", "", &inner)
        .end("end")
        .element("boundaryEvent", "failed", r#"attachedToRef="task""#, "<bpmn:errorEventDefinition/>")
        .end("handled")
        .chain(&["start", "task", "end"])
        .flow("failed", "handled");
    t.deploy_ok(&model);
    let pi = t.create("p", json!({"items": [1, 2]}));
    let jobs = t.activate("work", 10);
    t.mark();
    let thrown = t.job_command(Intent::ThrowError, jobs[0].0, |job| job.error_code = "boom".into());
    assert_eq!(thrown.rejection, None);
    assert!(t.is_completed(pi));
    let lifecycle = t.lifecycle();
    assert!(lifecycle.contains("ELEMENT_TERMINATED MULTI_INSTANCE_BODY task"), "{lifecycle}");
    assert!(lifecycle.contains("ELEMENT_COMPLETED END_EVENT handled"), "{lifecycle}");
    assert!(t.state().jobs.is_empty());
}

#[test]
fn a_multi_instance_subprocess_gives_each_inner_instance_its_own_scope() {
    let mut t = TestEngine::new();
    let body = Bpmn::process("sub")
        .start("s_start")
        .service("s_task", "work")
        .end("s_end")
        .chain(&["s_start", "s_task", "s_end"]);
    let sub = format!(
        "{}{}",
        loop_xml(
            true,
            r#"inputCollection="= orders" inputElement="order" outputCollection="ids" outputElement="= order.id""#,
            None
        ),
        {
            let xml = Bpmn::process("x").sub_process("unused", body).xml();
            let start =
                xml.find("<bpmn:subProcess id=\"unused\" >").unwrap() + "<bpmn:subProcess id=\"unused\" >".len();
            let end = xml.rfind("</bpmn:subProcess>").unwrap();
            xml[start..end].to_string()
        }
    );
    let model = Bpmn::process("p")
        .start("start")
        .element("subProcess", "each", "", &sub)
        .end("end")
        .chain(&["start", "each", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({"orders": [{"id": "o1"}, {"id": "o2"}]}));
    for expected in ["o1", "o2"] {
        let jobs = t.activate("work", 10);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].1.variables["order"]["id"], json!(expected));
        t.complete(jobs[0].0, json!({}));
    }
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["ids"], json!(["o1", "o2"]));
}

#[test]
fn a_multi_instance_activity_without_an_input_collection_is_rejected_at_deploy() {
    let mut t = TestEngine::new();
    let response = t.deploy(&task_model(false, r#"inputElement="item""#, None).xml());
    let reason = response.rejection.expect("rejected").reason;
    assert!(reason.contains("element 'task': a multi-instance activity must have an input collection"), "{reason}");
}
