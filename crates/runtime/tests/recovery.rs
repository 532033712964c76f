//! Durability: what a reopened broker rebuilds from snapshots and the log, compaction, the file
//! exporter, and refusing damaged data.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use baton_engine::State;
use baton_runtime::{Broker, Error, Options};
use common::*;
use serde_json::json;

async fn state_of(broker: &Broker, partition: u32) -> State {
    broker.query(partition, |state| state.clone()).await.expect("query")
}

async fn states(broker: &Broker) -> Vec<State> {
    let mut states = Vec::new();
    for partition in 1..=broker.partition_count() {
        states.push(state_of(broker, partition).await);
    }
    states
}

/// Deploys a three-task process, starts `instances` instances, and moves them along unevenly:
/// every job of the first task done, one of the second, none of the third.
async fn some_work(broker: &Broker, instances: usize) {
    deploy(broker, "order", &["reserve", "charge", "ship"]).await;
    for index in 0..instances {
        create(broker, "order", json!({"index": index, "customer": {"name": "Ada", "tags": ["a", 1.5]}})).await;
    }
    work(broker, "reserve", instances, json!({"reserved": true})).await;
    work(broker, "charge", 1, json!({"paid": 12.5})).await;
}

fn segments(dir: &Path, partition: u32) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join(format!("partition-{partition}/log")))
        .expect("log dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn a_clean_restart_rebuilds_the_same_state_and_carries_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::open(on_disk(dir.path(), 1)).expect("open");
    some_work(&broker, 3).await;
    let before = states(&broker).await;
    assert!(!before[0].element_instances.is_empty());
    broker.shutdown().await.expect("shutdown");
    drop(broker);

    let broker = Broker::open(on_disk(dir.path(), 1)).expect("reopen");
    assert_eq!(states(&broker).await, before);

    // It carries on where it stopped: the remaining jobs finish every instance.
    let mut records = broker.subscribe();
    let instances: Vec<i64> = before[0]
        .element_instances
        .values()
        .filter(|instance| instance.value.flow_scope_key < 0)
        .map(|instance| instance.key)
        .collect();
    assert_eq!(instances.len(), 3);
    work(&broker, "charge", 2, json!({})).await;
    work(&broker, "ship", 3, json!({})).await;
    for instance in instances {
        await_completion(&mut records, instance).await;
    }
    let new_instance = create(&broker, "order", json!({})).await;
    assert!(new_instance > before[0].element_instances.keys().copied().max().unwrap_or(0), "keys continue");
    broker.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_crash_is_recovered_from_the_snapshot_plus_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options { snapshot_period_records: 25, ..on_disk(dir.path(), 1) };
    let broker = Broker::open(options.clone()).expect("open");
    some_work(&broker, 5).await;
    let before = states(&broker).await;
    broker.simulate_crash().await.expect("crash");
    drop(broker);
    let snapshots = std::fs::read_dir(dir.path().join("partition-1/snapshots")).expect("snapshots").count();
    assert!(snapshots >= 1, "periodic snapshots were taken");

    let broker = Broker::open(options).expect("reopen");
    assert_eq!(states(&broker).await, before);
    work(&broker, "charge", 4, json!({})).await;
    broker.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_crash_before_any_snapshot_is_recovered_from_the_log_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::open(on_disk(dir.path(), 1)).expect("open");
    some_work(&broker, 2).await;
    let before = states(&broker).await;
    broker.simulate_crash().await.expect("crash");
    drop(broker);
    assert_eq!(std::fs::read_dir(dir.path().join("partition-1/snapshots")).map(|d| d.count()).unwrap_or(0), 0);

    let broker = Broker::open(on_disk(dir.path(), 1)).expect("reopen");
    assert_eq!(states(&broker).await, before);
}

