//! Messages on a node with several partitions: a message is published on the partition of its
//! correlation key and reaches instances on every partition, message start events start the
//! instance there, and subscriptions survive a crash.

mod common;

use std::time::Duration;

use baton_engine::state::partition_of_key;
use baton_engine::{Command, Intent, MessageRecord, RecordValue, Resource};
use baton_runtime::Broker;
use common::*;
use serde_json::json;

const CATCH: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:message id="m" name="paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="order" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#;

const MESSAGE_START: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d2" targetNamespace="t">
  <bpmn:message id="s" name="signup"/>
  <bpmn:process id="welcome" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="s"/></bpmn:startEvent>
    <bpmn:serviceTask id="greet"><bpmn:extensionElements><zeebe:taskDefinition type="greet"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="greet"/>
    <bpmn:sequenceFlow id="f2" sourceRef="greet" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#;

async fn deploy_xml(broker: &Broker, name: &str, xml: &str) {
    let resource = Resource { name: name.into(), content: xml.as_bytes().to_vec() };
    let record = broker.deploy(vec![resource]).await.expect("deploy");
    assert_eq!(record.rejection, None, "deployment rejected");
}

async fn publish(broker: &Broker, name: &str, correlation_key: &str, ttl_ms: i64, variables: serde_json::Value) {
    let message = MessageRecord {
        name: name.into(),
        correlation_key: correlation_key.into(),
        time_to_live_ms: ttl_ms,
        message_id: String::new(),
        variables: document(variables),
        deadline_ms: -1,
    };
    let record = broker
        .publish_message(Command::new(Intent::Publish, -1, RecordValue::Message(Box::new(message))))
        .await
        .expect("publish");
    assert_eq!(record.rejection, None, "publish rejected");
    assert_eq!(partition_of_key(record.key), broker.partition_of_correlation_key(correlation_key));
}

/// Polls the instance's partition until the instance is gone (completed).
async fn finished(broker: &Broker, instance: i64) -> bool {
    for _ in 0..500 {
        let gone = broker
            .query(partition_of_key(instance), move |state| !state.element_instances.contains_key(&instance))
            .await
            .expect("query");
        if gone {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn messages_reach_instances_on_every_partition() {
    let broker = Broker::open(memory(3)).expect("open");
    deploy_xml(&broker, "catch.bpmn", CATCH).await;
    let mut instances = Vec::new();
    for n in 0..9 {
        let key = format!("order-{n}");
        instances.push((create(&broker, "order", json!({ "orderId": key })).await, key));
    }
    let homes: std::collections::BTreeSet<(u32, u32)> = instances
        .iter()
        .map(|(instance, key)| (partition_of_key(*instance), broker.partition_of_correlation_key(key)))
        .collect();
    assert!(homes.iter().any(|(p, m)| p != m), "some messages live on another partition than their instance");
    for (n, (_, key)) in instances.iter().enumerate() {
        // Buffered for a while, so the order of arrival does not matter.
        publish(&broker, "paid", key, 60_000, json!({ "n": n })).await;
    }
    for (instance, key) in &instances {
        assert!(finished(&broker, *instance).await, "the instance waiting for {key} completed");
    }
    for partition in 1..=3 {
        let (open, offered) = broker
            .query(partition, |state| (state.message_subscriptions.len(), state.correlating.len()))
            .await
            .expect("query");
        assert_eq!((open, offered), (0, 0), "partition {partition} holds no subscription any more");
    }
}

#[tokio::test]
async fn a_message_start_event_starts_the_instance_on_the_partition_of_the_key() {
    let broker = Broker::open(memory(2)).expect("open");
    deploy_xml(&broker, "welcome.bpmn", MESSAGE_START).await;
    let mut records = broker.subscribe();
    let key = (0..).map(|n| format!("user-{n}")).find(|k| broker.partition_of_correlation_key(k) == 2).unwrap();
    publish(&broker, "signup", &key, 60_000, json!({"user": 1})).await;
    // One active instance per correlation key: the second message waits for the first to end.
    publish(&broker, "signup", &key, 60_000, json!({"user": 2})).await;
    let jobs = activate(&broker, "greet", 10).await;
    assert_eq!(jobs.len(), 1, "one instance started");
    assert_eq!(partition_of_key(jobs[0].0), 2, "on the partition of the correlation key");
    complete(&broker, jobs[0].0, json!({})).await;
    let next = async {
        loop {
            let jobs = activate(&broker, "greet", 10).await;
            if !jobs.is_empty() {
                return jobs;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let jobs = tokio::time::timeout(Duration::from_secs(5), next).await.expect("the second instance started");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].1.variables.get("user"), Some(&json!(2)));
    assert!(records.try_recv().is_ok());
}

#[tokio::test]
async fn subscriptions_between_partitions_survive_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::open(on_disk(dir.path(), 2)).expect("open");
    deploy_xml(&broker, "catch.bpmn", CATCH).await;
    let mut waiting = Vec::new();
    for n in 0..6 {
        let key = format!("order-{n}");
        waiting.push((create(&broker, "order", json!({ "orderId": key })).await, key));
    }
    broker.simulate_crash().await.expect("crash");
    drop(broker);

    let broker = Broker::open(on_disk(dir.path(), 2)).expect("reopen");
    for (_, key) in &waiting {
        publish(&broker, "paid", key, 60_000, json!({})).await;
    }
    for (instance, key) in &waiting {
        assert!(finished(&broker, *instance).await, "the instance waiting for {key} completed");
    }
    broker.shutdown().await.expect("shutdown");
}
