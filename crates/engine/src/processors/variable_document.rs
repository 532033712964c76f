//! Setting variables from outside: into one scope (local) or by Zeebe's propagation rule.

use crate::bpmn::variables;
use crate::engine::Ctx;
use crate::record::*;

pub(crate) fn update(ctx: &mut Ctx, command: &Record, value: &VariableDocumentRecord) {
    let Some(owner) = ctx.state.element_instances.get(&value.scope_key).map(|e| e.value.clone()) else {
        return ctx.reject(
            command,
            RejectionType::NotFound,
            format!(
                "Expected to update variables for element with key '{}', but no such element was found",
                value.scope_key
            ),
        );
    };
    let key = ctx.next_key();
    let index = ctx.event(command, key, Intent::Updated, RecordValue::VariableDocument(value.clone()));
    ctx.respond(command, index);
    match value.update_semantics {
        VariableUpdateSemantic::Local => {
            variables::merge_local(ctx, command, &owner, value.scope_key, value.variables.clone())
        }
        VariableUpdateSemantic::Propagate => {
            variables::merge_propagate(ctx, command, &owner, value.scope_key, value.variables.clone())
        }
    }
}
