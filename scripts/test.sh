#!/usr/bin/env bash
# One command, fresh machine: set up a virtualenv with everything the tests need, lint,
# run the whole suite (including the real-model end-to-end test), then print the
# benchmark and reliability figures. Exits non-zero on any failure.
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
PYTHON="$PY" bash scripts/fetch_qwen_model.sh >/dev/null  # the real code model of the e2e tests (1.1 GB, cached)
export REVIEW_BOT_TEST_MODEL REVIEW_BOT_REQUIRE_E2E=1

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
