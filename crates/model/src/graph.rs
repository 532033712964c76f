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

/// FNV-1a over `bytes`: a stable hash (unlike std's hasher, which may change between Rust
/// versions), for checksums and routing that must give the same answer in every build.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hasher = FnvHasher::default();
    std::hash::Hasher::write(&mut hasher, bytes);
    std::hash::Hasher::finish(&hasher)
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
    /// `zeebe:versionTag`: names this version for call activities bound by version tag.
    pub version_tag: Option<String>,
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

    /// Where link throw event `throw` continues: the link catch event of the same name in the
    /// same scope (deployment guarantees there is exactly one).
    pub fn link_catch(&self, throw: ElementIdx) -> Option<ElementIdx> {
        let throw = self.element(throw);
        if throw.kind != ElementKind::LinkThrowEvent {
            return None;
        }
        let name = throw.link_name()?;
        let scope = self.element(throw.parent?);
        scope.children.iter().copied().find(|&c| {
            let child = self.element(c);
            child.kind == ElementKind::LinkCatchEvent && child.link_name() == Some(name)
        })
    }
}

#[derive(Debug)]
pub struct Element {
    pub idx: ElementIdx,
    pub id: Arc<str>,
    pub name: Option<String>,
    /// `bpmn:documentation`: kept for tools (an ad-hoc subprocess's worker reads it).
    pub documentation: Option<String>,
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
    /// Catch and throw events with an event definition (error, escalation, link, message, timer):
    /// what they wait for or throw.
    pub event: Option<EventDefinition>,
    /// Boundary events: the activity they are attached to (a sibling in the same container).
    pub attached_to: Option<ElementIdx>,
    /// Boundary events: `cancelActivity` (error boundaries are always interrupting); start events
    /// of event subprocesses: `isInterrupting`.
    pub interrupting: bool,
    /// Activities: their boundary events, in document order.
    pub boundary_events: Vec<ElementIdx>,
    /// Activities with `multiInstanceLoopCharacteristics`: they run as a multi-instance body
    /// around one inner instance per item of the input collection.
    pub multi_instance: Option<MultiInstance>,
    /// Ad-hoc subprocesses: which inner elements start and when it is done.
    pub ad_hoc: Option<AdHoc>,
    /// Call activities: the process they start.
    pub called_element: Option<CalledElement>,
    /// Business rule tasks evaluated by the engine (`zeebe:calledDecision`).
    pub called_decision: Option<CalledDecision>,
    /// `isForCompensation="true"`: a compensation handler, never entered by a sequence flow.
    pub is_for_compensation: bool,
    /// Activities with a compensation boundary event: the handler that undoes them.
    pub compensation_handler: Option<ElementIdx>,
    /// `zeebe:executionListeners`: jobs run, one after the other, before the element is
    /// activated (`start`) and before it is completed (`end`), in document order.
    pub start_listeners: Vec<ExecutionListener>,
    pub end_listeners: Vec<ExecutionListener>,
}

/// One `zeebe:executionListener`: a job of `job_type` the element waits for.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionListener {
    pub job_type: Text,
    /// Defaults to `Static("3")`, as in Zeebe.
    pub retries: Text,
}

/// `bindingType` of a called element.
#[derive(Debug, Clone, PartialEq)]
pub enum Binding {
    Latest,
    /// The version deployed in the same deployment as the calling process.
    Deployment,
    VersionTag(String),
}

