//! The in-memory engine on its hot path: instances driven from creation to completion with the
//! jobs completed in the same process, no log, no network.
//!
//! `cargo bench -p baton-engine --bench engine` — reports instances/s (group `instances`) and
//! records/s (group `records`) for each model.

use std::hint::black_box;

use baton_engine::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Instances created before their jobs are worked, as a partition sees many in flight.
const IN_FLIGHT: usize = 100;

const SEQUENTIAL: &str = include_str!("wf3_jobs.bpmn");

const PARALLEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="par3_jobs" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:serviceTask id="a"><bpmn:extensionElements><zeebe:taskDefinition type="step1"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:serviceTask id="b"><bpmn:extensionElements><zeebe:taskDefinition type="step2"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:serviceTask id="c"><bpmn:extensionElements><zeebe:taskDefinition type="step3"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:parallelGateway id="join"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
    <bpmn:sequenceFlow id="fa" sourceRef="fork" targetRef="a"/>
    <bpmn:sequenceFlow id="fb" sourceRef="fork" targetRef="b"/>
    <bpmn:sequenceFlow id="fc" sourceRef="fork" targetRef="c"/>
    <bpmn:sequenceFlow id="ja" sourceRef="a" targetRef="join"/>
    <bpmn:sequenceFlow id="jb" sourceRef="b" targetRef="join"/>
    <bpmn:sequenceFlow id="jc" sourceRef="c" targetRef="join"/>
    <bpmn:sequenceFlow id="fe" sourceRef="join" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#;

struct Driver {
    engine: Engine,
    now: i64,
    process_id: &'static str,
}

impl Driver {
    fn new(process_id: &'static str, xml: &str) -> Driver {
        let mut engine = Engine::new(1);
        let deployment = DeploymentRecord {
            resources: vec![Resource { name: "model.bpmn".into(), content: xml.as_bytes().to_vec() }],
            ..DeploymentRecord::default()
        };
        let output = engine.process(Command::new(Intent::Create, -1, RecordValue::Deployment(Box::new(deployment))), 0);
        assert!(output.records.iter().all(|r| r.rejection.is_none()), "the model deploys");
        Driver { engine, now: 1, process_id }
    }

    /// Runs `IN_FLIGHT` instances from creation to completion; returns the records written.
    fn run_batch(&mut self) -> usize {
        let mut records = 0;
        self.now += 1;
        for _ in 0..IN_FLIGHT {
            let creation = ProcessInstanceCreationRecord {
                bpmn_process_id: self.process_id.into(),
                version: -1,
                process_definition_key: -1,
                variables: Document::new(),
                process_instance_key: -1,
                fetch_variables: Vec::new(),
                awaiting_request_id: None,
                start_instructions: Vec::new(),
            };
            let command = Command::new(Intent::Create, -1, RecordValue::ProcessInstanceCreation(Box::new(creation)));
            records += self.engine.process(command, self.now).records.len();
        }
        for (step, x) in [("step1", 1), ("step2", 2), ("step3", 3)] {
            let batch = JobBatchRecord {
                job_type: step.into(),
                worker: "bench".into(),
                timeout_ms: 60_000,
                max_jobs_to_activate: IN_FLIGHT as i32,
                fetch_variables: Vec::new(),
                job_keys: Vec::new(),
                jobs: Vec::new(),
                truncated: false,
            };
            let output = self
                .engine
                .process(Command::new(Intent::Activate, -1, RecordValue::JobBatch(Box::new(batch))), self.now);
            records += output.records.len();
            let keys = match output.records.last().map(|r| &r.value) {
                Some(RecordValue::JobBatch(batch)) => batch.job_keys.clone(),
                _ => Vec::new(),
            };
            for key in keys {
                let mut variables = Document::new();
                variables.insert("x".into(), x.into());
                let job = JobRecord { variables, ..JobRecord::default() };
                records += self
                    .engine
                    .process(Command::new(Intent::Complete, key, RecordValue::Job(Box::new(job))), self.now)
                    .records
                    .len();
            }
        }
        assert!(self.engine.state().element_instances.is_empty(), "every instance completed");
        records
    }
}

fn bench(c: &mut Criterion) {
    let models = [("seq3_jobs_xor", "wf3_jobs", SEQUENTIAL), ("par3_jobs", "par3_jobs", PARALLEL)];
    for (name, process_id, xml) in models {
        let records_per_batch = Driver::new(process_id, xml).run_batch();

        let mut group = c.benchmark_group("instances");
        group.throughput(Throughput::Elements(IN_FLIGHT as u64));
        let mut driver = Driver::new(process_id, xml);
        group.bench_function(name, |b| b.iter(|| black_box(driver.run_batch())));
        group.finish();

        let mut group = c.benchmark_group("records");
        group.throughput(Throughput::Elements(records_per_batch as u64));
        let mut driver = Driver::new(process_id, xml);
        group.bench_function(name, |b| b.iter(|| black_box(driver.run_batch())));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
