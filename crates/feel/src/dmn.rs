//! DMN decisions (decision tables and literal expressions) as Zeebe evaluates them.
//!
//! dsntk's model evaluator follows the DMN spec strictly: a decision sees only the input data and
//! required decisions its `informationRequirement`s declare. Camunda Modeler writes neither, and
//! Zeebe evaluates a decision against the process variables. So each decision's logic is compiled
//! on its own and evaluated against a context built from the caller's variables, and required
//! decisions are evaluated here first, their outputs entering the context under the required
//! decision's id (Camunda's rule).
//!
//! Architecture Invariant: as for expressions, evaluation is deterministic: `now()` and `today()`
//! in a decision come from `now_ms`.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use dsntk_feel::context::FeelContext;
use dsntk_feel::values::Value;
use dsntk_feel::{FeelScope, Name};
use dsntk_model::{
    BuiltinAggregator, DecisionRule, DecisionTable, DecisionTableOrientation, DmnElement, ExpressionInstance,
    HitPolicy, NamedElement, OutputClause, OutputEntry,
};

use crate::convert::{json_to_value, value_to_json};
use crate::host::HostFunction;
use crate::{Expression, Variables, names};

/// Largest accepted DMN document, in bytes (the same bound as a BPMN resource).
pub const MAX_RESOURCE_LEN: usize = 16 * 1024 * 1024;

/// The decisions of one DMN resource (a decision requirements graph); cheap to clone.
#[derive(Clone)]
pub struct Decisions {
    inner: Arc<Graph>,
}

struct Graph {
    id: String,
    name: String,
    decisions: Vec<Decision>,
}

struct Decision {
    id: String,
    name: String,
    logic: Logic,
    /// Indexes of the decisions this one requires.
    required: Vec<usize>,
}

enum Logic {
    Table {
        evaluator: dsntk_feel::Evaluator,
        /// Every word of the table's FEEL texts: the variables it may read (a superset).
        names: BTreeSet<String>,
        /// The same table with every rule's output replaced by its number, collected: which
        /// rules match.
        matcher: dsntk_feel::Evaluator,
        /// Only the first matching rule counts (hit policy FIRST).
        first_only: bool,
        inputs: Vec<TableInput>,
        outputs: Vec<Labelled>,
        rules: Vec<TableRule>,
    },
    Literal(Expression),
}

/// An id and the name Zeebe reports with it.
#[derive(Clone, Default)]
struct Labelled {
    id: String,
    name: String,
}

struct TableInput {
    label: Labelled,
    /// `None` when the input expression does not parse as plain FEEL (the table still runs).
    expression: Option<Expression>,
}

struct TableRule {
    id: String,
    /// One per output; `None` for an empty entry.
    outputs: Vec<Option<Expression>>,
}

/// A rule that matched, with its outputs, as Zeebe lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchedRule {
    pub rule_id: String,
    /// From 1, in the table's order.
    pub rule_index: i32,
    pub evaluated_outputs: Vec<EvaluatedValue>,
}

/// An input or output of a decision table with its value.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatedValue {
    pub id: String,
    pub name: String,
    pub value: serde_json::Value,
}

impl Logic {
    fn decision_type(&self) -> &'static str {
        match self {
            Logic::Table { .. } => "DECISION_TABLE",
            Logic::Literal(_) => "LITERAL_EXPRESSION",
        }
    }
}

/// One decision evaluated on the way to the result (required decisions first, the called one
/// last), as Zeebe lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatedDecision {
    pub decision_id: String,
    pub decision_name: String,
    /// `DECISION_TABLE` or `LITERAL_EXPRESSION`.
    pub decision_type: &'static str,
    pub output: serde_json::Value,
    /// Decision tables: the value of each input.
    pub evaluated_inputs: Vec<EvaluatedValue>,
    /// Decision tables: the rules that decided the output.
    pub matched_rules: Vec<MatchedRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecisionEvaluation {
    /// The called decision's output.
    pub output: serde_json::Value,
    pub evaluated: Vec<EvaluatedDecision>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("failed to evaluate decision '{failed_decision_id}': {message}")]
