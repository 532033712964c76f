//! The shipped examples run through every path: `examples/saga.bpmn` (compensation undoes
//! exactly the completed steps, newest first) and `examples/order.bpmn` (payment with a
//! 30-second timeout, a correlated message, parallel work, compensation when shipping fails).

mod support;

use baton_engine::*;
use serde_json::json;
use support::*;

const SAGA: &str = include_str!("../../../examples/saga.bpmn");
const ORDER: &str = include_str!("../../../examples/order.bpmn");

fn throw_error(t: &mut TestEngine, job_type: &str, code: &str) {
    let jobs = t.activate(job_type, 1);
    assert_eq!(jobs.len(), 1, "expected a job of type {job_type}");
    let response = t.job_command(Intent::ThrowError, jobs[0].0, |job| job.error_code = code.into());
    assert_eq!(response.rejection, None);
}

/// Job types activated since the mark, in activation order.
fn activated_job_types(t: &TestEngine) -> Vec<String> {
    t.log
        .iter()
        .filter(|r| r.record_type == RecordType::Event && r.intent == Intent::Created)
        .filter_map(|r| match &r.value {
            RecordValue::Job(job) => Some(job.job_type.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_saga_books_a_trip_without_compensating_anything() {
    let mut t = TestEngine::new();
    assert_eq!(t.deploy(SAGA).rejection, None);
    let pi = t.create("trip_booking", json!({"trip": "t-1"}));
    for step in ["reserve-hotel", "book-car", "charge-card", "send-itinerary"] {
        t.work(step, json!({}));
    }
    assert!(t.is_completed(pi));
    assert_eq!(activated_job_types(&t), ["reserve-hotel", "book-car", "charge-card", "send-itinerary"]);
    assert!(t.state().compensations.is_empty(), "the subscriptions go with the instance");
}

#[test]
fn a_failure_after_the_last_step_undoes_every_step_newest_first() {
    let mut t = TestEngine::new();
    assert_eq!(t.deploy(SAGA).rejection, None);
    let pi = t.create("trip_booking", json!({}));
    for step in ["reserve-hotel", "book-car", "charge-card"] {
        t.work(step, json!({}));
    }
    t.mark();
    throw_error(&mut t, "send-itinerary", "mail-down");
    let undo: Vec<String> =
        t.rendered().lines().filter(|l| l.starts_with("E JOB CREATED")).map(str::to_string).collect();
    assert_eq!(
        undo,
        [
            "E JOB CREATED refund-card refund_card retries=3",
            "E JOB CREATED cancel-car cancel_car retries=3",
            "E JOB CREATED cancel-hotel cancel_hotel retries=3",
        ]
    );
    assert!(!t.is_completed(pi), "the rollback waits for its handlers");
    for handler in ["refund-card", "cancel-car", "cancel-hotel"] {
        t.work(handler, json!({}));
    }
    assert!(t.is_completed(pi));
    assert!(t.lifecycle().contains("ELEMENT_COMPLETED END_EVENT undo_completed_steps"));
}

#[test]
fn a_failure_in_the_middle_undoes_only_the_steps_that_completed() {
    let mut t = TestEngine::new();
    assert_eq!(t.deploy(SAGA).rejection, None);
    let pi = t.create("trip_booking", json!({}));
    t.work("reserve-hotel", json!({}));
    t.mark();
    throw_error(&mut t, "book-car", "no-cars");
    let created: Vec<String> =
        t.rendered().lines().filter(|l| l.starts_with("E JOB CREATED")).map(str::to_string).collect();
    assert_eq!(created, ["E JOB CREATED cancel-hotel cancel_hotel retries=3"], "the car was never booked");
    t.work("cancel-hotel", json!({}));
    assert!(t.is_completed(pi));
    assert!(t.activate("cancel-car", 10).is_empty());
    assert!(t.activate("refund-card", 10).is_empty());
}

fn order_until_shipping(t: &mut TestEngine) -> i64 {
    assert_eq!(t.deploy(ORDER).rejection, None);
    let pi = t.create("order", json!({"orderId": "o-42", "total": 99.5}));
    let jobs = t.activate("payment", 1);
    assert_eq!(jobs[0].1.variables["amount"], json!(99.5), "the input mapping names the amount");
    t.complete(jobs[0].0, json!({"paymentId": "p-1"}));
    assert_eq!(t.publish("payment-received", "o-42", 0, "", json!({"paidAt": "now"})).rejection, None);
    let inventory = t.activate("inventory", 1);
    let parcel = t.activate("parcel", 1);
    assert_eq!((inventory.len(), parcel.len()), (1, 1), "both branches run in parallel");
    t.complete(parcel[0].0, json!({}));
    t.complete(inventory[0].0, json!({"inStock": true}));
    pi
}

#[test]
fn an_order_is_paid_and_shipped() {
    let mut t = TestEngine::new();
    let pi = order_until_shipping(&mut t);
    t.work("shipping", json!({"tracking": "T-9"}));
    assert!(t.is_completed(pi));
    let vars = t.final_variables(pi);
    assert_eq!((vars["paidAt"].clone(), vars["tracking"].clone()), (json!("now"), json!("T-9")));
    assert!(t.lifecycle().contains("ELEMENT_COMPLETED END_EVENT order_fulfilled"));
    assert!(t.activate("refund", 10).is_empty());
}

#[test]
fn a_failed_shipment_refunds_the_payment() {
    let mut t = TestEngine::new();
    let pi = order_until_shipping(&mut t);
    throw_error(&mut t, "shipping", "shipping-failed");
    assert!(!t.is_completed(pi), "the refund runs first");
    t.work("refund", json!({}));
    assert!(t.is_completed(pi));
    assert!(t.lifecycle().contains("ELEMENT_COMPLETED END_EVENT order_cancelled"));
}

#[test]
fn a_payment_not_taken_within_30_seconds_times_out() {
    let mut t = TestEngine::new();
    assert_eq!(t.deploy(ORDER).rejection, None);
    let pi = t.create("order", json!({"orderId": "o-43", "total": 10}));
    let jobs = t.activate("payment", 1);
    t.advance(29_999);
    assert!(!t.is_completed(pi));
    t.advance(1);
    assert!(t.is_completed(pi));
    assert!(t.lifecycle().contains("ELEMENT_COMPLETED END_EVENT payment_timed_out"));
    let late = t.complete(jobs[0].0, json!({}));
    assert!(late.rejection.is_some(), "the job was canceled with its task");
    assert!(t.activate("refund", 10).is_empty(), "a payment that never completed is not refunded");
}
