//! Operator commands: deleting a process definition and modifying a running instance.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn delete(t: &mut TestEngine, key: i64) -> Record {
    t.send(Command::new(
        Intent::Delete,
        -1,
        RecordValue::ResourceDeletion(ResourceDeletionRecord { resource_key: key }),
    ))
}

fn definition_keys(t: &TestEngine, id: &str) -> Vec<i64> {
    t.state().versions.get(id).cloned().unwrap_or_default()
}

fn timer_start(job_type: &str) -> Bpmn {
    let timer = r#"<bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R/PT1M</bpmn:timeCycle></bpmn:timerEventDefinition>"#;
    Bpmn::process("p")
        .element("startEvent", "tick", "", timer)
        .service("task", job_type)
        .end("end")
        .chain(&["tick", "task", "end"])
}

#[test]
fn a_deleted_definition_cannot_start_instances_and_the_previous_version_takes_over() {
    let mut t = TestEngine::new();
    let v1 = Bpmn::process("p").start("start").service("task", "v1").end("end").chain(&["start", "task", "end"]);
    let v2 = Bpmn::process("p").start("start").service("task", "v2").end("end").chain(&["start", "task", "end"]);
    t.deploy_ok(&v1);
    let running = t.create("p", json!({}));
    t.deploy_ok(&v2);
    let keys = definition_keys(&t, "p");
    assert_eq!(delete(&mut t, keys[0]).rejection, None, "a definition with a running instance can be deleted");
    let by_key = t.send(Command::new(
        Intent::Create,
        -1,
        RecordValue::ProcessInstanceCreation(Box::new(ProcessInstanceCreationRecord {
            bpmn_process_id: "".into(),
            version: -1,
            process_definition_key: keys[0],
            variables: Document::new(),
            process_instance_key: -1,
            fetch_variables: Vec::new(),
            awaiting_request_id: None,
            start_instructions: Vec::new(),
        })),
    ));
    assert_eq!(by_key.rejection.map(|r| r.rejection_type), Some(RejectionType::NotFound));
    t.work("v1", json!({}));
    assert!(t.is_completed(running), "running instances finish on their definition");
    assert_eq!(delete(&mut t, keys[1]).rejection, None);
    let gone = t.send(create_command("p", json!({}), Intent::Create));
    assert_eq!(gone.rejection.map(|r| r.rejection_type), Some(RejectionType::NotFound));
    t.deploy_ok(&v1);
    let version = t.state().latest_process("p").map(|p| p.record.version);
    assert_eq!(version, Some(3), "versions are never reused");
    let again = delete(&mut t, keys[1]);
    assert_eq!(again.rejection.map(|r| r.rejection_type), Some(RejectionType::NotFound));
}

#[test]
fn deleting_the_latest_version_moves_the_timer_start_event_to_the_previous_one() {
    let mut t = TestEngine::new();
    t.deploy_ok(&timer_start("v1"));
    t.deploy_ok(&timer_start("v2"));
    let keys = definition_keys(&t, "p");
    delete(&mut t, keys[1]);
    let timers: Vec<i64> = t.state().timers.values().map(|timer| timer.process_definition_key).collect();
    assert_eq!(timers, vec![keys[0]]);
    delete(&mut t, keys[0]);
    assert!(t.state().timers.is_empty());
}

fn modify(t: &mut TestEngine, instance: i64, activate: Vec<ActivateInstruction>, terminate: Vec<i64>) -> Record {
    let value = ProcessInstanceModificationRecord {
        process_instance_key: instance,
        activate_instructions: activate,
        terminate_instructions: terminate,
        created_scope_keys: Vec::new(),
    };
    t.send(Command::new(Intent::Modify, instance, RecordValue::ProcessInstanceModification(value)))
}

fn activate(element_id: &str, variables: serde_json::Value) -> ActivateInstruction {
    ActivateInstruction {
        element_id: element_id.to_string(),
        ancestor_element_instance_key: -1,
        variable_instructions: vec![VariableInstruction { variables: object(variables), scope_id: String::new() }],
    }
}