/// `zeebe:calledElement` of a call activity.
#[derive(Debug, Clone, PartialEq)]
pub struct CalledDecision {
    /// The decision id (its latest version); may be FEEL.
    pub decision_id: Text,
    pub result_variable: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CalledElement {
    /// The BPMN process id of the child; may be FEEL.
    pub process_id: Text,
    /// Which version of the child: the latest, the one deployed with the caller, or the newest
    /// with a version tag.
    pub binding: Binding,
    /// The child's variables go to the call activity when the child completes (default true).
    pub propagate_all_child_variables: bool,
    /// Every variable visible from the call activity is copied into the child (default true);
    /// otherwise only the call activity's input mappings are.
    pub propagate_all_parent_variables: bool,
}

/// `bpmn:multiInstanceLoopCharacteristics` with its `zeebe:loopCharacteristics`.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiInstance {
    pub sequential: bool,
    /// Evaluated when the body activates; must yield a list.
    pub input_collection: Expression,
    /// The local variable of each inner instance that holds its item.
    pub input_element: Option<String>,
    /// The body's variable that collects `output_element` of every inner instance, in item
    /// order, and goes to the flow scope when the body completes.
    pub output_collection: Option<String>,
    /// Evaluated in an inner instance's scope when it completes.
    pub output_element: Option<Expression>,
    /// Evaluated when an inner instance completes; true ends the body, terminating the rest.
    pub completion_condition: Option<Expression>,
}

/// `bpmn:adHocSubProcess` with its `zeebe:adHoc`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdHoc {
    /// Evaluated when the subprocess activates: the ids of the inner elements to start.
    pub active_elements: Option<Expression>,
    /// Evaluated each time an inner flow completes; true completes the subprocess.
    pub completion_condition: Option<Expression>,
    /// Once the condition holds: terminate what still runs (default) or wait for it.
    pub cancel_remaining: bool,
    /// The subprocess's variable that collects `output_element` of every completed inner flow.
    pub output_collection: Option<String>,
    /// Evaluated in an inner flow's scope when it completes.
    pub output_element: Option<Expression>,
}

/// What a catch event waits for, or what a throw event throws.
#[derive(Debug, Clone, PartialEq)]
pub enum EventDefinition {
    /// An error. On a catch event, `None` catches every error; on an error end event the code
    /// is required (and may be a FEEL expression).
    Error { code: Option<Text> },
    /// A message (`messageRef` → `bpmn:message`), correlated by name and correlation key.
    Message(MessageDefinition),
    /// A timer: `timeDate`, `timeDuration` or `timeCycle` (see [`crate::timer::Schedule`]);
    /// the text may be FEEL, evaluated when the timer opens.
    Timer { kind: crate::timer::TimerKind, text: Text },
    /// A signal (`signalRef` → `bpmn:signal`), by name; broadcast to every subscription.
    Signal { name: Text },
    /// Compensation: on a boundary event, marks the activity as compensable; on a throw event,
    /// compensates `activity_ref` or every completed compensable activity of the scope.
    Compensation { activity_ref: Option<String> },
    /// An escalation. On a catch event, `None` catches every escalation; on a throw event the
    /// code is required (and may be a FEEL expression).
    Escalation { code: Option<Text> },
    /// A link: a throw event continues at the catch event of the same name in its scope.
    Link { name: String },
}

/// An ISO-8601 duration as milliseconds. A small parser, on purpose: it accepts
/// `PnW`, and `PnDTnHnMnS` with any of the parts present (seconds may have a fraction), which is
/// what timers use in practice. Years and months are refused, since their length depends on the
/// calendar date.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let invalid = || format!("'{text}' is not an ISO-8601 duration like 'PT30S', 'PT1H30M' or 'P2DT6H'");
    let rest = text.trim().strip_prefix('P').ok_or_else(invalid)?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return Err(invalid()),
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    let mut parts = |section: &str, units: &[(char, f64)]| -> Result<(), String> {
        let mut number = String::new();
        let mut next_unit = 0;
        for c in section.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let position = units.iter().position(|(u, _)| *u == c).ok_or_else(|| {
                if matches!(c, 'Y' | 'M') && section == date {
                    format!("'{text}': years and months are not supported in durations; use days (P30D)")
                } else {
                    invalid()
                }
            })?;
            if position < next_unit || number.is_empty() {
                return Err(invalid());
            }
            let value: f64 = number.parse().map_err(|_| invalid())?;
            if value.fract() != 0.0 && c != 'S' {
                return Err(invalid());
            }
            total += value * units[position].1;
            number.clear();
            next_unit = position + 1;
        }
        if number.is_empty() { Ok(()) } else { Err(invalid()) }
    };
    parts(date, &[('W', 604_800_000.0), ('D', 86_400_000.0)])?;
    if let Some(time) = time {
        parts(time, &[('H', 3_600_000.0), ('M', 60_000.0), ('S', 1_000.0)])?;
    }
    if !total.is_finite() || total > i64::MAX as f64 / 2.0 {
        return Err(invalid());
    }
    Ok(total.round() as i64)
}

