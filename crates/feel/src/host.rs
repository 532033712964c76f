//! Functions the host injects into the evaluation context.
//!
//! dsntk resolves a name in the context before its built-ins, so a context entry holding a
//! function definition replaces a built-in of the same name. That is how `now()`/`today()` are
//! made deterministic (dsntk's own read the local wall clock) and how Camunda extensions that
//! dsntk lacks are added.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

use dsntk_feel::bif::Bif;
use dsntk_feel::closure::Closure;
use dsntk_feel::context::FeelContext;
use dsntk_feel::values::Value;
use dsntk_feel::{Evaluator, FeelNumber, FeelScope, FeelType, FunctionBody, Name};
use dsntk_feel_temporal::{FeelDate, FeelDateTime};

/// A function bound to a call site at parse time and injected into the context per evaluation.
#[derive(Debug, Clone)]
pub(crate) enum HostFunction {
    Now,
    Today,
    IsDefined,
    /// Camunda's one-argument `number(from)`; dsntk only has the three-argument DMN form.
    Number,
    /// Camunda's `get or else(value, default)`.
    GetOrElse,
    /// Camunda's `is empty(list)`.
    IsEmpty,
    /// Camunda's `trim(string)`, `is blank(string)`, `partition(list, size)`,
    /// `duplicate values(list)`, `to json(value)` and `from json(string)`.
    Trim,
    IsBlank,
    Partition,
    DuplicateValues,
    ToJson,
    FromJson,
    /// Camunda's `cycle(interval)` and `cycle(repetitions, interval)`: an ISO 8601 repeating
    /// interval for timer cycles.
    Cycle(usize),
    /// Camunda's `fromAi(value, description, type, schema, options)` (1 to 5 arguments): marks a
    /// tool parameter an AI agent fills in; evaluated, it is its value.
    FromAi(usize),
    /// Camunda's `uuid()`: a random version 4 UUID as a string.
    Uuid,
    /// A FEEL built-in whose name is also a variable of the expression.
    Builtin(Bif),
    Unknown {
        name: String,
        parameters: Vec<Name>,
    },
}

impl HostFunction {
    /// The host's own definition for a call of `name` with `arity` arguments, if it has one.
    pub(crate) fn overload(name: &str, arity: usize) -> Option<HostFunction> {
        match (name, arity) {
            ("now", 0) => Some(HostFunction::Now),
            ("today", 0) => Some(HostFunction::Today),
            ("is defined", 1) => Some(HostFunction::IsDefined),
            ("number", 1) => Some(HostFunction::Number),
            ("get or else", 2) => Some(HostFunction::GetOrElse),
            ("is empty", 1) => Some(HostFunction::IsEmpty),
            ("trim", 1) => Some(HostFunction::Trim),
            ("is blank", 1) => Some(HostFunction::IsBlank),
            ("partition", 2) => Some(HostFunction::Partition),
            ("duplicate values", 1) => Some(HostFunction::DuplicateValues),
            ("to json", 1) => Some(HostFunction::ToJson),
            ("from json", 1) => Some(HostFunction::FromJson),
            ("cycle", arity @ (1 | 2)) => Some(HostFunction::Cycle(arity)),
            ("fromAi", arity @ 1..=5) => Some(HostFunction::FromAi(arity)),
            ("uuid", 0) => Some(HostFunction::Uuid),
            _ => None,
        }
    }

