//! Name handling around dsntk's parser.
//!
//! Two separate jobs live here:
//!
//! * [`lexer_hints`]: dsntk follows the DMN rule that a name may contain spaces and operator
//!   characters (`order total`, `a-b`), so its lexer swallows `x + 1` as the single name `x+1`
//!   unless `x` is already known to be in scope. Zeebe's FEEL dialect has no such names, so we
//!   pre-scan the source and declare the identifier-like words the lexer could run on past (and
//!   every multi-word function name such as `string join`) as known; the lexer then splits at
//!   the longest known prefix, which gives Camunda's tokenisation without knowing the process
//!   variables at parse time.
//! * [`Collector`]: walks the AST to find which root variables an expression can read (so
//!   evaluation only converts those) and which functions it calls (so the host can bind them).

use std::collections::BTreeSet;

use dsntk_feel::Name;
use dsntk_feel_parser::AstNode;

/// Words dsntk's lexer recognises as keywords at the start of a token; they never start a name.
const KEYWORDS: &[&str] = &[
    "and",
    "between",
    "else",
    "every",
    "external",
    "false",
    "for",
    "function",
    "if",
    "in",
    "instance",
    "not",
    "null",
    "of",
    "or",
    "return",
    "satisfies",
    "some",
    "then",
    "true",
];

/// Built-in function names containing a keyword; splitting a run of words at keywords would
/// tear them apart.
const KEYWORD_FUNCTION_NAMES: &[&[&str]] = &[
    &["years", "and", "months", "duration"],
    &["date", "and", "time"],
    &["index", "of"],
    &["day", "of", "week"],
    &["day", "of", "year"],
    &["month", "of", "year"],
    &["week", "of", "year"],
    &["get", "or", "else"],
];

/// Names to declare in the parsing scope so dsntk's lexer splits names the way Camunda does.
pub(crate) fn lexer_hints(source: &str) -> BTreeSet<String> {
    let chars: Vec<char> = source.chars().collect();
    let mut hints = BTreeSet::new();
    let mut run: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_name_start_char(c) {
            let start = i;
            while i < chars.len() && is_name_part_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // dsntk's lexer scans the known names once per name token, so parsing is
            // quadratic in their number: only declare a word where the lexer would otherwise
            // run on past it (into another word or an operator character it allows in names).
            // Words after `instance of` are type names (`date and time`) and must stay whole.
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            if next.is_some_and(|&c| is_name_part_char(c) || is_additional_name_symbol(c))
                && !KEYWORDS.contains(&word.as_str())
                && !run.iter().any(|w| w == "of")
            {
                hints.insert(word.clone());
            }
            run.push(word);
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        finish_run(&mut run, c == '(', &mut hints);
        i = match c {
            '"' => skip_string(&chars, i),
            '/' if chars.get(i + 1) == Some(&'/') => skip_until(&chars, i + 2, "\n"),
            '/' if chars.get(i + 1) == Some(&'*') => skip_until(&chars, i + 2, "*/"),
            _ => i + 1,
        };
    }
    hints
}

/// A run of words separated only by whitespace and followed by `(` ends in a function name,
/// possibly of several words (`string join`), which must be declared whole.
fn finish_run(run: &mut Vec<String>, before_paren: bool, hints: &mut BTreeSet<String>) {
    if before_paren && run.len() > 1 {
        let words: Vec<&str> = run.iter().map(String::as_str).collect();
        let keyword_name = KEYWORD_FUNCTION_NAMES.iter().find(|name| words.ends_with(name));
        let function_name: &[&str] = match keyword_name {
            Some(name) => name,
            None => {
                let start = words.iter().rposition(|w| KEYWORDS.contains(w)).map_or(0, |p| p + 1);
                &words[start..]
            }
        };
        if function_name.len() > 1 {
            hints.insert(function_name.join(" "));
        }
    }
    run.clear();
}

/// Mirrors dsntk's lexer (FEEL grammar rule 30).
fn is_additional_name_symbol(ch: char) -> bool {
    matches!(ch, '.' | '/' | '-' | '\'' | '+' | '*')
}

