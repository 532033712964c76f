//! Timers of timer catch events and timer boundary events (`timeDuration` only): created when
//! the element activates (due = now + duration), triggered by the scheduler's `TIMER TRIGGER`,
//! canceled when the element ends first.

use baton_model::{ElementIdx, ElementKind, EventDefinition, Text, parse_duration_ms};

use crate::bpmn::behavior::{Failure, Instance};
use crate::bpmn::variables;
use crate::engine::Ctx;
use crate::record::*;

fn timer_events(inst: &Instance) -> Vec<ElementIdx> {
    let element = inst.element();
    let is_timer = |idx: ElementIdx| matches!(inst.graph.element(idx).event, Some(EventDefinition::Timer { .. }));
    let mut wanted = Vec::new();
    if element.kind != ElementKind::BoundaryEvent && is_timer(element.idx) && !inst.is_multi_instance_body() {
        wanted.push(element.idx);
    }
    if inst.is_multi_instance_inner() {
        return wanted;
    }
    wanted.extend(element.boundary_events.iter().copied().filter(|&b| is_timer(b)));
    wanted
}

fn duration_ms(ctx: &Ctx, inst: &Instance, duration: &Text) -> Result<i64, Failure> {
    let text = match duration {
        Text::Static(text) => text.clone(),
        Text::Expression(expression) => {
            match variables::evaluate(ctx.state, inst.key, expression, ctx.now).map_err(Failure::extract_value)? {
                serde_json::Value::String(text) => text,
                other => {
                    return Err(Failure::extract_value(format!(
                        "Expected result of the expression '{}' to be 'DURATION', but was '{}'",
                        expression.source(),
                        variables::type_name(&other)
                    )));
                }
            }
        }
    };
    parse_duration_ms(&text).map_err(|message| Failure::extract_value(format!("Invalid timer duration: {message}")))
}

/// Creates the timers of an activating element. Every duration is evaluated first, so a failure
/// (an incident) writes nothing; timers already created (the step is re-run after an incident)
/// are kept.
pub(crate) fn open_timers(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
    let wanted = timer_events(inst);
    if wanted.is_empty() {
        return Ok(());
    }
    let open: Vec<std::sync::Arc<str>> = ctx
        .state
        .timers_of(inst.key)
        .iter()
        .filter_map(|key| ctx.state.timers.get(key))
        .map(|t| t.target_element_id.clone())
        .collect();
    let mut records = Vec::with_capacity(wanted.len());
    for idx in wanted {
        let element = inst.graph.element(idx);
        let Some(EventDefinition::Timer { duration }) = &element.event else {
            continue;
        };
        if open.contains(&element.id) {
            continue;
        }
        let due_date_ms = ctx.now.saturating_add(duration_ms(ctx, inst, duration)?);
        records.push(TimerRecord {
            element_instance_key: inst.key,
            process_instance_key: inst.value.process_instance_key,
            process_definition_key: inst.value.process_definition_key,
            bpmn_process_id: inst.value.bpmn_process_id.clone(),
            target_element_id: element.id.clone(),
            due_date_ms,
        });
    }
    for record in records {
        let key = ctx.next_key();
        ctx.event(src, key, Intent::Created, RecordValue::Timer(record));
    }
    Ok(())
}

/// Cancels the timers of an element that is completing or terminating.
pub(crate) fn cancel_timers(ctx: &mut Ctx, src: &Record, element_instance_key: i64) {
    for key in ctx.state.timers_of(element_instance_key) {
        if let Some(timer) = ctx.state.timers.get(&key).cloned() {
            ctx.event(src, key, Intent::Canceled, RecordValue::Timer(timer));
        }
    }
}
