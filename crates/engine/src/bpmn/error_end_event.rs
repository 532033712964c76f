//! Error end event: throws a BPMN error. Caught → the catching activity is terminated (this
//! event with it) and its error boundary event activates; not caught → an incident.

use baton_model::{EventDefinition, Text};

use super::ElementBehavior;
use crate::bpmn::behavior::{self, Failure, Instance};
use crate::bpmn::{events, variables};
use crate::engine::Ctx;
use crate::record::{Document, ErrorType, Record};

pub(crate) struct ErrorEndEvent;

impl ElementBehavior for ErrorEndEvent {
    fn on_activate(ctx: &mut Ctx, src: &Record, inst: &Instance) -> Result<(), Failure> {
        let code = match &inst.element().event {
            Some(EventDefinition::Error { code: Some(Text::Static(code)) }) => code.clone(),
            Some(EventDefinition::Error { code: Some(Text::Expression(expression)) }) => {
                variables::evaluate_string(ctx.state, inst.key, expression, ctx.now).map_err(Failure::extract_value)?
            }
            _ => {
                return Err(Failure::unknown(format!(
                    "Expected error end event '{}' to have an error code, but it has none",
                    inst.value.element_id
                )));
            }
        };
        let Some(catch) = events::find_error_catch(ctx.state, inst.key, &code) else {
            return Err(Failure {
                error_type: ErrorType::UnhandledErrorEvent,
                message: format!(
                    "Expected to throw an error event with the code '{code}', but it was not caught. \
                     No error events are available in the scope."
                ),
            });
        };
        behavior::transition_to_activated(ctx, src, inst);
        events::trigger_boundary(ctx, src, &catch.attached, catch.boundary, Document::new());
        Ok(())
    }
}
