"""With no template configured, an instruct GGUF in process gets review-chat; a base one, review.

As a user runs it (`python -m bot ...` in a subprocess), with the real models: Qwen2.5-Coder-1.5B-
Instruct and SmolLM2-135M-Instruct both carry `tokenizer.chat_template` in their metadata. A
"base" SmolLM2 is the same file with that key renamed, which llama.cpp loads all the same.
Before this, every one of them got `review` (a completion prompt) unless --template said otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EVAL_SET

CASE = EVAL_SET / "60a7e775d4"
CHAT_USER_LINE = "Review the change below for bugs."  # review-chat's user block
COMPLETION_LINE = "$ cat .bugcheck/README"  # review's CI log


def bot(*argv: str, cwd: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), **(env_extra or {})}
    if os.environ.get("PYTHONPATH"):  # a checkout under test, ahead of the installed package
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.run([sys.executable, "-m", "bot", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def without_chat_template(model: Path, tmp_path: Path) -> Path:
    """A copy of `model` whose chat template key is renamed (same length: nothing else moves)."""
    key = b"tokenizer.chat_template"
    copy = tmp_path / f"base-{model.name}"
    shutil.copyfile(model, copy)
    with open(copy, "r+b") as handle:
        head = handle.read(64 << 20)
        at = head.find(struct.pack("<Q", len(key)) + key)
        assert at > 0, "the model has no chat template to remove"
        handle.seek(at + 8)
        handle.write(b"tokenizer.chat_templatX")
    return copy


@pytest.mark.parametrize("which", ["qwen", "smollm2"])
def test_prompts_with_an_instruct_gguf_and_no_template_show_the_chat_messages(
        which: str, qwen_model_path: Path, llama_model_path: Path, tmp_path: Path) -> None:
    model = qwen_model_path if which == "qwen" else llama_model_path
    child = bot("prompts", "--diff", str(CASE / "pr.diff"), "--model-path", str(model), cwd=tmp_path)
    assert child.returncode == 0, child.stderr[-2000:]
    assert "template review-chat" in child.stderr
    assert CHAT_USER_LINE in child.stdout and "You are a meticulous code reviewer." in child.stdout
    assert COMPLETION_LINE not in child.stdout
    # A template set anywhere still wins: the flag, and the environment.
    for argv, env in ((["--template", "review"], {}), ([], {"REVIEW_BOT_TEMPLATE": "review"})):
        named = bot("prompts", "--diff", str(CASE / "pr.diff"), "--model-path", str(model), *argv,
                    cwd=tmp_path, env_extra=env)
        assert named.returncode == 0 and re.search(r"template review$", named.stderr, re.M)
        assert COMPLETION_LINE in named.stdout and CHAT_USER_LINE not in named.stdout


def test_a_gguf_without_a_chat_template_keeps_the_completion_prompt(llama_model_path: Path, tmp_path: Path) -> None:
    base = without_chat_template(llama_model_path, tmp_path)
    child = bot("prompts", "--diff", str(CASE / "pr.diff"), "--model-path", str(base), cwd=tmp_path)
    assert child.returncode == 0, child.stderr[-2000:]
    assert re.search(r"template review$", child.stderr, re.M)
    assert COMPLETION_LINE in child.stdout and CHAT_USER_LINE not in child.stdout


def test_a_run_in_process_chooses_as_prompts_does(llama_model_path: Path, tmp_path: Path) -> None:
    """dry-run with SmolLM2 and no template sends review-chat's messages; its base copy, review's prompt."""
    config = tmp_path / "review-bot.toml"
    config.write_text("[model]\nmax_new_tokens = 32\ntemperature = 0.0\n", encoding="utf-8")
    base = without_chat_template(llama_model_path, tmp_path)
    for model, chosen in ((llama_model_path, "template review-chat$"), (base, "template review$")):
        child = bot("dry-run", "--diff", str(CASE / "pr.diff"), "--config", str(config),
                    "--model-path", str(model), "--format", "json", cwd=tmp_path)
        assert child.returncode == 0, child.stderr[-2000:]
        assert re.search(chosen, child.stderr, re.M) and "Traceback" not in child.stderr, child.stderr
        assert json.loads(child.stdout)["stats"]["requests"] == 1
