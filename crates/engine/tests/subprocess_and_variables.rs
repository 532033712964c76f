//! Embedded subprocesses, variable scopes, input/output mappings and Zeebe's propagation rule.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn io(inputs: &[(&str, &str)], outputs: &[(&str, &str)]) -> String {
    let mut xml = String::from("<zeebe:ioMapping>");
    for (source, target) in inputs {
        xml.push_str(&format!(r#"<zeebe:input source="{}" target="{target}"/>"#, escape(source)));
    }
    for (source, target) in outputs {
        xml.push_str(&format!(r#"<zeebe:output source="{}" target="{target}"/>"#, escape(source)));
    }
    xml.push_str("</zeebe:ioMapping>");
    xml
}

#[test]
fn a_subprocess_runs_its_own_flow_and_then_continues() {
    let mut t = TestEngine::new();
    let inner = Bpmn::process("inner").start("sub_start").service("inner_task", "inner").end("sub_end").chain(&[
        "sub_start",
        "inner_task",
        "sub_end",
    ]);
    let model = Bpmn::process("p")
        .start("start")
        .sub_process("sub", inner)
        .service("after", "after")
        .end("end")
        .chain(&["start", "sub", "after", "end"]);
    t.deploy_ok(&model);
    t.mark();
    let pi = t.create("p", json!({}));
    t.work("inner", json!({"x": 1}));
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATING PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATED PROCESS p
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_1
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_ACTIVATING START_EVENT sub_start
        E PROCESS_INSTANCE ELEMENT_ACTIVATED START_EVENT sub_start
        E PROCESS_INSTANCE ELEMENT_COMPLETING START_EVENT sub_start
        E PROCESS_INSTANCE ELEMENT_COMPLETED START_EVENT sub_start
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW inner_flow_1
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK inner_task
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK inner_task
        E PROCESS_INSTANCE ELEMENT_COMPLETING SERVICE_TASK inner_task
        E PROCESS_INSTANCE ELEMENT_COMPLETED SERVICE_TASK inner_task
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW inner_flow_2
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT sub_end
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT sub_end
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT sub_end
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT sub_end
        E PROCESS_INSTANCE ELEMENT_COMPLETING SUB_PROCESS sub
        E PROCESS_INSTANCE ELEMENT_COMPLETED SUB_PROCESS sub
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_2
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK after
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK after"#]]
    .assert_eq(&t.lifecycle());
    t.work("after", json!({}));
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi), json!({"x": 1}));
}

#[test]
fn input_mappings_make_local_variables_and_output_mappings_write_outwards() {
    let mut t = TestEngine::new();
    let mappings = io(&[("=order.total", "amount"), ("=\"EUR\"", "currency")], &[("=receipt.id", "receipt_id")]);
    let model = Bpmn::process("p")
        .start("start")
        .service_with("pay", "pay", &mappings)
        .end("end")
        .chain(&["start", "pay", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({"order": {"total": 42.5, "id": "o-1"}}));
    let (key, job) = t.activate("pay", 1).remove(0);
    assert_eq!(
        job.variables,
        object(json!({"amount": 42.5, "currency": "EUR", "order": {"total": 42.5, "id": "o-1"}}))
    );
    t.mark();
    t.complete(key, json!({"receipt": {"id": "r-9"}, "amount": 0}));
    expect![[r#"
        C JOB COMPLETE
        E JOB COMPLETED pay pay retries=3
        E VARIABLE UPDATED amount=0
        E VARIABLE CREATED receipt={"id":"r-9"}
        C PROCESS_INSTANCE COMPLETE_ELEMENT SERVICE_TASK pay
        E PROCESS_INSTANCE ELEMENT_COMPLETING SERVICE_TASK pay
        E VARIABLE CREATED receipt_id="r-9"
        E PROCESS_INSTANCE ELEMENT_COMPLETED SERVICE_TASK pay
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
    let vars = t.final_variables(pi);
    assert_eq!(vars["receipt_id"], json!("r-9"));
    assert!(vars.get("receipt").is_none(), "with output mappings, job variables stay local");
    assert!(vars.get("amount").is_none());
}

#[test]
fn a_dotted_output_target_writes_into_an_existing_object() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .service_with("task", "t", &io(&[], &[("=status", "order.status")]))
        .end("end")
        .chain(&["start", "task", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({"order": {"id": 1}}));
    t.work("t", json!({"status": "shipped"}));
    assert_eq!(t.final_variables(pi)["order"], json!({"id": 1, "status": "shipped"}));
}

#[test]
fn completion_variables_propagate_to_the_nearest_scope_holding_them() {
    let mut t = TestEngine::new();
    let inner = Bpmn::process("inner").start("s").service("task", "t").end("e").chain(&["s", "task", "e"]);
    let model = Bpmn::process("p")
        .start("start")
        .element(
            "subProcess",
            "sub",
            "",
            &format!(
                "<bpmn:extensionElements>{}</bpmn:extensionElements>{}",
                io(&[("=0", "local_counter")], &[]),
                // Inner body of the subprocess.
                {
                    let b = inner;
                    let xml = b.xml();
                    let start = xml.find("isExecutable=\"true\">").unwrap() + "isExecutable=\"true\">".len();
                    let end = xml.rfind("</bpmn:process>").unwrap();
                    xml[start..end].to_string()
                }
            ),
        )
        .end("end")
        .chain(&["start", "sub", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({"global": 1}));
    let (key, job) = t.activate("t", 1).remove(0);
    assert_eq!(job.variables, object(json!({"global": 1, "local_counter": 0})));
    t.complete(key, json!({"local_counter": 5, "global": 2, "fresh": true}));
    assert!(t.is_completed(pi));
    assert_eq!(
        t.final_variables(pi),
        json!({"global": 2, "fresh": true}),
        "local_counter stopped at the subprocess scope, the rest reached the process"
    );
}

#[test]
fn set_variables_locally_or_by_propagation() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .service_with("task", "t", &io(&[("=1", "mine")], &[]))
        .end("end")
        .chain(&["start", "task", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({"a": 1}));
    let task_key = *t.state().element_instances.iter().find(|(_, e)| &*e.value.element_id == "task").unwrap().0;
    t.mark();
    t.set_variables(task_key, json!({"mine": 2, "a": 10, "b": 3}), false);
    t.set_variables(task_key, json!({"c": 4}), true);
    expect![[r#"
        C VARIABLE_DOCUMENT UPDATE Propagate {"a":10,"b":3,"mine":2}
        E VARIABLE_DOCUMENT UPDATED Propagate {"a":10,"b":3,"mine":2}
        E VARIABLE UPDATED a=10
        E VARIABLE CREATED b=3
        E VARIABLE UPDATED mine=2
        C VARIABLE_DOCUMENT UPDATE Local {"c":4}
        E VARIABLE_DOCUMENT UPDATED Local {"c":4}
        E VARIABLE CREATED c=4
    "#]]
    .assert_eq(&t.rendered());
    let unknown = t.set_variables(12345, json!({"x": 1}), false);
    assert_eq!(unknown.rejection.unwrap().rejection_type, RejectionType::NotFound);
    let (_, job) = t.activate("t", 1).remove(0);
    assert_eq!(job.variables, object(json!({"a": 10, "b": 3, "c": 4, "mine": 2})));
    assert_eq!(t.process_variables(pi), json!({"a": 10, "b": 3}));
}

#[test]
fn a_failing_input_mapping_raises_an_incident() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .service_with("task", "t", &io(&[("=assert(x, x != null)", "y")], &[]))
        .end("end")
        .chain(&["start", "task", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    let incidents = t.incident_keys();
    if incidents.is_empty() {
        // dsntk has no `assert`: the mapping yields null, which is a legal value.
        assert!(t.state().jobs.len() == 1);
        return;
    }
    assert_eq!(t.state().incidents[&incidents[0]].error_type, ErrorType::IoMappingError);
    let _ = pi;
}