pub struct DecisionFailure {
    /// The decision that failed: the called one or one it requires.
    pub failed_decision_id: String,
    pub message: String,
    /// The decisions evaluated successfully before the failure.
    pub evaluated: Vec<EvaluatedDecision>,
}

impl std::fmt::Debug for Decisions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.inner.decisions.iter().map(|d| d.id.as_str()).collect();
        write!(f, "Decisions({:?}, {ids:?})", self.inner.id)
    }
}

impl Decisions {
    /// Parses and validates a DMN document; the error lists every problem, each naming the
    /// decision it is about.
    pub fn parse(xml: &[u8]) -> Result<Decisions, String> {
        if xml.len() > MAX_RESOURCE_LEN {
            return Err(format!("the DMN resource is larger than {MAX_RESOURCE_LEN} bytes"));
        }
        let text = std::str::from_utf8(xml).map_err(|_| "the DMN resource is not UTF-8 text".to_string())?;
        let labels = TableLabels::read(text);
        // roxmltree (inside dsntk) refuses DTDs, so entity expansion cannot blow up here.
        let definitions = catch_unwind(AssertUnwindSafe(|| dsntk_model::parse(text)))
            .map_err(|_| "the DMN parser failed unexpectedly".to_string())?
            .map_err(|e| format!("the DMN resource is invalid: {}", strip_tag(&e.to_string())))?;

        let mut problems = Vec::new();
        let id = match definitions.opt_id() {
            Some(id) if !id.trim().is_empty() => id.clone(),
            _ => {
                problems.push("the DMN definitions must have an id (the decision requirements id)".to_string());
                String::new()
            }
        };
        let name = definitions.name().to_string();
        let dmn_decisions = definitions.decisions();
        if dmn_decisions.is_empty() {
            problems.push("the DMN resource contains no decision".to_string());
        }
        let mut ids: Vec<String> = Vec::new();
        for decision in &dmn_decisions {
            match decision.opt_id() {
                Some(id) if ids.contains(id) => problems.push(format!("duplicated decision id '{id}'")),
                Some(id) => ids.push(id.clone()),
                None => problems.push(format!("decision '{}' must have an id", decision.name())),
            }
        }
        let mut decisions = Vec::new();
        for decision in &dmn_decisions {
            let Some(decision_id) = decision.opt_id() else { continue };
            let mut required = Vec::new();
            for requirement in decision.information_requirements() {
                let Some(href) = requirement.required_decision() else { continue };
                match ids.iter().position(|id| id == href.id()) {
                    Some(index) => required.push(index),
                    None => problems.push(format!(
                        "decision '{decision_id}' requires decision '{}', which is not in this resource",
                        href.id()
                    )),
                }
            }
            let logic = match decision.decision_logic() {
                Some(ExpressionInstance::DecisionTable(table)) => {
                    compile_table(decision_id, table, labels.get(decision_id.as_str()))
                }
                Some(ExpressionInstance::LiteralExpression(literal)) => match literal.text() {
                    Some(text) if !text.trim().is_empty() => Expression::parse(text.trim())
                        .map(Logic::Literal)
                        .map_err(|e| format!("decision '{decision_id}': {e}")),
                    _ => Err(format!("decision '{decision_id}': the literal expression is empty")),
                },
                Some(_) => {
                    Err(format!("decision '{decision_id}': only decision tables and literal expressions are supported"))
                }
                None => Err(format!("decision '{decision_id}' has no decision logic")),
            };
            match logic {
                Ok(logic) => decisions.push(Decision {
                    id: decision_id.to_string(),
                    name: decision.name().to_string(),
                    logic,
                    required,
                }),
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty()
            && let Some(id) = first_cycle(&decisions)
        {
            problems.push(format!("decision '{id}' requires itself (a cycle of required decisions)"));
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(Decisions { inner: Arc::new(Graph { id, name, decisions }) })
    }

    /// The decision requirements id (the `definitions` id).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The decision requirements name (the `definitions` name).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// (id, name) of every decision, in document order.
    pub fn decisions(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.inner.decisions.iter().map(|d| (d.id.as_str(), d.name.as_str()))
    }

    pub fn contains(&self, decision_id: &str) -> bool {
        self.index_of(decision_id).is_some()
    }

    fn index_of(&self, decision_id: &str) -> Option<usize> {
        self.inner.decisions.iter().position(|d| d.id == decision_id)
    }

    /// Evaluates `decision_id` (after the decisions it requires) against `variables` at `now_ms`.
    ///
    /// Result shape as in Zeebe: one output column gives the value, several an object; hit
    /// policies that collect give a list; no matching rule gives `null`.
    pub fn evaluate(
        &self,
        decision_id: &str,
        variables: &dyn Variables,
        now_ms: i64,
    ) -> Result<DecisionEvaluation, DecisionFailure> {
        let Some(target) = self.index_of(decision_id) else {
            return Err(DecisionFailure {
                failed_decision_id: decision_id.to_string(),
                message: format!("no decision found for id '{decision_id}'"),
                evaluated: Vec::new(),
            });
        };
        let mut order = Vec::new();
        self.post_order(target, &mut order);
        let mut outputs = Document::new();
        let mut evaluated = Vec::new();
        for index in order {
            let decision = &self.inner.decisions[index];
            let scope = Layered { outputs: &outputs, variables };
            match evaluate_logic(&decision.logic, &scope, now_ms) {
                Ok((output, evaluated_inputs, matched_rules)) => {
                    evaluated.push(EvaluatedDecision {
                        decision_id: decision.id.clone(),
                        decision_name: decision.name.clone(),
                        decision_type: decision.logic.decision_type(),
                        output: output.clone(),
                        evaluated_inputs,
                        matched_rules,
                    });
                    outputs.insert(decision.id.clone(), output);
                }
                Err(message) => {
                    return Err(DecisionFailure { failed_decision_id: decision.id.clone(), message, evaluated });
                }
            }
        }
        let output = outputs.remove(decision_id).unwrap_or(serde_json::Value::Null);
        Ok(DecisionEvaluation { output, evaluated })
    }

    /// Required decisions before the decisions requiring them, each once.
    fn post_order(&self, index: usize, order: &mut Vec<usize>) {
        if order.contains(&index) {
            return;
        }
        for &required in &self.inner.decisions[index].required {
            self.post_order(required, order);
        }
        order.push(index);
    }
}

type Document = BTreeMap<String, serde_json::Value>;

/// Outputs of required decisions, then the caller's variables.
struct Layered<'a> {
    outputs: &'a Document,
    variables: &'a dyn Variables,
}

impl Variables for Layered<'_> {
    fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.outputs.get(name).or_else(|| self.variables.get(name))
    }
}

