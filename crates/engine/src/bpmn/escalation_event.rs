//! Escalation throw events (intermediate and end): throw an escalation outwards through the
//! scopes, like a BPMN error. Unlike an error, an escalation nobody catches is no incident, and
//! the thrower carries on — unless an interrupting boundary event caught it: then the catching
//! activity is terminated, and the thrower with it. An intermediate throw event continues on its
//! outgoing flows, an end event ends its path.

use baton_model::{EventDefinition, Text};

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::{events, variables};
use crate::engine::Ctx;
use crate::record::*;

pub(crate) struct EscalationEvent;

impl ElementBehavior for EscalationEvent {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let code = match &inst.element().event {
            Some(EventDefinition::Escalation { code: Some(Text::Static(code)) }) => code.clone(),
            Some(EventDefinition::Escalation { code: Some(Text::Expression(expression)) }) => {
                variables::evaluate_string(ctx.state, inst.key, expression, ctx.now).map_err(Failure::extract_value)?
            }
            _ => {
                return Err(Failure::unknown(format!(
                    "Expected escalation throw event '{}' to have an escalation code, but it has none",
                    inst.value.element_id
                )));
            }
        };
        let catch = events::find_escalation_catch(ctx.state, inst.key, &code);
        behavior::transition_to_activated(ctx, src, inst);
        let mut record = EscalationRecord {
            process_instance_key: inst.value.process_instance_key,
            element_id: inst.value.element_id.clone(),
            escalation_code: code,
            catch_element_id: "".into(),
        };
        let key = ctx.next_key();
        let interrupting = match catch {
            Some(catch) if catch.triggerable => {
                let boundary = catch.attached.graph.element(catch.boundary);
                record.catch_element_id = boundary.id.clone();
                events::trigger_boundary(ctx, src, &catch.attached, catch.boundary, Document::new());
                ctx.event(src, key, Intent::Escalated, RecordValue::Escalation(record));
                boundary.interrupting
            }
            // The catching activity is already being interrupted: the thrower goes with it when
            // the catch would have interrupted it anyway.
            Some(catch) => {
                ctx.event(src, key, Intent::NotEscalated, RecordValue::Escalation(record));
                catch.attached.graph.element(catch.boundary).interrupting
            }
            None => {
                ctx.event(src, key, Intent::NotEscalated, RecordValue::Escalation(record));
                false
            }
        };
        if !interrupting {
            behavior::complete_element(ctx, src, inst);
        }
        Ok(())
    }
}
