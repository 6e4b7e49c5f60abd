#!/usr/bin/env bash
# Set up a fresh virtualenv with everything the tests need, then run lint and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${REVIEW_BOT_VENV:-.venv}"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e '.[test]'
"$VENV/bin/ruff" check bot tests bench
"$VENV/bin/mypy"
"$VENV/bin/python" -m pytest -q tests