#[tokio::test]
async fn two_partitions_recover_their_deployments_and_instances() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options { snapshot_period_records: 30, ..on_disk(dir.path(), 2) };
    let broker = Broker::open(options.clone()).expect("open");
    some_work(&broker, 4).await;
    let before = states(&broker).await;
    assert!(before.iter().all(|state| !state.processes.is_empty()), "deployed on both");
    assert!(before.iter().all(|state| !state.element_instances.is_empty()), "instances on both");
    broker.simulate_crash().await.expect("crash");
    drop(broker);

    let broker = Broker::open(options).expect("reopen");
    assert_eq!(states(&broker).await, before);
    work(&broker, "charge", 3, json!({})).await;
    broker.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn create_with_result_works_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::open(on_disk(dir.path(), 1)).expect("open");
    deploy(&broker, "order", &["charge"]).await;
    // Left waiting across the restart: its answer has nobody to go to.
    let abandoned = broker.create_instance_with_result(creation("order", json!({})), Duration::from_millis(20)).await;
    assert!(matches!(abandoned, Err(Error::Timeout(_))));
    broker.shutdown().await.expect("shutdown");
    drop(broker);

    let broker = Broker::open(on_disk(dir.path(), 1)).expect("reopen");
    let waiting = {
        let broker = broker.clone();
        tokio::spawn(async move {
            broker.create_instance_with_result(creation("order", json!({"n": 2})), Duration::from_secs(10)).await
        })
    };
    // Completing the old instance first must not answer the new request.
    work(&broker, "charge", 2, json!({})).await;
    let result = waiting.await.expect("task").expect("result");
    let baton_engine::RecordValue::ProcessInstanceResult(value) = &result.value else { panic!("{result:?}") };
    assert_eq!(value.variables.get("n"), Some(&json!(2)));
}

#[tokio::test]
async fn snapshots_let_the_log_be_compacted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options { snapshot_period_records: 40, log_segment_bytes: 8 << 10, ..on_disk(dir.path(), 1) };
    let broker = Broker::open(options.clone()).expect("open");
    some_work(&broker, 10).await;
    work(&broker, "charge", 9, json!({})).await;
    work(&broker, "ship", 10, json!({})).await;
    let before = states(&broker).await;
    broker.shutdown().await.expect("shutdown");
    drop(broker);

    let first = segments(dir.path(), 1).first().cloned().expect("a segment");
    assert_ne!(
        first.file_name().and_then(|n| n.to_str()),
        Some("00000000000000000001.log"),
        "the oldest segments were deleted"
    );
    let broker = Broker::open(options).expect("reopen");
    assert_eq!(states(&broker).await, before);
}

#[tokio::test]
async fn the_file_exporter_sees_every_record_once_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = tempfile::tempdir().expect("tempdir");
    let options = Options {
        export_dir: Some(export.path().to_path_buf()),
        snapshot_period_records: 40,
        log_segment_bytes: 8 << 10,
        ..on_disk(dir.path(), 1)
    };
    let broker = Broker::open(options.clone()).expect("open");
    some_work(&broker, 3).await;
    broker.shutdown().await.expect("shutdown");
    drop(broker);
    let broker = Broker::open(options).expect("reopen");
    work(&broker, "charge", 2, json!({})).await;
    let last = broker.query(1, |state| state.last_position()).await.expect("query");
    broker.shutdown().await.expect("shutdown");

    let lines = std::fs::read_to_string(export.path().join("partition-1.jsonl")).expect("export file");
    let positions: Vec<u64> = lines
        .lines()
        .map(|line| {
            let record: baton_engine::Record = serde_json::from_str(line).expect("a record per line");
            record.position
        })
        .collect();
    assert_eq!(positions, (1..=last).collect::<Vec<_>>(), "every record exactly once, in order");
    let acked = std::fs::read_to_string(export.path().join("partition-1.position")).expect("position file");
    assert_eq!(acked.trim(), last.to_string());
}

#[tokio::test]
async fn a_torn_tail_is_cut_off_and_the_rest_recovered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::open(on_disk(dir.path(), 1)).expect("open");
    some_work(&broker, 2).await;
    let before = states(&broker).await;
    broker.simulate_crash().await.expect("crash");
    drop(broker);

    let last = segments(dir.path(), 1).pop().expect("a segment");
    let mut bytes = std::fs::read(&last).expect("read");
    bytes.extend_from_slice(&[0x42; 11]);
    std::fs::write(&last, bytes).expect("write");

    let broker = Broker::open(on_disk(dir.path(), 1)).expect("reopen");
    assert_eq!(states(&broker).await, before);
}

