//! Behaviours shared by the element kinds: lifecycle transitions, sequence flows, joins,
//! incidents. Element modules stay small because the logic lives here once.

use std::sync::Arc;

use baton_model::{ElementIdx, ElementKind, FlowIdx, Process};

use crate::bpmn::variables;
use crate::engine::Ctx;
use crate::record::*;
use crate::state::{LifecycleState, State};

/// Why a step could not proceed at run time: becomes an incident.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub error_type: ErrorType,
    pub message: String,
}

impl Failure {
    pub fn unknown(message: String) -> Failure {
        Failure { error_type: ErrorType::Unknown, message }
    }

    pub fn expression(message: String) -> Failure {
        Failure { error_type: ErrorType::ExtractValueError, message }
    }

    pub fn extract_value(message: String) -> Failure {
        Failure { error_type: ErrorType::ExtractValueError, message }
    }

    pub fn condition(message: String) -> Failure {
        Failure { error_type: ErrorType::ConditionError, message }
    }

    pub fn called_element(message: String) -> Failure {
        Failure { error_type: ErrorType::CalledElementError, message }
    }

    pub fn decision_evaluation(message: String) -> Failure {
        Failure { error_type: ErrorType::DecisionEvaluationError, message }
    }

    pub fn io_mapping(message: String) -> Failure {
        Failure { error_type: ErrorType::IoMappingError, message }
    }

    pub fn no_flow_taken(inst: &Instance) -> Failure {
        Failure::condition(format!(
            "Expected at least one condition to evaluate to true, or to have a default flow, \
             but no outgoing sequence flow of '{}' could be taken",
            inst.value.element_id
        ))
    }
}

/// A view of one element instance for the behaviours: what it is and where it lives.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub key: i64,
    pub value: ProcessInstanceRecord,
    pub graph: Arc<Process>,
    pub idx: ElementIdx,
}

impl Instance {
    pub fn load(state: &State, key: i64) -> Option<Instance> {
        let instance = state.element_instances.get(&key)?;
        let graph = state.processes.get(&instance.value.process_definition_key)?.graph.clone();
        Some(Instance { key, value: instance.value.clone(), graph, idx: instance.element_idx })
    }

    pub fn element(&self) -> &baton_model::Element {
        self.graph.element(self.idx)
    }

    /// What this instance runs as: the element's kind, or the multi-instance body around it.
    pub fn kind(&self) -> ElementKind {
        match self.value.bpmn_element_type {
            BpmnElementType::Element(kind) => kind,
            BpmnElementType::SequenceFlow => self.element().kind,
        }
    }

    pub fn is_multi_instance_body(&self) -> bool {
        self.kind() == ElementKind::MultiInstanceBody
    }

    /// An inner instance of a multi-instance activity: it runs the activity, but the boundary
    /// events, the outgoing flows and the input collection belong to its body.
    pub fn is_multi_instance_inner(&self) -> bool {
        self.element().multi_instance.is_some() && !self.is_multi_instance_body()
    }

    /// The scope an ad-hoc subprocess opens for one inner element: it has no mappings,
    /// listeners or catch events of its own (the subprocess's are not its).
    pub fn is_ad_hoc_inner(&self) -> bool {
        self.kind() == ElementKind::AdHocSubProcessInnerInstance
    }

    /// The record value of another element of the same process, in scope `flow_scope_key`.
    pub fn value_for(&self, idx: ElementIdx, flow_scope_key: i64) -> ProcessInstanceRecord {
        let element = self.graph.element(idx);
        // A multi-instance activity is entered through its body, which creates the inner instances.
        let kind = if element.multi_instance.is_some() { ElementKind::MultiInstanceBody } else { element.kind };
        ProcessInstanceRecord {
            bpmn_process_id: self.value.bpmn_process_id.clone(),
            version: self.value.version,
            process_definition_key: self.value.process_definition_key,
            process_instance_key: self.value.process_instance_key,
            element_id: element.id.clone(),
            bpmn_element_type: BpmnElementType::Element(kind),
            flow_scope_key,
            parent_process_instance_key: self.value.parent_process_instance_key,
            parent_element_instance_key: self.value.parent_element_instance_key,
        }
    }
}