fn children<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    node.children().filter(|c| c.is_element() && c.tag_name().name() == name).collect()
}

/// Ids and names of the inputs, outputs and rules of every decision table, by decision id, read
/// from the XML (dsntk's model keeps only their texts). Each list is in document order, as
/// dsntk's are.
#[derive(Default)]
struct TableLabels {
    tables: BTreeMap<String, TableIds>,
}

#[derive(Default)]
struct TableIds {
    inputs: Vec<Labelled>,
    outputs: Vec<Labelled>,
    rules: Vec<String>,
}

impl TableLabels {
    fn read(text: &str) -> TableLabels {
        let mut labels = TableLabels::default();
        // dsntk parsed the same text already; a document it accepted is well-formed.
        let Ok(document) = roxmltree::Document::parse(text) else {
            return labels;
        };
        for decision in document.descendants().filter(|n| n.is_element() && n.tag_name().name() == "decision") {
            let (Some(id), Some(table)) =
                (decision.attribute("id"), children(decision, "decisionTable").first().copied())
            else {
                continue;
            };
            let attribute = |node: roxmltree::Node, name: &str| node.attribute(name).unwrap_or_default().to_string();
            let inputs = children(table, "input")
                .into_iter()
                .map(|input| {
                    let expression = children(input, "inputExpression")
                        .first()
                        .and_then(|e| children(*e, "text").first().and_then(|t| t.text()))
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    let name = input.attribute("label").map(str::to_string).unwrap_or(expression);
                    Labelled { id: attribute(input, "id"), name }
                })
                .collect();
            let outputs = children(table, "output")
                .into_iter()
                .map(|output| {
                    let name = output.attribute("name").or(output.attribute("label")).unwrap_or_default();
                    Labelled { id: attribute(output, "id"), name: name.to_string() }
                })
                .collect();
            let rules = children(table, "rule").into_iter().map(|rule| attribute(rule, "id")).collect();
            labels.tables.insert(id.to_string(), TableIds { inputs, outputs, rules });
        }
        labels
    }

