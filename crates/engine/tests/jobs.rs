//! Job lifecycle: activation, completion, failure with retries and back-off, time-out, retries
//! and timeout updates, thrown errors.

mod support;

use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

fn one_task() -> Bpmn {
    Bpmn::process("p").start("start").service("task", "work").end("end").chain(&["start", "task", "end"])
}

fn started(n: usize) -> (TestEngine, Vec<i64>) {
    let mut t = TestEngine::new();
    t.deploy_ok(&one_task());
    let keys = (0..n).map(|i| t.create("p", json!({"i": i, "other": "x"}))).collect();
    (t, keys)
}

#[test]
fn activation_hands_out_jobs_in_key_order_up_to_the_maximum() {
    let (mut t, _) = started(3);
    let first = t.activate("work", 2);
    let second = t.activate("work", 2);
    let third = t.activate("work", 2);
    assert_eq!(first.len(), 2);
    assert_eq!(second.len(), 1);
    assert!(third.is_empty());
    assert!(first[0].0 < first[1].0 && first[1].0 < second[0].0);
    assert_eq!(first[0].1.variables, object(json!({"i": 0, "other": "x"})));
    assert!(t.activate("other-type", 5).is_empty());
}

#[test]
fn fetch_variables_limits_what_the_worker_sees() {
    let (mut t, _) = started(1);
    let jobs = t.activate_with("work", 1, 1_000, vec!["i".into(), "missing".into()]);
    assert_eq!(jobs[0].1.variables, object(json!({"i": 0})));
}