pub(crate) fn transition(ctx: &mut Ctx, src: &Record, inst: &Instance, intent: Intent) -> usize {
    ctx.event(src, inst.key, intent, RecordValue::ProcessInstance(inst.value.clone()))
}

pub(crate) fn transition_to_activated(ctx: &mut Ctx, src: &Record, inst: &Instance) {
    transition(ctx, src, inst, Intent::ElementActivated);
}

/// Asks for the element to complete; processed after the current command.
pub(crate) fn complete_element(ctx: &mut Ctx, src: &Record, inst: &Instance) {
    ctx.command(src, inst.key, Intent::CompleteElement, RecordValue::ProcessInstance(inst.value.clone()));
}

/// Activates a child of container `scope` (its start event).
pub(crate) fn activate_child(ctx: &mut Ctx, src: &Record, scope: &Instance, child: ElementIdx) {
    let key = ctx.next_key();
    let value = scope.value_for(child, scope.key);
    ctx.command(src, key, Intent::ActivateElement, RecordValue::ProcessInstance(value));
}

/// Gateways decide at activation and pass straight through to their outgoing flows.
pub(crate) fn pass_through_gateway(ctx: &mut Ctx, src: &Record, inst: &Instance, flows: &[FlowIdx]) {
    transition(ctx, src, inst, Intent::ElementActivated);
    transition(ctx, src, inst, Intent::ElementCompleting);
    transition(ctx, src, inst, Intent::ElementCompleted);
    after_completed(ctx, src, inst, flows);
}

/// After `ELEMENT_COMPLETED`: continue on the chosen flows, or tell the scope a token ended.
pub(crate) fn after_completed(ctx: &mut Ctx, src: &Record, inst: &Instance, flows: &[FlowIdx]) {
    for &flow in flows {
        take_flow(ctx, src, inst, flow);
    }
    crate::bpmn::on_completed(ctx, src, inst);
    if flows.is_empty() {
        after_child_finished(ctx, src, inst.value.owner_key());
    } else {
        check_inclusive_joins(ctx, src, inst, inst.value.flow_scope_key);
    }
}

pub(crate) fn flow_condition_holds(ctx: &Ctx, inst: &Instance, flow: FlowIdx) -> Result<bool, Failure> {
    match &inst.graph.flow(flow).condition {
        None => Ok(true),
        Some(condition) => {
            variables::evaluate_bool(ctx.state, inst.key, condition, ctx.now).map_err(Failure::condition)
        }
    }
}

/// The flows an activity leaves by: every unconditional one and every one whose condition holds;
/// the default flow when none does.
pub(crate) fn select_outgoing(ctx: &Ctx, inst: &Instance) -> Result<Vec<FlowIdx>, Failure> {
    let element = inst.element();
    let mut flows = Vec::with_capacity(element.outgoing.len());
    for &flow in &element.outgoing {
        if Some(flow) != element.default_flow && flow_condition_holds(ctx, inst, flow)? {
            flows.push(flow);
        }
    }
    if flows.is_empty() && !element.outgoing.is_empty() {
        match element.default_flow {
            Some(default) => flows.push(default),
            None => return Err(Failure::no_flow_taken(inst)),
        }
    }
    Ok(flows)
}

/// Takes a flow without activating its target; returns the key the target's instance will have.
pub(crate) fn take_flow_only(ctx: &mut Ctx, src: &Record, inst: &Instance, flow_idx: FlowIdx) -> i64 {
    let flow = inst.graph.flow(flow_idx);
    let mut value = inst.value.clone();
    value.element_id = flow.id.clone();
    value.bpmn_element_type = BpmnElementType::SequenceFlow;
    let key = ctx.next_key();
    ctx.event(src, key, Intent::SequenceFlowTaken, RecordValue::ProcessInstance(value));
    ctx.next_key()
}