    /// The function value to inject. An unknown function also registers the flag it raises when
    /// called, under the name it was called by.
    pub(crate) fn value<'a>(&'a self, now_ms: i64, called: &mut Vec<(&'a str, Arc<AtomicBool>)>) -> Value {
        match self {
            HostFunction::Now => now(now_ms),
            HostFunction::Today => today(now_ms),
            HostFunction::IsDefined => IS_DEFINED_FUNCTION.clone(),
            HostFunction::Number => NUMBER_FUNCTION.clone(),
            HostFunction::GetOrElse => GET_OR_ELSE_FUNCTION.clone(),
            HostFunction::IsEmpty => IS_EMPTY_FUNCTION.clone(),
            HostFunction::Trim => unary("string", |value| match value {
                Value::String(text) => Value::String(text.trim().to_string()),
                other => expected("trim", "a string", &other),
            }),
            HostFunction::IsBlank => unary("string", |value| match value {
                Value::String(text) => Value::Boolean(text.trim().is_empty()),
                other => expected("is blank", "a string", &other),
            }),
            HostFunction::DuplicateValues => unary("list", |value| match value {
                Value::List(items) => {
                    let mut seen: Vec<Value> = Vec::new();
                    let mut duplicates: Vec<Value> = Vec::new();
                    for item in items.iter() {
                        if seen.contains(item) {
                            if !duplicates.contains(item) {
                                duplicates.push(item.clone());
                            }
                        } else {
                            seen.push(item.clone());
                        }
                    }
                    Value::List(duplicates)
                }
                other => expected("duplicate values", "a list", &other),
            }),
            HostFunction::ToJson => unary("value", |value| match crate::convert::value_to_json(&value) {
                Ok(json) => Value::String(json.to_string()),
                Err(error) => Value::Null(Some(format!("to json: {error}"))),
            }),
            HostFunction::FromJson => unary("value", |value| match value {
                Value::String(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(json) => crate::convert::json_to_value(&json),
                    Err(error) => Value::Null(Some(format!("from json: {error}"))),
                },
                other => expected("from json", "a string", &other),
            }),
            HostFunction::Partition => PARTITION_FUNCTION.clone(),
            HostFunction::Cycle(1) => CYCLE_FUNCTION.clone(),
            HostFunction::Cycle(_) => CYCLE_REPEATING_FUNCTION.clone(),
            HostFunction::FromAi(arity) => {
                let names = ["value", "description", "type", "schema", "options"];
                let parameters = names.iter().take(*arity).map(|n| (Name::from(*n), FeelType::Any)).collect();
                let value = Name::from("value");
                function(
                    parameters,
                    Box::new(move |scope: &FeelScope| scope.get_value(&value).unwrap_or(Value::Null(None))),
                )
            }
            // The one input not derived from the command: the value lands in the events it
            // produces (a variable, a key, a chosen flow), and replay applies events, so the
            // rebuilt state is still exact.
            HostFunction::Uuid => {
                function(vec![], Box::new(|_: &FeelScope| Value::String(uuid::Uuid::new_v4().to_string())))
            }
            HostFunction::Builtin(bif) => Value::BuiltInFunction(bif.clone()),
            HostFunction::Unknown { name, parameters } => {
                let flag = Arc::new(AtomicBool::new(false));
                called.push((name.as_str(), Arc::clone(&flag)));
                unknown_function(parameters, flag)
            }
        }
    }
}

fn function(parameters: Vec<(Name, FeelType)>, body: Evaluator) -> Value {
    Value::FunctionDefinition(
        parameters,
        FunctionBody::LiteralExpression(Arc::new(body)),
        false,
        Closure::default(),
        FeelContext::default(),
        FeelType::Any,
    )
}

/// `now()`: the instant `now_ms` as a UTC date and time.
fn now(now_ms: i64) -> Value {
    let value = date_time_at(now_ms);
    function(vec![], Box::new(move |_: &FeelScope| value.clone()))
}

/// `today()`: the UTC date of `now_ms`.
fn today(now_ms: i64) -> Value {
    let value = match civil(now_ms) {
        Some(c) => FeelDate::new(c.year, c.month, c.day).map_or_else(|| out_of_range(now_ms), Value::Date),
        None => out_of_range(now_ms),
    };
    function(vec![], Box::new(move |_: &FeelScope| value.clone()))
}

/// Camunda's `is defined(value)`: false for a missing variable or context entry, true for
/// everything else including an explicit `null`.
static IS_DEFINED_FUNCTION: LazyLock<Value> = LazyLock::new(|| {
    let parameter = Name::from("value");
    function(
        vec![(parameter.clone(), FeelType::Any)],
        Box::new(move |scope: &FeelScope| {
            // dsntk marks a failed lookup with a null carrying a message; an explicit null (JSON
            // null, FEEL `null`) has none.
            let defined = !matches!(scope.get_value(&parameter), None | Some(Value::Null(Some(_))));
            Value::Boolean(defined)
        }),
    )
});

