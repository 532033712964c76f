//! Replay property: after every step of many random runs, the state rebuilt from the log alone
//! equals the live state. (`TestEngine` checks it after every command.)

mod support;

use baton_engine::*;
use proptest::prelude::*;
use serde_json::json;
use support::*;

fn models() -> Vec<Bpmn> {
    let inner = Bpmn::process("inner").start("s").service("inner", "b").end("e").chain(&["s", "inner", "e"]);
    vec![
        Bpmn::process("seq")
            .start("start")
            .service("t1", "a")
            .service("t2", "b")
            .end("end")
            .chain(&["start", "t1", "t2", "end"]),
        Bpmn::process("par")
            .start("start")
            .parallel("fork")
            .service("x", "a")
            .sub_process("sub", inner)
            .parallel("join")
            .end("end")
            .flow("start", "fork")
            .chain(&["fork", "x", "join"])
            .chain(&["fork", "sub", "join"])
            .flow("join", "end"),
        Bpmn::process("incl")
            .start("start")
            .inclusive("fork", Some("d"))
            .service("x", "a")
            .service("y", "b")
            .inclusive("join", None)
            .terminate_end("end")
            .flow("start", "fork")
            .flow_named("c1", "fork", "x", Some("=n > 1"))
            .flow_named("d", "fork", "y", None)
            .flow("x", "join")
            .flow("y", "join")
            .flow("join", "end"),
        Bpmn::process("xor")
            .start("start")
            .script("s", "=n * 2", "m")
            .xor("g", None)
            .service("big", "a")
            .end("small")
            .end("end")
            .flow("start", "s")
            .flow("s", "g")
            .flow_named("to_big", "g", "big", Some("=m > 4"))
            .flow_named("to_small", "g", "small", Some("=m <= 4"))
            .flow("big", "end"),
    ]
}

#[derive(Debug, Clone)]
enum Step {
    Create { model: usize, n: Option<i64> },
    Activate { job_type: usize, timeout_ms: i64 },
    Complete { pick: usize, n: i64 },
    Fail { pick: usize, retries: i32, backoff_ms: i64 },
    ThrowError { pick: usize },
    UpdateRetries { pick: usize },
    Resolve { pick: usize },
    SetVariables { pick: usize, n: i64 },
    Cancel { pick: usize },
    Advance { ms: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..4usize, proptest::option::of(0..5i64)).prop_map(|(model, n)| Step::Create { model, n }),
        3 => (0..2usize, 1..20_000i64).prop_map(|(job_type, timeout_ms)| Step::Activate { job_type, timeout_ms }),
        4 => (any::<usize>(), 0..5i64).prop_map(|(pick, n)| Step::Complete { pick, n }),
        1 => (any::<usize>(), 0..3i32, 0..2i64).prop_map(|(pick, retries, b)| Step::Fail { pick, retries, backoff_ms: b * 3_000 }),
        1 => any::<usize>().prop_map(|pick| Step::ThrowError { pick }),
        1 => any::<usize>().prop_map(|pick| Step::UpdateRetries { pick }),
        1 => any::<usize>().prop_map(|pick| Step::Resolve { pick }),
        1 => (any::<usize>(), 0..5i64).prop_map(|(pick, n)| Step::SetVariables { pick, n }),
        1 => any::<usize>().prop_map(|pick| Step::Cancel { pick }),
        1 => (1..15_000i64).prop_map(|ms| Step::Advance { ms }),
    ]
}

fn pick<T: Copy>(items: &[T], index: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[index % items.len()])
}

fn run(steps: &[Step]) {
    let mut t = TestEngine::new();
    for model in models() {
        t.deploy_ok(&model);
    }
    let ids = ["seq", "par", "incl", "xor"];
    for step in steps {
        let jobs: Vec<i64> = t.state().jobs.keys().copied().collect();
        let incidents: Vec<i64> = t.state().incidents.keys().copied().collect();
        let instances: Vec<i64> = t.state().element_instances.keys().copied().collect();
        match step.clone() {
            Step::Create { model, n } => {
                let vars = n.map(|n| json!({ "n": n })).unwrap_or(json!({}));
                t.create(ids[model], vars);
            }
            Step::Activate { job_type, timeout_ms } => {
                t.activate_with(["a", "b"][job_type], 3, timeout_ms, Vec::new());
            }
            Step::Complete { pick: p, n } => {
                if let Some(key) = pick(&jobs, p) {
                    t.complete(key, json!({ "n": n }));
                }
            }
            Step::Fail { pick: p, retries, backoff_ms } => {
                if let Some(key) = pick(&jobs, p) {
                    t.fail(key, retries, "random failure", backoff_ms);
                }
            }
            Step::ThrowError { pick: p } => {
                if let Some(key) = pick(&jobs, p) {
                    t.job_command(Intent::ThrowError, key, |job| job.error_code = "E".into());
                }
            }
            Step::UpdateRetries { pick: p } => {
                if let Some(key) = pick(&jobs, p) {
                    t.job_command(Intent::UpdateRetries, key, |job| job.retries = 2);
                }
            }
            Step::Resolve { pick: p } => {
                if let Some(key) = pick(&incidents, p) {
                    t.resolve(key);
                }
            }
            Step::SetVariables { pick: p, n } => {
                if let Some(key) = pick(&instances, p) {
                    t.set_variables(key, json!({ "n": n }), p % 2 == 0);
                }
            }
            Step::Cancel { pick: p } => {
                if let Some(key) = pick(&instances, p) {
                    t.cancel(key);
                }
            }
            Step::Advance { ms } => t.advance(ms),
        }
    }
    assert_invariants(&t);
}

/// Cross-checks between the state's indexes; a violation is an engine bug.
fn assert_invariants(t: &TestEngine) {
    let state = t.state();
    for (key, instance) in &state.element_instances {
        if instance.value.flow_scope_key >= 0 {
            let scope = state.element_instances.get(&instance.value.flow_scope_key).expect("scope exists");
            assert!(scope.children.contains(key), "scope knows its child");
        }
        for child in &instance.children {
            assert!(state.element_instances.contains_key(child), "children exist");
        }
    }
    for (key, job) in &state.jobs {
        let owner = state.element_instances.get(&job.record.element_instance_key).expect("a job's element exists");
        assert_eq!(owner.job_key, *key);
    }
    for incident in state.incidents.values() {
        assert!(state.element_instances.contains_key(&incident.element_instance_key), "incident on a live element");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn replaying_the_log_rebuilds_the_live_state(steps in proptest::collection::vec(step(), 1..40)) {
        run(&steps);
    }
}

#[test]
fn a_long_run_with_everything_finishing_replays_too() {
    let mut t = TestEngine::new();
    t.check_replay_each_step = false;
    for model in models() {
        t.deploy_ok(&model);
    }
    for round in 0..30 {
        for id in ["seq", "par", "incl", "xor"] {
            t.create(id, json!({ "n": round % 4 }));
        }
        for _ in 0..4 {
            for job_type in ["a", "b"] {
                for (key, _) in t.activate(job_type, 100) {
                    t.complete(key, json!({}));
                }
            }
        }
    }
    t.assert_replay_equal();
    assert!(t.state().element_instances.is_empty(), "every instance ended");
    assert!(t.state().jobs.is_empty());
}
