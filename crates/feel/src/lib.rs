//! FEEL expressions for Baton, behind one small facade.
//!
//! Every other crate sees only [`Expression`] (parsed once, evaluated many times) and JSON values.
//! The FEEL implementation (the dsntk crates) never leaks through this API, so it can be replaced
//! without touching the model or the engine.
//!
//! Architecture Invariant: evaluation is deterministic. `now()` and `today()` come from the
//! `now_ms` argument (the record's timestamp), never from the wall clock.
//!
//! Null semantics follow Zeebe 8: a sub-expression that cannot be evaluated (missing variable,
//! missing context entry, `"a" + 1`) yields `null`, and [`Expression::evaluate`] returns JSON
//! `null` for it. The failure only becomes an error where the caller needs a value of a specific
//! type ([`Expression::evaluate_bool`] and friends), or when the expression calls a function that
//! does not exist.

mod convert;
pub mod dmn;
mod host;
mod names;

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use dsntk_feel::bif::Bif;
use dsntk_feel::context::FeelContext;
use dsntk_feel::values::Value;
use dsntk_feel::{FeelScope, Name};

use crate::convert::{json_to_value, value_to_json, zeebe_type_name};
use crate::host::HostFunction;

/// Longest accepted expression text, in bytes. dsntk's lexer compares every name token with every
/// name known at that point, so parsing time grows with the square of the number of names; at
/// this length an adversarial expression still parses in about a second (release build).
pub const MAX_SOURCE_LEN: usize = 16 * 1024;

/// Deepest accepted nesting of an expression's syntax tree (a chain `a + b + c` nests one level
/// per operator).
pub const MAX_DEPTH: usize = 128;

/// Variables visible to an expression, looked up by (root) name.
pub trait Variables {
    fn get(&self, name: &str) -> Option<&serde_json::Value>;
}

impl Variables for serde_json::Map<String, serde_json::Value> {
    fn get(&self, name: &str) -> Option<&serde_json::Value> {
        serde_json::Map::get(self, name)
    }
}

impl Variables for std::collections::HashMap<String, serde_json::Value> {
    fn get(&self, name: &str) -> Option<&serde_json::Value> {
        std::collections::HashMap::get(self, name)
    }
}

impl Variables for std::collections::BTreeMap<String, serde_json::Value> {
    fn get(&self, name: &str) -> Option<&serde_json::Value> {
        std::collections::BTreeMap::get(self, name)
    }
}

/// A JSON document as variables: the entries of an object; anything else has none.
impl Variables for serde_json::Value {
    fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.as_object().and_then(|map| map.get(name))
    }
}

/// No variables at all, for expressions evaluated without a scope.
impl Variables for () {
    fn get(&self, _name: &str) -> Option<&serde_json::Value> {
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("failed to parse expression '{source_text}': {message}")]
    Parse { source_text: String, message: String },
    #[error("failed to evaluate expression '{source_text}': {message}")]
    Evaluate { source_text: String, message: String },
}

/// The result of [`Expression::evaluate_detailed`].
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub value: serde_json::Value,
    /// Why parts of the expression evaluated to null (missing variables, type errors), in the
    /// spirit of Zeebe's evaluation warnings. Empty when nothing was noticed.
    pub warnings: Vec<String>,
}

/// A parsed FEEL expression; cheap to clone and shareable across threads.
#[derive(Clone)]
pub struct Expression {
    inner: Arc<Inner>,
}

struct Inner {
    source: String,
    evaluator: dsntk_feel::Evaluator,
    /// Free root names the expression may read, sorted; a superset of what it really reads.
    variables: Vec<Name>,
    /// Functions to put in the context under the key their call sites were renamed to.
    functions: Vec<(Name, HostFunction)>,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Expression({:?})", self.inner.source)
    }
}

impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.inner.source == other.inner.source
    }
}

/// What one run of the evaluator produced, before it is judged by the caller's expectations.
struct Outcome<'a> {
    value: Value,
    missing: Vec<&'a str>,
    failure: Option<String>,
}