    fn get(&self, decision_id: &str) -> Option<&TableIds> {
        self.tables.get(decision_id)
    }
}

fn compile_table(decision_id: &str, table: &DecisionTable, labels: Option<&TableIds>) -> Result<Logic, String> {
    let problem = |message: String| format!("decision '{decision_id}': {message}");
    let inputs = table.input_clauses().count();
    let outputs: Vec<_> = table.output_clauses().collect();
    if outputs.is_empty() {
        return Err(problem("the decision table has no output".to_string()));
    }
    if outputs.len() > 1 && outputs.iter().any(|o| o.name.as_deref().is_none_or(|n| n.trim().is_empty())) {
        return Err(problem("every output of a decision table with several outputs must have a name".to_string()));
    }
    let mut texts: Vec<&str> = Vec::new();
    for clause in table.input_clauses() {
        texts.push(&clause.input_expression);
        texts.extend(clause.allowed_input_values.as_deref());
    }
    for clause in &outputs {
        texts.extend(clause.allowed_output_values.as_deref());
        texts.extend(clause.default_output_entry.as_deref());
    }
    for (number, rule) in table.rules().enumerate() {
        // dsntk indexes the entries by column and would panic on a short row.
        if rule.input_entries.len() != inputs || rule.output_entries.len() != outputs.len() {
            return Err(problem(format!(
                "rule {} has {} input and {} output entries, but the table has {inputs} inputs and {} outputs",
                number + 1,
                rule.input_entries.len(),
                rule.output_entries.len(),
                outputs.len()
            )));
        }
        texts.extend(rule.input_entries.iter().map(|e| e.text.as_str()));
        texts.extend(rule.output_entries.iter().map(|e| e.text.as_str()));
    }
    let mut words = BTreeSet::new();
    let mut hints = FeelContext::default();
    for text in &texts {
        if text.len() > crate::MAX_SOURCE_LEN {
            return Err(problem(format!("an expression is longer than {} bytes", crate::MAX_SOURCE_LEN)));
        }
        words.extend(words_of(text));
        for hint in names::lexer_hints(text) {
            hints.set_null(Name::from(hint));
        }
    }
    // dsntk evaluates external (Java/PMML) functions by calling a local HTTP service.
    if words.contains("external") {
        return Err(problem("external functions are not supported".to_string()));
    }
    let scope = FeelScope::from(hints);
    let build = |table: &DecisionTable| {
        catch_unwind(AssertUnwindSafe(|| dsntk_model_evaluator::build_decision_table_evaluator(&scope, table)))
            .map_err(|_| problem("the decision table could not be compiled".to_string()))?
            .map_err(|e| problem(format!("invalid decision table: {}", strip_tag(&e.to_string()))))
    };
    let evaluator = build(table)?;
    let numbered = DecisionTable::new(
        None,
        table.input_clauses().cloned().collect(),
        vec![OutputClause { type_ref: None, name: None, allowed_output_values: None, default_output_entry: None }],
        Vec::new(),
        table
            .rules()
            .enumerate()
            .map(|(index, rule)| DecisionRule {
                input_entries: rule.input_entries.clone(),
                output_entries: vec![OutputEntry { text: (index + 1).to_string() }],
                annotation_entries: Vec::new(),
            })
            .collect(),
        HitPolicy::Collect(BuiltinAggregator::List),
        None,
        DecisionTableOrientation::RuleAsRow,
        None,
    );
    let matcher = build(&numbered)?;
    let none = TableIds::default();
    let TableIds { inputs: input_labels, outputs: output_labels, rules: rule_ids } = labels.unwrap_or(&none);
    let label = |labels: &[Labelled], index: usize| labels.get(index).cloned().unwrap_or_default();
    let inputs = table
        .input_clauses()
        .enumerate()
        .map(|(index, clause)| TableInput {
            label: label(input_labels, index),
            expression: Expression::parse(clause.input_expression.trim()).ok(),
        })
        .collect();
    let outputs = (0..outputs.len()).map(|index| label(output_labels, index)).collect();
    let rules = table
        .rules()
        .enumerate()
        .map(|(index, rule)| TableRule {
            id: rule_ids.get(index).cloned().unwrap_or_default(),
            outputs: rule
                .output_entries
                .iter()
                .map(|entry| match entry.text.trim() {
                    "" | "-" => None,
                    text => Expression::parse(text).ok(),
                })
                .collect(),
        })
        .collect();
    let first_only = matches!(table.hit_policy(), HitPolicy::First | HitPolicy::Unique);
    Ok(Logic::Table { evaluator, names: words, matcher, first_only, inputs, outputs, rules })
}

