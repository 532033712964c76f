//! Shared helpers: a small BPMN model written inline, and shorthands for the records the
//! broker takes.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use baton_engine::{
    BpmnElementType, Command, Document, Intent, JobRecord, ProcessInstanceCreationRecord, Record, RecordType,
    RecordValue, Resource,
};
use baton_model::ElementKind;
use baton_runtime::{ActivateJobs, ActivatedJob, Broker, Options};
use tokio::sync::broadcast;

/// A process `id` with a chain of service tasks, one per job type.
pub fn process_xml(id: &str, job_types: &[&str]) -> String {
    let mut body = String::from(r#"<bpmn:startEvent id="start"/>"#);
    let mut previous = "start".to_string();
    for (index, job_type) in job_types.iter().enumerate() {
        let task = format!("task_{}", index + 1);
        body.push_str(&format!(
            r#"<bpmn:serviceTask id="{task}"><bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/></bpmn:extensionElements></bpmn:serviceTask>"#
        ));
        body.push_str(&format!(r#"<bpmn:sequenceFlow id="to_{task}" sourceRef="{previous}" targetRef="{task}"/>"#));
        previous = task;
    }
    body.push_str(r#"<bpmn:endEvent id="end"/>"#);
    body.push_str(&format!(r#"<bpmn:sequenceFlow id="to_end" sourceRef="{previous}" targetRef="end"/>"#));
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs_{id}" targetNamespace="http://bpmn.io/schema/bpmn"><bpmn:process id="{id}" isExecutable="true">{body}</bpmn:process></bpmn:definitions>"#
    )
}

pub fn memory(partitions: u32) -> Options {
    Options { partitions, ..Options::default() }
}

pub fn on_disk(dir: &std::path::Path, partitions: u32) -> Options {
    Options {
        data_dir: Some(dir.to_path_buf()),
        partitions,
        // The tests check recovery logic, not the disk; fsync only makes them slow.
        fsync: false,
        ..Options::default()
    }
}

pub async fn deploy(broker: &Broker, id: &str, job_types: &[&str]) -> Record {
    let resource = Resource { name: format!("{id}.bpmn"), content: process_xml(id, job_types).into_bytes() };
    let record = broker.deploy(vec![resource]).await.expect("deploy");
    assert_eq!(record.rejection, None, "deployment rejected");
    record
}

pub fn creation(id: &str, variables: serde_json::Value) -> ProcessInstanceCreationRecord {
    ProcessInstanceCreationRecord {
        bpmn_process_id: id.into(),
        version: -1,
        process_definition_key: -1,
        variables: document(variables),
        process_instance_key: -1,
        fetch_variables: Vec::new(),
        awaiting_request_id: None,
        start_instructions: Vec::new(),
    }
}

pub async fn create(broker: &Broker, id: &str, variables: serde_json::Value) -> i64 {
    let record = broker.create_instance(creation(id, variables)).await.expect("create");
    assert_eq!(record.rejection, None, "creation rejected");
    record.key
}

pub fn document(value: serde_json::Value) -> Document {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("expected an object, got {other}"),
    }
}

pub fn activation(job_type: &str, max: i32, request_timeout: Option<Duration>) -> ActivateJobs {
    ActivateJobs {
        job_type: job_type.to_string(),
        worker: "test-worker".to_string(),
        timeout_ms: 60_000,
        max_jobs_to_activate: max,
        fetch_variables: Vec::new(),
        request_timeout,
    }
}

pub async fn activate(broker: &Broker, job_type: &str, max: i32) -> Vec<ActivatedJob> {
    broker.activate_jobs(activation(job_type, max, None)).await.expect("activate")
}

pub fn job_value(variables: serde_json::Value) -> JobRecord {
    JobRecord { variables: document(variables), ..JobRecord::default() }
}

pub async fn complete(broker: &Broker, job_key: i64, variables: serde_json::Value) {
    let command = Command::new(Intent::Complete, job_key, RecordValue::Job(Box::new(job_value(variables))));
    let record = broker.execute_on_key(job_key, command).await.expect("complete");
    assert_eq!(record.rejection, None, "completion rejected");
    assert_eq!(record.intent, Intent::Completed);
}

/// Activates and completes every job of `job_type` until `count` were done.
pub async fn work(broker: &Broker, job_type: &str, count: usize, variables: serde_json::Value) {
    let mut done = 0;
    while done < count {
        let jobs = broker
            .activate_jobs(activation(job_type, (count - done) as i32, Some(Duration::from_secs(10))))
            .await
            .expect("activate");
        assert!(!jobs.is_empty(), "no {job_type} job appeared within the long-poll");
        for (key, _) in jobs {
            complete(broker, key, variables.clone()).await;
            done += 1;
        }
    }
}

pub fn is_process_completed(record: &Record, instance_key: i64) -> bool {
    record.record_type == RecordType::Event
        && record.intent == Intent::ElementCompleted
        && record.key == instance_key
        && matches!(&record.value, RecordValue::ProcessInstance(value)
            if value.bpmn_element_type == BpmnElementType::Element(ElementKind::Process))
}

/// Waits on `records` until the process instance `instance_key` completes.
pub async fn await_completion(records: &mut broadcast::Receiver<Arc<Record>>, instance_key: i64) {
    let wait = async {
        loop {
            let record = records.recv().await.expect("the record stream ended or lagged");
            if is_process_completed(&record, instance_key) {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait).await.expect("the instance did not complete in time");
}
