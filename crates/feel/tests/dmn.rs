//! DMN decisions as Camunda Modeler writes them: no input data, no information requirements
//! to process variables; decisions read the variables directly.

use baton_feel::dmn::Decisions;
use serde_json::json;

const SHIPPING: &str = include_str!("../../engine/tests/fixtures/shipping.dmn");

fn shipping() -> Decisions {
    Decisions::parse(SHIPPING.as_bytes()).expect("the fixture parses")
}

#[test]
fn lists_the_decisions_of_the_graph() {
    let decisions = shipping();
    assert_eq!(decisions.id(), "shipping");
    assert_eq!(decisions.name(), "Shipping");
    let ids: Vec<_> = decisions.decisions().collect();
    assert_eq!(
        ids,
        vec![
            ("customerTier", "Customer tier"),
            ("shippingCost", "Shipping cost"),
            ("surcharges", "Surcharges"),
            ("totalSurcharge", "Total surcharge"),
            ("greeting", "Greeting"),
        ]
    );
}

#[test]
fn first_hit_policy_takes_the_first_matching_rule() {
    let decisions = shipping();
    for (orders, tier) in [(12, "gold"), (3, "silver"), (0, "bronze")] {
        let result = decisions.evaluate("customerTier", &json!({"customer": {"orders": orders}}), 0).unwrap();
        assert_eq!(result.output, json!(tier), "orders {orders}");
    }
}

#[test]
fn required_decisions_are_evaluated_first_and_seen_by_their_id() {
    let decisions = shipping();
    let result = decisions.evaluate("shippingCost", &json!({"customer": {"orders": 4}, "weight": 7}), 0).unwrap();
    assert_eq!(result.output, json!({"carrier": "freight", "cost": 14}));
    let evaluated: Vec<_> =
        result.evaluated.iter().map(|d| (d.decision_id.as_str(), d.decision_type, d.output.clone())).collect();
    assert_eq!(
        evaluated,
        vec![
            ("customerTier", "DECISION_TABLE", json!("silver")),
            ("shippingCost", "DECISION_TABLE", json!({"carrier": "freight", "cost": 14})),
        ]
    );
    let light = decisions.evaluate("shippingCost", &json!({"customer": {"orders": 0}, "weight": 1.5}), 0).unwrap();
    assert_eq!(light.output, json!({"carrier": "parcel", "cost": 4.5}));
}

#[test]
fn collect_gives_a_list_and_aggregations_a_value() {
    let decisions = shipping();
    let both = json!({"express": true, "country": "FR"});
    assert_eq!(decisions.evaluate("surcharges", &both, 0).unwrap().output, json!([10, 15]));
    assert_eq!(decisions.evaluate("totalSurcharge", &both, 0).unwrap().output, json!(25));
    let none = json!({"express": false, "country": "DE"});
    assert_eq!(decisions.evaluate("surcharges", &none, 0).unwrap().output, json!(null));
    assert_eq!(decisions.evaluate("totalSurcharge", &none, 0).unwrap().output, json!(null));
}

#[test]
fn literal_expression_decisions_read_required_decisions() {
    let decisions = shipping();
    let result = decisions.evaluate("greeting", &json!({"customer": {"orders": 10, "name": "Ada"}}), 0).unwrap();
    assert_eq!(result.output, json!("Dear gold customer Ada"));
    assert_eq!(result.evaluated.len(), 2);
    assert_eq!(result.evaluated[1].decision_type, "LITERAL_EXPRESSION");
}

#[test]
fn unique_hit_policy_fails_when_several_rules_match() {
    let xml = SHIPPING.replace(r#"hitPolicy="FIRST""#, r#"hitPolicy="UNIQUE""#);
    let decisions = Decisions::parse(xml.as_bytes()).unwrap();
    let failure = decisions.evaluate("shippingCost", &json!({"customer": {"orders": 12}, "weight": 1}), 0).unwrap_err();
    assert_eq!(failure.failed_decision_id, "customerTier");
    assert!(failure.message.contains("UNIQUE"), "{}", failure.message);
    let fine = decisions.evaluate("customerTier", &json!({"customer": {"orders": 1}}), 0).unwrap();
    assert_eq!(fine.output, json!("bronze"));
}

#[test]
fn an_unknown_decision_is_a_failure_naming_it() {
    let failure = shipping().evaluate("nope", &json!({}), 0).unwrap_err();
    assert_eq!(failure.failed_decision_id, "nope");
    assert!(failure.to_string().contains("'nope'"), "{failure}");
}

#[test]
fn today_comes_from_the_caller() {
    let xml = SHIPPING.replace(r#""Dear " + customerTier"#, r#"string(today()) + " " + customerTier"#);
    let decisions = Decisions::parse(xml.as_bytes()).unwrap();
    let result = decisions.evaluate("greeting", &json!({"customer": {"orders": 0, "name": "Bo"}}), 0).unwrap();
    assert_eq!(result.output, json!("1970-01-01 bronze customer Bo"));
}

#[test]
fn broken_models_are_refused_with_the_decision_named() {
    let cases = [
        (SHIPPING.replace("<text>&gt;= 10</text>", "<text>&gt;= &gt;=</text>"), "customerTier"),
        (
            SHIPPING.replace(
                r##"href="#customerTier" />
    </informationRequirement>
    <decisionTable id="DecisionTable_cost">"##,
                r##"href="#missing" />
    </informationRequirement>
    <decisionTable id="DecisionTable_cost">"##,
            ),
            "missing",
        ),
        (SHIPPING.replace(r#""Dear " + customerTier"#, "customerTier +"), "greeting"),
        (SHIPPING.replace(r#"id="shipping" "#, ""), "definitions must have an id"),
        ("<definitions".to_string(), "invalid"),
        (
            SHIPPING.replace("customer.orders", r#"function(x) external {java: {class: "a", method signature: "b"}}"#),
            "external",
        ),
    ];
    for (xml, expected) in cases {
        let error = Decisions::parse(xml.as_bytes()).expect_err(expected);
        assert!(error.contains(expected), "{expected}: {error}");
    }
}

#[test]
fn a_cycle_of_required_decisions_is_refused() {
    let xml = SHIPPING.replace(
        r#"<decisionTable id="DecisionTable_tier" hitPolicy="FIRST">"#,
        r##"<informationRequirement id="cycle"><requiredDecision href="#shippingCost" /></informationRequirement>
    <decisionTable id="DecisionTable_tier" hitPolicy="FIRST">"##,
    );
    let error = Decisions::parse(xml.as_bytes()).unwrap_err();
    assert!(error.contains("cycle"), "{error}");
}
