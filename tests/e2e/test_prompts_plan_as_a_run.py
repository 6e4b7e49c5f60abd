"""`prompts` plans exactly as a run does (issue 17): with the in-process model on disk, the requests
it prints are the requests `dry-run` sends, and the parts it skips are the parts the run skips.

Both as a user runs them (subprocesses), with the small SmolLM2 model and a window small enough
that the diff takes several requests.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, REPO_ROOT

DIFF = FIXTURES / "corpus" / "jinja" / "8ee8f90d67-A" / "pr.diff"
SENDING = re.compile(r"model request \d+/(\d+) \((.*)\): sending$", re.MULTILINE)


def _run(argv: list[str]) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "bot", *argv], capture_output=True, cwd=REPO_ROOT, timeout=900,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"})
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_prompts_prints_the_requests_a_run_sends(llama_model_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "review-bot.toml"
    config.write_text("[model]\ncontext_window = 1024\nmax_new_tokens = 16\n[budget]\nconcurrency = 1\n")
    common = ["--diff", str(DIFF), "--model-path", str(llama_model_path), "--config", str(config), "--format", "json"]
    code, out, err = _run(["prompts", *common])
    assert code == 0, err
    planned = json.loads(out)
    code, out, err = _run(["dry-run", *common])
    assert code == 0, err
    ran = json.loads(out)
    sent = SENDING.findall(err)
    assert len(planned["requests"]) > 1  # the window makes it several
    assert ran["stats"]["requests"] == len(sent) == len(planned["requests"]), err
    assert {int(total) for total, _ in sent} == {len(planned["requests"])}
    for (_, files), request in zip(sent, planned["requests"], strict=True):
        assert re.sub(r" \+\d+ more$", "", files).split(", ") == request["files"][:3]
    assert ran["skipped"] == planned["skipped"]
    print(f"{len(sent)} requests planned and sent, {len(ran['skipped'])} parts skipped by both")
