"""Shared test fixtures: where the project's test data lives.

`../shared` (or `$REVIEW_BOT_SHARED`) holds the full jinja corpus and eval set; when it is
absent, `scripts/build_shared_data.py` rebuilds them from public git history. Without either,
the tests use the copies vendored in tests/fixtures/: the whole eval set and a subset of the
corpus (tests/fixtures/README.md). The webhook payloads and unidiff's sample diffs, which no
git history rebuilds, are always read from tests/fixtures/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REVIEW_BOT_SHARED", REPO_ROOT.parent / "shared")).resolve()
FIXTURES = REPO_ROOT / "tests" / "fixtures"
BUILD_HINT = "run scripts/build_shared_data.py"


def _shared_or_vendored(relative: str) -> Path:
    shared = SHARED / relative
    return shared if shared.is_dir() else FIXTURES / relative


JINJA_CORPUS = _shared_or_vendored("corpus/jinja")
CORPUS = JINJA_CORPUS.parent
FULL_CORPUS = not JINJA_CORPUS.is_relative_to(FIXTURES)  # False: the vendored subset
JINJA_CASES = sorted(p for p in JINJA_CORPUS.iterdir() if p.is_dir())
UNIDIFF_SAMPLES = sorted((FIXTURES / "corpus" / "unidiff-samples").glob("*.diff"))
EVENTS = FIXTURES / "events"
EVAL_SET = _shared_or_vendored("eval/jinja")


def corpus_case(name: str) -> Path:
    """The folder of one jinja corpus case; skips the test when only the vendored subset is here
    and it lacks this case."""
    folder = JINJA_CORPUS / name
    if not folder.is_dir():
        pytest.skip(f"{SHARED / 'corpus' / 'jinja' / name} not found; {BUILD_HINT}")
    return folder


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not found; {BUILD_HINT}")
    return SHARED