impl Expression {
    /// Parses `source`, the FEEL text without Zeebe's leading `=`.
    pub fn parse(source: &str) -> Result<Expression, Error> {
        let parse_error = |message: String| Error::Parse { source_text: source.to_string(), message };
        if source.trim().is_empty() {
            return Err(parse_error("the expression is empty".to_string()));
        }
        if source.len() > MAX_SOURCE_LEN {
            return Err(parse_error(format!("the expression is longer than {MAX_SOURCE_LEN} bytes")));
        }
        let mut hints = FeelContext::default();
        for name in names::lexer_hints(source) {
            hints.set_null(Name::from(name));
        }
        let scope = FeelScope::from(hints);
        // dsntk is not ours; a panic on odd input must not take the caller down with it.
        let parsed = catch_unwind(AssertUnwindSafe(|| dsntk_feel_parser::parse_expression(&scope, source, false)))
            .map_err(|_| parse_error("the FEEL parser failed unexpectedly".to_string()))?;
        let mut ast = parsed.map_err(|e| parse_error(strip_error_tag(&e.to_string())))?;
        // dsntk evaluates recursively, several stack frames per level; an expression nested
        // beyond this would overflow a 2 MiB thread stack (an abort, not a panic) in a debug build.
        if names::deeper_than(&mut ast, MAX_DEPTH) {
            names::dismantle(ast);
            return Err(parse_error(format!("the expression is nested more than {MAX_DEPTH} levels deep")));
        }

        // Bind call sites to host functions by renaming them to keys no FEEL source can spell
        // (`#`), so a variable `count` and a call `count(xs)` no longer collide in dsntk's single
        // namespace, and `number(x)` can mean something other than `number(x, g, d)`.
        names::rewrite_null_equality(&mut ast);
        let collected = names::Collector::collect(&mut ast);
        if collected.external {
            // dsntk evaluates external (Java/PMML) functions by calling a local HTTP service:
            // I/O inside the deterministic engine, and a way for a model to reach the network.
            names::dismantle(ast);
            return Err(parse_error("external functions are not supported".to_string()));
        }
        let mut functions: Vec<(Name, HostFunction)> = Vec::new();
        let renames = collected
            .calls
            .iter()
            .map(|call| {
                let (key, function) = bind_call(call, &collected.variables)?;
                if !functions.iter().any(|(k, _)| *k == key) {
                    functions.push((key.clone(), function));
                }
                Some(key)
            })
            .collect();
        names::Collector::rename_calls(&mut ast, renames);

        let evaluator = catch_unwind(AssertUnwindSafe(|| dsntk_feel_evaluator::prepare(&ast)))
            .map_err(|_| parse_error("the FEEL evaluator could not be prepared".to_string()))?;
        Ok(Expression {
            inner: Arc::new(Inner {
                source: source.to_string(),
                evaluator,
                variables: collected.variables.into_iter().collect(),
                functions,
            }),
        })
    }

    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Root variable names the expression may read (`a` for `a.b.c`), sorted. A superset: names
    /// that turn out to be context entries of filtered list items are included too.
    pub fn referenced_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.inner.variables.iter().map(Name::as_str)
    }

    /// Evaluates against `variables` at time `now_ms` (milliseconds since the Unix epoch).
    ///
    /// A FEEL null result (including one caused by a missing variable or a type error) is JSON
    /// `null`. Errors: the expression called an unknown function, or the result (a range, a
    /// function) has no JSON form.
    pub fn evaluate(&self, variables: &dyn Variables, now_ms: i64) -> Result<serde_json::Value, Error> {
        self.evaluate_detailed(variables, now_ms).map(|evaluation| evaluation.value)
    }

    /// Like [`Expression::evaluate`], also reporting why the result may be null.
    pub fn evaluate_detailed(&self, variables: &dyn Variables, now_ms: i64) -> Result<Evaluation, Error> {
        let outcome = self.run(variables, now_ms)?;
        let value = value_to_json(&outcome.value).map_err(|message| self.error(message))?;
        Ok(Evaluation { value, warnings: warnings(&outcome) })
    }

    /// Evaluates a condition; anything but a boolean (null included) is an error, as in Zeebe.
    pub fn evaluate_bool(&self, variables: &dyn Variables, now_ms: i64) -> Result<bool, Error> {
        let outcome = self.run(variables, now_ms)?;
        match outcome.value {
            Value::Boolean(b) => Ok(b),
            _ => Err(self.unexpected_type("BOOLEAN", &outcome)),
        }
    }

    /// Evaluates to a string (job types, message names, correlation keys).
    pub fn evaluate_string(&self, variables: &dyn Variables, now_ms: i64) -> Result<String, Error> {
        let outcome = self.run(variables, now_ms)?;
        match outcome.value {
            Value::String(s) => Ok(s),
            _ => Err(self.unexpected_type("STRING", &outcome)),
        }
    }

    /// Evaluates to an integer (retries, cardinalities). Like Zeebe, a fractional number is
    /// truncated toward zero; a number outside the `i64` range is an error.
    pub fn evaluate_i64(&self, variables: &dyn Variables, now_ms: i64) -> Result<i64, Error> {
        let outcome = self.run(variables, now_ms)?;
        match &outcome.value {
            Value::Number(n) => i64::try_from(n.trunc()).map_err(|_| {
                self.error(format!(
                    "Expected result of the expression '{}' to be a 'NUMBER' within the 64-bit integer range, but was '{n}'.",
                    self.inner.source
                ))
            }),
            _ => Err(self.unexpected_type("NUMBER", &outcome)),
        }
    }

    /// Evaluates to a list (multi-instance input collections, candidate lists).
    pub fn evaluate_list(&self, variables: &dyn Variables, now_ms: i64) -> Result<Vec<serde_json::Value>, Error> {
        let outcome = self.run(variables, now_ms)?;
        match &outcome.value {
            Value::List(items) => {
                items.iter().map(value_to_json).collect::<Result<_, _>>().map_err(|message| self.error(message))
            }
            _ => Err(self.unexpected_type("ARRAY", &outcome)),
        }
    }

    fn run<'a>(&'a self, variables: &dyn Variables, now_ms: i64) -> Result<Outcome<'a>, Error> {
        let inner = &*self.inner;
        let mut ctx = FeelContext::default();
        let mut missing = Vec::new();
        for name in &inner.variables {
            match variables.get(name.as_str()) {
                Some(json) => ctx.set_entry(name, json_to_value(json)),
                None => missing.push(name.as_str()),
            }
        }
        let mut unknown_called = Vec::new();
        for (key, function) in &inner.functions {
            ctx.set_entry(key, function.value(now_ms, &mut unknown_called));
        }

        let scope = FeelScope::from(ctx);
        let value = catch_unwind(AssertUnwindSafe(|| (inner.evaluator)(&scope)))
            .map_err(|_| self.error("the FEEL evaluator failed unexpectedly".to_string()))?;

        if let Some((name, _)) = unknown_called.iter().find(|(_, flag)| flag.load(Ordering::Relaxed)) {
            return Err(self.error(format!("no function found with name '{name}'")));
        }
        let failure = match &value {
            Value::Null(Some(message)) => Some(message.clone()),
            _ => None,
        };
        Ok(Outcome { value, missing, failure })
    }

    fn error(&self, message: String) -> Error {
        Error::Evaluate { source_text: self.inner.source.clone(), message }
    }

    fn unexpected_type(&self, expected: &str, outcome: &Outcome<'_>) -> Error {
        let mut message = format!(
            "Expected result of the expression '{}' to be '{expected}', but was '{}'.",
            self.inner.source,
            zeebe_type_name(&outcome.value)
        );
        let warnings = warnings(outcome);
        if !warnings.is_empty() {
            message.push_str(" The evaluation reported the following warnings: ");
            message.push_str(&warnings.join("; "));
        }
        self.error(message)
    }
}

