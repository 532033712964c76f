use baton_feel::{Error, Expression, Variables};
use serde_json::{Map, Value, json};

/// 2030-01-01T00:00:00Z
const NOW_2030: i64 = 1_893_456_000_000;

fn vars(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("test variables must be an object, got {other}"),
    }
}

fn eval_with(source: &str, variables: &Value) -> Value {
    let expression = Expression::parse(source).unwrap_or_else(|e| panic!("{e}"));
    expression.evaluate(variables, NOW_2030).unwrap_or_else(|e| panic!("{e}"))
}

fn eval(source: &str) -> Value {
    eval_with(source, &json!({}))
}

fn eval_error(source: &str, variables: &Value) -> String {
    match Expression::parse(source).and_then(|e| e.evaluate(variables, NOW_2030)) {
        Err(Error::Evaluate { source_text, message }) => {
            assert_eq!(source_text, source);
            message
        }
        other => panic!("expected an evaluation error for '{source}', got {other:?}"),
    }
}

#[test]
fn expression_is_send_sync_clone_debug_partial_eq() {
    fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug + PartialEq + 'static>() {}
    assert_traits::<Expression>();
    assert_traits::<Error>();
    let e = Expression::parse("1 + 1").unwrap();
    assert_eq!(e.clone(), e);
    assert_eq!(e.source(), "1 + 1");
    assert_eq!(format!("{e:?}"), r#"Expression("1 + 1")"#);
}

#[test]
fn arithmetic_and_comparison() {
    assert_eq!(eval("1 + 2 * 3"), json!(7));
    assert_eq!(eval("(1 + 2) * 3"), json!(9));
    assert_eq!(eval("10 / 4"), json!(2.5));
    assert_eq!(eval("2 ** 10"), json!(1024));
    assert_eq!(eval("-5 + 2"), json!(-3));
    assert_eq!(eval("3 > 2"), json!(true));
    assert_eq!(eval("3 <= 2"), json!(false));
    assert_eq!(eval(r#""a" = "a""#), json!(true));
    assert_eq!(eval("1 != 2 and not(false)"), json!(true));
    assert_eq!(eval("false or true"), json!(true));
    assert_eq!(eval_with("x > 5", &json!({"x": 7})), json!(true));
    assert_eq!(eval_with("x-1", &json!({"x": 7})), json!(6));
    assert_eq!(eval_with("x*y", &json!({"x": 7, "y": 3})), json!(21));
    assert_eq!(eval_with("x in [1..10]", &json!({"x": 7})), json!(true));
    assert_eq!(eval_with("x between 1 and 5", &json!({"x": 7})), json!(false));
    assert_eq!(eval_with("a and b", &json!({"a": true, "b": false})), json!(false));
}

#[test]
fn paths_into_objects() {
    let v = json!({"order": {"total": 100, "customer": {"name": "Ada", "tags": ["vip"]}}});
    assert_eq!(eval_with("order.total * 1.19", &v), json!(119));
    assert_eq!(eval_with("order.total * 1.5 + 0.25", &v), json!(150.25));
    assert_eq!(eval_with("order.customer.name", &v), json!("Ada"));
    assert_eq!(eval_with("order.customer.tags[1]", &v), json!("vip"));
    assert_eq!(eval_with("order.missing", &v), Value::Null);
}

#[test]
fn lists_and_filters() {
    let v = json!({"items": [{"price": 5, "qty": 2}, {"price": 20, "qty": 1}], "limit": 10});
    assert_eq!(eval_with("items[price > limit]", &v), json!([{"price": 20, "qty": 1}]));
    assert_eq!(eval_with("items[item.price < limit].qty", &v), json!([2]));
    assert_eq!(eval_with("count(items)", &v), json!(2));
    assert_eq!(eval_with("sum(for i in items return i.price * i.qty)", &v), json!(30));
    assert_eq!(eval("[1, 2, 3][item >= 2]"), json!([2, 3]));
    assert_eq!(eval("[1, 2, 3][1]"), json!(1));
    assert_eq!(eval("[1, 2, 3][-1]"), json!(3));
    assert_eq!(eval("some x in [1, 2, 3] satisfies x > 2"), json!(true));
    assert_eq!(eval("every x in [1, 2, 3] satisfies x > 2"), json!(false));
    assert_eq!(eval("list contains([1, 2], 2)"), json!(true));
    assert_eq!(eval("append([1], 2, 3)"), json!([1, 2, 3]));
    assert_eq!(eval("index of([1, 2, 1], 1)"), json!([1, 3]));
    assert_eq!(eval(r#"day of week(date("2024-01-31"))"#), json!("Wednesday"));
}

#[test]
fn context_literals_become_objects() {
    assert_eq!(
        eval_with(r#"{a: 1, b: a + 1, "c d": [x, null]}"#, &json!({"x": "y"})),
        json!({"a": 1, "b": 2, "c d": ["y", null]})
    );
    assert_eq!(eval("{a: {b: true}}.a.b"), json!(true));
}

#[test]
fn if_expressions() {
    assert_eq!(eval_with(r#"if x > 5 then "big" else "small""#, &json!({"x": 7})), json!("big"));
    assert_eq!(eval_with(r#"if x > 5 then "big" else "small""#, &json!({"x": 1})), json!("small"));
    // A null condition takes the else branch.
    assert_eq!(eval(r#"if missing then "yes" else "no""#), json!("no"));
}

#[test]
fn string_functions() {
    let v = json!({"name": "Ada Lovelace", "parts": ["a", "b", "c"]});
    assert_eq!(eval_with("upper case(name)", &v), json!("ADA LOVELACE"));
    assert_eq!(eval_with("lower case(name)", &v), json!("ada lovelace"));
    assert_eq!(eval_with("substring(name, 5)", &v), json!("Lovelace"));
    assert_eq!(eval_with("string length(name)", &v), json!(12));
    assert_eq!(eval_with(r#"contains(name, "Love")"#, &v), json!(true));
    assert_eq!(eval_with(r#"starts with(name, "Ada")"#, &v), json!(true));
    assert_eq!(eval_with(r#"string join(parts, "-")"#, &v), json!("a-b-c"));
    assert_eq!(eval_with(r#""Hello " + name"#, &v), json!("Hello Ada Lovelace"));
    assert_eq!(eval("string(1 + 2)"), json!("3"));
    assert_eq!(eval(r#"number("42") + 1"#), json!(43));
    assert_eq!(eval(r#"split("a,b", ",")"#), json!(["a", "b"]));
}

#[test]
fn variables_named_like_builtins_and_keywords_parts() {
    // `string` and `count` are variables here and functions there; `order` and `index` start
    // names that dsntk would otherwise glue to the operators that follow.
    let v = json!({"string": "s", "count": 2, "index": 1, "order": {"total": 3}, "orders": 4});
    assert_eq!(eval_with(r#"string + string join(["a"], "")"#, &v), json!("sa"));
    assert_eq!(eval_with("count + count([1, 2, 3])", &v), json!(5));
    assert_eq!(eval_with("index+1", &v), json!(2));
    assert_eq!(eval_with("order.total+orders", &v), json!(7));
    assert_eq!(
        eval_with(r#"date and time("2024-01-31T10:00:00Z") = date and time("2024-01-31T10:00:00Z")"#, &v),
        json!(true)
    );
    // A variable named like a host function keeps its value next to a call of that function.
    let v = json!({"now": 5, "count": 3});
    assert_eq!(eval_with("now + 1", &v), json!(6));
    assert_eq!(eval_with(r#"now() > date and time("2020-01-01T00:00:00Z") and now = 5"#, &v), json!(true));
    assert_eq!(eval_with("count(for i in 1..count return i)", &v), json!(3));
    // A function the expression defines itself wins over the host's.
    assert_eq!(eval("{now: function() 1, r: now()}.r"), json!(1));
    assert_eq!(eval("{f: function() now(), r: f()}.r"), json!("2030-01-01T00:00:00Z"));
}

#[test]
fn integers_stay_integers() {
    let v = json!({"x": 41, "retries": 3});
    let result = eval_with("x + 1", &v);
    assert_eq!(result, json!(42));
    assert!(result.is_i64(), "{result} should be an integer");
    assert_eq!(serde_json::to_string(&eval_with("retries - 1", &v)).unwrap(), "2");
    assert_eq!(serde_json::to_string(&eval("3.0")).unwrap(), "3");
    assert_eq!(serde_json::to_string(&eval("10 / 2")).unwrap(), "5");
    assert_eq!(serde_json::to_string(&eval("-0")).unwrap(), "0");
}

#[test]
fn decimals() {
    assert_eq!(eval("0.1 + 0.2"), json!(0.3));
    assert_eq!(eval("1.5"), json!(1.5));
    assert_eq!(eval_with("x * 2", &json!({"x": 1.25})), json!(2.5));
    assert_eq!(eval_with("x", &json!({"x": 1.1})), json!(1.1));
    assert_eq!(eval("1 / 3"), json!(1.0 / 3.0));
    assert_eq!(eval_with("x", &json!({"x": 1e300})), json!(1e300));
}

#[test]
fn big_integers_are_exact() {
    let v = json!({"big": i64::MAX, "small": i64::MIN, "unsigned": u64::MAX, "js": 9_007_199_254_740_993_i64});
    assert_eq!(eval_with("big", &v), json!(i64::MAX));
    assert_eq!(eval_with("small", &v), json!(i64::MIN));
    assert_eq!(eval_with("unsigned", &v), json!(u64::MAX));
    assert_eq!(eval_with("js + 1", &v), json!(9_007_199_254_740_994_i64));
    assert_eq!(eval_with("big - 1", &v), json!(i64::MAX - 1));
}

#[test]
fn nulls() {
    let v = json!({"n": null, "o": {"p": null}});
    assert_eq!(eval("null"), Value::Null);
    assert_eq!(eval_with("n", &v), Value::Null);
    assert_eq!(eval_with("n = null", &v), json!(true));
    assert_eq!(eval_with("o.p", &v), Value::Null);
    assert_eq!(eval_with("n + 1", &v), Value::Null);
    // Zeebe 8 semantics: a type error yields null rather than failing the whole expression.
    assert_eq!(eval(r#""a" + 1"#), Value::Null);
}

#[test]
fn missing_variables_are_null_with_a_warning() {
    assert_eq!(eval("missing"), Value::Null);
    assert_eq!(eval("missing.deeper"), Value::Null);
    assert_eq!(eval("missing + 1"), Value::Null);
    assert_eq!(eval("missing = null"), json!(true));

    let e = Expression::parse("missing + 1").unwrap();
    let evaluation = e.evaluate_detailed(&json!({}), NOW_2030).unwrap();
    assert_eq!(evaluation.value, Value::Null);
    assert_eq!(evaluation.warnings, ["No variable found with name 'missing'"]);
}

#[test]
fn is_defined() {
    let v = json!({"x": 1, "n": null, "o": {"a": 1}});
    assert_eq!(eval_with("is defined(x)", &v), json!(true));
    assert_eq!(eval_with("is defined(n)", &v), json!(true));
    assert_eq!(eval_with("is defined(missing)", &v), json!(false));
    assert_eq!(eval_with("is defined(o.a)", &v), json!(true));
    assert_eq!(eval_with("is defined(o.b)", &v), json!(false));
    assert_eq!(eval_with("is defined(missing.b)", &v), json!(false));
    assert_eq!(eval_with("is defined(null)", &v), json!(true));
    assert_eq!(eval_with("if is defined(x) then x else 0", &v), json!(1));
    assert_eq!(eval_with("not(is defined(missing)) and is defined(x)", &v), json!(true));
}

#[test]
fn now_and_today_come_from_now_ms() {
    let e = Expression::parse(r#"now() > date and time("2020-01-01T00:00:00Z")"#).unwrap();
    assert!(e.evaluate_bool(&(), NOW_2030).unwrap());
    // Before 2020 the same expression is false: the wall clock plays no part.
    assert!(!e.evaluate_bool(&(), 1_000).unwrap());

    let s = Expression::parse("string(now())").unwrap();
    assert_eq!(s.evaluate(&(), NOW_2030).unwrap(), json!("2030-01-01T00:00:00Z"));
    assert_eq!(s.evaluate(&(), NOW_2030 + 1_500).unwrap(), json!("2030-01-01T00:00:01.5Z"));
    assert_ne!(s.evaluate(&(), NOW_2030).unwrap(), s.evaluate(&(), NOW_2030 + 60_000).unwrap());

    assert_eq!(eval("now()"), json!("2030-01-01T00:00:00Z"));
    assert_eq!(eval("today()"), json!("2030-01-01"));
    let today = Expression::parse("today()").unwrap();
    assert_eq!(today.evaluate(&(), NOW_2030 - 1).unwrap(), json!("2029-12-31"));
    assert_eq!(today.evaluate(&(), -1).unwrap(), json!("1969-12-31"));
    assert_eq!(eval(r#"today() = date("2030-01-01")"#), json!(true));
    assert_eq!(eval("now().year"), json!(2030));
    assert_eq!(eval(r#"now() + duration("P1D") > now()"#), json!(true));
}

#[test]
fn temporal_results_are_iso_strings() {
    assert_eq!(eval(r#"date("2024-01-31")"#), json!("2024-01-31"));
    assert_eq!(eval(r#"@"2024-01-31""#), json!("2024-01-31"));
    assert_eq!(eval(r#"date and time("2024-01-31T10:15:00Z")"#), json!("2024-01-31T10:15:00Z"));
    assert_eq!(eval(r#"date and time("2024-01-31T10:15:00+02:00")"#), json!("2024-01-31T10:15:00+02:00"));
    assert_eq!(eval(r#"time("10:15:00")"#), json!("10:15:00"));
    assert_eq!(eval(r#"duration("PT5M")"#), json!("PT5M"));
    assert_eq!(eval(r#"duration("P1DT2H")"#), json!("P1DT2H"));
    assert_eq!(eval(r#"duration("P1Y2M")"#), json!("P1Y2M"));
    assert_eq!(eval(r#"date and time("2024-01-31T10:00:00Z") - date and time("2024-01-30T10:00:00Z")"#), json!("P1D"));
}

#[test]
fn unrepresentable_results_are_errors() {
    let message = eval_error("[1..5]", &json!({}));
    assert!(message.contains("cannot be represented as JSON"), "{message}");
    let message = eval_error("function(a) a + 1", &json!({}));
    assert!(message.contains("cannot be represented as JSON"), "{message}");
    let message = eval_error("[1, [2..3]]", &json!({}));
    assert!(message.contains("cannot be represented as JSON"), "{message}");
    // User-defined functions are fine as long as the result is data.
    assert_eq!(eval("{f: function(a) a * 2, r: f(21)}.r"), json!(42));
}

#[test]
fn unknown_functions_are_errors() {
    let message = eval_error("foo(1)", &json!({}));
    assert_eq!(message, "no function found with name 'foo'");
    // Even when the call sits inside a larger expression that would swallow the null.
    let message = eval_error("if foo(1, 2) = 3 then 1 else 2", &json!({}));
    assert_eq!(message, "no function found with name 'foo'");
    let message = eval_error("bar(x: 1)", &json!({}));
    assert_eq!(message, "no function found with name 'bar'");
    // A branch that is not taken does not fail.
    assert_eq!(eval("if true then 1 else foo(1)"), json!(1));
}

#[test]
fn round_trip_nested_document() {
    let document = json!({
        "id": 123,
        "big": 9_007_199_254_740_993_i64,
        "price": 19.99,
        "negative": -0.5,
        "active": true,
        "nothing": null,
        "name": "Überprüfung \"quoted\" \n line",
        "tags": ["a", "b", []],
        "nested": {"deeper": {"list": [1, 2.5, {"k": "v"}], "empty": {}}},
        "key with spaces": 1
    });
    assert_eq!(eval_with("doc", &json!({ "doc": document.clone() })), document);
    // Through a context literal as well, so values pass through FEEL operations.
    assert_eq!(eval_with("{copy: doc}.copy", &json!({ "doc": document.clone() })), document);
}

#[test]
fn evaluate_bool_requires_a_boolean() {
    let e = Expression::parse("x > 5").unwrap();
    assert!(e.evaluate_bool(&vars(json!({"x": 7})), NOW_2030).unwrap());
    assert!(!e.evaluate_bool(&vars(json!({"x": 1})), NOW_2030).unwrap());
    match e.evaluate_bool(&vars(json!({})), NOW_2030) {
        Err(Error::Evaluate { source_text, message }) => {
            assert_eq!(source_text, "x > 5");
            assert!(
                message.starts_with("Expected result of the expression 'x > 5' to be 'BOOLEAN', but was 'NULL'."),
                "{message}"
            );
            assert!(message.contains("No variable found with name 'x'"), "{message}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let e = Expression::parse("x").unwrap();
    let err = e.evaluate_bool(&vars(json!({"x": "yes"})), NOW_2030).unwrap_err().to_string();
    assert!(err.contains("to be 'BOOLEAN', but was 'STRING'"), "{err}");
    // dsntk's diagnosis is passed on.
    let e = Expression::parse(r#"("a" + 1) > 1"#).unwrap();
    let err = e.evaluate_bool(&(), NOW_2030).unwrap_err().to_string();
    assert!(err.contains("but was 'NULL'"), "{err}");
}

#[test]
fn evaluate_string_i64_and_list() {
    let v = vars(json!({"type": "payment", "retries": 3, "items": [1, 2]}));
    assert_eq!(Expression::parse("type").unwrap().evaluate_string(&v, 0).unwrap(), "payment");
    assert_eq!(Expression::parse(r#""job-" + type"#).unwrap().evaluate_string(&v, 0).unwrap(), "job-payment");
    let err = Expression::parse("retries").unwrap().evaluate_string(&v, 0).unwrap_err().to_string();
    assert!(err.contains("to be 'STRING', but was 'NUMBER'"), "{err}");

    assert_eq!(Expression::parse("retries + 2").unwrap().evaluate_i64(&v, 0).unwrap(), 5);
    assert_eq!(Expression::parse("7 / 2").unwrap().evaluate_i64(&v, 0).unwrap(), 3);
    let err = Expression::parse("type").unwrap().evaluate_i64(&v, 0).unwrap_err().to_string();
    assert!(err.contains("to be 'NUMBER', but was 'STRING'"), "{err}");
    let err = Expression::parse("10 ** 30").unwrap().evaluate_i64(&v, 0).unwrap_err().to_string();
    assert!(err.contains("64-bit"), "{err}");

    assert_eq!(Expression::parse("items").unwrap().evaluate_list(&v, 0).unwrap(), [json!(1), json!(2)]);
    let err = Expression::parse("type").unwrap().evaluate_list(&v, 0).unwrap_err().to_string();
    assert!(err.contains("to be 'ARRAY', but was 'STRING'"), "{err}");
}

#[test]
fn parse_errors() {
    for source in ["if x > then", "", "   ", "1 +", "[1, 2", "{a: }", r#""unterminated"#] {
        match Expression::parse(source) {
            Err(Error::Parse { source_text, message }) => {
                assert_eq!(source_text, source);
                assert!(!message.is_empty());
            }
            other => panic!("expected a parse error for {source:?}, got {other:?}"),
        }
    }
    let err = Expression::parse("if x > then").unwrap_err();
    assert_eq!(err.to_string(), "failed to parse expression 'if x > then': syntax error: if x > then");
}

#[test]
fn limits_are_parse_errors() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let err = Expression::parse(&deep).unwrap_err().to_string();
    assert!(err.contains("nested more than 128 levels deep"), "{err}");
    let long_chain = (0..200).map(|i| i.to_string()).collect::<Vec<_>>().join(" + ");
    assert!(Expression::parse(&long_chain).is_err());
    // Very deep input is refused without overflowing the stack while parsing or cleaning up.
    let very_deep = "1 + ".repeat(3_000) + "1";
    assert!(Expression::parse(&very_deep).is_err());

    let err = Expression::parse(&"1".repeat(baton_feel::MAX_SOURCE_LEN + 1)).unwrap_err().to_string();
    assert!(err.contains("longer than"), "{err}");
    // Within the limits evaluation fits a small thread stack even in a debug build.
    let nested = format!("{}x{}", "[".repeat(100), "]".repeat(100));
    let chain = (0..60).map(|i| format!("x + {i}")).collect::<Vec<_>>().join(" + ");
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            Expression::parse(&nested).unwrap().evaluate(&json!({"x": 1}), 0).unwrap();
            Expression::parse(&chain).unwrap().evaluate(&json!({"x": 1}), 0).unwrap();
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn only_referenced_variables_are_read() {
    struct Recording(Map<String, Value>, std::cell::RefCell<Vec<String>>);
    impl Variables for Recording {
        fn get(&self, name: &str) -> Option<&Value> {
            self.1.borrow_mut().push(name.to_string());
            self.0.get(name)
        }
    }

    let e = Expression::parse(
        "for i in items return {v: i.price * rate, ok: some t in i.tags satisfies t = wanted, f: (function(p) p + bonus)(1)}",
    )
    .unwrap();
    assert_eq!(e.referenced_names().collect::<Vec<_>>(), ["bonus", "items", "rate", "wanted"]);

    let mut map = vars(json!({"items": [{"price": 2, "tags": ["x"]}], "rate": 3, "wanted": "x", "bonus": 1}));
    for i in 0..1000 {
        map.insert(format!("unrelated{i}"), json!({"big": [1, 2, 3]}));
    }
    let recording = Recording(map, Default::default());
    assert_eq!(e.evaluate(&recording, 0).unwrap(), json!([{"v": 6, "ok": true, "f": 2}]));
    let mut read = recording.1.take();
    read.sort();
    assert_eq!(read, ["bonus", "items", "rate", "wanted"]);

    let e = Expression::parse("a.b.c + count(d[item > x]) + {e: 1, g: e + h}.g").unwrap();
    assert_eq!(e.referenced_names().collect::<Vec<_>>(), ["a", "d", "h", "x"]);
    assert_eq!(Expression::parse("now()").unwrap().referenced_names().len(), 0);
}

#[test]
fn variables_implementations() {
    let e = Expression::parse("a + 1").unwrap();
    let hash: std::collections::HashMap<String, Value> = [("a".to_string(), json!(1))].into();
    let btree: std::collections::BTreeMap<String, Value> = [("a".to_string(), json!(2))].into();
    assert_eq!(e.evaluate(&hash, 0).unwrap(), json!(2));
    assert_eq!(e.evaluate(&btree, 0).unwrap(), json!(3));
    assert_eq!(e.evaluate(&json!({"a": 3}), 0).unwrap(), json!(4));
    assert_eq!(e.evaluate(&(), 0).unwrap(), Value::Null);
}

#[test]
fn shared_across_threads() {
    let e = Expression::parse("x * 2").unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let e = e.clone();
            std::thread::spawn(move || e.evaluate(&json!({ "x": i }), 0).unwrap())
        })
        .collect();
    let results: Vec<Value> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results, [json!(0), json!(2), json!(4), json!(6)]);
}

#[test]
fn odd_inputs_do_not_panic() {
    for source in [
        "2 ** 100000",
        "1 / 0",
        r#"substring("abc", -10, 100)"#,
        r#"date("not a date")"#,
        r#"@"garbage""#,
        "[1, 2, 3][10]",
        "x.y.z[1].w",
        r#"matches("a", "(")"#,
        r#"duration("P")"#,
        "for i in 1..3 return partial",
        "?",
        "item",
        "{}",
        "[]",
        "-",
        "a b c",
        "\"\\u{D800}\"",
        "....",
        "not",
    ] {
        if let Ok(e) = Expression::parse(source) {
            let _ = e.evaluate(&json!({"x": {"y": 1}}), 0);
        }
    }
}

#[test]
fn camunda_number_with_one_argument() {
    assert_eq!(eval(r#"number("42") + 1"#), json!(43));
    assert_eq!(eval(r#"number("-1.5e1")"#), json!(-15));
    assert_eq!(eval(r#"number("abc")"#), Value::Null);
    assert_eq!(eval(r#"number("1,000.5", ",", ".")"#), json!(1000.5));
}

#[test]
fn external_functions_are_refused_at_parse_time() {
    let source =
        r#"(function(a, b) external {java: {class: "java.lang.Math", method signature: "max(int, int)"}})(1, 2)"#;
    match Expression::parse(source) {
        Err(Error::Parse { message, .. }) => assert!(message.contains("external"), "{message}"),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn equality_with_null_is_defined_as_in_feel() {
    let vars: Map<String, Value> = Map::new();
    let cases = [
        ("x = 3", json!(false)),
        ("x != 3", json!(true)),
        ("x = null", json!(true)),
        ("x != null", json!(false)),
        ("null = null", json!(true)),
        ("3 = 3", json!(true)),
        ("\"a\" != \"b\"", json!(true)),
        ("x > 3", json!(null)),
    ];
    for (source, expected) in cases {
        let value = Expression::parse(source).unwrap().evaluate(&vars, 0).unwrap();
        assert_eq!(value, expected, "{source}");
    }
    let mut vars = Map::new();
    vars.insert("x".into(), json!(3));
    assert_eq!(Expression::parse("x = 3").unwrap().evaluate(&vars, 0).unwrap(), json!(true));
    assert_eq!(Expression::parse("x != 3").unwrap().evaluate(&vars, 0).unwrap(), json!(false));
}

#[test]
fn camunda_get_or_else_is_empty_and_cycle() {
    let v = json!({"x": 5, "n": null, "list": [], "items": [1]});
    assert_eq!(eval_with("get or else(x, 1)", &v), json!(5));
    assert_eq!(eval_with("get or else(n, \"default\")", &v), json!("default"));
    assert_eq!(eval_with("get or else(missing, 2) + 1", &v), json!(3));
    assert_eq!(eval_with("is empty(list)", &v), json!(true));
    assert_eq!(eval_with("is empty(items)", &v), json!(false));
    assert_eq!(eval("cycle(duration(\"PT1H\"))"), json!("R/PT1H"));
    assert_eq!(eval("cycle(3, duration(\"PT10S\"))"), json!("R3/PT10S"));
}

#[test]
fn uuid_gives_a_new_version_4_uuid_each_time() {
    let first = eval("uuid()");
    let second = eval("uuid()");
    let text = first.as_str().expect("a string");
    assert_eq!(text.len(), 36, "{text}");
    assert_eq!(&text[14..15], "4", "version 4: {text}");
    assert_ne!(first, second);
    assert_eq!(eval("string length(uuid())"), serde_json::json!(36));
}

#[test]
fn from_ai_is_the_value_an_agent_filled_in() {
    let v = json!({"toolCall": {"city": "Berlin", "days": 3}});
    assert_eq!(eval_with("fromAi(toolCall.city)", &v), json!("Berlin"));
    assert_eq!(eval_with("fromAi(toolCall.days, \"How many days\", \"number\") + 1", &v), json!(4));
    assert_eq!(eval_with("fromAi(toolCall.missing, \"Not given\")", &v), json!(null));
}

#[test]
fn camunda_string_list_and_json_extensions() {
    let v = json!({"name": "  Ada  ", "blank": "   ", "xs": [1, 2, 2, 3, 3, 3], "doc": "{\"a\": [1, true]}"});
    assert_eq!(eval_with("trim(name)", &v), json!("Ada"));
    assert_eq!(eval_with("is blank(blank)", &v), json!(true));
    assert_eq!(eval_with("is blank(name)", &v), json!(false));
    assert_eq!(eval_with("duplicate values(xs)", &v), json!([2, 3]));
    assert_eq!(eval_with("partition(xs, 4)", &v), json!([[1, 2, 2, 3], [3, 3]]));
    assert_eq!(eval_with("from json(doc).a[2]", &v), json!(true));
    assert_eq!(eval_with("to json({x: 1})", &v), json!("{\"x\":1}"));
}