#[test]
fn a_modification_moves_a_token_from_one_task_to_another_with_variables() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .service("a", "a")
        .service("b", "b")
        .end("end")
        .chain(&["start", "a", "b", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    let a = t.activate("a", 1)[0].1.element_instance_key;
    let answer = modify(&mut t, pi, vec![activate("b", json!({"fixed": true}))], vec![a]);
    assert_eq!(answer.rejection, None);
    assert_eq!(answer.intent, Intent::Modified);
    assert!(t.activate("a", 1).is_empty(), "the job of the terminated task is canceled");
    let jobs = t.activate("b", 1);
    assert_eq!(jobs[0].1.variables["fixed"], json!(true));
    t.complete(jobs[0].0, json!({}));
    assert!(t.is_completed(pi));
}

#[test]
fn an_invalid_modification_is_rejected_whole_and_changes_nothing() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p").start("start").service("a", "a").end("end").chain(&["start", "a", "end"]);
    t.deploy_ok(&model);
    let pi = t.create("p", json!({}));
    let a = t.activate("a", 1)[0].1.element_instance_key;
    let before = t.state().clone();
    let answer = modify(&mut t, pi, vec![activate("nowhere", json!({}))], vec![a, 123]);
    let reason = answer.rejection.expect("rejected").reason;
    assert!(reason.contains("the element 'nowhere' could not be found"), "{reason}");
    assert!(reason.contains("the element instance '123' to terminate is not an active element"), "{reason}");
    assert_eq!(t.state().element_instances, before.element_instances);
    let missing = modify(&mut t, 42, vec![], vec![]);
    assert_eq!(missing.rejection.map(|r| r.rejection_type), Some(RejectionType::NotFound));
}

fn migrate(t: &mut TestEngine, instance: i64, target: i64, mappings: &[(&str, &str)]) -> Record {
    let value = ProcessInstanceMigrationRecord {
        process_instance_key: instance,
        target_process_definition_key: target,
        mapping_instructions: mappings.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
    };
    t.send(Command::new(Intent::Migrate, instance, RecordValue::ProcessInstanceMigration(value)))
}

#[test]
fn a_migrated_instance_continues_on_the_target_definition() {
    let mut t = TestEngine::new();
    let v1 = Bpmn::process("p").start("start").service("charge", "pay").end("end").chain(&["start", "charge", "end"]);
    let v2 = Bpmn::process("p")
        .start("start")
        .service("charge_card", "pay")
        .service("notify", "notify")
        .end("end")
        .chain(&["start", "charge_card", "notify", "end"]);
    t.deploy_ok(&v1);
    let pi = t.create("p", json!({}));
    t.deploy_ok(&v2);
    let target = definition_keys(&t, "p")[1];
    let unmapped = migrate(&mut t, pi, target, &[]);
    let reason = unmapped.rejection.expect("rejected").reason;
    assert!(reason.contains("no mapping instruction is defined for the active element 'charge'"), "{reason}");
    let wrong_type = migrate(&mut t, pi, target, &[("charge", "end")]);
    assert!(wrong_type.rejection.expect("rejected").reason.contains("the types must match"));
    let answer = migrate(&mut t, pi, target, &[("charge", "charge_card")]);
    assert_eq!(answer.rejection, None);
    assert_eq!(answer.intent, Intent::Migrated);
    let jobs = t.activate("pay", 1);
    assert_eq!(&*jobs[0].1.element_id, "charge_card");
    assert_eq!(jobs[0].1.process_definition_key, target);
    t.complete(jobs[0].0, json!({}));
    t.work("notify", json!({}));
    assert!(t.is_completed(pi), "the instance took the target's path");
    let missing = migrate(&mut t, 42, target, &[]);
    assert_eq!(missing.rejection.map(|r| r.rejection_type), Some(RejectionType::NotFound));
}

