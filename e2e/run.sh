#!/usr/bin/env bash
# End-to-end tests of the real `baton` binary with real Zeebe clients.
#
#   e2e/run.sh            # pyzeebe suite, then the @camunda8/sdk suites (gRPC, REST /v2) if node is installed
#
# Prepares e2e/.venv with a pinned pyzeebe, builds `baton` (debug: the tests are I/O-bound and a
# release build would double CI time), then runs the suites. Exits non-zero on any failure; each
# suite ends with a `<N> passed, <M> failed` line, and the script with `e2e: <N> passed, <M> failed`.
set -euo pipefail

cd "$(dirname "$0")/.."
PYZEEBE_VERSION="${PYZEEBE_VERSION:-4.7.0}"
VENV=e2e/.venv

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" - "$PYZEEBE_VERSION" <<'PY' 2>/dev/null
import importlib.metadata, sys
sys.exit(0 if importlib.metadata.version("pyzeebe") == sys.argv[1] else 1)
PY
then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "pyzeebe==$PYZEEBE_VERSION"
fi

cargo build -p baton
export BATON_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/baton"

status=0
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT

# Runs one suite, keeping its closing "<N> passed, <M> failed" line for the total.
run_suite() {
    local name=$1; shift
    local log
    log=$(mktemp)
    echo "=== $name"
    set +e
    "$@" 2>&1 | tee "$log"
    local code=${PIPESTATUS[0]}
    set -e
    grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 >> "$summary" || true
    rm -f "$log"
    if [ "$code" -ne 0 ]; then status=1; fi
}

run_suite pyzeebe "$VENV/bin/python" e2e/test_pyzeebe.py

# The JS SDK found a real incompatibility (gzip requests), so it runs whenever Node is there;
# E2E_NODE=0 skips it.
if [ "${E2E_NODE:-1}" = "1" ] && command -v node >/dev/null && command -v npm >/dev/null; then
    if [ ! -d e2e/node_modules/@camunda8/sdk ]; then
        (cd e2e && npm ci --no-audit --no-fund --silent)
    fi
    run_suite "@camunda8/sdk" node e2e/test_node.mjs
    run_suite "@camunda8/sdk REST (/v2)" node e2e/test_node_rest.mjs
else
    echo "=== @camunda8/sdk: skipped (no node/npm, or E2E_NODE=0)"
fi

passed=$(awk '{p += $1} END {print p + 0}' "$summary")
failed=$(awk '{f += $3} END {print f + 0}' "$summary")
# A suite that died before its summary line counts as one failure.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "e2e: $passed passed, $failed failed"
exit "$status"
