#!/usr/bin/env bash
# Runs every test of Baton: the Rust workspace (unit, record-stream, replay, recovery, crash and
# gateway tests) and the end-to-end suites with real Zeebe clients (pyzeebe, @camunda8/sdk),
# which install themselves into e2e/.venv and e2e/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --all-targets
bash e2e/run.sh
