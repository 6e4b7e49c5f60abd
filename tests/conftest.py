"""Shared test fixtures: where the project's shared data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REVIEW_BOT_SHARED", REPO_ROOT.parent / "shared")).resolve()
CORPUS = SHARED / "corpus"
JINJA_CORPUS = CORPUS / "jinja"
JINJA_CASES = sorted(p for p in (CORPUS / "jinja").iterdir() if p.is_dir()) if (CORPUS / "jinja").is_dir() else []
UNIDIFF_SAMPLES = sorted((CORPUS / "unidiff-samples").glob("*.diff"))
EVENTS = SHARED / "events"
EVAL_SET = SHARED / "eval" / "jinja"
FIXTURES = REPO_ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared data not found at {SHARED}; set REVIEW_BOT_SHARED")
    return SHARED
