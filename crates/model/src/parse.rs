//! BPMN XML (Camunda Modeler / Zeebe dialect) → [`Definitions`].
//!
//! The reader works in two passes per process: first it walks the XML, creating elements in
//! depth-first document order and remembering raw sequence flows, then it resolves the flows
//! and validates the graph. Problems never stop the walk, so one deploy reports all of them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use baton_feel::Expression;
use roxmltree::{Document, Node};

use crate::graph::{
    AdHoc, Binding, CalledDecision, CalledElement, Definitions, DynamicHeader, Element, ElementIdx, ElementKind,
    EventDefinition, ExecutionListener, FlowIdx, JobDefinition, Mapping, MessageDefinition, MultiInstance, Process,
    Script, SequenceFlow, Text, USER_TASK_JOB_TYPE,
};
use crate::timer::{Schedule, TimerKind};

const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
const ZEEBE_NS: &str = "http://camunda.org/schema/zeebe/1.0";

/// Bounds on what the reader accepts, so a hostile document cannot exhaust memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub bytes_max: usize,
    pub depth_max: u32,
    /// XML nodes (elements, text, comments…). The byte bound alone still lets a document of
    /// tiny elements cost many times its size in memory.
    pub nodes_max: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { bytes_max: 16 * 1024 * 1024, depth_max: 128, nodes_max: 1_000_000 }
    }
}

/// One reason a model cannot run, naming the element it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub element_id: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.element_id {
            Some(id) => write!(f, "element '{id}': {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes are not a well-formed, acceptable XML document.
    #[error("invalid XML: {0}")]
    Xml(String),
    /// The document is a BPMN model, but it cannot run; every problem found is listed.
    #[error("invalid BPMN model: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
}

pub fn parse(xml: &[u8]) -> Result<Definitions, Error> {
    parse_with(xml, Limits::default())
}

pub fn parse_with(xml: &[u8], limits: Limits) -> Result<Definitions, Error> {
    // Checked before parsing so an oversized upload costs nothing but this comparison.
    if xml.len() > limits.bytes_max {
        return Err(Error::Xml(format!(
            "the document is {} bytes long, more than the limit of {} bytes",
            xml.len(),
            limits.bytes_max
        )));
    }
    let text = std::str::from_utf8(xml)
        .map_err(|e| Error::Xml(format!("the document is not valid UTF-8 ({e}); only UTF-8 is accepted")))?;
    let options = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: limits.nodes_max, ..Default::default() };
    let doc = Document::parse_with_options(text, options).map_err(|e| xml_error(e, limits))?;
    check_depth(&doc, limits.depth_max)?;

    let root = doc.root_element();
    if !is_bpmn(root, "definitions") {
        return Err(Error::Invalid(vec![Problem {
            element_id: None,
            message: format!(
                "the root element must be 'definitions' in the namespace {BPMN_NS}, but it is '{}'{}",
                root.tag_name().name(),
                root.tag_name().namespace().map(|ns| format!(" in the namespace {ns}")).unwrap_or_default()
            ),
        }]));
    }

    let mut reader = Reader::new(root);
    let mut processes = Vec::new();
    // As in Zeebe, a process marked non-executable (a pool drawn for documentation) is neither
    // checked nor deployed; a missing attribute counts as executable.
    let executable = |n: &Node| n.attribute("isExecutable").map(str::trim) != Some("false");
    for child in root.children().filter(|n| is_bpmn(*n, "process") && executable(n)) {
        if let Some(process) = reader.process(child) {
            processes.push(Arc::new(process));
        }
    }
    if !root.children().any(|n| is_bpmn(n, "process")) {
        reader.problems.push(general("the document contains no process (bpmn:process)"));
    } else if !root.children().any(|n| is_bpmn(n, "process") && executable(&n)) {
        reader.problems.push(general(
            "the document contains no executable process: every process is marked isExecutable=\"false\"",
        ));
    }
    if !reader.problems.is_empty() {
        return Err(Error::Invalid(reader.problems));
    }
    Ok(Definitions { id: root.attribute("id").map(str::to_string), processes })
}

fn xml_error(e: roxmltree::Error, limits: Limits) -> Error {
    Error::Xml(match e {
        // DTDs are how XXE and entity-expansion bombs get in; BPMN never needs one.
        roxmltree::Error::DtdDetected => {
            "the document contains a DTD (<!DOCTYPE ...>), which is not accepted".to_string()
        }
        roxmltree::Error::NodesLimitReached => {
            format!("the document has more than {} XML nodes, the limit", limits.nodes_max)
        }
        other => other.to_string(),
    })
}

/// Iterative, so a hostile nesting depth cannot overflow the stack here; the recursive model
/// walk below only runs once this has passed.
fn check_depth(doc: &Document, depth_max: u32) -> Result<(), Error> {
    // Pre-order: a parent's depth is always known before its children are visited.
    let mut depths = vec![0u32; doc.descendants().count()];
    for node in doc.descendants() {
        let depth = node.parent().and_then(|p| depths.get(p.id().get_usize())).map_or(0, |d| d + 1);
        if depth > depth_max {
            return Err(Error::Xml(format!("elements are nested more than {depth_max} levels deep, the limit")));
        }
        if let Some(slot) = depths.get_mut(node.id().get_usize()) {
            *slot = depth;
        }
    }
    Ok(())
}

fn is_bpmn(node: Node, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(BPMN_NS) && node.tag_name().name() == name
}

fn bpmn_child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| is_bpmn(*c, name))
}

fn at(id: &str, message: impl Into<String>) -> Problem {
    Problem { element_id: Some(id.to_string()), message: message.into() }
}

fn general(message: impl Into<String>) -> Problem {
    Problem { element_id: None, message: message.into() }
}

/// A non-empty attribute value, trimmed.
fn attr<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.attribute(name).map(str::trim).filter(|v| !v.is_empty())
}

/// All text below `node` (text and CDATA may be split by comments).
fn text_content(node: Node) -> String {
    node.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect()
}

/// Children of a container that carry no execution semantics.
const IGNORED: &[&str] = &[
    "documentation",
    "extensionElements",
    "laneSet",
    "textAnnotation",
    "association",
    "group",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "ioSpecification",
    "property",
    "auditing",
    "monitoring",
    "category",
    "resourceRole",
    "performer",
    "humanPerformer",
    "potentialOwner",
    "correlationSubscription",
    "incoming",
    "outgoing",
    // Subprocesses are containers, and these also sit directly inside an activity.
    "dataInputAssociation",
    "dataOutputAssociation",
    "rendering",
    // Read with the activity it belongs to (a subprocess holds it among its children).
    "multiInstanceLoopCharacteristics",
    "completionCondition",
];

fn event_definitions<'a>(node: Node<'a, '_>) -> Vec<&'a str> {
    node.children()
        .filter(|c| c.is_element() && c.tag_name().namespace() == Some(BPMN_NS))
        .filter_map(|c| match c.tag_name().name() {
            "eventDefinitionRef" => Some("referenced"),
            "compensateEventDefinition" => Some("compensation"),
            name => name.strip_suffix("EventDefinition"),
        })
        .collect()
}

fn with_event_definitions(defs: &[&str]) -> String {
    match defs {
        [] => String::new(),
        [one] => {
            let article = if one.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
            format!(" with {article} {one} event definition")
        }
        many => format!(" with {} event definitions", many.join(" and ")),
    }
}

fn unsupported(name: &str, detail: &str) -> String {
    format!("the element '{name}'{detail} is not supported")
}

