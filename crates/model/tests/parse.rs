use std::sync::Arc;

use baton_feel::Expression;
use baton_model::{
    Element, ElementKind, Error, EventDefinition, JobDefinition, Limits, Mapping, Problem, Process, Text,
    USER_TASK_JOB_TYPE, parse, parse_with,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn single(xml: &[u8]) -> Arc<Process> {
    let defs = parse(xml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(defs.processes.len(), 1);
    defs.processes[0].clone()
}

fn problems(xml: &[u8]) -> Vec<Problem> {
    match parse(xml) {
        Err(Error::Invalid(problems)) => problems,
        other => panic!("expected an invalid model, got {other:?}"),
    }
}

fn xml_error(xml: &[u8], limits: Limits) -> String {
    match parse_with(xml, limits) {
        Err(Error::Xml(message)) => message,
        other => panic!("expected an XML error, got {other:?}"),
    }
}

/// The problems about `id` whose message contains every one of `needles`.
fn find<'a>(problems: &'a [Problem], id: &str, needles: &[&str]) -> Vec<&'a Problem> {
    problems
        .iter()
        .filter(|p| p.element_id.as_deref() == Some(id) && needles.iter().all(|n| p.message.contains(n)))
        .collect()
}

fn assert_problem(problems: &[Problem], id: &str, needles: &[&str]) {
    assert_eq!(
        find(problems, id, needles).len(),
        1,
        "expected one problem on '{id}' mentioning {needles:?}; got {problems:#?}"
    );
}

fn el<'a>(p: &'a Process, id: &str) -> &'a Element {
    p.element_by_id(id).unwrap_or_else(|| panic!("no element '{id}'"))
}

fn flow_ids(p: &Process, flows: &[u32]) -> Vec<String> {
    flows.iter().map(|&f| p.flow(f).id.to_string()).collect()
}

fn expr(src: &str) -> Text {
    Text::Expression(Expression::parse(src).expect("valid FEEL"))
}