#[test]
fn start_instructions_start_an_instance_at_the_named_elements() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .service("a", "a")
        .service("b", "b")
        .end("end")
        .chain(&["start", "a", "b", "end"]);
    t.deploy_ok(&model);
    let mut command = create_command("p", json!({"x": 1}), Intent::Create);
    if let RecordValue::ProcessInstanceCreation(value) = &mut command.value {
        value.start_instructions = vec!["b".to_string()];
    }
    let created = t.send(command);
    assert_eq!(created.rejection, None);
    assert!(t.activate("a", 1).is_empty(), "the first task is skipped");
    t.work("b", json!({}));
    assert!(t.is_completed(created.key));
    let mut bad = create_command("p", json!({}), Intent::Create);
    if let RecordValue::ProcessInstanceCreation(value) = &mut bad.value {
        value.start_instructions = vec!["nowhere".to_string()];
    }
    let reason = t.send(bad).rejection.expect("rejected").reason;
    assert!(reason.contains("no element found with id 'nowhere'"), "{reason}");
}

/// `start → a → outer (start → inner (start → c → end), b → end) → end`: `b` and `c` sit in
/// subprocesses that are not active while the instance waits at `a`.
fn nested_model() -> Bpmn {
    let inner = Bpmn::process("inner").start("inner_start").service("c", "c").end("inner_end").chain(&[
        "inner_start",
        "c",
        "inner_end",
    ]);
    let outer = Bpmn::process("outer")
        .start("outer_start")
        .sub_process("inner", inner)
        .service("b", "b")
        .end("outer_end")
        .chain(&["outer_start", "inner", "outer_end"])
        .flow("b", "outer_end");
    Bpmn::process("p")
        .start("start")
        .service("a", "a")
        .sub_process("outer", outer)
        .end("end")
        .chain(&["start", "a", "outer", "end"])
}

#[test]
fn activating_an_element_creates_the_subprocesses_around_it_that_are_not_active() {
    let mut t = TestEngine::new();
    t.deploy_ok(&nested_model());
    let pi = t.create("p", json!({}));
    let a = t.activate("a", 1)[0].1.element_instance_key;
    let mut instruction = activate("c", json!({}));
    instruction
        .variable_instructions
        .push(VariableInstruction { variables: object(json!({"level": "outer"})), scope_id: "outer".into() });
    t.mark();
    let answer = modify(&mut t, pi, vec![instruction, activate("b", json!({}))], vec![a]);
    assert_eq!(answer.rejection, None);
    expect![[r#"
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SUB_PROCESS outer
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SUB_PROCESS outer
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SUB_PROCESS inner
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SUB_PROCESS inner
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK c
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK c
        E PROCESS_INSTANCE ELEMENT_ACTIVATING SERVICE_TASK b
        E PROCESS_INSTANCE ELEMENT_ACTIVATED SERVICE_TASK b
        E PROCESS_INSTANCE ELEMENT_TERMINATING SERVICE_TASK a
        E PROCESS_INSTANCE ELEMENT_TERMINATED SERVICE_TASK a"#]]
    .assert_eq(&t.lifecycle());
    let outers = t.state().element_instances.values().filter(|e| &*e.value.element_id == "outer").count();
    assert_eq!(outers, 1, "both elements share the one created 'outer'");
    let c = t.activate("c", 1);
    assert_eq!(c[0].1.variables["level"], json!("outer"), "variables reach the created scope");
    assert!(!t.process_variables(pi).as_object().unwrap().contains_key("level"));
    t.complete(c[0].0, json!({}));
    t.work("b", json!({}));
    assert!(t.is_completed(pi), "the created subprocesses complete as usual");
}

#[test]
fn a_missing_scope_is_created_below_the_named_ancestor_only() {
    let mut t = TestEngine::new();
    t.deploy_ok(&nested_model());
    let pi = t.create("p", json!({}));
    let a = t.activate("a", 1)[0].1.element_instance_key;
    let mut instruction = activate("c", json!({}));
    instruction.ancestor_element_instance_key = a;
    let reason = modify(&mut t, pi, vec![instruction], vec![]).rejection.expect("rejected").reason;
    assert!(reason.contains("needs an active instance of its flow scope"), "{reason}");
    assert!(t.activate("c", 1).is_empty());
}
