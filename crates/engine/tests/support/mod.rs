//! Test harness: a fluent builder for BPMN models and an engine driver with a fake clock that
//! checks, after every command, that replaying the log rebuilds exactly the live state.

#![allow(dead_code)]

use std::fmt::Write;

use baton_engine::*;
use serde_json::json;

/// Builds BPMN XML in the Zeebe dialect, the way the modeler writes it.
pub struct Bpmn {
    id: String,
    body: String,
    flow_count: usize,
}

impl Bpmn {
    pub fn process(id: &str) -> Bpmn {
        Bpmn { id: id.to_string(), body: String::new(), flow_count: 0 }
    }

    /// Any element, with raw inner XML (extension elements, event definitions).
    pub fn element(mut self, tag: &str, id: &str, attrs: &str, inner: &str) -> Bpmn {
        let _ = write!(self.body, r#"<bpmn:{tag} id="{id}" {attrs}>{inner}</bpmn:{tag}>"#);
        self
    }

    pub fn start(self, id: &str) -> Bpmn {
        self.element("startEvent", id, "", "")
    }

    pub fn end(self, id: &str) -> Bpmn {
        self.element("endEvent", id, "", "")
    }

    pub fn terminate_end(self, id: &str) -> Bpmn {
        self.element("endEvent", id, "", "<bpmn:terminateEventDefinition/>")
    }

    pub fn service(self, id: &str, job_type: &str) -> Bpmn {
        let inner =
            format!(r#"<bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/></bpmn:extensionElements>"#);
        self.element("serviceTask", id, "", &inner)
    }

    pub fn service_with(self, id: &str, job_type: &str, extra: &str) -> Bpmn {
        let inner = format!(
            r#"<bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/>{extra}</bpmn:extensionElements>"#
        );
        self.element("serviceTask", id, "", &inner)
    }

    pub fn script(self, id: &str, expression: &str, result: &str) -> Bpmn {
        let inner = format!(
            r#"<bpmn:extensionElements><zeebe:script expression="{}" resultVariable="{result}"/></bpmn:extensionElements>"#,
            escape(expression)
        );
        self.element("scriptTask", id, "", &inner)
    }

    pub fn xor(self, id: &str, default: Option<&str>) -> Bpmn {
        let attrs = default.map(|d| format!(r#"default="{d}""#)).unwrap_or_default();
        self.element("exclusiveGateway", id, &attrs, "")
    }

    pub fn inclusive(self, id: &str, default: Option<&str>) -> Bpmn {
        let attrs = default.map(|d| format!(r#"default="{d}""#)).unwrap_or_default();
        self.element("inclusiveGateway", id, &attrs, "")
    }

    pub fn parallel(self, id: &str) -> Bpmn {
        self.element("parallelGateway", id, "", "")
    }

    pub fn sub_process(self, id: &str, inner: Bpmn) -> Bpmn {
        let body = inner.body;
        self.element("subProcess", id, "", &body)
    }

    fn next_flow_id(&self) -> String {
        // Builders nested as subprocesses number their flows apart from the outer process.
        match self.id.as_str() {
            "p" => format!("flow_{}", self.flow_count + 1),
            id => format!("{id}_flow_{}", self.flow_count + 1),
        }
    }

    pub fn flow(self, from: &str, to: &str) -> Bpmn {
        let id = self.next_flow_id();
        self.flow_named(&id, from, to, None)
    }

    pub fn flow_if(self, from: &str, to: &str, condition: &str) -> Bpmn {
        let id = self.next_flow_id();
        self.flow_named(&id, from, to, Some(condition))
    }

    pub fn flow_named(mut self, id: &str, from: &str, to: &str, condition: Option<&str>) -> Bpmn {
        self.flow_count += 1;
        match condition {
            None => {
                let _ = write!(self.body, r#"<bpmn:sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"/>"#);
            }
            Some(condition) => {
                let _ = write!(
                    self.body,
                    r#"<bpmn:sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{}</bpmn:conditionExpression></bpmn:sequenceFlow>"#,
                    escape(condition)
                );
            }
        }
        self
    }

    /// Flows between consecutive elements.
    pub fn chain(mut self, ids: &[&str]) -> Bpmn {
        for pair in ids.windows(2) {
            self = self.flow(pair[0], pair[1]);
        }
        self
    }

    pub fn xml(&self) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs_{0}" targetNamespace="http://bpmn.io/schema/bpmn"><bpmn:process id="{0}" isExecutable="true">{1}</bpmn:process></bpmn:definitions>"#,
            self.id, self.body
        )
    }
}

/// Root `bpmn:message` elements: (id, name, correlation key expression).
pub fn with_messages(model: &Bpmn, messages: &[(&str, &str, &str)]) -> String {
    let defs: String = messages
        .iter()
        .map(|(id, name, key)| {
            format!(
                r#"<bpmn:message id="{id}" name="{}"><bpmn:extensionElements><zeebe:subscription correlationKey="{}"/></bpmn:extensionElements></bpmn:message>"#,
                escape(name),
                escape(key)
            )
        })
        .collect();
    model.xml().replace("</bpmn:definitions>", &format!("{defs}</bpmn:definitions>"))
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub const START_MS: i64 = 1_700_000_000_000;

/// Drives an engine like a partition would, with a clock the test controls.
pub struct TestEngine {
    pub engine: Engine,
    pub now: i64,
    pub log: Vec<Record>,
    pub responses: Vec<Response>,
    pub side_effects: Vec<SideEffect>,
    next_request: u64,
    mark: usize,
    /// Checking replay after every command is quadratic; random tests switch it to the end.
    pub check_replay_each_step: bool,
}

impl Default for TestEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEngine {
    pub fn new() -> TestEngine {
        TestEngine {
            engine: Engine::new(1),
            now: START_MS,
            log: Vec::new(),
            responses: Vec::new(),
            side_effects: Vec::new(),
            next_request: 0,
            mark: 0,
            check_replay_each_step: true,
        }
    }

    /// An engine for partition `id` of a node with `count` partitions.
    pub fn on_partition(id: u32, count: u32) -> TestEngine {
        let mut t = TestEngine::new();
        t.engine = Engine::new(id);
        t.engine.set_partition_count(count);
        t
    }

    pub fn state(&self) -> &State {
        self.engine.state()
    }

    /// Commands for other partitions produced since the last call.
    pub fn take_sent(&mut self) -> Vec<(u32, Command)> {
        let mut sent = Vec::new();
        self.side_effects.retain(|effect| match effect {
            SideEffect::SendCommand { partition_id, command } => {
                sent.push((*partition_id, (**command).clone()));
                false
            }
            _ => true,
        });
        sent
    }

    /// Sends a command that expects an answer and returns the answer.
    pub fn send(&mut self, command: Command) -> Record {
        self.next_request += 1;
        let request = self.next_request;
        self.run(command.with_request(request));
        self.responses
            .iter()
            .rev()
            .find(|r| r.request_id == request)
            .map(|r| r.record.clone())
            .expect("every request is answered in its batch")
    }

    pub fn run(&mut self, command: Command) -> Output {
        let output = self.engine.process(command, self.now);
        self.log.extend(output.records.iter().cloned());
        self.responses.extend(output.responses.iter().cloned());
        self.side_effects.extend(output.side_effects.iter().cloned());
        if self.check_replay_each_step {
            self.assert_replay_equal();
        }
        output
    }

    /// State rebuilt from the events of the log alone equals the live state.
    pub fn assert_replay_equal(&self) {
        let mut replayed = Engine::new(self.engine.state().partition_id);
        replayed.set_partition_count(self.engine.state().partition_count);
        for record in &self.log {
            replayed.replay(record);
        }
        assert_eq!(replayed.state(), self.engine.state(), "replayed state differs from live state");
        let mut restored = snapshot::decode(&snapshot::encode(self.engine.state())).expect("the snapshot decodes");
        restored.partition_count = self.engine.state().partition_count;
        assert_eq!(&restored, self.engine.state(), "a snapshot does not restore the state");
    }

    pub fn deploy(&mut self, xml: &str) -> Record {
        self.deploy_named("process.bpmn", xml)
    }

    pub fn deploy_named(&mut self, name: &str, xml: &str) -> Record {
        let value = DeploymentRecord {
            resources: vec![Resource { name: name.to_string(), content: xml.as_bytes().to_vec() }],
            ..DeploymentRecord::default()
        };
        self.send(Command::new(Intent::Create, -1, RecordValue::Deployment(Box::new(value))))
    }

    pub fn deploy_ok(&mut self, bpmn: &Bpmn) {
        let response = self.deploy(&bpmn.xml());
        assert_eq!(response.rejection, None, "deployment rejected");
    }

    pub fn create(&mut self, process_id: &str, variables: serde_json::Value) -> i64 {
        let response = self.send(create_command(process_id, variables, Intent::Create));
        assert_eq!(response.rejection, None, "creation rejected");
        response.key
    }

    pub fn activate(&mut self, job_type: &str, max: i32) -> Vec<(i64, JobRecord)> {
        self.activate_with(job_type, max, 60_000, Vec::new())
    }

    pub fn activate_with(
        &mut self,
        job_type: &str,
        max: i32,
        timeout_ms: i64,
        fetch: Vec<String>,
    ) -> Vec<(i64, JobRecord)> {
        let value = JobBatchRecord {
            job_type: job_type.into(),
            worker: "test-worker".into(),
            timeout_ms,
            max_jobs_to_activate: max,
            fetch_variables: fetch,
            job_keys: Vec::new(),
            jobs: Vec::new(),
            truncated: false,
        };
        let response = self.send(Command::new(Intent::Activate, -1, RecordValue::JobBatch(Box::new(value))));
        match response.value {
            RecordValue::JobBatch(batch) => batch.job_keys.into_iter().zip(batch.jobs).collect(),
            other => panic!("expected a job batch, got {other:?}"),
        }
    }

    pub fn job_command(&mut self, intent: Intent, key: i64, edit: impl FnOnce(&mut JobRecord)) -> Record {
        let mut value = JobRecord::default();
        edit(&mut value);
        self.send(Command::new(intent, key, RecordValue::Job(Box::new(value))))
    }

    pub fn complete(&mut self, key: i64, variables: serde_json::Value) -> Record {
        self.job_command(Intent::Complete, key, |job| job.variables = object(variables))
    }

    /// Activates and completes the one job of `job_type`.
    pub fn work(&mut self, job_type: &str, variables: serde_json::Value) {
        let jobs = self.activate(job_type, 1);
        assert_eq!(jobs.len(), 1, "expected one job of type {job_type}");
        let response = self.complete(jobs[0].0, variables);
        assert_eq!(response.rejection, None);
    }

    pub fn fail(&mut self, key: i64, retries: i32, message: &str, backoff_ms: i64) -> Record {
        self.job_command(Intent::Fail, key, |job| {
            job.retries = retries;
            job.error_message = message.to_string();
            job.retry_backoff_ms = backoff_ms;
        })
    }

    pub fn resolve(&mut self, incident_key: i64) -> Record {
        let value = IncidentRecord {
            error_type: ErrorType::Unknown,
            error_message: String::new(),
            bpmn_process_id: "".into(),
            process_definition_key: -1,
            process_instance_key: -1,
            element_id: "".into(),
            element_instance_key: -1,
            job_key: -1,
            variable_scope_key: -1,
        };
        self.send(Command::new(Intent::Resolve, incident_key, RecordValue::Incident(Box::new(value))))
    }

    pub fn cancel(&mut self, process_instance_key: i64) -> Record {
        let value = ProcessInstanceRecord {
            bpmn_process_id: "".into(),
            version: -1,
            process_definition_key: -1,
            process_instance_key,
            element_id: "".into(),
            bpmn_element_type: BpmnElementType::SequenceFlow,
            flow_scope_key: -1,
            parent_process_instance_key: -1,
            parent_element_instance_key: -1,
        };
        self.send(Command::new(Intent::Cancel, process_instance_key, RecordValue::ProcessInstance(value)))
    }

    pub fn set_variables(&mut self, scope_key: i64, variables: serde_json::Value, local: bool) -> Record {
        let value = VariableDocumentRecord {
            scope_key,
            update_semantics: if local { VariableUpdateSemantic::Local } else { VariableUpdateSemantic::Propagate },
            variables: object(variables),
        };
        self.send(Command::new(Intent::Update, -1, RecordValue::VariableDocument(value)))
    }

    pub fn publish(&mut self, name: &str, key: &str, ttl_ms: i64, id: &str, variables: serde_json::Value) -> Record {
        let value = MessageRecord {
            name: name.to_string(),
            correlation_key: key.to_string(),
            time_to_live_ms: ttl_ms,
            message_id: id.to_string(),
            variables: object(variables),
            deadline_ms: -1,
        };
        self.send(Command::new(Intent::Publish, -1, RecordValue::Message(Box::new(value))))
    }

    /// Moves the clock and runs whatever the scheduler would append.
    pub fn advance(&mut self, ms: i64) {
        self.now += ms;
        for command in self.engine.due_commands(self.now, 1_000) {
            self.run(command);
        }
    }

    pub fn incident_keys(&self) -> Vec<i64> {
        self.state().incidents.keys().copied().collect()
    }

    /// Starts a new section of the log for [`TestEngine::rendered`].
    pub fn mark(&mut self) {
        self.mark = self.log.len();
    }

    /// The records since the last mark, rendered one per line.
    pub fn rendered(&self) -> String {
        render::records(&self.log[self.mark..])
    }

    /// Process-instance events only (lifecycle and flows), rendered, since the last mark.
    pub fn lifecycle(&self) -> String {
        let lines = self.log[self.mark..]
            .iter()
            .filter(|r| r.record_type == RecordType::Event && r.value_type() == ValueType::ProcessInstance)
            .map(render::record);
        lines.collect::<Vec<_>>().join("\n")
    }

    pub fn process_variables(&self, process_instance_key: i64) -> serde_json::Value {
        let vars = self.state().variables.get(&process_instance_key).cloned().unwrap_or_default();
        serde_json::Value::Object(vars.into_iter().map(|(k, v)| (k.to_string(), v.value)).collect())
    }

    pub fn is_completed(&self, process_instance_key: i64) -> bool {
        self.log.iter().any(|r| {
            r.key == process_instance_key && r.intent == Intent::ElementCompleted && r.record_type == RecordType::Event
        })
    }

    /// Variables of the process instance at the moment it completed.
    pub fn final_variables(&self, process_instance_key: i64) -> serde_json::Value {
        let mut vars = serde_json::Map::new();
        for record in &self.log {
            if let RecordValue::Variable(v) = &record.value
                && v.scope_key == process_instance_key
                && record.record_type == RecordType::Event
            {
                vars.insert(v.name.to_string(), v.value.clone());
            }
        }
        serde_json::Value::Object(vars)
    }
}

pub fn object(value: serde_json::Value) -> Document {
    match value {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => Document::new(),
        other => panic!("expected a JSON object, got {other}"),
    }
}

pub fn create_command(process_id: &str, variables: serde_json::Value, intent: Intent) -> Command {
    let value = ProcessInstanceCreationRecord {
        bpmn_process_id: process_id.into(),
        version: -1,
        process_definition_key: -1,
        variables: object(variables),
        process_instance_key: -1,
        fetch_variables: Vec::new(),
        awaiting_request_id: None,
        start_instructions: Vec::new(),
    };
    Command::new(intent, -1, RecordValue::ProcessInstanceCreation(Box::new(value)))
}

#[allow(unused)]
pub fn unused() -> serde_json::Value {
    json!({})
}
