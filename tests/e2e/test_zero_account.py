"""No account, no endpoint, no api set: `review-bot dry-run` reviews in process.

The environment holds no HF_TOKEN, no REVIEW_BOT_* and no config file; the model is a real
GGUF (SmolLM2-135M here; Qwen2.5-Coder-1.5B in the last test), or the pinned default fetched
from a loopback stand-in for the Hub (HF_ENDPOINT) into a temporary HF_HOME.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import DEFAULT_GGUF
from tests.conftest import CORPUS, REPO_ROOT
from tests.e2e.test_real_model import assert_grounded
from tests.servers.hub_server import HubServer

CASE = CORPUS / "jinja" / "e8da6267f8"  # one Python hunk: one short request


def bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """What a new user has: a PATH and a HOME. No token, no HF_*, no REVIEW_BOT_* settings."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "PYTHONPATH": str(REPO_ROOT),
            "REVIEW_BOT_SHARED": os.environ.get("REVIEW_BOT_SHARED", str(CORPUS.parent)), **extra}


def review_bot(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "dry-run", "--diff", str(CASE / "pr.diff"), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def check_review(done: subprocess.CompletedProcess[str], max_requests: int) -> dict[str, object]:
    assert done.returncode == 0, done.stderr[-3000:]
    assert "(llama-cpp)" in done.stderr  # "reviewing with <model> (llama-cpp) template review"
    result = json.loads(done.stdout)
    stats = result["stats"]
    assert 1 <= stats["requests"] <= max_requests and stats["prompt_tokens"] > 0
    assert_grounded(result["findings"], CASE)
    return result


def test_model_path_alone_reviews_in_process(llama_model_path: Path, tmp_path: Path) -> None:
    env = bare_env(tmp_path, HF_HUB_OFFLINE="1")  # and it needs no network at all
    done = review_bot(["--model-path", str(llama_model_path), "--format", "json", "--max-requests", "1"],
                      env, tmp_path)
    check_review(done, 1)
    assert "smollm2" in done.stderr.lower()


def test_offline_with_an_empty_cache_exits_3_with_one_line(llama_model_path: Path, tmp_path: Path) -> None:
    del llama_model_path  # the fixture checks llama_cpp is importable (the extra is checked first)
    done = review_bot([], bare_env(tmp_path, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf")), tmp_path)
    assert done.returncode == 3 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("review-bot: error: the model starcoder2-3b.Q4_K_M.gguf (1.89 GB) is not in the "
                               "Hugging Face cache")
    assert "--model-path FILE" in lines[0] and "run once with network" in lines[0]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def test_the_default_gguf_is_fetched_once_then_used_from_the_cache(llama_model_path: Path, tmp_path: Path) -> None:
    # The stand-in serves SmolLM2 under the pinned StarCoder2 path: the run is the real default route,
    # with the sha256 of what the stand-in serves pinned (the built-in pin is the real StarCoder2's).
    with HubServer({DEFAULT_GGUF: llama_model_path}) as hub:
        env = bare_env(tmp_path, HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"),
                       REVIEW_BOT_GGUF_SHA256=sha256_file(llama_model_path))
        first = review_bot(["--format", "json", "--max-requests", "1"], env, tmp_path)
        check_review(first, 1)
        assert "downloading starcoder2-3b.Q4_K_M.gguf (98.4 MB)" in first.stderr
        assert "starcoder2-3b.Q4_K_M.gguf: 100%" in first.stderr
        assert len(hub.downloads) == 1
        seen = len(hub.requests)
        second = review_bot(["--format", "json", "--max-requests", "1"], env, tmp_path)
        check_review(second, 1)
        assert len(hub.requests) == seen and "downloading" not in second.stderr
    quiet = review_bot(["--format", "json", "--max-requests", "1", "-q"],
                       {**env, "HF_HUB_OFFLINE": "1"}, tmp_path)  # offline now: the cache serves
    assert quiet.returncode == 0, quiet.stderr
    assert "review-bot" not in quiet.stderr and "downloading" not in quiet.stderr and "%|" not in quiet.stderr


def test_qwen_reviews_in_process_with_no_account(qwen_model_path: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    done = review_bot(["--model-path", str(qwen_model_path), "--format", "json", "--max-requests", "1",
                       "--min-severity", "info"], bare_env(tmp_path, HF_HUB_OFFLINE="1"), tmp_path, timeout=900)
    result = check_review(done, 1)
    with capsys.disabled():
        print(f"\n[e2e qwen, no account] findings={len(result['findings'])} stats={result['stats']}")


def test_a_swapped_model_in_the_cache_is_refused_offline_with_one_line(llama_model_path: Path,
                                                                        tmp_path: Path) -> None:
    """Issue 16, defect 6: whoever writes the runner's cache (a poisoned `actions/cache` entry) puts
    other weights in a blob named after their own sha256, linked from snapshots/<pinned revision>/."""
    pin = sha256_file(llama_model_path)
    with HubServer({DEFAULT_GGUF: llama_model_path}) as hub:
        env = bare_env(tmp_path, HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"), REVIEW_BOT_GGUF_SHA256=pin)
        check_review(review_bot(["--format", "json", "--max-requests", "1"], env, tmp_path), 1)
    [link] = (tmp_path / "hf" / "hub").glob("models--*/snapshots/*/starcoder2-3b.Q4_K_M.gguf")
    swapped = tmp_path / "swapped.gguf"
    shutil.copyfile(llama_model_path, swapped)
    with swapped.open("r+b") as handle:  # still a loadable GGUF: only weights at the end change
        handle.seek(-4096, os.SEEK_END)
        handle.write(os.urandom(4096))
    evil = sha256_file(swapped)
    blob = link.resolve().parent / evil
    swapped.replace(blob)
    link.unlink()
    link.symlink_to(os.path.relpath(blob, link.parent))
    done = review_bot(["--format", "json", "--max-requests", "1"], {**env, "HF_HUB_OFFLINE": "1"}, tmp_path)
    assert done.returncode == 3 and done.stdout == "", done.stderr[-2000:]
    [line] = done.stderr.splitlines()
    assert f"cached starcoder2-3b.Q4_K_M.gguf has sha256 {evil[:12]}" in line
    assert f"[model] gguf_sha256 is {pin[:12]}" in line and "states" not in line  # the Hub was never asked
    assert not blob.exists()