fn st(s: &str) -> Text {
    Text::Static(s.to_string())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A process around `body`, with the usual namespaces.
fn model(body: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs">
  <bpmn:process id="p" isExecutable="true">
    {body}
  </bpmn:process>
</bpmn:definitions>"#
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------------------------
// A realistic Camunda Modeler export
// ---------------------------------------------------------------------------------------------

#[test]
fn modeler_export_graph_shape() {
    let defs = parse(&fixture("order_fulfilment.bpmn")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(defs.id.as_deref(), Some("Definitions_1k3x9qz"));
    assert_eq!(defs.processes.len(), 1);
    let p = &defs.processes[0];
    assert_eq!(&*p.id, "order_fulfilment");
    assert_eq!(p.name.as_deref(), Some("Order fulfilment"));

    use ElementKind::*;
    let expected = [
        ("order_fulfilment", Process),
        ("StartEvent_1", StartEvent),
        ("Task_Check", ServiceTask),
        ("Gateway_Valid", ExclusiveGateway),
        ("EndEvent_Fraud", EndEvent),
        ("EndEvent_Rejected", TerminateEndEvent),
        ("Gateway_Fork", ParallelGateway),
        ("UserTask_Approve", UserTask),
        ("ScriptTask_Audit", ScriptTask),
        ("ScriptTask_Total", ScriptTask),
        ("BusinessRuleTask_Discount", BusinessRuleTask),
        ("SubProcess_Ship", SubProcess),
        ("StartEvent_Ship", StartEvent),
        ("SendTask_Notify", SendTask),
        ("Task_Pack", Task),
        ("ManualTask_Label", ManualTask),
        ("EndEvent_Ship", EndEvent),
        ("Gateway_Join", ParallelGateway),
        ("Gateway_Options", InclusiveGateway),
        ("Event_Express", IntermediateThrowEvent),
        ("Task_Gift", Task),
        ("Gateway_OptionsJoin", InclusiveGateway),
        ("EndEvent_Done", EndEvent),
    ];
    let actual: Vec<(&str, ElementKind)> = p.elements.iter().map(|e| (&*e.id, e.kind)).collect();
    assert_eq!(actual, expected);
    for (i, e) in p.elements.iter().enumerate() {
        assert_eq!(e.idx as usize, i);
        assert_eq!(p.by_id[&e.id], e.idx);
    }
    assert_eq!(p.by_id.len(), p.elements.len(), "lanes, annotations, data objects are not elements");

    let flows: Vec<&str> = p.flows.iter().map(|f| &*f.id).collect();
    assert_eq!(
        flows,
        [
            "Flow_1",
            "Flow_2",
            "Flow_Fraud",
            "Flow_Valid",
            "Flow_Invalid",
            "Flow_A",
            "Flow_A2",
            "Flow_A3",
            "Flow_B",
            "Flow_B2",
            "Flow_B3",
            "Flow_C",
            "Flow_S1",
            "Flow_S2",
            "Flow_S3",
            "Flow_S4",
            "Flow_C2",
            "Flow_D",
            "Flow_Express",
            "Flow_E2",
            "Flow_Gift",
            "Flow_G2",
            "Flow_Std",
            "Flow_End",
        ]
    );
    for (i, f) in p.flows.iter().enumerate() {
        assert_eq!(f.idx as usize, i);
        assert!(p.element(f.source).outgoing.contains(&f.idx));
        assert!(p.element(f.target).incoming.contains(&f.idx));
    }

    // Containers.
    let root = p.element(baton_model::Process::ROOT);
    assert_eq!(root.parent, None);
    assert_eq!(root.none_start, Some(p.by_id["StartEvent_1"]));
    assert_eq!(root.properties, pairs(&[("owner", "sales")]));
    let sub = el(p, "SubProcess_Ship");
    assert_eq!(sub.none_start, Some(p.by_id["StartEvent_Ship"]));
    let sub_children: Vec<&str> = sub.children.iter().map(|&c| &*p.element(c).id).collect();
    assert_eq!(sub_children, ["StartEvent_Ship", "SendTask_Notify", "Task_Pack", "ManualTask_Label", "EndEvent_Ship"]);
    assert_eq!(root.children.len(), 17);
    assert!(!root.children.contains(&p.by_id["Task_Pack"]));
    assert_eq!(el(p, "Task_Pack").parent, Some(sub.idx));
    assert_eq!(el(p, "Task_Check").parent, Some(baton_model::Process::ROOT));
    assert_eq!(sub.inputs, vec![Mapping { source: expr("order.address"), target: "address".into() }]);
    assert_eq!(sub.outputs, vec![Mapping { source: expr("trackingId"), target: "order.trackingId".into() }]);

    // Service task: default retries, headers in order, mappings, properties, conditional + default flow.
    let check = el(p, "Task_Check");
    assert_eq!(check.name.as_deref(), Some("Check order"));
    assert_eq!(
        check.job,
        Some(JobDefinition {
            job_type: st("check-order"),
            retries: st("3"),
            headers: pairs(&[("catalogue", "2024"), ("strict", "true")]),
            dynamic_headers: vec![],
        })
    );
    assert_eq!(
        check.inputs,
        vec![
            Mapping { source: expr("order.items"), target: "items".into() },
            Mapping { source: st("EUR"), target: "currency".into() },
            Mapping { source: expr("null"), target: "note".into() },
        ]
    );
    assert_eq!(check.outputs, vec![Mapping { source: expr("result.valid"), target: "valid".into() }]);
    assert_eq!(check.properties, pairs(&[("team", "sales")]));
    assert_eq!(flow_ids(p, &check.outgoing), ["Flow_2", "Flow_Fraud"]);
    assert_eq!(check.default_flow.map(|f| &*p.flow(f).id), Some("Flow_2"));
    assert_eq!(p.flow(check.outgoing[1]).condition, Some(Expression::parse("fraudScore > 0.9").unwrap()));

    // Exclusive gateway with a default.
    let valid = el(p, "Gateway_Valid");
    assert_eq!(flow_ids(p, &valid.outgoing), ["Flow_Valid", "Flow_Invalid"]);
    assert_eq!(valid.default_flow.map(|f| &*p.flow(f).id), Some("Flow_Invalid"));
    assert_eq!(p.flow(valid.outgoing[0]).condition.as_ref().map(Expression::source), Some("valid = true"));
    assert_eq!(p.flow(valid.outgoing[1]).condition, None);

    // User task: Zeebe's job-based user task.
    let approve = el(p, "UserTask_Approve");
    let job = approve.job.as_ref().expect("user task job");
    assert_eq!(job.job_type, st(USER_TASK_JOB_TYPE));
    assert_eq!(job.retries, st("1"));
    assert_eq!(
        job.headers,
        pairs(&[
            ("priority", "high"),
            ("io.camunda.zeebe:assignee", "demo"),
            ("io.camunda.zeebe:candidateGroups", r#"["sales","managers"]"#),
            ("io.camunda.zeebe:candidateUsers", r#"["alice","bob"]"#),
            ("io.camunda.zeebe:dueDate", "2025-12-31T12:00:00Z"),
            ("io.camunda.zeebe:followUpDate", "2025-12-24T12:00:00Z"),
            ("io.camunda.zeebe:formKey", "camunda-forms:bpmn:userTaskForm_2v1ql9e"),
        ])
    );

    // Script tasks: job-based and FEEL.
    let audit = el(p, "ScriptTask_Audit");
    assert_eq!(
        audit.job,
        Some(JobDefinition { job_type: st("audit"), retries: st("2"), headers: vec![], dynamic_headers: vec![] })
    );
    assert_eq!(audit.script, None);
    let total = el(p, "ScriptTask_Total");
    assert_eq!(total.job, None);
    let script = total.script.as_ref().expect("script");
    assert_eq!(script.expression.source(), "sum(items.price)");
    assert_eq!(script.result_variable, "total");

    // Expressions in job type and retries.
    let discount = el(p, "BusinessRuleTask_Discount");
    assert_eq!(
        discount.job,
        Some(JobDefinition {
            job_type: expr(r#""discount-" + region"#),
            retries: st("5"),
            headers: vec![],
            dynamic_headers: vec![]
        })
    );
    let notify = el(p, "SendTask_Notify");
    assert_eq!(
        notify.job,
        Some(JobDefinition {
            job_type: st("notify"),
            retries: expr("retryCount"),
            headers: vec![],
            dynamic_headers: vec![]
        })
    );

    // Jobless elements.
    for id in ["Task_Pack", "ManualTask_Label", "Task_Gift", "Gateway_Fork", "StartEvent_1", "EndEvent_Done"] {
        assert_eq!(el(p, id).job, None, "{id}");
        assert_eq!(el(p, id).script, None, "{id}");
    }

    // Joins.
    let join = el(p, "Gateway_Join");
    assert_eq!(flow_ids(p, &join.incoming), ["Flow_A3", "Flow_B3", "Flow_C2"]);
    assert!(join.is_join());
    assert!(!el(p, "Gateway_Fork").is_join());
    assert_eq!(flow_ids(p, &el(p, "Gateway_Fork").outgoing), ["Flow_A", "Flow_B", "Flow_C"]);
    let options = el(p, "Gateway_Options");
    assert_eq!(flow_ids(p, &options.outgoing), ["Flow_Express", "Flow_Gift", "Flow_Std"]);
    assert_eq!(options.default_flow.map(|f| &*p.flow(f).id), Some("Flow_Std"));
    assert!(el(p, "Gateway_OptionsJoin").is_join());

    // Events with mappings.
    assert_eq!(el(p, "StartEvent_1").outputs, vec![Mapping { source: expr("orderId"), target: "order.id".into() }]);
    assert_eq!(el(p, "Event_Express").outputs, vec![Mapping { source: expr("true"), target: "expressBooked".into() }]);
    assert_eq!(el(p, "EndEvent_Done").outputs, vec![Mapping { source: expr(r#""shipped""#), target: "status".into() }]);
    assert_eq!(el(p, "EndEvent_Rejected").kind.bpmn_event_type(), "TERMINATE");
    assert!(el(p, "EndEvent_Done").outgoing.is_empty());
    assert!(el(p, "StartEvent_1").incoming.is_empty());
}

#[test]
fn two_processes_in_one_file() {
    let defs = parse(&fixture("two_processes.bpmn")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(defs.id.as_deref(), Some("Definitions_two"));
    let ids: Vec<&str> = defs.processes.iter().map(|p| &*p.id).collect();
    assert_eq!(ids, ["shop", "billing"]);
    let shop = &defs.processes[0];
    let kinds: Vec<ElementKind> = shop.elements.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [ElementKind::Process, ElementKind::StartEvent, ElementKind::ServiceTask, ElementKind::EndEvent]);
    assert_eq!(shop.flows.len(), 2);
    let billing = &defs.processes[1];
    assert_eq!(billing.name.as_deref(), Some("Billing"));
    assert_eq!(billing.elements.len(), 3);
    assert_eq!(billing.flows.len(), 1);
    assert!(billing.element_by_id("sell").is_none(), "each process has its own ids");
    assert_eq!(el(billing, "bill").kind, ElementKind::ManualTask);
}

#[test]
fn a_non_executable_pool_is_neither_checked_nor_deployed() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d">
  <bpmn:collaboration id="c">
    <bpmn:participant id="shop_pool" processRef="shop" />
    <bpmn:participant id="customer_pool" processRef="customer" />
  </bpmn:collaboration>
  <bpmn:process id="shop" isExecutable="true">
    <bpmn:startEvent id="start" />
  </bpmn:process>
  <bpmn:process id="customer" isExecutable="false">
    <bpmn:serviceTask id="no_type" />
    <bpmn:complexGateway id="unsupported" />
  </bpmn:process>
</bpmn:definitions>"#;
    let defs = parse(xml).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = defs.processes.iter().map(|p| &*p.id).collect();
    assert_eq!(ids, ["shop"]);

    let none = String::from_utf8_lossy(xml).replace(r#"isExecutable="true""#, r#"isExecutable="false""#);
    let problems = problems(none.as_bytes());
    assert!(problems.iter().any(|p| p.message.contains("no executable process")), "{problems:?}");
}

// ---------------------------------------------------------------------------------------------
// Reference models shared with the peer comparisons
// ---------------------------------------------------------------------------------------------

#[test]
fn peer_wf3_jobs() {
    let p = single(&fixture("wf3_jobs.zeebe.bpmn"));
    assert_eq!(&*p.id, "wf3_jobs");
    for (i, id) in ["step1", "step2", "step3"].into_iter().enumerate() {
        let e = el(&p, id);
        assert_eq!(e.kind, ElementKind::ServiceTask);
        assert_eq!(e.job.as_ref().map(|j| &j.job_type), Some(&st(id)));
        assert_eq!(e.job.as_ref().map(|j| &j.retries), Some(&st("3")));
        assert_eq!(e.idx as usize, i + 2);
    }
    let check = el(&p, "check");
    assert_eq!(check.default_flow.map(|f| &*p.flow(f).id), Some("f_fail"));
    assert_eq!(p.flows.len(), 6);
}

#[test]
fn peer_seq3_xor() {
    let p = single(&fixture("seq3_xor.zeebe.bpmn"));
    let sources: Vec<&str> =
        ["step1", "step2", "step3"].iter().map(|id| el(&p, id).script.as_ref().unwrap().expression.source()).collect();
    assert_eq!(sources, ["1", "x + 1", "x + 1"]);
    assert_eq!(el(&p, "step1").script.as_ref().unwrap().result_variable, "x");
    let ok = p.flows.iter().find(|f| &*f.id == "f_ok").unwrap();
    assert_eq!(ok.condition.as_ref().map(Expression::source), Some("x = 3"));
}

#[test]
fn peer_par3() {
    let p = single(&fixture("par3.zeebe.bpmn"));
    assert_eq!(flow_ids(&p, &el(&p, "fork").outgoing), ["fa", "fb", "fc"]);
    assert_eq!(flow_ids(&p, &el(&p, "join").incoming), ["faj", "fbj", "fcj"]);
    assert!(el(&p, "join").is_join());
    assert_eq!(el(&p, "sum").script.as_ref().unwrap().expression.source(), "a + b + c");
    assert_eq!(p.flows.len(), 9);
}

// ---------------------------------------------------------------------------------------------
// Invalid models: every problem, each on its element
// ---------------------------------------------------------------------------------------------

#[test]
fn broken_model_reports_every_problem() {
    let problems = problems(&fixture("broken.bpmn"));
    let feel_error = Expression::parse("amount >").unwrap_err().to_string();
    assert_problem(&problems, "Task_NoType", &["serviceTask", "job type", "zeebe:taskDefinition type"]);
    assert_problem(&problems, "Gateway_Xor", &["Flow_X2", "condition"]);
    assert_problem(&problems, "Flow_Dangling", &["Nowhere", "does not exist"]);
    assert_problem(&problems, "Timer_1", &["timer cycle (timeCycle) is only allowed on timer start events"]);
    assert_problem(&problems, "Call_1", &["call activity must name the process it calls"]);
    assert_problem(&problems, "Flow_X1", &[&feel_error]);
    assert_problem(&problems, "Process_NoStart", &["exactly one none start event"]);
    // Nothing spurious: flows touching unsupported elements are not reported again, and the
    // condition that failed to parse still counts as written.
    assert_eq!(problems.len(), 7, "{problems:#?}");

    let message = Error::Invalid(problems).to_string();
    assert!(message.contains("element 'Timer_1': a timer cycle (timeCycle) is only allowed"), "{message}");
}

#[test]
fn no_process() {
    let xml = br#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
        <bpmn:message id="m" name="m" /></bpmn:definitions>"#;
    let problems = problems(xml);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].element_id, None);
    assert!(problems[0].message.contains("no process"));
}

#[test]
fn root_must_be_bpmn_definitions() {
    let problems = problems(b"<definitions id='d'><process id='p'/></definitions>");
    assert!(problems[0].message.contains("root element"), "{problems:?}");
}

#[test]
fn default_namespace_without_prefix() {
    let xml = br#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
      <process id="p"><startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/><endEvent id="e"/></process>
    </definitions>"#;
    let p = single(xml);
    assert_eq!(p.elements.len(), 3);
    assert_eq!(p.flows.len(), 1);
}

#[test]
fn incoming_and_outgoing_come_from_flows_not_from_children() {
    let p = single(&model(
        r#"<bpmn:startEvent id="s"><bpmn:outgoing>bogus</bpmn:outgoing></bpmn:startEvent>
           <bpmn:task id="t"><bpmn:incoming>other</bpmn:incoming></bpmn:task>
           <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e" />
           <bpmn:endEvent id="e" />
           <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />"#,
    ));
    assert_eq!(flow_ids(&p, &el(&p, "t").incoming), ["f1"]);
    assert_eq!(flow_ids(&p, &el(&p, "t").outgoing), ["f2"]);
    assert_eq!(flow_ids(&p, &el(&p, "s").outgoing), ["f1"]);
    assert_eq!(p.flows[0].id.as_ref(), "f2", "flows are numbered in document order");
}

#[test]
fn gateway_with_one_unconditional_flow_is_fine() {
    let p = single(&model(
        r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="x" />
           <bpmn:exclusiveGateway id="x" /><bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="e" />
           <bpmn:endEvent id="e" />"#,
    ));
    assert_eq!(p.flows[1].condition, None);
}

#[test]
fn conditional_flows_from_activities_are_allowed() {
    let p = single(&model(
        r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />
           <bpmn:task id="t" />
           <bpmn:sequenceFlow id="a" sourceRef="t" targetRef="e"><bpmn:conditionExpression>= x &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow>
           <bpmn:sequenceFlow id="b" sourceRef="t" targetRef="e" />
           <bpmn:endEvent id="e" />"#,
    ));
    assert_eq!(p.flows[1].condition.as_ref().map(Expression::source), Some("x > 1"));
    assert_eq!(p.flows[2].condition, None);
}

#[test]
fn many_problems_in_one_model() {
    let problems = problems(&model(
        r#"<bpmn:startEvent id="s" />
           <bpmn:startEvent id="s2" />
           <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fork" />
           <bpmn:sequenceFlow id="back" sourceRef="t" targetRef="s2" />
           <bpmn:parallelGateway id="fork" />
           <bpmn:sequenceFlow id="fc" sourceRef="fork" targetRef="t"><bpmn:conditionExpression>=true</bpmn:conditionExpression></bpmn:sequenceFlow>
           <bpmn:sequenceFlow id="fj" sourceRef="fork" targetRef="t"><bpmn:conditionExpression>${ok}</bpmn:conditionExpression></bpmn:sequenceFlow>
           <bpmn:task id="t" default="not_mine" />
           <bpmn:sequenceFlow id="not_mine" sourceRef="fork" targetRef="e" />
           <bpmn:endEvent id="e" />
           <bpmn:sequenceFlow id="from_end" sourceRef="e" targetRef="t" />
           <bpmn:inclusiveGateway id="or" default="o1" />
           <bpmn:sequenceFlow id="o1" sourceRef="or" targetRef="t" />
           <bpmn:sequenceFlow id="o2" sourceRef="or" targetRef="t" />
           <bpmn:sequenceFlow id="o3" sourceRef="or" targetRef="t"><bpmn:conditionExpression>=a</bpmn:conditionExpression></bpmn:sequenceFlow>
           <bpmn:subProcess id="sub">
             <bpmn:startEvent id="sub_s" />
             <bpmn:sequenceFlow id="cross" sourceRef="sub_s" targetRef="t" />
           </bpmn:subProcess>
           <bpmn:subProcess id="empty_sub" />
           <bpmn:task id="dup" /><bpmn:task id="dup" />
           <bpmn:scriptTask id="neither" />
           <bpmn:scriptTask id="bad_script"><bpmn:extensionElements><zeebe:script expression="=1 +" resultVariable="r" /></bpmn:extensionElements></bpmn:scriptTask>
           <bpmn:scriptTask id="no_result"><bpmn:extensionElements><zeebe:script expression="=1" /></bpmn:extensionElements></bpmn:scriptTask>
           <bpmn:scriptTask id="not_feel"><bpmn:extensionElements><zeebe:script expression="1" resultVariable="r" /></bpmn:extensionElements></bpmn:scriptTask>
           <bpmn:businessRuleTask id="dmn"><bpmn:extensionElements><zeebe:calledDecision decisionId="d" /></bpmn:extensionElements></bpmn:businessRuleTask>
           <bpmn:serviceTask id="multi"><bpmn:extensionElements><zeebe:taskDefinition type="x" /></bpmn:extensionElements>
             <bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputElement="item" /></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>
           <bpmn:serviceTask id="bad_type"><bpmn:extensionElements><zeebe:taskDefinition type="=a +" retries="many" /></bpmn:extensionElements></bpmn:serviceTask>
           <bpmn:sendTask id="bad_mapping"><bpmn:extensionElements><zeebe:taskDefinition type="x" />
             <zeebe:ioMapping><zeebe:input source="=[1," target="a" /><zeebe:output source="=b" /></zeebe:ioMapping></bpmn:extensionElements></bpmn:sendTask>
           <bpmn:subProcess id="event_sub" triggeredByEvent="true"><bpmn:startEvent id="msg_start"><bpmn:messageEventDefinition /></bpmn:startEvent></bpmn:subProcess>
           <bpmn:intermediateCatchEvent id="catch"><bpmn:messageEventDefinition messageRef="m" /></bpmn:intermediateCatchEvent>
           <bpmn:endEvent id="error_end"><bpmn:errorEventDefinition /></bpmn:endEvent>
           <bpmn:complexGateway id="complex" />
           <bpmn:eventBasedGateway id="ebg" />
           <bpmn:receiveTask id="receive" />"#,
    ));
    let expected: &[(&str, &[&str])] = &[
        ("p", &["exactly one none start event", "2"]),
        ("s2", &["start event must not have incoming"]),
        ("fork", &["'fc'", "parallel gateway"]),
        ("fork", &["'fj'", "parallel gateway"]),
        ("fj", &["${ok}", "must start with '='"]),
        ("t", &["default flow 'not_mine'", "not an outgoing"]),
        ("e", &["end event must not have outgoing"]),
        ("or", &["'o2'", "condition"]),
        ("cross", &["sub_s", "'t'", "subprocess boundary"]),
        ("empty_sub", &["exactly one none start event", "0"]),
        ("dup", &["more than one element"]),
        ("neither", &["zeebe:script", "zeebe:taskDefinition"]),
        ("bad_script", &[&Expression::parse("1 +").unwrap_err().to_string()]),
        ("no_result", &["resultVariable"]),
        ("not_feel", &["must start with '='"]),
        ("dmn", &["business rule task", "zeebe:calledDecision resultVariable"]),
        ("multi", &["multi-instance activity must have an input collection"]),
        ("bad_type", &["job type", &Expression::parse("a +").unwrap_err().to_string()]),
        ("bad_type", &["retries", "many"]),
        ("bad_mapping", &["input mapping to 'a'", &Expression::parse("[1,").unwrap_err().to_string()]),
        ("bad_mapping", &["zeebe:output", "no target"]),
        ("msg_start", &["must reference a message"]),
        ("catch", &["messageRef 'm'", "bpmn:message"]),
        ("error_end", &["error end event must reference an error"]),
        ("complex", &["'complexGateway' is not supported"]),
        ("ebg", &["event-based gateway must have at least two outgoing"]),
        ("receive", &["must reference a message (messageRef)"]),
    ];
    for (id, needles) in expected {
        assert_problem(&problems, id, needles);
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
}

#[test]
fn xor_without_default_needs_every_condition() {
    let problems = problems(&model(
        r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="x" />
           <bpmn:exclusiveGateway id="x" />
           <bpmn:sequenceFlow id="a" sourceRef="x" targetRef="e" />
           <bpmn:sequenceFlow id="b" sourceRef="x" targetRef="e" />
           <bpmn:endEvent id="e" />"#,
    ));
    assert_problem(&problems, "x", &["'a'"]);
    assert_problem(&problems, "x", &["'b'"]);
    assert_eq!(problems.len(), 2);
}

#[test]
fn flow_missing_refs_and_flow_to_other_process() {
    let xml = br#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
      <bpmn:process id="a"><bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
        <bpmn:sequenceFlow id="g" sourceRef="s" /></bpmn:process>
      <bpmn:process id="b"><bpmn:startEvent id="s_b" /><bpmn:task id="t" /></bpmn:process>
    </bpmn:definitions>"#;
    let problems = problems(xml);
    assert_problem(&problems, "f", &["'t'", "not a flow element of this process"]);
    assert_problem(&problems, "g", &["no targetRef"]);
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

#[test]
fn user_task_assignment_may_be_feel_and_camunda_user_tasks_run_as_job_based_ones() {
    let p = single(&model(
        r#"<bpmn:startEvent id="s" />
           <bpmn:userTask id="u"><bpmn:extensionElements>
             <zeebe:userTask />
             <zeebe:assignmentDefinition assignee="=initiator" candidateGroups="sales, support" />
             <zeebe:formDefinition formId="invoice-form" />
           </bpmn:extensionElements></bpmn:userTask>
           <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="u" />"#,
    ));
    let job = el(&p, "u").job.as_ref().expect("a job");
    assert_eq!(job.dynamic_headers.len(), 1);
    assert_eq!(job.dynamic_headers[0].name, "io.camunda.zeebe:assignee");
    assert!(
        job.headers.contains(&("io.camunda.zeebe:candidateGroups".to_string(), r#"["sales","support"]"#.to_string()))
    );
    assert!(job.headers.contains(&("io.camunda.zeebe:formId".to_string(), "invoice-form".to_string())));
    let problems = problems(&model(
        r#"<bpmn:startEvent id="s" />
           <bpmn:userTask id="u"><bpmn:extensionElements>
             <zeebe:assignmentDefinition assignee="=1 +" />
           </bpmn:extensionElements></bpmn:userTask>"#,
    ));
    assert_problem(&problems, "u", &["the assignee"]);
}

#[test]
fn unknown_zeebe_extensions_and_other_vendors_are_ignored() {
    let p = single(
        br#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
              xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:x="urn:other" id="d">
          <bpmn:process id="p"><bpmn:startEvent id="s"><bpmn:extensionElements>
            <zeebe:executionListeners><zeebe:executionListener eventType="start" type="l" /></zeebe:executionListeners>
            <x:anything deep="yes"><x:more /></x:anything></bpmn:extensionElements></bpmn:startEvent>
            <x:notBpmn id="foreign" />
          </bpmn:process></bpmn:definitions>"#,
    );
    assert_eq!(p.elements.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Hostile and malformed documents
// ---------------------------------------------------------------------------------------------

#[test]
fn dtd_with_external_entity_is_refused() {
    let xml = br#"<?xml version="1.0"?>
<!DOCTYPE definitions [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p" name="&xxe;"><bpmn:startEvent id="s" /></bpmn:process>
</bpmn:definitions>"#;
    let message = xml_error(xml, Limits::default());
    assert!(message.contains("DTD"), "{message}");
}

#[test]
fn empty_doctype_is_refused_too() {
    let xml = br#"<!DOCTYPE definitions><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" />"#;
    assert!(xml_error(xml, Limits::default()).contains("DTD"));
}

#[test]
fn billion_laughs_is_refused() {
    let xml = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p"><bpmn:documentation>&lol9;</bpmn:documentation><bpmn:startEvent id="s" /></bpmn:process>
</bpmn:definitions>"#;
    let message = xml_error(xml, Limits::default());
    assert!(message.contains("DTD"), "{message}");
}

#[test]
fn undeclared_entity_is_refused() {
    let xml = model(r#"<bpmn:startEvent id="s" name="&undeclared;" />"#);
    xml_error(&xml, Limits::default());
}

#[test]
fn too_deep_nesting_is_refused() {
    let depth = 200;
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s"><bpmn:documentation>{}{}</bpmn:documentation></bpmn:startEvent>"#,
        "<x>".repeat(depth),
        "</x>".repeat(depth)
    ));
    let message = xml_error(&xml, Limits::default());
    assert!(message.contains("nested more than 128"), "{message}");

    // Just within a custom limit is fine.
    let shallow = model(r#"<bpmn:startEvent id="s" />"#);
    assert!(parse_with(&shallow, Limits { depth_max: 3, ..Limits::default() }).is_ok());
    assert!(parse_with(&shallow, Limits { depth_max: 2, ..Limits::default() }).is_err());
}

#[test]
fn pathological_nesting_does_not_overflow_the_stack() {
    let depth = 500_000;
    let xml = format!("<a>{}{}</a>", "<b>".repeat(depth), "</b>".repeat(depth));
    let message = xml_error(xml.as_bytes(), Limits::default());
    assert!(message.contains("nested"), "{message}");
}

#[test]
fn too_large_document_is_refused() {
    let xml = model(r#"<bpmn:startEvent id="s" />"#);
    let message = xml_error(&xml, Limits { bytes_max: 100, ..Limits::default() });
    assert!(message.contains("more than the limit of 100 bytes"), "{message}");
    assert!(parse_with(&xml, Limits { bytes_max: xml.len(), ..Limits::default() }).is_ok());

    let mut huge = model(r#"<bpmn:startEvent id="s" />"#);
    huge.resize(Limits::default().bytes_max + 1, b' ');
    assert!(xml_error(&huge, Limits::default()).contains("more than the limit"));
}

#[test]
fn too_many_nodes_is_refused() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s" /><bpmn:documentation>{}</bpmn:documentation>"#,
        "<x/>".repeat(1000)
    ));
    let message = xml_error(&xml, Limits { nodes_max: 500, ..Limits::default() });
    assert!(message.contains("500"), "{message}");
    assert!(parse_with(&xml, Limits::default()).is_ok());
}

#[test]
fn non_utf8_is_refused() {
    let mut latin1 = model(r#"<bpmn:startEvent id="s" name="Caf_" />"#);
    let at = latin1.iter().position(|&b| b == b'_').unwrap();
    latin1[at] = 0xE9;
    assert!(xml_error(&latin1, Limits::default()).contains("UTF-8"));

    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(String::from_utf8(model("")).unwrap().encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert!(xml_error(&utf16, Limits::default()).contains("UTF-8"));
}

#[test]
fn utf8_bom_is_accepted() {
    let mut xml = vec![0xEF, 0xBB, 0xBF];
    xml.extend(model(r#"<bpmn:startEvent id="s" name="Café" />"#));
    let p = single(&xml);
    assert_eq!(el(&p, "s").name.as_deref(), Some("Café"));
}

#[test]
fn malformed_xml_is_an_xml_error() {
    xml_error(b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>", Limits::default());
    xml_error(b"", Limits::default());
    xml_error(b"<a><b></a>", Limits::default());
}

#[test]
fn mappings_where_they_cannot_apply_are_reported() {
    let problems = problems(&model(
        r#"<bpmn:startEvent id="s"><bpmn:extensionElements><zeebe:ioMapping>
             <zeebe:input source="=1" target="a" /><zeebe:output source="=1" target="b" />
           </zeebe:ioMapping></bpmn:extensionElements></bpmn:startEvent>
           <bpmn:exclusiveGateway id="x"><bpmn:extensionElements><zeebe:ioMapping>
             <zeebe:output source="=1" target="b" />
           </zeebe:ioMapping></bpmn:extensionElements></bpmn:exclusiveGateway>"#,
    ));
    assert_problem(&problems, "s", &["input mappings are not allowed on a start event"]);
    assert_problem(&problems, "x", &["not allowed", "exclusiveGateway"]);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_eq!(
        Problem { element_id: None, message: "m".into() }.to_string(),
        "m",
        "a problem about the whole file has no element prefix"
    );
}

// ---------------------------------------------------------------------------------------------
// Error events
// ---------------------------------------------------------------------------------------------

fn with_root(xml: Vec<u8>, root: &str) -> Vec<u8> {
    String::from_utf8(xml).unwrap().replace("</bpmn:definitions>", &format!("{root}</bpmn:definitions>")).into_bytes()
}

#[test]
fn error_boundary_events_attach_to_their_activity_and_error_end_events_carry_their_code() {
    let xml = with_root(
        model(
            r#"<bpmn:startEvent id="s" />
           <bpmn:boundaryEvent id="any" attachedToRef="t"><bpmn:errorEventDefinition /></bpmn:boundaryEvent>
           <bpmn:serviceTask id="t"><bpmn:extensionElements><zeebe:taskDefinition type="x" /></bpmn:extensionElements></bpmn:serviceTask>
           <bpmn:boundaryEvent id="specific" attachedToRef="t"><bpmn:errorEventDefinition errorRef="err" /></bpmn:boundaryEvent>
           <bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="err" /></bpmn:endEvent>
           <bpmn:endEvent id="e" />
           <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />
           <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="fail" />
           <bpmn:sequenceFlow id="f3" sourceRef="any" targetRef="e" />
           <bpmn:sequenceFlow id="f4" sourceRef="specific" targetRef="e" />"#,
        ),
        r#"<bpmn:error id="err" errorCode="E1" />"#,
    );
    let p = single(&xml);
    let t = el(&p, "t");
    assert_eq!(t.boundary_events, [p.by_id["any"], p.by_id["specific"]]);
    assert_eq!(el(&p, "any").kind, ElementKind::BoundaryEvent);
    assert_eq!(el(&p, "any").attached_to, Some(t.idx));
    assert_eq!(el(&p, "any").caught_error_code(), Some(None));
    assert_eq!(el(&p, "specific").caught_error_code(), Some(Some("E1")));
    assert!(el(&p, "specific").interrupting);
    assert_eq!(el(&p, "fail").kind, ElementKind::ErrorEndEvent);
    assert_eq!(el(&p, "fail").event, Some(EventDefinition::Error { code: Some(st("E1")) }));
}

#[test]
fn error_boundary_problems_are_reported() {
    let problems = problems(&model(
        r#"<bpmn:startEvent id="s" />
           <bpmn:task id="t" />
           <bpmn:boundaryEvent id="soft" attachedToRef="t" cancelActivity="false"><bpmn:errorEventDefinition /></bpmn:boundaryEvent>
           <bpmn:boundaryEvent id="dangling" attachedToRef="nowhere"><bpmn:errorEventDefinition /></bpmn:boundaryEvent>
           <bpmn:boundaryEvent id="unknown_error" attachedToRef="t"><bpmn:errorEventDefinition errorRef="ghost" /></bpmn:boundaryEvent>
           <bpmn:boundaryEvent id="timer" attachedToRef="t"><bpmn:timerEventDefinition /></bpmn:boundaryEvent>
           <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />"#,
    ));
    assert_problem(&problems, "soft", &["must be interrupting"]);
    assert_problem(&problems, "dangling", &["'nowhere'", "not an activity"]);
    assert_problem(&problems, "unknown_error", &["'ghost'", "bpmn:error"]);
    assert_problem(&problems, "timer", &["exactly one of timeDate, timeDuration or timeCycle"]);
    assert_eq!(problems.len(), 4, "{problems:#?}");
}

#[test]
fn iso_durations() {
    use baton_model::parse_duration_ms;
    assert_eq!(parse_duration_ms("PT30S"), Ok(30_000));
    assert_eq!(parse_duration_ms("PT1.5S"), Ok(1_500));
    assert_eq!(parse_duration_ms("PT1H30M"), Ok(5_400_000));
    assert_eq!(parse_duration_ms("P2DT6H"), Ok(194_400_000));
    assert_eq!(parse_duration_ms("P1W"), Ok(604_800_000));
    for bad in ["", "P", "PT", "30S", "PT1S1H", "P1Y", "P1M", "PT1.5H", "PTS", "P1DT"] {
        assert!(parse_duration_ms(bad).is_err(), "{bad}");
    }
}

#[test]
fn message_and_timer_catch_events_carry_their_definitions() {
    let xml = with_root(
        model(
            r#"<bpmn:startEvent id="s" />
           <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="m" /></bpmn:intermediateCatchEvent>
           <bpmn:receiveTask id="receive" messageRef="m" />
           <bpmn:boundaryEvent id="note" attachedToRef="receive" cancelActivity="false"><bpmn:messageEventDefinition messageRef="m" /></bpmn:boundaryEvent>
           <bpmn:intermediateCatchEvent id="sleep"><bpmn:timerEventDefinition><bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
           <bpmn:endEvent id="e" />
           <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait" />
           <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="receive" />
           <bpmn:sequenceFlow id="f3" sourceRef="receive" targetRef="sleep" />
           <bpmn:sequenceFlow id="f4" sourceRef="sleep" targetRef="e" />
           <bpmn:sequenceFlow id="f5" sourceRef="note" targetRef="e" />"#,
        ),
        r#"<bpmn:message id="m" name="paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements></bpmn:message>"#,
    );
    let p = single(&xml);
    assert_eq!(el(&p, "wait").kind, ElementKind::IntermediateCatchEvent);
    let message = el(&p, "wait").message().expect("a message");
    assert_eq!(message.name, st("paid"));
    assert_eq!(message.correlation_key.as_ref().map(Expression::source), Some("orderId"));
    assert_eq!(el(&p, "receive").kind, ElementKind::ReceiveTask);
    assert!(el(&p, "receive").message().is_some());
    assert!(!el(&p, "note").interrupting);
    assert_eq!(el(&p, "receive").boundary_events, [p.by_id["note"]]);
    assert_eq!(
        el(&p, "sleep").event,
        Some(EventDefinition::Timer { kind: baton_model::TimerKind::Duration, text: st("PT5M") })
    );

    let problems = problems(&model(
        r#"<bpmn:startEvent id="s" />
           <bpmn:intermediateCatchEvent id="no_ref"><bpmn:messageEventDefinition /></bpmn:intermediateCatchEvent>
           <bpmn:intermediateCatchEvent id="bad_duration"><bpmn:timerEventDefinition><bpmn:timeDuration>soon</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
           <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="no_ref" />"#,
    ));
    assert_problem(&problems, "no_ref", &["must reference a message"]);
    assert_problem(&problems, "bad_duration", &["invalid timer (timeDuration)", "'soon'"]);
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

// ---------------------------------------------------------------------------------------------
// Escalation and link events
// ---------------------------------------------------------------------------------------------

#[test]
fn escalation_events_carry_their_codes() {
    let xml = with_root(
        model(
            r#"<bpmn:startEvent id="s" />
           <bpmn:subProcess id="sub">
             <bpmn:startEvent id="sub_s" />
             <bpmn:intermediateThrowEvent id="raise"><bpmn:escalationEventDefinition escalationRef="late" /></bpmn:intermediateThrowEvent>
             <bpmn:endEvent id="raise_end"><bpmn:escalationEventDefinition escalationRef="dynamic" /></bpmn:endEvent>
             <bpmn:sequenceFlow id="sf1" sourceRef="sub_s" targetRef="raise" />
             <bpmn:sequenceFlow id="sf2" sourceRef="raise" targetRef="raise_end" />
           </bpmn:subProcess>
           <bpmn:boundaryEvent id="any" attachedToRef="sub"><bpmn:escalationEventDefinition /></bpmn:boundaryEvent>
           <bpmn:boundaryEvent id="on_late" attachedToRef="sub" cancelActivity="false"><bpmn:escalationEventDefinition escalationRef="late" /></bpmn:boundaryEvent>
           <bpmn:boundaryEvent id="codeless" attachedToRef="sub"><bpmn:escalationEventDefinition escalationRef="no_code" /></bpmn:boundaryEvent>
           <bpmn:endEvent id="e" />
           <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub" />
           <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="e" />
           <bpmn:sequenceFlow id="f3" sourceRef="any" targetRef="e" />
           <bpmn:sequenceFlow id="f4" sourceRef="on_late" targetRef="e" />
           <bpmn:sequenceFlow id="f5" sourceRef="codeless" targetRef="e" />"#,
        ),
        r#"<bpmn:escalation id="late" name="Late" escalationCode="LATE" />
           <bpmn:escalation id="dynamic" escalationCode="=&quot;LEVEL_&quot; + string(level)" />
           <bpmn:escalation id="no_code" />"#,
    );
    let p = single(&xml);
    let raise = el(&p, "raise");
    assert_eq!(raise.kind, ElementKind::EscalationThrowEvent);
    assert_eq!(raise.kind.bpmn_element_type(), "INTERMEDIATE_THROW_EVENT");
    assert_eq!(raise.kind.bpmn_event_type(), "ESCALATION");
    assert_eq!(raise.event, Some(EventDefinition::Escalation { code: Some(st("LATE")) }));
    let raise_end = el(&p, "raise_end");
    assert_eq!(raise_end.kind, ElementKind::EscalationEndEvent);
    assert_eq!(raise_end.kind.bpmn_element_type(), "END_EVENT");
    assert_eq!(raise_end.event, Some(EventDefinition::Escalation { code: Some(expr(r#""LEVEL_" + string(level)"#)) }));
    assert_eq!(el(&p, "sub").boundary_events, [p.by_id["any"], p.by_id["on_late"], p.by_id["codeless"]]);
    assert_eq!(el(&p, "any").kind, ElementKind::BoundaryEvent);
    assert_eq!(el(&p, "any").caught_escalation_code(), Some(None));
    assert!(el(&p, "any").interrupting);
    assert_eq!(el(&p, "on_late").caught_escalation_code(), Some(Some("LATE")));
    assert!(!el(&p, "on_late").interrupting);
    assert_eq!(el(&p, "codeless").caught_escalation_code(), Some(None), "an escalation without a code catches all");
    assert_eq!(el(&p, "on_late").caught_error_code(), None, "an escalation catch event catches no errors");
}

#[test]
fn escalation_problems_are_reported() {
    let xml = with_root(
        model(
            r#"<bpmn:startEvent id="s" />
           <bpmn:task id="t" />
           <bpmn:intermediateThrowEvent id="no_ref"><bpmn:escalationEventDefinition /></bpmn:intermediateThrowEvent>
           <bpmn:endEvent id="ghost_ref"><bpmn:escalationEventDefinition escalationRef="ghost" /></bpmn:endEvent>
           <bpmn:endEvent id="codeless"><bpmn:escalationEventDefinition escalationRef="no_code" /></bpmn:endEvent>
           <bpmn:intermediateThrowEvent id="bad_feel"><bpmn:escalationEventDefinition escalationRef="bad" /></bpmn:intermediateThrowEvent>
           <bpmn:boundaryEvent id="feel_catch" attachedToRef="t"><bpmn:escalationEventDefinition escalationRef="feel" /></bpmn:boundaryEvent>
           <bpmn:endEvent id="flows_on"><bpmn:escalationEventDefinition escalationRef="feel" /></bpmn:endEvent>
           <bpmn:endEvent id="e" />
           <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />
           <bpmn:sequenceFlow id="f2" sourceRef="flows_on" targetRef="e" />"#,
        ),
        r#"<bpmn:escalation id="no_code" />
           <bpmn:escalation id="bad" escalationCode="=1 +" />
           <bpmn:escalation id="feel" escalationCode="=code" />"#,
    );
    let problems = problems(&xml);
    assert_problem(&problems, "no_ref", &["must reference an escalation (escalationRef)"]);
    assert_problem(&problems, "ghost_ref", &["'ghost'", "bpmn:escalation"]);
    assert_problem(&problems, "codeless", &["must reference an escalation (escalationRef) with an escalationCode"]);
    assert_problem(&problems, "bad_feel", &["escalation code", &Expression::parse("1 +").unwrap_err().to_string()]);
    assert_problem(&problems, "feel_catch", &["'=code'", "must be static"]);
    assert_problem(&problems, "flows_on", &["end event must not have outgoing"]);
    assert_eq!(problems.len(), 6, "{problems:#?}");
}

#[test]
fn link_events_pair_up_within_their_scope() {
    let p = single(&model(
        r#"<bpmn:startEvent id="s" />
           <bpmn:intermediateThrowEvent id="go"><bpmn:linkEventDefinition name="A" /></bpmn:intermediateThrowEvent>
           <bpmn:intermediateCatchEvent id="here"><bpmn:linkEventDefinition name="A" /></bpmn:intermediateCatchEvent>
           <bpmn:subProcess id="sub">
             <bpmn:startEvent id="sub_s" />
             <bpmn:intermediateThrowEvent id="sub_go"><bpmn:linkEventDefinition name="A" /></bpmn:intermediateThrowEvent>
             <bpmn:intermediateCatchEvent id="sub_here"><bpmn:linkEventDefinition name="A" /></bpmn:intermediateCatchEvent>
             <bpmn:endEvent id="sub_e" />
             <bpmn:sequenceFlow id="sf1" sourceRef="sub_s" targetRef="sub_go" />
             <bpmn:sequenceFlow id="sf2" sourceRef="sub_here" targetRef="sub_e" />
           </bpmn:subProcess>
           <bpmn:endEvent id="e" />
           <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="go" />
           <bpmn:sequenceFlow id="f2" sourceRef="here" targetRef="sub" />
           <bpmn:sequenceFlow id="f3" sourceRef="sub" targetRef="e" />"#,
    ));
    let go = el(&p, "go");
    assert_eq!(go.kind, ElementKind::LinkThrowEvent);
    assert_eq!((go.kind.bpmn_element_type(), go.kind.bpmn_event_type()), ("INTERMEDIATE_THROW_EVENT", "LINK"));
    assert_eq!(go.event, Some(EventDefinition::Link { name: "A".to_string() }));
    let here = el(&p, "here");
    assert_eq!(here.kind, ElementKind::LinkCatchEvent);
    assert_eq!((here.kind.bpmn_element_type(), here.kind.bpmn_event_type()), ("INTERMEDIATE_CATCH_EVENT", "LINK"));
    assert_eq!(p.link_catch(go.idx), Some(here.idx));
    assert_eq!(p.link_catch(el(&p, "sub_go").idx), Some(p.by_id["sub_here"]), "the same name in another scope");
    assert_eq!(p.link_catch(here.idx), None);
}

#[test]
fn link_problems_are_reported() {
    let problems = problems(&model(
        r#"<bpmn:startEvent id="s" />
           <bpmn:intermediateThrowEvent id="nowhere"><bpmn:linkEventDefinition name="missing" /></bpmn:intermediateThrowEvent>
           <bpmn:intermediateThrowEvent id="go"><bpmn:linkEventDefinition name="A" /></bpmn:intermediateThrowEvent>
           <bpmn:intermediateCatchEvent id="first"><bpmn:linkEventDefinition name="A" /></bpmn:intermediateCatchEvent>
           <bpmn:intermediateCatchEvent id="second"><bpmn:linkEventDefinition name="A" /></bpmn:intermediateCatchEvent>
           <bpmn:intermediateThrowEvent id="nameless"><bpmn:linkEventDefinition /></bpmn:intermediateThrowEvent>
           <bpmn:intermediateThrowEvent id="with_flow"><bpmn:linkEventDefinition name="B" /></bpmn:intermediateThrowEvent>
           <bpmn:intermediateCatchEvent id="entered"><bpmn:linkEventDefinition name="B" /></bpmn:intermediateCatchEvent>
           <bpmn:subProcess id="sub">
             <bpmn:startEvent id="sub_s" />
             <bpmn:intermediateThrowEvent id="outside"><bpmn:linkEventDefinition name="A" /></bpmn:intermediateThrowEvent>
             <bpmn:sequenceFlow id="sf1" sourceRef="sub_s" targetRef="outside" />
           </bpmn:subProcess>
           <bpmn:endEvent id="e" />
           <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="nowhere" />
           <bpmn:sequenceFlow id="f2" sourceRef="with_flow" targetRef="entered" />
           <bpmn:sequenceFlow id="f3" sourceRef="first" targetRef="e" />
           <bpmn:sequenceFlow id="f4" sourceRef="second" targetRef="e" />"#,
    ));
    assert_problem(&problems, "nowhere", &["no link catch event named 'missing'"]);
    assert_problem(&problems, "second", &["'A'", "'first'", "unique per scope"]);
    assert_problem(&problems, "nameless", &["must have a name"]);
    assert_problem(&problems, "with_flow", &["must not have outgoing sequence flows"]);
    assert_problem(&problems, "entered", &["link catch event must not have incoming sequence flows"]);
    assert_problem(&problems, "outside", &["no link catch event named 'A'", "same scope"]);
    assert_eq!(problems.len(), 6, "{problems:#?}");
}

#[test]
fn a_business_rule_task_calls_a_decision() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="rules"/>
    <bpmn:businessRuleTask id="rules">
      <bpmn:extensionElements>
        <zeebe:calledDecision decisionId="=kind + &quot;Decision&quot;" resultVariable="result"/>
      </bpmn:extensionElements>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f2" sourceRef="rules" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"#;
    let definitions = baton_model::parse(xml.as_bytes()).expect("parses");
    let process = &definitions.processes[0];
    let task = process.elements.iter().find(|e| &*e.id == "rules").expect("the task");
    let called = task.called_decision.as_ref().expect("a called decision");
    assert_eq!(called.result_variable, "result");
    assert!(matches!(&called.decision_id, baton_model::Text::Expression(e) if e.source() == "kind + \"Decision\""));
    assert!(task.job.is_none());

    let without_result = xml.replace(r#" resultVariable="result""#, "");
    let error = baton_model::parse(without_result.as_bytes()).expect_err("refused").to_string();
    assert!(error.contains("rules") && error.contains("resultVariable"), "{error}");
}