/// What an XML flow element becomes: a graph element, or the reason it cannot run.
fn classify(node: Node, name: &str) -> Result<ElementKind, String> {
    let defs = event_definitions(node);
    let kind = match name {
        "startEvent" if matches!(defs.as_slice(), [] | ["timer" | "message" | "signal" | "error" | "escalation"]) => {
            ElementKind::StartEvent
        }
        "endEvent" if defs == ["signal"] => ElementKind::SignalEndEvent,
        "endEvent" if defs == ["message"] => ElementKind::MessageEndEvent,
        "intermediateThrowEvent" if defs == ["message"] => ElementKind::MessageThrowEvent,
        "endEvent" if defs == ["compensation"] => ElementKind::CompensationEndEvent,
        "intermediateThrowEvent" if defs == ["compensation"] => ElementKind::CompensationThrowEvent,
        "intermediateThrowEvent" if defs == ["signal"] => ElementKind::SignalThrowEvent,
        "endEvent" if defs.is_empty() => ElementKind::EndEvent,
        "endEvent" if defs == ["terminate"] => ElementKind::TerminateEndEvent,
        "endEvent" if defs == ["error"] => ElementKind::ErrorEndEvent,
        "endEvent" if defs == ["escalation"] => ElementKind::EscalationEndEvent,
        "boundaryEvent"
            if matches!(
                defs.as_slice(),
                ["error" | "escalation" | "message" | "timer" | "signal" | "compensation"]
            ) =>
        {
            ElementKind::BoundaryEvent
        }
        "intermediateCatchEvent" if matches!(defs.as_slice(), ["message" | "timer" | "signal"]) => {
            ElementKind::IntermediateCatchEvent
        }
        "intermediateCatchEvent" if defs == ["link"] => ElementKind::LinkCatchEvent,
        "receiveTask" => ElementKind::ReceiveTask,
        "callActivity" => ElementKind::CallActivity,
        "intermediateThrowEvent" if defs.is_empty() => ElementKind::IntermediateThrowEvent,
        "intermediateThrowEvent" if defs == ["escalation"] => ElementKind::EscalationThrowEvent,
        "intermediateThrowEvent" if defs == ["link"] => ElementKind::LinkThrowEvent,
        "startEvent" | "endEvent" | "intermediateThrowEvent" | "intermediateCatchEvent" | "boundaryEvent" => {
            return Err(unsupported(name, &with_event_definitions(&defs)));
        }
        "subProcess" if node.attribute("triggeredByEvent").map(str::trim) == Some("true") => {
            ElementKind::EventSubProcess
        }
        "subProcess" => ElementKind::SubProcess,
        "adHocSubProcess" => ElementKind::AdHocSubProcess,
        "serviceTask" => ElementKind::ServiceTask,
        "sendTask" => ElementKind::SendTask,
        "userTask" => ElementKind::UserTask,
        "scriptTask" => ElementKind::ScriptTask,
        "businessRuleTask" => ElementKind::BusinessRuleTask,
        "manualTask" => ElementKind::ManualTask,
        "task" => ElementKind::Task,
        "exclusiveGateway" => ElementKind::ExclusiveGateway,
        "parallelGateway" => ElementKind::ParallelGateway,
        "inclusiveGateway" => ElementKind::InclusiveGateway,
        "eventBasedGateway" => ElementKind::EventBasedGateway,
        _ => return Err(unsupported(name, "")),
    };
    if is_activity(kind) && bpmn_child(node, "standardLoopCharacteristics").is_some() {
        return Err(unsupported(name, " with standard loop characteristics (use multi-instance)"));
    }
    Ok(kind)
}

fn is_activity(kind: ElementKind) -> bool {
    matches!(
        kind,
        ElementKind::SubProcess
            | ElementKind::AdHocSubProcess
            | ElementKind::ServiceTask
            | ElementKind::SendTask
            | ElementKind::UserTask
            | ElementKind::ScriptTask
            | ElementKind::BusinessRuleTask
            | ElementKind::ManualTask
            | ElementKind::Task
            | ElementKind::ReceiveTask
            | ElementKind::CallActivity
    )
}

fn is_gateway(kind: ElementKind) -> bool {
    matches!(
        kind,
        ElementKind::ExclusiveGateway
            | ElementKind::ParallelGateway
            | ElementKind::InclusiveGateway
            | ElementKind::EventBasedGateway
    )
}

fn xml_name(kind: ElementKind) -> &'static str {
    match kind {
        ElementKind::Process => "process",
        ElementKind::SubProcess => "subProcess",
        ElementKind::StartEvent => "startEvent",
        ElementKind::EndEvent
        | ElementKind::TerminateEndEvent
        | ElementKind::ErrorEndEvent
        | ElementKind::SignalEndEvent
        | ElementKind::MessageEndEvent
        | ElementKind::CompensationEndEvent
        | ElementKind::EscalationEndEvent => "endEvent",
        ElementKind::IntermediateThrowEvent
        | ElementKind::MessageThrowEvent
        | ElementKind::CompensationThrowEvent
        | ElementKind::SignalThrowEvent
        | ElementKind::EscalationThrowEvent
        | ElementKind::LinkThrowEvent => "intermediateThrowEvent",
        ElementKind::BoundaryEvent => "boundaryEvent",
        ElementKind::IntermediateCatchEvent | ElementKind::LinkCatchEvent => "intermediateCatchEvent",
        ElementKind::ReceiveTask => "receiveTask",
        ElementKind::CallActivity => "callActivity",
        ElementKind::ServiceTask => "serviceTask",
        ElementKind::SendTask => "sendTask",
        ElementKind::UserTask => "userTask",
        ElementKind::ScriptTask => "scriptTask",
        ElementKind::BusinessRuleTask => "businessRuleTask",
        ElementKind::ManualTask => "manualTask",
        ElementKind::Task => "task",
        ElementKind::ExclusiveGateway => "exclusiveGateway",
        ElementKind::ParallelGateway => "parallelGateway",
        ElementKind::InclusiveGateway => "inclusiveGateway",
        ElementKind::EventBasedGateway => "eventBasedGateway",
        ElementKind::EventSubProcess => "subProcess",
        ElementKind::MultiInstanceBody => "multiInstanceLoopCharacteristics",
        ElementKind::AdHocSubProcess | ElementKind::AdHocSubProcessInnerInstance => "adHocSubProcess",
    }
}

/// The `zeebe:*` children of an element's `extensionElements` (the first of each kind).
#[derive(Default)]
struct Extensions<'a, 'i> {
    task_definition: Option<Node<'a, 'i>>,
    task_headers: Option<Node<'a, 'i>>,
    io_mapping: Option<Node<'a, 'i>>,
    properties: Option<Node<'a, 'i>>,
    script: Option<Node<'a, 'i>>,
    assignment: Option<Node<'a, 'i>>,
    form: Option<Node<'a, 'i>>,
    schedule: Option<Node<'a, 'i>>,
    user_task: Option<Node<'a, 'i>>,
    called_decision: Option<Node<'a, 'i>>,
    called_element: Option<Node<'a, 'i>>,
    execution_listeners: Option<Node<'a, 'i>>,
    ad_hoc: Option<Node<'a, 'i>>,
}

impl<'a, 'i> Extensions<'a, 'i> {
    fn of(node: Node<'a, 'i>) -> Self {
        let mut ext = Extensions::default();
        let Some(holder) = bpmn_child(node, "extensionElements") else {
            return ext;
        };
        for child in holder.children().filter(|c| c.is_element() && c.tag_name().namespace() == Some(ZEEBE_NS)) {
            let slot = match child.tag_name().name() {
                "taskDefinition" => &mut ext.task_definition,
                "taskHeaders" => &mut ext.task_headers,
                "ioMapping" => &mut ext.io_mapping,
                "properties" => &mut ext.properties,
                "script" => &mut ext.script,
                "assignmentDefinition" => &mut ext.assignment,
                "formDefinition" => &mut ext.form,
                "taskSchedule" => &mut ext.schedule,
                "userTask" => &mut ext.user_task,
                "calledDecision" => &mut ext.called_decision,
                "calledElement" => &mut ext.called_element,
                "executionListeners" => &mut ext.execution_listeners,
                "adHoc" => &mut ext.ad_hoc,
                // Other Zeebe extensions either belong to elements reported as unsupported
                // (calledElement, subscription, loopCharacteristics) or carry nothing to run.
                _ => continue,
            };
            slot.get_or_insert(child);
        }
        ext
    }
}

/// A sequence flow as written, before its references are resolved.
struct RawFlow<'a> {
    id: Arc<str>,
    scope: ElementIdx,
    source: Option<&'a str>,
    target: Option<&'a str>,
    condition: Option<Expression>,
    /// A condition was written, even if it was invalid (and so is not in `condition`).
    conditioned: bool,
}

