//! A model as Camunda Modeler 5 writes it (collaboration, lanes, diagram, annotations), using
//! every element kind of the engine core, runs to its end.

mod support;

use serde_json::json;
use support::*;

const ORDER: &str = include_str!("fixtures/order_fulfilment.bpmn");

fn run(express: bool, gift: bool) -> (TestEngine, i64) {
    let mut t = TestEngine::new();
    let response = t.deploy_named("order_fulfilment.bpmn", ORDER);
    assert_eq!(response.rejection, None, "{:?}", response.rejection);
    let pi = t.create(
        "order_fulfilment",
        json!({
            "orderId": "o-42",
            "order": {"items": [{"price": 10}, {"price": 32}], "address": "Main St 1"},
            "items": [{"price": 10}, {"price": 32}],
            "region": "eu",
            "retryCount": 4,
            "express": express,
            "gift": gift,
        }),
    );
    let (key, job) = t.activate("check-order", 1).remove(0);
    assert_eq!(job.variables["items"], json!([{"price": 10}, {"price": 32}]));
    assert_eq!(job.variables["currency"], json!("EUR"));
    t.complete(key, json!({"result": {"valid": true}, "fraudScore": 0.1}));
    t.work("io.camunda.zeebe:userTask", json!({"approved": true}));
    t.work("audit", json!({}));
    let (key, job) = t.activate("discount-eu", 1).remove(0);
    assert_eq!(job.retries, 5);
    t.complete(key, json!({"discount": 0.1}));
    let (key, job) = t.activate("notify", 1).remove(0);
    assert_eq!(job.retries, 4, "retries from a FEEL expression");
    assert_eq!(job.variables["address"], json!("Main St 1"));
    t.complete(key, json!({"trackingId": "T-1"}));
    (t, pi)
}

#[test]
fn the_order_model_runs_to_its_end_on_every_option_path() {
    for (express, gift) in [(false, false), (true, false), (true, true), (false, true)] {
        let (t, pi) = run(express, gift);
        assert!(t.is_completed(pi), "express={express} gift={gift}");
        let vars = t.final_variables(pi);
        assert_eq!(vars["total"], json!(42));
        assert_eq!(vars["status"], json!("shipped"));
        assert_eq!(vars["order"]["id"], json!("o-42"));
        assert_eq!(vars["order"]["trackingId"], json!("T-1"));
        assert_eq!(vars.get("expressBooked").is_some(), express);
        assert!(t.state().element_instances.is_empty());
    }
}
