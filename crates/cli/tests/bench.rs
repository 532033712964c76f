//! `baton bench` runs the model it is given to the end: every instance it reports completed, with
//! jobs taken from a stream or by long polls, durable or in memory, through the gateway or
//! embedded.

use std::process::Command;

use serde_json::Value;

fn bench(extra: &[&str]) -> Value {
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/wf3_jobs.bpmn");
    let output = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["bench", "--model", model, "--job-vars", r#"{"x":3}"#, "--count", "40", "--concurrency", "4", "--json"])
        .args(extra)
        .output()
        .expect("baton bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "baton bench {extra:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|error| panic!("not one JSON object ({error}): {stdout}"))
}

#[test]
fn every_way_of_delivering_jobs_runs_every_instance_to_the_end() {
    for (extra, durable, delivery) in [
        (&[][..], true, "stream"),
        (&["--poll"][..], true, "poll"),
        (&["--in-memory", "--poll"][..], false, "poll"),
        (&["--embedded", "--in-memory"][..], false, "stream"),
    ] {
        let report = bench(extra);
        assert_eq!(report["count"], 40, "{extra:?}: {report}");
        assert_eq!(report["durable"], durable, "{extra:?}");
        assert_eq!(report["job_delivery"], delivery, "{extra:?}");
        assert_eq!(report["job_types"], serde_json::json!(["step1", "step2", "step3"]));
        // Each instance writes dozens of records; none completed without its jobs.
        assert!(report["records"].as_u64().is_some_and(|records| records >= 40 * 30), "{extra:?}: {report}");
        assert!(report["p50_ms"].as_f64().is_some_and(|p50| p50 > 0.0), "{extra:?}: {report}");
    }
}

#[test]
fn long_polls_and_the_embedded_mode_do_not_mix() {
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/wf3_jobs.bpmn");
    let output = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["bench", "--model", model, "--embedded", "--poll"])
        .output()
        .expect("baton bench runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--poll"), "the error names the flag");
}