/// A `bpmn:message` with its `zeebe:subscription`.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageDefinition {
    /// The message name; may be a FEEL expression, evaluated when the subscription opens.
    pub name: Text,
    /// `zeebe:subscription correlationKey`: always FEEL. `None` only on message start events,
    /// which take every message of their name.
    pub correlation_key: Option<Expression>,
}

impl Element {
    /// The error code an error catch event catches: `Some(None)` catches all, `None` means the
    /// element is not an error catch event.
    pub fn caught_error_code(&self) -> Option<Option<&str>> {
        match &self.event {
            Some(EventDefinition::Error { code: None }) => Some(None),
            Some(EventDefinition::Error { code: Some(Text::Static(code)) }) => Some(Some(code.as_str())),
            _ => None,
        }
    }

    /// As [`Element::caught_error_code`], for escalation catch events.
    pub fn caught_escalation_code(&self) -> Option<Option<&str>> {
        match &self.event {
            Some(EventDefinition::Escalation { code: None }) => Some(None),
            Some(EventDefinition::Escalation { code: Some(Text::Static(code)) }) => Some(Some(code.as_str())),
            _ => None,
        }
    }

    pub fn link_name(&self) -> Option<&str> {
        match &self.event {
            Some(EventDefinition::Link { name }) => Some(name),
            _ => None,
        }
    }

    pub fn message(&self) -> Option<&MessageDefinition> {
        match &self.event {
            Some(EventDefinition::Message(message)) => Some(message),
            _ => None,
        }
    }
}

impl Element {
    /// A start event without an event definition: where a plain "create instance" starts.
    pub fn is_none_start(&self) -> bool {
        self.kind == ElementKind::StartEvent && self.event.is_none()
    }

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
    /// An end event with an error event definition: throws a BPMN error.
    ErrorEndEvent,
    /// An intermediate throw event that broadcasts a signal.
    SignalThrowEvent,
    /// A message intermediate throw event: like a send task, a job for a worker to send it.
    MessageThrowEvent,
    /// A message end event: a job for a worker to send the message, then the path ends.
    MessageEndEvent,
    /// An intermediate throw event that compensates completed activities and waits for it.
    CompensationThrowEvent,
    /// An end event that compensates completed activities, then ends its path.
    CompensationEndEvent,
    /// An end event that broadcasts a signal.
    SignalEndEvent,
    /// An end event with an escalation event definition: throws an escalation and ends its path.
    EscalationEndEvent,
    IntermediateThrowEvent,
    /// An intermediate throw event with an escalation event definition: throws an escalation and
    /// continues (unless an interrupting boundary event caught it).
    EscalationThrowEvent,
    /// An intermediate throw event with a link event definition: continues at its link catch event.
    LinkThrowEvent,
    /// An intermediate catch event with a message or timer event definition.
    IntermediateCatchEvent,
    /// An intermediate catch event with a link event definition: where its link throw events
    /// continue; it has no incoming flows.
    LinkCatchEvent,
    /// A boundary event (error, escalation, message or timer) attached to an activity.
    BoundaryEvent,
    /// A receive task: waits for a message, like an intermediate message catch event.
    ReceiveTask,
    /// Starts an instance of another process and waits for it to end.
    CallActivity,

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
    /// Waits for the first of the catch events its flows lead to; that one's path is taken.
    EventBasedGateway,
    /// A subprocess started by the event of its start event (message, timer, signal, error,
    /// escalation) while its enclosing scope is active; not connected by sequence flows.
    EventSubProcess,
    /// Never an element of a graph: the record type of the instance that wraps the inner
    /// instances of a multi-instance activity (same element id as the activity).
    MultiInstanceBody,
    /// A subprocess whose inner elements start from a list of their ids, not from a start event.
    AdHocSubProcess,
    /// Never an element of a graph: the record type of the scope an ad-hoc subprocess opens for
    /// each inner element it starts (same element id as the subprocess).
    AdHocSubProcessInnerInstance,
}