fn take_flow(ctx: &mut Ctx, src: &Record, inst: &Instance, flow_idx: FlowIdx) {
    let flow = inst.graph.flow(flow_idx);
    let scope_key = inst.value.flow_scope_key;
    let mut value = inst.value.clone();
    value.element_id = flow.id.clone();
    value.bpmn_element_type = BpmnElementType::SequenceFlow;
    let key = ctx.next_key();
    ctx.event(src, key, Intent::SequenceFlowTaken, RecordValue::ProcessInstance(value));
    let target = inst.graph.element(flow.target);
    if !target.is_join() {
        let key = ctx.next_key();
        let value = inst.value_for(target.idx, scope_key);
        ctx.command(src, key, Intent::ActivateElement, RecordValue::ProcessInstance(value));
        return;
    }
    match target.kind {
        ElementKind::ParallelGateway => {
            let Some(scope) = ctx.state.element_instances.get(&scope_key) else {
                return;
            };
            let ready = target.incoming.iter().all(|&f| scope.join_tokens.contains_key(&(target.idx, f)));
            if ready {
                activate_join(ctx, src, inst, scope_key, target.idx);
            }
        }
        _ => check_inclusive_joins(ctx, src, inst, scope_key),
    }
}

fn activate_join(ctx: &mut Ctx, src: &Record, inst: &Instance, scope_key: i64, gateway: ElementIdx) {
    let id = &inst.graph.element(gateway).id;
    if queued_activation(ctx, scope_key).any(|value| &value.element_id == id) {
        return;
    }
    let key = ctx.next_key();
    let value = inst.value_for(gateway, scope_key);
    ctx.command(src, key, Intent::ActivateElement, RecordValue::ProcessInstance(value));
}

fn queued_activation<'a>(ctx: &'a Ctx, scope_key: i64) -> impl Iterator<Item = &'a ProcessInstanceRecord> {
    ctx.queued().filter_map(move |record| match &record.value {
        RecordValue::ProcessInstance(value)
            if record.intent == Intent::ActivateElement && value.flow_scope_key == scope_key =>
        {
            Some(value)
        }
        _ => None,
    })
}

/// An inclusive join fires once no token that could still reach it is left in its scope.
fn check_inclusive_joins(ctx: &mut Ctx, src: &Record, inst: &Instance, scope_key: i64) {
    let Some(scope) = ctx.state.element_instances.get(&scope_key) else {
        return;
    };
    if scope.join_tokens.is_empty() {
        return;
    }
    let graph = &inst.graph;
    let mut waiting: Vec<ElementIdx> = scope
        .join_tokens
        .keys()
        .map(|(gateway, _)| *gateway)
        .filter(|g| graph.element(*g).kind == ElementKind::InclusiveGateway)
        .collect();
    waiting.dedup();
    for gateway in waiting {
        let blocked_by_child = scope.children.iter().any(|child| {
            ctx.state.element_instances.get(child).is_some_and(|c| can_reach(graph, c.element_idx, gateway))
        });
        let blocked_by_join = scope.join_tokens.keys().any(|(g, _)| *g != gateway && can_reach(graph, *g, gateway));
        let blocked_by_queue = queued_activation(ctx, scope_key)
            .filter_map(|value| graph.by_id.get(&value.element_id))
            .any(|&idx| idx != gateway && can_reach(graph, idx, gateway));
        if !(blocked_by_child || blocked_by_join || blocked_by_queue) {
            activate_join(ctx, src, inst, scope_key, gateway);
            return;
        }
    }
}

