//! The broker in memory: routing, answers, long-polling, back-pressure, shutdown.

mod common;

use std::time::Duration;

use baton_engine::{Command, Intent, RecordValue, RejectionType};
use baton_runtime::{Broker, Error, Options};
use common::*;
use serde_json::json;

#[tokio::test]
async fn deploy_create_activate_complete_completes_the_instance() {
    let broker = Broker::open(memory(1)).expect("open");
    let mut records = broker.subscribe();
    deploy(&broker, "order", &["charge"]).await;
    let instance = create(&broker, "order", json!({"amount": 42})).await;

    let jobs = activate(&broker, "charge", 10).await;
    assert_eq!(jobs.len(), 1);
    let (job_key, job) = &jobs[0];
    assert_eq!(job.process_instance_key, instance);
    assert_eq!(job.variables.get("amount"), Some(&json!(42)));
    complete(&broker, *job_key, json!({"paid": true})).await;

    await_completion(&mut records, instance).await;
    let remaining = broker.query(1, move |state| state.element_instances.contains_key(&instance)).await.expect("query");
    assert!(!remaining, "the completed instance is gone from the state");
    broker.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn create_with_result_answers_with_the_variables_when_the_instance_completes() {
    let broker = Broker::open(memory(1)).expect("open");
    deploy(&broker, "order", &["charge"]).await;
    let waiting = {
        let broker = broker.clone();
        tokio::spawn(async move {
            broker.create_instance_with_result(creation("order", json!({"amount": 7})), Duration::from_secs(10)).await
        })
    };
    work(&broker, "charge", 1, json!({"receipt": "r-1"})).await;

    let result = waiting.await.expect("task").expect("result");
    assert_eq!(result.rejection, None);
    let RecordValue::ProcessInstanceResult(value) = &result.value else {
        panic!("expected a process instance result, got {result:?}");
    };
    assert_eq!(value.variables.get("amount"), Some(&json!(7)));
    assert_eq!(value.variables.get("receipt"), Some(&json!("r-1")));
}

#[tokio::test]
async fn create_with_result_times_out_while_the_instance_waits() {
    let broker = Broker::open(memory(1)).expect("open");
    deploy(&broker, "order", &["charge"]).await;
    let answer = broker.create_instance_with_result(creation("order", json!({})), Duration::from_millis(50)).await;
    assert!(matches!(answer, Err(Error::Timeout(_))), "{answer:?}");
}

#[tokio::test]
async fn commands_the_engine_refuses_are_answered_with_the_rejection() {
    let broker = Broker::open(memory(1)).expect("open");
    let record = broker.create_instance(creation("missing", json!({}))).await.expect("answer");
    let rejection = record.rejection.expect("a rejection");
    assert_eq!(rejection.rejection_type, RejectionType::NotFound);

    // A key that names no partition still gets the engine's answer.
    let command = Command::new(Intent::Complete, -1, RecordValue::Job(Box::new(job_value(json!({})))));
    let record = broker.execute_on_key(-1, command).await.expect("answer");
    assert_eq!(record.rejection.map(|r| r.rejection_type), Some(RejectionType::NotFound));
}

#[tokio::test]
async fn activation_without_jobs_answers_empty_and_writes_nothing() {
    let broker = Broker::open(memory(2)).expect("open");
    let before = broker.query(1, |state| state.last_position()).await.expect("query");
    let jobs = activate(&broker, "nothing-here", 5).await;
    assert!(jobs.is_empty());
    let after = broker.query(1, |state| state.last_position()).await.expect("query");
    assert_eq!(before, after, "an empty activation must not write a job batch");
}

#[tokio::test]
async fn long_polling_activation_returns_when_a_job_appears_later() {
    let broker = Broker::open(memory(1)).expect("open");
    deploy(&broker, "order", &["late"]).await;
    let polling = {
        let broker = broker.clone();
        tokio::spawn(async move { broker.activate_jobs(activation("late", 1, Some(Duration::from_secs(10)))).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!polling.is_finished(), "the poll must wait while there are no jobs");
    let started = std::time::Instant::now();
    create(&broker, "order", json!({})).await;

    let jobs = polling.await.expect("task").expect("activate");
    assert_eq!(jobs.len(), 1);
    assert!(started.elapsed() < Duration::from_secs(5), "woken by the new job, not by the deadline");
}

#[tokio::test]
async fn long_polling_activation_gives_up_empty_at_its_deadline() {
    let broker = Broker::open(memory(1)).expect("open");
    let started = std::time::Instant::now();
    let jobs = broker.activate_jobs(activation("never", 1, Some(Duration::from_millis(100)))).await.expect("activate");
    assert!(jobs.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn a_timed_out_job_is_handed_out_again_by_the_scheduler() {
    let broker = Broker::open(memory(1)).expect("open");
    deploy(&broker, "order", &["slow"]).await;
    create(&broker, "order", json!({})).await;
    let mut request = activation("slow", 1, None);
    request.timeout_ms = 50;
    let first = broker.activate_jobs(request).await.expect("activate");
    assert_eq!(first.len(), 1);

    // Nobody completes it: after 50 ms the partition's scheduler times it out, which wakes
    // this long poll.
    let again = broker.activate_jobs(activation("slow", 1, Some(Duration::from_secs(10)))).await.expect("activate");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].0, first[0].0);
}

#[tokio::test]
async fn a_full_queue_answers_backpressure_at_once() {
    let broker = Broker::open(Options { queue_capacity: 2, ..memory(1) }).expect("open");
    let pause = broker.pause_partition(1).await.expect("pause");
    // Each call enqueues its command, then gives up waiting; the commands stay queued.
    for _ in 0..2 {
        let waited = tokio::time::timeout(Duration::from_millis(20), broker.create_instance(creation("p", json!({}))));
        assert!(waited.await.is_err(), "the paused partition cannot answer");
    }
    let answer = broker.create_instance(creation("p", json!({}))).await;
    assert!(matches!(answer, Err(Error::Backpressure(1))), "{answer:?}");
    let answer = broker.query(1, |state| state.last_position()).await;
    assert!(matches!(answer, Err(Error::Backpressure(1))), "{answer:?}");

    drop(pause);
    // Once resumed the queue drains and the partition answers again.
    let mut answer = broker.create_instance(creation("p", json!({}))).await;
    for _ in 0..100 {
        if !matches!(answer, Err(Error::Backpressure(_))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        answer = broker.create_instance(creation("p", json!({}))).await;
    }
    let record = answer.expect("answer");
    assert_eq!(record.rejection.map(|r| r.rejection_type), Some(RejectionType::NotFound));
}

#[tokio::test]
async fn two_partitions_share_deployments_spread_instances_and_hand_out_jobs_from_both() {
    let broker = Broker::open(memory(2)).expect("open");
    let deployment = deploy(&broker, "order", &["charge"]).await;
    let RecordValue::Deployment(value) = &deployment.value else { panic!("not a deployment") };
    let definition_key = value.processes[0].process_definition_key;
    for partition in 1..=2 {
        let known = broker.query(partition, move |state| state.processes.contains_key(&definition_key)).await;
        assert!(known.expect("query"), "partition {partition} knows the definition");
    }

    let mut instances = Vec::new();
    for _ in 0..4 {
        instances.push(create(&broker, "order", json!({})).await);
    }
    let partitions: std::collections::BTreeSet<u32> =
        instances.iter().map(|&key| baton_engine::state::partition_of_key(key)).collect();
    assert_eq!(partitions, [1, 2].into_iter().collect(), "instances on both partitions");

    let jobs = activate(&broker, "charge", 10).await;
    assert_eq!(jobs.len(), 4, "jobs from both partitions in one activation");
    let mut records = broker.subscribe();
    for (key, _) in &jobs {
        complete(&broker, *key, json!({})).await;
    }
    for instance in instances {
        // Completion records of different partitions interleave in any order; use state instead.
        let partition = baton_engine::state::partition_of_key(instance);
        let gone = broker.query(partition, move |state| !state.element_instances.contains_key(&instance)).await;
        assert!(gone.expect("query"), "instance {instance} completed");
    }
    assert!(records.try_recv().is_ok(), "subscribers saw the records");
}

#[tokio::test]
async fn redeploying_identical_resources_is_answered_with_the_existing_version() {
    let broker = Broker::open(memory(2)).expect("open");
    let first = deploy(&broker, "order", &["charge"]).await;
    let second = deploy(&broker, "order", &["charge"]).await;
    let (RecordValue::Deployment(first), RecordValue::Deployment(second)) = (&first.value, &second.value) else {
        panic!("not deployments");
    };
    assert_eq!(first.processes[0].process_definition_key, second.processes[0].process_definition_key);
    assert!(!second.processes[0].is_new);
}

#[tokio::test]
async fn after_shutdown_calls_are_unavailable() {
    let broker = Broker::open(memory(2)).expect("open");
    deploy(&broker, "order", &["charge"]).await;
    broker.shutdown().await.expect("shutdown");
    let answer = broker.create_instance(creation("order", json!({}))).await;
    assert!(matches!(answer, Err(Error::Unavailable(_))), "{answer:?}");
    broker.shutdown().await.expect("a second shutdown is harmless");
}

#[tokio::test]
async fn dropping_the_last_handle_with_queued_work_does_not_hang() {
    let broker = Broker::open(memory(2)).expect("open");
    deploy(&broker, "order", &["charge"]).await;
    for _ in 0..50 {
        let queued =
            tokio::time::timeout(Duration::from_millis(1), broker.create_instance(creation("order", json!({}))));
        let _ = queued.await;
    }
    let dropped = tokio::task::spawn_blocking(move || drop(broker));
    tokio::time::timeout(Duration::from_secs(10), dropped).await.expect("drop finished").expect("no panic");
}

#[tokio::test]
async fn a_panicking_query_does_not_stop_the_partition() {
    let broker = Broker::open(memory(1)).expect("open");
    let answer = broker.query(1, |_| -> u32 { panic!("query bug") }).await;
    assert!(answer.is_err());
    assert_eq!(broker.query(1, |state| state.partition_id).await.expect("query"), 1);
}

#[tokio::test]
async fn invalid_options_are_refused() {
    let answer = Broker::open(Options { queue_capacity: 0, ..memory(1) });
    let Err(Error::Unavailable(message)) = answer else { panic!("expected refusal") };
    assert!(message.contains("queue_capacity"), "{message}");
}

#[tokio::test]
async fn shutdown_ends_a_waiting_long_poll() {
    let broker = Broker::open(memory(2)).expect("open");
    let polling = {
        let broker = broker.clone();
        tokio::spawn(async move { broker.activate_jobs(activation("never", 1, Some(Duration::from_secs(30)))).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    broker.shutdown().await.expect("shutdown");
    let answer = tokio::time::timeout(Duration::from_secs(5), polling).await.expect("the poll ended").expect("task");
    assert!(matches!(answer, Err(Error::Unavailable(_))), "{answer:?}");
}

#[tokio::test]
async fn in_memory_the_file_exporter_starts_over_each_run() {
    let export = tempfile::tempdir().expect("tempdir");
    let options = Options { export_dir: Some(export.path().to_path_buf()), ..memory(1) };
    for _ in 0..2 {
        let broker = Broker::open(options.clone()).expect("open");
        deploy(&broker, "order", &["charge"]).await;
        broker.shutdown().await.expect("shutdown");
    }
    let lines = std::fs::read_to_string(export.path().join("partition-1.jsonl")).expect("export file");
    let positions: Vec<u64> = lines
        .lines()
        .map(|line| serde_json::from_str::<baton_engine::Record>(line).expect("a record").position)
        .collect();
    assert_eq!(positions, (1..=positions.len() as u64).collect::<Vec<_>>());
    assert!(!positions.is_empty());
}

#[tokio::test]
async fn jobs_activated_for_a_caller_who_left_are_given_back_at_once() {
    let broker = Broker::open(memory(1)).expect("open");
    deploy(&broker, "order", &["charge"]).await;
    create(&broker, "order", json!({})).await;
    // Held still, the partition takes the activation only after its caller has gone.
    let pause = broker.pause_partition(1).await.expect("pause");
    let gone = tokio::time::timeout(Duration::ZERO, broker.activate_jobs(activation("charge", 1, None))).await;
    assert!(gone.is_err(), "the caller gave up before the answer");
    drop(pause);
    let started = std::time::Instant::now();
    let jobs = broker.activate_jobs(activation("charge", 1, Some(Duration::from_secs(30)))).await.expect("activate");
    assert_eq!(jobs.len(), 1, "the job is activatable again");
    assert!(started.elapsed() < Duration::from_secs(10), "not locked until its deadline");
    assert_eq!(jobs[0].1.retries, 3, "giving a job back costs no retry");
    broker.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_job_stream_gets_new_jobs_pushed_in_the_batch_that_created_them() {
    let broker = Broker::open(memory(2)).expect("open");
    deploy(&broker, "order", &["charge", "ship"]).await;
    let (_stream, mut pushed) = broker.stream_jobs(&activation("charge", 8, None));
    let mut records = broker.subscribe();
    let instance = create(&broker, "order", json!({"amount": 3})).await;
    let (key, job) = tokio::time::timeout(Duration::from_secs(5), pushed.recv()).await.expect("pushed").expect("open");
    assert_eq!(job.process_instance_key, instance);
    assert_eq!(job.worker, "test-worker");
    assert_eq!(job.variables.get("amount"), Some(&json!(3)));
    // Created, then activated for the stream without anyone asking.
    // (Subscribers may see the batch's records a moment after the stream got the job.)
    let mut created = false;
    loop {
        let record = tokio::time::timeout(Duration::from_secs(5), records.recv())
            .await
            .expect("the activation is among the records")
            .expect("the record stream is open");
        created |= record.key == key && record.intent == Intent::Created;
        if let RecordValue::JobBatch(batch) = &record.value
            && batch.job_keys.contains(&key)
        {
            assert!(created, "activated after its creation");
            break;
        }
    }
    assert!(activate(&broker, "charge", 10).await.is_empty(), "the job is the stream's");
    complete(&broker, key, json!({})).await;
    assert!(pushed.try_recv().is_err(), "jobs of other types are not pushed");
}

#[tokio::test]
async fn jobs_a_full_stream_cannot_take_stay_for_others() {
    let broker = Broker::open(memory(1)).expect("open");
    deploy(&broker, "order", &["charge"]).await;
    let (stream, mut pushed) = broker.stream_jobs(&activation("charge", 1, None));
    for _ in 0..3 {
        create(&broker, "order", json!({})).await;
    }
    // One fits in the stream; the others wait for whoever activates them.
    assert_eq!(activate(&broker, "charge", 10).await.len(), 2);
    assert!(pushed.recv().await.is_some());
    drop(stream);
    drop(pushed);
    create(&broker, "order", json!({})).await;
    assert_eq!(activate(&broker, "charge", 10).await.len(), 1, "a closed stream takes nothing");
}
