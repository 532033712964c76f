//! A typed Rust client for the Zeebe gateway protocol — Baton's gRPC gateway or a Zeebe
//! gateway — and a job worker on tokio. [`Client`] has one method per RPC, with process
//! variables as serde values (JSON text on the wire) and failures as one [`Error`] type.
//! [`Worker`] takes jobs from the `StreamActivatedJobs` push stream (falling back to long-poll
//! `ActivateJobs` when the stream is unavailable), runs one async handler per job type with a
//! bounded number of jobs in flight, and completes, fails or throws a BPMN error for each job
//! depending on what the handler returned. `run` stops gracefully when its shutdown future
//! resolves.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use baton_client::{Client, CreateInstance, Job, JobError, Worker};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct Order { amount: f64 }
//!
//! #[derive(Serialize, Deserialize)]
//! struct Paid { paid: bool }
//!
//! # async fn example() -> Result<(), baton_client::Error> {
//! let client = Client::connect("127.0.0.1:26500").await?;
//! client.deploy_file("order.bpmn").await?;
//!
//! let worker = Worker::builder(client.clone())
//!     .name("payments")
//!     .job_type("payment")
//!     .handler(|job: Job| async move {
//!         let order: Order = job.variables()?;
//!         if order.amount > 1000.0 {
//!             return Err(JobError::bpmn_error("TOO_EXPENSIVE", "needs approval"));
//!         }
//!         Ok(Paid { paid: true })
//!     })
//!     .max_concurrent_jobs(32)
//!     .timeout(Duration::from_secs(60))
//!     .build()?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let running = tokio::spawn(worker.run(async move { let _ = stopped.await; }));
//!
//! let request = CreateInstance::by_id("order").with_variables(serde_json::json!({ "amount": 12.5 }));
//! let done = client.create_instance_with_result::<_, Paid>(request, &[], Some(Duration::from_secs(10))).await?;
//! assert!(done.variables.paid);
//!
//! let _ = stop.send(());
//! let _summary = running.await;
//! # Ok(())
//! # }
//! ```

mod client;
mod error;
mod worker;

pub use client::{
    ActivateJobs, Client, CreateInstance, Deployment, Incident, InstanceResult, Job, ProcessInstance, ProcessMetadata,
    ProcessRef, Topology,
};
pub use error::Error;
pub use tonic::Code;
pub use worker::{JobError, RunSummary, Worker, WorkerBuilder};
