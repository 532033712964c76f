//! A compact, stable text rendering of records, one line each, for tests and debugging.
//!
//! Keys and positions are left out on purpose: they shift whenever an unrelated record is added,
//! and the tests compare what happened, not how it was numbered.

use std::fmt::Write;

use crate::record::*;

pub fn record(record: &Record) -> String {
    let mut line = String::new();
    let kind = match record.record_type {
        RecordType::Command => 'C',
        RecordType::Event => 'E',
        RecordType::CommandRejection => 'R',
    };
    let _ = write!(line, "{kind} {} {}", record.value_type().as_str(), record.intent.as_str());
    match &record.value {
        RecordValue::Deployment(value) => {
            let processes: Vec<String> =
                value.processes.iter().map(|p| format!("{}:{}", p.bpmn_process_id, p.version)).collect();
            if !processes.is_empty() {
                let _ = write!(line, " [{}]", processes.join(", "));
            }
            let decisions: Vec<String> =
                value.decisions.iter().map(|d| format!("{}:{}", d.decision_id, d.version)).collect();
            if !decisions.is_empty() {
                let _ = write!(line, " decisions [{}]", decisions.join(", "));
            }
        }
        RecordValue::Form(value) => {
            let _ = write!(line, " {}:{}", value.metadata.form_id, value.metadata.version);
        }
        RecordValue::DecisionRequirements(value) => {
            let _ = write!(line, " {}:{}", value.metadata.decision_requirements_id, value.metadata.version);
        }
        RecordValue::Decision(value) => {
            let _ = write!(line, " {}:{} in {}", value.decision_id, value.version, value.decision_requirements_id);
        }
        RecordValue::DecisionEvaluation(value) => {
            let _ = write!(line, " {}", value.decision_id);
            if !value.decision_output.is_empty() {
                let _ = write!(line, " {}", value.decision_output);
            }
            if !value.failed_decision_id.is_empty() {
                let _ = write!(line, " failed {}: {}", value.failed_decision_id, value.evaluation_failure_message);
            }
        }
        RecordValue::Process(value) => {
            let _ = write!(line, " {}:{}", value.bpmn_process_id, value.version);
        }
        RecordValue::ProcessInstance(value) if value.element_id.is_empty() => {}
        RecordValue::ProcessInstance(value) => {
            let _ = write!(line, " {} {}", value.bpmn_element_type.as_str(), value.element_id);
        }
        RecordValue::ProcessInstanceCreation(value) => {
            let _ = write!(line, " {}", value.bpmn_process_id);
        }
        RecordValue::ProcessInstanceResult(value) => {
            let _ = write!(line, " {} {}", value.bpmn_process_id, serde_json::Value::Object(value.variables.clone()));
        }
        // Job commands from workers carry only what the worker sent: the key and its payload.
        RecordValue::Job(value) if value.job_type.is_empty() => {}
        RecordValue::Job(value) => {
            let _ = write!(line, " {} {} retries={}", value.job_type, value.element_id, value.retries);
            if !value.error_code.is_empty() {
                let _ = write!(line, " code={}", value.error_code);
            }
        }
        RecordValue::JobBatch(value) => {
            let _ = write!(line, " {} jobs={}", value.job_type, value.job_keys.len());
        }
        RecordValue::Variable(value) => {
            let _ = write!(line, " {}={}", value.name, value.value);
        }
        RecordValue::VariableDocument(value) => {
            let _ =
                write!(line, " {:?} {}", value.update_semantics, serde_json::Value::Object(value.variables.clone()));
        }
        RecordValue::Incident(value) if value.element_id.is_empty() => {}
        RecordValue::Incident(value) => {
            let _ = write!(line, " {} {} \"{}\"", value.error_type.as_str(), value.element_id, value.error_message);
        }
        RecordValue::ProcessEvent(value) => {
            let _ = write!(line, " {}", value.target_element_id);
            if !value.variables.is_empty() {
                let _ = write!(line, " {}", serde_json::Value::Object(value.variables.clone()));
            }
        }
        RecordValue::Message(value) => {
            let _ = write!(line, " {} key={:?} ttl={}", value.name, value.correlation_key, value.time_to_live_ms);
            if !value.message_id.is_empty() {
                let _ = write!(line, " id={}", value.message_id);
            }
            if !value.variables.is_empty() {
                let _ = write!(line, " {}", serde_json::Value::Object(value.variables.clone()));
            }
        }
        RecordValue::ProcessInstanceMigration(value) => {
            let _ = write!(
                line,
                " to={} mappings={}",
                value.target_process_definition_key,
                value.mapping_instructions.len()
            );
        }
        RecordValue::ResourceDeletion(value) => {
            let _ = write!(line, " {}", value.resource_key);
        }
        RecordValue::ProcessInstanceModification(value) => {
            let activate: Vec<&str> = value.activate_instructions.iter().map(|a| a.element_id.as_str()).collect();
            let _ = write!(line, " activate={activate:?} terminate={}", value.terminate_instructions.len());
        }
        RecordValue::CompensationSubscription(value) => {
            let _ = write!(line, " {} handler={}", value.compensable_activity_id, value.compensation_handler_id);
        }
        RecordValue::Signal(value) => {
            let _ = write!(line, " {}", value.signal_name);
            if !value.variables.is_empty() {
                let _ = write!(line, " {}", serde_json::Value::Object(value.variables.clone()));
            }
        }
        RecordValue::SignalSubscription(value) => {
            let _ = write!(line, " {} {}", value.signal_name, value.catch_element_id);
        }
        RecordValue::MessageCorrelation(value) => {
            let _ = write!(line, " {} key={}", value.name, value.correlation_key);
            if value.process_instance_key > 0 {
                let _ = write!(line, " instance={}", value.process_instance_key);
            }
        }
        RecordValue::Timer(value) => {
            let _ = write!(line, " {} due={}", value.target_element_id, value.due_date_ms);
        }
        RecordValue::Escalation(value) => {
            let _ = write!(line, " {} code={}", value.element_id, value.escalation_code);
            if !value.catch_element_id.is_empty() {
                let _ = write!(line, " caught by {}", value.catch_element_id);
            }
        }
        RecordValue::MessageSubscription(value) | RecordValue::ProcessMessageSubscription(value) => {
            let _ = write!(line, " {} {} key={:?}", value.element_id, value.message_name, value.correlation_key);
            if !value.variables.is_empty() {
                let _ = write!(line, " {}", serde_json::Value::Object(value.variables.clone()));
            }
        }
    }
    if let Some(rejection) = &record.rejection {
        let _ = write!(line, " !{} \"{}\"", rejection.rejection_type.as_str(), rejection.reason);
    }
    line
}

/// Renders many records, one per line.
pub fn records<'a>(records: impl IntoIterator<Item = &'a Record>) -> String {
    let mut text = String::new();
    for r in records {
        text.push_str(&record(r));
        text.push('\n');
    }
    text
}
