//! A rough throughput check, not a benchmark of record (those live in `cargo bench`): run with
//! `cargo test -p baton-runtime --release --test throughput -- --ignored --nocapture`.

mod common;

use std::time::Instant;

use baton_runtime::{Broker, Error, Options};
use common::*;
use serde_json::json;

const CLIENTS: usize = 64;
const INSTANCES_PER_CLIENT: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measures, prints a figure; run by hand in release mode"]
async fn create_instances_without_fsync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::open(Options { partitions: 2, ..on_disk(dir.path(), 2) }).expect("open");
    deploy(&broker, "empty", &[]).await;
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let broker = broker.clone();
            tokio::spawn(async move {
                let mut created = 0;
                while created < INSTANCES_PER_CLIENT {
                    match broker.create_instance(creation("empty", json!({"n": created}))).await {
                        Ok(record) => {
                            assert_eq!(record.rejection, None);
                            created += 1;
                        }
                        Err(Error::Backpressure(_)) => tokio::task::yield_now().await,
                        Err(error) => panic!("{error}"),
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.await.expect("client");
    }
    let elapsed = started.elapsed();
    let total = CLIENTS * INSTANCES_PER_CLIENT;
    println!("{total} instances (start → end) in {elapsed:?}: {:.0} instances/s", total as f64 / elapsed.as_secs_f64());
    broker.shutdown().await.expect("shutdown");
}