/// `number(from)`: a decimal numeral to a number; anything else to null, as in Camunda.
static NUMBER_FUNCTION: LazyLock<Value> = LazyLock::new(|| {
    let parameter = Name::from("from");
    function(
        vec![(parameter.clone(), FeelType::Any)],
        Box::new(move |scope: &FeelScope| match scope.get_value(&parameter) {
            Some(Value::String(text)) if is_numeral(&text) => match FeelNumber::from_str(&text) {
                Ok(number) => Value::Number(number),
                Err(e) => Value::Null(Some(format!("number: {e}"))),
            },
            Some(Value::String(text)) => Value::Null(Some(format!("number: '{text}' is not a number"))),
            Some(other) => {
                Value::Null(Some(format!("number: expected a string, actual value type is {}", other.type_of())))
            }
            None => Value::Null(Some("number: missing argument".to_string())),
        }),
    )
});

/// A one-parameter host function computing its result from the argument alone.
fn unary(parameter: &str, body: impl Fn(Value) -> Value + Send + Sync + 'static) -> Value {
    let name = Name::from(parameter);
    function(
        vec![(name.clone(), FeelType::Any)],
        Box::new(move |scope: &FeelScope| body(scope.get_value(&name).unwrap_or(Value::Null(None)))),
    )
}

fn expected(function: &str, what: &str, actual: &Value) -> Value {
    Value::Null(Some(format!("{function}: expected {what}, actual value type is {}", actual.type_of())))
}

/// `partition(list, size)`: the list cut into lists of `size` items (the last may be shorter).
static PARTITION_FUNCTION: LazyLock<Value> = LazyLock::new(|| {
    let list = Name::from("list");
    let size = Name::from("size");
    function(
        vec![(list.clone(), FeelType::Any), (size.clone(), FeelType::Any)],
        Box::new(move |scope: &FeelScope| {
            let size = match scope.get_value(&size) {
                Some(Value::Number(n)) => n.to_string().parse::<usize>().ok().filter(|s| *s > 0),
                _ => None,
            };
            match (scope.get_value(&list), size) {
                (Some(Value::List(items)), Some(size)) => {
                    Value::List(items.chunks(size).map(|chunk| Value::List(chunk.to_vec())).collect())
                }
                _ => Value::Null(Some("partition: expected a list and a positive size".to_string())),
            }
        }),
    )
});

/// `get or else(value, default)`: `value`, or `default` when it is null (or missing).
static GET_OR_ELSE_FUNCTION: LazyLock<Value> = LazyLock::new(|| {
    let value = Name::from("value");
    let default = Name::from("default");
    function(
        vec![(value.clone(), FeelType::Any), (default.clone(), FeelType::Any)],
        Box::new(move |scope: &FeelScope| match scope.get_value(&value) {
            None | Some(Value::Null(_)) => scope.get_value(&default).unwrap_or(Value::Null(None)),
            Some(present) => present,
        }),
    )
});

/// `is empty(list)`: whether the list has no items.
static IS_EMPTY_FUNCTION: LazyLock<Value> = LazyLock::new(|| {
    let list = Name::from("list");
    function(
        vec![(list.clone(), FeelType::Any)],
        Box::new(move |scope: &FeelScope| match scope.get_value(&list) {
            Some(Value::List(items)) => Value::Boolean(items.is_empty()),
            Some(other) => {
                Value::Null(Some(format!("is empty: expected a list, actual value type is {}", other.type_of())))
            }
            None => Value::Null(Some("is empty: missing argument".to_string())),
        }),
    )
});

/// `cycle(interval)`: `R/<interval>`, repeating for ever.
static CYCLE_FUNCTION: LazyLock<Value> = LazyLock::new(|| {
    let interval = Name::from("interval");
    function(
        vec![(interval.clone(), FeelType::Any)],
        Box::new(move |scope: &FeelScope| match scope.get_value(&interval) {
            Some(Value::DaysAndTimeDuration(duration)) => Value::String(format!("R/{duration}")),
            Some(Value::YearsAndMonthsDuration(duration)) => Value::String(format!("R/{duration}")),
            _ => Value::Null(Some("cycle: expected a duration".to_string())),
        }),
    )
});