/// Whether a token at `from` can still arrive at `to` by following sequence flows.
fn can_reach(graph: &Process, from: ElementIdx, to: ElementIdx) -> bool {
    let mut seen = vec![false; graph.elements.len()];
    let mut stack = vec![from];
    while let Some(idx) = stack.pop() {
        let element = graph.element(idx);
        // A link throw event leads on to its catch event as if by a sequence flow.
        let linked = graph.link_catch(idx);
        for target in element.outgoing.iter().map(|&flow| graph.flow(flow).target).chain(linked) {
            if target == to {
                return true;
            }
            if !seen[target as usize] {
                seen[target as usize] = true;
                stack.push(target);
            }
        }
    }
    false
}

/// Tells the children of `key` that are still running to terminate; returns how many there were.
pub(crate) fn terminate_children(ctx: &mut Ctx, src: &Record, key: i64) -> usize {
    let children: Vec<(i64, ProcessInstanceRecord)> = ctx
        .state
        .element_instances
        .get(&key)
        .map(|e| e.children.iter().copied().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|child| ctx.state.element_instances.get(&child))
        .filter(|child| child.state.can_transition_to(LifecycleState::Terminating))
        .map(|child| (child.key, child.value.clone()))
        .collect();
    let count = children.len();
    for (child, value) in children {
        ctx.command(src, child, Intent::TerminateElement, RecordValue::ProcessInstance(value));
    }
    count
}

/// Whether a catch event of element instance `key` can be triggered now: it is activated, no
/// other trigger waits on it, and it is not about to complete.
pub(crate) fn can_trigger(ctx: &Ctx, key: i64) -> bool {
    let ready = ctx
        .state
        .element_instances
        .get(&key)
        .is_some_and(|e| e.state == LifecycleState::Activated && e.event_trigger.is_none());
    ready && !ctx.queued().any(|r| r.key == key && r.intent == Intent::CompleteElement)
}

/// A child of `scope_key` completed without outgoing flows, or was terminated.
pub(crate) fn after_child_finished(ctx: &mut Ctx, src: &Record, scope_key: i64) {
    let Some(scope) = ctx.state.element_instances.get(&scope_key) else {
        return;
    };
    let event_subprocess_waits = scope.event_trigger.is_some() && scope.children.is_empty();
    match scope.state {
        LifecycleState::Terminating if scope.children.is_empty() => finish_termination(ctx, src, scope_key),
        LifecycleState::Activated if event_subprocess_waits => {
            // An interrupting event subprocess: the scope's other elements are gone now.
            let trigger = scope.event_trigger.clone();
            if let (Some(inst), Some(trigger)) = (Instance::load(ctx.state, scope_key), trigger) {
                crate::bpmn::events::activate_event_subprocess(ctx, src, &inst, &trigger);
            }
        }
        LifecycleState::Activated
            if scope.children.is_empty()
                && (scope.interrupted
                    || (scope.active_flows == 0
                        && !(scope.value.bpmn_element_type
                            == BpmnElementType::Element(ElementKind::AdHocSubProcess)
                            && crate::bpmn::ad_hoc::waits_for_condition(ctx, scope_key)))) =>
        {
            let value = scope.value.clone();
            let already = ctx.queued().any(|r| r.intent == Intent::CompleteElement && r.key == scope_key);
            if !already {
                ctx.command(src, scope_key, Intent::CompleteElement, RecordValue::ProcessInstance(value));
            }
        }
        LifecycleState::Activated => {
            if let Some(inst) = Instance::load(ctx.state, scope_key) {
                check_inclusive_joins(ctx, src, &inst, scope_key);
            }
        }
        _ => {}
    }
}

