//! Timers of timer catch events, timer boundary events and timer start events: `timeDate`,
//! `timeDuration` or `timeCycle` (a repeating interval or cron), see [`Schedule`]. Created when
//! the element activates (or, for start events, when the process is deployed), triggered by the
//! scheduler's `TIMER TRIGGER`, canceled when the element ends first. A cycle creates its next
//! timer when one fires.

use baton_model::timer::{Schedule, TimerKind};
use baton_model::{Element, ElementIdx, ElementKind, EventDefinition, Text};

use crate::bpmn::behavior::{Failure, Instance};
use crate::bpmn::variables;
use crate::engine::Ctx;
use crate::record::*;

fn timer_events(inst: &Instance) -> Vec<ElementIdx> {
    let element = inst.element();
    let is_timer = |idx: ElementIdx| matches!(inst.graph.element(idx).event, Some(EventDefinition::Timer { .. }));
    let mut wanted = Vec::new();
    let own = !matches!(element.kind, ElementKind::BoundaryEvent | ElementKind::StartEvent);
    if own && is_timer(element.idx) && !inst.is_multi_instance_body() {
        wanted.push(element.idx);
    }
    wanted.extend(crate::bpmn::events::event_subprocess_starts(inst).into_iter().filter(|&s| is_timer(s)));
    if inst.is_multi_instance_inner() {
        return wanted;
    }
    wanted.extend(crate::bpmn::event_based_gateway::targets(inst).into_iter().filter(|&t| is_timer(t)));
    wanted.extend(element.boundary_events.iter().copied().filter(|&b| is_timer(b)));
    wanted
}

/// The schedule of a timer event, its FEEL text evaluated in `scope_key` (-1: no variables, for
/// start events).
pub(crate) fn schedule(ctx: &Ctx, scope_key: i64, element: &Element) -> Result<Schedule, Failure> {
    let Some(EventDefinition::Timer { kind, text }) = &element.event else {
        return Err(Failure::unknown(format!("Expected '{}' to be a timer event, but it is not", element.id)));
    };
    let text = match text {
        Text::Static(text) => text.clone(),
        Text::Expression(expression) => {
            match variables::evaluate(ctx.state, scope_key, expression, ctx.now).map_err(Failure::extract_value)? {
                serde_json::Value::String(text) => text,
                other => {
                    let expected = match kind {
                        TimerKind::Date => "DATE TIME",
                        TimerKind::Duration => "DURATION",
                        TimerKind::Cycle => "STRING",
                    };
                    return Err(Failure::extract_value(variables::unexpected(expression, expected, &other)));
                }
            }
        }
    };
    Schedule::parse(*kind, &text)
        .map_err(|message| Failure::extract_value(format!("Invalid timer of '{}': {message}", element.id)))
}

/// Firings a schedule has in all, as a timer record counts them (-1: unbounded).
pub(crate) fn repetitions(schedule: &Schedule) -> i32 {
    schedule.repetitions().map_or(-1, |n| i32::try_from(n).unwrap_or(i32::MAX))
}

/// The timer that follows a fired one of a cycle, or `None` when the cycle is done.
pub(crate) fn next_timer(ctx: &Ctx, fired: &TimerRecord, schedule: &Schedule) -> Option<TimerRecord> {
    let left = match fired.repetitions {
        n if n < 0 => None,
        n if n <= 1 => return None,
        n => Some((n - 1) as u32),
    };
    let due_date_ms = schedule.next_due(fired.due_date_ms, ctx.now, left)?;
    Some(TimerRecord { due_date_ms, repetitions: left.map_or(-1, |n| n as i32), ..fired.clone() })
}

/// Creates the timers of an activating element. Every schedule is evaluated first, so a failure
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
        if open.contains(&element.id) {
            continue;
        }
        let schedule = schedule(ctx, inst.key, element)?;
        let due_date_ms = schedule
            .first_due(ctx.now)
            .map_err(|message| Failure::extract_value(format!("Invalid timer of '{}': {message}", element.id)))?;
        records.push(TimerRecord {
            element_instance_key: inst.key,
            process_instance_key: inst.value.process_instance_key,
            process_definition_key: inst.value.process_definition_key,
            bpmn_process_id: inst.value.bpmn_process_id.clone(),
            target_element_id: element.id.clone(),
            due_date_ms,
            repetitions: repetitions(&schedule),
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