/// `cycle(repetitions, interval)`: `R<repetitions>/<interval>`.
static CYCLE_REPEATING_FUNCTION: LazyLock<Value> = LazyLock::new(|| {
    let repetitions = Name::from("repetitions");
    let interval = Name::from("interval");
    function(
        vec![(repetitions.clone(), FeelType::Any), (interval.clone(), FeelType::Any)],
        Box::new(move |scope: &FeelScope| {
            let duration = match scope.get_value(&interval) {
                Some(Value::DaysAndTimeDuration(duration)) => duration.to_string(),
                Some(Value::YearsAndMonthsDuration(duration)) => duration.to_string(),
                _ => return Value::Null(Some("cycle: expected a duration".to_string())),
            };
            match scope.get_value(&repetitions) {
                Some(Value::Number(n)) => Value::String(format!("R{n}/{duration}")),
                _ => Value::Null(Some("cycle: expected a number of repetitions".to_string())),
            }
        }),
    )
});

/// `[+-]digits[.digits][(e|E)[+-]digits]`, the numerals Camunda's `number` accepts; the decimal
/// library's own parser is more liberal (`inf`, `nan`, hex).
fn is_numeral(text: &str) -> bool {
    fn digits(s: &str) -> (usize, &str) {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n, &s[n..])
    }
    let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (whole, rest) = digits(rest);
    let (fraction, rest) = match rest.strip_prefix('.') {
        Some(after) => digits(after),
        None => (0, rest),
    };
    if whole + fraction == 0 {
        return false;
    }
    match rest.strip_prefix(['e', 'E']) {
        Some(exponent) => {
            let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            let (n, rest) = digits(exponent);
            n > 0 && rest.is_empty()
        }
        None => rest.is_empty(),
    }
}

/// Stands in for a function nobody defines so that calling it fails the evaluation instead of
/// quietly producing a null somewhere inside a larger expression.
fn unknown_function(parameters: &[Name], called: Arc<AtomicBool>) -> Value {
    let parameters = parameters.iter().map(|name| (name.clone(), FeelType::Any)).collect();
    function(
        parameters,
        Box::new(move |_: &FeelScope| {
            called.store(true, Ordering::Relaxed);
            Value::Null(Some("no function found".to_string()))
        }),
    )
}

fn date_time_at(now_ms: i64) -> Value {
    let Some(c) = civil(now_ms) else {
        return out_of_range(now_ms);
    };
    let ms_of_day = now_ms.rem_euclid(86_400_000);
    let hour = (ms_of_day / 3_600_000) as u8;
    let minute = (ms_of_day / 60_000 % 60) as u8;
    let second = (ms_of_day / 1_000 % 60) as u8;
    let nanos = (ms_of_day % 1_000) as u64 * 1_000_000;
    FeelDateTime::utc(c.year, c.month, c.day, hour, minute, second, nanos)
        .map_or_else(|| out_of_range(now_ms), Value::DateTime)
}

fn out_of_range(now_ms: i64) -> Value {
    Value::Null(Some(format!("the instant {now_ms} ms since the epoch is out of range")))
}

struct Civil {
    year: i32,
    month: u32,
    day: u32,
}

/// Proleptic Gregorian date of the UTC day containing `now_ms` (Howard Hinnant's
/// `civil_from_days`), so the crate needs no calendar library of its own.
fn civil(now_ms: i64) -> Option<Civil> {
    let z = now_ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some(Civil { year: i32::try_from(year).ok()?, month, day })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(ms: i64) -> (i32, u32, u32) {
        let c = civil(ms).expect("in range");
        (c.year, c.month, c.day)
    }

    #[test]
    fn civil_dates() {
        assert_eq!(ymd(0), (1970, 1, 1));
        assert_eq!(ymd(-1), (1969, 12, 31));
        assert_eq!(ymd(951_782_400_000), (2000, 2, 29));
        assert_eq!(ymd(1_893_456_000_000), (2030, 1, 1));
        assert_eq!(ymd(1_706_659_200_000 + 86_399_999), (2024, 1, 31));
    }

    #[test]
    fn numerals() {
        for ok in ["1", "-1", "+1.5", ".5", "5.", "1e5", "1.5E-3"] {
            assert!(is_numeral(ok), "{ok}");
        }
        for bad in ["", "-", ".", "e5", "1e", "1.5.1", " 1", "inf", "0x10", "1,5"] {
            assert!(!is_numeral(bad), "{bad}");
        }
    }
}