/// Ends a terminating element whose children are gone, and tells its scope.
pub(crate) fn finish_termination(ctx: &mut Ctx, src: &Record, key: i64) {
    let Some(inst) = Instance::load(ctx.state, key) else {
        return;
    };
    if inst.value.flow_scope_key < 0 {
        answer_terminated_awaiting(ctx, &inst);
    }
    let trigger = crate::bpmn::events::pending_trigger(ctx.state, key);
    let start_key = crate::bpmn::start_events::start_key(ctx, &inst);
    transition(ctx, src, &inst, Intent::ElementTerminated);
    if let Some(start_key) = start_key {
        crate::bpmn::start_events::instance_ended(ctx, src, &start_key);
    }
    if let Some(trigger) = trigger {
        // Interrupted by a boundary event: it takes over in the flow scope.
        crate::bpmn::events::activate_triggered(ctx, src, &inst, &trigger);
    }
    after_child_finished(ctx, src, inst.value.owner_key());
}

/// Raises an incident on the element: it stays where it is until an operator resolves it.
pub(crate) fn raise_incident(ctx: &mut Ctx, src: &Record, inst: &Instance, failure: Failure, job_key: i64) {
    let incident = IncidentRecord {
        error_type: failure.error_type,
        error_message: failure.message,
        bpmn_process_id: inst.value.bpmn_process_id.clone(),
        process_definition_key: inst.value.process_definition_key,
        process_instance_key: inst.value.process_instance_key,
        element_id: inst.value.element_id.clone(),
        element_instance_key: inst.key,
        job_key,
        variable_scope_key: inst.key,
    };
    let key = ctx.next_key();
    ctx.event(src, key, Intent::Created, RecordValue::Incident(Box::new(incident)));
}

/// Resolves the incidents of an element that is going away.
pub(crate) fn resolve_incidents_of(ctx: &mut Ctx, src: &Record, element_instance_key: i64) {
    let incidents: Vec<(i64, IncidentRecord)> = ctx
        .state
        .incidents
        .iter()
        .filter(|(_, incident)| incident.element_instance_key == element_instance_key)
        .map(|(key, incident)| (*key, incident.clone()))
        .collect();
    for (key, incident) in incidents {
        ctx.event(src, key, Intent::Resolved, RecordValue::Incident(Box::new(incident)));
    }
}

/// Create-with-result: answer with the root variables before the instance's state is dropped.
pub(crate) fn answer_awaiting_result(ctx: &mut Ctx, inst: &Instance) {
    let Some(awaiting) = ctx.state.awaiting_results.get(&inst.key) else {
        return;
    };
    let request_id = awaiting.request_id;
    let all = variables::local_variables(ctx.state, inst.key);
    let variables = if awaiting.fetch_variables.is_empty() {
        all
    } else {
        all.into_iter().filter(|(name, _)| awaiting.fetch_variables.iter().any(|f| f == name)).collect()
    };
    let record = Record {
        position: 0,
        source_position: 0,
        key: inst.key,
        timestamp_ms: ctx.now,
        record_type: RecordType::Event,
        intent: Intent::Completed,
        value: RecordValue::ProcessInstanceResult(ProcessInstanceResultRecord {
            bpmn_process_id: inst.value.bpmn_process_id.clone(),
            version: inst.value.version,
            process_definition_key: inst.value.process_definition_key,
            process_instance_key: inst.key,
            variables,
        }),
        request_id: None,
        rejection: None,
    };
    ctx.respond_with(request_id, record);
}

fn answer_terminated_awaiting(ctx: &mut Ctx, inst: &Instance) {
    let Some(awaiting) = ctx.state.awaiting_results.get(&inst.key) else {
        return;
    };
    let request_id = awaiting.request_id;
    let record = Record {
        position: 0,
        source_position: 0,
        key: inst.key,
        timestamp_ms: ctx.now,
        record_type: RecordType::CommandRejection,
        intent: Intent::Create,
        value: RecordValue::ProcessInstance(inst.value.clone()),
        request_id: None,
        rejection: Some(Box::new(Rejection {
            rejection_type: RejectionType::InvalidState,
            reason: format!("Expected process instance with key '{}' to complete, but it was terminated", inst.key),
        })),
    };
    ctx.respond_with(request_id, record);
}