impl ElementKind {
    /// Zeebe's `BpmnElementType` name, as it appears in records.
    pub fn bpmn_element_type(self) -> &'static str {
        match self {
            ElementKind::Process => "PROCESS",
            ElementKind::SubProcess => "SUB_PROCESS",
            ElementKind::StartEvent => "START_EVENT",
            ElementKind::EndEvent
            | ElementKind::TerminateEndEvent
            | ElementKind::ErrorEndEvent
            | ElementKind::SignalEndEvent
            | ElementKind::MessageEndEvent
            | ElementKind::CompensationEndEvent
            | ElementKind::EscalationEndEvent => "END_EVENT",
            ElementKind::IntermediateThrowEvent
            | ElementKind::MessageThrowEvent
            | ElementKind::CompensationThrowEvent
            | ElementKind::SignalThrowEvent
            | ElementKind::EscalationThrowEvent
            | ElementKind::LinkThrowEvent => "INTERMEDIATE_THROW_EVENT",
            ElementKind::BoundaryEvent => "BOUNDARY_EVENT",
            ElementKind::IntermediateCatchEvent | ElementKind::LinkCatchEvent => "INTERMEDIATE_CATCH_EVENT",
            ElementKind::ReceiveTask => "RECEIVE_TASK",
            ElementKind::CallActivity => "CALL_ACTIVITY",
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
            ElementKind::EventBasedGateway => "EVENT_BASED_GATEWAY",
            ElementKind::EventSubProcess => "EVENT_SUB_PROCESS",
            ElementKind::MultiInstanceBody => "MULTI_INSTANCE_BODY",
            ElementKind::AdHocSubProcess => "AD_HOC_SUB_PROCESS",
            ElementKind::AdHocSubProcessInnerInstance => "AD_HOC_SUB_PROCESS_INNER_INSTANCE",
        }
    }

    /// Zeebe's `BpmnEventType` name, as it appears in records.
    pub fn bpmn_event_type(self) -> &'static str {
        match self {
            ElementKind::TerminateEndEvent => "TERMINATE",
            ElementKind::ErrorEndEvent => "ERROR",
            ElementKind::SignalThrowEvent | ElementKind::SignalEndEvent => "SIGNAL",
            ElementKind::MessageThrowEvent | ElementKind::MessageEndEvent => "MESSAGE",
            ElementKind::CompensationThrowEvent | ElementKind::CompensationEndEvent => "COMPENSATION",
            ElementKind::EscalationEndEvent | ElementKind::EscalationThrowEvent => "ESCALATION",
            ElementKind::LinkThrowEvent | ElementKind::LinkCatchEvent => "LINK",
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
    /// Headers computed when the job is created (a user task's FEEL assignee, due date, …).
    pub dynamic_headers: Vec<DynamicHeader>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DynamicHeader {
    pub name: String,
    pub expression: Expression,
    /// The header holds a JSON list of strings (candidate groups and users): a FEEL list, or a
    /// comma-separated string.
    pub list: bool,
}

/// Job type of Zeebe's job-based user tasks.
pub const USER_TASK_JOB_TYPE: &str = "io.camunda.zeebe:userTask";

#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub expression: Expression,
    pub result_variable: String,
}
