#!/usr/bin/env bash
# One command, fresh machine: set up a virtualenv with everything the tests need, rebuild
# the shared test data from git history if it is absent, lint, run the whole suite
# (including the real-model end-to-end test), then print the benchmark and reliability
# figures. Exits non-zero on any failure. CI (.ci/run, .github/workflows/ci.yml) runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${REVIEW_BOT_VENV:-.venv}"
PY="$VENV/bin/python"

step() { printf '\n== %s\n' "$*"; }

step "virtualenv $VENV"
python3 -m venv "$VENV"
"$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$PY" -m pip install --quiet --disable-pip-version-check -e '.[test,tokenizer]'

step "local model extra (llama-cpp-python, built once and cached by pip) and the test model"
bash scripts/install_local_extra.sh "$PY"
REVIEW_BOT_TEST_MODEL="$(PYTHON="$PY" bash scripts/fetch_test_model.sh)"
REVIEW_BOT_QWEN_MODEL="$(PYTHON="$PY" bash scripts/fetch_qwen_model.sh)"
export REVIEW_BOT_TEST_MODEL REVIEW_BOT_QWEN_MODEL REVIEW_BOT_REQUIRE_E2E=1

step "test data: ../shared (or \$REVIEW_BOT_SHARED), rebuilt from public git history where absent"
if ! "$PY" scripts/build_shared_data.py; then
    echo "test.sh: could not rebuild the shared test data (no network to GitHub?); the tests use" \
         "the copies in tests/fixtures/ and skip, naming it, what they lack" >&2
fi

step "lint: ruff, mypy, workflows"
"$VENV/bin/ruff" check bot tests bench
"$VENV/bin/mypy"
bash scripts/lint_workflows.sh

step "tests"
"$PY" -m pytest -q tests

step "benchmarks (short setting)"
"$PY" -m bench --short

step "reliability figures"
"$PY" -m bench.reliability