/// Returns the index just past the string literal starting at `start`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// Returns the index just past the first `end` at or after `start` (or the end of input).
fn skip_until(chars: &[char], start: usize, end: &str) -> usize {
    let end: Vec<char> = end.chars().collect();
    let mut i = start;
    while i < chars.len() {
        if chars[i..].starts_with(&end) {
            return i + end.len();
        }
        i += 1;
    }
    chars.len()
}

/// Mirrors dsntk's lexer (FEEL grammar rule 28).
fn is_name_start_char(ch: char) -> bool {
    matches!(ch, '?' | 'A'..='Z' | '_' | 'a'..='z' |
        '\u{00C0}'..='\u{00D6}' | '\u{00D8}'..='\u{00F6}' | '\u{00F8}'..='\u{02FF}' |
        '\u{0370}'..='\u{037D}' | '\u{037F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' |
        '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' |
        '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// Mirrors dsntk's lexer (FEEL grammar rule 29).
fn is_name_part_char(ch: char) -> bool {
    is_name_start_char(ch)
        || ch.is_ascii_digit()
        || matches!(ch, '\u{00B7}' | '\u{0300}'..='\u{036F}' | '\u{203F}'..='\u{2040}')
}

/// A call of a free (not locally bound) function name, as written.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) name: Name,
    /// Argument names for a call with named arguments, in the order written.
    pub(crate) named: Option<Vec<Name>>,
    pub(crate) arity: usize,
}

/// Walks the AST for the names an expression reads from its environment and, in a second pass,
/// renames call sites so each can be bound to a function of the host's choosing.
#[derive(Default)]
pub(crate) struct Collector {
    /// Names bound inside the expression at the current point of the walk.
    bound: Vec<Name>,
    /// Free names used as values: root variables (a superset is fine).
    pub(crate) variables: BTreeSet<Name>,
    /// Calls of free function names, in walk order.
    pub(crate) calls: Vec<Call>,
    /// In the renaming pass: the new name of each call in `calls`, if any.
    renames: Vec<Option<Name>>,
    /// An `external` function body: dsntk would call out over HTTP to evaluate it.
    pub(crate) external: bool,
}

impl Collector {
    pub(crate) fn collect(node: &mut AstNode) -> Collector {
        let mut collector = Collector::default();
        collector.visit(node);
        collector
    }

    /// Renames the `i`-th free call to `renames[i]`; `renames` is indexed like
    /// [`Collector::calls`], which a second walk over the unchanged tree visits in the same order.
    pub(crate) fn rename_calls(node: &mut AstNode, renames: Vec<Option<Name>>) {
        let mut collector = Collector { renames, ..Collector::default() };
        collector.visit(node);
    }

    fn is_bound(&self, name: &Name) -> bool {
        self.bound.contains(name)
    }

    fn use_name(&mut self, name: &Name) {
        if !self.is_bound(name) {
            self.variables.insert(name.clone());
        }
    }

    fn bind(&mut self, node: &AstNode) {
        match node {
            AstNode::Name(name) | AstNode::ParameterName(name) | AstNode::ContextEntryKey(name) => {
                self.bound.push(name.clone());
            }
            AstNode::FormalParameter(name, _) => self.bind(name),
            _ => {}
        }
    }

    fn visit_all(&mut self, nodes: &mut [AstNode]) {
        for node in nodes {
            self.visit(node);
        }
    }

    fn visit_call(&mut self, function: &mut AstNode, arguments: &AstNode) {
        let name = match function {
            AstNode::Name(name) if !self.is_bound(name) => name,
            AstNode::Name(_) => return,
            other => return self.visit(other),
        };
        let (arity, named) = match arguments {
            AstNode::NamedParameters(items) => {
                let names = items
                    .iter()
                    .filter_map(|item| match item {
                        AstNode::NamedParameter(parameter, _) => match parameter.as_ref() {
                            AstNode::ParameterName(name) => Some(name.clone()),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect::<Vec<_>>();
                (names.len(), Some(names))
            }
            AstNode::PositionalParameters(items) => (items.len(), None),
            _ => (0, None),
        };
        let index = self.calls.len();
        self.calls.push(Call { name: name.clone(), named, arity });
        if let Some(Some(new_name)) = self.renames.get(index) {
            *name = new_name.clone();
        }
    }

    fn visit(&mut self, node: &mut AstNode) {
        match node {
            AstNode::Name(name) => {
                let name = name.clone();
                self.use_name(&name);
            }
            AstNode::QualifiedName(segments) => {
                if let Some(AstNode::QualifiedNameSegment(name)) = segments.first() {
                    let name = name.clone();
                    self.use_name(&name);
                }
            }
            // Only the root of a path is looked up in the environment.
            AstNode::Path(lhs, _) => self.visit(lhs),
            AstNode::FunctionBody(body, true) => {
                self.external = true;
                self.visit(body);
            }
            AstNode::FunctionInvocation(function, arguments) => {
                self.visit_call(function, arguments);
                self.visit(arguments);
            }
            AstNode::NamedParameter(_, value) => self.visit(value),
            AstNode::For(contexts, body) => {
                let mark = self.bound.len();
                if let AstNode::IterationContexts(items) = contexts.as_mut() {
                    for item in items {
                        match item {
                            AstNode::IterationContextSingle(name, source) => {
                                self.visit(source);
                                self.bind(name);
                            }
                            AstNode::IterationContextInterval(name, start, end) => {
                                self.visit(start);
                                self.visit(end);
                                self.bind(name);
                            }
                            other => self.visit(other),
                        }
                    }
                } else {
                    self.visit(contexts);
                }
                self.bound.push(Name::from("partial"));
                self.visit(body);
                self.bound.truncate(mark);
            }
            AstNode::Some(contexts, satisfies) | AstNode::Every(contexts, satisfies) => {
                let mark = self.bound.len();
                if let AstNode::QuantifiedContexts(items) = contexts.as_mut() {
                    for item in items {
                        if let AstNode::QuantifiedContext(name, source) = item {
                            self.visit(source);
                            self.bind(name);
                        } else {
                            self.visit(item);
                        }
                    }
                } else {
                    self.visit(contexts);
                }
                self.visit(satisfies);
                self.bound.truncate(mark);
            }
            AstNode::FunctionDefinition(parameters, body) => {
                let mark = self.bound.len();
                if let AstNode::FormalParameters(items) = parameters.as_ref() {
                    for item in items {
                        self.bind(item);
                    }
                }
                self.visit(body);
                self.bound.truncate(mark);
            }
            AstNode::Filter(list, predicate) => {
                self.visit(list);
                let mark = self.bound.len();
                self.bound.push(Name::from("item"));
                self.visit(predicate);
                self.bound.truncate(mark);
            }
            // Later entries of a context literal see the earlier ones.
            AstNode::Context(entries) => {
                let mark = self.bound.len();
                for entry in entries {
                    if let AstNode::ContextEntry(key, value) = entry {
                        self.visit(value);
                        self.bind(key);
                    } else {
                        self.visit(entry);
                    }
                }
                self.bound.truncate(mark);
            }
            AstNode::ContextEntry(_, value) => self.visit(value),
            AstNode::InstanceOf(value, _) => self.visit(value),

            AstNode::At(_)
            | AstNode::Boolean(_)
            | AstNode::ContextEntryKey(_)
            | AstNode::ContextType(_)
            | AstNode::ContextTypeEntry(_, _)
            | AstNode::ContextTypeEntryKey(_)
            | AstNode::FeelType(_)
            | AstNode::FormalParameter(_, _)
            | AstNode::FormalParameters(_)
            | AstNode::FunctionType(_, _)
            | AstNode::Irrelevant
            | AstNode::ListType(_)
            | AstNode::Null
            | AstNode::Numeric(..)
            | AstNode::ParameterName(_)
            | AstNode::ParameterTypes(_)
            | AstNode::QualifiedNameSegment(_)
            | AstNode::RangeType(_)
            | AstNode::String(_) => {}

            AstNode::Add(a, b)
            | AstNode::And(a, b)
            | AstNode::Div(a, b)
            | AstNode::Eq(a, b)
            | AstNode::Exp(a, b)
            | AstNode::Ge(a, b)
            | AstNode::Gt(a, b)
            | AstNode::In(a, b)
            | AstNode::IterationContextSingle(a, b)
            | AstNode::Le(a, b)
            | AstNode::Lt(a, b)
            | AstNode::Mul(a, b)
            | AstNode::Nq(a, b)
            | AstNode::Or(a, b)
            | AstNode::Out(a, b)
            | AstNode::QuantifiedContext(a, b)
            | AstNode::Range(a, b)
            | AstNode::Sub(a, b) => {
                self.visit(a);
                self.visit(b);
            }
            AstNode::Between(a, b, c) | AstNode::If(a, b, c) | AstNode::IterationContextInterval(a, b, c) => {
                self.visit(a);
                self.visit(b);
                self.visit(c);
            }
            AstNode::EvaluatedExpression(a)
            | AstNode::FunctionBody(a, _)
            | AstNode::IntervalEnd(a, _)
            | AstNode::IntervalStart(a, _)
            | AstNode::Neg(a)
            | AstNode::Satisfies(a)
            | AstNode::UnaryGe(a)
            | AstNode::UnaryGt(a)
            | AstNode::UnaryLe(a)
            | AstNode::UnaryLt(a)
            | AstNode::UnaryEq(a)
            | AstNode::UnaryNe(a) => self.visit(a),
            AstNode::CommaList(items)
            | AstNode::ExpressionList(items)
            | AstNode::IterationContexts(items)
            | AstNode::List(items)
            | AstNode::NamedParameters(items)
            | AstNode::NegatedList(items)
            | AstNode::PositionalParameters(items)
            | AstNode::QuantifiedContexts(items) => self.visit_all(items),
        }
    }
}

/// Whether the tree is deeper than `max` levels, found without recursion so that the answer is
/// safe to compute for any input.
pub(crate) fn deeper_than(ast: &mut AstNode, max: usize) -> bool {
    let mut stack = vec![(ast, 1_usize)];
    while let Some((node, depth)) = stack.pop() {
        if depth > max {
            return true;
        }
        stack.extend(children_mut(node).into_iter().map(|child| (child, depth + 1)));
    }
    false
}

/// Drops a tree of any depth; dropping it the ordinary way recurses once per level.
pub(crate) fn dismantle(ast: AstNode) {
    let mut stack = vec![ast];
    while let Some(mut node) = stack.pop() {
        for child in children_mut(&mut node) {
            stack.push(std::mem::replace(child, AstNode::Null));
        }
    }
}

fn children_mut(node: &mut AstNode) -> Vec<&mut AstNode> {
    match node {
        AstNode::At(_)
        | AstNode::Boolean(_)
        | AstNode::ContextEntryKey(_)
        | AstNode::ContextTypeEntryKey(_)
        | AstNode::FeelType(_)
        | AstNode::Irrelevant
        | AstNode::Name(_)
        | AstNode::Null
        | AstNode::Numeric(..)
        | AstNode::ParameterName(_)
        | AstNode::QualifiedNameSegment(_)
        | AstNode::String(_) => vec![],
        AstNode::Add(a, b)
        | AstNode::And(a, b)
        | AstNode::ContextEntry(a, b)
        | AstNode::ContextTypeEntry(a, b)
        | AstNode::Div(a, b)
        | AstNode::Eq(a, b)
        | AstNode::Every(a, b)
        | AstNode::Exp(a, b)
        | AstNode::Filter(a, b)
        | AstNode::For(a, b)
        | AstNode::FormalParameter(a, b)
        | AstNode::FunctionDefinition(a, b)
        | AstNode::FunctionInvocation(a, b)
        | AstNode::FunctionType(a, b)
        | AstNode::Ge(a, b)
        | AstNode::Gt(a, b)
        | AstNode::In(a, b)
        | AstNode::InstanceOf(a, b)
        | AstNode::IterationContextSingle(a, b)
        | AstNode::Le(a, b)
        | AstNode::Lt(a, b)
        | AstNode::Mul(a, b)
        | AstNode::NamedParameter(a, b)
        | AstNode::Nq(a, b)
        | AstNode::Or(a, b)
        | AstNode::Out(a, b)
        | AstNode::Path(a, b)
        | AstNode::QuantifiedContext(a, b)
        | AstNode::Range(a, b)
        | AstNode::Some(a, b)
        | AstNode::Sub(a, b) => vec![a.as_mut(), b.as_mut()],
        AstNode::Between(a, b, c) | AstNode::If(a, b, c) | AstNode::IterationContextInterval(a, b, c) => {
            vec![a.as_mut(), b.as_mut(), c.as_mut()]
        }
        AstNode::EvaluatedExpression(a)
        | AstNode::FunctionBody(a, _)
        | AstNode::IntervalEnd(a, _)
        | AstNode::IntervalStart(a, _)
        | AstNode::ListType(a)
        | AstNode::Neg(a)
        | AstNode::RangeType(a)
        | AstNode::Satisfies(a)
        | AstNode::UnaryGe(a)
        | AstNode::UnaryGt(a)
        | AstNode::UnaryLe(a)
        | AstNode::UnaryLt(a)
        | AstNode::UnaryEq(a)
        | AstNode::UnaryNe(a) => vec![a.as_mut()],
        AstNode::CommaList(items)
        | AstNode::Context(items)
        | AstNode::ContextType(items)
        | AstNode::ExpressionList(items)
        | AstNode::FormalParameters(items)
        | AstNode::IterationContexts(items)
        | AstNode::List(items)
        | AstNode::NamedParameters(items)
        | AstNode::NegatedList(items)
        | AstNode::ParameterTypes(items)
        | AstNode::PositionalParameters(items)
        | AstNode::QualifiedName(items)
        | AstNode::QuantifiedContexts(items) => items.iter_mut().collect(),
    }
}

/// Operands larger than this are left alone by [`rewrite_null_equality`], which copies them.
const NULL_EQUALITY_OPERAND_NODES_MAX: usize = 200;

fn node_count(node: &mut AstNode) -> usize {
    1 + children_mut(node).into_iter().map(node_count).sum::<usize>()
}

/// FEEL defines `=` and `!=` for null: `null = null` is true and `null = 3` is false (Zeebe's
/// FEEL engine follows this, so `= x = 3` with no `x` takes the default flow). dsntk answers null
/// instead, so each equality becomes an `if` that handles the null cases first.
/// Recursion is bounded: the caller has already refused trees deeper than `MAX_DEPTH`.
pub(crate) fn rewrite_null_equality(node: &mut AstNode) {
    for child in children_mut(node) {
        rewrite_null_equality(child);
    }
    let negate = match node {
        AstNode::Eq(..) => false,
        AstNode::Nq(..) => true,
        _ => return,
    };
    let (AstNode::Eq(a, b) | AstNode::Nq(a, b)) = node else {
        return;
    };
    if node_count(a) + node_count(b) > NULL_EQUALITY_OPERAND_NODES_MAX {
        return;
    }
    let is_null = |x: &AstNode| AstNode::Eq(Box::new(x.clone()), Box::new(AstNode::Null));
    let either_null = AstNode::Or(Box::new(is_null(a)), Box::new(is_null(b)));
    let both_null = AstNode::And(Box::new(is_null(a)), Box::new(is_null(b)));
    let when_null = if negate {
        AstNode::If(Box::new(both_null), Box::new(AstNode::Boolean(false)), Box::new(AstNode::Boolean(true)))
    } else {
        both_null
    };
    let original = std::mem::replace(node, AstNode::Null);
    *node = AstNode::If(Box::new(either_null), Box::new(when_null), Box::new(original));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints(source: &str) -> Vec<String> {
        lexer_hints(source).into_iter().collect()
    }

    #[test]
    fn hints_only_where_the_lexer_would_run_on() {
        assert_eq!(hints(r#"if x > 1 then "a b + c" else y // z"#), ["y"]);
        assert_eq!(hints("a /* b */ + c"), ["a"]);
        assert_eq!(hints("order.total * 1.19 > limit"), ["order", "total"]);
        assert_eq!(hints("a and b"), ["a"]);
    }

    #[test]
    fn hints_declare_multi_word_function_names() {
        assert_eq!(hints("x + string join(l, \",\")"), ["string", "string join", "x"]);
        assert_eq!(hints("y and upper case(x)"), ["upper", "upper case", "y"]);
        assert_eq!(hints("date and time(s)"), ["date", "date and time"]);
        assert_eq!(hints("index of(l, 1)"), ["index", "index of"]);
    }

    #[test]
    fn hints_leave_type_names_alone() {
        assert_eq!(hints("x instance of string"), ["x"]);
        assert_eq!(hints("x instance of date and time"), ["x"]);
    }
}
