//! Architecture invariants, checked rather than remembered (in the manner of rust-analyzer's
//! `tidy` tests): the engine core does no I/O, reads no clock, spawns no threads and depends on no
//! async runtime.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const CORE: [&str; 3] = ["baton-engine", "baton-model", "baton-feel"];

/// Crates the core may name directly in `[dependencies]`.
const ALLOWED_DIRECT: [&str; 15] = [
    "baton-feel",
    "baton-model",
    "serde",
    "serde_json",
    "thiserror",
    "roxmltree",
    "dsntk-feel",
    "dsntk-feel-parser",
    "dsntk-feel-evaluator",
    "dsntk-feel-temporal",
    // DMN decisions (`baton_feel::dmn`): the model parser and the decision table compiler. They
    // reach the network stack only through `dsntk-feel-evaluator`, like the FEEL crates.
    "dsntk-model",
    "dsntk-model-evaluator",
    // Timer schedules: calendar arithmetic and cron, pure functions of the times passed in.
    "jiff",
    "croner",
    // Camunda's `uuid()` FEEL function: the core's one source of randomness, whose values are
    // written into the events they lead to, so replay (which applies events) stays exact.
    "uuid",
];

/// Crates that must not be reachable from the core.
const FORBIDDEN: [&str; 6] = ["tokio", "async-std", "smol", "mio", "hyper", "reqwest"];

/// The FEEL crates pull in reqwest (and so tokio) for their Java/PMML external functions. The
/// facade refuses such functions at parse time, so that code is never reached; the dependency is
/// tolerated only behind these crates.
const TOLERATED_CARRIERS: [&str; 1] = ["dsntk-feel-evaluator"];

struct Graph {
    names: BTreeMap<String, String>,
    edges: BTreeMap<String, Vec<String>>,
}

fn metadata() -> (serde_json::Value, PathBuf) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let root = PathBuf::from(value["workspace_root"].as_str().expect("workspace root"));
    (value, root)
}

fn graph(metadata: &serde_json::Value) -> Graph {
    let mut names = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        names.insert(package["id"].as_str().unwrap().to_string(), package["name"].as_str().unwrap().to_string());
    }
    let mut edges = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().expect("resolve graph") {
        let normal: Vec<String> = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|dep| dep["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].is_null()))
            .map(|dep| dep["pkg"].as_str().unwrap().to_string())
            .collect();
        edges.insert(node["id"].as_str().unwrap().to_string(), normal);
    }
    Graph { names, edges }
}

impl Graph {
    fn id(&self, name: &str) -> String {
        self.names.iter().find(|(_, n)| *n == name).map(|(id, _)| id.clone()).expect("package in graph")
    }

    /// Names reachable from `start` without passing through `stop`.
    fn reachable(&self, start: &str, stop: &[&str]) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![self.id(start)];
        while let Some(id) = stack.pop() {
            let name = self.names[&id].clone();
            if stop.contains(&name.as_str()) || !seen.insert(name) {
                continue;
            }
            stack.extend(self.edges.get(&id).into_iter().flatten().cloned());
        }
        seen
    }
}

#[test]
fn the_core_crates_depend_only_on_what_they_may() {
    let (metadata, _) = metadata();
    let graph = graph(&metadata);
    for krate in CORE {
        let id = graph.id(krate);
        for dep in &graph.edges[&id] {
            let name = &graph.names[dep];
            assert!(ALLOWED_DIRECT.contains(&name.as_str()), "{krate} must not depend on {name}");
        }
    }
}

#[test]
fn no_async_runtime_or_network_stack_is_reachable_from_the_engine() {
    let (metadata, _) = metadata();
    let graph = graph(&metadata);
    let reachable = graph.reachable("baton-engine", &TOLERATED_CARRIERS);
    for forbidden in FORBIDDEN {
        assert!(!reachable.contains(forbidden), "baton-engine reaches {forbidden}");
    }
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn the_core_sources_do_no_io_read_no_clock_and_spawn_no_threads() {
    let (_, root) = metadata();
    let forbidden = [
        "std::fs",
        "std::net",
        "std::thread",
        "std::process",
        "std::time",
        "SystemTime",
        "Instant::now",
        "Local::now",
        "Utc::now",
        "tokio",
        "rand::",
        "std::io::stdin",
        "println!",
    ];
    for krate in ["engine", "model", "feel"] {
        let mut files = Vec::new();
        rust_files(&root.join("crates").join(krate).join("src"), &mut files);
        assert!(!files.is_empty());
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable source");
            for (line_no, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for pattern in forbidden {
                    assert!(
                        !code.contains(pattern),
                        "{}:{}: `{pattern}` is not allowed in the deterministic core",
                        file.display(),
                        line_no + 1
                    );
                }
            }
        }
    }
}
