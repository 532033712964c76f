//! Conversion between JSON documents and FEEL values.
//!
//! JSON → FEEL is total. FEEL → JSON is total for everything JSON can express (and temporal
//! values, which become their ISO text); ranges and functions are rejected.

use std::str::FromStr;

use dsntk_feel::context::FeelContext;
use dsntk_feel::values::Value;
use dsntk_feel::{FeelNumber, Name};

/// Converts a JSON value into a FEEL value.
pub(crate) fn json_to_value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null(None),
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => json_number_to_value(n),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::List(items.iter().map(json_to_value).collect()),
        serde_json::Value::Object(map) => {
            let mut ctx = FeelContext::default();
            for (key, value) in map {
                ctx.set_entry(&Name::from(key.as_str()), json_to_value(value));
            }
            Value::Context(ctx)
        }
    }
}

fn json_number_to_value(n: &serde_json::Number) -> Value {
    if let Some(i) = n.as_i64() {
        return Value::Number(FeelNumber::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Value::Number(FeelNumber::from(u));
    }
    // Going through the shortest round-trip text keeps `1.1` as the decimal 1.1 rather than the
    // binary approximation an f64 conversion would produce.
    let text = n.to_string();
    match FeelNumber::from_str(&text) {
        Ok(number) => Value::Number(number),
        Err(e) => Value::Null(Some(format!("number {text} cannot be represented in FEEL: {e}"))),
    }
}

/// Converts a FEEL value into JSON; the error explains what could not be represented.
pub(crate) fn value_to_json(value: &Value) -> Result<serde_json::Value, String> {
    Ok(match value {
        Value::Null(_) => serde_json::Value::Null,
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Number(n) => number_to_json(n)?,
        Value::List(items) => serde_json::Value::Array(items.iter().map(value_to_json).collect::<Result<_, _>>()?),
        Value::Context(ctx) => {
            let mut map = serde_json::Map::with_capacity(ctx.len());
            for (name, value) in ctx.iter() {
                map.insert(name.to_string(), value_to_json(value)?);
            }
            serde_json::Value::Object(map)
        }
        Value::Date(date) => serde_json::Value::String(date.to_string()),
        Value::DateTime(date_time) => serde_json::Value::String(date_time.to_string()),
        Value::Time(time) => serde_json::Value::String(time.to_string()),
        Value::DaysAndTimeDuration(duration) => serde_json::Value::String(duration.to_string()),
        Value::YearsAndMonthsDuration(duration) => serde_json::Value::String(duration.to_string()),
        other => {
            return Err(format!("the result of type '{}' cannot be represented as JSON", feel_type_name(other)));
        }
    })
}

/// Integral numbers must stay JSON integers: job retries, loop counters and the like are read
/// back as integers by clients, and `3.0` would break them.
fn number_to_json(n: &FeelNumber) -> Result<serde_json::Value, String> {
    if n.is_integer() {
        if let Ok(i) = i64::try_from(n) {
            return Ok(serde_json::Value::from(i));
        }
        if let Ok(u) = u64::try_from(n) {
            return Ok(serde_json::Value::from(u));
        }
    }
    let text = n.to_string();
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(serde_json::Value::Number)
        .ok_or_else(|| format!("the number {text} cannot be represented as JSON"))
}

/// Zeebe's names for result types, used in "Expected result ... to be 'X', but was 'Y'".
pub(crate) fn zeebe_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null(_) => "NULL",
        Value::Boolean(_) => "BOOLEAN",
        Value::Number(_) => "NUMBER",
        Value::String(_) => "STRING",
        Value::List(_) => "ARRAY",
        Value::Context(_) => "OBJECT",
        Value::DateTime(_) => "DATE_TIME",
        Value::Date(_) => "DATE",
        Value::Time(_) => "TIME",
        Value::DaysAndTimeDuration(_) => "DURATION",
        Value::YearsAndMonthsDuration(_) => "PERIOD",
        _ => "UNKNOWN",
    }
}

fn feel_type_name(value: &Value) -> &'static str {
    match value {
        Value::Range(..) => "range",
        Value::BuiltInFunction(_) | Value::FunctionDefinition(..) => "function",
        Value::FeelType(_) => "type",
        _ => "unknown",
    }
}