fn warnings(outcome: &Outcome<'_>) -> Vec<String> {
    let mut warnings: Vec<String> =
        outcome.missing.iter().map(|name| format!("No variable found with name '{name}'")).collect();
    if let Some(failure) = &outcome.failure {
        // The missing-variable case is already reported above in Zeebe's words.
        let repeats_missing =
            outcome.missing.iter().any(|name| *failure == format!("context has no value for key '{name}'"));
        if !repeats_missing {
            warnings.push(failure.clone());
        }
    }
    warnings
}

/// Decides what a call of a free function name is bound to: `None` leaves it to dsntk's
/// built-ins, otherwise the renamed key and the function to inject under it.
fn bind_call(call: &names::Call, variables: &BTreeSet<Name>) -> Option<(Name, HostFunction)> {
    let name = call.name.as_str();
    let arity_key = || Name::from(format!("{name}#{}", call.arity));
    if let Some(function) = HostFunction::overload(name, call.arity) {
        return Some((arity_key(), function));
    }
    if let Ok(bif) = Bif::from_str(name) {
        return variables
            .contains(&call.name)
            .then(|| (Name::from(format!("{name}#builtin")), HostFunction::Builtin(bif)));
    }
    let (key, parameters) = match &call.named {
        Some(parameters) => {
            let list = parameters.iter().map(Name::as_str).collect::<Vec<_>>().join(",");
            (Name::from(format!("{name}#{list}")), parameters.clone())
        }
        None => (arity_key(), (0..call.arity).map(|i| Name::from(format!("argument {i}"))).collect()),
    };
    Some((key, HostFunction::Unknown { name: name.to_string(), parameters }))
}

/// dsntk prefixes messages with the error's origin (`<ParserError> ...`), which means nothing to
/// a process author.
fn strip_error_tag(message: &str) -> String {
    match message.strip_prefix('<').and_then(|rest| rest.split_once("> ")) {
        Some((_, rest)) => rest.to_string(),
        None => message.to_string(),
    }
}