struct Reader<'a> {
    problems: Vec<Problem>,
    /// Every id in the BPMN namespace, to tell a dangling reference from one that points to
    /// something that is not a flow element of the right scope.
    all_ids: HashSet<&'a str>,
    /// Elements already reported as unsupported: references to them are not reported again.
    unsupported: HashSet<&'a str>,
    /// Root `bpmn:error` elements: id → `errorCode`.
    errors: HashMap<&'a str, Option<&'a str>>,
    /// Root `bpmn:message` elements by id.
    messages: HashMap<&'a str, Node<'a, 'a>>,
    /// Root `bpmn:signal` elements by id.
    signals: HashMap<&'a str, Node<'a, 'a>>,
    /// Root `bpmn:escalation` elements: id → `escalationCode`.
    escalations: HashMap<&'a str, Option<&'a str>>,
}

struct ProcessBuilder<'a> {
    elements: Vec<Element>,
    by_id: crate::graph::IdMap<ElementIdx>,
    flows: Vec<RawFlow<'a>>,
    defaults: Vec<(ElementIdx, &'a str)>,
    /// Flows left out of the graph because of a problem already reported.
    dropped: HashSet<Arc<str>>,
    /// Per element, outgoing flows left out of the graph: a gateway still branches over them,
    /// so they count when deciding whether its flows need conditions.
    dropped_outgoing: HashMap<ElementIdx, usize>,
    /// Boundary events and their `attachedToRef`, resolved once every element is known.
    attachments: Vec<(ElementIdx, Option<&'a str>)>,
    /// `bpmn:association` (source, target): how a compensation boundary event names its handler.
    associations: Vec<(&'a str, &'a str)>,
}

impl<'a> Reader<'a> {
    fn new(root: Node<'a, 'a>) -> Self {
        let mut problems = Vec::new();
        let mut all_ids = HashSet::new();
        let mut reported = HashSet::new();
        for node in root.descendants().filter(|n| n.is_element() && n.tag_name().namespace() == Some(BPMN_NS)) {
            let Some(id) = attr(node, "id") else {
                continue;
            };
            if !all_ids.insert(id) && reported.insert(id) {
                problems.push(at(id, "the id is used by more than one element; ids must be unique"));
            }
        }
        let errors = root
            .children()
            .filter(|n| is_bpmn(*n, "error"))
            .filter_map(|n| Some((attr(n, "id")?, attr(n, "errorCode"))))
            .collect();
        let messages =
            root.children().filter(|n| is_bpmn(*n, "message")).filter_map(|n| Some((attr(n, "id")?, n))).collect();
        let signals =
            root.children().filter(|n| is_bpmn(*n, "signal")).filter_map(|n| Some((attr(n, "id")?, n))).collect();
        let escalations = root
            .children()
            .filter(|n| is_bpmn(*n, "escalation"))
            .filter_map(|n| Some((attr(n, "id")?, attr(n, "escalationCode"))))
            .collect();
        Reader { problems, all_ids, unsupported: HashSet::new(), errors, messages, signals, escalations }
    }

    fn process(&mut self, node: Node<'a, '_>) -> Option<Process> {
        let Some(id) = attr(node, "id") else {
            self.problems.push(general("a process has no id"));
            return None;
        };
        let id: Arc<str> = Arc::from(id);
        let name = node.attribute("name").map(str::to_string);
        let mut b = ProcessBuilder {
            elements: Vec::new(),
            by_id: Default::default(),
            flows: Vec::new(),
            defaults: Vec::new(),
            dropped: HashSet::new(),
            dropped_outgoing: HashMap::new(),
            attachments: Vec::new(),
            associations: Vec::new(),
        };
        let mut root = new_element(0, id.clone(), name.clone(), ElementKind::Process, None);
        let ext = Extensions::of(node);
        root.properties = self.properties(ext.properties);
        self.execution_listeners(&mut root, ext.execution_listeners);
        b.elements.push(root);
        b.by_id.insert(id.clone(), Process::ROOT);
        self.container(&mut b, node, Process::ROOT);

        self.resolve_attachments(&mut b);
        self.resolve_compensation(&mut b);
        let flows = self.resolve_flows(&mut b);
        self.resolve_defaults(&mut b, &flows);
        set_none_starts(&mut b.elements);
        self.validate(&b, &flows);
        let flows: Vec<SequenceFlow> = flows.into_iter().map(|(flow, _)| flow).collect();
        let flows_by_id = flows.iter().map(|f| (f.id.clone(), f.idx)).collect();
        let version_tag = bpmn_child(node, "extensionElements")
            .and_then(|ext| zeebe_children(ext, "versionTag").next())
            .and_then(|tag| attr(tag, "value"))
            .map(str::to_string);
        Some(Process { id, name, elements: b.elements, flows, by_id: b.by_id, flows_by_id, version_tag })
    }

    fn container(&mut self, b: &mut ProcessBuilder<'a>, node: Node<'a, '_>, scope: ElementIdx) {
        for child in node.children().filter(|c| c.is_element() && c.tag_name().namespace() == Some(BPMN_NS)) {
            match child.tag_name().name() {
                "sequenceFlow" => self.sequence_flow(b, child, scope),
                "association" => {
                    if let (Some(source), Some(target)) = (attr(child, "sourceRef"), attr(child, "targetRef")) {
                        b.associations.push((source, target));
                    }
                }
                name if IGNORED.contains(&name) => {}
                name => self.flow_element(b, child, name, scope),
            }
        }
    }

    fn flow_element(&mut self, b: &mut ProcessBuilder<'a>, node: Node<'a, '_>, name: &str, scope: ElementIdx) {
        let Some(id) = attr(node, "id") else {
            self.problems.push(general(format!("a '{name}' element has no id")));
            return;
        };
        let kind = match classify(node, name) {
            Ok(kind) => kind,
            Err(message) => {
                self.unsupported.insert(id);
                self.problems.push(at(id, message));
                return;
            }
        };
        if b.by_id.contains_key(id) {
            // Already reported as a duplicate id.
            return;
        }
        let Ok(idx) = ElementIdx::try_from(b.elements.len()) else {
            return;
        };
        let id: Arc<str> = Arc::from(id);
        let mut element = new_element(idx, id.clone(), node.attribute("name").map(str::to_string), kind, Some(scope));
        element.is_for_compensation =
            is_activity(kind) && node.attribute("isForCompensation").map(str::trim) == Some("true");
        element.documentation = bpmn_child(node, "documentation").map(|d| text_content(d).trim().to_string());
        self.extensions(&mut element, node);
        self.event_definition(&mut element, node);
        if kind == ElementKind::AdHocSubProcess && bpmn_child(node, "multiInstanceLoopCharacteristics").is_some() {
            self.problems.push(at(&element.id, "a multi-instance ad-hoc subprocess is not supported"));
        } else if is_activity(kind)
            && let Some(looping) = bpmn_child(node, "multiInstanceLoopCharacteristics")
        {
            element.multi_instance = self.multi_instance(&element.id, looping);
        }
        if kind == ElementKind::BoundaryEvent {
            b.attachments.push((idx, attr(node, "attachedToRef")));
        }
        if let Some(default) = attr(node, "default")
            && (is_activity(kind) || matches!(kind, ElementKind::ExclusiveGateway | ElementKind::InclusiveGateway))
        {
            b.defaults.push((idx, default));
        }
        b.elements.push(element);
        b.by_id.insert(id, idx);
        if let Some(parent) = b.elements.get_mut(scope as usize) {
            parent.children.push(idx);
        }
        if matches!(kind, ElementKind::SubProcess | ElementKind::EventSubProcess | ElementKind::AdHocSubProcess) {
            self.container(b, node, idx);
        }
    }

    /// The event definition of a catch or throw event, with its referenced root element.
    fn event_definition(&mut self, element: &mut Element, node: Node<'a, '_>) {
        let id = element.id.clone();
        let kind = element.kind;
        if !matches!(
            kind,
            ElementKind::ErrorEndEvent
                | ElementKind::EscalationEndEvent
                | ElementKind::EscalationThrowEvent
                | ElementKind::LinkThrowEvent
                | ElementKind::LinkCatchEvent
                | ElementKind::BoundaryEvent
                | ElementKind::IntermediateCatchEvent
                | ElementKind::ReceiveTask
                | ElementKind::StartEvent
                | ElementKind::SignalThrowEvent
                | ElementKind::SignalEndEvent
                | ElementKind::CompensationThrowEvent
                | ElementKind::CompensationEndEvent
        ) {
            return;
        }
        if let Some(definition) = bpmn_child(node, "linkEventDefinition") {
            match attr(definition, "name") {
                Some(name) => element.event = Some(EventDefinition::Link { name: name.to_string() }),
                None => self.problems.push(at(&id, "a link event must have a name (linkEventDefinition name)")),
            }
            return;
        }
        if kind == ElementKind::BoundaryEvent {
            element.interrupting = node.attribute("cancelActivity").map(str::trim) != Some("false");
        }
        if kind == ElementKind::StartEvent {
            element.interrupting = node.attribute("isInterrupting").map(str::trim) != Some("false");
        }
        if let Some(definition) = bpmn_child(node, "compensateEventDefinition") {
            let activity_ref = attr(definition, "activityRef").map(str::to_string);
            if kind == ElementKind::BoundaryEvent && activity_ref.is_some() {
                self.problems.push(at(&id, "a compensation boundary event must not have an activityRef"));
            }
            element.event = Some(EventDefinition::Compensation { activity_ref });
            return;
        }
        if let Some(timer) = bpmn_child(node, "timerEventDefinition") {
            let forms: Vec<(TimerKind, &str, String)> =
                [(TimerKind::Date, "timeDate"), (TimerKind::Duration, "timeDuration"), (TimerKind::Cycle, "timeCycle")]
                    .into_iter()
                    .filter_map(|(kind, name)| bpmn_child(timer, name).map(|n| (kind, name, text_content(n))))
                    .collect();
            let [(timer_kind, name, text)] = forms.as_slice() else {
                self.problems
                    .push(at(&id, "a timer event must have exactly one of timeDate, timeDuration or timeCycle"));
                return;
            };
            let cycles_allowed =
                kind == ElementKind::StartEvent || (kind == ElementKind::BoundaryEvent && !element.interrupting);
            if *timer_kind == TimerKind::Cycle && !cycles_allowed {
                self.problems.push(at(
                    &id,
                    "a timer cycle (timeCycle) is only allowed on timer start events and non-interrupting timer \
                     boundary events; use timeDate or timeDuration",
                ));
                return;
            }
            let Some(text) = self.text(&id, text.trim(), &format!("the timer ({name})")) else {
                return;
            };
            if let Text::Static(text) = &text
                && let Err(message) = Schedule::parse(*timer_kind, text)
            {
                self.problems.push(at(&id, format!("invalid timer ({name}): {message}")));
                return;
            }
            element.event = Some(EventDefinition::Timer { kind: *timer_kind, text });
            return;
        }
        if let Some(definition) = bpmn_child(node, "signalEventDefinition") {
            let Some(reference) = attr(definition, "signalRef") else {
                self.problems.push(at(&id, "a signal event must reference a signal (signalRef)"));
                return;
            };
            let Some(signal) = self.signals.get(reference).copied() else {
                self.problems.push(at(&id, format!("the signalRef '{reference}' does not reference a bpmn:signal")));
                return;
            };
            let Some(name) = attr(signal, "name") else {
                self.problems.push(at(&id, format!("the signal '{reference}' has no name")));
                return;
            };
            if let Some(name) = self.text(&id, name, "the signal name") {
                element.event = Some(EventDefinition::Signal { name });
            }
            return;
        }
        let message_ref = match kind {
            ElementKind::ReceiveTask => Some(attr(node, "messageRef")),
            _ => bpmn_child(node, "messageEventDefinition").map(|d| attr(d, "messageRef")),
        };
        if let Some(message_ref) = message_ref {
            let Some(reference) = message_ref else {
                self.problems.push(at(&id, "a message catch event must reference a message (messageRef)"));
                return;
            };
            let Some(message) = self.messages.get(reference).copied() else {
                self.problems.push(at(&id, format!("the messageRef '{reference}' does not reference a bpmn:message")));
                return;
            };
            let name = match attr(message, "name") {
                Some(name) => self.text(&id, name, "the message name"),
                None => {
                    self.problems.push(at(&id, format!("the message '{reference}' has no name")));
                    None
                }
            };
            let subscription = bpmn_child(message, "extensionElements")
                .and_then(|ext| zeebe_children(ext, "subscription").next())
                .and_then(|s| attr(s, "correlationKey"));
            let correlation_key = match subscription {
                Some(key) => self.feel(&id, key, "the correlation key").map(Some),
                // A message start event takes every message with its name.
                None if kind == ElementKind::StartEvent => Some(None),
                None => {
                    self.problems.push(at(
                        &id,
                        format!(
                            "the message '{reference}' must have a correlation key (zeebe:subscription correlationKey)"
                        ),
                    ));
                    None
                }
            };
            if let (Some(name), Some(correlation_key)) = (name, correlation_key) {
                element.event = Some(EventDefinition::Message(MessageDefinition { name, correlation_key }));
            }
            return;
        }
        if let Some(definition) = bpmn_child(node, "errorEventDefinition") {
            let code = match attr(definition, "errorRef") {
                None => None,
                Some(reference) => match self.errors.get(reference) {
                    None => {
                        self.problems
                            .push(at(&id, format!("the errorRef '{reference}' does not reference a bpmn:error")));
                        return;
                    }
                    Some(code) => *code,
                },
            };
            let code = match (kind, code) {
                (ElementKind::ErrorEndEvent, None) => {
                    self.problems
                        .push(at(&id, "an error end event must reference an error (errorRef) with an errorCode"));
                    return;
                }
                (ElementKind::ErrorEndEvent, Some(code)) => self.text(&id, code, "the error code"),
                (_, None) => None,
                (_, Some(code)) if code.starts_with('=') => {
                    self.problems.push(at(
                        &id,
                        format!("the error code '{code}' of a catch event must be static, not an expression"),
                    ));
                    return;
                }
                (_, Some(code)) => Some(Text::Static(code.to_string())),
            };
            if kind == ElementKind::BoundaryEvent && !element.interrupting {
                self.problems.push(at(&id, "an error boundary event must be interrupting (cancelActivity=\"true\")"));
            }
            element.event = Some(EventDefinition::Error { code });
            return;
        }
        if let Some(definition) = bpmn_child(node, "escalationEventDefinition") {
            element.event = self.escalation(&id, kind, definition).map(|code| EventDefinition::Escalation { code });
        }
    }

    /// The escalation code of an escalation event: required on a throw event (static or FEEL),
    /// static on a catch event, where no code catches every escalation.
    fn escalation(&mut self, id: &str, kind: ElementKind, definition: Node) -> Option<Option<Text>> {
        let throws = matches!(kind, ElementKind::EscalationEndEvent | ElementKind::EscalationThrowEvent);
        let code = match attr(definition, "escalationRef") {
            None => None,
            Some(reference) => match self.escalations.get(reference) {
                None => {
                    self.problems
                        .push(at(id, format!("the escalationRef '{reference}' does not reference a bpmn:escalation")));
                    return None;
                }
                Some(code) => *code,
            },
        };
        match code {
            None if throws => {
                self.problems.push(at(
                    id,
                    "an escalation throw event must reference an escalation (escalationRef) with an escalationCode",
                ));
                None
            }
            None => Some(None),
            Some(code) if throws => self.text(id, code, "the escalation code").map(Some),
            Some(code) if code.starts_with('=') => {
                self.problems.push(at(
                    id,
                    format!("the escalation code '{code}' of a catch event must be static, not an expression"),
                ));
                None
            }
            Some(code) => Some(Some(Text::Static(code.to_string()))),
        }
    }

    /// Links each compensation boundary event to its handler (by association) and checks the
    /// handlers and throw events.
    fn resolve_compensation(&mut self, b: &mut ProcessBuilder<'a>) {
        let is_compensation = |e: &Element| matches!(e.event, Some(EventDefinition::Compensation { .. }));
        for (source, target) in std::mem::take(&mut b.associations) {
            let (Some(&boundary), Some(&handler)) = (b.by_id.get(source), b.by_id.get(target)) else { continue };
            let (Some(boundary_element), Some(handler_element)) =
                (b.elements.get(boundary as usize), b.elements.get(handler as usize))
            else {
                continue;
            };
            if boundary_element.kind != ElementKind::BoundaryEvent || !is_compensation(boundary_element) {
                continue;
            }
            if !handler_element.is_for_compensation {
                let id = boundary_element.id.clone();
                let message =
                    format!("the compensation handler '{target}' must be an activity with isForCompensation=\"true\"");
                self.problems.push(at(&id, message));
                continue;
            }
            let Some(activity) = boundary_element.attached_to else { continue };
            if let Some(activity) = b.elements.get_mut(activity as usize) {
                activity.compensation_handler = Some(handler);
            }
        }
        for element in &b.elements {
            if element.kind == ElementKind::BoundaryEvent && is_compensation(element) {
                let handled = element
                    .attached_to
                    .and_then(|a| b.elements.get(a as usize))
                    .is_some_and(|a| a.compensation_handler.is_some());
                if !handled && element.attached_to.is_some() {
                    self.problems.push(at(
                        &element.id,
                        "a compensation boundary event must be associated with a compensation handler \
                         (bpmn:association to an activity with isForCompensation=\"true\")",
                    ));
                }
                if !element.outgoing.is_empty() {
                    self.problems
                        .push(at(&element.id, "a compensation boundary event must not have outgoing sequence flows"));
                }
            }
            if element.is_for_compensation && (!element.incoming.is_empty() || !element.outgoing.is_empty()) {
                self.problems.push(at(&element.id, "a compensation handler must not have sequence flows"));
            }
            if let Some(EventDefinition::Compensation { activity_ref: Some(reference) }) = &element.event {
                let found = b.by_id.get(reference.as_str()).and_then(|&a| b.elements.get(a as usize));
                let compensable = found.is_some_and(|a| {
                    a.parent == element.parent
                        && (a.compensation_handler.is_some()
                            || matches!(a.kind, ElementKind::SubProcess | ElementKind::CallActivity))
                });
                if !compensable {
                    self.problems.push(at(
                        &element.id,
                        format!(
                            "the activityRef '{reference}' must reference an activity of the same scope with a \
                             compensation boundary event, or a subprocess"
                        ),
                    ));
                }
            }
        }
    }

    /// Attaches boundary events to their activities (siblings in the same container).
    fn resolve_attachments(&mut self, b: &mut ProcessBuilder<'a>) {
        for (boundary, reference) in std::mem::take(&mut b.attachments) {
            let Some(element) = b.elements.get(boundary as usize) else { continue };
            let id = element.id.clone();
            let parent = element.parent;
            let Some(reference) = reference else {
                self.problems.push(at(&id, "a boundary event must be attached to an activity (attachedToRef)"));
                continue;
            };
            let target = b.by_id.get(reference).copied();
            let Some(target) = target
                .filter(|&t| b.elements.get(t as usize).is_some_and(|e| is_activity(e.kind) && e.parent == parent))
            else {
                if !self.unsupported.contains(reference) {
                    self.problems
                        .push(at(&id, format!("the attachedToRef '{reference}' is not an activity in the same scope")));
                }
                continue;
            };
            if let Some(element) = b.elements.get_mut(boundary as usize) {
                element.attached_to = Some(target);
            }
            if let Some(activity) = b.elements.get_mut(target as usize) {
                activity.boundary_events.push(boundary);
            }
        }
    }

    fn sequence_flow(&mut self, b: &mut ProcessBuilder<'a>, node: Node<'a, '_>, scope: ElementIdx) {
        let Some(id) = attr(node, "id") else {
            self.problems.push(general("a sequence flow has no id"));
            return;
        };
        let mut condition = None;
        let mut conditioned = false;
        if let Some(cond) = bpmn_child(node, "conditionExpression") {
            conditioned = true;
            let text = text_content(cond);
            let text = text.trim();
            if text.is_empty() {
                self.problems.push(at(id, "the condition expression is empty"));
            } else {
                condition = self.feel(id, text, "the condition");
            }
        }
        b.flows.push(RawFlow {
            id: Arc::from(id),
            scope,
            source: attr(node, "sourceRef"),
            target: attr(node, "targetRef"),
            condition,
            conditioned,
        });
    }

    fn extensions(&mut self, element: &mut Element, node: Node<'a, '_>) {
        let ext = Extensions::of(node);
        let id = element.id.clone();
        let name = xml_name(element.kind);
        element.properties = self.properties(ext.properties);
        self.execution_listeners(element, ext.execution_listeners);
        if let Some(io) = ext.io_mapping {
            self.io_mapping(element, io);
        }
        match element.kind {
            ElementKind::ServiceTask
            | ElementKind::SendTask
            | ElementKind::MessageThrowEvent
            | ElementKind::MessageEndEvent => {
                element.job = self.required_job(&id, name, ext.task_definition, ext.task_headers);
            }
            ElementKind::BusinessRuleTask => match (ext.called_decision, ext.task_definition) {
                (Some(_), Some(_)) => self.problems.push(at(
                    &id,
                    "a business rule task must have either zeebe:calledDecision or zeebe:taskDefinition, not both",
                )),
                (Some(called), None) => element.called_decision = self.called_decision(&id, called),
                (None, _) => element.job = self.required_job(&id, name, ext.task_definition, ext.task_headers),
            },
            ElementKind::ScriptTask => match (ext.script, ext.task_definition) {
                (Some(_), Some(_)) => self
                    .problems
                    .push(at(&id, "a script task must have either zeebe:script or zeebe:taskDefinition, not both")),
                (Some(script), None) => element.script = self.script(&id, script),
                (None, Some(_)) => {
                    element.job = self.required_job(&id, name, ext.task_definition, ext.task_headers);
                }
                (None, None) => self.problems.push(at(
                    &id,
                    "a script task must have a FEEL script (zeebe:script) or a job type (zeebe:taskDefinition type)",
                )),
            },
            ElementKind::CallActivity => {
                let process_id = ext.called_element.and_then(|c| attr(c, "processId"));
                let Some(process_id) = process_id else {
                    self.problems.push(at(
                        &id,
                        "a call activity must name the process it calls (zeebe:calledElement processId)",
                    ));
                    return;
                };
                let flag =
                    |name: &str| ext.called_element.and_then(|c| c.attribute(name)).map(str::trim) != Some("false");
                let propagate_all_child_variables = flag("propagateAllChildVariables");
                let propagate_all_parent_variables = flag("propagateAllParentVariables");
                let binding = match ext.called_element.and_then(|c| attr(c, "bindingType")) {
                    None | Some("latest") => Some(Binding::Latest),
                    Some("deployment") => Some(Binding::Deployment),
                    Some("versionTag") => match ext.called_element.and_then(|c| attr(c, "versionTag")) {
                        Some(tag) => Some(Binding::VersionTag(tag.to_string())),
                        None => {
                            self.problems.push(at(
                                &id,
                                "a call activity bound by version tag (bindingType=\"versionTag\") must name \
                                 the tag (versionTag)",
                            ));
                            None
                        }
                    },
                    Some(other) => {
                        self.problems.push(at(
                            &id,
                            format!(
                                "the bindingType '{other}' of the called element must be one of 'latest', \
                                 'deployment' or 'versionTag'"
                            ),
                        ));
                        None
                    }
                };
                if let (Some(process_id), Some(binding)) =
                    (self.text(&id, process_id, "the called process id"), binding)
                {
                    element.called_element = Some(CalledElement {
                        process_id,
                        binding,
                        propagate_all_child_variables,
                        propagate_all_parent_variables,
                    });
                }
            }
            // A Camunda user task (`zeebe:userTask`) runs as a job-based user task too: the
            // tasklist (or a worker) completes it through its job.
            ElementKind::UserTask => element.job = Some(self.user_task_job(&id, &ext)),
            ElementKind::AdHocSubProcess => {
                // With a task definition, a job worker decides what runs and when it is done.
                if ext.task_definition.is_some() {
                    element.job = self.required_job(&id, name, ext.task_definition, ext.task_headers);
                }
                element.ad_hoc = self.ad_hoc(&id, node, ext.ad_hoc);
            }
            _ => {}
        }
    }

    fn ad_hoc(&mut self, id: &str, node: Node, zeebe: Option<Node>) -> Option<AdHoc> {
        let active_elements = match zeebe.and_then(|z| attr(z, "activeElementsCollection")) {
            Some(source) => Some(self.feel(id, source, "the active elements collection")?),
            None => None,
        };
        let output_collection = zeebe.and_then(|z| attr(z, "outputCollection")).map(str::to_string);
        let output_element = match zeebe.and_then(|z| attr(z, "outputElement")) {
            Some(source) => Some(self.feel(id, source, "the output element")?),
            None => None,
        };
        if output_collection.is_some() != output_element.is_some() {
            self.problems
                .push(at(id, "an ad-hoc subprocess needs both an output collection and an output element, or neither"));
        }
        let completion_condition = match bpmn_child(node, "completionCondition").map(text_content) {
            Some(text) if !text.trim().is_empty() => Some(self.feel(id, text.trim(), "the completion condition")?),
            _ => None,
        };
        Some(AdHoc {
            active_elements,
            completion_condition,
            cancel_remaining: node.attribute("cancelRemainingInstances").map(str::trim) != Some("false"),
            output_collection,
            output_element,
        })
    }

    fn multi_instance(&mut self, id: &str, node: Node) -> Option<MultiInstance> {
        let sequential = node.attribute("isSequential").map(str::trim) == Some("true");
        let zeebe =
            bpmn_child(node, "extensionElements").and_then(|ext| zeebe_children(ext, "loopCharacteristics").next());
        let Some(zeebe) = zeebe else {
            self.problems.push(at(
                id,
                "a multi-instance activity must have an input collection (zeebe:loopCharacteristics inputCollection)",
            ));
            return None;
        };
        let input_collection = match attr(zeebe, "inputCollection") {
            Some(source) => self.feel(id, source, "the input collection"),
            None => {
                self.problems.push(at(
                    id,
                    "a multi-instance activity must have an input collection \
                     (zeebe:loopCharacteristics inputCollection)",
                ));
                None
            }
        };
        let output_collection = attr(zeebe, "outputCollection").map(str::to_string);
        let output_element = match attr(zeebe, "outputElement") {
            Some(source) => Some(self.feel(id, source, "the output element")?),
            None => None,
        };
        if output_collection.is_some() != output_element.is_some() {
            self.problems.push(at(
                id,
                "a multi-instance activity needs both an output collection and an output element, or neither",
            ));
        }
        let completion_condition = match bpmn_child(node, "completionCondition").map(text_content) {
            Some(text) if !text.trim().is_empty() => Some(self.feel(id, text.trim(), "the completion condition")?),
            _ => None,
        };
        Some(MultiInstance {
            sequential,
            input_collection: input_collection?,
            input_element: attr(zeebe, "inputElement").map(str::to_string),
            output_collection,
            output_element,
            completion_condition,
        })
    }

    fn execution_listeners(&mut self, element: &mut Element, node: Option<Node>) {
        let Some(node) = node else { return };
        let id = element.id.clone();
        for listener in zeebe_children(node, "executionListener") {
            let event = attr(listener, "eventType").unwrap_or_default();
            let Some(job_type) = attr(listener, "type") else {
                self.problems.push(at(&id, format!("the '{event}' execution listener has no job type")));
                continue;
            };
            let retries = attr(listener, "retries").unwrap_or("3");
            let what = format!("the job type of the '{event}' execution listener");
            let (Some(job_type), Some(retries)) = (
                self.text(&id, job_type, &what),
                self.text(&id, retries, &format!("the retries of the '{event}' execution listener")),
            ) else {
                continue;
            };
            let listener = ExecutionListener { job_type, retries };
            match event {
                "start" => element.start_listeners.push(listener),
                "end" => element.end_listeners.push(listener),
                other => self.problems.push(at(
                    &id,
                    format!("an execution listener has event type '{other}'; expected 'start' or 'end'"),
                )),
            }
        }
    }

    fn properties(&mut self, node: Option<Node>) -> Vec<(String, String)> {
        let Some(node) = node else { return Vec::new() };
        zeebe_children(node, "property")
            .map(|p| {
                (
                    p.attribute("name").unwrap_or_default().to_string(),
                    p.attribute("value").unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    fn headers(&mut self, id: &str, node: Option<Node>) -> Vec<(String, String)> {
        let Some(node) = node else { return Vec::new() };
        let mut headers = Vec::new();
        for header in zeebe_children(node, "header") {
            match attr(header, "key") {
                Some(key) => headers.push((key.to_string(), header.attribute("value").unwrap_or_default().to_string())),
                None => self.problems.push(at(id, "a task header (zeebe:header) has no key")),
            }
        }
        headers
    }

    fn io_mapping(&mut self, element: &mut Element, node: Node) {
        let id = element.id.clone();
        let kind = element.kind;
        if is_gateway(kind) {
            self.problems.push(at(&id, format!("input/output mappings are not allowed on a '{}'", xml_name(kind))));
            return;
        }
        for mapping in node.children().filter(|c| c.is_element() && c.tag_name().namespace() == Some(ZEEBE_NS)) {
            let direction = mapping.tag_name().name();
            if direction != "input" && direction != "output" {
                continue;
            }
            let Some(target) = attr(mapping, "target") else {
                self.problems.push(at(&id, format!("a zeebe:{direction} mapping has no target")));
                continue;
            };
            if direction == "input" && kind == ElementKind::StartEvent {
                self.problems.push(at(&id, "input mappings are not allowed on a start event"));
                continue;
            }
            let source = match attr(mapping, "source") {
                Some(source) => self.text(&id, source, &format!("the source of the {direction} mapping to '{target}'")),
                // The Modeler writes no source for "create the variable, empty": Zeebe makes it null.
                None => Expression::parse("null").ok().map(Text::Expression),
            };
            let Some(source) = source else { continue };
            let mapping = Mapping { source, target: target.to_string() };
            if direction == "input" {
                element.inputs.push(mapping);
            } else {
                element.outputs.push(mapping);
            }
        }
    }

    /// A value that must be FEEL (with Zeebe's leading `=`).
    fn feel(&mut self, id: &str, source: &str, what: &str) -> Option<Expression> {
        let Some(feel) = source.strip_prefix('=') else {
            self.problems.push(at(id, format!("{what} '{source}' is not a FEEL expression; it must start with '='")));
            return None;
        };
        Expression::parse(feel.trim())
            .map_err(|e| {
                let message = format!("invalid FEEL expression in {what}: {e}");
                self.problems.push(at(id, message));
            })
            .ok()
    }

    /// Zeebe's rule: a leading `=` makes the value a FEEL expression.
    fn text(&mut self, id: &str, value: &str, what: &str) -> Option<Text> {
        match value.trim_start().strip_prefix('=') {
            Some(feel) => match Expression::parse(feel.trim()) {
                Ok(expression) => Some(Text::Expression(expression)),
                Err(e) => {
                    self.problems.push(at(id, format!("invalid FEEL expression in {what}: {e}")));
                    None
                }
            },
            None => Some(Text::Static(value.to_string())),
        }
    }

    fn required_job(
        &mut self,
        id: &str,
        name: &str,
        definition: Option<Node>,
        headers: Option<Node>,
    ) -> Option<JobDefinition> {
        let job_type = definition.and_then(|d| attr(d, "type"));
        let Some(job_type) = job_type else {
            self.problems.push(at(id, format!("a '{name}' must have a job type (zeebe:taskDefinition type)")));
            return None;
        };
        let job_type = self.text(id, job_type, "the job type");
        let retries = match definition.and_then(|d| attr(d, "retries")) {
            None => Some(Text::Static("3".to_string())),
            Some(retries) if retries.starts_with('=') => self.text(id, retries, "the job retries"),
            Some(retries) if retries.parse::<u32>().is_ok() => Some(Text::Static(retries.to_string())),
            Some(retries) => {
                self.problems.push(at(
                    id,
                    format!("the job retries '{retries}' must be a non-negative integer or a FEEL expression"),
                ));
                None
            }
        };
        let headers = self.headers(id, headers);
        Some(JobDefinition { job_type: job_type?, retries: retries?, headers, dynamic_headers: Vec::new() })
    }

    fn called_decision(&mut self, id: &str, node: Node) -> Option<CalledDecision> {
        let result_variable = attr(node, "resultVariable").filter(|v| !v.trim().is_empty());
        if result_variable.is_none() {
            self.problems
                .push(at(id, "a business rule task must have a result variable (zeebe:calledDecision resultVariable)"));
        }
        let decision_id = match attr(node, "decisionId").filter(|v| !v.trim().is_empty()) {
            None => {
                self.problems
                    .push(at(id, "a business rule task must name a decision (zeebe:calledDecision decisionId)"));
                None
            }
            Some(value) => self.text(id, value, "the decision id"),
        };
        Some(CalledDecision { decision_id: decision_id?, result_variable: result_variable?.to_string() })
    }

    fn script(&mut self, id: &str, node: Node) -> Option<Script> {
        let result_variable = attr(node, "resultVariable");
        if result_variable.is_none() {
            self.problems.push(at(id, "a script task must have a result variable (zeebe:script resultVariable)"));
        }
        let expression = match attr(node, "expression") {
            None => {
                self.problems.push(at(id, "a script task must have an expression (zeebe:script expression)"));
                None
            }
            Some(source) => self.feel(id, source, "the script"),
        };
        Some(Script { expression: expression?, result_variable: result_variable?.to_string() })
    }

    /// Zeebe's job-based user task: a job of a fixed type whose headers carry the assignment,
    /// form and schedule for the tasklist.
    fn user_task_job(&mut self, id: &str, ext: &Extensions) -> JobDefinition {
        let mut headers = self.headers(id, ext.task_headers);
        let mut dynamic_headers = Vec::new();
        let attributes = [
            (ext.assignment, "assignee", "io.camunda.zeebe:assignee", false),
            (ext.assignment, "candidateGroups", "io.camunda.zeebe:candidateGroups", true),
            (ext.assignment, "candidateUsers", "io.camunda.zeebe:candidateUsers", true),
            (ext.schedule, "dueDate", "io.camunda.zeebe:dueDate", false),
            (ext.schedule, "followUpDate", "io.camunda.zeebe:followUpDate", false),
            (ext.form, "formKey", "io.camunda.zeebe:formKey", false),
            (ext.form, "formId", "io.camunda.zeebe:formId", false),
        ];
        for (node, attribute, header, list) in attributes {
            let Some(value) = node.and_then(|n| attr(n, attribute)) else { continue };
            match self.text(id, value, &format!("the {attribute}")) {
                Some(Text::Static(value)) if list => {
                    let items: Vec<&str> = value.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
                    headers.push((header.to_string(), serde_json::to_string(&items).unwrap_or_default()));
                }
                Some(Text::Static(value)) => headers.push((header.to_string(), value)),
                Some(Text::Expression(expression)) => {
                    dynamic_headers.push(DynamicHeader { name: header.to_string(), expression, list });
                }
                None => {}
            }
        }
        JobDefinition {
            job_type: Text::Static(USER_TASK_JOB_TYPE.to_string()),
            retries: Text::Static("1".to_string()),
            headers,
            dynamic_headers,
        }
    }

    /// Turns raw flows into graph flows (document order) and fills `incoming`/`outgoing`.
    /// Each flow is returned with whether a condition was written for it.
    fn resolve_flows(&mut self, b: &mut ProcessBuilder<'a>) -> Vec<(SequenceFlow, bool)> {
        let mut flows = Vec::new();
        for raw in std::mem::take(&mut b.flows) {
            let source = self.resolve_ref(b, &raw, raw.source, "sourceRef");
            let target = self.resolve_ref(b, &raw, raw.target, "targetRef");
            let (Some(source), Some(target)) = (source, target) else {
                if let Some(source) = source {
                    *b.dropped_outgoing.entry(source).or_default() += 1;
                }
                b.dropped.insert(raw.id);
                continue;
            };
            let parent = |idx: ElementIdx| b.elements.get(idx as usize).and_then(|e| e.parent);
            if parent(source) != Some(raw.scope) || parent(target) != Some(raw.scope) {
                self.problems.push(at(
                    &raw.id,
                    format!(
                        "the sequence flow connects '{}' and '{}', which are not both in the scope that \
                         contains the flow; a sequence flow cannot cross a subprocess boundary",
                        raw.source.unwrap_or_default(),
                        raw.target.unwrap_or_default()
                    ),
                ));
                *b.dropped_outgoing.entry(source).or_default() += 1;
                b.dropped.insert(raw.id);
                continue;
            }
            let Ok(idx) = FlowIdx::try_from(flows.len()) else {
                continue;
            };
            if let Some(e) = b.elements.get_mut(source as usize) {
                e.outgoing.push(idx);
            }
            if let Some(e) = b.elements.get_mut(target as usize) {
                e.incoming.push(idx);
            }
            flows.push((SequenceFlow { idx, id: raw.id, source, target, condition: raw.condition }, raw.conditioned));
        }
        flows
    }

    fn resolve_ref(
        &mut self,
        b: &ProcessBuilder<'a>,
        raw: &RawFlow<'a>,
        reference: Option<&'a str>,
        attribute: &str,
    ) -> Option<ElementIdx> {
        let Some(reference) = reference else {
            self.problems.push(at(&raw.id, format!("the sequence flow has no {attribute}")));
            return None;
        };
        if let Some(&idx) = b.by_id.get(reference) {
            return Some(idx);
        }
        if self.unsupported.contains(reference) {
            return None;
        }
        let message = if self.all_ids.contains(reference) {
            format!("the {attribute} '{reference}' is not a flow element of this process")
        } else {
            format!("the {attribute} '{reference}' references an element that does not exist")
        };
        self.problems.push(at(&raw.id, message));
        None
    }

    fn resolve_defaults(&mut self, b: &mut ProcessBuilder<'a>, flows: &[(SequenceFlow, bool)]) {
        for &(idx, default) in &b.defaults {
            let Some(element) = b.elements.get_mut(idx as usize) else {
                continue;
            };
            let found = element
                .outgoing
                .iter()
                .copied()
                .find(|&f| flows.get(f as usize).is_some_and(|(flow, _)| &*flow.id == default));
            match found {
                Some(flow) => element.default_flow = Some(flow),
                // A flow dropped for another problem was already reported.
                None if b.dropped.contains(default) => {}
                None => self.problems.push(at(
                    &element.id,
                    format!("the default flow '{default}' is not an outgoing sequence flow of this element"),
                )),
            }
        }
    }

    fn validate(&mut self, b: &ProcessBuilder<'a>, flows: &[(SequenceFlow, bool)]) {
        let flow = |idx: FlowIdx| flows.get(idx as usize);
        for element in &b.elements {
            match element.kind {
                ElementKind::Process | ElementKind::SubProcess => {
                    let starts: Vec<&Element> = element
                        .children
                        .iter()
                        .filter_map(|&c| b.elements.get(c as usize))
                        .filter(|e| e.kind == ElementKind::StartEvent)
                        .collect();
                    let none = starts.iter().filter(|e| e.is_none_start()).count();
                    let is_process = element.kind == ElementKind::Process;
                    let ok = if is_process { none == 1 || (none == 0 && !starts.is_empty()) } else { none == 1 };
                    if !ok {
                        let besides = if is_process { " (besides any message or timer start events)" } else { "" };
                        self.problems.push(at(
                            &element.id,
                            format!(
                                "a {} must have exactly one none start event{besides}, but it has {none}",
                                xml_name(element.kind),
                            ),
                        ));
                    }
                    for start in starts.iter().filter(|e| !e.is_none_start() && e.event.is_some()) {
                        let only_in_event_subprocess = matches!(
                            start.event,
                            Some(EventDefinition::Error { .. } | EventDefinition::Escalation { .. })
                        );
                        if !is_process || only_in_event_subprocess {
                            let message = if only_in_event_subprocess {
                                "an error or escalation start event is only allowed in an event subprocess"
                            } else {
                                "a start event with an event definition is only allowed at the process level or \
                                 in an event subprocess"
                            };
                            self.problems.push(at(&start.id, message));
                        }
                    }
                }
                ElementKind::AdHocSubProcess => {
                    let children = || element.children.iter().filter_map(|&c| b.elements.get(c as usize));
                    for child in children().filter(|c| matches!(xml_name(c.kind), "startEvent" | "endEvent")) {
                        self.problems.push(at(
                            &child.id,
                            format!(
                                "an ad-hoc subprocess must not contain start or end events, but '{}' is one",
                                child.id
                            ),
                        ));
                    }
                    if !children().any(|c| is_activity(c.kind)) {
                        self.problems.push(at(&element.id, "an ad-hoc subprocess must contain at least one activity"));
                    }
                }
                ElementKind::EventSubProcess => {
                    let starts: Vec<&Element> = element
                        .children
                        .iter()
                        .filter_map(|&c| b.elements.get(c as usize))
                        .filter(|e| e.kind == ElementKind::StartEvent)
                        .collect();
                    match starts.as_slice() {
                        [start] if start.event.is_some() => {
                            let always_interrupting = matches!(start.event, Some(EventDefinition::Error { .. }));
                            if always_interrupting && !start.interrupting {
                                self.problems.push(at(
                                    &start.id,
                                    "an error start event must be interrupting (isInterrupting=\"true\")",
                                ));
                            }
                        }
                        // A start event whose definition had a problem was reported already.
                        [start] if !start.is_none_start() || event_definitions_reported(&self.problems, &start.id) => {}
                        _ => self.problems.push(at(
                            &element.id,
                            format!(
                                "an event subprocess must have exactly one start event, with a message, timer, \
                                 signal, error or escalation event definition, but it has {} start event(s) of \
                                 which {} without an event definition",
                                starts.len(),
                                starts.iter().filter(|s| s.is_none_start()).count()
                            ),
                        )),
                    }
                    if !element.incoming.is_empty() || !element.outgoing.is_empty() {
                        self.problems.push(at(
                            &element.id,
                            "an event subprocess must not have incoming or outgoing sequence flows",
                        ));
                    }
                }
                ElementKind::StartEvent if !element.incoming.is_empty() => {
                    self.problems.push(at(&element.id, "a start event must not have incoming sequence flows"));
                }
                ElementKind::BoundaryEvent if !element.incoming.is_empty() => {
                    self.problems.push(at(&element.id, "a boundary event must not have incoming sequence flows"));
                }
                ElementKind::LinkCatchEvent | ElementKind::LinkThrowEvent => self.validate_link(b, element),
                ElementKind::EndEvent
                | ElementKind::TerminateEndEvent
                | ElementKind::ErrorEndEvent
                | ElementKind::SignalEndEvent
                | ElementKind::MessageEndEvent
                | ElementKind::EscalationEndEvent
                    if !element.outgoing.is_empty() =>
                {
                    self.problems.push(at(&element.id, "an end event must not have outgoing sequence flows"));
                }
                ElementKind::ExclusiveGateway | ElementKind::InclusiveGateway
                    if element.outgoing.len() + b.dropped_outgoing.get(&element.idx).copied().unwrap_or(0) > 1 =>
                {
                    for &f in &element.outgoing {
                        let Some((sequence_flow, conditioned)) = flow(f) else {
                            continue;
                        };
                        if !conditioned && element.default_flow != Some(f) {
                            self.problems.push(at(
                                &element.id,
                                format!(
                                    "the outgoing sequence flow '{}' has no condition; every outgoing flow of \
                                     a {} with more than one must have a condition, except its default flow",
                                    sequence_flow.id,
                                    xml_name(element.kind)
                                ),
                            ));
                        }
                    }
                }
                ElementKind::EventBasedGateway => {
                    if element.outgoing.len() + b.dropped_outgoing.get(&element.idx).copied().unwrap_or(0) < 2 {
                        self.problems.push(at(
                            &element.id,
                            "an event-based gateway must have at least two outgoing sequence flows",
                        ));
                    }
                    for &f in &element.outgoing {
                        let Some((sequence_flow, conditioned)) = flow(f) else { continue };
                        let target = b.elements.get(sequence_flow.target as usize);
                        let catches = target.is_some_and(|t| {
                            t.kind == ElementKind::IntermediateCatchEvent && t.event.is_some() && t.incoming.len() == 1
                        });
                        if *conditioned || !catches {
                            self.problems.push(at(
                                &element.id,
                                format!(
                                    "the outgoing sequence flow '{}' must be unconditional and lead to an \
                                     intermediate catch event (message, timer or signal) that has no other \
                                     incoming flow",
                                    sequence_flow.id
                                ),
                            ));
                        }
                    }
                }
                ElementKind::ParallelGateway => {
                    for &f in &element.outgoing {
                        if let Some((sequence_flow, true)) = flow(f) {
                            self.problems.push(at(
                                &element.id,
                                format!(
                                    "the outgoing sequence flow '{}' has a condition; flows leaving a parallel \
                                     gateway must be unconditional",
                                    sequence_flow.id
                                ),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// A link throw event continues at the one link catch event of its name in its scope; the
    /// link catch event is entered only that way.
    fn validate_link(&mut self, b: &ProcessBuilder<'a>, element: &Element) {
        let Some(name) = element.link_name() else {
            // Already reported: the link has no name.
            return;
        };
        let siblings = element.parent.and_then(|p| b.elements.get(p as usize)).map_or(&[][..], |s| &s.children[..]);
        let catches: Vec<&Element> = siblings
            .iter()
            .filter_map(|&c| b.elements.get(c as usize))
            .filter(|c| c.kind == ElementKind::LinkCatchEvent && c.link_name() == Some(name))
            .collect();
        if element.kind == ElementKind::LinkCatchEvent {
            if !element.incoming.is_empty() {
                self.problems.push(at(&element.id, "a link catch event must not have incoming sequence flows"));
            }
            if let Some(first) = catches.first()
                && first.idx != element.idx
            {
                self.problems.push(at(
                    &element.id,
                    format!(
                        "the link name '{name}' is already used by the link catch event '{}' in the same scope; \
                         link catch event names must be unique per scope",
                        first.id
                    ),
                ));
            }
            return;
        }
        if catches.is_empty() {
            self.problems.push(at(
                &element.id,
                format!("there is no link catch event named '{name}' in the same scope as this link throw event"),
            ));
        }
        if !element.outgoing.is_empty() {
            self.problems.push(at(
                &element.id,
                "a link throw event must not have outgoing sequence flows; it continues at its link catch event",
            ));
        }
    }
}

/// Whether a problem was reported for element `id` already.
fn event_definitions_reported(problems: &[Problem], id: &str) -> bool {
    problems.iter().any(|p| p.element_id.as_deref() == Some(id))
}

fn set_none_starts(elements: &mut [Element]) {
    for i in 0..elements.len() {
        let Some(container) = elements.get(i) else {
            continue;
        };
        if !matches!(container.kind, ElementKind::Process | ElementKind::SubProcess) {
            continue;
        }
        let start =
            container.children.iter().copied().find(|&c| elements.get(c as usize).is_some_and(Element::is_none_start));
        if let Some(container) = elements.get_mut(i) {
            container.none_start = start;
        }
    }
}

fn zeebe_children<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().namespace() == Some(ZEEBE_NS) && c.tag_name().name() == name)
}

fn new_element(
    idx: ElementIdx,
    id: Arc<str>,
    name: Option<String>,
    kind: ElementKind,
    parent: Option<ElementIdx>,
) -> Element {
    Element {
        idx,
        id,
        name,
        documentation: None,
        kind,
        parent,
        incoming: Vec::new(),
        outgoing: Vec::new(),
        default_flow: None,
        none_start: None,
        children: Vec::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        job: None,
        script: None,
        properties: Vec::new(),
        start_listeners: Vec::new(),
        end_listeners: Vec::new(),
        event: None,
        attached_to: None,
        interrupting: true,
        boundary_events: Vec::new(),
        multi_instance: None,
        ad_hoc: None,
        called_element: None,
        called_decision: None,
        is_for_compensation: false,
        compensation_handler: None,
    }
}
