"""The real-model tests: a tiny GGUF model run by llama-cpp-python, in-process and as a server.

They need the optional `local` extra and the model file (scripts/install_local_extra.sh,
scripts/fetch_test_model.sh). Without them the tests skip and say why; with
REVIEW_BOT_REQUIRE_E2E=1 (CI sets it) a missing piece fails the run instead, so CI can't
go green by skipping.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

MODEL_FILE = "smollm2-135m-instruct-q4_1.gguf"


def model_cache_dir() -> Path:
    return Path(os.environ.get("REVIEW_BOT_MODEL_CACHE") or Path.home() / ".cache" / "review-bot")


def _missing(reason: str) -> None:
    if os.environ.get("REVIEW_BOT_REQUIRE_E2E") == "1":
        pytest.fail(f"{reason} (REVIEW_BOT_REQUIRE_E2E=1 makes this a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def llama_model_path() -> Path:
    """The test GGUF, after checking llama_cpp is importable; skip or fail if either is missing."""
    if importlib.util.find_spec("llama_cpp") is None:
        _missing("llama-cpp-python is not installed: run scripts/install_local_extra.sh <python>")
    explicit = os.environ.get("REVIEW_BOT_TEST_MODEL")
    path = Path(explicit) if explicit else model_cache_dir() / MODEL_FILE
    if not path.is_file():
        _missing(f"test model not found at {path}: run scripts/fetch_test_model.sh")
    return path


QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


@pytest.fixture(scope="session")
def qwen_model_path() -> Path:
    """Qwen2.5-Coder-1.5B-Instruct (scripts/fetch_qwen_model.sh); skip or fail if it is missing."""
    if importlib.util.find_spec("llama_cpp") is None:
        _missing("llama-cpp-python is not installed: run scripts/install_local_extra.sh <python>")
    explicit = os.environ.get("REVIEW_BOT_QWEN_MODEL")
    path = Path(explicit) if explicit else model_cache_dir() / QWEN_FILE
    if not path.is_file():
        _missing(f"Qwen2.5-Coder GGUF not found at {path}: run scripts/fetch_qwen_model.sh")
    return path