/// The inputs' values and the matched rules of a decision table that was just evaluated
/// successfully in `scope` (built from `variables`). An input or output that cannot be evaluated
/// on its own is reported as null rather than failing the evaluation.
fn explain(
    logic: &Logic,
    scope: &FeelScope,
    variables: &dyn Variables,
    now_ms: i64,
) -> (Vec<EvaluatedValue>, Vec<MatchedRule>) {
    let Logic::Table { matcher, first_only, inputs, outputs, rules, .. } = logic else {
        return (Vec::new(), Vec::new());
    };
    let value_of = |expression: Option<&Expression>| {
        expression.and_then(|e| e.evaluate(variables, now_ms).ok()).unwrap_or(serde_json::Value::Null)
    };
    let evaluated_inputs = inputs
        .iter()
        .map(|input| EvaluatedValue {
            id: input.label.id.clone(),
            name: input.label.name.clone(),
            value: value_of(input.expression.as_ref()),
        })
        .collect();
    let matched = match run_table(matcher, scope) {
        Ok(Value::List(items)) => items
            .iter()
            .filter_map(|item| value_to_json(item).ok()?.as_u64())
            .filter_map(|number| usize::try_from(number).ok())
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    let take = if *first_only { 1 } else { matched.len() };
    let matched_rules = matched
        .into_iter()
        .take(take)
        .filter_map(|number| {
            let rule = rules.get(number.checked_sub(1)?)?;
            let evaluated_outputs = outputs
                .iter()
                .zip(&rule.outputs)
                .map(|(output, expression)| EvaluatedValue {
                    id: output.id.clone(),
                    name: output.name.clone(),
                    value: value_of(expression.as_ref()),
                })
                .collect();
            Some(MatchedRule {
                rule_id: rule.id.clone(),
                rule_index: i32::try_from(number).unwrap_or(i32::MAX),
                evaluated_outputs,
            })
        })
        .collect();
    (evaluated_inputs, matched_rules)
}

/// The scope a table runs in: the variables its texts may read.
fn table_scope(names: &BTreeSet<String>, variables: &dyn Variables, now_ms: i64) -> FeelScope {
    let mut ctx = FeelContext::default();
    for name in names {
        if let Some(value) = variables.get(name) {
            ctx.set_entry(&Name::from(name.as_str()), json_to_value(value));
        }
    }
    // A context entry shadows dsntk's built-in, which reads the wall clock.
    for (name, function) in [("now", HostFunction::Now), ("today", HostFunction::Today)] {
        if names.contains(name) && variables.get(name).is_none() {
            ctx.set_entry(&Name::from(name), function.value(now_ms, &mut Vec::new()));
        }
    }
    FeelScope::from(ctx)
}

fn run_table(evaluator: &dsntk_feel::Evaluator, scope: &FeelScope) -> Result<Value, String> {
    catch_unwind(AssertUnwindSafe(|| evaluator(scope)))
        .map_err(|_| "the decision table evaluator failed unexpectedly".to_string())
}

/// The decision's output, and for a table its input values and matched rules.
type Evaluated = (serde_json::Value, Vec<EvaluatedValue>, Vec<MatchedRule>);

fn evaluate_logic(logic: &Logic, variables: &dyn Variables, now_ms: i64) -> Result<Evaluated, String> {
    match logic {
        Logic::Literal(expression) => {
            let output = expression.evaluate(variables, now_ms).map_err(|e| e.to_string())?;
            Ok((output, Vec::new(), Vec::new()))
        }
        Logic::Table { evaluator, names, .. } => {
            let scope = table_scope(names, variables, now_ms);
            let value = run_table(evaluator, &scope)?;
            if let Value::Null(Some(message)) = &value
                && let Some(reason) = table_failure(message)
            {
                return Err(reason);
            }
            let output = value_to_json(&value)?;
            let (evaluated_inputs, matched_rules) = explain(logic, &scope, variables, now_ms);
            Ok((output, evaluated_inputs, matched_rules))
        }
    }
}

/// dsntk reports a table that cannot produce a result as a null with an `err_` message; Zeebe
/// fails the evaluation instead.
fn table_failure(message: &str) -> Option<String> {
    Some(match message {
        "err_multiple_rules_match_in_unique_hit_policy" => {
            "several rules matched, but the hit policy UNIQUE allows only one".to_string()
        }
        "err_all_matching_rules_must_have_the_same_value" => {
            "the matched rules have different outputs, but the hit policy ANY requires equal outputs".to_string()
        }
        "err_aggregators_not_allowed_for_compound_outputs" => {
            "an aggregation (SUM, MIN, MAX) needs a table with one output".to_string()
        }
        other => other.strip_prefix("err_")?.replace('_', " "),
    })
}

/// Every FEEL name-like word outside string literals.
fn words_of(text: &str) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            let mut escaped = false;
            for c in chars.by_ref() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => break,
                    _ => escaped = false,
                }
            }
        } else if c.is_alphabetic() || c == '_' || c == '?' {
            let mut word = String::from(c);
            while let Some(&next) = chars.peek() {
                if !(next.is_alphanumeric() || next == '_') {
                    break;
                }
                word.push(next);
                chars.next();
            }
            words.insert(word);
        }
    }
    words
}

/// A decision that (transitively) requires itself, if any.
fn first_cycle(decisions: &[Decision]) -> Option<&str> {
    fn visit(decisions: &[Decision], index: usize, path: &mut Vec<usize>, done: &mut BTreeSet<usize>) -> bool {
        if done.contains(&index) {
            return false;
        }
        if path.contains(&index) {
            return true;
        }
        path.push(index);
        for &required in &decisions[index].required {
            if visit(decisions, required, path, done) {
                return true;
            }
        }
        path.pop();
        done.insert(index);
        false
    }
    let mut done = BTreeSet::new();
    (0..decisions.len()).find_map(|index| {
        let mut path = Vec::new();
        visit(decisions, index, &mut path, &mut done).then(|| decisions[index].id.as_str())
    })
}

fn strip_tag(message: &str) -> String {
    crate::strip_error_tag(message)
}
