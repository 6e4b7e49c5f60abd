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


def _model_path(env_var: str, file_name: str, what: str, script: str) -> Path:
    """A GGUF from `env_var` or the model cache, after checking llama_cpp is importable; skip or
    fail (REVIEW_BOT_REQUIRE_E2E) if either is missing."""
    if importlib.util.find_spec("llama_cpp") is None:
        _missing("llama-cpp-python is not installed: run scripts/install_local_extra.sh <python>")
    explicit = os.environ.get(env_var)
    path = Path(explicit) if explicit else model_cache_dir() / file_name
    if not path.is_file():
        _missing(f"{what} not found at {path}: run {script}")
    return path


@pytest.fixture(scope="session")
def llama_model_path() -> Path:
    """The small test GGUF (SmolLM2-135M)."""
    return _model_path("REVIEW_BOT_TEST_MODEL", MODEL_FILE, "test model", "scripts/fetch_test_model.sh")


QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


@pytest.fixture(scope="session")
def qwen_model_path() -> Path:
    """Qwen2.5-Coder-1.5B-Instruct, the real code model."""
    return _model_path("REVIEW_BOT_QWEN_MODEL", QWEN_FILE, "Qwen2.5-Coder GGUF", "scripts/fetch_qwen_model.sh")