#[test]
fn a_failed_job_with_retries_left_is_activatable_again() {
    let (mut t, _) = started(1);
    let key = t.activate("work", 1)[0].0;
    t.mark();
    assert_eq!(t.fail(key, 2, "flaky", 0).rejection, None);
    let again = t.activate("work", 1);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].1.retries, 2);
    expect![[r#"
        C JOB FAIL
        E JOB FAILED work task retries=2
        C JOB_BATCH ACTIVATE work jobs=0
        E JOB_BATCH ACTIVATED work jobs=1
    "#]]
    .assert_eq(&t.rendered());
}

#[test]
fn a_failed_job_with_back_off_waits_for_it() {
    let (mut t, _) = started(1);
    let key = t.activate("work", 1)[0].0;
    t.fail(key, 2, "busy", 5_000);
    assert!(t.activate("work", 1).is_empty(), "not before the back-off");
    assert_eq!(t.engine.next_due_ms(), Some(START_MS + 5_000));
    t.advance(4_999);
    assert!(t.activate("work", 1).is_empty(), "never early");
    t.mark();
    t.advance(1);
    expect![[r#"
        C JOB RECUR_AFTER_BACKOFF work task retries=2
        E JOB RECURRED_AFTER_BACKOFF work task retries=2
    "#]]
    .assert_eq(&t.rendered());
    assert_eq!(t.activate("work", 1).len(), 1);
}

#[test]
fn a_job_out_of_retries_raises_an_incident_resolved_after_retries_are_updated() {
    let (mut t, pis) = started(1);
    let key = t.activate("work", 1)[0].0;
    t.mark();
    t.fail(key, 0, "service down", 0);
    expect![[r#"
        C JOB FAIL
        E JOB FAILED work task retries=0
        E INCIDENT CREATED JOB_NO_RETRIES task "service down"
    "#]]
    .assert_eq(&t.rendered());
    assert!(t.activate("work", 1).is_empty());
    let incident = t.incident_keys()[0];
    assert_eq!(t.state().incidents[&incident].job_key, key);

    // Resolving without new retries raises the incident again.
    t.resolve(incident);
    let incidents = t.incident_keys();
    assert_eq!(incidents.len(), 1);
    assert_ne!(incidents[0], incident);
    assert!(t.activate("work", 1).is_empty());

    let updated = t.job_command(Intent::UpdateRetries, key, |job| job.retries = 3);
    assert_eq!(updated.rejection, None);
    t.mark();
    t.resolve(incidents[0]);
    expect![[r#"
        C INCIDENT RESOLVE
        E INCIDENT RESOLVED JOB_NO_RETRIES task "service down"
        E JOB RECURRED_AFTER_BACKOFF work task retries=3
    "#]]
    .assert_eq(&t.rendered());
    let jobs = t.activate("work", 1);
    assert_eq!(jobs[0].1.retries, 3);
    t.complete(jobs[0].0, json!({}));
    assert!(t.is_completed(pis[0]));
}

#[test]
fn update_retries_rejects_non_positive_retries_and_unknown_jobs() {
    let (mut t, _) = started(1);
    let key = t.activate("work", 1)[0].0;
    let zero = t.job_command(Intent::UpdateRetries, key, |job| job.retries = 0);
    assert_eq!(zero.rejection.unwrap().rejection_type, RejectionType::InvalidArgument);
    let unknown = t.job_command(Intent::UpdateRetries, 42, |job| job.retries = 1);
    assert_eq!(
        unknown.rejection.unwrap().reason,
        "Expected to update retries of job with key '42', but no such job was found"
    );
}

#[test]
fn a_timed_out_job_is_activatable_again_and_a_late_completion_is_rejected() {
    let (mut t, pis) = started(1);
    let (key, job) = t.activate_with("work", 1, 10_000, Vec::new()).remove(0);
    assert_eq!(job.deadline_ms, START_MS + 10_000);
    t.advance(9_999);
    assert!(t.activate("work", 1).is_empty());
    t.mark();
    t.advance(1);
    expect![[r#"
        C JOB TIME_OUT work task retries=3
        E JOB TIMED_OUT work task retries=3
    "#]]
    .assert_eq(&t.rendered());
    let (again, job) = t.activate("work", 1).remove(0);
    assert_eq!(again, key);
    assert_eq!(job.retries, 3, "a time-out does not use up a retry");
    assert_eq!(t.complete(again, json!({"by": "second"})).rejection, None);
    let late = t.complete(key, json!({"by": "first"}));
    let rejection = late.rejection.expect("late completion is rejected");
    assert_eq!(rejection.rejection_type, RejectionType::NotFound);
    assert_eq!(t.final_variables(pis[0])["by"], json!("second"));
}

#[test]
fn update_timeout_moves_the_deadline() {
    let (mut t, _) = started(1);
    let key = t.activate_with("work", 1, 10_000, Vec::new())[0].0;
    let updated = t.job_command(Intent::UpdateTimeout, key, |job| job.timeout_ms = 60_000);
    assert_eq!(updated.rejection, None);
    t.advance(30_000);
    assert!(t.activate("work", 1).is_empty());
    t.advance(30_000);
    assert_eq!(t.activate("work", 1).len(), 1);
}

#[test]
fn a_thrown_error_without_a_catch_event_raises_an_incident_naming_the_code() {
    let (mut t, _) = started(1);
    let key = t.activate("work", 1)[0].0;
    t.mark();
    let thrown = t.job_command(Intent::ThrowError, key, |job| {
        job.error_code = "PAYMENT_DECLINED".into();
        job.error_message = "card expired".into();
    });
    assert_eq!(thrown.rejection, None);
    expect![[r#"
        C JOB THROW_ERROR
        E JOB ERROR_THROWN work task retries=3 code=PAYMENT_DECLINED
        E INCIDENT CREATED UNHANDLED_ERROR_EVENT task "Expected to throw an error event with the code 'PAYMENT_DECLINED' with message 'card expired', but it was not caught. No error events are available in the scope."
    "#]].assert_eq(&t.rendered());
    let incident = t.incident_keys()[0];
    assert_eq!(t.state().incidents[&incident].error_type, ErrorType::UnhandledErrorEvent);
    t.resolve(incident);
    assert_eq!(t.activate("work", 1).len(), 1, "resolving makes the job activatable again");
}

#[test]
fn completing_twice_or_failing_an_unactivated_job_is_rejected() {
    let (mut t, _) = started(1);
    let key = t.state().jobs.keys().next().copied().unwrap();
    let fail = t.fail(key, 1, "", 0);
    assert_eq!(fail.rejection.unwrap().rejection_type, RejectionType::InvalidState);
    assert_eq!(t.complete(key, json!({})).rejection, None);
    let twice = t.complete(key, json!({}));
    assert_eq!(twice.rejection.unwrap().rejection_type, RejectionType::NotFound);
}

#[test]
fn activation_is_validated() {
    let (mut t, _) = started(1);
    let value = JobBatchRecord {
        job_type: "".into(),
        worker: "w".into(),
        timeout_ms: 1,
        max_jobs_to_activate: 1,
        fetch_variables: vec![],
        job_keys: vec![],
        jobs: vec![],
        truncated: false,
    };
    let response = t.send(Command::new(Intent::Activate, -1, RecordValue::JobBatch(Box::new(value))));
    assert_eq!(response.rejection.unwrap().rejection_type, RejectionType::InvalidArgument);
}