#[tokio::test]
async fn corruption_inside_the_log_refuses_to_open_naming_the_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options { log_segment_bytes: 4 << 10, ..on_disk(dir.path(), 1) };
    let broker = Broker::open(options.clone()).expect("open");
    some_work(&broker, 3).await;
    // No final snapshot, so no compaction: the damaged segment is one recovery needs.
    broker.simulate_crash().await.expect("crash");
    drop(broker);

    let all = segments(dir.path(), 1);
    assert!(all.len() >= 2, "the test needs more than one segment");
    let mut bytes = std::fs::read(&all[0]).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&all[0], bytes).expect("write");

    let Err(Error::Storage(message)) = Broker::open(options) else { panic!("a corrupt log must not open") };
    let name = all[0].file_name().and_then(|n| n.to_str()).expect("name");
    assert!(message.contains(name) && message.contains("corrupt"), "{message}");
}

#[tokio::test]
async fn the_partition_count_of_a_data_dir_cannot_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::open(on_disk(dir.path(), 2)).expect("open");
    broker.shutdown().await.expect("shutdown");
    drop(broker);
    let Err(Error::Storage(message)) = Broker::open(on_disk(dir.path(), 3)) else { panic!("must refuse") };
    assert!(message.contains("2 partitions"), "{message}");
}

#[tokio::test]
async fn a_data_dir_in_use_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::open(on_disk(dir.path(), 1)).expect("open");
    let Err(Error::Storage(message)) = Broker::open(on_disk(dir.path(), 1)) else { panic!("must refuse") };
    assert!(message.contains("in use"), "{message}");
    broker.shutdown().await.expect("shutdown");
}

fn fork_join_xml() -> String {
    let task = |id: &str, job_type: &str| {
        format!(
            r#"<bpmn:serviceTask id="{id}"><bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/></bpmn:extensionElements></bpmn:serviceTask>"#
        )
    };
    let flow = |id: &str, from: &str, to: &str| {
        format!(r#"<bpmn:sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"/>"#)
    };
    let body = [
        r#"<bpmn:startEvent id="start"/>"#.to_string(),
        r#"<bpmn:parallelGateway id="fork"/>"#.to_string(),
        task("left", "left"),
        task("right", "right"),
        r#"<bpmn:parallelGateway id="join"/>"#.to_string(),
        r#"<bpmn:endEvent id="end"/>"#.to_string(),
        flow("f1", "start", "fork"),
        flow("f2", "fork", "left"),
        flow("f3", "fork", "right"),
        flow("f4", "left", "join"),
        flow("f5", "right", "join"),
        flow("f6", "join", "end"),
    ]
    .concat();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs" targetNamespace="http://bpmn.io/schema/bpmn"><bpmn:process id="fork_join" isExecutable="true">{body}</bpmn:process></bpmn:definitions>"#
    )
}

#[tokio::test]
async fn a_token_waiting_at_a_join_survives_a_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A snapshot after every batch: recovery then rests on the snapshot, not on replay.
    let options = Options { snapshot_period_records: 1, ..on_disk(dir.path(), 1) };
    let broker = Broker::open(options.clone()).expect("open");
    let resource = baton_engine::Resource { name: "fork_join.bpmn".to_string(), content: fork_join_xml().into_bytes() };
    let deployment = broker.deploy(vec![resource]).await.expect("deploy");
    assert_eq!(deployment.rejection, None);
    let instance = create(&broker, "fork_join", json!({})).await;
    work(&broker, "left", 1, json!({"left": 1})).await;
    let before = states(&broker).await;
    let scope = before[0].element_instances.get(&instance).expect("the instance");
    assert!(!scope.join_tokens.is_empty(), "a token waits at the join");
    broker.simulate_crash().await.expect("crash");
    drop(broker);

    let broker = Broker::open(options).expect("reopen");
    assert_eq!(states(&broker).await, before);
    let mut records = broker.subscribe();
    work(&broker, "right", 1, json!({})).await;
    await_completion(&mut records, instance).await;
}
