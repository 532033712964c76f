//! The executable graph: what the engine runs. Built once at deploy, immutable afterwards.

use std::collections::HashMap;
use std::sync::Arc;

use baton_feel::Expression;

/// Ids are looked up on the engine's hot path (every record names its element by id); FNV-1a is
/// several times faster than the default SipHash on short keys, and ids come from deployed
/// models, not from untrusted request traffic.
#[derive(Debug, Clone, Copy, Default)]
pub struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// A map from element or flow id to its index.
pub type IdMap<V> = HashMap<Arc<str>, V, std::hash::BuildHasherDefault<FnvHasher>>;

/// Index of an element in [`Process::elements`].
pub type ElementIdx = u32;
/// Index of a sequence flow in [`Process::flows`].
pub type FlowIdx = u32;

/// A value that is either fixed in the model or computed by a FEEL expression at run time
/// (Zeebe's rule: an attribute is an expression when it starts with `=`).
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    Static(String),
    Expression(Expression),
}

/// One parsed and validated BPMN file: all of its executable processes.
#[derive(Debug)]
pub struct Definitions {
    pub id: Option<String>,
    pub processes: Vec<Arc<Process>>,
}

#[derive(Debug)]
pub struct Process {
    pub id: Arc<str>,
    pub name: Option<String>,
    /// All flow elements, the process itself at index 0, then its children depth-first in
    /// document order. Indices are stable for the life of the deployed version.
    pub elements: Vec<Element>,
    pub flows: Vec<SequenceFlow>,
    pub by_id: IdMap<ElementIdx>,
    /// Sequence flows by id.
    pub flows_by_id: IdMap<FlowIdx>,
}

impl Process {
    pub const ROOT: ElementIdx = 0;

    pub fn element(&self, idx: ElementIdx) -> &Element {
        &self.elements[idx as usize]
    }

    pub fn flow(&self, idx: FlowIdx) -> &SequenceFlow {
        &self.flows[idx as usize]
    }

    pub fn element_by_id(&self, id: &str) -> Option<&Element> {
        self.by_id.get(id).map(|&idx| self.element(idx))
    }
}

#[derive(Debug)]
pub struct Element {
    pub idx: ElementIdx,
    pub id: Arc<str>,
    pub name: Option<String>,
    pub kind: ElementKind,
    /// The containing process or subprocess; `None` only for the process itself.
    pub parent: Option<ElementIdx>,
    pub incoming: Vec<FlowIdx>,
    pub outgoing: Vec<FlowIdx>,
    /// The `default` flow of an exclusive or inclusive gateway (or an activity).
    pub default_flow: Option<FlowIdx>,
    /// Containers (process, subprocess): their none start event.
    pub none_start: Option<ElementIdx>,
    /// Containers: every direct child element.
    pub children: Vec<ElementIdx>,
    pub inputs: Vec<Mapping>,
    pub outputs: Vec<Mapping>,
    /// Job-based elements: what the job looks like.
    pub job: Option<JobDefinition>,
    /// Script tasks evaluated by the engine (`zeebe:script`).
    pub script: Option<Script>,
    /// `zeebe:properties`: kept for tools, not interpreted.
    pub properties: Vec<(String, String)>,
}

impl Element {
    /// A gateway that merges tokens: it waits for more than one incoming flow.
    pub fn is_join(&self) -> bool {
        matches!(self.kind, ElementKind::ParallelGateway | ElementKind::InclusiveGateway) && self.incoming.len() > 1
    }
}

/// The kinds of flow element the engine executes. Adding one must not compile until every
/// `match` over it in the engine handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum ElementKind {
    Process,
    SubProcess,
    StartEvent,
    EndEvent,
    TerminateEndEvent,
    IntermediateThrowEvent,
    ServiceTask,
    SendTask,
    UserTask,
    ScriptTask,
    BusinessRuleTask,
    ManualTask,
    /// BPMN's plain `task` (no type).
    Task,
    ExclusiveGateway,
    ParallelGateway,
    InclusiveGateway,
}

impl ElementKind {
    /// Zeebe's `BpmnElementType` name, as it appears in records.
    pub fn bpmn_element_type(self) -> &'static str {
        match self {
            ElementKind::Process => "PROCESS",
            ElementKind::SubProcess => "SUB_PROCESS",
            ElementKind::StartEvent => "START_EVENT",
            ElementKind::EndEvent | ElementKind::TerminateEndEvent => "END_EVENT",
            ElementKind::IntermediateThrowEvent => "INTERMEDIATE_THROW_EVENT",
            ElementKind::ServiceTask => "SERVICE_TASK",
            ElementKind::SendTask => "SEND_TASK",
            ElementKind::UserTask => "USER_TASK",
            ElementKind::ScriptTask => "SCRIPT_TASK",
            ElementKind::BusinessRuleTask => "BUSINESS_RULE_TASK",
            ElementKind::ManualTask => "MANUAL_TASK",
            ElementKind::Task => "TASK",
            ElementKind::ExclusiveGateway => "EXCLUSIVE_GATEWAY",
            ElementKind::ParallelGateway => "PARALLEL_GATEWAY",
            ElementKind::InclusiveGateway => "INCLUSIVE_GATEWAY",
        }
    }

    /// Zeebe's `BpmnEventType` name, as it appears in records.
    pub fn bpmn_event_type(self) -> &'static str {
        match self {
            ElementKind::TerminateEndEvent => "TERMINATE",
            ElementKind::StartEvent | ElementKind::EndEvent | ElementKind::IntermediateThrowEvent => "NONE",
            _ => "UNSPECIFIED",
        }
    }
}

#[derive(Debug)]
pub struct SequenceFlow {
    pub idx: FlowIdx,
    pub id: Arc<str>,
    pub source: ElementIdx,
    pub target: ElementIdx,
    /// `None`: the flow is unconditional.
    pub condition: Option<Expression>,
}

/// One `zeebe:input` or `zeebe:output`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub source: Text,
    /// The variable written; a dotted target (`order.id`) writes into a nested object.
    pub target: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobDefinition {
    pub job_type: Text,
    /// Defaults to `Static("3")`, as in Zeebe.
    pub retries: Text,
    /// `zeebe:taskHeaders`, in document order.
    pub headers: Vec<(String, String)>,
}

/// Job type of Zeebe's job-based user tasks.
pub const USER_TASK_JOB_TYPE: &str = "io.camunda.zeebe:userTask";

#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub expression: Expression,
    pub result_variable: String,
}
